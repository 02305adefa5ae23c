// Starting, stopping and finding PostgreSQL servers. Servers are started directly (no pg_ctl),
// detached, as an unprivileged OS user, with every per-server setting on the command line so
// that nothing in a snapshot is edited. Thread-safe (no shared mutable state).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/process.h"
#include "postgres/binaries.h"

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
  // In an OS sandbox (platform/sandbox.h): the server sees only data_dir, socket_dir (its own:
  // see ServerSocketDir), hba_file and readable_paths. Off only for servers whose SQL users
  // are all trusted.
  bool sandbox = true;
  std::vector<std::string> writable_paths;      // extra directories (e.g. a clone's WAL outside)
  std::vector<std::string> readable_paths;      // extra read-only files (e.g. a replica's passfile)
  std::vector<std::string> cgroup_procs_files;  // cgroups to join (platform/cgroup.h)
};

// What every sandboxed server hides although it lies inside a visible system directory (the
// engine's config file, /etc/dblab), and where sandboxes are assembled.
struct SandboxDefaults {
  // /etc/ssl/private: the postgres user is in the ssl-cert group, which reads the host's keys.
  std::vector<std::string> hidden_paths = {"/etc/dblab", "/etc/ssl/private"};
  std::string staging_dir = "/run/dblab-sandbox";
};

// The unix socket directory of the server on `port` under `socket_root`: one per server, so a
// sandboxed server cannot reach the socket of another.
std::string ServerSocketDir(const std::string& socket_root, int port);

// The seam between the engine's logic and server processes: start, stop, find. The real one
// is PostgresControl (processes in a sandbox); FakeServerControl (postgres/fake_server_control.h)
// serves unit tests.
class ServerControl {
 public:
  virtual ~ServerControl() = default;
  // Starts the server and returns once it accepts connections. On failure the server is
  // stopped and the error carries the tail of its log.
  virtual Result<pid_t> Start(const ServerSpec& spec) = 0;
  // Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL after `timeout`.
  // Succeeds when no server runs on data_dir; with `require_clean`, a stop that had to escalate
  // is an error (the data then needs crash recovery and must not become a snapshot).
  virtual Status Stop(const std::string& data_dir,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      bool require_clean = false) = 0;
  // PID of the server serving data_dir, if one runs.
  virtual std::optional<pid_t> Pid(const std::string& data_dir) = 0;
};

class PostgresControl : public ServerControl {
 public:
  explicit PostgresControl(ProcessRunner& runner, SandboxDefaults sandbox = {})
      : runner_(runner), sandbox_(std::move(sandbox)) {}

  Result<pid_t> Start(const ServerSpec& spec) override;
  Status Stop(const std::string& data_dir,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              bool require_clean = false) override;
  std::optional<pid_t> Pid(const std::string& data_dir) override { return RunningPid(data_dir); }

  // PID (in the engine's pid namespace) of the postmaster serving data_dir, if one runs:
  // postmaster.pid holds the PID in the server's own namespace (2 in a sandbox), so the process
  // is found by its working directory and namespace PID (remembered after the first lookup).
  static std::optional<pid_t> RunningPid(const std::string& data_dir);
  // Port of that server (postmaster.pid line 4), if one runs.
  static std::optional<int> RunningPort(const std::string& data_dir);

 private:
  ProcessRunner& runner_;
  SandboxDefaults sandbox_;
};

// The first major that knows setting `name`, for the few dblab sets that older majors lack
// (0 = every supported major). Start() leaves such settings out on older data.
int SettingIntroducedIn(const std::string& name);
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
