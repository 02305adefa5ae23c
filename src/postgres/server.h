// Starting, stopping and finding PostgreSQL servers. Servers are started directly (no pg_ctl),
// detached, as an unprivileged OS user, with every per-server setting on the command line so
// that nothing in a snapshot is edited. Thread-safe (no shared mutable state).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "platform/process.h"

namespace dblab {

struct ServerSpec {
  std::string bin_dir;  // directory with the `postgres` binary of the data's major version
  std::string data_dir;
  int port = 0;
  std::string listen_addresses;  // "" = no TCP, unix socket only
  std::string socket_dir;        // unix_socket_directories; <= 90 bytes (socket path limit)
  std::string hba_file;  // "" = the data directory's own; a pg_ident.conf beside it is used too
  std::map<std::string, std::string> settings;  // extra -c name=value
  std::string log_file;
  std::string os_user = "postgres";
  std::chrono::milliseconds ready_timeout{120000};
  // Start as a standby (standby.signal is written): ready once it accepts read-only
  // connections. Otherwise recovery signal files of a previous life are removed first.
  bool standby = false;
};

class PostgresControl {
 public:
  explicit PostgresControl(ProcessRunner& runner) : runner_(runner) {}

  // Starts the server and returns once it accepts connections. On failure the server is
  // stopped and the error carries the tail of its log.
  Result<pid_t> Start(const ServerSpec& spec);

  // Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL after `timeout`.
  // Succeeds when no server runs on data_dir; with `require_clean`, a stop that had to escalate
  // is an error (the data then needs crash recovery and must not become a snapshot).
  Status Stop(const std::string& data_dir,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              bool require_clean = false);

  // PID of the postmaster serving data_dir, if one runs (postmaster.pid checked against /proc).
  static std::optional<pid_t> RunningPid(const std::string& data_dir);
  // Port of that server (postmaster.pid line 4), if one runs.
  static std::optional<int> RunningPort(const std::string& data_dir);

 private:
  ProcessRunner& runner_;
};

// /usr/lib/postgresql/<major>/bin, or kNotFound naming the package to install.
Result<std::string> FindPostgresBinDir(int major, const std::string& configured_dir = "");
// Major version of a data directory (PG_VERSION), e.g. 15.
Result<int> DataDirMajorVersion(const std::string& data_dir);
// Keeps the entries of a shared_preload_libraries list that exist in lib_dir (DLE's example
// configs name extensions a plain PostgreSQL does not have); logs the ones dropped.
std::string InstalledLibraries(const std::string& list, const std::string& lib_dir);
// Last `max_bytes` of a text file ("" if unreadable).
std::string FileTail(const std::string& path, size_t max_bytes = 2000);
// Shell-free quoting for postgresql.conf-style values on the command line is not needed; this
// validates setting names and values instead (no NUL, no newline).
Status ValidateSetting(const std::string& name, const std::string& value);

}  // namespace dblab
