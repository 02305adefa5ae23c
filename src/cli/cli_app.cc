#include "cli/cli_app.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "cli/durations.h"
#include "client/api_client.h"
#include "client/log_stream_client.h"
#include "common/version.h"

namespace dblab {
namespace {

using nlohmann::json;

// A clone is ready in about 200 ms: the first polls come quickly, then back off by 1.5x.
constexpr std::chrono::milliseconds kFirstPollDelay{20};
constexpr std::chrono::milliseconds kMaxPollDelay{1000};
constexpr std::chrono::seconds kDefaultRequestTimeout{60};

// Every option a command can bind to. One instance per run.
struct Flags {
  // Global.
  std::string url;
  std::string token;
  bool insecure = false;
  std::string request_timeout;
  bool debug = false;
  std::string current_branch;
  CLI::Option* url_option = nullptr;
  CLI::Option* token_option = nullptr;
  CLI::Option* insecure_option = nullptr;
  CLI::Option* request_timeout_option = nullptr;
  CLI::Option* current_branch_option = nullptr;

  // init / config.
  std::string environment_id;

  // clone.
  std::string clone_id;  // positional ID
  std::string id_flag;   // clone create --id
  std::string username;
  std::string password;
  std::string snapshot_id;
  std::string branch;
  bool restricted = false;
  std::string db_name;
  std::string protected_value;
  CLI::Option* create_protected_option = nullptr;  // clone update's -p is required
  bool async = false;
  bool latest = false;
  std::vector<std::string> extra_config;
  std::string message;  // commit --message

  // branch / switch / log.
  std::string branch_name;  // positional NAME
  std::string delete_branch;
  std::string parent_branch;
  CLI::Option* branch_protected_option = nullptr;

  // clone start-observation / summary-observation (DLE's flags; seconds).
  int64_t observation_interval = 0;
  int64_t max_lock_duration = 0;
  int64_t max_duration = 0;
  std::vector<std::string> tags;  // key=value
  std::string session_id;

  // clone download-artifact.
  std::string artifact_type;
  std::string output;

  // instance logs.
  bool follow = false;
};

// A failed command: what to print after "Error: " and the exit code.
struct CommandError {
  int exit_code = kExitFailure;
  std::string message;
};
using CommandStatus = std::optional<CommandError>;  // nullopt: success

CommandStatus Usage(std::string message) { return CommandError{kExitUsage, std::move(message)}; }

// Errors from local work (config file, flag values): kBadRequest is a usage error.
CommandStatus Local(const Error& error) {
  return CommandError{error.code == ErrorCode::kBadRequest ? kExitUsage : kExitFailure,
                      error.message};
}

// Errors from the engine (or from reaching it).
CommandStatus Remote(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnauthorized:
      return CommandError{kExitUnauthorized,
                          error.message + "; check --token or DBLAB_VERIFICATION_TOKEN"};
    case ErrorCode::kUnavailable:
      return CommandError{kExitUnreachable, error.message};
    default:
      return CommandError{kExitFailure, error.message};
  }
}

std::string MaskToken(const std::string& token) {
  if (token.empty()) return "";
  if (token.size() < 12) return "****";
  return "****" + token.substr(token.size() - 4);
}

std::string StatusCode(const json& clone) {
  if (!clone.is_object() || !clone.contains("status") || !clone["status"].is_object()) return "";
  return clone["status"].value("code", "");
}

std::string StatusMessage(const json& clone) {
  if (!clone.is_object() || !clone.contains("status") || !clone["status"].is_object()) return "";
  return clone["status"].value("message", "");
}

class CliRunner {
 public:
  CliRunner(const CliIo& io, Flags& flags) : io_(io), flags_(flags) {}

  CommandStatus Init();
  CommandStatus ConfigCreate();
  CommandStatus ConfigUpdate();
  CommandStatus ConfigView();
  CommandStatus ConfigList();
  CommandStatus ConfigSwitch();
  CommandStatus ConfigRemove();
  CommandStatus CloneList();
  CommandStatus CloneStatus();
  CommandStatus CloneCreate();
  CommandStatus CloneUpdate();
  CommandStatus CloneReset();
  CommandStatus CloneDestroy();
  CommandStatus CloneStartObservation();
  CommandStatus CloneStopObservation();
  CommandStatus CloneSummaryObservation();
  CommandStatus InstanceLogs();
  CommandStatus CloneDownloadArtifact();
  CommandStatus SnapshotList();
  CommandStatus SnapshotCreate();
  CommandStatus SnapshotDelete();
  CommandStatus Commit();
  CommandStatus Branch();
  CommandStatus Switch();
  CommandStatus Log();
  CommandStatus InstanceStatus();
  CommandStatus InstanceVersion();
  CommandStatus InstanceFullRefresh();

 private:
  void PrintJson(const json& value) {
    io_.out << value.dump(4, ' ', false, json::error_handler_t::replace) << "\n";
  }
  void Debug(const std::string& line) {
    if (flags_.debug) io_.err << "[debug] " << line << "\n";
  }

  // Reads cli.yml; `path` receives its location.
  Result<CliConfig> LoadConfig(std::filesystem::path* path);
  // Creates (or, with `update`, changes) environment `id` from the global flags.
  CommandStatus WriteEnvironment(const std::string& id, bool create, bool make_current);
  json EnvironmentView(const std::string& id, const CliEnvironment& environment);

  // Flag > environment variable > current environment of cli.yml > default.
  Result<ClientOptions> ResolveClientOptions();
  Result<std::unique_ptr<ApiClient>> MakeClient();
  CommandStatus ValidateCloneId(const std::string& id, const char* what);

  // Polls GET /clone/{id} while its status is `transient`; returns the final clone.
  Result<json> WaitWhileStatus(ApiClient& client, const std::string& id,
                               const std::string& transient);
  // Prints `clone` if it is usable, or fails with its status message if it ended FATAL.
  CommandStatus FinishCloneWait(const std::string& id, const Result<json>& clone,
                                const char* action);
  // Runs a GET-style call and prints its JSON.
  template <typename Call>
  CommandStatus PrintFromEngine(Call call);

  void NextDelay(std::chrono::milliseconds& delay) {
    io_.sleep(delay);
    delay = std::min(delay * 3 / 2, kMaxPollDelay);
  }

  // The current branch (--current-branch, else cli.yml's, else main); after MakeClient.
  std::string CurrentBranch() const {
    return flags_.current_branch.empty() ? "main" : flags_.current_branch;
  }
  // Saves `branch` as the current environment's branching.current_branch.
  CommandStatus SaveCurrentBranch(const std::string& branch);

  const CliIo& io_;
  Flags& flags_;
};

// ---- config ----------------------------------------------------------------------------------

Result<CliConfig> CliRunner::LoadConfig(std::filesystem::path* path) {
  DBLAB_ASSIGN_OR_RETURN(*path, CliConfigPath(io_.env));
  return LoadCliConfig(*path);
}

json CliRunner::EnvironmentView(const std::string& id, const CliEnvironment& environment) {
  return json{{"environment_id", id},
              {"url", environment.url},
              {"token", MaskToken(environment.token)},
              {"insecure", environment.insecure},
              {"request_timeout", environment.request_timeout},
              {"branching", {{"current_branch", environment.current_branch}}}};
}

CommandStatus CliRunner::WriteEnvironment(const std::string& id, bool create, bool make_current) {
  if (!IsValidCloneId(id)) {
    return Usage(fmt::format(
        "invalid environment id \"{}\": use letters, digits, '_', '.', '-', starting with a "
        "letter or digit",
        id));
  }
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  const bool exists = config->environments.count(id) > 0;
  if (create && exists) {
    return CommandError{kExitFailure,
                        fmt::format("environment \"{}\" already exists in {}; use `dblab config "
                                    "update {}` to change it",
                                    id, path.string(), id)};
  }
  if (!create && !exists) {
    return CommandError{
        kExitFailure, fmt::format("environment \"{}\" not found in {}; see `dblab config list`", id,
                                  path.string())};
  }
  if (create && flags_.url_option->count() == 0) return Usage("--url is required");

  CliEnvironment& environment = config->environments[id];
  if (flags_.url_option->count() > 0) {
    if (flags_.url.rfind("http://", 0) != 0 && flags_.url.rfind("https://", 0) != 0) {
      return Usage(
          fmt::format("invalid --url \"{}\": use http://HOST:PORT or https://...", flags_.url));
    }
    environment.url = flags_.url;
  }
  if (flags_.token_option->count() > 0) environment.token = flags_.token;
  if (flags_.insecure_option->count() > 0) environment.insecure = flags_.insecure;
  if (flags_.request_timeout_option->count() > 0) {
    auto timeout = ParseRequestTimeout(flags_.request_timeout);
    if (!timeout) return Local(timeout.error());
    environment.request_timeout = FormatRequestTimeout(*timeout);
  } else if (create) {
    environment.request_timeout = FormatRequestTimeout(kDefaultRequestTimeout);
  }
  if (flags_.current_branch_option->count() > 0) environment.current_branch = flags_.current_branch;
  if (make_current || config->current_environment.empty()) config->current_environment = id;

  if (auto saved = SaveCliConfig(path, *config); !saved) return Local(saved.error());
  PrintJson(EnvironmentView(id, environment));
  return std::nullopt;
}

CommandStatus CliRunner::Init() { return WriteEnvironment(flags_.environment_id, true, true); }
CommandStatus CliRunner::ConfigCreate() {
  return WriteEnvironment(flags_.environment_id, true, true);
}
CommandStatus CliRunner::ConfigUpdate() {
  return WriteEnvironment(flags_.environment_id, false, false);
}

CommandStatus CliRunner::ConfigView() {
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  const std::string id =
      flags_.environment_id.empty() ? config->current_environment : flags_.environment_id;
  if (id.empty()) {
    return CommandError{kExitFailure, fmt::format("no current environment in {}; run `dblab init "
                                                  "--environment-id ID --url URL`",
                                                  path.string())};
  }
  auto found = config->environments.find(id);
  if (found == config->environments.end()) {
    return CommandError{
        kExitFailure, fmt::format("environment \"{}\" not found in {}; see `dblab config list`", id,
                                  path.string())};
  }
  PrintJson(EnvironmentView(id, found->second));
  return std::nullopt;
}

CommandStatus CliRunner::ConfigList() {
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  for (const auto& [id, environment] : config->environments) {
    io_.out << (id == config->current_environment ? "* " : "  ") << id << "\n";
  }
  return std::nullopt;
}

CommandStatus CliRunner::ConfigSwitch() {
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  if (config->environments.count(flags_.environment_id) == 0) {
    return CommandError{kExitFailure,
                        fmt::format("environment \"{}\" not found in {}; see `dblab config list`",
                                    flags_.environment_id, path.string())};
  }
  config->current_environment = flags_.environment_id;
  if (auto saved = SaveCliConfig(path, *config); !saved) return Local(saved.error());
  io_.out << "Switched to environment: " << flags_.environment_id << "\n";
  return std::nullopt;
}

CommandStatus CliRunner::ConfigRemove() {
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  if (config->environments.erase(flags_.environment_id) == 0) {
    return CommandError{kExitFailure,
                        fmt::format("environment \"{}\" not found in {}; see `dblab config list`",
                                    flags_.environment_id, path.string())};
  }
  const bool was_current = config->current_environment == flags_.environment_id;
  if (was_current) config->current_environment.clear();
  if (auto saved = SaveCliConfig(path, *config); !saved) return Local(saved.error());
  io_.out << "Environment removed: " << flags_.environment_id << "\n";
  if (was_current) {
    io_.out << "No current environment now; choose one with `dblab config switch ENV`\n";
  }
  return std::nullopt;
}

// ---- engine access ---------------------------------------------------------------------------

Result<ClientOptions> CliRunner::ResolveClientOptions() {
  auto env_value = [this](const char* name) -> std::optional<std::string> {
    const char* value = io_.env(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
  std::filesystem::path path;
  DBLAB_ASSIGN_OR_RETURN(CliConfig config, LoadConfig(&path));
  const CliEnvironment* environment = nullptr;
  if (!config.current_environment.empty()) {
    auto found = config.environments.find(config.current_environment);
    if (found != config.environments.end()) environment = &found->second;
  }

  ClientOptions options;
  std::string url_source;
  if (flags_.url_option->count() > 0) {
    options.url = flags_.url;
    url_source = "--url";
  } else if (auto url = env_value("DBLAB_INSTANCE_URL")) {
    options.url = *url;
    url_source = "DBLAB_INSTANCE_URL";
  } else if (environment != nullptr && !environment->url.empty()) {
    options.url = environment->url;
    url_source = fmt::format("environment \"{}\" of {}", config.current_environment, path.string());
  }
  if (options.url.empty()) {
    return BadRequest(
        "no engine URL: pass --url, set DBLAB_INSTANCE_URL, or run `dblab init --environment-id "
        "ID --url URL`");
  }
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return BadRequest(
        fmt::format("invalid engine URL \"{}\" (from {}): use http://HOST:PORT or "
                    "https://...",
                    options.url, url_source));
  }

  if (flags_.token_option->count() > 0) {
    options.token = flags_.token;
  } else if (auto token = env_value("DBLAB_VERIFICATION_TOKEN")) {
    options.token = *token;
  } else if (environment != nullptr) {
    options.token = environment->token;
  }

  if (flags_.insecure_option->count() > 0) {
    options.insecure = flags_.insecure;
  } else if (auto insecure = env_value("DBLAB_INSECURE_SKIP_VERIFY")) {
    options.insecure = *insecure == "true" || *insecure == "1";
  } else if (environment != nullptr) {
    options.insecure = environment->insecure;
  }

  std::string timeout_text;
  if (flags_.request_timeout_option->count() > 0) {
    timeout_text = flags_.request_timeout;
  } else if (auto timeout = env_value("DBLAB_REQUEST_TIMEOUT")) {
    timeout_text = *timeout;
  } else if (environment != nullptr) {
    timeout_text = environment->request_timeout;
  }
  options.request_timeout = kDefaultRequestTimeout;
  if (!timeout_text.empty()) {
    DBLAB_ASSIGN_OR_RETURN(options.request_timeout, ParseRequestTimeout(timeout_text));
  }

  if (flags_.current_branch_option->count() == 0 && environment != nullptr) {
    flags_.current_branch = environment->current_branch;
  }
  if (flags_.debug) {
    options.debug_log = [this](const std::string& line) { Debug(line); };
    Debug(fmt::format("engine {} (from {}), token {}, timeout {}", options.url, url_source,
                      options.token.empty() ? "not set" : "set",
                      FormatRequestTimeout(options.request_timeout)));
  }
  return options;
}

Result<std::unique_ptr<ApiClient>> CliRunner::MakeClient() {
  DBLAB_ASSIGN_OR_RETURN(ClientOptions options, ResolveClientOptions());
  return std::make_unique<ApiClient>(std::move(options));
}

CommandStatus CliRunner::ValidateCloneId(const std::string& id, const char* what) {
  if (IsValidCloneId(id)) return std::nullopt;
  return Usage(fmt::format(
      "invalid {} \"{}\": use letters, digits, '_', '.', '-', starting with a letter or digit",
      what, id));
}

template <typename Call>
CommandStatus CliRunner::PrintFromEngine(Call call) {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto answer = call(**client);
  if (!answer) return Remote(answer.error());
  PrintJson(*answer);
  return std::nullopt;
}

Result<json> CliRunner::WaitWhileStatus(ApiClient& client, const std::string& id,
                                        const std::string& transient) {
  std::chrono::milliseconds delay = kFirstPollDelay;
  while (true) {
    DBLAB_ASSIGN_OR_RETURN(json clone, client.GetClone(id));
    if (StatusCode(clone) != transient) return clone;
    NextDelay(delay);
  }
}

CommandStatus CliRunner::FinishCloneWait(const std::string& id, const Result<json>& clone,
                                         const char* action) {
  if (!clone) return Remote(clone.error());
  if (StatusCode(*clone) == "FATAL") {
    return CommandError{kExitFailure, fmt::format("{} of clone \"{}\" failed: {}", action, id,
                                                  StatusMessage(*clone))};
  }
  PrintJson(*clone);
  return std::nullopt;
}

// ---- clone / snapshot / instance -------------------------------------------------------------

CommandStatus CliRunner::CloneList() {
  return PrintFromEngine([](ApiClient& client) { return client.Clones(); });
}

CommandStatus CliRunner::CloneStatus() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  return PrintFromEngine([this](ApiClient& client) { return client.GetClone(flags_.clone_id); });
}

CommandStatus CliRunner::CloneCreate() {
  if (!flags_.clone_id.empty() && !flags_.id_flag.empty() && flags_.clone_id != flags_.id_flag) {
    return Usage(fmt::format("clone id given twice: --id \"{}\" and argument \"{}\"",
                             flags_.id_flag, flags_.clone_id));
  }
  const std::string id = flags_.id_flag.empty() ? flags_.clone_id : flags_.id_flag;
  if (!id.empty()) {
    if (auto invalid = ValidateCloneId(id, "clone id")) return invalid;
  }
  json body = json::object();
  if (!id.empty()) body["id"] = id;
  if (!flags_.snapshot_id.empty()) body["snapshot"] = {{"id", flags_.snapshot_id}};
  if (flags_.create_protected_option->count() > 0) {
    auto protection = ParseProtection(flags_.protected_value);
    if (!protection) return Local(protection.error());
    body["protected"] = protection->is_protected;
    if (protection->duration_minutes) {
      body["protectionDurationMinutes"] = *protection->duration_minutes;
    }
  }
  json database = {{"username", flags_.username}, {"password", flags_.password}};
  if (flags_.restricted) database["restricted"] = true;
  if (!flags_.db_name.empty()) database["db_name"] = flags_.db_name;
  body["db"] = std::move(database);
  if (!flags_.extra_config.empty()) {
    json extra = json::object();
    for (const std::string& pair : flags_.extra_config) {
      const size_t equals = pair.find('=');
      if (equals == std::string::npos || equals == 0) {
        return Usage(fmt::format("invalid --extra-config \"{}\": use key=value", pair));
      }
      extra[pair.substr(0, equals)] = pair.substr(equals + 1);
    }
    body["extra_conf"] = std::move(extra);
  }

  auto client = MakeClient();
  if (!client) return Local(client.error());
  // The current branch is known only after settings are resolved.
  const std::string branch = flags_.branch.empty() ? flags_.current_branch : flags_.branch;
  if (!branch.empty()) body["branch"] = branch;

  auto created = (*client)->CreateClone(body);
  if (!created) return Remote(created.error());
  const std::string created_id = created->is_object() ? created->value("id", id) : id;
  if (flags_.async || StatusCode(*created) != "CREATING" || created_id.empty()) {
    return FinishCloneWait(created_id, *created, "creation");
  }
  return FinishCloneWait(created_id, WaitWhileStatus(**client, created_id, "CREATING"), "creation");
}

CommandStatus CliRunner::CloneUpdate() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  auto protection = ParseProtection(flags_.protected_value);
  if (!protection) return Local(protection.error());
  json body = {{"protected", protection->is_protected}};
  if (protection->duration_minutes) {
    body["protectionDurationMinutes"] = *protection->duration_minutes;
  }
  return PrintFromEngine(
      [this, &body](ApiClient& client) { return client.UpdateClone(flags_.clone_id, body); });
}

CommandStatus CliRunner::CloneReset() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  json body = json::object();
  if (flags_.latest) body["latest"] = true;
  if (!flags_.snapshot_id.empty()) body["snapshotID"] = flags_.snapshot_id;

  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto answer = (*client)->ResetClone(flags_.clone_id, body);
  if (!answer) return Remote(answer.error());
  if (flags_.async) {
    if (answer->is_object()) {
      PrintJson(*answer);
    } else {
      io_.out << "The clone is being reset: " << flags_.clone_id << "\n";
    }
    return std::nullopt;
  }
  return FinishCloneWait(flags_.clone_id, WaitWhileStatus(**client, flags_.clone_id, "RESETTING"),
                         "reset");
}

CommandStatus CliRunner::CloneDestroy() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto answer = (*client)->DestroyClone(flags_.clone_id);
  if (!answer) return Remote(answer.error());
  if (flags_.async) {
    io_.out << "The clone is being destroyed: " << flags_.clone_id << "\n";
    return std::nullopt;
  }
  std::chrono::milliseconds delay = kFirstPollDelay;
  while (true) {
    auto clone = (*client)->GetClone(flags_.clone_id);
    if (!clone) {
      if (clone.error().code == ErrorCode::kNotFound) break;
      return Remote(clone.error());
    }
    const std::string status = StatusCode(*clone);
    if (status != "DELETING") {
      return CommandError{kExitFailure,
                          fmt::format("destroy of clone \"{}\" did not complete: status {}: {}",
                                      flags_.clone_id, status, StatusMessage(*clone))};
    }
    NextDelay(delay);
  }
  io_.out << "The clone has been successfully destroyed: " << flags_.clone_id << "\n";
  return std::nullopt;
}

CommandStatus CliRunner::SnapshotList() {
  return PrintFromEngine([](ApiClient& client) { return client.Snapshots(); });
}

CommandStatus CliRunner::SnapshotDelete() {
  return PrintFromEngine(
      [this](ApiClient& client) { return client.DeleteSnapshot(flags_.snapshot_id); });
}

// DLE's `dblab commit` prints one line, not the engine's {"snapshotID": ...}.
CommandStatus CliRunner::Commit() {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto created = (*client)->CreateSnapshotFromClone(flags_.clone_id, flags_.message);
  if (!created) return Remote(created.error());
  io_.out << "Created new snapshot '" << created->value("snapshotID", "") << "'\n";
  return std::nullopt;
}

CommandStatus CliRunner::SaveCurrentBranch(const std::string& branch) {
  std::filesystem::path path;
  auto config = LoadConfig(&path);
  if (!config) return Local(config.error());
  auto environment = config->environments.find(config->current_environment);
  if (environment == config->environments.end()) {
    return CommandError{kExitFailure,
                        fmt::format("no current environment in {} to keep the branch in; run "
                                    "`dblab init` first",
                                    path.string())};
  }
  environment->second.current_branch = branch;
  if (auto saved = SaveCliConfig(path, *config); !saved) return Local(saved.error());
  return std::nullopt;
}

// DLE's `dblab branch`: list (the current one starred), create and switch, or delete.
CommandStatus CliRunner::Branch() {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  if (!flags_.delete_branch.empty()) {
    if (!flags_.branch_name.empty()) return Usage("give either NAME or --delete NAME, not both");
    auto deleted = (*client)->DeleteBranch(flags_.delete_branch);
    if (!deleted) return Remote(deleted.error());
    if (CurrentBranch() == flags_.delete_branch) {
      if (auto failed = SaveCurrentBranch("main")) return failed;
    }
    io_.out << "Deleted branch '" << flags_.delete_branch << "'\n";
    return std::nullopt;
  }
  if (flags_.branch_name.empty()) {
    auto branches = (*client)->Branches();
    if (!branches) return Remote(branches.error());
    std::vector<std::string> names;
    for (const auto& branch : *branches) names.push_back(branch.value("name", ""));
    if (names.empty()) {
      io_.out << "No branches found\n";
      return std::nullopt;
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      io_.out << (name == CurrentBranch() ? "* " : "  ") << name << "\n";
    }
    return std::nullopt;
  }
  auto branches = (*client)->Branches();
  if (!branches) return Remote(branches.error());
  bool exists = std::any_of(branches->begin(), branches->end(), [&](const json& branch) {
    return branch.value("name", "") == flags_.branch_name;
  });
  if (!exists) {
    json body = {{"branchName", flags_.branch_name}};
    if (!flags_.snapshot_id.empty()) {
      body["snapshotID"] = flags_.snapshot_id;
    } else {
      body["baseBranch"] = flags_.parent_branch.empty() ? CurrentBranch() : flags_.parent_branch;
    }
    auto created = (*client)->CreateBranch(body);
    if (!created) return Remote(created.error());
  } else if (flags_.branch_protected_option->count() == 0) {
    return CommandError{kExitFailure,
                        fmt::format("branch '{}' already exists; switch to it with `dblab "
                                    "switch {}`",
                                    flags_.branch_name, flags_.branch_name)};
  }
  if (flags_.branch_protected_option->count() > 0) {
    auto protection = ParseProtection(flags_.protected_value);
    if (!protection) return Local(protection.error());
    json body = {{"protected", protection->is_protected}};
    if (protection->duration_minutes) {
      body["protectionDurationMinutes"] = *protection->duration_minutes;
    }
    auto updated = (*client)->UpdateBranch(flags_.branch_name, body);
    if (!updated) return Remote(updated.error());
    if (exists) {
      PrintJson(*updated);
      return std::nullopt;
    }
  }
  if (auto failed = SaveCurrentBranch(flags_.branch_name)) return failed;
  io_.out << "Switched to new branch '" << flags_.branch_name << "'\n";
  return std::nullopt;
}

CommandStatus CliRunner::Switch() {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto branches = (*client)->Branches();
  if (!branches) return Remote(branches.error());
  bool exists = std::any_of(branches->begin(), branches->end(), [&](const json& branch) {
    return branch.value("name", "") == flags_.branch_name;
  });
  if (!exists) {
    return CommandError{
        kExitFailure, fmt::format("branch '{}' not found; see `dblab branch`", flags_.branch_name)};
  }
  if (auto failed = SaveCurrentBranch(flags_.branch_name)) return failed;
  io_.out << "Switched to branch '" << flags_.branch_name << "'\n";
  return std::nullopt;
}

// DLE's `dblab log`, byte for byte (its snapshotTemplate): per commit, newest first,
//   snapshot ID (HEAD -> b1, b2)
//   DataStateAt: Tue, 01 Dec 2026 10:00:00 +0000
//       message
// and an empty line; "(HEAD -> ...)" only for branch heads, the message only when there is one.
CommandStatus CliRunner::Log() {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  const std::string branch = flags_.branch_name.empty() ? CurrentBranch() : flags_.branch_name;
  auto log = (*client)->BranchLog(branch);
  if (!log) return Remote(log.error());
  io_.out << FormatBranchLog(*log);
  return std::nullopt;
}

CommandStatus CliRunner::CloneStartObservation() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  json tags = json::object();
  for (const auto& tag : flags_.tags) {
    size_t equals = tag.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Usage("--tags takes key=value, e.g. --tags branch=patch-1; got \"" + tag + "\"");
    }
    tags[tag.substr(0, equals)] = tag.substr(equals + 1);
  }
  json body = {{"clone_id", flags_.clone_id},
               {"config",
                {{"observation_interval", flags_.observation_interval},
                 {"max_lock_duration", flags_.max_lock_duration},
                 {"max_duration", flags_.max_duration}}},
               {"tags", tags}};
  if (!flags_.db_name.empty()) body["db_name"] = flags_.db_name;
  return PrintFromEngine([&body](ApiClient& client) { return client.StartObservation(body); });
}

CommandStatus CliRunner::CloneStopObservation() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  return PrintFromEngine(
      [this](ApiClient& client) { return client.StopObservation(flags_.clone_id); });
}

CommandStatus CliRunner::CloneSummaryObservation() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  return PrintFromEngine([this](ApiClient& client) {
    return client.SummaryObservation(flags_.clone_id, flags_.session_id);
  });
}

CommandStatus CliRunner::CloneDownloadArtifact() {
  if (auto invalid = ValidateCloneId(flags_.clone_id, "clone id")) return invalid;
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto artifact = (*client)->DownloadObservationArtifact(flags_.clone_id, flags_.session_id,
                                                         flags_.artifact_type);
  if (!artifact) {
    return artifact.error().code == ErrorCode::kBadRequest &&
                   artifact.error().message.rfind("invalid", 0) == 0
               ? Usage(artifact.error().message)
               : Remote(artifact.error());
  }
  if (flags_.output.empty() || flags_.output == "-") {
    io_.out << *artifact;
    if (!artifact->empty() && artifact->back() != '\n') io_.out << "\n";
    return std::nullopt;
  }
  // Written beside the target and renamed, so a failed download leaves no half file.
  std::filesystem::path target(flags_.output);
  std::filesystem::path partial = target;
  partial += ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << *artifact;
    file.close();
    if (!file) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      return CommandError{
          kExitFailure, fmt::format("cannot write {}: {}", partial.string(), std::strerror(errno))};
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, target, error);
  if (error) {
    std::filesystem::remove(partial, error);
    return CommandError{kExitFailure,
                        fmt::format("cannot write {}: {}", target.string(), error.message())};
  }
  io_.out << "The file has been successfully downloaded: " << target.string() << "\n";
  return std::nullopt;
}

CommandStatus CliRunner::SnapshotCreate() {
  return PrintFromEngine([](ApiClient& client) { return client.CreateSnapshot(); });
}

CommandStatus CliRunner::InstanceStatus() {
  return PrintFromEngine([](ApiClient& client) { return client.Status(); });
}

CommandStatus CliRunner::InstanceVersion() {
  return PrintFromEngine([](ApiClient& client) { return client.Healthz(); });
}

CommandStatus CliRunner::InstanceLogs() {
  auto client = MakeClient();
  if (!client) return Local(client.error());
  auto answer = (*client)->LogStreamToken();
  if (!answer) return Remote(answer.error());
  if (!answer->is_object() || !(*answer)["token"].is_string()) {
    return CommandError{kExitFailure, "the engine answered GET /admin/ws-auth without a token"};
  }
  LogStreamRequest request;
  request.api_url = (*client)->options().url;
  request.token = (*answer)["token"].get<std::string>();
  request.follow = flags_.follow;
  request.timeout = (*client)->options().request_timeout;
  Status status = ReadLogStream(request, [this](const std::string& line) {
    io_.out << line << "\n" << std::flush;
    return static_cast<bool>(io_.out);
  });
  if (!status) return Remote(status.error());
  return std::nullopt;
}

CommandStatus CliRunner::InstanceFullRefresh() {
  return PrintFromEngine([](ApiClient& client) { return client.FullRefresh(); });
}

// ---- command table ---------------------------------------------------------------------------

void NoFlags(CLI::App&, Flags&) {}

void EnvironmentArgument(CLI::App& command, Flags& flags) {
  command.add_option("ENV", flags.environment_id, "environment id")->required();
}

void CloneIdArgument(CLI::App& command, Flags& flags) {
  command.add_option("ID", flags.clone_id, "clone id")->required();
}

void SnapshotIdArgument(CLI::App& command, Flags& flags) {
  command.add_option("ID", flags.snapshot_id, "snapshot id (<pool>@<name>)")->required();
}

void CommitFlags(CLI::App& command, Flags& flags) {
  command.add_option("--clone-id", flags.clone_id, "clone whose data becomes a snapshot")
      ->required();
  command.add_option("-m,--message", flags.message, "what the snapshot holds");
}

void BranchFlags(CLI::App& command, Flags& flags) {
  command.add_option("NAME", flags.branch_name, "branch to create and switch to");
  command.add_option("--delete", flags.delete_branch, "delete this branch");
  auto* parent = command.add_option("--parent-branch", flags.parent_branch,
                                    "branch the new one starts from (default: the current one)");
  command.add_option("--snapshot-id", flags.snapshot_id, "snapshot the new branch starts from")
      ->excludes(parent);
  flags.branch_protected_option = command.add_option(
      "--protected", flags.protected_value,
      "protect the branch: true, false, minutes (0 = forever) or a duration (30m, 2h, 7d)");
}

void SwitchFlags(CLI::App& command, Flags& flags) {
  command.add_option("NAME", flags.branch_name, "branch to switch to")->required();
}

void LogFlags(CLI::App& command, Flags& flags) {
  command.add_option("BRANCH", flags.branch_name, "branch (default: the current one)");
}

void CloneCreateFlags(CLI::App& command, Flags& flags) {
  command.add_option("ID", flags.clone_id, "clone id (same as --id)");
  command.add_option("--id", flags.id_flag, "clone id (generated when absent)");
  command.add_option("--username", flags.username, "database user to create")->required();
  command.add_option("--password", flags.password, "password of that user")->required();
  command.add_option("--snapshot-id", flags.snapshot_id, "snapshot to clone (default: latest)");
  command.add_option("--branch", flags.branch, "branch to clone (default: --current-branch)");
  command.add_flag("--restricted", flags.restricted, "create the user without superuser rights");
  command.add_option("--db-name", flags.db_name, "database the user gets access to");
  flags.create_protected_option =
      command.add_option("-p,--protected", flags.protected_value,
                         "true, false, minutes (60; 0 = forever) or a duration (30m, 2h, 7d)");
  command.add_flag("-a,--async", flags.async, "return at once; do not wait for the clone");
  command
      .add_option("--extra-config", flags.extra_config,
                  "PostgreSQL setting for the clone, key=value (repeatable)")
      ->allow_extra_args(false);
}

void CloneUpdateFlags(CLI::App& command, Flags& flags) {
  CloneIdArgument(command, flags);
  command
      .add_option("-p,--protected", flags.protected_value,
                  "true, false, minutes (60; 0 = forever) or a duration (30m, 2h, 7d)")
      ->required();
}

void CloneResetFlags(CLI::App& command, Flags& flags) {
  CloneIdArgument(command, flags);
  auto* latest = command.add_flag("--latest", flags.latest, "reset to the latest snapshot");
  command.add_option("--snapshot-id", flags.snapshot_id, "reset to this snapshot")
      ->excludes(latest);
  command.add_flag("-a,--async", flags.async, "return at once; do not wait for the reset");
}

void CloneDestroyFlags(CLI::App& command, Flags& flags) {
  CloneIdArgument(command, flags);
  command.add_flag("-a,--async", flags.async, "return at once; do not wait for the deletion");
}

void StartObservationFlags(CLI::App& command, Flags& flags) {
  CloneIdArgument(command, flags);
  auto seconds = CLI::Range(int64_t{0}, int64_t{1} << 31);
  command
      .add_option("--observation-interval", flags.observation_interval,
                  "interval of metric gathering and output (in seconds)")
      ->envname("DBLAB_OBSERVATION_INTERVAL")
      ->check(seconds);
  command
      .add_option("--max-lock-duration", flags.max_lock_duration,
                  "maximum allowed duration for locks (in seconds)")
      ->envname("DBLAB_MAX_LOCK_DURATION")
      ->check(seconds);
  command
      .add_option("--max-duration", flags.max_duration,
                  "maximum allowed duration for observation (in seconds)")
      ->envname("DBLAB_MAX_DURATION")
      ->check(seconds);
  command.add_option("--tags", flags.tags,
                     "set tags for the observation session. An example: branch=patch-1");
  command.add_option("--db-name", flags.db_name, "database name to observe");
}

void SummaryObservationFlags(CLI::App& command, Flags& flags) {
  command.add_option("--clone-id", flags.clone_id, "clone ID")->required();
  command.add_option("--session-id", flags.session_id, "session ID")->required();
}

void DownloadArtifactFlags(CLI::App& command, Flags& flags) {
  command.add_option("--clone-id", flags.clone_id, "clone ID")
      ->required()
      ->envname("DBLAB_OBSERVATION_CLONE_ID");
  command.add_option("--session-id", flags.session_id, "observing session ID")
      ->required()
      ->envname("DBLAB_OBSERVATION_SESSION_ID");
  command
      .add_option("--artifact-type", flags.artifact_type,
                  "artifact type to download: summary, locks or log")
      ->required();
  command.add_option("-o,--output", flags.output,
                     "write the artifact to this file (default: standard output)");
}

void InstanceLogsFlags(CLI::App& command, Flags& flags) {
  command.add_flag("-f,--follow", flags.follow,
                   "keep printing new lines as the engine logs them (until Ctrl-C)");
}

void InitFlags(CLI::App& command, Flags& flags) {
  command.add_option("--environment-id", flags.environment_id, "name of the new environment")
      ->required();
}

void ConfigViewFlags(CLI::App& command, Flags& flags) {
  command.add_option("ENV", flags.environment_id, "environment id (default: current)");
}

struct CommandSpec {
  const char* group;  // "" for top-level commands
  const char* name;
  const char* description;
  void (*define)(CLI::App& command, Flags& flags);
  CommandStatus (CliRunner::*run)();
  const char* examples;  // shown by `dblab <command> --help`, one command line each
};

struct GroupSpec {
  const char* name;
  const char* description;
};

constexpr GroupSpec kGroups[] = {
    {"config", "manage CLI environments in cli.yml"},
    {"clone", "create, inspect, reset and destroy clones"},
    {"snapshot", "list snapshots"},
    {"instance", "engine status, version, full refresh and logs"},
};

const CommandSpec kCommands[] = {
    {"", "init",
     "create an environment in cli.yml and make it current (--url required; --token, "
     "--insecure, --request-timeout)",
     &InitFlags, &CliRunner::Init,
     "dblab init --environment-id local --url http://127.0.0.1:2345 --token TOKEN\n"
     "dblab init --environment-id prod --url https://dblab.example.com:2345 --token TOKEN"},
    {"config", "create", "create an environment and make it current (flags as `init`)",
     &EnvironmentArgument, &CliRunner::ConfigCreate,
     "dblab config create staging --url https://staging.example.com:2345 --token TOKEN"},
    {"config", "update", "change an environment's --url, --token, --insecure, --request-timeout",
     &EnvironmentArgument, &CliRunner::ConfigUpdate,
     "dblab config update local --token NEW_TOKEN\n"
     "dblab config update local --url http://10.0.0.5:2345"},
    {"config", "view", "print an environment (token masked)", &ConfigViewFlags,
     &CliRunner::ConfigView,
     "dblab config view\n"
     "dblab config view staging"},
    {"config", "list", "list environments; * marks the current one", &NoFlags,
     &CliRunner::ConfigList, "dblab config list"},
    {"config", "switch", "make an environment current", &EnvironmentArgument,
     &CliRunner::ConfigSwitch, "dblab config switch staging"},
    {"config", "remove", "delete an environment", &EnvironmentArgument, &CliRunner::ConfigRemove,
     "dblab config remove staging"},
    {"clone", "list", "list all clones (JSON array)", &NoFlags, &CliRunner::CloneList,
     "dblab clone list"},
    {"clone", "status", "show one clone", &CloneIdArgument, &CliRunner::CloneStatus,
     "dblab clone status testclone"},
    {"clone", "create", "create a clone and wait until it is ready", &CloneCreateFlags,
     &CliRunner::CloneCreate,
     "dblab clone create --username jworks --password rocks --id testclone\n"
     "dblab clone create neals-clone --username neal --password secret --protected 120\n"
     "dblab clone create --username ci --password secret --snapshot-id SNAPSHOT_ID --async"},
    {"clone", "update", "change a clone's protection", &CloneUpdateFlags, &CliRunner::CloneUpdate,
     "dblab clone update testclone --protected true\n"
     "dblab clone update testclone --protected 60"},
    {"clone", "reset", "reset a clone to a snapshot and wait until it is ready", &CloneResetFlags,
     &CliRunner::CloneReset,
     "dblab clone reset testclone\n"
     "dblab clone reset testclone --latest\n"
     "dblab clone reset testclone --snapshot-id SNAPSHOT_ID"},
    {"clone", "destroy", "destroy a clone and wait until it is gone", &CloneDestroyFlags,
     &CliRunner::CloneDestroy,
     "dblab clone destroy testclone\n"
     "dblab clone destroy testclone --async"},
    {"clone", "start-observation",
     "[EXPERIMENTAL] start watching a clone for long dangerous locks (a migration's check)",
     &StartObservationFlags, &CliRunner::CloneStartObservation,
     "dblab clone start-observation testclone --max-lock-duration 10 --max-duration 600\n"
     "dblab clone start-observation testclone --tags branch=patch-1 --db-name app"},
    {"clone", "stop-observation",
     "[EXPERIMENTAL] stop watching; print the result and checks (status passed or failed)",
     &CloneIdArgument, &CliRunner::CloneStopObservation, "dblab clone stop-observation testclone"},
    {"clone", "summary-observation", "[EXPERIMENTAL] print an observation session's summary",
     &SummaryObservationFlags, &CliRunner::CloneSummaryObservation,
     "dblab clone summary-observation --clone-id testclone --session-id 1764567890123"},
    {"clone", "download-artifact",
     "[EXPERIMENTAL] download an artifact of an observation session (summary, locks, log)",
     &DownloadArtifactFlags, &CliRunner::CloneDownloadArtifact,
     "dblab clone download-artifact --clone-id testclone --session-id 1764567890123 "
     "--artifact-type log\n"
     "dblab clone download-artifact --clone-id testclone --session-id 1764567890123 "
     "--artifact-type summary -o summary.json"},
    {"snapshot", "list", "list snapshots", &NoFlags, &CliRunner::SnapshotList,
     "dblab snapshot list"},
    {"snapshot", "create",
     "take a snapshot now (physical retrieval: of the replica, promoted and preprocessed)",
     &NoFlags, &CliRunner::SnapshotCreate, "dblab snapshot create"},
    {"snapshot", "delete", "delete a snapshot no clone uses", &SnapshotIdArgument,
     &CliRunner::SnapshotDelete, "dblab snapshot delete SNAPSHOT_ID"},
    {"", "commit",
     "snapshot a clone's current data as a commit on its branch; the branch's head moves to it",
     &CommitFlags, &CliRunner::Commit,
     "dblab commit --clone-id testclone --message \"after the migration\""},
    {"", "branch", "list branches (* = current), create one and switch to it, or delete one",
     &BranchFlags, &CliRunner::Branch,
     "dblab branch\n"
     "dblab branch feature-x\n"
     "dblab branch hotfix --parent-branch main\n"
     "dblab branch audit --snapshot-id SNAPSHOT_ID\n"
     "dblab branch feature-x --protected true\n"
     "dblab branch --delete feature-x"},
    {"", "switch", "make a branch the current one (kept in cli.yml)", &SwitchFlags,
     &CliRunner::Switch, "dblab switch feature-x"},
    {"", "log", "show a branch's commits, newest first", &LogFlags, &CliRunner::Log,
     "dblab log\n"
     "dblab log main"},
    {"instance", "status", "show the engine's status", &NoFlags, &CliRunner::InstanceStatus,
     "dblab instance status"},
    {"instance", "version", "show the engine's version (GET /healthz)", &NoFlags,
     &CliRunner::InstanceVersion, "dblab instance version"},
    {"instance", "full-refresh", "start a full refresh of the data", &NoFlags,
     &CliRunner::InstanceFullRefresh, "dblab instance full-refresh"},
    {"instance", "logs",
     "print the engine's recent log lines (secrets masked); --follow keeps streaming them",
     &InstanceLogsFlags, &CliRunner::InstanceLogs,
     "dblab instance logs\n"
     "dblab instance logs --follow | grep clone"},
};

void DefineGlobalFlags(CLI::App& app, Flags& flags) {
  flags.url_option = app.add_option("--url", flags.url, "engine API URL [env DBLAB_INSTANCE_URL]");
  flags.token_option =
      app.add_option("--token", flags.token, "verification token [env DBLAB_VERIFICATION_TOKEN]");
  flags.insecure_option =
      app.add_flag("-k,--insecure", flags.insecure,
                   "skip TLS certificate verification [env DBLAB_INSECURE_SKIP_VERIFY]");
  flags.request_timeout_option = app.add_option(
      "--request-timeout", flags.request_timeout,
      "per-request timeout: seconds or 500ms/60s/2m (default 60s) [env DBLAB_REQUEST_TIMEOUT]");
  app.add_flag("--debug", flags.debug, "print each request's method, URL and status to stderr");
  flags.current_branch_option =
      app.add_option("--current-branch", flags.current_branch, "branch used when none is given");
}

// Every word that may follow `path` (e.g. "dblab clone"): its subcommands and its long and
// short flags, `--help` included.
void CollectCompletionWords(const CLI::App& command, const std::string& path,
                            std::vector<std::pair<std::string, std::string>>& table) {
  std::string words;
  auto add = [&words](const std::string& word) { words += (words.empty() ? "" : " ") + word; };
  for (const CLI::App* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    add(sub->get_name());
  }
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) add("--" + name);
    for (const std::string& name : option->get_snames()) add("-" + name);
  }
  table.emplace_back(path, words);
  for (const CLI::App* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    CollectCompletionWords(*sub, path + " " + sub->get_name(), table);
  }
}

// The completion script for `shell` ("bash" or "zsh"), generated from the command table so that
// it always knows every command and flag.
std::string CompletionScript(const CLI::App& app, const std::string& shell) {
  std::vector<std::pair<std::string, std::string>> table;
  CollectCompletionWords(app, "dblab", table);
  std::string entries;
  for (const auto& [path, words] : table) {
    entries += fmt::format("    '{}' '{}'\n", path, words);
  }
  if (shell == "zsh") {
    return "#compdef dblab\n"
           "# zsh completion for dblab (generated by `dblab completion zsh`).\n"
           "_dblab() {\n"
           "  local -A dblab_words\n"
           "  dblab_words=(\n" +
           entries +
           "  )\n"
           "  local command_path=dblab candidate i\n"
           "  for ((i = 2; i < CURRENT; i++)); do\n"
           "    candidate=\"$command_path ${words[i]}\"\n"
           "    (( ${+dblab_words[$candidate]} )) && command_path=$candidate\n"
           "  done\n"
           "  compadd -- ${=dblab_words[$command_path]}\n"
           "}\n"
           "# Autoloaded from $fpath: complete now; sourced: register.\n"
           "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n"
           "  _dblab \"$@\"\n"
           "else\n"
           "  compdef _dblab dblab\n"
           "fi\n";
  }
  std::string bash_entries;
  for (const auto& [path, words] : table) {
    bash_entries += fmt::format("  ['{}']='{}'\n", path, words);
  }
  return "# bash completion for dblab (generated by `dblab completion bash`).\n"
         "declare -gA _dblab_words=(\n" +
         bash_entries +
         ")\n"
         "_dblab() {\n"
         "  local command_path=dblab candidate i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    candidate=\"$command_path ${COMP_WORDS[i]}\"\n"
         "    [[ -n \"${_dblab_words[$candidate]+set}\" ]] && command_path=$candidate\n"
         "  done\n"
         "  mapfile -t COMPREPLY < <(compgen -W \"${_dblab_words[$command_path]}\" -- "
         "\"${COMP_WORDS[COMP_CWORD]}\")\n"
         "}\n"
         "complete -F _dblab dblab\n";
}

std::string OneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

std::string FormatBranchLog(const json& log) {
  // DLE's formatDSA: dataStateAt (YYYYMMDDHHMMSS, UTC) in Go's RFC1123Z, "" when unparsable.
  auto format_data_state_at = [](const std::string& compact) -> std::string {
    std::tm time{};
    if (compact.size() != 14 ||
        !std::all_of(compact.begin(), compact.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "";
    }
    auto number = [&](size_t at, size_t length) { return std::stoi(compact.substr(at, length)); };
    time.tm_year = number(0, 4) - 1900;
    time.tm_mon = number(4, 2) - 1;
    time.tm_mday = number(6, 2);
    time.tm_hour = number(8, 2);
    time.tm_min = number(10, 2);
    time.tm_sec = number(12, 2);
    const std::tm parsed = time;  // timegm normalizes its argument: 13/32 become next month
    std::time_t seconds = timegm(&time);
    std::tm normalized{};
    gmtime_r(&seconds, &normalized);
    if (normalized.tm_mday != parsed.tm_mday || normalized.tm_mon != parsed.tm_mon ||
        normalized.tm_hour != parsed.tm_hour || normalized.tm_min != parsed.tm_min ||
        normalized.tm_sec != parsed.tm_sec) {
      return "";
    }
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[normalized.tm_wday],
                       normalized.tm_mday, kMonths[normalized.tm_mon], normalized.tm_year + 1900,
                       normalized.tm_hour, normalized.tm_min, normalized.tm_sec);
  };
  std::string out;
  if (!log.is_array()) return out;
  for (const auto& commit : log) {
    if (!commit.is_object()) continue;
    std::string heads;
    for (const auto& name : commit.value("branch", json::array())) {
      if (name.is_string()) heads += (heads.empty() ? "" : ", ") + name.get<std::string>();
    }
    std::string message = commit.value("message", "");
    out += "snapshot " + commit.value("id", "") + " " +
           (heads.empty() ? "" : "(HEAD -> " + heads + ")") + "\n";
    out += "DataStateAt: " + format_data_state_at(commit.value("dataStateAt", ""));
    if (!message.empty() && message != "-") out += "\n    " + message;
    out += "\n\n";
  }
  return out;
}

int RunCli(const std::vector<std::string>& args, const CliIo& io) {
  Flags flags;
  CLI::App app{"dblab: thin clones of PostgreSQL (Database Lab Engine compatible client)", "dblab"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  DefineGlobalFlags(app, flags);

  std::map<CLI::App*, const CommandSpec*> handlers;
  std::map<std::string, CLI::App*> groups;
  for (const GroupSpec& group : kGroups) {
    CLI::App* command = app.add_subcommand(group.name, group.description);
    command->require_subcommand(1);
    command->fallthrough();
    groups[group.name] = command;
  }
  for (const CommandSpec& spec : kCommands) {
    CLI::App* parent = spec.group[0] == '\0' ? &app : groups.at(spec.group);
    CLI::App* command = parent->add_subcommand(spec.name, spec.description);
    command->fallthrough();
    spec.define(*command, flags);
    std::string examples = spec.examples;
    for (size_t at = 0; (at = examples.find('\n', at)) != std::string::npos; at += 3) {
      examples.replace(at, 1, "\n  ");
    }
    command->footer("\nExamples:\n  " + examples + "\n");
    handlers[command] = &spec;
  }

  std::string completion_shell;
  CLI::App* completion =
      app.add_subcommand("completion", "print the shell completion script (bash or zsh) for dblab");
  completion->add_option("SHELL", completion_shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->footer(
      "\nExamples:\n"
      "  source <(dblab completion bash)                 # this shell\n"
      "  dblab completion bash > /etc/bash_completion.d/dblab\n"
      "  dblab completion zsh > \"${fpath[1]}/_dblab\"      # then restart zsh\n"
      "The Debian package installs both.\n");

  if (args.empty()) {
    io.out << app.help();
    return kExitOk;
  }
  std::vector<const char*> argv;
  argv.push_back("dblab");
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForVersion&) {
    io.out << "dblab version " << kVersion << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string command = "dblab";
    for (CLI::App* parsed = &app; !parsed->get_subcommands().empty();) {
      parsed = parsed->get_subcommands().front();
      command += " " + parsed->get_name();
    }
    io.err << "Error: " << OneLine(e.what()) << " (see `" << command << " --help`)\n";
    return kExitUsage;
  }

  // The chosen command is the deepest parsed subcommand.
  CLI::App* chosen = &app;
  while (!chosen->get_subcommands().empty()) chosen = chosen->get_subcommands().front();
  if (chosen == completion) {
    io.out << CompletionScript(app, completion_shell);
    return kExitOk;
  }
  auto handler = handlers.find(chosen);
  if (handler == handlers.end()) {
    io.out << chosen->help();
    return kExitUsage;
  }
  CliRunner runner(io, flags);
  const CommandStatus status = (runner.*(handler->second->run))();
  if (!status) return kExitOk;
  io.err << "Error: " << OneLine(status->message) << "\n";
  return status->exit_code;
}

}  // namespace dblab
