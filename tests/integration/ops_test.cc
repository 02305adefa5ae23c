// Operating an instance the DLE way, on the real engine: retrieval state, admin config, source
// tests, Prometheus metrics scraped by a real Prometheus, webhooks to a receiver in the test,
// the migration observer and the live log stream (a WebSocket client in the test).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "client/log_stream_client.h"
#include "engine_fixture.h"

namespace dblab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One request with curl(1); the token is sent when given.
HttpAnswer Http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::string& token = "") {
  std::vector<std::string> argv = {"curl",           "-sS",        "-X", method, "-w",
                                   "\n%{http_code}", "--max-time", "30"};
  if (!token.empty()) {
    argv.push_back("-H");
    argv.push_back("Verification-Token: " + token);
  }
  if (!body.empty()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
  }
  argv.push_back(url);
  CommandResult result = RunCommand(argv);
  HttpAnswer answer;
  size_t newline = result.out.rfind('\n');
  if (newline == std::string::npos) return answer;
  answer.body = result.out.substr(0, newline);
  answer.status = std::atoi(result.out.c_str() + newline + 1);
  return answer;
}

// A listening socket on 127.0.0.1 and a free port.
int Listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  listen(fd, 16);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

// The webhook receiver: records each POST (headers in lower case, body) and answers 200. With
// `answer` false it is a black hole: it accepts and never answers.
class Receiver {
 public:
  struct Delivery {
    std::map<std::string, std::string> headers;
    std::string body;
  };
  explicit Receiver(bool answer) : answer_(answer) {
    fd_ = Listen(&port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int client : held_) close(client);
  }
  int port() const { return port_; }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }
  size_t connections() const { return connections_; }

 private:
  void Loop() {
    while (!stopping_) {
      int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      ++connections_;
      if (!answer_) {
        held_.push_back(client);
        continue;
      }
      std::string data;
      char buffer[4096];
      size_t header_end = std::string::npos;
      size_t content_length = 0;
      while (true) {
        ssize_t n = read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        data.append(buffer, static_cast<size_t>(n));
        if (header_end == std::string::npos &&
            (header_end = data.find("\r\n\r\n")) != std::string::npos) {
          std::string lower = data.substr(0, header_end);
          for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          size_t at = lower.find("content-length:");
          if (at != std::string::npos) content_length = std::stoul(lower.substr(at + 15));
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
          break;
        }
      }
      Delivery delivery;
      if (header_end != std::string::npos) {
        std::istringstream lines(data.substr(0, header_end));
        std::string line;
        std::getline(lines, line);  // request line
        while (std::getline(lines, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          size_t colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          delivery.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        delivery.body = data.substr(header_end + 4);
      }
      const char* reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(client, reply, strlen(reply));
      close(client);
      std::lock_guard lock(mutex_);
      deliveries_.push_back(std::move(delivery));
    }
  }

  bool answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::vector<int> held_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Delivery> deliveries_;
};

class OpsTest : public EngineFixture {
 protected:
  HttpAnswer Api(const std::string& method, const std::string& path, const std::string& body = "") {
    return Http(method, Url() + path, body, kToken);
  }
  nlohmann::json ApiJson(const std::string& method, const std::string& path,
                         const std::string& body = "") {
    HttpAnswer answer = Api(method, path, body);
    EXPECT_EQ(answer.status, 200) << method << " " << path << ": " << answer.body;
    auto json = nlohmann::json::parse(answer.body, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << answer.body;
    return json;
  }
};

TEST_F(OpsTest, RetrievalStateAndHealthzAnswerAsDle) {
  StartEngineAndWaitForSnapshot();
  EXPECT_EQ(Http("POST", Url() + "/healthz").status, 200);
  EXPECT_EQ(Http("POST", Url() + "/api/healthz").status, 200);

  for (const char* path : {"/instance/retrieval", "/api/instance/retrieval"}) {
    nlohmann::json retrieval = ApiJson("GET", path);
    EXPECT_EQ(retrieval["mode"], "logical") << retrieval.dump();
    EXPECT_EQ(retrieval["status"], "finished");
    EXPECT_TRUE(retrieval["lastRefresh"].is_string());
    EXPECT_TRUE(retrieval["nextRefresh"].is_null());
    EXPECT_EQ(retrieval["alerts"], nlohmann::json::object());
    EXPECT_TRUE(retrieval.contains("activity") && retrieval.contains("currentJob"));
  }
  EXPECT_EQ(Http("GET", Url() + "/instance/retrieval").status, 401);
}

TEST_F(OpsTest, RetrievalActivityListsTheSessionsOnTheRestoreTarget) {
  // logicalRestore's preprocessing sleeps on the restore target: long enough to be seen there.
  WriteConfig(
      "    logicalRestore:\n      options:\n        queryPreprocessing:\n"
      "          inline: \"SELECT pg_sleep(3)\"\n");
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  nlohmann::json seen;
  std::string last;
  for (int i = 0; i < 1800 && seen.is_null(); ++i) {
    HttpAnswer answer = Api("GET", "/instance/retrieval");
    nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
    if (body.is_object() && body["activity"].is_object()) {
      last = body["activity"].dump();
      for (const auto& session : body["activity"]["target"]) {
        if (session.value("query", "").find("pg_sleep") != std::string::npos) seen = session;
      }
    }
    if (body.is_object() && (body["status"] == "finished" || body["status"] == "failed")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(seen.is_null()) << "last activity: " << last << "\n" << engine_.Log();
  // DLE's PGActivityEvent.
  EXPECT_EQ(seen["user"], "postgres");
  EXPECT_EQ(seen["query"], "SELECT pg_sleep(3)");
  EXPECT_TRUE(seen["duration"].is_number());
  EXPECT_EQ(seen["waitEventType"], "Timeout");
  EXPECT_EQ(seen["waitEvent"], "PgSleep");
  InitCli();
  ASSERT_TRUE(WaitForSnapshot()) << engine_.Log();
  EXPECT_TRUE(ApiJson("GET", "/instance/retrieval")["activity"].is_null());
}

TEST_F(OpsTest, AdminConfigMasksSecretsAndChangesOnlyLiveKeys) {
  StartEngineAndWaitForSnapshot();
  nlohmann::json config = ApiJson("GET", "/admin/config");
  EXPECT_EQ(config["retrieval"]["spec"]["logicalDump"]["options"]["source"]["connection"]["port"],
            source_.port);
  EXPECT_THAT(config.dump(), Not(HasSubstr(source_.password)));

  HttpAnswer yaml = Api("GET", "/admin/config.yaml");
  ASSERT_EQ(yaml.status, 200);
  EXPECT_THAT(yaml.body, HasSubstr("****"));
  EXPECT_THAT(yaml.body, Not(HasSubstr(source_.password)));
  EXPECT_THAT(yaml.body, Not(HasSubstr(kToken)));
  EXPECT_THAT(yaml.body, HasSubstr("logicalDump"));

  HttpAnswer refused = Api("POST", "/admin/config",
                           R"({"databaseConfigs": {"configs": {"shared_buffers": "1GB"}}})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("databaseConfigs.configs.shared_buffers"));

  nlohmann::json changed =
      ApiJson("POST", "/admin/config", R"({"retrieval": {"refresh": {"timetable": "0 3 * * *"}}})");
  EXPECT_EQ(changed["retrieval"]["refresh"]["timetable"], "0 3 * * *");
  nlohmann::json retrieval;
  for (int i = 0; i < 50; ++i) {
    retrieval = ApiJson("GET", "/instance/retrieval");
    if (retrieval["nextRefresh"].is_string()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(retrieval["nextRefresh"].get<std::string>(), HasSubstr("T03:00:00Z"));
  EXPECT_EQ(
      Api("POST", "/admin/config", R"({"retrieval": {"refresh": {"timetable": "61 * * * *"}}})")
          .status,
      400);
}

TEST_F(OpsTest, TestDbSourceReportsVersionDatabasesAndWhatIsMissingWithoutThePassword) {
  StartEngineAndWaitForSnapshot();
  nlohmann::json body = {
      {"host", "127.0.0.1"},          {"port", std::to_string(source_.port)},
      {"dbname", source_.dbname},     {"username", "postgres"},
      {"password", source_.password}, {"db_list", {source_.dbname, "no_such_db"}}};
  nlohmann::json probe = ApiJson("POST", "/admin/test-db-source", body.dump());
  EXPECT_THAT(probe["version"].get<std::string>(), ::testing::StartsWith("15"));
  EXPECT_THAT(probe["databases"], ::testing::Contains(source_.dbname));
  EXPECT_EQ(probe["missing"], nlohmann::json::array({"no_such_db"}));
  EXPECT_GT(probe["dbSize"].get<int64_t>(), 0);

  body["password"] = "wrong-password-123";
  HttpAnswer wrong = Api("POST", "/admin/test-db-source", body.dump());
  EXPECT_EQ(wrong.status, 400);
  EXPECT_THAT(wrong.body, HasSubstr("password authentication failed"));
  EXPECT_THAT(wrong.body, Not(HasSubstr("wrong-password-123")));
  EXPECT_THAT(engine_.Log(), Not(HasSubstr("wrong-password-123")));
  EXPECT_THAT(engine_.Log(), Not(HasSubstr(source_.password)));
}

// Prometheus from Debian, in the test's directory (so cleanup stops it whatever happens).
pid_t StartPrometheus(const std::string& dir, int port, int target_port) {
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: dblab\n    metrics_path: /metrics\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << target_port << "']\n";
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    int log = open((dir + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::string config = "--config.file=" + dir + "/prometheus.yml";
    std::string data = "--storage.tsdb.path=" + dir + "/data";
    std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
    execl("/usr/bin/prometheus", "prometheus", config.c_str(), data.c_str(), listen.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

TEST_F(OpsTest, PrometheusScrapesMetricsWithClonesDurationsPoolAndRequests) {
  if (access("/usr/bin/prometheus", X_OK) != 0) {
    GTEST_SKIP() << "prometheus is not installed (scripts/install-deps.sh installs it)";
  }
  StartEngineAndWaitForSnapshot();
  CliJson({"clone", "create", "--username", "u", "--password", "p", "--id", "metered"});

  HttpAnswer metrics = Http("GET", Url() + "/metrics");  // no token, as DLE
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("dblab_clones{status=\"OK\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("dblab_clone_create_duration_seconds_count 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("dblab_pool_size_bytes{pool=\"dblab_pool\""));
  EXPECT_THAT(metrics.body, HasSubstr("dblab_snapshots 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("dblab_retrieval_status{mode=\"logical\",status=\"finished\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("dblab_retrieval_last_duration_seconds "));
  EXPECT_THAT(metrics.body, HasSubstr("dblab_api_requests_total{route=\"/clone\",method=\"POST\""));

  int prometheus_port = FreePort();
  pid_t prometheus = StartPrometheus(dir_ + "/prometheus", prometheus_port, api_port_);
  ASSERT_GT(prometheus, 0);
  std::string query = "http://127.0.0.1:" + std::to_string(prometheus_port) +
                      "/api/v1/query?query=dblab_clones%7Bstatus%3D%22OK%22%7D";
  nlohmann::json answer;
  for (int i = 0; i < 120; ++i) {
    HttpAnswer result = Http("GET", query);
    answer = nlohmann::json::parse(result.body, nullptr, false);
    if (!answer.is_discarded() && answer.value("status", "") == "success" &&
        !answer["data"]["result"].empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  kill(prometheus, SIGTERM);
  waitpid(prometheus, nullptr, 0);
  ASSERT_FALSE(answer.is_discarded());
  ASSERT_FALSE(answer["data"]["result"].empty())
      << answer.dump() << ReadFile(dir_ + "/prometheus/prometheus.log");
  EXPECT_EQ(answer["data"]["result"][0]["metric"]["job"], "dblab");
  EXPECT_EQ(answer["data"]["result"][0]["value"][1], "1");
}

TEST_F(OpsTest, WebhooksDeliverSignedEventsAndADeadReceiverDoesNotSlowCreation) {
  Receiver receiver(true);
  Receiver black_hole(false);
  int dead_port = FreePort();  // nothing listens there
  std::string hooks =
      "webhooks:\n  hooks:\n"
      "    - url: \"http://127.0.0.1:" +
      std::to_string(receiver.port()) +
      "/hook\"\n      secret: \"hook-secret-42\"\n"
      "      trigger: [clone_create, clone_reset, clone_delete]\n"
      "    - url: \"http://127.0.0.1:" +
      std::to_string(black_hole.port()) +
      "/slow\"\n      trigger: [clone_create, clone_reset, clone_delete]\n"
      "    - url: \"http://127.0.0.1:" +
      std::to_string(dead_port) + "/dead\"\n      trigger: [clone_create]\n";
  StartEngineAndWaitForSnapshot(hooks);

  std::vector<double> create_seconds;
  for (const char* id : {"hooked1", "hooked2", "hooked3"}) {
    auto started = std::chrono::steady_clock::now();
    auto clone = CliJson({"clone", "create", "--username", "u", "--password", "p", "--id", id});
    create_seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump();
  }
  // The black hole holds each delivery for the 5 s request timeout; creation does not wait.
  for (double seconds : create_seconds) {
    EXPECT_LT(seconds, 3.0) << "clone create took " << seconds;
    std::cout << "clone create with a black-hole and a dead webhook receiver: " << seconds
              << " s (CLI round trip)\n";
  }
  ASSERT_EQ(CliJson({"clone", "reset", "hooked1"})["status"]["code"], "OK");
  ASSERT_EQ(Cli({"clone", "destroy", "hooked1"}).exit_code, 0);

  std::vector<Receiver::Delivery> deliveries;
  for (int i = 0; i < 100; ++i) {
    deliveries = receiver.deliveries();
    if (deliveries.size() >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(deliveries.size(), 5u);
  std::map<std::string, int> events;
  for (const auto& delivery : deliveries) {
    EXPECT_EQ(delivery.headers.at("dblab-webhook-token"), "hook-secret-42");
    EXPECT_EQ(delivery.headers.at("dle-webhook-token"), "hook-secret-42");
    EXPECT_EQ(delivery.headers.at("content-type"), "application/json");
    auto payload = nlohmann::json::parse(delivery.body);
    ++events[payload["event_type"].get<std::string>() + ":" +
             payload["entity_id"].get<std::string>()];
    if (payload["event_type"] == "clone_create") {
      EXPECT_EQ(payload["username"], "u");
      EXPECT_GT(payload["port"].get<int>(), 0);
      EXPECT_EQ(payload["host"], "127.0.0.1");
    }
  }
  EXPECT_EQ(events["clone_create:hooked1"], 1);
  EXPECT_EQ(events["clone_reset:hooked1"], 1);
  EXPECT_EQ(events["clone_delete:hooked1"], 1);
  EXPECT_GE(black_hole.connections(), 1u);

  // Failures are visible in /status and the log, never the secret.
  nlohmann::json status;
  for (int i = 0; i < 100; ++i) {
    status = CliJson({"instance", "status"});
    if (status.contains("webhooks") &&
        !status["webhooks"]["lastError"].get<std::string>().empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.contains("webhooks")) << status.dump(2);
  EXPECT_EQ(status["webhooks"]["hooks"], 3);
  EXPECT_GE(status["webhooks"]["delivered"].get<int>(), 5);
  // The dead receiver (refused at once) or the black hole (5 s timeout) failed last.
  EXPECT_THAT(status["webhooks"]["lastError"].get<std::string>(),
              ::testing::AnyOf(HasSubstr("/dead"), HasSubstr("/slow")));
  EXPECT_THAT(engine_.Log(), HasSubstr("webhooks: clone_create to http://127.0.0.1:" +
                                       std::to_string(dead_port) + "/dead"));
  EXPECT_THAT(engine_.Log(), Not(HasSubstr("hook-secret-42")));
}

// Runs `sql` in the clone as its user (one round trip, so pg_stat_activity shows all of it).
void RunInClone(int port, const std::string& sql) {
  auto connection = ConnectClone(port, "u", "p", "app");
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  ASSERT_TRUE(connection->Exec(sql).ok());
}

TEST_F(OpsTest, ObservationFailsALongExclusiveLockNamingItAndPassesAQuickMigration) {
  StartEngineAndWaitForSnapshot();
  auto clone = CliJson(
      {"clone", "create", "--username", "u", "--password", "p", "--id", "obs", "--db-name", "app"});
  const auto& port_json = clone["db"]["port"];
  int port = port_json.is_string() ? std::stoi(port_json.get<std::string>()) : port_json.get<int>();

  auto started =
      CliJson({"clone", "start-observation", "obs", "--observation-interval", "1",
               "--max-lock-duration", "1", "--max-duration", "120", "--tags", "branch=patch-1"});
  ASSERT_TRUE(started.contains("session_id")) << started.dump();
  EXPECT_EQ(started["tags"]["branch"], "patch-1");
  RunInClone(port, "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;");
  auto stopped = CliJson({"clone", "stop-observation", "obs"});
  EXPECT_EQ(stopped["result"]["status"], "failed") << stopped.dump(2);
  EXPECT_EQ(stopped["result"]["summary"]["checklist"]["no_long_dangerous_locks"], false);
  EXPECT_EQ(stopped["result"]["summary"]["checklist"]["overall_success"], false);
  ASSERT_FALSE(stopped["result"]["long_locks"].empty());
  const auto& lock = stopped["result"]["long_locks"][0];
  EXPECT_EQ(lock["mode"], "AccessExclusiveLock");
  EXPECT_EQ(lock["relation"], "public.users");
  EXPECT_THAT(lock["statement"].get<std::string>(), HasSubstr("LOCK TABLE users"));
  EXPECT_GE(stopped["result"]["summary"]["warning_intervals"].get<int>(), 1);

  std::string session = std::to_string(started["session_id"].get<uint64_t>());
  auto summary =
      CliJson({"clone", "summary-observation", "--clone-id", "obs", "--session-id", session});
  EXPECT_EQ(summary["clone_id"], "obs");
  EXPECT_THAT(summary["locks"]["long_dangerous_locks"][0]["statement"].get<std::string>(),
              HasSubstr("LOCK TABLE users"));
  EXPECT_GT(summary["db_size"]["total_bytes"].get<int64_t>(), 0);
  HttpAnswer log =
      Api("GET", "/observation/download?artifact_type=log&clone_id=obs&session_id=" + session);
  EXPECT_EQ(log.status, 200);
  // DLE's download-artifact: to standard output, or to a file with -o.
  CommandResult locks = Cli({"clone", "download-artifact", "--clone-id", "obs", "--session-id",
                             session, "--artifact-type", "locks"});
  ASSERT_EQ(locks.exit_code, 0) << locks.err;
  EXPECT_THAT(locks.out, HasSubstr("LOCK TABLE users"));
  std::string saved = dir_ + "/summary.json";
  CommandResult to_file = Cli({"clone", "download-artifact", "--clone-id", "obs", "--session-id",
                               session, "--artifact-type", "summary", "-o", saved});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_THAT(to_file.out, HasSubstr(saved));
  std::ifstream saved_file(saved);
  std::string saved_text((std::istreambuf_iterator<char>(saved_file)),
                         std::istreambuf_iterator<char>());
  EXPECT_EQ(nlohmann::json::parse(saved_text, nullptr, false)["clone_id"], "obs") << saved_text;
  EXPECT_EQ(Cli({"clone", "download-artifact", "--clone-id", "obs", "--session-id", session,
                 "--artifact-type", "plans"})
                .exit_code,
            2)
      << "an unknown artifact type is a usage error";
  EXPECT_NE(Cli({"clone", "download-artifact", "--clone-id", "obs", "--session-id", "1",
                 "--artifact-type", "log"})
                .exit_code,
            0)
      << "an unknown session";

  // A quick migration passes.
  CliJson({"clone", "start-observation", "obs", "--observation-interval", "1",
           "--max-lock-duration", "1"});
  RunInClone(port, "ALTER TABLE users ADD COLUMN note text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto quick = CliJson({"clone", "stop-observation", "obs"});
  EXPECT_EQ(quick["result"]["status"], "passed") << quick.dump(2);
  EXPECT_EQ(quick["result"]["summary"]["checklist"]["overall_success"], true);

  // Stopping twice is a clear 404; a second start while one runs is a 409.
  EXPECT_NE(Cli({"clone", "stop-observation", "obs"}).exit_code, 0);
  CliJson({"clone", "start-observation", "obs"});
  EXPECT_EQ(Api("POST", "/observation/start", R"({"clone_id": "obs"})").status, 409);
  CliJson({"clone", "stop-observation", "obs"});

  // Finished sessions, their summary and their log survive an engine restart.
  engine_.Terminate();
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  auto kept =
      CliJson({"clone", "summary-observation", "--clone-id", "obs", "--session-id", session});
  EXPECT_EQ(kept["clone_id"], "obs");
  EXPECT_THAT(kept["locks"]["long_dangerous_locks"][0]["statement"].get<std::string>(),
              HasSubstr("LOCK TABLE users"));
  EXPECT_EQ(
      Api("GET", "/observation/download?artifact_type=log&clone_id=obs&session_id=" + session).body,
      log.body);
}

}  // namespace
}  // namespace dblab::testing

namespace dblab::testing {
namespace {

// Reads a followed log stream on its own thread and keeps what arrived, with arrival times.
class LogStreamReader {
 public:
  LogStreamReader(const std::string& url, const std::string& token) {
    thread_ = std::thread([this, url, token] {
      LogStreamRequest request;
      request.api_url = url;
      request.token = token;
      request.follow = true;
      request.timeout = std::chrono::seconds(10);
      request.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      Status status = ReadLogStream(request, [this](const std::string& line) {
        std::lock_guard lock(mutex_);
        lines_.push_back({line, std::chrono::steady_clock::now()});
        return !stop_;
      });
      std::lock_guard lock(mutex_);
      finished_ = true;
      if (!status) error_ = status.error().message;
    });
  }
  // Joins once the next line arrives (or the deadline passes): call Stop(), then make the
  // engine log something.
  ~LogStreamReader() {
    stop_ = true;
    thread_.join();
  }
  void Stop() { stop_ = true; }
  // Waits up to `seconds` for a line containing `text`; when it arrived, or nullopt.
  std::optional<std::chrono::steady_clock::time_point> WaitFor(const std::string& text,
                                                               double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& [line, at] : lines_) {
          if (line.find(text) != std::string::npos) return at;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }
  std::string All() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& entry : lines_) all += entry.first + "\n";
    return all;
  }
  size_t Count() {
    std::lock_guard lock(mutex_);
    return lines_.size();
  }

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> lines_;
  bool finished_ = false;
  std::string error_;
};

TEST_F(OpsTest, LiveLogStreamShowsACloneCreateWithinASecondWithoutSecrets) {
  StartEngineAndWaitForSnapshot();
  LogStreamRequest request;
  request.api_url = Url();
  request.timeout = std::chrono::seconds(10);
  auto no_lines = [](const std::string&) { return true; };

  // Without a valid token the stream is refused.
  request.token = std::string(64, 'a');
  Status refused = ReadLogStream(request, no_lines);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized) << refused.error().message;
  EXPECT_EQ(Http("GET", Url() + "/admin/ws-auth").status, 401);
  HttpAnswer plain = Http("GET", Url() + "/instance/logs?token=x");
  EXPECT_EQ(plain.status, 400) << "not a WebSocket: " << plain.body;

  std::string token = ApiJson("GET", "/api/admin/ws-auth")["token"].get<std::string>();
  ASSERT_EQ(token.size(), 64u);
  LogStreamReader reader(Url(), token);
  // The backlog arrives first: the engine logged its start.
  ASSERT_TRUE(reader.WaitFor("listening on", 10)) << reader.All();

  // A used token does not open a second stream.
  request.token = token;
  Status reused = ReadLogStream(request, no_lines);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::kUnauthorized);

  const std::string password = "Live-Logs-Pw-4711";
  auto sent = std::chrono::steady_clock::now();
  HttpAnswer created =
      Api("POST", "/clone",
          R"({"id": "logged1", "db": {"username": "u", "password": ")" + password + R"("}})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto seen = reader.WaitFor("clone logged1: creating", 5);
  ASSERT_TRUE(seen) << reader.All();
  double seconds = std::chrono::duration<double>(*seen - sent).count();
  std::cout << "clone create's log line reached the WebSocket client " << seconds * 1000
            << " ms after the request was sent\n";
  EXPECT_LT(seconds, 1.0);
  ASSERT_TRUE(reader.WaitFor("clone logged1: ready on port", 60)) << reader.All();

  std::string streamed = reader.All();
  EXPECT_THAT(streamed, Not(HasSubstr(token)));
  EXPECT_THAT(streamed, Not(HasSubstr(kToken)));
  EXPECT_THAT(streamed, Not(HasSubstr(password)));
  reader.Stop();  // the destroy below logs the line that ends the reader

  // The CLI prints the recent lines and exits.
  CommandResult logs = Cli({"instance", "logs"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("clone logged1: creating"));
  EXPECT_THAT(logs.out, Not(HasSubstr(kToken)));
  EXPECT_THAT(logs.out, Not(HasSubstr(password)));
  ASSERT_EQ(Cli({"clone", "destroy", "logged1"}).exit_code, 0);
}

}  // namespace
}  // namespace dblab::testing
