#include "engine_fixture.h"

#include <unistd.h>

#include <fstream>
#include <thread>

namespace dblab::testing {

void EngineFixture::SetUp() {
  dir_ = MakeTempDir("dblab-e2e");
  source_ = StartSourceDatabase(dir_ + "/source", users_);
  api_port_ = FreePort();
  // A port range of our own, away from the default 6000-6099 a developer's engine may use.
  port_from_ = 20000 + static_cast<int>((getpid() * 37) % 400) * 50;
}

void EngineFixture::TearDown() {
  engine_.Terminate();
  CleanupTree(dir_);
}

std::string EngineFixture::WriteConfig(const std::string& extra_yaml) {
  config_path_ = dir_ + "/server.yml";
  std::ofstream out(config_path_);
  out << "server:\n  verificationToken: \"" << kToken << "\"\n  port: " << api_port_ << "\n"
      << "poolManager:\n  mountDir: " << dir_ << "/mnt\n  imageSize: 3GB\n"
      << pool_extra_ << "provision:\n  portPool:\n    from: " << port_from_
      << "\n    to: " << port_from_ + 40 << "\n"
      << provision_extra_;
  if (!retrieval_.empty()) {
    out << retrieval_ << extra_yaml;
    return config_path_;
  }
  out << "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
      << "    logicalDump:\n      options:\n        source:\n          connection:\n"
      << "            host: 127.0.0.1\n            port: " << source_.port << "\n"
      << "            dbname: " << source_.dbname << "\n            username: postgres\n"
      << "            password: " << source_.password << "\n"
      << "        databases: [" << source_.dbname << "]\n        parallelJobs: 2\n"
      << "    logicalSnapshot:\n      options:\n        dataPatching:\n"
      << "          queryPreprocessing:\n"
      << "            inline: \"UPDATE users SET email = 'user' || id || '@example.com'; "
         "CREATE ROLE app_owner LOGIN\"\n"  // a role the snapshot already has
      << extra_yaml;
  return config_path_;
}

bool EngineFixture::StartEngine() {
  return engine_.Start(config_path_, api_port_, dir_ + "/engine.log", engine_args_);
}

bool EngineFixture::WaitForSnapshot(int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    auto result = Cli({"snapshot", "list"});
    if (result.exit_code == 0) {
      auto parsed = nlohmann::json::parse(result.out, nullptr, false);
      if (parsed.is_array() && !parsed.empty()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void EngineFixture::StartEngineAndWaitForSnapshot(const std::string& extra_yaml) {
  WriteConfig(extra_yaml);
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  InitCli();
  ASSERT_TRUE(WaitForSnapshot()) << engine_.Log();
}

CommandResult EngineFixture::Cli(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {CliBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> full_env = {{"DBLAB_CLI_CONFIG_DIR", dir_ + "/cli"},
                                                 {"DBLAB_INSTANCE_URL", ""},
                                                 {"DBLAB_VERIFICATION_TOKEN", ""}};
  for (const auto& [key, value] : env) full_env[key] = value;
  return RunCommand(argv, full_env);
}

nlohmann::json EngineFixture::CliJson(const std::vector<std::string>& args) {
  auto result = Cli(args);
  EXPECT_EQ(result.exit_code, 0) << result.err << "\n" << engine_.Log();
  auto parsed = nlohmann::json::parse(result.out, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << result.out;
  return parsed;
}

std::string EngineFixture::Commit(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"commit"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = Cli(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err << "\n" << engine_.Log();
  const std::string prefix = "Created new snapshot '";
  if (result.out.rfind(prefix, 0) != 0 || result.out.size() < prefix.size() + 3 ||
      result.out.substr(result.out.size() - 2) != "'\n") {
    ADD_FAILURE() << "not DLE's commit line: " << result.out;
    return "";
  }
  return result.out.substr(prefix.size(), result.out.size() - prefix.size() - 2);
}

void EngineFixture::InitCli() {
  auto result =
      Cli({"init", "--token", kToken, "--url", Url(), "--environment-id", "local", "--insecure"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

std::string UsersChecksum(PgConnection& connection) {
  return QueryValue(connection,
                    "SELECT count(*) || ':' || md5(string_agg(id || ',' || full_name || ',' || "
                    "email || ',' || phone, ';' ORDER BY id)) FROM users");
}

}  // namespace dblab::testing
