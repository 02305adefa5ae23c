// dblab-engine: loads the configuration (or the embedded default), starts the engine and its
// HTTP API, and waits for SIGTERM/SIGINT. Clones keep running after it exits.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "api/http_server.h"
#include "common/version.h"
#include "engine/embedded_default.h"
#include "engine/engine.h"
#include "ops/log_stream.h"

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
    // A candidate that cannot be read (permissions) is skipped, as a missing one is.
    std::error_code error;
    if (!std::filesystem::exists(candidate + "/index.html", error)) continue;
    auto canonical = std::filesystem::canonical(candidate, error);
    if (!error) return canonical.string();
  }
  return "";
}

// Values the live log stream masks wherever they appear, in case a message ever carries one.
void AddLogSecrets(const dblab::EngineConfig& config, dblab::LogHub& hub) {
  hub.AddSecret(config.verification_token);
  hub.AddSecret(config.retrieval.logical_dump.source.password);
  for (const auto& [name, value] : config.retrieval.physical_restore.envs) {
    if (name.find("PASSWORD") != std::string::npos) hub.AddSecret(value);
  }
  for (const auto& hook : config.webhooks) hub.AddSecret(hook.secret);
}

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): only CLI11's option setup throws, on a bug
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
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--demo-users", embedded.demo.users,
                 "embedded default only: rows in the demo users table")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
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
  constexpr const char* kLogPattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v";
  spdlog::set_pattern(kLogPattern);
  // Every log line also goes to the live log stream (/instance/logs), secrets redacted. Added
  // before any thread starts: spdlog's sink list is not thread-safe.
  auto log_hub = std::make_shared<dblab::LogHub>();
  log_hub->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  spdlog::default_logger()->sinks().push_back(log_hub);

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  bool embedded_mode = config_path.empty();
  dblab::Result<dblab::EngineConfig> config =
      embedded_mode ? dblab::MakeEmbeddedDefault(embedded) : dblab::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "Error: " << config.error().message << "\n";
    return 2;
  }
  // A failing start of the embedded default leaves no process behind: the demo source it
  // started goes too (clones, which outlive the engine by design, cannot exist yet).
  auto fail_start = [&](const std::string& message) {
    spdlog::error("{}", message);
    if (embedded_mode) {
      if (auto stopped = dblab::StopEmbeddedDefault(embedded); !stopped.ok()) {
        spdlog::error("cannot stop the demo source: {}", stopped.error().message);
      }
    }
    return 1;
  };
  if (port_override > 0) config->port = port_override;
  AddLogSecrets(*config, *log_hub);
  if (config->debug) spdlog::set_level(spdlog::level::debug);

  dblab::EngineOptions options;
  options.housekeeping_interval = std::chrono::seconds(housekeeping_seconds);
  if (!config_path.empty()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(config_path, error);
    options.config_path = error ? config_path : absolute.string();
  }
  // The embedded default has nothing to serve until its first snapshot: if that retrieval
  // fails, the start has failed. Later failures keep the engine serving older snapshots.
  std::atomic<bool> has_snapshot{false};
  std::mutex first_failure_mutex;
  std::string first_failure;
  options.on_retrieval_done = [&](const dblab::Result<dblab::Snapshot>& result) {
    if (!embedded_mode) return;
    if (result.ok()) {
      has_snapshot = true;
      std::cout << "\nSnapshot " << result->id << " is ready: create clones now.\n" << std::flush;
    } else if (!has_snapshot) {
      std::lock_guard lock(first_failure_mutex);
      first_failure = result.error().message;
      kill(getpid(), SIGTERM);
    }
  };
  auto engine = dblab::Engine::Start(*config, options);
  if (!engine.ok()) return fail_start("cannot start: " + engine.error().message);
  if (!(*engine)->ListSnapshots().empty()) has_snapshot = true;
  dblab::ApiOptions api;
  api.host = config->host;
  api.port = static_cast<uint16_t>(config->port);
  api.token = config->verification_token;
  api.ui_dir = config->ui_enabled ? DetectUiDir(config->ui_dir) : "";
  api.log_hub = log_hub.get();
  dblab::HttpServer server(**engine, api);
  if (auto status = server.Start(); !status.ok()) {
    engine->reset();
    return fail_start("cannot start the API: " + status.error().message);
  }
  if (!server.auth_enabled()) {
    spdlog::warn("server.verificationToken is empty: the API accepts requests without a token");
  }
  spdlog::info("dblab-engine {} listening on http://{}:{} (UI: {})", dblab::kVersion, api.host,
               server.Port(), api.ui_dir.empty() ? "not built" : api.ui_dir);
  if (embedded_mode) dblab::PrintEmbeddedWelcome(*config, server.Port());

  int received = 0;
  sigwait(&signals, &received);
  server.Stop();
  {
    std::lock_guard lock(first_failure_mutex);
    if (!first_failure.empty()) {
      engine->reset();
      return fail_start("the embedded default cannot make its first snapshot: " + first_failure +
                        " (see the log above; fix it and start dblab-engine again)");
    }
  }
  spdlog::info("received {}; stopping (clones{} keep running)", strsignal(received),
               embedded_mode ? " and the demo source" : "");
  engine->reset();
  return 0;
}
