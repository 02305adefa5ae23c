#include "postgres/server.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "platform/posix_process.h"

namespace dblab {

namespace {

struct PidFile {
  pid_t pid = 0;
  int port = 0;            // line 4
  std::string status;      // "starting", "ready", "stopping", "standby" (line 8), may be empty
  std::string socket_dir;  // line 5
};

// Reads a postmaster.pid-style file (also the socket lock files, which share the format).
std::optional<PidFile> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  if (lines.empty()) return std::nullopt;
  PidFile file;
  try {
    file.pid = static_cast<pid_t>(std::stol(lines[0]));
  } catch (...) {
    return std::nullopt;
  }
  if (lines.size() >= 4) file.port = std::atoi(lines[3].c_str());
  if (lines.size() >= 5) file.socket_dir = lines[4];
  if (lines.size() >= 8) {
    file.status = lines[7];
    while (!file.status.empty() && file.status.back() == ' ') file.status.pop_back();
  }
  return file;
}

std::string RealPath(const std::string& path) {
  char buffer[PATH_MAX];
  return realpath(path.c_str(), buffer) ? std::string(buffer) : path;
}

// The PID of `pid` in its innermost pid namespace (the last field of NSpid), or 0.
pid_t InnermostPid(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    auto last = line.find_last_of(" \t");
    try {
      return static_cast<pid_t>(std::stol(line.substr(last + 1)));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// True when process `pid` works in `data_dir` (same inode; the path it sees may differ).
bool WorksIn(pid_t pid, const struct stat& data_dir) {
  struct stat cwd;
  std::string link = "/proc/" + std::to_string(pid) + "/cwd";
  return stat(link.c_str(), &cwd) == 0 && cwd.st_dev == data_dir.st_dev &&
         cwd.st_ino == data_dir.st_ino;
}

bool IsPostmasterOf(pid_t pid, pid_t pid_in_file, const struct stat& data_dir) {
  return pid > 0 && ProcessAlive(pid) && WorksIn(pid, data_dir) && InnermostPid(pid) == pid_in_file;
}

std::mutex known_mutex;
// Data directory (device, inode) -> its postmaster's PID in the engine's pid namespace.
std::map<std::pair<dev_t, ino_t>, pid_t> known_postmasters;

}  // namespace

std::string ServerSocketDir(const std::string& socket_root, int port) {
  return socket_root + "/" + std::to_string(port);
}

std::string InstalledLibraries(const std::string& list, const std::string& lib_dir) {
  std::string kept;
  std::stringstream stream(list);
  std::string name;
  while (std::getline(stream, name, ',')) {
    name.erase(0, name.find_first_not_of(" \t\"'"));
    name.erase(name.find_last_not_of(" \t\"'") + 1);
    if (name.empty()) continue;
    // Debian installs modules in <prefix>/lib, a default build (the npm packages) in
    // <prefix>/lib/postgresql.
    if (access((lib_dir + "/" + name + ".so").c_str(), R_OK) == 0 ||
        access((lib_dir + "/postgresql/" + name + ".so").c_str(), R_OK) == 0) {
      kept += (kept.empty() ? "" : ",") + name;
    } else {
      spdlog::warn("shared_preload_libraries: {} is not installed in {}; starting without it", name,
                   lib_dir);
    }
  }
  return kept;
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  const auto max = static_cast<std::streamoff>(max_bytes);
  std::streamoff start = size > max ? size - max : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

Status ValidateSetting(const std::string& name, const std::string& value) {
  static const std::regex kName("^[a-z_][a-z0-9_.]*$");
  if (!std::regex_match(name, kName)) return BadRequest("invalid postgres setting name: " + name);
  if (value.find('\n') != std::string::npos || value.find('\0') != std::string::npos) {
    return BadRequest("invalid value for postgres setting " + name);
  }
  return OkStatus();
}

int SettingIntroducedIn(const std::string& name) {
  // Settings dblab itself sets (engine defaults, retrieval) that older supported majors lack.
  static const std::map<std::string, int> kIntroduced = {
      {"recovery_init_sync_method", 14},
  };
  auto found = kIntroduced.find(name);
  return found == kIntroduced.end() ? 0 : found->second;
}

Result<int> DataDirMajorVersion(const std::string& data_dir) {
  std::ifstream in(data_dir + "/PG_VERSION");
  int major = 0;
  if (!(in >> major) || major <= 0) {
    return Internal("cannot read " + data_dir + "/PG_VERSION: not a PostgreSQL data directory");
  }
  return major;
}

std::optional<int> PostgresControl::RunningPort(const std::string& data_dir) {
  if (!RunningPid(data_dir)) return std::nullopt;
  auto pid_file = ReadPidFile(data_dir + "/postmaster.pid");
  if (!pid_file || pid_file->port <= 0) return std::nullopt;
  return pid_file->port;
}

std::optional<pid_t> PostgresControl::RunningPid(const std::string& data_dir) {
  auto pid_file = ReadPidFile(data_dir + "/postmaster.pid");
  if (!pid_file || pid_file->pid <= 0) return std::nullopt;
  struct stat dir;
  if (stat(data_dir.c_str(), &dir) != 0) return std::nullopt;
  // The working directory tells a live server from a stale postmaster.pid whose PID was reused.
  if (IsPostmasterOf(pid_file->pid, pid_file->pid, dir)) return pid_file->pid;  // no sandbox
  {
    std::lock_guard lock(known_mutex);
    auto known = known_postmasters.find({dir.st_dev, dir.st_ino});
    if (known != known_postmasters.end() && IsPostmasterOf(known->second, pid_file->pid, dir)) {
      return known->second;
    }
  }
  // A sandboxed server started by an earlier engine: find it once among all processes.
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
    if (!WorksIn(pid, dir) || InnermostPid(pid) != pid_file->pid || !ProcessAlive(pid)) continue;
    std::lock_guard lock(known_mutex);
    known_postmasters[{dir.st_dev, dir.st_ino}] = pid;
    return pid;
  }
  return std::nullopt;
}

Result<pid_t> PostgresControl::Start(const ServerSpec& spec) {
  if (spec.socket_dir.size() + 20 > 107) {
    return BadRequest("unix socket directory " + spec.socket_dir +
                      " is too long (socket paths are limited to 107 bytes); use a shorter "
                      "poolManager.mountDir");
  }
  if (auto running = RunningPid(spec.data_dir)) {
    return Conflict("a postgres server (pid " + std::to_string(*running) + ") already runs on " +
                    spec.data_dir);
  }
  // A clone starts from a cleanly stopped snapshot; files of a previous life must not confuse it.
  for (const char* stale : {"postmaster.pid", "standby.signal", "recovery.signal"}) {
    unlink((spec.data_dir + "/" + stale).c_str());
  }
  if (spec.standby) {
    int fd = ::open((spec.data_dir + "/standby.signal").c_str(),
                    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return Internal("cannot write " + spec.data_dir + "/standby.signal: " + strerror(errno));
    }
    close(fd);
  }
  DBLAB_ASSIGN_OR_RETURN(OsUser user, LookupOsUser(spec.os_user));
  if (mkdir(spec.socket_dir.c_str(), 0700) == 0) {
    if (chown(spec.socket_dir.c_str(), user.uid, user.gid) != 0) {
      return Internal("cannot chown " + spec.socket_dir + ": " + strerror(errno));
    }
  } else if (errno != EEXIST) {
    return Internal("cannot create socket directory " + spec.socket_dir + ": " + strerror(errno));
  }
  // A killed postmaster leaves its socket lock behind. postgres removes it itself only when the
  // PID in it is gone; an unreaped zombie (PID 1 in some containers does not reap) still counts
  // for postgres, so decide here, zombie-aware. (A sandboxed server finds its own PID, 2, in a
  // stale lock and takes it over.)
  std::string socket_lock = spec.socket_dir + "/.s.PGSQL." + std::to_string(spec.port) + ".lock";
  if (auto lock = ReadPidFile(socket_lock); lock && !spec.sandbox && !ProcessAlive(lock->pid)) {
    unlink(socket_lock.c_str());
    unlink(socket_lock.substr(0, socket_lock.size() - 5).c_str());
  }
  std::vector<std::string> argv = {spec.bin_dir + "/postgres", "-D", spec.data_dir, "-p",
                                   std::to_string(spec.port)};
  std::map<std::string, std::string> settings = {
      {"listen_addresses", spec.listen_addresses},
      {"unix_socket_directories", spec.socket_dir},
      {"logging_collector", "off"},
      {"log_destination", "stderr"},
  };
  if (!spec.hba_file.empty()) {
    settings["hba_file"] = spec.hba_file;
    // A user-name map for the hba file lives beside it.
    std::string ident = spec.hba_file.substr(0, spec.hba_file.rfind('/') + 1) + "pg_ident.conf";
    if (access(ident.c_str(), R_OK) == 0) settings["ident_file"] = ident;
  }
  auto major = DataDirMajorVersion(spec.data_dir);
  for (const auto& [name, value] : spec.settings) {
    if (major.ok() && *major < SettingIntroducedIn(name)) {
      spdlog::debug("{}: PostgreSQL {} has no setting {}; starting without it", spec.data_dir,
                    *major, name);
      continue;
    }
    settings[name] = value;
  }
  if (auto libraries = settings.find("shared_preload_libraries"); libraries != settings.end()) {
    libraries->second = InstalledLibraries(libraries->second, spec.bin_dir + "/../lib");
  }
  for (const auto& [name, value] : settings) {
    DBLAB_TRY(ValidateSetting(name, value));
    argv.push_back("-c");
    argv.push_back(name + "=" + value);
  }
  SpawnOptions spawn{.user = spec.os_user, .log_file = spec.log_file, .working_dir = spec.data_dir};
  if (spec.sandbox) {
    SandboxSpec sandbox{.writable_paths = {spec.data_dir, spec.socket_dir},
                        .readable_paths = spec.readable_paths,
                        .hidden_paths = sandbox_.hidden_paths,
                        .cgroup_procs_files = spec.cgroup_procs_files,
                        .staging_dir = sandbox_.staging_dir};
    for (const auto& path : spec.writable_paths) sandbox.writable_paths.push_back(path);
    for (const char* setting : {"hba_file", "ident_file"}) {
      if (auto file = settings.find(setting); file != settings.end()) {
        sandbox.readable_paths.push_back(file->second);
      }
    }
    // Binaries outside the system directories (provision.pgBinDir, other majors' packages).
    std::string install_root = RealPath(spec.bin_dir + "/..");
    if (install_root.rfind("/usr/", 0) != 0) sandbox.readable_paths.push_back(install_root);
    spawn.sandbox = std::move(sandbox);
  }
  DBLAB_ASSIGN_OR_RETURN(pid_t pid, runner_.SpawnDetached(argv, spawn));
  pid_t pid_in_file = spec.sandbox ? InnermostPid(pid) : pid;
  if (struct stat dir; spec.sandbox && stat(spec.data_dir.c_str(), &dir) == 0) {
    std::lock_guard lock(known_mutex);
    known_postmasters[{dir.st_dev, dir.st_ino}] = pid;
  }
  // Ready when postmaster.pid says so: no connection attempts, no fixed sleeps.
  auto deadline = std::chrono::steady_clock::now() + spec.ready_timeout;
  auto pause = std::chrono::microseconds(500);
  while (true) {
    auto pid_file = ReadPidFile(spec.data_dir + "/postmaster.pid");
    if (pid_file && pid_file->pid == pid_in_file &&
        (pid_file->status == "ready" || (spec.standby && pid_file->status == "standby"))) {
      return pid;
    }
    if (!ProcessAlive(pid)) {
      return Internal("postgres on " + spec.data_dir + " (port " + std::to_string(spec.port) +
                      ") exited during start; log tail:\n" + FileTail(spec.log_file));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGQUIT);
      return Internal("postgres on " + spec.data_dir + " did not become ready in " +
                      std::to_string(spec.ready_timeout.count() / 1000) + " s; log tail:\n" +
                      FileTail(spec.log_file));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
}

Status PostgresControl::Stop(const std::string& data_dir, std::chrono::milliseconds timeout,
                             bool require_clean) {
  auto pid = RunningPid(data_dir);
  if (!pid) return OkStatus();
  auto pid_file = ReadPidFile(data_dir + "/postmaster.pid");
  kill(*pid, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int escalation = 0;
  while (ProcessAlive(*pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      if (escalation == 0) {
        kill(*pid, SIGQUIT);
      } else if (escalation == 1) {
        kill(*pid, SIGKILL);
      } else {
        return Internal("postgres (pid " + std::to_string(*pid) + ") on " + data_dir +
                        " does not stop");
      }
      ++escalation;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Its own socket directory (ServerSocketDir: named after the port) goes with it; temporary
  // servers get a new port each time. rmdir leaves a directory that still holds anything.
  if (pid_file && pid_file->port > 0 && !pid_file->socket_dir.empty() &&
      pid_file->socket_dir.substr(pid_file->socket_dir.rfind('/') + 1) ==
          std::to_string(pid_file->port)) {
    rmdir(pid_file->socket_dir.c_str());
  }
  // Children (backends) of a killed postmaster exit on their own once it is gone.
  if (require_clean && escalation > 0) {
    return Internal("postgres on " + data_dir + " did not shut down cleanly within " +
                    std::to_string(timeout.count() / 1000) + " s and was killed");
  }
  return OkStatus();
}

}  // namespace dblab
