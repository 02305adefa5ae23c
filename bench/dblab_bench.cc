// dblab-bench: how long a developer waits for a clone, and what the alternatives cost.
//
// For each pgbench scale it builds a source PostgreSQL 15 with generated data, starts
// dblab-engine on a DLE-style server.yml that points at it (btrfs loop pool, its own port range),
// and measures, as wall time on std::chrono::steady_clock:
//   - clone create / reset (after writes) / destroy through the REST API (libcurl), each up to the
//     first successful query as the clone's user (libpq, TCP + SCRAM) or until the port is free
//     and the subvolume is gone;
//   - 20 creates at once, then 50 clones alive: private memory per idle clone (smaps_rollup),
//     disk per fresh clone (btrfs exclusive bytes and df), GET /status latency meanwhile;
//   - the floor: a bare postgres start on a cleanly stopped copy of the source data directory,
//     alternating with the clone runs so that both see the same machine load;
//   - the alternatives on the same data in the same run: CREATE DATABASE ... TEMPLATE (WAL_LOG,
//     FILE_COPY), cp -a of the data directory + start, pg_dump -Fd -jN + pg_restore -jN.
// It prints a table, writes <out>/<date>-scale<N>.json per scale plus <date>-summary.json, and
// plots <out>/clone-time.png with gnuplot. Everything it starts lives under --work-dir and is
// stopped, unmounted and removed at the end, on failure and on SIGINT/SIGTERM.
#include <curl/curl.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Small utilities

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void SleepMs(double ms) { std::this_thread::sleep_for(std::chrono::microseconds(long(ms * 1000))); }

std::atomic<bool> g_stopping{false};

struct Stopped : std::runtime_error {
  Stopped() : std::runtime_error("stopped by a signal") {}
};

void CheckStop() {
  if (g_stopping) throw Stopped();
}

void Log(const std::string& message) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::cerr << "[" << stamp << "] " << message << std::endl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string Tail(const std::string& text, size_t bytes = 2000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

std::string Trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

std::string RandomToken(size_t length) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device device;
  std::mt19937_64 random(device());
  std::string out;
  for (size_t i = 0; i < length; ++i) out += kChars[random() % (sizeof kChars - 1)];
  return out;
}

std::string Fixed(double value, int digits = 0) {
  if (std::isnan(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string Mib(double bytes) { return Fixed(bytes / 1048576.0, bytes < 10 * 1048576.0 ? 1 : 0); }

// ---------------------------------------------------------------------------------------------
// Statistics: median (mean of the middle two for even n), p95/p99 by nearest rank.

struct Stats {
  std::vector<double> samples;
  double Median() const {
    if (samples.empty()) return NAN;
    auto v = samples;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double Percentile(double p) const {
    if (samples.empty()) return NAN;
    auto v = samples;
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(v.size())));
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
  }
  double Min() const {
    return samples.empty() ? NAN : *std::min_element(samples.begin(), samples.end());
  }
  double Max() const {
    return samples.empty() ? NAN : *std::max_element(samples.begin(), samples.end());
  }
  double Mean() const {
    if (samples.empty()) return NAN;
    double sum = 0;
    for (double s : samples) sum += s;
    return sum / double(samples.size());
  }
  Json ToJson(int digits = 1, bool with_samples = true) const {
    auto round = [digits](double v) -> Json {
      if (std::isnan(v)) return nullptr;
      double scale = std::pow(10.0, digits);
      return std::round(v * scale) / scale;
    };
    Json j{{"n", samples.size()},          {"p50", round(Median())}, {"p95", round(Percentile(95))},
           {"p99", round(Percentile(99))}, {"min", round(Min())},    {"max", round(Max())},
           {"mean", round(Mean())}};
    if (with_samples) {
      Json list = Json::array();
      for (double s : samples) list.push_back(round(s));
      j["samples"] = list;
    }
    return j;
  }
};

// ---------------------------------------------------------------------------------------------
// Processes: fork/exec with argv vectors (no shell), optionally as another OS user, in a new
// session (a Ctrl-C in the terminal reaches only us; we stop what we started).

struct SpawnOptions {
  std::string user;      // empty = stay root
  std::string cwd;       // working directory (always under the work dir)
  std::string out_file;  // stdout+stderr; empty = /dev/null
};

pid_t Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  CheckStop();
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/root";
  if (!options.user.empty()) {
    passwd* pw = getpwnam(options.user.c_str());
    if (!pw) throw std::runtime_error("no OS user " + options.user);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    home = pw->pw_dir;
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (entry.rfind("HOME=", 0) == 0 || entry.rfind("PG", 0) == 0) continue;
    env_strings.push_back(entry);
  }
  env_strings.push_back("HOME=" + home);
  std::vector<char*> args, env;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env_strings) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  int out = open(options.out_file.empty() ? "/dev/null" : options.out_file.c_str(),
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) throw std::runtime_error("cannot open " + options.out_file);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP}) sigaction(sig, &dfl, nullptr);
    setsid();
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    if (!options.user.empty()) {
      if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    execvpe(args[0], args.data(), env.data());
    _exit(127);
  }
  close(out);
  close(in);
  return pid;
}

// Waits for a child; returns its exit code (128+signal when killed), or nullopt on timeout.
std::optional<int> WaitChild(pid_t pid, double timeout_ms) {
  auto start = Clock::now();
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (timeout_ms >= 0 && MsSince(start) > timeout_ms) return std::nullopt;
    SleepMs(1);
  }
}

bool ChildRunning(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// Runs to completion; throws with the output's tail unless it exits 0. Returns the output.
std::string RunCommand(const std::vector<std::string>& argv, SpawnOptions options) {
  bool own_file = options.out_file.empty();
  if (own_file) options.out_file = options.cwd + "/.run-" + RandomToken(8) + ".out";
  pid_t pid = Spawn(argv, options);
  int code = *WaitChild(pid, -1);
  std::string output = ReadFile(options.out_file);
  if (own_file) unlink(options.out_file.c_str());
  if (code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (exit " + std::to_string(code) + "): " + cmd + "\n" +
                             Tail(output));
  }
  return output;
}

// ---------------------------------------------------------------------------------------------
// Cleanup of everything under the work dir: engine, postgres servers (the engine detaches clone
// servers, so they are found by their working directory), mounts, loop devices, files.

std::mutex g_cleanup_mutex;
std::atomic<pid_t> g_engine_pid{0};
std::string g_work_dir;

std::vector<pid_t> ProcessesUnder(const std::string& root) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(name);
    if (pid == getpid()) continue;
    char buffer[4096];
    ssize_t n = readlink(("/proc/" + name + "/cwd").c_str(), buffer, sizeof buffer - 1);
    if (n <= 0) continue;
    std::string cwd(buffer, size_t(n));
    if (cwd == root || cwd.rfind(root + "/", 0) == 0) pids.push_back(pid);
  }
  return pids;
}

std::vector<std::string> MountsUnder(const std::string& root) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/mounts");
  std::string device, point, rest;
  while (in >> device >> point && std::getline(in, rest)) {
    if (point.rfind(root + "/", 0) == 0) mounts.push_back(point);
  }
  std::sort(mounts.rbegin(), mounts.rend());  // deepest first
  return mounts;
}

void StopEngine(double timeout_ms) {
  pid_t pid = g_engine_pid.exchange(0);
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  if (!WaitChild(pid, timeout_ms)) {
    kill(pid, SIGKILL);
    WaitChild(pid, 5000);
  }
}

void KillProcessesUnder(const std::string& root) {
  for (int round = 0; round < 3; ++round) {
    auto pids = ProcessesUnder(root);
    if (pids.empty()) break;
    for (pid_t pid : pids) kill(pid, round == 0 ? SIGQUIT : SIGKILL);
    for (int i = 0; i < 500 && !ProcessesUnder(root).empty(); ++i) {
      int status;
      while (waitpid(-1, &status, WNOHANG) > 0) {
      }
      SleepMs(10);
    }
  }
  int status;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

void UnmountUnder(const std::string& root) {
  for (const auto& mount : MountsUnder(root)) {
    if (umount2(mount.c_str(), 0) != 0) umount2(mount.c_str(), MNT_DETACH);
  }
  // Loop devices are set up with autoclear by the engine; detach any left behind anyway.
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/sys/block", error)) {
    std::string backing = Trim(ReadFile(entry.path().string() + "/loop/backing_file"));
    if (!backing.empty() && backing.rfind(root + "/", 0) == 0) {
      std::string device = "/dev/" + entry.path().filename().string();
      pid_t pid = Spawn({"losetup", "-d", device}, {.cwd = "/"});
      WaitChild(pid, 10000);
    }
  }
}

void CleanupAll() {
  std::lock_guard lock(g_cleanup_mutex);
  if (g_work_dir.empty()) return;
  StopEngine(15000);
  KillProcessesUnder(g_work_dir);
  UnmountUnder(g_work_dir);
  if (g_work_dir.rfind("/tmp/", 0) == 0 && MountsUnder(g_work_dir).empty()) {
    std::error_code error;
    fs::remove_all(g_work_dir, error);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP (libcurl; one handle per thread, keep-alive)

class Api {
 public:
  struct Response {
    long code = 0;
    std::string body;
    double ms = 0;
    Json JsonBody() const { return Json::parse(body, nullptr, false); }
  };

  Api(std::string base, std::string token) : base_(std::move(base)), token_(std::move(token)) {
    handle_ = curl_easy_init();
    headers_ = curl_slist_append(nullptr, ("Verification-Token: " + token_).c_str());
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  }
  ~Api() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(handle_);
  }
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  Response Call(const std::string& method, const std::string& path, const std::string& body = "") {
    Response response;
    curl_easy_reset(handle_);
    curl_easy_setopt(handle_, CURLOPT_URL, (base_ + path).c_str());
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Api::Write);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &response.body);
    if (method == "POST") {
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, long(body.size()));
    } else if (method != "GET") {
      curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    auto start = Clock::now();
    CURLcode rc = curl_easy_perform(handle_);
    response.ms = MsSince(start);
    if (rc != CURLE_OK) {
      response.code = 0;
      response.body = curl_easy_strerror(rc);
      return response;
    }
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.code);
    return response;
  }

 private:
  static size_t Write(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  std::string base_, token_;
  CURL* handle_ = nullptr;
  curl_slist* headers_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// PostgreSQL (libpq)

std::string Conninfo(const std::string& host, int port, const std::string& user,
                     const std::string& password, const std::string& db) {
  std::string info = "host=" + host + " port=" + std::to_string(port) + " user=" + user +
                     " dbname=" + db + " connect_timeout=10 sslmode=disable gssencmode=disable";
  if (!password.empty()) info += " password=" + password;
  return info;
}

class Pg {
 public:
  explicit Pg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {}
  ~Pg() { PQfinish(conn_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return Trim(PQerrorMessage(conn_)); }
  // First column of the first row (or "" for commands); throws on failure.
  std::string Exec(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    auto status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string message = Trim(PQresultErrorMessage(result));
      PQclear(result);
      throw std::runtime_error("SQL failed: " + sql.substr(0, 120) + ": " + message);
    }
    std::string value;
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
    PQclear(result);
    return value;
  }

 private:
  PGconn* conn_;
};

// What a developer runs first: a query that reads the data.
const char* kFirstQuery = "SELECT bid FROM pgbench_branches LIMIT 1";

bool TryFirstQuery(const std::string& conninfo, std::string* error) {
  Pg pg(conninfo);
  if (!pg.ok()) {
    *error = pg.error();
    return false;
  }
  try {
    pg.Exec(kFirstQuery);
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

void WaitFirstQuery(const std::string& conninfo, double timeout_ms, double interval_ms = 1) {
  auto start = Clock::now();
  std::string error;
  while (!TryFirstQuery(conninfo, &error)) {
    CheckStop();
    if (MsSince(start) > timeout_ms) throw std::runtime_error("no successful query: " + error);
    SleepMs(interval_ms);
  }
}

// postmaster.pid line 8 says "ready" once the server accepts connections (PG >= 10); the engine
// uses the same signal, so the floor is measured the same way.
bool PostmasterReady(const std::string& data_dir, pid_t pid) {
  std::ifstream in(data_dir + "/postmaster.pid");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  return lines.size() >= 8 && std::atoi(lines[0].c_str()) == pid && Trim(lines[7]) == "ready";
}

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return free;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A block of `count` consecutive free ports in 20000-29999.
int FreePortRange(int count) {
  std::random_device device;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = 20000 + int(device() % (10000 - unsigned(count) - 1));
    bool all = true;
    for (int p = base; p < base + count && all; ++p) all = PortFree(p);
    if (all) return base;
  }
  throw std::runtime_error("no free port range of " + std::to_string(count));
}

// ---------------------------------------------------------------------------------------------
// /proc readings

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string stat = ReadFile("/proc/" + name + "/stat");
    size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

// The sandbox's init (pid 1 of the server's namespace) when the server has one: its memory is
// part of what a clone costs.
pid_t SandboxInitOf(pid_t postmaster) {
  std::string stat = ReadFile("/proc/" + std::to_string(postmaster) + "/stat");
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  std::string comm = ReadFile("/proc/" + std::to_string(ppid) + "/comm");
  return comm.rfind("dblab-init", 0) == 0 ? ppid : 0;
}

// kB of Private_* and Pss summed over a postmaster and its children.
std::pair<double, double> PrivateAndPssKb(pid_t postmaster) {
  std::vector<pid_t> pids = ChildrenOf(postmaster);
  pids.push_back(postmaster);
  if (pid_t init = SandboxInitOf(postmaster)) pids.push_back(init);
  double private_kb = 0, pss_kb = 0;
  for (pid_t pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string key;
    double value;
    std::string unit;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      if (!(fields >> key >> value)) continue;
      if (key.rfind("Private_", 0) == 0) private_kb += value;
      if (key == "Pss:") pss_kb += value;
    }
  }
  return {private_kb, pss_kb};
}

// The postmaster serving data_dir, as this process numbers it. postmaster.pid holds the PID in
// the server's own pid namespace (2 inside dblab's sandbox), so the process is found by its
// working directory and its innermost namespace PID.
pid_t PostmasterPid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  pid_t in_file = 0;
  in >> in_file;
  struct stat dir {};
  if (in_file <= 0 || stat(data_dir.c_str(), &dir) != 0) return 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    struct stat cwd {};
    if (stat(("/proc/" + name + "/cwd").c_str(), &cwd) != 0 || cwd.st_dev != dir.st_dev ||
        cwd.st_ino != dir.st_ino) {
      continue;
    }
    std::istringstream status(ReadFile("/proc/" + name + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("NSpid:", 0) != 0) continue;
      if (std::stoi(line.substr(line.find_last_of(" \t") + 1)) == in_file) return std::stoi(name);
    }
  }
  return 0;
}

double UsedBytes(const std::string& path) {
  struct statvfs s {};
  if (statvfs(path.c_str(), &s) != 0) return NAN;
  return double(s.f_blocks - s.f_bfree) * double(s.f_frsize);
}

double AvailableBytes(const std::string& path) {
  struct statvfs s {};
  if (statvfs(path.c_str(), &s) != 0) return NAN;
  return double(s.f_bavail) * double(s.f_frsize);
}

Json MachineInfo(const std::string& note) {
  std::string cpu;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = Trim(line.substr(line.find(':') + 1));
      break;
    }
  }
  double mem_kb = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    if (key == "MemTotal:") {
      meminfo >> mem_kb;
      break;
    }
  }
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return Json{{"cpu", cpu},
              {"cores", std::thread::hardware_concurrency()},
              {"memory_gb", std::round(mem_kb / 1048576.0 * 10) / 10},
              {"kernel", u.release},
              {"hostname", host},
              {"note", note}};
}

std::string LoadAverage() {
  std::istringstream in(ReadFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---------------------------------------------------------------------------------------------
// The benchmark

struct Options {
  std::vector<int> scales{10, 100};
  bool large = false;
  int large_scale = 600;
  int runs = 10;
  int alt_runs = 10;
  int at_once = 20;
  int alive = 50;
  int status_samples = 1000;
  int warm_pool = 0;  // provision.warmPool: 0 measures the cold path
  bool quick = false;
  std::string engine;
  std::string work_dir;
  std::string out_dir;
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  std::string os_user = "postgres";
  std::string note;
  int jobs = int(std::max(1u, std::thread::hardware_concurrency()));
  // --write: write speed in a clone against the same PostgreSQL on the host's filesystem.
  bool write = false;
  int write_seconds = 20;
  std::vector<std::string> backends{"btrfs"};
  std::string clone_wal_dir;  // provision.cloneWalDir; "" = the engine's default
  // --masking: a logical retrieval without and with masking rules (pgbench data + users).
  bool masking = false;
  int users = 1000000;
};

const char* kClonePassword = "bench-Clone-pw-42";
const char* kCloneUser = "dev";
const char* kDb = "bench";

class ScaleBench {
 public:
  ScaleBench(const Options& options, int scale) : o_(options), scale_(scale) {
    dir_ = o_.work_dir + "/s" + std::to_string(scale);
    src_ = dir_ + "/src";
    result_["scale"] = scale;
  }

  // Write speed: pgbench and a full-table UPDATE + CHECKPOINT in a clone (on `backend`) and on
  // the same PostgreSQL with the same settings on a copy of the data on the host's filesystem,
  // alternating in one run so that both see the same machine.
  Json RunWrite(const std::string& backend) {
    backend_ = backend;
    result_["backend"] = backend;
    result_["load_average_start"] = LoadAverage();
    PrepareDirs();
    CreateSource();
    StartEngine();
    StopPostgres(src_pid_);  // the source's work is done; it only takes CPU from here on
    src_pid_ = 0;
    WriteRuns();
    StopEngineAndPool();
    result_["load_average_end"] = LoadAverage();
    KillProcessesUnder(dir_);
    std::error_code error;
    fs::remove_all(dir_, error);
    return result_;
  }

  Json Run() {
    result_["load_average_start"] = LoadAverage();
    PrepareDirs();
    CreateSource();
    StartEngine();
    Json dblab;
    CloneRuns(dblab);
    result_["dblab"] = dblab;
    result_["concurrency"] = Concurrency();
    StopEngineAndPool();
    // The engine's log goes next to the results: it says where each clone's time went.
    std::error_code copy_error;
    fs::copy_file(dir_ + "/engine.log",
                  o_.out_dir + "/engine-scale" + std::to_string(scale_) + ".log",
                  fs::copy_options::overwrite_existing, copy_error);
    result_["alternatives"] = Json::object();
    Alternatives();
    result_["load_average_end"] = LoadAverage();
    Summarize();
    // Free the disk before the next scale.
    KillProcessesUnder(dir_);
    std::error_code error;
    fs::remove_all(dir_, error);
    return result_;
  }

  // --masking: the same logical retrieval twice on one source (pgbench data plus a `users` table
  // with personal data), first without masking, then with DLE-style masking rules and the
  // residue gate; each up to the first snapshot, each checked from a clone of its snapshot.
  Json RunMasking() {
    result_["load_average_start"] = LoadAverage();
    PrepareDirs();
    CreateMaskingSource();
    Json runs = Json::object();
    for (bool masked : {false, true}) {
      std::string name = masked ? "masked" : "unmasked";
      Json run;
      run["load_average_start"] = LoadAverage();
      fs::create_directories(dir_ + "/pool");
      std::string log = dir_ + "/engine-" + name + ".log";
      run["retrieval_s"] = std::round(StartMaskingEngine(masked, log) / 100) / 10;
      run["snapshot"] = snapshot_id_;
      run["clone_check"] = CheckMaskingClone(masked);
      StopEngineAndPool();
      run["steps_s"] = MaskingSteps(ReadFile(log));
      run["load_average_end"] = LoadAverage();
      std::error_code copy_error;
      fs::copy_file(
          log, o_.out_dir + "/engine-masking-scale" + std::to_string(scale_) + "-" + name + ".log",
          fs::copy_options::overwrite_existing, copy_error);
      Step(name + " retrieval: " + Fixed(run["retrieval_s"].get<double>(), 1) +
           " s to the snapshot");
      runs[name] = run;
    }
    result_["runs"] = runs;
    result_["load_average_end"] = LoadAverage();
    SummarizeMasking();
    KillProcessesUnder(dir_);
    std::error_code error;
    fs::remove_all(dir_, error);
    return result_;
  }

 private:
  void Step(const std::string& message) { Log("scale " + std::to_string(scale_) + ": " + message); }

  SpawnOptions AsPostgres(const std::string& out = "") const {
    return {.user = o_.os_user, .cwd = dir_ + "/alt", .out_file = out};
  }
  // A program of --pg-bin; the server packages of other majors (/usr/lib/dblab/pg/<major>)
  // carry no client tools, so pgbench comes from Debian's 15 and pg_dump, pg_restore and psql
  // from the newest client build (they must be at least the server's major).
  std::string Bin(const std::string& name) const {
    std::string own = o_.pg_bin + "/" + name;
    if (access(own.c_str(), X_OK) == 0) return own;
    for (const char* dir : {"/usr/lib/dblab/client/18/bin", "/usr/lib/postgresql/15/bin"}) {
      std::string other = std::string(dir) + "/" + name;
      if (access(other.c_str(), X_OK) == 0) return other;
    }
    return own;
  }

  void Chown(const std::string& path) {
    passwd* pw = getpwnam(o_.os_user.c_str());
    if (!pw || chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("cannot chown " + path);
    }
  }

  void PrepareDirs() {
    for (const auto& d : {dir_, src_, dir_ + "/alt", dir_ + "/pool"}) {
      fs::create_directories(d);
      chmod(d.c_str(), 0755);
    }
    fs::create_directories(src_ + "/data");
    fs::create_directories(src_ + "/run");
    Chown(src_ + "/data");
    Chown(src_ + "/run");
    Chown(dir_ + "/alt");
    chmod((src_ + "/data").c_str(), 0700);
    chmod((src_ + "/run").c_str(), 0700);
    WriteFile(src_ + "/hba.conf", "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    chmod((src_ + "/hba.conf").c_str(), 0644);
  }

  // A server on `data_dir` with the same command-line settings the engine gives a clone.
  // Once clones have run, the floor and cp -a + start use the settings the engine gave them.
  pid_t StartPostgres(const std::string& data_dir, int port, const std::string& log) {
    std::map<std::string, std::string> settings = clone_settings_;
    settings["listen_addresses"] = "127.0.0.1";
    settings["unix_socket_directories"] = src_ + "/run";
    settings["hba_file"] = src_ + "/hba.conf";
    settings.emplace("logging_collector", "off");
    settings.emplace("log_destination", "stderr");
    std::vector<std::string> argv = {Bin("postgres"), "-D", data_dir, "-p", std::to_string(port)};
    for (const auto& [name, value] : settings) {
      argv.push_back("-c");
      argv.push_back(name + "=" + value);
    }
    return Spawn(argv, {.user = o_.os_user, .cwd = data_dir, .out_file = log});
  }

  // The -c settings on a running clone's command line, minus the per-server ones.
  void CaptureCloneSettings(const std::string& clone_dir) {
    pid_t pid = PostmasterPid(clone_dir);
    std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    for (size_t start = 0, end; start < cmdline.size(); start = end + 1) {
      end = cmdline.find('\0', start);
      if (end == std::string::npos) end = cmdline.size();
      args.push_back(cmdline.substr(start, end - start));
    }
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] != "-c") continue;
      auto eq = args[i + 1].find('=');
      if (eq == std::string::npos) continue;
      std::string name = args[i + 1].substr(0, eq);
      if (name == "listen_addresses" || name == "unix_socket_directories" || name == "hba_file" ||
          name == "port") {
        continue;
      }
      clone_settings_[name] = args[i + 1].substr(eq + 1);
    }
    Json j = Json::object();
    for (const auto& [name, value] : clone_settings_) j[name] = value;
    result_["clone_settings_reused_for_floor"] = j;
  }

  void WaitReady(const std::string& data_dir, pid_t pid, double timeout_ms = 600000) {
    auto start = Clock::now();
    while (!PostmasterReady(data_dir, pid)) {
      CheckStop();
      if (!ChildRunning(pid)) throw std::runtime_error("postgres on " + data_dir + " exited");
      if (MsSince(start) > timeout_ms) throw std::runtime_error("postgres not ready: " + data_dir);
      SleepMs(1);
    }
  }

  // Fast shutdown (SIGINT), waits for the postmaster to exit: a cleanly stopped data directory.
  void StopPostgres(pid_t pid) {
    kill(pid, SIGINT);
    if (!WaitChild(pid, 120000)) {
      kill(pid, SIGQUIT);
      WaitChild(pid, 10000);
      throw std::runtime_error("postgres did not stop");
    }
  }

  std::string AdminConninfo(const std::string& db = "postgres") const {
    return Conninfo(src_ + "/run", src_port_, "postgres", "", db);
  }
  std::string DevConninfo(int port, const std::string& db) const {
    return Conninfo("127.0.0.1", port, kCloneUser, dev_password_, db);
  }

  // initdb, a server, the roles (postgres with a password, dev) and pgbench's tables.
  void InitPgbenchSource() {
    RunCommand({Bin("initdb"), "-D", src_ + "/data", "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"},
               AsPostgres());
    src_port_ = FreePort();
    src_pid_ = StartPostgres(src_ + "/data", src_port_, src_ + "/postgres.log");
    WaitReady(src_ + "/data", src_pid_);
    source_password_ = RandomToken(20);
    dev_password_ = kClonePassword;
    {
      Pg admin(AdminConninfo());
      if (!admin.ok()) throw std::runtime_error("source: " + admin.error());
      // SCRAM verifiers (hba says scram-sha-256), also on 13 whose default is still md5.
      admin.Exec("SET password_encryption = 'scram-sha-256'");
      admin.Exec("ALTER ROLE postgres PASSWORD '" + source_password_ + "'");
      admin.Exec("CREATE ROLE dev LOGIN PASSWORD '" + dev_password_ + "'");
      // pg_read_all_data exists from 14 on (the benchmark also runs sources of 13).
      admin.Exec(
          "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_read_all_data') THEN "
          "GRANT pg_read_all_data TO dev; END IF; END$$");
      admin.Exec(std::string("CREATE DATABASE ") + kDb);
    }
    // Server-side generation (G) is the quickest way to the same tables and indexes.
    RunCommand({Bin("pgbench"), "-i", "-q", "-s", std::to_string(scale_), "-I", "dtGvp", "-h",
                src_ + "/run", "-p", std::to_string(src_port_), "-U", "postgres", kDb},
               AsPostgres());
  }

  void CreateSource() {
    Step("creating the source: initdb + pgbench -i -s " + std::to_string(scale_));
    auto start = Clock::now();
    InitPgbenchSource();
    {
      Pg admin(AdminConninfo(kDb));
      admin.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO dev");  // 13: no pg_read_all_data
      admin.Exec("CHECKPOINT");
      db_bytes_ = std::stod(admin.Exec(std::string("SELECT pg_database_size('") + kDb + "')"));
    }
    std::string du = RunCommand({"du", "-sb", src_ + "/data"}, {.cwd = dir_});
    datadir_bytes_ = std::stod(du);
    // The floor's data directory: a copy of the cleanly stopped source, so that floor runs can
    // alternate with clone runs and see the same machine load.
    StopPostgres(src_pid_);
    RunCommand({"cp", "-a", src_ + "/data", FloorDir()}, {.cwd = dir_});
    src_pid_ = StartPostgres(src_ + "/data", src_port_, src_ + "/postgres.log");
    WaitReady(src_ + "/data", src_pid_);
    result_["database_bytes"] = db_bytes_;
    result_["data_dir_bytes"] = datadir_bytes_;
    result_["source_generation_s"] = std::round(MsSince(start) / 100) / 10;
    Step("source ready: database " + Mib(db_bytes_) + " MiB, data directory " +
         Mib(datadir_bytes_) + " MiB");
  }

  void StartEngine() {
    api_port_ = FreePort();
    int ports = o_.alive + o_.warm_pool + 10;
    port_from_ = FreePortRange(ports);
    token_ = RandomToken(32);
    // Room for the dump, main data and the clones' writes; the image is sparse.
    double image_gb = std::max(10.0, std::ceil(datadir_bytes_ * 4 / 1073741824.0));
    std::ostringstream yml;
    yml << "server:\n  verificationToken: \"" << token_ << "\"\n  port: " << api_port_ << "\n"
        << "poolManager:\n  mountDir: " << dir_ << "/pool\n  imageSize: " << image_gb << "GB\n"
        << (backend_.empty() ? "" : "  backend: " + backend_ + "\n") << "provision:\n"
        << (o_.clone_wal_dir.empty() ? "" : "  cloneWalDir: " + o_.clone_wal_dir + "\n")
        << "  warmPool: " << o_.warm_pool << "\n  portPool:\n    from: " << port_from_
        << "\n    to: " << port_from_ + ports - 1 << "\n"
        << "cloning:\n  maxIdleMinutes: 0\n"
        << "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
        << "    logicalDump:\n      options:\n        source:\n          connection:\n"
        << "            host: 127.0.0.1\n            port: " << src_port_ << "\n"
        << "            dbname: " << kDb << "\n            username: postgres\n"
        << "            password: " << source_password_ << "\n"
        << "        databases: [" << kDb << "]\n        parallelJobs: " << o_.jobs << "\n"
        << "    logicalRestore:\n      options:\n        parallelJobs: " << o_.jobs << "\n"
        << "    logicalSnapshot:\n      options: {}\n";
    WriteFile(dir_ + "/server.yml", yml.str());
    chmod((dir_ + "/server.yml").c_str(), 0600);
    Step("starting dblab-engine (API port " + std::to_string(api_port_) + ", clone ports " +
         std::to_string(port_from_) + "-" + std::to_string(port_from_ + ports - 1) +
         ") and waiting for the first snapshot");
    auto start = Clock::now();
    g_engine_pid = Spawn({o_.engine, "--config", dir_ + "/server.yml"},
                         {.cwd = dir_, .out_file = dir_ + "/engine.log"});
    api_ = std::make_unique<Api>("http://127.0.0.1:" + std::to_string(api_port_), token_);
    double timeout_ms = (900.0 + scale_ * 4.0) * 1000;
    while (true) {
      CheckStop();
      if (!ChildRunning(g_engine_pid)) {
        g_engine_pid = 0;
        throw std::runtime_error("dblab-engine exited; log:\n" +
                                 Tail(ReadFile(dir_ + "/engine.log")));
      }
      auto r = api_->Call("GET", "/snapshots");
      if (r.code == 200) {
        auto j = r.JsonBody();
        if (j.is_array() && !j.empty()) {
          snapshot_id_ = j[0].value("id", "");
          break;
        }
      }
      if (MsSince(start) > timeout_ms) {
        throw std::runtime_error("no snapshot in time; engine log:\n" +
                                 Tail(ReadFile(dir_ + "/engine.log")));
      }
      SleepMs(200);
    }
    result_["retrieval_s"] = std::round(MsSince(start) / 100) / 10;
    Step("snapshot " + snapshot_id_ + " ready after " + Fixed(MsSince(start) / 1000, 1) + " s");
  }

  std::string Pool() const { return dir_ + "/pool/dblab_pool"; }
  std::string FloorDir() const { return dir_ + "/floor"; }

  // btrfs frees a deleted subvolume's space later, and commits lazily: settle both before df.
  void SyncPool() {
    RunCommand({"btrfs", "subvolume", "sync", Pool()}, {.cwd = dir_});
    RunCommand({"btrfs", "filesystem", "sync", Pool()}, {.cwd = dir_});
  }

  // The floor: a bare postgres start on an existing, cleanly stopped data directory, up to the
  // first successful query as the same user over the same TCP + SCRAM login.
  double FloorRun() {
    int port = FreePort();
    auto start = Clock::now();
    pid_t pid = StartPostgres(FloorDir(), port, dir_ + "/floor.log");
    WaitReady(FloorDir(), pid);
    WaitFirstQuery(DevConninfo(port, kDb), 60000);
    double ms = MsSince(start);
    StopPostgres(pid);
    return ms;
  }

  // POST /clone; returns the port, and in *ready whether the answer already says OK (a warm
  // pool's clone is ready within the request, so a client has nothing to poll).
  int RequestClone(Api& api, const std::string& id, bool* ready = nullptr) {
    Json body{{"id", id},
              {"db", {{"username", kCloneUser}, {"password", kClonePassword}, {"db_name", kDb}}}};
    auto r = api.Call("POST", "/clone", body.dump());
    if (r.code != 201 && r.code != 200) {
      throw std::runtime_error("POST /clone " + id + ": " + std::to_string(r.code) + " " + r.body);
    }
    auto j = r.JsonBody();
    int port = std::atoi(j["db"].value("port", "0").c_str());
    if (port <= 0) throw std::runtime_error("POST /clone gave no port: " + r.body);
    if (ready) *ready = j["status"].value("code", "") == "OK";
    return port;
  }

  // Polls GET /clone/{id} until OK; returns the port.
  // The clone's data directory as its server sees it, resolved: a clone taken from the warm pool
  // keeps the storage name it was started under, so the directory is not always clones/<id>.
  std::string CloneDataDir(int port) {
    Pg pg(DevConninfo(port, kDb));
    return fs::canonical(pg.Exec("SHOW data_directory")).string();
  }

  int WaitCloneOk(Api& api, const std::string& id, double interval_ms) {
    auto start = Clock::now();
    while (true) {
      CheckStop();
      auto r = api.Call("GET", "/clone/" + id);
      if (r.code == 200) {
        auto j = r.JsonBody();
        std::string code = j["status"].value("code", "");
        if (code == "OK") return std::atoi(j["db"].value("port", "0").c_str());
        if (code == "FATAL") throw std::runtime_error("clone " + id + " FATAL: " + r.body);
      }
      if (MsSince(start) > 300000) throw std::runtime_error("clone " + id + " not OK: " + r.body);
      SleepMs(interval_ms);
    }
  }

  // With provision.warmPool, a create is measured the way a user meets it between test runs:
  // with the pool refilled.
  void WaitWarmPoolFull() {
    auto start = Clock::now();
    while (true) {
      CheckStop();
      auto r = api_->Call("GET", "/status");
      if (r.code == 200) {
        auto pool = r.JsonBody()["provisioner"]["warmPool"];
        if (pool.value("ready", 0) >= o_.warm_pool) return;
      }
      if (MsSince(start) > 120000) throw std::runtime_error("warm pool not full: " + r.body);
      SleepMs(20);
    }
  }

  // Create = POST /clone -> status OK -> first successful query as the clone's user.
  double CreateClone(Api& api, const std::string& id, double poll_ms, double* api_ok_ms) {
    auto start = Clock::now();
    bool ready = false;
    int port = RequestClone(api, id, &ready);
    if (!ready) port = WaitCloneOk(api, id, poll_ms);
    if (api_ok_ms) *api_ok_ms = MsSince(start);
    WaitFirstQuery(DevConninfo(port, kDb), 60000);
    return MsSince(start);
  }

  void CloneRuns(Json& out) {
    Step("dblab: " + std::to_string(o_.runs) +
         " x (create, write, reset, destroy, then a floor run)");
    Stats create, create_ok, reset, reset_ok, destroy, destroy_api, destroy_data, floor, reconnect;
    for (int i = 1; i <= o_.runs; ++i) {
      std::string id = "b" + std::to_string(i);
      if (o_.warm_pool > 0) WaitWarmPoolFull();
      double ok_ms = 0;
      create.samples.push_back(CreateClone(*api_, id, 2, &ok_ms));
      create_ok.samples.push_back(ok_ms);
      int port = WaitCloneOk(*api_, id, 2);
      if (i == 1) CaptureCloneSettings(CloneDataDir(port));
      {  // What any client pays per connection to a running clone (login + first query).
        auto connect_start = Clock::now();
        WaitFirstQuery(DevConninfo(port, kDb), 60000);
        reconnect.samples.push_back(MsSince(connect_start));
      }
      {
        Pg pg(DevConninfo(port, kDb));
        pg.Exec(
            "DELETE FROM pgbench_history; UPDATE pgbench_branches SET bbalance = bbalance + 1; "
            "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 10000; "
            "CREATE TABLE scratch AS SELECT * FROM pgbench_accounts LIMIT 10000");
      }
      auto start = Clock::now();
      auto r = api_->Call("POST", "/clone/" + id + "/reset", "{}");
      if (r.code != 200)
        throw std::runtime_error("reset: " + std::to_string(r.code) + " " + r.body);
      port = WaitCloneOk(*api_, id, 2);
      reset_ok.samples.push_back(MsSince(start));
      WaitFirstQuery(DevConninfo(port, kDb), 60000);
      reset.samples.push_back(MsSince(start));
      std::string data_dir = CloneDataDir(port);
      {  // The reset must have brought back the snapshot.
        Pg pg(DevConninfo(port, kDb));
        std::string check = pg.Exec(
            "SELECT (SELECT sum(bbalance) FROM pgbench_branches)::text || '/' || "
            "(to_regclass('scratch') IS NULL)::text");
        if (check != "0/true") throw std::runtime_error("reset did not restore the data: " + check);
      }
      start = Clock::now();
      r = api_->Call("DELETE", "/clone/" + id);
      if (r.code != 200 && r.code != 204) {
        throw std::runtime_error("destroy: " + std::to_string(r.code) + " " + r.body);
      }
      // Destroyed for the user once GET gives 404 and the port is free; the clone's data is
      // freed after that, in the background (destroy_data_ms: until its directory is gone).
      std::optional<double> api_gone, destroyed;
      while (true) {
        CheckStop();
        if (!api_gone && api_->Call("GET", "/clone/" + id).code == 404) api_gone = MsSince(start);
        if (!destroyed && api_gone && PortFree(port)) destroyed = MsSince(start);
        if (destroyed && !fs::exists(data_dir)) break;
        if (MsSince(start) > 120000) throw std::runtime_error("destroy of " + id + " not done");
        SleepMs(1);
      }
      destroy.samples.push_back(*destroyed);
      destroy_api.samples.push_back(*api_gone);
      destroy_data.samples.push_back(MsSince(start));
      if (o_.warm_pool > 0) WaitWarmPoolFull();  // no refill running during the floor run
      floor.samples.push_back(FloorRun());
      Step("run " + std::to_string(i) + ": create " + Fixed(create.samples.back()) + " ms, reset " +
           Fixed(reset.samples.back()) + " ms, destroy " + Fixed(destroy.samples.back()) +
           " ms; floor " + Fixed(floor.samples.back()) + " ms");
    }
    floor_ = floor;
    result_["floor_ms"] = floor.ToJson();
    Stats create_paired, reset_paired;
    for (size_t k = 0; k < floor.samples.size(); ++k) {
      create_paired.samples.push_back(create.samples[k] - floor.samples[k]);
      reset_paired.samples.push_back(reset.samples[k] - floor.samples[k]);
    }
    out["create_minus_floor_same_run_ms"] = create_paired.ToJson(1, false);
    out["reset_minus_floor_same_run_ms"] = reset_paired.ToJson(1, false);
    std::error_code error;
    fs::remove_all(FloorDir(), error);
    out["create_ms"] = create.ToJson();
    out["create_status_ok_ms"] = create_ok.ToJson();
    out["connect_to_running_clone_ms"] = reconnect.ToJson();
    out["reset_ms"] = reset.ToJson();
    out["reset_status_ok_ms"] = reset_ok.ToJson();
    out["destroy_ms"] = destroy.ToJson();
    out["destroy_api_404_ms"] = destroy_api.ToJson();
    out["destroy_data_ms"] = destroy_data.ToJson();
    create_ = create;
    reset_ = reset;
    destroy_ = destroy;
  }

  Json Concurrency() {
    Json out;
    Step("concurrency: " + std::to_string(o_.at_once) + " creates at once, then " +
         std::to_string(o_.alive) + " clones alive");
    SyncPool();
    double used_before = UsedBytes(Pool());
    // GET /status in the background, once every 20 ms, labelled by phase.
    std::atomic<int> phase{0};  // 0 creating, 1 growing, 2 stop
    std::mutex samples_mutex;
    Stats status_creating;
    std::thread poller([&] {
      Api api("http://127.0.0.1:" + std::to_string(api_port_), token_);
      while (phase < 1 && !g_stopping) {
        auto r = api.Call("GET", "/status");
        if (r.code == 200) {
          std::lock_guard lock(samples_mutex);
          status_creating.samples.push_back(r.ms);
        }
        SleepMs(20);
      }
    });
    struct Outcome {
      double ms = NAN;
      std::string error;
    };
    auto create_batch = [&](int first, int count, Stats* each) -> double {
      std::vector<Outcome> outcomes(size_t(count), Outcome{});
      std::barrier sync(count);
      Clock::time_point start;
      std::vector<std::thread> threads;
      std::atomic<bool> started{false};
      std::mutex start_mutex;
      for (int k = 0; k < count; ++k) {
        threads.emplace_back([&, k] {
          Api api("http://127.0.0.1:" + std::to_string(api_port_), token_);
          sync.arrive_and_wait();
          {
            std::lock_guard lock(start_mutex);
            if (!started) {
              start = Clock::now();
              started = true;
            }
          }
          try {
            outcomes[size_t(k)].ms = CreateClone(api, "c" + std::to_string(first + k), 20, nullptr);
          } catch (const std::exception& e) {
            outcomes[size_t(k)].error = e.what();
          }
        });
      }
      for (auto& t : threads) t.join();
      double all = MsSince(start);
      for (const auto& outcome : outcomes) {
        if (!outcome.error.empty()) throw std::runtime_error(outcome.error);
        if (each) each->samples.push_back(outcome.ms);
      }
      return all;
    };
    Stats each;
    double all_ready = create_batch(1, o_.at_once, &each);
    phase = 1;
    poller.join();
    Step(std::to_string(o_.at_once) + " at once: all ready after " + Fixed(all_ready) +
         " ms (per clone p50 " + Fixed(each.Median()) + " ms)");
    out["at_once"] = o_.at_once;
    out["at_once_all_ready_ms"] = std::round(all_ready * 10) / 10;
    out["at_once_per_clone_ms"] = each.ToJson();
    out["status_latency_during_creates_ms"] = status_creating.ToJson(2, false);
    // Grow to `alive` clones, in batches of at_once.
    for (int next = o_.at_once + 1; next <= o_.alive;) {
      int count = std::min(o_.at_once, o_.alive - next + 1);
      create_batch(next, count, nullptr);
      next += count;
    }
    Step(std::to_string(o_.alive) + " clones alive; letting them settle, then measuring");
    SleepMs(3000);
    // Private memory per idle clone.
    Stats private_mb, pss_mb;
    std::vector<std::string> alive_dirs;
    for (int k = 1; k <= o_.alive; ++k) {
      alive_dirs.push_back(CloneDataDir(WaitCloneOk(*api_, "c" + std::to_string(k), 2)));
    }
    for (int k = 1; k <= o_.alive; ++k) {
      pid_t pm = PostmasterPid(alive_dirs[size_t(k - 1)]);
      if (pm <= 0) throw std::runtime_error("no postmaster.pid for clone c" + std::to_string(k));
      auto [private_kb, pss_kb] = PrivateAndPssKb(pm);
      private_mb.samples.push_back(private_kb / 1024);
      pss_mb.samples.push_back(pss_kb / 1024);
    }
    // Disk: btrfs exclusive bytes of a few fresh clones, and df before/after.
    SyncPool();
    double used_after = UsedBytes(Pool());
    Stats exclusive_bytes;
    for (int k = 1; k <= std::min(3, o_.alive); ++k) {
      std::string du = RunCommand(
          {"btrfs", "filesystem", "du", "-s", "--raw", alive_dirs[size_t(k - 1)]}, {.cwd = dir_});
      std::istringstream lines(du);
      std::string header, line;
      std::getline(lines, header);
      std::getline(lines, line);
      std::istringstream fields(line);
      double total = 0, exclusive = 0;
      fields >> total >> exclusive;
      exclusive_bytes.samples.push_back(exclusive);
    }
    // GET /status with all clones alive: sequential requests, 5 ms apart.
    Stats status_alive;
    {
      Api api("http://127.0.0.1:" + std::to_string(api_port_), token_);
      for (int k = 0; k < o_.status_samples; ++k) {
        CheckStop();
        auto r = api.Call("GET", "/status");
        if (r.code != 200) throw std::runtime_error("GET /status: " + std::to_string(r.code));
        if (k == 0) {
          auto j = r.JsonBody();
          int n = j.contains("cloning") ? j["cloning"].value("numClones", 0) : 0;
          if (n != o_.alive) {
            throw std::runtime_error("GET /status counts " + std::to_string(n) + " clones, not " +
                                     std::to_string(o_.alive));
          }
        }
        status_alive.samples.push_back(r.ms);
        SleepMs(5);
      }
    }
    out["alive"] = o_.alive;
    out["private_mib_per_idle_clone"] = private_mb.ToJson(2, false);
    out["pss_mib_per_idle_clone"] = pss_mb.ToJson(2, false);
    out["disk_exclusive_bytes_per_fresh_clone"] = exclusive_bytes.ToJson(0);
    out["disk_df_bytes_per_fresh_clone"] =
        std::round((used_after - used_before) / (o_.at_once + (o_.alive - o_.at_once)));
    out["status_latency_alive_ms"] = status_alive.ToJson(2, false);
    Step("idle clone private memory p50 " + Fixed(private_mb.Median(), 1) + " MiB; fresh clone " +
         Fixed(exclusive_bytes.Median() / 1024) + " KiB exclusive; GET /status p50 " +
         Fixed(status_alive.Median(), 2) + " ms, p99 " + Fixed(status_alive.Percentile(99), 2) +
         " ms");
    // Destroy them all at once.
    auto start = Clock::now();
    for (int k = 1; k <= o_.alive; ++k) {
      auto r = api_->Call("DELETE", "/clone/c" + std::to_string(k));
      if (r.code != 200 && r.code != 204) throw std::runtime_error("DELETE: " + r.body);
    }
    while (true) {
      CheckStop();
      auto r = api_->Call("GET", "/clones");
      auto j = r.JsonBody();
      if (r.code == 200 && j.is_array() && j.empty()) break;
      if (MsSince(start) > 300000) throw std::runtime_error("clones not destroyed: " + r.body);
      SleepMs(20);
    }
    out["destroy_all_ms"] = std::round(MsSince(start) * 10) / 10;
    for (int p = port_from_; p < port_from_ + o_.alive + o_.warm_pool + 10; ++p) {
      if (!PortFree(p)) SleepMs(100);
    }
    return out;
  }

  // pgbench -c 4 -j 2 -T <seconds> over TCP + SCRAM; returns tps.
  double Pgbench(const std::string& conninfo) {
    std::string out = RunCommand(
        {Bin("pgbench"), "-c", "4", "-j", "2", "-T", std::to_string(o_.write_seconds), conninfo},
        AsPostgres());
    auto at = out.find("tps = ");
    if (at == std::string::npos) throw std::runtime_error("pgbench printed no tps:\n" + Tail(out));
    return std::stod(out.substr(at + 6));
  }

  // Two full-table UPDATEs of pgbench_accounts, each followed by a CHECKPOINT; returns ms.
  double FullUpdate(const std::string& conninfo) {
    Pg pg(conninfo);
    if (!pg.ok()) throw std::runtime_error("full update: " + pg.error());
    auto start = Clock::now();
    for (int i = 0; i < 2; ++i) {
      pg.Exec("UPDATE pgbench_accounts SET abalance = abalance + 1");
      pg.Exec("CHECKPOINT");
    }
    return MsSince(start);
  }

  void WriteRuns() {
    bool ready = false;
    int clone_port = RequestClone(*api_, "write", &ready);
    if (!ready) clone_port = WaitCloneOk(*api_, "write", 5);
    CaptureCloneSettings(CloneDataDir(clone_port));
    int host_port = FreePort();
    pid_t host = StartPostgres(FloorDir(), host_port, dir_ + "/host.log");
    WaitReady(FloorDir(), host);
    // Both over TCP with SCRAM: the clone's user in the clone, the source's superuser on the
    // host copy (the clone's user has no write rights there).
    std::string clone = DevConninfo(clone_port, kDb);
    std::string on_host = Conninfo("127.0.0.1", host_port, "postgres", source_password_, kDb);
    Stats clone_tps, host_tps, clone_update, host_update;
    Json ratios = Json::array();
    for (int run = 0; run < o_.runs; ++run) {
      // Alternate who goes first: a machine that slows down during a run hurts both alike.
      bool clone_first = run % 2 == 0;
      double ct = 0, ht = 0;
      for (int side = 0; side < 2; ++side) {
        if ((side == 0) == clone_first)
          ct = Pgbench(clone);
        else
          ht = Pgbench(on_host);
      }
      double cu = 0, hu = 0;
      for (int side = 0; side < 2; ++side) {
        if ((side == 0) == clone_first)
          cu = FullUpdate(clone);
        else
          hu = FullUpdate(on_host);
      }
      clone_tps.samples.push_back(ct);
      host_tps.samples.push_back(ht);
      clone_update.samples.push_back(cu);
      host_update.samples.push_back(hu);
      ratios.push_back({{"tps_clone_to_host", std::round(ct / ht * 1000) / 1000},
                        {"update_host_to_clone", std::round(hu / cu * 1000) / 1000}});
      Step("write run " + std::to_string(run + 1) + ": pgbench " + Fixed(ct) + " vs " + Fixed(ht) +
           " tps on the host; full UPDATE + CHECKPOINT x2 " + Fixed(cu) + " vs " + Fixed(hu) +
           " ms");
    }
    StopPostgres(host);
    Json w;
    w["pgbench"] = "-c 4 -j 2 -T " + std::to_string(o_.write_seconds);
    w["clone_tps"] = clone_tps.ToJson();
    w["host_tps"] = host_tps.ToJson();
    w["clone_full_update_ms"] = clone_update.ToJson();
    w["host_full_update_ms"] = host_update.ToJson();
    w["per_run"] = ratios;
    // >= 1 means the clone is at least as fast as the host (tps: higher is better; time: lower).
    w["tps_ratio_clone_to_host_p50"] =
        std::round(clone_tps.Median() / host_tps.Median() * 1000) / 1000;
    w["update_speed_ratio_clone_to_host_p50"] =
        std::round(host_update.Median() / clone_update.Median() * 1000) / 1000;
    result_["write"] = w;
  }

  void StopEngineAndPool() {
    Step("stopping dblab-engine and unmounting its pool");
    api_.reset();
    StopEngine(30000);
    KillProcessesUnder(dir_ + "/pool");
    UnmountUnder(dir_ + "/pool");
    std::error_code error;
    fs::remove_all(dir_ + "/pool", error);
  }

  void AddAlternative(const std::string& key, const std::string& label, const Stats& stats,
                      Json extra = Json::object()) {
    Json j = stats.ToJson();
    j["label"] = label;
    j["ratio_p50_to_dblab_create_p50"] = std::round(stats.Median() / create_.Median() * 100) / 100;
    for (auto& [k, v] : extra.items()) j[k] = v;
    result_["alternatives"][key] = j;
    Step(label + ": p50 " + Fixed(stats.Median()) + " ms");
  }

  void Alternatives() {
    int n = o_.alt_runs;
    if (n == 0) return;  // --alt-runs 0: only dblab and the floor (e.g. at scale 600)
    Pg admin(AdminConninfo());
    if (!admin.ok()) throw std::runtime_error("source: " + admin.error());
    admin.Exec("CHECKPOINT");
    for (std::string strategy : {"WAL_LOG", "FILE_COPY"}) {
      Step("CREATE DATABASE ... TEMPLATE " + std::string(kDb) + " STRATEGY " + strategy);
      Stats stats;
      for (int i = 0; i < n; ++i) {
        std::string db = "alt_" + std::to_string(i);
        auto start = Clock::now();
        admin.Exec("CREATE DATABASE " + db + " TEMPLATE " + kDb + " STRATEGY " + strategy);
        WaitFirstQuery(DevConninfo(src_port_, db), 60000);
        stats.samples.push_back(MsSince(start));
        admin.Exec("DROP DATABASE " + db);
        admin.Exec("CHECKPOINT");
      }
      std::string key = strategy == "WAL_LOG" ? "template_wal_log" : "template_file_copy";
      AddAlternative(key, "CREATE DATABASE TEMPLATE (" + strategy + ")", stats);
    }
    {
      std::string label =
          "pg_dump -Fd -j" + std::to_string(o_.jobs) + " + pg_restore -j" + std::to_string(o_.jobs);
      Step(label);
      Stats total, dump, restore;
      for (int i = 0; i < n; ++i) {
        std::string db = "alt_dump_" + std::to_string(i);
        std::string dump_dir = dir_ + "/alt/dump";
        auto start = Clock::now();
        RunCommand({Bin("pg_dump"), "-Fd", "-j", std::to_string(o_.jobs), "-f", dump_dir, "-h",
                    src_ + "/run", "-p", std::to_string(src_port_), "-U", "postgres", kDb},
                   AsPostgres());
        dump.samples.push_back(MsSince(start));
        auto restore_start = Clock::now();
        admin.Exec("CREATE DATABASE " + db);
        RunCommand({Bin("pg_restore"), "-j", std::to_string(o_.jobs), "-h", src_ + "/run", "-p",
                    std::to_string(src_port_), "-U", "postgres", "-d", db, dump_dir},
                   AsPostgres());
        WaitFirstQuery(DevConninfo(src_port_, db), 60000);
        restore.samples.push_back(MsSince(restore_start));
        total.samples.push_back(MsSince(start));
        admin.Exec("DROP DATABASE " + db);
        admin.Exec("CHECKPOINT");
        fs::remove_all(dump_dir);
      }
      AddAlternative("dump_restore", label, total,
                     {{"dump_p50_ms", std::round(dump.Median())},
                      {"restore_p50_ms", std::round(restore.Median())}});
    }
    // cp -a needs a cleanly stopped data directory.
    Step("stopping the source cleanly");
    StopPostgres(src_pid_);
    src_pid_ = 0;
    {
      Step("cp -a of the data directory + start");
      Stats total, copy;
      std::string copy_dir = dir_ + "/alt/copy";
      for (int i = 0; i < n; ++i) {
        int port = FreePort();
        auto start = Clock::now();
        RunCommand({"cp", "-a", src_ + "/data", copy_dir}, {.cwd = dir_});
        copy.samples.push_back(MsSince(start));
        pid_t pid = StartPostgres(copy_dir, port, dir_ + "/alt/copy.log");
        WaitReady(copy_dir, pid);
        WaitFirstQuery(DevConninfo(port, kDb), 60000);
        total.samples.push_back(MsSince(start));
        StopPostgres(pid);
        fs::remove_all(copy_dir);
      }
      AddAlternative("cp_start", "cp -a PGDATA + start", total,
                     {{"copy_p50_ms", std::round(copy.Median())}});
    }
  }

  void Summarize() {
    double floor = floor_.Median();
    auto& c = result_["concurrency"];
    Json summary{
        {"create_p50_ms", std::round(create_.Median())},
        {"reset_p50_ms", std::round(reset_.Median())},
        {"destroy_p50_ms", std::round(destroy_.Median())},
        {"floor_p50_ms", std::round(floor)},
        {"create_p50_minus_floor_ms", std::round(create_.Median() - floor)},
        {"reset_p50_minus_floor_ms", std::round(reset_.Median() - floor)},
        {"fresh_clone_disk_exclusive_bytes", c["disk_exclusive_bytes_per_fresh_clone"]["p50"]},
        {"fresh_clone_disk_df_bytes", c["disk_df_bytes_per_fresh_clone"]},
        {"idle_clone_private_mib", c["private_mib_per_idle_clone"]["p50"]},
        {"alive_clones", c["alive"]},
        {"status_alive_p50_ms", c["status_latency_alive_ms"]["p50"]},
        {"status_alive_p99_ms", c["status_latency_alive_ms"]["p99"]},
        {"at_once_all_ready_ms", c["at_once_all_ready_ms"]}};
    Json ratios = Json::object();
    for (auto& [key, value] : result_["alternatives"].items()) {
      ratios[key] = value["ratio_p50_to_dblab_create_p50"];
    }
    summary["alternative_to_dblab_create_ratio"] = ratios;
    result_["summary"] = summary;
  }

  // ---- --masking ------------------------------------------------------------------------------

  // What every original value of `users` carries, and no masking function produces: the clone
  // check counts rows and file bytes with them.
  static const std::vector<std::string>& MaskingMarkers() {
    static const std::vector<std::string> markers = {"@orig-mail.test", "Origson-", "+44 20 7946",
                                                     "ORIGNOTE "};
    return markers;
  }

  // The source of --masking: pgbench data plus `users` with personal data in the heap, a unique
  // index (email) and uncompressed TOAST (every 10th row has a ~2.5 kB note, STORAGE EXTERNAL).
  void CreateMaskingSource() {
    Step("creating the source: initdb + pgbench -i -s " + std::to_string(scale_) + " + " +
         std::to_string(o_.users) + " users rows");
    auto start = Clock::now();
    InitPgbenchSource();
    Pg admin(AdminConninfo(kDb));
    if (!admin.ok()) throw std::runtime_error("source: " + admin.error());
    admin.Exec(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, full_name text NOT "
        "NULL, phone text, note text, created_at timestamptz NOT NULL DEFAULT now())");
    admin.Exec("ALTER TABLE users ALTER COLUMN note SET STORAGE EXTERNAL");
    std::string n = std::to_string(o_.users);
    admin.Exec(
        "INSERT INTO users (id, email, full_name, phone, note) SELECT g, "
        "'user' || g || '.' || left(md5(g::text), 8) || '@orig-mail.test', "
        "(ARRAY['Anna','Boris','Chen','Dana','Emeka','Fatima'])[1 + g % 6] || ' Origson-' || g, "
        "'+44 20 7946 ' || lpad((g % 10000)::text, 4, '0'), "
        "CASE WHEN g % 10 = 0 THEN 'ORIGNOTE ' || g || ': ' || repeat(md5(g::text), 78) END "
        "FROM generate_series(1, " +
        n + ") g");
    admin.Exec("CREATE UNIQUE INDEX users_email_key ON users (email)");
    admin.Exec("VACUUM ANALYZE users");
    admin.Exec("CHECKPOINT");
    // A few originals spread over the table, looked up by value in the clones.
    std::string ids = "1, 2, 10, " + std::to_string(o_.users / 3) + ", " +
                      std::to_string(o_.users / 2) + ", " + n;
    known_originals_ = admin.Exec(
        "SELECT string_agg(quote_literal(email), ', ' ORDER BY id) FROM users WHERE id IN (" + ids +
        ")");
    known_count_ = std::stoi(admin.Exec("SELECT count(*) FROM users WHERE id IN (" + ids + ")"));
    db_bytes_ = std::stod(admin.Exec(std::string("SELECT pg_database_size('") + kDb + "')"));
    double users_bytes = std::stod(admin.Exec("SELECT pg_total_relation_size('users')"));
    double toast_bytes =
        std::stod(admin.Exec("SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE oid "
                             "= 'users'::regclass"));
    datadir_bytes_ = std::stod(RunCommand({"du", "-sb", src_ + "/data"}, {.cwd = dir_}));
    result_["database_bytes"] = db_bytes_;
    result_["data_dir_bytes"] = datadir_bytes_;
    result_["users"] = o_.users;
    result_["users_with_note"] = o_.users / 10;
    result_["users_bytes"] = users_bytes;
    result_["users_toast_bytes"] = toast_bytes;
    result_["source_generation_s"] = std::round(MsSince(start) / 100) / 10;
    Step("source ready: database " + Mib(db_bytes_) + " MiB, users " + Mib(users_bytes) +
         " MiB (TOAST " + Mib(toast_bytes) + " MiB)");
  }

  // The engine on the source, logical retrieval, with or without masking rules; returns the ms
  // from the engine's start to its first snapshot. A failed retrieval (the residue gate refusing
  // the snapshot, say) ends the benchmark with the engine's alerts.
  double StartMaskingEngine(bool masked, const std::string& log) {
    api_port_ = FreePort();
    int ports = 10;
    port_from_ = FreePortRange(ports);
    token_ = RandomToken(32);
    double image_gb = std::max(10.0, std::ceil(datadir_bytes_ * 4 / 1073741824.0));
    std::ostringstream yml;
    yml << "server:\n  verificationToken: \"" << token_ << "\"\n  port: " << api_port_ << "\n"
        << "poolManager:\n  mountDir: " << dir_ << "/pool\n  imageSize: " << image_gb << "GB\n"
        << "provision:\n"
        << (o_.clone_wal_dir.empty() ? "" : "  cloneWalDir: " + o_.clone_wal_dir + "\n")
        << "  portPool:\n    from: " << port_from_ << "\n    to: " << port_from_ + ports - 1 << "\n"
        << "cloning:\n  maxIdleMinutes: 0\n"
        << "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
        << "    logicalDump:\n      options:\n        source:\n          connection:\n"
        << "            host: 127.0.0.1\n            port: " << src_port_ << "\n"
        << "            dbname: " << kDb << "\n            username: postgres\n"
        << "            password: " << source_password_ << "\n"
        << "        databases: [" << kDb << "]\n        parallelJobs: " << o_.jobs << "\n"
        << "    logicalRestore:\n      options:\n        parallelJobs: " << o_.jobs << "\n"
        << "    logicalSnapshot:\n      options: {}\n";
    if (masked) {
      // As in docs/masking.md's example; the residue gate is on by default.
      yml << "masking:\n  rules:\n"
          << "    - column: public.users.email\n      function: fake_email\n"
          << "    - column: public.users.full_name\n      function: fake_name\n"
          << "    - column: public.users.phone\n      function: partial\n"
          << "      args: [2, \"XXXX\", 2]\n"
          << "    - column: public.users.note\n      function: \"null\"\n";
    }
    WriteFile(dir_ + "/server.yml", yml.str());
    chmod((dir_ + "/server.yml").c_str(), 0600);
    Step("starting dblab-engine " + std::string(masked ? "with" : "without") +
         " masking rules and waiting for the first snapshot");
    auto start = Clock::now();
    g_engine_pid =
        Spawn({o_.engine, "--config", dir_ + "/server.yml"}, {.cwd = dir_, .out_file = log});
    api_ = std::make_unique<Api>("http://127.0.0.1:" + std::to_string(api_port_), token_);
    double timeout_ms = (900.0 + scale_ * 4.0 + o_.users / 500.0) * 1000;
    while (true) {
      CheckStop();
      if (!ChildRunning(g_engine_pid)) {
        g_engine_pid = 0;
        throw std::runtime_error("dblab-engine exited; log:\n" + Tail(ReadFile(log)));
      }
      auto r = api_->Call("GET", "/snapshots");
      if (r.code == 200) {
        auto j = r.JsonBody();
        if (j.is_array() && !j.empty()) {
          snapshot_id_ = j[0].value("id", "");
          break;
        }
        auto status = api_->Call("GET", "/status").JsonBody();
        if (status.is_object() && status["retrieving"].value("status", "") == "failed") {
          throw std::runtime_error("retrieval failed: " + status["retrieving"]["alerts"].dump() +
                                   "\nengine log:\n" + Tail(ReadFile(log)));
        }
      }
      if (MsSince(start) > timeout_ms) {
        throw std::runtime_error("no snapshot in time; engine log:\n" + Tail(ReadFile(log)));
      }
      SleepMs(200);
    }
    return MsSince(start);
  }

  // Every file under `dir` (symlinked directories followed: a clone's WAL may live elsewhere)
  // searched for every marker; how often each occurs.
  static Json ScanForMarkers(const std::string& dir) {
    auto start = Clock::now();
    const auto& markers = MaskingMarkers();
    std::vector<int64_t> hits(markers.size(), 0);
    size_t overlap = 0;
    for (const auto& marker : markers) overlap = std::max(overlap, marker.size() - 1);
    int64_t files = 0, bytes = 0;
    std::vector<char> buffer(16 << 20);
    std::error_code error;
    auto options = fs::directory_options::follow_directory_symlink |
                   fs::directory_options::skip_permission_denied;
    for (fs::recursive_directory_iterator it(dir, options, error), end; !error && it != end;
         it.increment(error)) {
      std::error_code type_error;
      if (!it->is_regular_file(type_error)) continue;
      int fd = open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ++files;
      size_t kept = 0;  // the previous chunk's tail, for markers across the boundary
      while (true) {
        ssize_t n = read(fd, buffer.data() + kept, buffer.size() - kept);
        if (n <= 0) break;
        bytes += n;
        std::string_view view(buffer.data(), kept + size_t(n));
        for (size_t k = 0; k < markers.size(); ++k) {
          for (size_t at = view.find(markers[k]); at != std::string_view::npos;
               at = view.find(markers[k], at + 1)) {
            if (at + markers[k].size() > kept) ++hits[k];  // else counted in the previous chunk
          }
        }
        kept = std::min(overlap, view.size());
        std::memmove(buffer.data(), buffer.data() + view.size() - kept, kept);
      }
      close(fd);
    }
    if (error) throw std::runtime_error("cannot scan " + dir + ": " + error.message());
    Json found = Json::object();
    for (size_t k = 0; k < markers.size(); ++k) found[markers[k]] = hits[k];
    return Json{{"files", files},
                {"bytes", bytes},
                {"seconds", std::round(MsSince(start) / 10) / 100},
                {"marker_hits", found}};
  }

  // A clone of the snapshot just taken, looked at as a developer would (the clone's user, SQL)
  // and byte by byte (every file of its data directory). The masked snapshot must hold no
  // original; the unmasked one must show them all, or the check would prove nothing.
  Json CheckMaskingClone(bool masked) {
    std::string id = masked ? "masked" : "unmasked";
    Step("a clone of the " + id + " snapshot: looking for the original values");
    bool ready = false;
    int port = RequestClone(*api_, id, &ready);
    if (!ready) port = WaitCloneOk(*api_, id, 20);
    WaitFirstQuery(DevConninfo(port, kDb), 60000);
    Json out;
    {
      Pg pg(DevConninfo(port, kDb));
      if (!pg.ok()) throw std::runtime_error("clone " + id + ": " + pg.error());
      auto count = [&](const std::string& where) {
        return std::stoll(pg.Exec("SELECT count(*) FROM users WHERE " + where));
      };
      out["rows"] = count("true");
      out["known_original_emails"] = known_count_;
      out["known_original_emails_found"] = count("email IN (" + known_originals_ + ")");
      out["rows_with_original_email"] = count("email LIKE '%@orig-mail.test'");
      out["rows_with_original_name"] = count("full_name LIKE '%Origson-%'");
      out["rows_with_original_phone"] = count("phone LIKE '+44 20 7946%'");
      out["rows_with_note"] = count("note IS NOT NULL");
      out["first_row"] = pg.Exec(
          "SELECT email || ' | ' || full_name || ' | ' || "
          "coalesce(phone, '') FROM users ORDER BY id LIMIT 1");
    }
    out["file_scan"] = ScanForMarkers(CloneDataDir(port));
    auto r = api_->Call("DELETE", "/clone/" + id);
    if (r.code != 200 && r.code != 204)
      throw std::runtime_error("DELETE /clone/" + id + ": " + r.body);

    std::vector<std::string> problems;
    auto expect = [&](const char* key, int64_t want) {
      if (out[key].get<int64_t>() != want) {
        problems.push_back(std::string(key) + " = " + out[key].dump() + ", expected " +
                           std::to_string(want));
      }
    };
    expect("rows", o_.users);
    expect("known_original_emails_found", masked ? 0 : known_count_);
    expect("rows_with_original_email", masked ? 0 : o_.users);
    expect("rows_with_original_name", masked ? 0 : o_.users);
    expect("rows_with_original_phone", masked ? 0 : o_.users);
    expect("rows_with_note", masked ? 0 : o_.users / 10);
    for (auto& [marker, hits] : out["file_scan"]["marker_hits"].items()) {
      if (masked ? hits.get<int64_t>() != 0 : hits.get<int64_t>() == 0) {
        problems.push_back("'" + marker + "' found " + hits.dump() + " times in the clone's files");
      }
    }
    if (!problems.empty()) {
      std::string list;
      for (const auto& p : problems) list += (list.empty() ? "" : "; ") + p;
      throw std::runtime_error(
          masked ? "MASKING FAILED: a clone of the masked snapshot shows original values: " + list
                 : "the unmasked snapshot's clone does not show the originals, so the check "
                   "would prove nothing: " +
                       list);
    }
    out["verdict"] = masked ? "no original value, in SQL or in the files"
                            : "every original present (the check sees them)";
    Step("clone of the " + id + " snapshot: " + out["verdict"].get<std::string>() + " (" +
         out["first_row"].get<std::string>() + ")");
    return out;
  }

  // Seconds of each retrieval step, from the engine log's "retrieval: ..." lines (timestamps to
  // the millisecond) and the durations the residue steps log themselves ("... in X s").
  static Json MaskingSteps(const std::string& log) {
    struct Line {
      double ms;
      std::string text;
    };
    std::vector<Line> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      size_t at = line.find(" retrieval: ");
      std::tm tm{};
      if (at == std::string::npos || line.size() < 23 ||
          !strptime(line.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
        continue;
      }
      double ms = double(timegm(&tm)) * 1000 + std::atof(line.substr(19, 4).c_str()) * 1000;
      lines.push_back({ms, line.substr(at + 12)});
    }
    auto find = [&](auto match) -> const Line* {
      for (const auto& line : lines) {
        if (match(line.text)) return &line;
      }
      return nullptr;
    };
    auto starting = [&](const std::string& prefix, const std::string& without = "\x01") {
      return find([&](const std::string& t) {
        return t.rfind(prefix, 0) == 0 && t.find(without) == std::string::npos;
      });
    };
    auto logged_s = [](const Line* line) {  // "... in X s"
      size_t at = line->text.rfind(" in ");
      return at == std::string::npos ? 0.0 : std::atof(line->text.c_str() + at + 4);
    };
    const Line* begin = starting("full refresh started");
    if (!begin && !lines.empty()) begin = &lines.front();
    const Line* dump = starting("pg_dump: ");
    const Line* initdb = starting("initdb: ");
    const Line* server = starting("starting restore server");
    const Line* restore = starting("pg_restore: ");
    // Without masking the engine skips the residue scan: no sample, no gate (one line instead).
    const Line* skipped = starting("residue: scan skipped");
    const Line* sampled = starting("residue: sampled ");
    const Line* mask_first = starting("masking rules: ", " columns masked");
    const Line* mask_done = find([](const std::string& t) {
      return t.rfind("masking rules: ", 0) == 0 && t.find(" columns masked") != std::string::npos;
    });
    const Line* rewrite_first = starting("residue: rewriting ");
    const Line* after = starting("residue: masking replaced ");
    const Line* stop = starting("stopping restore server");
    const Line* wal = starting("residue: a fresh WAL");
    const Line* gate = starting("residue gate: ");
    const Line* snapshot = starting("snapshot ", " is ready");
    const Line* ready = find([](const std::string& t) {
      return t.rfind("snapshot ", 0) == 0 && t.find(" is ready") != std::string::npos;
    });
    std::vector<const Line*> needed = {begin, dump, initdb,   server, restore,
                                       stop,  wal,  snapshot, ready};
    if (!skipped) needed.insert(needed.end(), {sampled, after, gate});
    for (const Line* line : needed) {
      if (!line) throw std::runtime_error("the engine log lacks a retrieval step:\n" + Tail(log));
    }
    auto s = [](double ms) { return std::round(ms / 10) / 100; };
    double sample_ms = sampled ? logged_s(sampled) * 1000 : 0;
    double after_ms = after ? logged_s(after) * 1000 : 0;
    double gate_ms =
        !gate || gate->text.find(" hits") == std::string::npos ? 0 : logged_s(gate) * 1000;
    double rewrite_ms = rewrite_first && after ? after->ms - rewrite_first->ms : 0;
    const Line* masking_start = sampled ? sampled : skipped;  // the first step after the restore
    double after_wal_ms = gate ? gate->ms - gate_ms : snapshot->ms;
    double gate_mib = 0, gate_files = 0, gate_hits = 0;
    if (gate_ms > 0) {  // "looked for N originals in F files (M MiB) in X s: H hits"
      const std::string& t = gate->text;
      gate_files = std::atof(t.c_str() + t.find(" originals in ") + 14);
      gate_mib = std::atof(t.c_str() + t.find(" files (") + 8);
      gate_hits = std::atof(t.c_str() + t.rfind(": ") + 2);
    }
    return Json{
        {"connect_and_inspect", s(dump->ms - begin->ms)},
        {"dump", s(initdb->ms - dump->ms)},
        {"initdb", s(server->ms - initdb->ms)},
        {"start_restore_server", s(restore->ms - server->ms)},
        {"restore", s(masking_start->ms - sample_ms - restore->ms)},
        {"residue_scan_skipped", skipped != nullptr},
        {"residue_sample", s(sample_ms)},
        {"masking_prepare", s(mask_first ? mask_first->ms - masking_start->ms : 0)},
        {"masking_updates", s(mask_first && mask_done ? mask_done->ms - mask_first->ms : 0)},
        {"residue_find_originals", s(after_ms - rewrite_ms)},
        {"residue_rewrite", s(rewrite_ms)},
        {"stop_restore_server", s(wal->ms - stop->ms)},
        {"fresh_wal", s(after_wal_ms - wal->ms)},
        {"gate", s(gate_ms)},
        {"gate_files", gate_files},
        {"gate_mib", gate_mib},
        {"gate_hits", gate_hits},
        {"snapshot", s(ready->ms - snapshot->ms)},
        {"total", s(ready->ms - begin->ms)}};
  }

  void SummarizeMasking() {
    const Json& unmasked = result_["runs"]["unmasked"];
    const Json& masked = result_["runs"]["masked"];
    auto step = [](const Json& run, const char* key) { return run["steps_s"][key].get<double>(); };
    auto r2 = [](double v) { return std::round(v * 100) / 100; };
    double before = unmasked["retrieval_s"].get<double>();
    double after = masked["retrieval_s"].get<double>();
    double updates = step(masked, "masking_updates");
    double work = step(masked, "residue_sample") + step(masked, "masking_prepare") + updates +
                  step(masked, "residue_find_originals") + step(masked, "residue_rewrite") +
                  step(masked, "fresh_wal") + step(masked, "gate");
    double unmasked_work =
        step(unmasked, "residue_sample") + step(unmasked, "residue_find_originals") +
        step(unmasked, "residue_rewrite") + step(unmasked, "fresh_wal") + step(unmasked, "gate");
    result_["summary"] = Json{
        {"scale", scale_},
        {"users", o_.users},
        {"unmasked_retrieval_s", before},
        {"masked_retrieval_s", after},
        {"ratio_masked_to_unmasked", r2(after / before)},
        {"masking_extra_s", r2(after - before)},
        {"residue_sample_s", step(masked, "residue_sample")},
        {"masking_updates_s", updates},
        {"masked_rows_per_s", updates > 0 ? std::round(o_.users / updates) : 0.0},
        {"residue_find_originals_s", step(masked, "residue_find_originals")},
        {"residue_rewrite_s", step(masked, "residue_rewrite")},
        {"fresh_wal_s", step(masked, "fresh_wal")},
        {"gate_s", step(masked, "gate")},
        {"gate_mib", step(masked, "gate_mib")},
        {"masking_cleanup_gate_s", r2(work)},
        {"masking_cleanup_gate_share_of_masked_retrieval", r2(work / after)},
        {"unmasked_residue_steps_s", r2(unmasked_work)},
        {"masked_clone_original_values_found",
         masked["clone_check"]["known_original_emails_found"].get<int64_t>() +
             masked["clone_check"]["rows_with_original_email"].get<int64_t>() +
             masked["clone_check"]["rows_with_original_name"].get<int64_t>() +
             masked["clone_check"]["rows_with_original_phone"].get<int64_t>() +
             masked["clone_check"]["rows_with_note"].get<int64_t>()},
        {"masked_clone_marker_bytes_found", [&] {
           int64_t total = 0;
           for (auto& [marker, hits] : masked["clone_check"]["file_scan"]["marker_hits"].items())
             total += hits.get<int64_t>();
           return total;
         }()}};
  }

  const Options& o_;
  int scale_;
  std::string dir_, src_;
  int src_port_ = 0, api_port_ = 0, port_from_ = 0;
  pid_t src_pid_ = 0;
  std::string source_password_, dev_password_, token_, snapshot_id_;
  double db_bytes_ = 0, datadir_bytes_ = 0;
  std::unique_ptr<Api> api_;
  Stats create_, reset_, destroy_, floor_;
  std::map<std::string, std::string> clone_settings_;
  std::string backend_;  // poolManager.backend; "" = the default
  // --masking: a few original emails as an SQL list, and how many.
  std::string known_originals_;
  int known_count_ = 0;
  Json result_;
};

// ---------------------------------------------------------------------------------------------
// Output: table, JSON, plot

void PrintTable(const Json& r) {
  const Json& d = r["dblab"];
  const Json& s = r["summary"];
  const Json& c = r["concurrency"];
  std::printf("\n== pgbench scale %d: database %s MiB, data directory %s MiB ==\n",
              r["scale"].get<int>(), Mib(r["database_bytes"].get<double>()).c_str(),
              Mib(r["data_dir_bytes"].get<double>()).c_str());
  std::printf("%-44s %9s %9s %9s %9s %4s %9s\n", "time to first query (ms)", "p50", "p95", "min",
              "max", "n", "x dblab");
  auto row = [](const std::string& label, const Json& j, const Json& ratio) {
    std::printf("%-44s %9.0f %9.0f %9.0f %9.0f %4d %9s\n", label.c_str(), j["p50"].get<double>(),
                j["p95"].get<double>(), j["min"].get<double>(), j["max"].get<double>(),
                j["n"].get<int>(),
                ratio.is_number() ? (Fixed(ratio.get<double>(), 1) + "x").c_str() : "");
  };
  row("dblab clone create (API call -> query)", d["create_ms"], nullptr);
  row("dblab clone reset after writes (-> query)", d["reset_ms"], nullptr);
  row("dblab clone destroy (-> 404, port free)", d["destroy_ms"], nullptr);
  if (d.contains("destroy_data_ms")) {
    row("  ... and its data deleted (background)", d["destroy_data_ms"], nullptr);
  }
  row("floor: bare postgres start (-> query)", r["floor_ms"], nullptr);
  for (auto& [key, alt] : r["alternatives"].items()) {
    row(alt["label"].get<std::string>(), alt, alt["ratio_p50_to_dblab_create_p50"]);
  }
  std::printf("create p50 %.0f ms = floor %.0f ms %+.0f ms; reset p50 %.0f ms = floor %+.0f ms\n",
              s["create_p50_ms"].get<double>(), s["floor_p50_ms"].get<double>(),
              s["create_p50_minus_floor_ms"].get<double>(), s["reset_p50_ms"].get<double>(),
              s["reset_p50_minus_floor_ms"].get<double>());
  std::printf("%d clones requested at once: all ready after %.0f ms (per clone p50 %.0f ms)\n",
              c["at_once"].get<int>(), c["at_once_all_ready_ms"].get<double>(),
              c["at_once_per_clone_ms"]["p50"].get<double>());
  std::printf(
      "%d clones alive: private memory per idle clone p50 %.2f MiB (Pss %.2f MiB); fresh clone "
      "disk %.0f KiB exclusive (btrfs du), %.0f KiB by df; GET /status p50 %.2f ms, p99 %.2f ms "
      "(during the %d creates: p99 %.2f ms)\n",
      c["alive"].get<int>(), c["private_mib_per_idle_clone"]["p50"].get<double>(),
      c["pss_mib_per_idle_clone"]["p50"].get<double>(),
      c["disk_exclusive_bytes_per_fresh_clone"]["p50"].get<double>() / 1024,
      c["disk_df_bytes_per_fresh_clone"].get<double>() / 1024,
      c["status_latency_alive_ms"]["p50"].get<double>(),
      c["status_latency_alive_ms"]["p99"].get<double>(), c["at_once"].get<int>(),
      c["status_latency_during_creates_ms"]["p99"].is_number()
          ? c["status_latency_during_creates_ms"]["p99"].get<double>()
          : NAN);
  std::fflush(stdout);
}

std::string PlotValue(const Json& j) {
  return j.is_object() && j["p50"].is_number() ? Fixed(j["p50"].get<double>(), 1) : "NaN";
}

bool Plot(const std::vector<Json>& results, const Json& machine, const std::string& out_dir,
          const std::string& work_dir) {
  std::ostringstream gp;
  std::string title = "time to a usable copy (median) - " + machine["cpu"].get<std::string>() +
                      ", " + std::to_string(machine["cores"].get<unsigned>()) + " cores, " +
                      Fixed(machine["memory_gb"].get<double>(), 0) + " GB";
  std::string note = machine["note"].get<std::string>();
  for (char& ch : title)
    if (ch == '"') ch = '\'';
  for (char& ch : note)
    if (ch == '"') ch = '\'';
  gp << "set terminal pngcairo size 1000,640 font 'sans,10'\n"
     << "set output \"" << out_dir << "/clone-time.png\"\n"
     << "set title \"" << title << (note.empty() ? "" : "\\n" + note) << "\"\n"
     << "set logscale xy\nset grid xtics ytics mxtics mytics\n"
     << "set xlabel 'database size (MiB, pgbench scale in labels)'\n"
     << "set ylabel 'ms to the first query (log)'\nset key outside right top\n"
     << "set format y '%g'\nset format x '%g'\n"
     << "$data << EOD\n"
     << "# mib scale create reset floor wal file cp dump\n";
  for (const auto& r : results) {
    const Json& alt = r["alternatives"];
    auto a = [&alt](const char* key) { return alt.contains(key) ? PlotValue(alt[key]) : "NaN"; };
    gp << Fixed(r["database_bytes"].get<double>() / 1048576.0, 1) << " " << r["scale"] << " "
       << PlotValue(r["dblab"]["create_ms"]) << " " << PlotValue(r["dblab"]["reset_ms"]) << " "
       << PlotValue(r["floor_ms"]) << " " << a("template_wal_log") << " " << a("template_file_copy")
       << " " << a("cp_start") << " " << a("dump_restore") << "\n";
  }
  gp << "EOD\n"
     << "plot $data using 1:3 with linespoints lw 2 pt 7 title 'dblab clone create', \\\n"
     << "  '' using 1:4 with linespoints lw 2 pt 5 title 'dblab clone reset', \\\n"
     << "  '' using 1:5 with linespoints dt 2 pt 1 title 'bare postgres start (floor)', \\\n"
     << "  '' using 1:6 with linespoints pt 9 title 'CREATE DATABASE TEMPLATE (WAL\\_LOG)', \\\n"
     << "  '' using 1:7 with linespoints pt 11 title 'CREATE DATABASE TEMPLATE (FILE\\_COPY)', \\\n"
     << "  '' using 1:8 with linespoints pt 13 title 'cp -a PGDATA + start', \\\n"
     << "  '' using 1:9 with linespoints pt 3 title 'pg\\_dump -Fd + pg\\_restore -j', \\\n"
     << "  '' using 1:3:(sprintf('scale %d', $2)) with labels offset 0,-1.2 font ',8' notitle\n";
  fs::create_directories(work_dir);
  std::string script = work_dir + "/clone-time.gp";
  WriteFile(script, gp.str());
  try {
    RunCommand({"gnuplot", script}, {.cwd = work_dir});
    return true;
  } catch (const std::exception& e) {
    Log(std::string("plot failed (is gnuplot-nox installed?): ") + e.what());
    return false;
  }
}

std::string Today() {
  std::time_t now = std::time(nullptr);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", std::localtime(&now));
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// --masking: output

void PrintMaskingTable(const Json& r) {
  const Json& u = r["runs"]["unmasked"];
  const Json& m = r["runs"]["masked"];
  const Json& s = r["summary"];
  std::printf(
      "\n== masking: pgbench scale %d + %d users rows (database %s MiB; users %s MiB, of "
      "which TOAST %s MiB) ==\n",
      r["scale"].get<int>(), r["users"].get<int>(), Mib(r["database_bytes"].get<double>()).c_str(),
      Mib(r["users_bytes"].get<double>()).c_str(),
      Mib(r["users_toast_bytes"].get<double>()).c_str());
  std::printf("%-52s %10s %10s\n", "logical retrieval to the first snapshot (s)", "unmasked",
              "masked");
  auto row = [&](const char* label, double a, double b) {
    std::printf("%-52s %10.2f %10.2f\n", label, a, b);
  };
  auto step = [&](const char* label, const char* key) {
    row(label, u["steps_s"][key].get<double>(), m["steps_s"][key].get<double>());
  };
  row("total: engine start -> snapshot listed", u["retrieval_s"].get<double>(),
      m["retrieval_s"].get<double>());
  step("  retrieval in the engine log", "total");
  step("  pg_dump", "dump");
  step("  initdb of main data", "initdb");
  step("  start the restore server", "start_restore_server");
  step("  pg_restore", "restore");
  step("  residue: sample of the originals", "residue_sample");
  step("  masking: rules checked against the catalog", "masking_prepare");
  step("  masking: UPDATE users (4 columns)", "masking_updates");
  step("  residue: find the replaced originals", "residue_find_originals");
  step("  residue: rewrite (VACUUM FULL, ANALYZE, stats)", "residue_rewrite");
  step("  stop the restore server", "stop_restore_server");
  step("  residue: fresh WAL, temp files", "fresh_wal");
  step("  residue gate (scan of the snapshot's files)", "gate");
  step("  snapshot (sync + btrfs snapshot)", "snapshot");
  std::printf(
      "masked / unmasked retrieval: x%.2f (%+.1f s); masking + cleanup + gate %.1f s = "
      "%.0f %% of the masked retrieval\n",
      s["ratio_masked_to_unmasked"].get<double>(), s["masking_extra_s"].get<double>(),
      s["masking_cleanup_gate_s"].get<double>(),
      s["masking_cleanup_gate_share_of_masked_retrieval"].get<double>() * 100);
  std::printf("masking UPDATE: %.0f rows/s; gate: %.0f MiB in %.2f s, %.0f hits\n",
              s["masked_rows_per_s"].get<double>(), s["gate_mib"].get<double>(),
              s["gate_s"].get<double>(), m["steps_s"]["gate_hits"].get<double>());
  const Json& c = m["clone_check"];
  std::printf(
      "clone of the masked snapshot: %lld of %d known original emails, %lld values with "
      "an original marker in SQL, %lld marker hits in %lld files (%s MiB)\n",
      static_cast<long long>(c["known_original_emails_found"].get<int64_t>()),
      c["known_original_emails"].get<int>(),
      static_cast<long long>(s["masked_clone_original_values_found"].get<int64_t>()),
      static_cast<long long>(s["masked_clone_marker_bytes_found"].get<int64_t>()),
      static_cast<long long>(c["file_scan"]["files"].get<int64_t>()),
      Mib(c["file_scan"]["bytes"].get<double>()).c_str());
  std::printf("load average: %s at the start, %s at the end\n",
              r["load_average_start"].get<std::string>().c_str(),
              r["load_average_end"].get<std::string>().c_str());
  std::fflush(stdout);
}

// One source per scale, two retrievals each; <out>/<date>-masking-scale<N>.json per scale and
// <out>/<date>-masking-summary.json.
int RunMaskingBench(const Options& o, const Json& machine, const std::string& pg_version,
                    const std::string& engine_version, const std::string& date) {
  std::vector<Json> results;
  int exit_code = 0;
  try {
    for (int scale : o.scales) {
      ScaleBench bench(o, scale);
      Json r;
      r["date"] = date;
      r["mode"] = "masking";
      r["machine"] = machine;
      r["postgres"] = pg_version;
      r["engine"] = engine_version;
      r["quick"] = o.quick;
      r["jobs"] = o.jobs;
      r["masking_rules"] = {"public.users.email: fake_email", "public.users.full_name: fake_name",
                            "public.users.phone: partial [2, XXXX, 2]", "public.users.note: null"};
      r.update(bench.RunMasking());
      std::string path =
          o.out_dir + "/" + date + "-masking-scale" + std::to_string(scale) + ".json";
      WriteFile(path, r.dump(2) + "\n");
      Log("wrote " + path);
      results.push_back(r);
      PrintMaskingTable(r);
    }
  } catch (const std::exception& e) {
    Log(std::string("FAILED: ") + e.what());
    exit_code = 1;
  }
  CleanupAll();
  if (exit_code == 0 && !results.empty()) {
    Json per_scale = Json::object();
    for (const auto& r : results) per_scale[std::to_string(r["scale"].get<int>())] = r["summary"];
    Json summary{{"date", date},           {"machine", machine},
                 {"postgres", pg_version}, {"engine", engine_version},
                 {"per_scale", per_scale}, {"load_average_end", LoadAverage()}};
    WriteFile(o.out_dir + "/" + date + "-masking-summary.json", summary.dump(2) + "\n");
    std::printf("results: %s/%s-masking-*.json\n", o.out_dir.c_str(), date.c_str());
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"dblab-bench: clone create/reset/destroy against the floor and the alternatives"};
  app.add_option("--scales", o.scales, "pgbench scales")->delimiter(',')->capture_default_str();
  app.add_flag("--large", o.large, "also scale 600 (~9 GB) if the disk allows");
  app.add_option("--runs", o.runs, "runs per dblab measurement and for the floor")
      ->capture_default_str();
  app.add_option("--alt-runs", o.alt_runs, "runs per alternative (0: none)")->capture_default_str();
  app.add_option("--at-once", o.at_once, "clones requested at once")->capture_default_str();
  app.add_option("--alive", o.alive, "clones alive at once")->capture_default_str();
  app.add_option("--status-samples", o.status_samples, "GET /status requests with clones alive")
      ->capture_default_str();
  app.add_option("--warm-pool", o.warm_pool, "the engine's provision.warmPool (0 = cold creates)")
      ->capture_default_str()
      ->check(CLI::Range(0, 50));
  app.add_flag("--quick", o.quick, "scale 10, 3 runs, 5 at once, 10 alive (checks end to end)");
  app.add_option("--engine", o.engine, "dblab-engine binary")->required();
  app.add_option("--work-dir", o.work_dir, "empty directory under /tmp for everything started")
      ->required();
  app.add_option("--out", o.out_dir, "where the JSON results and the plot go")->required();
  app.add_option("--pg-bin", o.pg_bin,
                 "PostgreSQL server binaries of the source and the floor (another major: "
                 "/usr/lib/dblab/pg/<major>/bin; client tools missing there come from 15 and 18)")
      ->capture_default_str();
  app.add_option("--jobs", o.jobs, "-j for pg_dump/pg_restore and retrieval")
      ->capture_default_str();
  app.add_option("--note", o.note, "a note stored with the results (e.g. 'machine busy')");
  app.add_flag("--write", o.write,
               "write speed in a clone vs the same PostgreSQL on the host's filesystem");
  app.add_option("--write-seconds", o.write_seconds, "pgbench -T per run with --write")
      ->capture_default_str();
  app.add_option("--backends", o.backends, "with --write: poolManager.backend values to compare")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--clone-wal-dir", o.clone_wal_dir,
                 "the engine's provision.cloneWalDir (auto, off)");
  app.add_flag("--masking", o.masking,
               "retrieval time without and with masking rules: pgbench data plus a users table "
               "(default scale 100; with --quick scale 1 and 5,000 users)");
  app.add_option("--users", o.users, "with --masking: rows of the users table")
      ->capture_default_str()
      ->check(CLI::Range(100, 100000000));
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    o.scales = {10};
    o.runs = 3;
    o.alt_runs = 3;
    o.at_once = 5;
    o.alive = 10;
    o.status_samples = 200;
    o.large = false;
  }
  if (o.masking && o.quick) {
    o.scales = {1};
    if (!app.count("--users")) o.users = 5000;
  } else if (o.masking && !app.count("--scales")) {
    o.scales = {100};
  }
  if (geteuid() != 0) {
    std::cerr << "dblab-bench must run as root (the engine mounts a pool)\n";
    return 2;
  }
  if (o.alive < o.at_once || o.runs < 1 || o.alt_runs < 0) {
    std::cerr << "need --alive >= --at-once, at least one run and --alt-runs >= 0\n";
    return 2;
  }
  o.work_dir = fs::weakly_canonical(o.work_dir).string();
  if (o.work_dir.rfind("/tmp/", 0) != 0 || o.work_dir.size() > 40) {
    std::cerr << "--work-dir must be a short path under /tmp (unix socket paths are limited)\n";
    return 2;
  }
  g_work_dir = o.work_dir;
  fs::create_directories(o.work_dir);
  chmod(o.work_dir.c_str(), 0755);
  fs::create_directories(o.out_dir);
  o.out_dir = fs::canonical(o.out_dir).string();
  if (chdir("/") != 0) return 2;

  // SIGINT/SIGTERM/SIGHUP: clean up everything, then exit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);  // even if started with &
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::thread([signals] {
    int received = 0;
    sigwait(&signals, &received);
    g_stopping = true;
    Log(std::string("received ") + strsignal(received) + ": cleaning up");
    CleanupAll();
    std::_Exit(128 + received);
  }).detach();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  Json machine = MachineInfo(o.note);
  if (o.large) {
    // Source + floor copy + pool main data + one alternative's copy + dump, with room to spare.
    double need = 600.0 * 16 * 1048576 * 5 + 5.0 * 1073741824;
    double have = AvailableBytes(o.work_dir);
    if (have >= need) {
      o.scales.push_back(o.large_scale);
    } else {
      Log("--large: skipping scale " + std::to_string(o.large_scale) + ": " + Mib(have) +
          " MiB free in /tmp, need about " + Mib(need) + " MiB");
    }
  }
  std::string pg_version =
      Trim(RunCommand({o.pg_bin + "/postgres", "--version"}, {.cwd = o.work_dir}));
  std::string engine_version = Trim(RunCommand({o.engine, "--version"}, {.cwd = o.work_dir}));
  std::vector<Json> results;
  int exit_code = 0;
  std::string date = Today();
  if (o.masking) {
    exit_code = RunMaskingBench(o, machine, pg_version, engine_version, date);
    curl_global_cleanup();
    return exit_code;
  }
  if (o.write) {
    Json summary{{"date", date},
                 {"machine", machine},
                 {"postgres", pg_version},
                 {"engine", engine_version},
                 {"runs", o.runs},
                 {"clone_wal_dir", o.clone_wal_dir.empty() ? "auto" : o.clone_wal_dir}};
    Json rows = Json::array();
    try {
      for (int scale : o.scales) {
        for (const auto& backend : o.backends) {
          ScaleBench bench(o, scale);
          Json r = bench.RunWrite(backend);
          r["date"] = date;
          r["machine"] = machine;
          r["postgres"] = pg_version;
          r["engine"] = engine_version;
          r["runs"] = o.runs;
          r["clone_wal_dir"] = o.clone_wal_dir.empty() ? "auto" : o.clone_wal_dir;
          std::string path = o.out_dir + "/" + date + "-write-" + backend +
                             (o.clone_wal_dir.empty() ? "" : "-wal-" + o.clone_wal_dir) + "-scale" +
                             std::to_string(scale) + ".json";
          WriteFile(path, r.dump(2) + "\n");
          Log("wrote " + path);
          const Json& w = r["write"];
          rows.push_back({{"scale", scale},
                          {"backend", backend},
                          {"clone_tps_p50", w["clone_tps"]["p50"]},
                          {"host_tps_p50", w["host_tps"]["p50"]},
                          {"tps_ratio", w["tps_ratio_clone_to_host_p50"]},
                          {"clone_update_ms_p50", w["clone_full_update_ms"]["p50"]},
                          {"host_update_ms_p50", w["host_full_update_ms"]["p50"]},
                          {"update_speed_ratio", w["update_speed_ratio_clone_to_host_p50"]}});
        }
      }
    } catch (const std::exception& e) {
      Log(std::string("FAILED: ") + e.what());
      exit_code = 1;
    }
    CleanupAll();
    summary["rows"] = rows;
    std::printf("\n== write speed in a clone vs the host's filesystem (p50 of %d runs) ==\n",
                o.runs);
    for (const auto& row : rows) {
      std::printf(
          "scale %4d %-8s pgbench %6.0f vs %6.0f tps (x%.2f) | UPDATE+CHECKPOINT x2 %6.0f vs %6.0f "
          "ms (speed x%.2f)\n",
          row["scale"].get<int>(), row["backend"].get<std::string>().c_str(),
          row["clone_tps_p50"].get<double>(), row["host_tps_p50"].get<double>(),
          row["tps_ratio"].get<double>(), row["clone_update_ms_p50"].get<double>(),
          row["host_update_ms_p50"].get<double>(), row["update_speed_ratio"].get<double>());
    }
    if (!rows.empty()) {
      WriteFile(o.out_dir + "/" + date + "-write" +
                    (o.clone_wal_dir.empty() ? "" : "-wal-" + o.clone_wal_dir) + "-summary.json",
                summary.dump(2) + "\n");
    }
    curl_global_cleanup();
    return exit_code;
  }
  try {
    for (int scale : o.scales) {
      ScaleBench bench(o, scale);
      Json r;
      r["date"] = date;
      r["machine"] = machine;
      r["postgres"] = pg_version;
      r["engine"] = engine_version;
      r["runs"] = o.runs;
      r["alternative_runs"] = o.alt_runs;
      r["quick"] = o.quick;
      r["warm_pool"] = o.warm_pool;
      r.update(bench.Run());
      std::string path = o.out_dir + "/" + date + "-scale" + std::to_string(scale) + ".json";
      WriteFile(path, r.dump(2) + "\n");
      Log("wrote " + path);
      results.push_back(r);
      PrintTable(r);
    }
  } catch (const std::exception& e) {
    Log(std::string("FAILED: ") + e.what());
    exit_code = 1;
  }
  CleanupAll();

  if (exit_code == 0 && !results.empty()) {
    Json summary{
        {"date", date}, {"machine", machine}, {"postgres", pg_version}, {"engine", engine_version}};
    Json per_scale = Json::object();
    for (const auto& r : results) per_scale[std::to_string(r["scale"].get<int>())] = r["summary"];
    summary["per_scale"] = per_scale;
    std::printf("\n== summary (%s; %s, %u cores, %.0f GB; load average %s at the end) ==\n",
                date.c_str(), machine["cpu"].get<std::string>().c_str(),
                machine["cores"].get<unsigned>(), machine["memory_gb"].get<double>(),
                LoadAverage().c_str());
    for (const auto& r : results) {
      const Json& s = r["summary"];
      std::printf(
          "scale %4d: create p50 %5.0f ms (floor %4.0f, %+4.0f ms), reset p50 %5.0f ms (%+4.0f "
          "ms), destroy p50 %4.0f ms | x dblab create:",
          r["scale"].get<int>(), s["create_p50_ms"].get<double>(), s["floor_p50_ms"].get<double>(),
          s["create_p50_minus_floor_ms"].get<double>(), s["reset_p50_ms"].get<double>(),
          s["reset_p50_minus_floor_ms"].get<double>(), s["destroy_p50_ms"].get<double>());
      for (auto& [key, ratio] : s["alternative_to_dblab_create_ratio"].items()) {
        std::printf(" %s %.1fx", key.c_str(), ratio.get<double>());
      }
      std::printf("\n");
    }
    auto find = [&](int scale) -> const Json* {
      for (const auto& r : results) {
        if (r["scale"].get<int>() == scale) return &r;
      }
      return nullptr;
    };
    if (const Json* small = find(10), *big = find(100); small && big) {
      double a = (*small)["summary"]["create_p50_ms"].get<double>();
      double b = (*big)["summary"]["create_p50_ms"].get<double>();
      summary["create_p50_scale100_vs_scale10"] = {
          {"scale10_ms", a}, {"scale100_ms", b}, {"ratio", std::round(b / a * 100) / 100}};
      std::printf("create p50 at scale 100 vs scale 10: %.0f ms vs %.0f ms (x%.2f, %+.0f ms)\n", b,
                  a, b / a, b - a);
    }
    bool plotted = Plot(results, machine, o.out_dir, o.work_dir);
    summary["plot"] = plotted ? "clone-time.png" : "";
    WriteFile(o.out_dir + "/" + date + "-summary.json", summary.dump(2) + "\n");
    std::printf("results: %s/%s-*.json%s\n", o.out_dir.c_str(), date.c_str(),
                plotted ? (", plot: " + o.out_dir + "/clone-time.png").c_str() : "");
    if (!plotted) exit_code = 3;
    // The plot script lived in the work dir.
    CleanupAll();
  }
  curl_global_cleanup();
  return exit_code;
}
