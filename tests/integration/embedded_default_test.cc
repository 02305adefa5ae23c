// The embedded default (`dblab-engine` without --config), as the README's quick start runs it:
// a demo source, masking, a snapshot and a clone; with its real defaults once, so that the
// default size cannot break unseen; and failing starts that leave no process behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "platform/posix_process.h"
#include "postgres/server.h"
#include "support.h"

namespace dblab::testing {
namespace {

class EmbeddedDefaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("dblab-embedded");
    port_ = FreePort();
    log_ = dir_ + "/engine.log";
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    CleanupTree(dir_);
  }

  // `dblab-engine --data-dir DIR --port N` plus `extra`, in the background, output to log_.
  void StartEngine(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {EngineBinary(), "--data-dir", dir_, "--port",
                                     std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      unsetenv("DBLAB_VERIFICATION_TOKEN");
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  // Waits until the CLI lists a snapshot (false after `seconds`, or when the engine exited).
  bool WaitForSnapshot(int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::string token;
      std::ifstream(dir_ + "/.dblab-engine/token") >> token;
      if (!token.empty()) {
        env_["DBLAB_CLI_CONFIG_DIR"] = dir_ + "/cli";
        env_["DBLAB_INSTANCE_URL"] = "http://127.0.0.1:" + std::to_string(port_);
        env_["DBLAB_VERIFICATION_TOKEN"] = token;
        token_ = token;
        auto result = RunCommand({CliBinary(), "snapshot", "list"}, env_);
        if (result.exit_code == 0 && result.out.find("\"id\"") != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Waits for the engine to exit by itself; its exit code, or -1 when it is still running.
  int WaitForExit(int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

  // The README's first clone; returns a session on it as its user.
  Result<PgConnection> CreateTestClone() {
    auto created = RunCommand({CliBinary(), "clone", "create", "--username", "jworks", "--password",
                               "rocks", "--id", "testclone"},
                              env_);
    EXPECT_EQ(created.exit_code, 0) << created.err << ReadFile(log_);
    if (created.exit_code != 0) return Internal("clone create failed");
    auto clone = nlohmann::json::parse(created.out);
    return ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "jworks", "rocks",
                        clone["db"]["dbName"]);
  }

  std::string dir_;
  int port_ = 0;
  std::string log_;
  pid_t pid_ = -1;
  std::string token_;
  std::map<std::string, std::string> env_;
};

TEST_F(EmbeddedDefaultTest, NoConfigStartsADemoSourceWithMaskedUsers) {
  StartEngine({"--demo-scale", "1", "--demo-users", "500"});
  ASSERT_TRUE(WaitForSnapshot(180)) << ReadFile(log_);
  std::string output = ReadFile(log_);
  EXPECT_NE(output.find("Token: " + token_), std::string::npos) << "the token is printed";
  EXPECT_NE(output.find("dblab clone create"), std::string::npos) << "next commands are printed";
  auto connection = CreateTestClone();
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), "500");
  EXPECT_EQ(QueryValue(*connection,
                       "SELECT count(*) FROM users WHERE email NOT LIKE 'user%@example.com'"),
            "0");
}

// What `sudo ./scripts/quickstart.sh` runs: no size flags at all (200,000 users, scale 20).
TEST_F(EmbeddedDefaultTest, WithItsDefaultsItReachesASnapshotAndAClone) {
  auto started = std::chrono::steady_clock::now();
  StartEngine({});
  ASSERT_TRUE(WaitForSnapshot(900)) << ReadFile(log_);
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  std::cout << "embedded default with its defaults: snapshot ready after " << seconds << " s\n";
  auto connection = CreateTestClone();
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), "200000");
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM orders"), "400000");
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM pgbench_accounts"), "2000000");
  EXPECT_EQ(QueryValue(*connection,
                       "SELECT count(*) FROM users WHERE email NOT LIKE 'user%@example.com'"),
            "0");
}

// Demo data fails after the demo source's server has started (here: its script cannot be
// written). The engine exits with the error, stops that server, and drops the half-made source.
TEST_F(EmbeddedDefaultTest, FailingDemoDataStopsTheDemoSource) {
  std::filesystem::create_directories(dir_ + "/demo-source/demo.sql");
  StartEngine({"--demo-scale", "0", "--demo-users", "10"});
  int exit_code = WaitForExit(120);
  std::string output = ReadFile(log_);
  EXPECT_NE(exit_code, 0) << output;
  EXPECT_NE(output.find("demo source data"), std::string::npos) << output;
  EXPECT_TRUE(ProcessesBelow(dir_).empty()) << "a process outlived the failed start\n" << output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/demo-source/data/PG_VERSION"))
      << "the next start must make the demo source again";
}

// The engine itself cannot start (here: its pool path is taken by a file) after the demo source
// is up: it exits with the error and stops the demo source.
TEST_F(EmbeddedDefaultTest, FailingEngineStartStopsTheDemoSource) {
  WriteFile(dir_ + "/dblab_pool", "not a directory\n");
  StartEngine({"--demo-scale", "0", "--demo-users", "10"});
  int exit_code = WaitForExit(120);
  std::string output = ReadFile(log_);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find("cannot start"), std::string::npos) << output;
  EXPECT_NE(output.find("dblab_pool"), std::string::npos) << output;
  EXPECT_TRUE(ProcessesBelow(dir_).empty()) << "a process outlived the failed start\n" << output;
}

// The first retrieval fails (here: a demo source left by an earlier start no longer takes the
// password the engine kept for it). With nothing to serve, the engine exits with the error and
// stops the demo source.
TEST_F(EmbeddedDefaultTest, FailingFirstRetrievalStopsTheDemoSourceAndExits) {
  std::string demo = dir_ + "/demo-source";
  std::filesystem::create_directories(demo + "/data");
  auto user = LookupOsUser("postgres");
  ASSERT_TRUE(user.ok());
  ASSERT_EQ(chown((demo + "/data").c_str(), user->uid, user->gid), 0);
  chmod((demo + "/data").c_str(), 0700);
  PosixProcessRunner runner;
  auto initdb = RunChecked(runner,
                           {"/usr/lib/postgresql/15/bin/initdb", "-D", demo + "/data", "-U",
                            "postgres", "--auth=trust", "--no-sync", "--locale=C.UTF-8"},
                           {.user = "postgres"});
  ASSERT_TRUE(initdb.ok()) << initdb.error().message;
  ASSERT_TRUE(WriteFile(demo + "/password", "not-the-password\n"));
  StartEngine({});
  int exit_code = WaitForExit(300);
  std::string output = ReadFile(log_);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find("cannot make its first snapshot"), std::string::npos) << output;
  EXPECT_TRUE(ProcessesBelow(dir_).empty()) << "a process outlived the failed start\n" << output;
}

}  // namespace
}  // namespace dblab::testing
