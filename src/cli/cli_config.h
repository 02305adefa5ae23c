// The CLI's config file, DLE-compatible: ~/.dblab/cli/cli.yml with `current_environment` and
// `environments.<id>: {url, token, insecure, request_timeout, branching: {current_branch}}`.
// Keys this CLI does not know (e.g. DLE's `forwarding`) are kept when the file is rewritten.
// Saves are atomic (temp file, fsync, rename, fsync dir); file mode 0600, directory 0700.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "common/result.h"

namespace dblab {

struct CliEnvironment {  // NOLINT(bugprone-exception-escape): a move copies the YAML::Node
  std::string url;
  std::string token;
  bool insecure = false;
  std::string request_timeout;  // as written, e.g. "60s"; empty = default
  std::string current_branch;
  YAML::Node raw;  // the environment's mapping as loaded, to keep unknown keys
};

struct CliConfig {
  std::string current_environment;
  std::map<std::string, CliEnvironment> environments;
  YAML::Node raw;  // the whole document as loaded
};

// Looks up an environment variable; returns nullptr when unset (like std::getenv).
using EnvLookup = std::function<const char*(const char*)>;

// $DBLAB_CLI_CONFIG_DIR/cli.yml if set, else $HOME/.dblab/cli/cli.yml; kBadRequest when neither
// variable is set.
Result<std::filesystem::path> CliConfigPath(const EnvLookup& env);

// A missing file is an empty config; a malformed one is kBadRequest naming the file.
Result<CliConfig> LoadCliConfig(const std::filesystem::path& file);

// Creates the directory (0700) when missing and replaces the file atomically (0600).
Status SaveCliConfig(const std::filesystem::path& file, const CliConfig& config);

}  // namespace dblab
