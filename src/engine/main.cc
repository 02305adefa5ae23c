// dblab-engine: loads the configuration (or the embedded default), starts the engine and its
// HTTP API, and waits for SIGTERM/SIGINT. Clones keep running after it exits.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "api/http_server.h"
#include "common/version.h"
#include "engine/embedded_default.h"
#include "engine/engine.h"

namespace {

std::string ExecutableDir() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "." : path.parent_path().string();
}

std::string DetectUiDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  for (const auto& candidate : {ExecutableDir() + "/../ui/dist", ExecutableDir() + "/ui/dist",
                                std::string("/usr/share/dblab/ui")}) {
    if (std::filesystem::exists(candidate + "/index.html")) {
      return std::filesystem::canonical(candidate).string();
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dblab-engine: thin clones of PostgreSQL databases"};
  std::string config_path;
  dblab::EmbeddedDefaultOptions embedded;
  int port_override = 0;
  int housekeeping_seconds = 60;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "DLE-style server.yml; without it: embedded default");
  app.add_option("--data-dir", embedded.data_dir,
                 "embedded default only: where the pool, state and demo source live")
      ->capture_default_str();
  app.add_option("--demo-scale", embedded.demo.pgbench_scale,
                 "embedded default only: pgbench scale of the demo source (~15 MB each)")
      ->capture_default_str();
  app.add_option("--demo-users", embedded.demo.users,
                 "embedded default only: rows in the demo users table")
      ->capture_default_str();
  app.add_option("--port", port_override, "API port (overrides server.port)");
  app.add_option("--housekeeping-interval", housekeeping_seconds,
                 "seconds between idle-clone and protection-expiry checks")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_flag("--version", show_version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "dblab-engine " << dblab::kVersion << "\n";
    return 0;
  }
  if (geteuid() != 0) {
    std::cerr << "Error: dblab-engine must run as root (it mounts pools and starts postgres as "
                 "provision.osUser)\n";
    return 1;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  dblab::Result<dblab::EngineConfig> config =
      config_path.empty() ? dblab::MakeEmbeddedDefault(embedded)
                          : dblab::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "Error: " << config.error().message << "\n";
    return 2;
  }
  if (port_override > 0) config->port = port_override;
  if (config->debug) spdlog::set_level(spdlog::level::debug);

  dblab::EngineOptions options;
  options.housekeeping_interval = std::chrono::seconds(housekeeping_seconds);
  if (!config_path.empty()) options.config_path = std::filesystem::absolute(config_path);
  bool embedded_mode = config_path.empty();
  options.on_retrieval_done = [embedded_mode](const dblab::Result<dblab::Snapshot>& result) {
    if (embedded_mode && result.ok()) {
      std::cout << "\nSnapshot " << result->id << " is ready: create clones now.\n" << std::flush;
    }
  };
  auto engine = dblab::Engine::Start(*config, options);
  if (!engine.ok()) {
    spdlog::error("cannot start: {}", engine.error().message);
    return 1;
  }
  dblab::ApiOptions api;
  api.host = config->host;
  api.port = static_cast<uint16_t>(config->port);
  api.token = config->verification_token;
  api.ui_dir = config->ui_enabled ? DetectUiDir(config->ui_dir) : "";
  dblab::HttpServer server(**engine, api);
  if (auto status = server.Start(); !status.ok()) {
    spdlog::error("cannot start the API: {}", status.error().message);
    return 1;
  }
  if (!server.auth_enabled()) {
    spdlog::warn("server.verificationToken is empty: the API accepts requests without a token");
  }
  spdlog::info("dblab-engine {} listening on http://{}:{} (UI: {})", dblab::kVersion, api.host,
               server.Port(), api.ui_dir.empty() ? "not built" : api.ui_dir);
  if (embedded_mode) dblab::PrintEmbeddedWelcome(*config, server.Port());

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}; stopping (clones keep running)", strsignal(received));
  server.Stop();
  engine->reset();
  return 0;
}
