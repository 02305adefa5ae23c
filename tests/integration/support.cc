#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <linux/loop.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "platform/posix_process.h"
#include "postgres/server.h"

namespace dblab::testing {

namespace fs = std::filesystem;

std::string EngineBinary() { return DBLAB_ENGINE_BINARY; }
std::string CliBinary() { return DBLAB_CLI_BINARY; }
std::string SourceDir() { return DBLAB_SOURCE_DIR; }

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return "/tmp";
  }
  chmod(buffer.data(), 0755);
  return buffer.data();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool PortListening(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

namespace {

int RunQuietCommand(PosixProcessRunner& runner, const std::vector<std::string>& argv) {
  auto result = runner.Run(argv, {.timeout = std::chrono::minutes(2)});
  return result.ok() ? result->exit_code : -1;
}

// Starts zfs-fuse for the whole suite when no ZFS answers yet; stops only what it started.
// True when a live (not zombie) process has this command name.
bool AnyProcessNamed(const std::string& name) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    std::getline(comm, command);
    if (command == name && ProcessAlive(static_cast<pid_t>(std::stol(pid)))) return true;
  }
  return false;
}

class ZfsDaemon {
 public:
  static ZfsDaemon& Get() {
    static ZfsDaemon daemon;
    return daemon;
  }

  // Empty when ZFS is usable, else why not.
  std::string EnsureRunning() {
    if (checked_) return unusable_;
    checked_ = true;
    if (::geteuid() != 0) return unusable_ = "ZFS pool tests need root";
    auto listed = runner_.Run({"zpool", "list", "-H"}, {.timeout = std::chrono::seconds(30)});
    if (!listed.ok())
      return unusable_ = "no zpool command (install zfs-fuse): " + listed.error().message;
    if (listed->exit_code == 0) return unusable_ = "";
    pidfile_ = "/run/dblab-test-zfs-fuse.pid";
    // A daemon an earlier test process stopped may still be shutting down: let it finish.
    for (int i = 0; i < 600 && AnyProcessNamed("zfs-fuse"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::unlink(pidfile_.c_str());
    auto started =
        runner_.Run({"zfs-fuse", "--pidfile", pidfile_}, {.timeout = std::chrono::seconds(30)});
    if (!started.ok() || started->exit_code != 0) {
      return unusable_ = "ZFS does not answer (" + listed->err + ") and zfs-fuse cannot start";
    }
    for (int i = 0; i < 100; ++i) {
      if (RunQuietCommand(runner_, {"zpool", "list", "-H"}) == 0) {
        std::ifstream pidfile(pidfile_);
        pidfile >> pid_;
        std::printf("[ ZFS      ] started zfs-fuse, pid %d\n", static_cast<int>(pid_));
        return unusable_ = "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return unusable_ = "zfs-fuse started but zpool does not answer";
  }

  ~ZfsDaemon() { Stop(); }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 600 && ProcessAlive(pid_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::unlink(pidfile_.c_str());
    pid_ = -1;
  }

 private:
  PosixProcessRunner runner_;
  bool checked_ = false;
  std::string unusable_;
  std::string pidfile_;
  pid_t pid_ = -1;
};

class ZfsEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { ZfsDaemon::Get().Stop(); }
};
[[maybe_unused]] auto* const kZfsEnvironment =
    ::testing::AddGlobalTestEnvironment(new ZfsEnvironment);

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  return out.good();
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

std::string EnsureZfsRunning() { return ZfsDaemon::Get().EnsureRunning(); }

std::string UniqueZpoolName() {
  std::random_device random;
  std::ostringstream name;
  name << "dblab_e2e_" << std::hex << random();
  return name.str();
}

// `path` is `root` or below it. Seen from inside a chroot (a test root made with debootstrap),
// the kernel names a sandboxed server's directory and a loop device's file from the machine's
// root ("/srv/root/tmp/dblab-x/..."), so the unique temp root may also appear after a prefix.
namespace {
bool IsBelow(const std::string& path, const std::string& root) {
  size_t at = path.find(root);  // root starts with '/': a match starts at a component
  if (at == std::string::npos) return false;
  size_t end = at + root.size();
  return end == path.size() || path[end] == '/' || path.compare(end, 10, " (deleted)") == 0;
}
}  // namespace

std::vector<pid_t> ProcessesBelow(const std::string& root) {
  std::vector<pid_t> pids;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_error;
    std::string cwd = fs::read_symlink(entry.path() / "cwd", link_error).string();
    if (!link_error && IsBelow(cwd, root)) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

std::vector<std::string> MountsBelow(const std::string& root) {
  std::vector<std::string> mounts;
  std::istringstream lines(ReadFile("/proc/self/mounts"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string device, target;
    fields >> device >> target;
    if (target == root || StartsWith(target, root + "/")) mounts.push_back(target);
  }
  std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) { return a > b; });
  return mounts;
}

std::vector<std::string> LoopDevicesBelow(const std::string& root) {
  std::vector<std::string> devices;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/sys/block", error)) {
    std::string name = entry.path().filename().string();
    if (!StartsWith(name, "loop")) continue;
    std::string backing = ReadFile(entry.path().string() + "/loop/backing_file");
    if (IsBelow(backing, root)) devices.push_back("/dev/" + name);
  }
  return devices;
}

void StopProcessesBelow(const std::string& root) {
  for (int round = 0; round < 3; ++round) {
    auto pids = ProcessesBelow(root);
    if (pids.empty()) break;
    for (pid_t pid : pids) kill(pid, round == 0 ? SIGQUIT : SIGKILL);
    for (int i = 0; i < 200 && !ProcessesBelow(root).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void UnmountAndDetachBelow(const std::string& root) {
  for (const auto& mount : MountsBelow(root)) {
    if (umount2(mount.c_str(), 0) != 0) umount2(mount.c_str(), MNT_DETACH);
  }
  for (int i = 0; i < 300 && !LoopDevicesBelow(root).empty(); ++i) {
    if (i >= 100) {  // auto-clear did not happen: detach our own devices by hand
      for (const auto& device : LoopDevicesBelow(root)) {
        int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
          ::ioctl(fd, LOOP_CLR_FD, 0);
          ::close(fd);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void CleanupTree(const std::string& root) {
  if (root.size() < 6 || root.rfind("/tmp/", 0) != 0) return;  // never outside /tmp
  StopProcessesBelow(root);
  UnmountAndDetachBelow(root);
  // Snapshots of the copy and reflink backends are immutable (chattr +i), even for root.
  RunCommand({"chattr", "-R", "-f", "-i", root});
  std::error_code error;
  fs::remove_all(root, error);
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env) {
  PosixProcessRunner runner;
  RunOptions options;
  options.env = env;
  options.timeout = std::chrono::minutes(5);
  auto result = runner.Run(argv, options);
  if (!result.ok()) return {-1, "", result.error().message};
  return {result->exit_code, result->out, result->err};
}

SourceDatabase StartSourceDatabase(const std::string& dir, int users, int pgbench_scale) {
  SourceDatabase source;
  source.dir = dir;
  PosixProcessRunner runner;
  PostgresControl postgres(runner);
  auto user = LookupOsUser("postgres");
  EXPECT_TRUE(user.ok());
  std::string data = dir + "/data";
  fs::create_directories(data);
  fs::create_directories(dir + "/run");
  EXPECT_EQ(chown(data.c_str(), user->uid, user->gid), 0);
  EXPECT_EQ(chown((dir + "/run").c_str(), user->uid, user->gid), 0);
  chmod(data.c_str(), 0700);
  auto initdb = RunChecked(runner,
                           {"/usr/lib/postgresql/15/bin/initdb", "-D", data, "-U", "postgres",
                            "--auth=trust", "--no-sync", "--locale=C.UTF-8"},
                           {.user = "postgres"});
  EXPECT_TRUE(initdb.ok()) << initdb.error().message;
  {
    std::ofstream hba(dir + "/hba.conf");
    hba << "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        << "host replication all 127.0.0.1/32 scram-sha-256\n";  // physical retrieval
  }
  chmod((dir + "/hba.conf").c_str(), 0644);
  source.port = FreePort();
  ServerSpec spec{.bin_dir = "/usr/lib/postgresql/15/bin",
                  .data_dir = data,
                  .port = source.port,
                  .listen_addresses = "127.0.0.1",
                  .socket_dir = dir + "/run",
                  .hba_file = dir + "/hba.conf",
                  .settings = {{"fsync", "off"}},
                  .log_file = dir + "/postgres.log"};
  auto started = postgres.Start(spec);
  EXPECT_TRUE(started.ok()) << started.error().message;
  auto admin = PgConnection::Connect(BuildConninfo({{"host", dir + "/run"},
                                                    {"port", std::to_string(source.port)},
                                                    {"user", "postgres"},
                                                    {"dbname", "postgres"}}));
  EXPECT_TRUE(admin.ok());
  EXPECT_TRUE(admin->Exec("ALTER ROLE postgres PASSWORD '" + source.password + "'").ok());
  EXPECT_TRUE(admin->Exec("CREATE DATABASE " + source.dbname).ok());
  auto app = PgConnection::Connect(BuildConninfo({{"host", dir + "/run"},
                                                  {"port", std::to_string(source.port)},
                                                  {"user", "postgres"},
                                                  {"dbname", source.dbname}}));
  EXPECT_TRUE(app.ok());
  auto created = app->Exec(
      "CREATE TABLE users (id bigint PRIMARY KEY, full_name text, email text, phone text);"
      "INSERT INTO users SELECT i, 'Person ' || i, 'person' || i || '@mail.example', "
      "'+1-555-' || i FROM generate_series(1, " +
      std::to_string(users) + ") i;");
  EXPECT_TRUE(created.ok()) << created.error().message;
  if (pgbench_scale > 0) {
    auto pgbench = RunCommand({"/usr/lib/postgresql/15/bin/pgbench", "-i", "-q", "-s",
                               std::to_string(pgbench_scale), "-h", dir + "/run", "-p",
                               std::to_string(source.port), "-U", "postgres", source.dbname});
    EXPECT_EQ(pgbench.exit_code, 0) << pgbench.err;
  }
  return source;
}

EngineProcess::~EngineProcess() { Terminate(); }

bool EngineProcess::Start(const std::string& config_file, int api_port, const std::string& log_path,
                          const std::vector<std::string>& extra_args,
                          const std::map<std::string, std::string>& env) {
  log_path_ = log_path;
  std::vector<std::string> argv = {EngineBinary(), "--config", config_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    if (PortListening(api_port)) return true;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void EngineProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void EngineProcess::Terminate() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 600; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
}

std::string EngineProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Result<PgConnection> ConnectClone(int port, const std::string& user, const std::string& password,
                                  const std::string& dbname) {
  return PgConnection::Connect(BuildConninfo({{"host", "127.0.0.1"},
                                              {"port", std::to_string(port)},
                                              {"user", user},
                                              {"password", password},
                                              {"dbname", dbname},
                                              {"connect_timeout", "5"}}));
}

std::string QueryValue(PgConnection& connection, const std::string& sql) {
  auto rows = connection.Query(sql);
  EXPECT_TRUE(rows.ok()) << sql << ": " << (rows.ok() ? "" : rows.error().message);
  if (!rows.ok() || rows->empty() || rows->front().empty()) return "";
  return rows->front().front();
}

}  // namespace dblab::testing
