#include "engine/embedded_default.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cloning/validation.h"
#include "platform/files.h"
#include "platform/posix_process.h"

namespace dblab {

const char* const kDemoMaskingSql =
    "UPDATE users SET full_name = 'User ' || id, email = 'user' || id || '@example.com', "
    "phone = '+0-000-' || lpad((id % 10000000)::text, 7, '0')";

namespace {

std::string DemoSourceDir(const EmbeddedDefaultOptions& options) {
  return options.data_dir + "/demo-source";
}

}  // namespace

Status StopEmbeddedDefault(const EmbeddedDefaultOptions& options) {
  PosixProcessRunner runner;
  PostgresControl postgres(runner);
  return StopDemoSource(postgres, DemoSourceDir(options));
}

Result<EngineConfig> MakeEmbeddedDefault(const EmbeddedDefaultOptions& options) {
  if (options.data_dir.empty() || options.data_dir.front() != '/') {
    return BadRequest("--data-dir must be an absolute path");
  }
  EngineConfig config;
  config.mount_dir = options.data_dir;
  config.state_dir = options.data_dir + "/.dblab-engine";
  std::error_code error;
  std::filesystem::create_directories(config.state_dir, error);
  if (error) return Internal("cannot create " + config.state_dir + ": " + error.message());
  chmod(config.state_dir.c_str(), 0711);

  // Token: from the environment, else generated once and kept (0600) for later starts.
  std::string token_file = config.state_dir + "/token";
  if (const char* env = getenv("DBLAB_VERIFICATION_TOKEN"); env && *env) {
    config.verification_token = env;
  } else {
    std::ifstream in(token_file);
    std::getline(in, config.verification_token);
    if (config.verification_token.empty()) {
      config.verification_token = GenerateId(32);
      DBLAB_TRY(WriteFileAtomically(token_file, config.verification_token + "\n", 0600));
    }
  }

  PosixProcessRunner runner;
  PostgresControl postgres(runner);
  DemoSourceOptions demo = options.demo;
  demo.dir = DemoSourceDir(options);
  bool fresh = !std::filesystem::exists(demo.dir + "/data/PG_VERSION");
  auto ensured = EnsureDemoSource(runner, postgres, demo);
  if (!ensured.ok()) {
    (void)StopDemoSource(postgres, demo.dir);
    // A half-made source would be taken for a finished one at the next start.
    if (fresh) std::filesystem::remove_all(demo.dir, error);
    return ensured.error();
  }
  const DemoSource& source = *ensured;

  config.retrieval.jobs = {"logicalDump", "logicalRestore", "logicalSnapshot"};
  auto& connection = config.retrieval.logical_dump.source;
  connection.host = source.host;
  connection.port = source.port;
  connection.username = source.username;
  connection.password = source.password;
  connection.dbname = source.dbname;
  config.retrieval.logical_dump.databases = {source.dbname};
  config.retrieval.logical_snapshot.data_patching.inline_sql = kDemoMaskingSql;
  config.database_dbname = source.dbname;
  return config;
}

void PrintEmbeddedWelcome(const EngineConfig& config, int port) {
  std::cout << "\n"
            << "dblab-engine is running on the embedded default (demo source, masked users).\n"
            << "Token: " << config.verification_token << "  (kept in " << config.state_dir
            << "/token)\n\n"
            << "Next, in another terminal:\n"
            << "  dblab init --environment-id local --url http://127.0.0.1:" << port << " --token "
            << config.verification_token << " --insecure\n"
            << "  dblab instance status          # wait for the first snapshot\n"
            << "  dblab clone create --username jworks --password rocks --id testclone\n"
            << "  psql \"host=127.0.0.1 port=<port from the JSON> user=jworks dbname=demo\"\n"
            << "  dblab clone reset testclone\n"
            << "  dblab clone destroy testclone\n"
            << std::flush;
}

}  // namespace dblab
