#include "platform/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "platform/posix_process.h"

extern char** environ;

namespace dblab {

std::string DescribeCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    out += plain ? arg : "'" + arg + "'";
  }
  return out;
}

static std::string Tail(const std::string& text, size_t max_bytes) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
  if (trimmed.size() <= max_bytes) return trimmed;
  return "..." + trimmed.substr(trimmed.size() - max_bytes);
}

Result<RunResult> RunChecked(ProcessRunner& runner, const std::vector<std::string>& argv,
                             const RunOptions& options) {
  DBLAB_ASSIGN_OR_RETURN(RunResult result, runner.Run(argv, options));
  if (result.exit_code != 0) {
    std::string detail = Tail(result.err.empty() ? result.out : result.err, 1500);
    return Internal(argv.front() + " failed (exit " + std::to_string(result.exit_code) +
                    "): " + detail);
  }
  return result;
}

namespace {

// Everything the child needs, prepared before fork(): after fork() in a threaded process only
// async-signal-safe calls are allowed, so no allocation, no getpwnam, no PATH search there.
struct ExecPlan {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string working_dir;
};

Result<std::string> FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return NotFound("program " + name + " not found or not executable");
  }
  const char* path_env = getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return NotFound("program " + name + " not found in PATH; install it (see README)");
}

Result<ExecPlan> MakePlan(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env_overrides,
                          const std::string& user, const std::string& working_dir) {
  if (argv.empty()) return BadRequest("empty command");
  ExecPlan plan;
  DBLAB_ASSIGN_OR_RETURN(plan.path, FindExecutable(argv.front()));
  plan.args = argv;
  // Children never inherit secrets from the engine's environment (PGPASSWORD, the API token):
  // a clone's superuser could read its server's environment. Programs run as another user get
  // only a minimal environment; the engine's own helpers keep the rest. Explicit overrides win.
  static const std::set<std::string> kMinimal = {"PATH",     "LANG",        "LC_ALL",
                                                 "LC_CTYPE", "LC_MESSAGES", "TZ"};
  std::optional<OsUser> os_user;
  if (!user.empty()) {
    DBLAB_ASSIGN_OR_RETURN(OsUser found, LookupOsUser(user));
    os_user = found;
  }
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string kv = *entry;
    std::string key = kv.substr(0, kv.find('='));
    if (env_overrides.count(key) || key.rfind("PG", 0) == 0 || key.rfind("DBLAB_", 0) == 0) {
      continue;
    }
    if (os_user && !kMinimal.count(key)) continue;
    plan.env_strings.push_back(kv);
  }
  for (const auto& [key, value] : env_overrides) plan.env_strings.push_back(key + "=" + value);
  if (os_user) {
    plan.switch_user = true;
    plan.uid = os_user->uid;
    plan.gid = os_user->gid;
    plan.groups = os_user->groups;
    // A program run as another user must not write into root's HOME.
    if (!env_overrides.count("HOME")) plan.env_strings.push_back("HOME=" + os_user->home);
  }
  // A program run as another user may not be allowed into the engine's working directory.
  plan.working_dir = working_dir.empty() && !user.empty() ? "/" : working_dir;
  for (auto& arg : plan.args) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& kv : plan.env_strings) plan.envp.push_back(kv.data());
  plan.envp.push_back(nullptr);
  return plan;
}

// In the child, after fork: async-signal-safe calls only. Never returns.
[[noreturn]] void ExecChild(const ExecPlan& plan, int error_pipe) {
  // Only stdin/stdout/stderr (and the error pipe, close-on-exec) may reach the program: a
  // listening socket of the engine inherited by a clone's postgres would keep the API port busy
  // after the engine exits.
  if (error_pipe > 3) syscall(SYS_close_range, 3u, static_cast<unsigned>(error_pipe - 1), 0u);
  syscall(SYS_close_range, static_cast<unsigned>(error_pipe + 1), ~0u, 0u);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  signal(SIGPIPE, SIG_DFL);
  if (plan.switch_user) {
    if (setgroups(plan.groups.size(), plan.groups.data()) != 0 || setgid(plan.gid) != 0 ||
        setuid(plan.uid) != 0) {
      int err = errno;
      (void)!write(error_pipe, &err, sizeof err);
      _exit(127);
    }
  }
  if (!plan.working_dir.empty() && chdir(plan.working_dir.c_str()) != 0) {
    int err = errno;
    (void)!write(error_pipe, &err, sizeof err);
    _exit(127);
  }
  execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  int err = errno;
  (void)!write(error_pipe, &err, sizeof err);
  _exit(127);
}

// The daemon itself: stdin from /dev/null, stdout and stderr to the log, then exec.
[[noreturn]] void StartDaemon(const ExecPlan& plan, int log_fd, int error_pipe) {
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  ExecChild(plan, error_pipe);
}

// Writes a decimal number into `buffer` (async-signal-safe); returns its length.
size_t FormatNumber(long value, char* buffer) {
  char digits[24];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && count < sizeof digits);
  for (size_t i = 0; i < count; ++i) buffer[i] = digits[count - 1 - i];
  return count;
}

// This process's command line (its argv strings, [arg_start, arg_end) of /proc/self/stat),
// found once before the first sandboxed start so that a forked init can write its own name over
// it: `ps`, `pgrep dblab-engine` and /proc/<pid>/cmdline then do not show an init, which outlives
// the engine with its server, as the engine still running.
char* command_line = nullptr;
size_t command_line_size = 0;

void FindCommandLine() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::ifstream in("/proc/self/stat");
    std::string stat;
    std::getline(in, stat);
    size_t after_name = stat.rfind(')');
    if (after_name == std::string::npos) return;
    std::istringstream fields(stat.substr(after_name + 2));
    std::string field;
    unsigned long long start = 0, end = 0;
    // Fields from the 3rd on; arg_start and arg_end are the 48th and 49th.
    for (int number = 3; number <= 49 && fields >> field; ++number) {
      if (number == 48) start = std::strtoull(field.c_str(), nullptr, 10);
      if (number == 49) end = std::strtoull(field.c_str(), nullptr, 10);
    }
    if (start == 0 || end <= start) return;
    command_line = reinterpret_cast<char*>(start);
    command_line_size = static_cast<size_t>(end - start);
  });
}

// Replaces this (forked, not exec'd) process's command line with `name` (async-signal-safe).
void RenameCommandLine(const char* name) {
  if (command_line == nullptr) return;
  size_t length = strlen(name);
  memset(command_line, 0, command_line_size);
  memcpy(command_line, name, length < command_line_size ? length : command_line_size - 1);
}

// In the intermediate child (async-signal-safe calls only): joins the cgroups, enters new
// mount, pid and IPC namespaces, and forks their init (pid 1), which builds the sandbox's root
// and forks the daemon (pid 2). Returns the daemon's PID in the engine's pid namespace, or -1
// (the reason went to error_pipe).
pid_t StartSandboxed(const SandboxPlan& sandbox, const ExecPlan& plan, int log_fd, int error_pipe) {
  auto fail = [error_pipe](int err) {
    (void)!write(error_pipe, &err, sizeof err);
    return static_cast<pid_t>(-1);
  };
  char number[24];
  size_t length = FormatNumber(getpid(), number);
  for (const auto& procs : sandbox.cgroup_procs_files) {
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, number, length) != static_cast<ssize_t>(length)) {
      return fail(kSandboxErrorFlag | errno);
    }
    close(fd);
  }
  // The mount namespace is the init's alone (unshared there): its pivot_root moves the root of
  // every process in its namespace, and this one still has to read the host's /proc.
  if (unshare(CLONE_NEWPID | CLONE_NEWIPC) != 0) return fail(kSandboxErrorFlag | errno);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return fail(errno);
  pid_t init = fork();
  if (init < 0) return fail(errno);
  if (init == 0) {
    close(ready[0]);
    if (unshare(CLONE_NEWNS) != 0) {
      fail(kSandboxErrorFlag | errno);
      _exit(127);
    }
    if (int err = EnterSandboxRoot(sandbox)) {
      fail(kSandboxErrorFlag | err);
      _exit(127);
    }
    pid_t daemon = fork();
    if (daemon == 0) {
      // No setuid program may raise the daemon's privileges again.
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      StartDaemon(plan, log_fd, error_pipe);
    }
    (void)!write(ready[1], "x", 1);
    // The init keeps nothing of the engine's: no descriptors, no privileges.
    syscall(SYS_close_range, 0u, ~0u, 0u);
    // Named dblab-init, as comm and as its command line: `pkill dblab-engine` does not reach
    // it, and `ps` does not show it as the engine (it outlives the engine with its server).
    prctl(PR_SET_NAME, "dblab-init", 0, 0, 0);
    RenameCommandLine("dblab-init");
    if (plan.switch_user) {
      (void)!setgroups(0, nullptr);
      (void)!setgid(plan.gid);
      (void)!setuid(plan.uid);
    }
    if (daemon < 0) _exit(1);
    while (true) {
      int status = 0;
      pid_t done = waitpid(-1, &status, 0);
      if (done == daemon) _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      if (done < 0 && errno == ECHILD) _exit(0);
    }
  }
  close(ready[1]);
  char byte;
  ssize_t n;
  do {
    n = read(ready[0], &byte, 1);
  } while (n < 0 && errno == EINTR);
  close(ready[0]);
  if (n != 1) return -1;  // the init failed and said why
  // The init's only child is the daemon; the kernel names it in our pid namespace here.
  char path[64] = "/proc/";
  size_t at = 6;
  size_t init_length = FormatNumber(init, path + at);
  at += init_length;
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result): path is zero-filled: stays terminated
  memcpy(path + at, "/task/", 6);
  at += 6;
  memcpy(path + at, path + 6, init_length);
  at += init_length;
  memcpy(path + at, "/children", 10);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    kill(init, SIGKILL);  // its whole namespace goes with it: no server the engine cannot find
    return fail(errno);
  }
  char children[32] = {0};
  ssize_t got = read(fd, children, sizeof children - 1);
  close(fd);
  pid_t daemon = 0;
  for (ssize_t i = 0; i < got && children[i] >= '0' && children[i] <= '9'; ++i) {
    daemon = daemon * 10 + (children[i] - '0');
  }
  if (daemon <= 0) kill(init, SIGKILL);
  return daemon > 0 ? daemon : fail(ESRCH);
}

// Reads the errno a child wrote before failing to exec; 0 when exec succeeded (EOF).
int ReadExecError(int fd) {
  int err = 0;
  ssize_t n;
  do {
    n = read(fd, &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof err) ? err : 0;
}

}  // namespace

Result<OsUser> LookupOsUser(const std::string& name) {
  struct passwd pwd;
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &pwd, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return NotFound("OS user " + name + " does not exist; create it or set provision.osUser");
  }
  OsUser user{name, pwd.pw_uid, pwd.pw_gid, pwd.pw_dir ? pwd.pw_dir : "/", {}};
  int count = 64;
  user.groups.resize(count);
  if (getgrouplist(name.c_str(), pwd.pw_gid, user.groups.data(), &count) < 0) {
    user.groups.resize(count);
    getgrouplist(name.c_str(), pwd.pw_gid, user.groups.data(), &count);
  }
  user.groups.resize(count);
  return user;
}

Result<RunResult> PosixProcessRunner::Run(const std::vector<std::string>& argv,
                                          const RunOptions& options) {
  DBLAB_ASSIGN_OR_RETURN(ExecPlan plan,
                         MakePlan(argv, options.env, options.user, options.working_dir));
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Internal("pipe: " + std::string(strerror(errno)));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Internal("pipe: " + std::string(strerror(errno)));
  }
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Internal("pipe: " + std::string(strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]})
      close(fd);
    return Internal("fork: " + std::string(strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    ExecChild(plan, exec_pipe[1]);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  int exec_error = ReadExecError(exec_pipe[0]);
  close(exec_pipe[0]);

  RunResult result;
  std::string pending_line;
  auto deadline = options.timeout ? std::chrono::steady_clock::now() + *options.timeout
                                  : std::chrono::steady_clock::time_point::max();
  bool timed_out = false;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[65536];
  bool cancelled = false;
  while (open_fds > 0) {
    int wait_ms = options.cancel ? 200 : -1;
    if (options.cancel && options.cancel->load()) {
      cancelled = true;
      kill(-pid, SIGKILL);
      break;
    }
    if (options.timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        kill(-pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), options.cancel ? 200 : 1000));
    }
    int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    for (auto& entry : fds) {
      if (entry.fd < 0 || !(entry.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(entry.fd, buffer, sizeof buffer);
      if (n > 0) {
        std::string chunk(buffer, static_cast<size_t>(n));
        if (entry.fd == err_pipe[0]) {
          result.err += chunk;
          if (options.on_stderr_line) {
            pending_line += chunk;
            size_t newline;
            while ((newline = pending_line.find('\n')) != std::string::npos) {
              options.on_stderr_line(pending_line.substr(0, newline));
              pending_line.erase(0, newline + 1);
            }
          }
        } else {
          result.out += chunk;
        }
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(entry.fd);
        entry.fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& entry : fds)
    if (entry.fd >= 0) close(entry.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_error != 0) {
    return Internal("cannot run " + argv.front() + ": " + strerror(exec_error));
  }
  if (cancelled) return Unavailable(argv.front() + " was stopped: the engine is shutting down");
  if (timed_out) {
    return Internal(DescribeCommand(argv) + " timed out after " +
                    std::to_string(options.timeout->count()) + " ms");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<pid_t> PosixProcessRunner::SpawnDetached(const std::vector<std::string>& argv,
                                                const SpawnOptions& options) {
  DBLAB_ASSIGN_OR_RETURN(ExecPlan plan,
                         MakePlan(argv, options.env, options.user, options.working_dir));
  int log_fd = open(options.log_file.empty() ? "/dev/null" : options.log_file.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return Internal("cannot open log file " + options.log_file + ": " + strerror(errno));
  }
  if (plan.switch_user && !options.log_file.empty() && fchown(log_fd, plan.uid, plan.gid) != 0) {
    close(log_fd);
    return Internal("cannot chown log file " + options.log_file + ": " + strerror(errno));
  }
  int pid_pipe[2], exec_pipe[2];
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) {
    close(log_fd);
    return Internal("pipe: " + std::string(strerror(errno)));
  }
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    for (int fd : {log_fd, pid_pipe[0], pid_pipe[1]}) close(fd);
    return Internal("pipe: " + std::string(strerror(errno)));
  }
  std::optional<SandboxPlan> sandbox;
  if (options.sandbox) {
    FindCommandLine();
    auto made = MakeSandboxPlan(*options.sandbox);
    if (!made.ok()) {
      for (int fd : {log_fd, pid_pipe[0], pid_pipe[1], exec_pipe[0], exec_pipe[1]}) close(fd);
      return made.error();
    }
    sandbox = std::move(*made);
  }
  pid_t middle = fork();
  if (middle < 0) {
    for (int fd : {log_fd, pid_pipe[0], pid_pipe[1], exec_pipe[0], exec_pipe[1]}) close(fd);
    return Internal("fork: " + std::string(strerror(errno)));
  }
  if (middle == 0) {
    // Intermediate child: new session, fork the daemon, report its pid, exit so that init
    // adopts the daemon and it survives the engine.
    setsid();
    pid_t daemon = sandbox ? StartSandboxed(*sandbox, plan, log_fd, exec_pipe[1]) : fork();
    if (daemon == 0) {
      StartDaemon(plan, log_fd, exec_pipe[1]);
    }
    (void)!write(pid_pipe[1], &daemon, sizeof daemon);
    _exit(daemon > 0 ? 0 : 1);
  }
  close(log_fd);
  close(pid_pipe[1]);
  close(exec_pipe[1]);
  pid_t daemon = -1;
  ssize_t n;
  do {
    n = read(pid_pipe[0], &daemon, sizeof daemon);
  } while (n < 0 && errno == EINTR);
  close(pid_pipe[0]);
  int status = 0;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  int exec_error = ReadExecError(exec_pipe[0]);
  close(exec_pipe[0]);
  if (exec_error & kSandboxErrorFlag) {
    int step = ((exec_error & ~kSandboxErrorFlag) >> 16) - 1;
    return Internal("cannot start " + argv.front() + " in its sandbox (" +
                    DescribeSandboxStep(*sandbox, step) + "): " + strerror(exec_error & 0xffff));
  }
  if (exec_error != 0) return Internal("cannot run " + argv.front() + ": " + strerror(exec_error));
  if (n != sizeof daemon || daemon <= 0) return Internal("cannot fork " + argv.front());
  return daemon;
}

bool ProcessAlive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  auto close_paren = content.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= content.size() ||
         content[close_paren + 2] != 'Z';
}

}  // namespace dblab
