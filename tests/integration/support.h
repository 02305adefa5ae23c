// Shared pieces of the integration and end-to-end tests: temp dirs, free ports, a real source
// PostgreSQL, the real engine binary, the real CLI. Everything a test makes is registered for
// cleanup that runs even when the test fails: servers are stopped by PID, pools unmounted,
// loop devices detached, directories removed.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "postgres/pq.h"

namespace dblab::testing {

// A fresh directory under /tmp, removed (after unmounting anything below it) by Cleanup().
std::string MakeTempDir(const std::string& prefix);
int FreePort();

std::string ReadFile(const std::string& path);  // "" when unreadable
bool WriteFile(const std::string& path, const std::string& content);
bool StartsWith(const std::string& text, const std::string& prefix);

// What lives at or below a test's directory: processes working there (postmasters chdir to
// their data), mount points (deepest first), loop devices backed by files there.
std::vector<pid_t> ProcessesBelow(const std::string& root);
std::vector<std::string> MountsBelow(const std::string& root);
std::vector<std::string> LoopDevicesBelow(const std::string& root);
// SIGQUIT, then SIGKILL, to the processes below `root` until none is left.
void StopProcessesBelow(const std::string& root);
// Unmounts everything below `root` (lazily as a last resort), then waits for auto-clear of its
// loop devices and detaches by hand those that stay.
void UnmountAndDetachBelow(const std::string& root);

// Stops every process working below `root`, unmounts every mount below it (detaching loop
// devices), then removes the tree. Safe to call twice.
void CleanupTree(const std::string& root);

// Empty when the `zpool`/`zfs` CLI answers, else why ZFS cannot be used. Starts zfs-fuse once
// for the whole test run when no ZFS daemon answers; stops (by PID) only a daemon it started,
// when the tests end.
std::string EnsureZfsRunning();

// A zpool name no other test and never the engine's default "dblab_pool" uses.
std::string UniqueZpoolName();

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// A real PostgreSQL 15 source with a password and a `users` table (plus pgbench tables when
// scale > 0), listening on 127.0.0.1.
struct SourceDatabase {
  std::string dir;
  int port = 0;
  std::string password = "source-secret";
  std::string dbname = "app";
};
SourceDatabase StartSourceDatabase(const std::string& dir, int users, int pgbench_scale = 0);

// The real dblab-engine binary in the background.
class EngineProcess {
 public:
  EngineProcess() = default;
  ~EngineProcess();
  // Starts `dblab-engine --config FILE` and waits for /healthz. Returns false on failure (its
  // log is in log_path).
  bool Start(const std::string& config_file, int api_port, const std::string& log_path,
             const std::vector<std::string>& extra_args = {},
             const std::map<std::string, std::string>& env = {});
  void Kill();       // SIGKILL, as a crash would
  void Terminate();  // SIGTERM, waits for exit
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// Connects to a clone as its user over TCP.
Result<PgConnection> ConnectClone(int port, const std::string& user, const std::string& password,
                                  const std::string& dbname);
// Single-value query helper; fails the test on error.
std::string QueryValue(PgConnection& connection, const std::string& sql);

bool PortListening(int port);
std::string EngineBinary();
std::string CliBinary();
std::string SourceDir();

}  // namespace dblab::testing
