// The `dblab` command-line client: parses argv, resolves settings (flag > env > cli.yml current
// environment), talks to the engine through ApiClient and prints JSON or plain text. All I/O
// other than HTTP and the config file goes through CliIo, so tests drive it in-process.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "cli/cli_config.h"

namespace dblab {

// Process exit codes (documented in docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // the engine refused or failed; any other error
inline constexpr int kExitUsage = 2;         // bad flags/arguments, invalid id or duration
inline constexpr int kExitUnreachable = 3;   // cannot reach the engine, timeout, or HTTP 503
inline constexpr int kExitUnauthorized = 4;  // wrong or missing verification token

struct CliIo {
  std::ostream& out;  // command output (JSON, messages)
  std::ostream& err;  // one-line errors, --debug lines
  EnvLookup env;      // environment variables (std::getenv in production)
  std::function<void(std::chrono::milliseconds)> sleep;  // between status polls
};

// `dblab log`'s text for GET /branch/{name}/log's answer, exactly as DLE's CLI prints it.
std::string FormatBranchLog(const nlohmann::json& log);

// Runs one command; `args` excludes the program name. Returns the exit code.
int RunCli(const std::vector<std::string>& args, const CliIo& io);

}  // namespace dblab
