// Running external programs. Always an argv vector, never a shell string. stderr is captured so
// that it can go into error messages. Implementations: PosixProcessRunner (real), fakes in tests.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/sandbox.h"

namespace dblab {

struct RunOptions {
  // Environment additions/overrides on top of the engine's environment.
  std::map<std::string, std::string> env;
  // Run as this OS user (setgid/initgroups/setuid before exec). Empty: as the engine.
  std::string user;
  std::string working_dir;
  std::optional<std::chrono::milliseconds> timeout;  // kill the process group after it
  // Called with each line of stderr as it arrives (progress reporting). Optional.
  std::function<void(const std::string&)> on_stderr_line;
  // When set and it becomes true, the program's process group is killed (engine shutdown).
  const std::atomic<bool>* cancel = nullptr;
};

struct RunResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

struct SpawnOptions {
  std::string user;      // OS user to run as; empty: as the engine
  std::string log_file;  // stdout+stderr appended here (created 0600 owned by `user`)
  std::string working_dir;
  std::map<std::string, std::string> env;
  // Run inside an OS sandbox (platform/sandbox.h). The returned PID is then the daemon's PID as
  // the engine sees it (its own pid namespace numbers it 2).
  std::optional<SandboxSpec> sandbox;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  // Runs to completion. An error only when the program could not be started or timed out;
  // a non-zero exit is reported in RunResult::exit_code.
  virtual Result<RunResult> Run(const std::vector<std::string>& argv,
                                const RunOptions& options = {}) = 0;

  // Starts a long-lived daemon in its own session, detached (re-parented to init) so that it
  // outlives the engine. Returns its PID.
  virtual Result<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                                      const SpawnOptions& options) = 0;
};

// Joins argv for messages and logs, quoting where needed. Never executed.
std::string DescribeCommand(const std::vector<std::string>& argv);

// Runs, and turns a non-zero exit into an error naming the command and its stderr tail.
Result<RunResult> RunChecked(ProcessRunner& runner, const std::vector<std::string>& argv,
                             const RunOptions& options = {});

// True when `pid` exists and is not a zombie (detached daemons are reaped by init, which may
// take its time; a zombie holds nothing).
bool ProcessAlive(pid_t pid);

}  // namespace dblab
