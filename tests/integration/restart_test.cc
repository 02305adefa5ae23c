// The engine dies (SIGKILL) or stops (SIGTERM) with clones running: clones keep serving, and
// the next engine re-adopts them, finishes what was half done, and leaks nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "engine_fixture.h"
#include "postgres/server.h"

namespace dblab::testing {
namespace {

namespace fs = std::filesystem;

class RestartTest : public EngineFixture {
 protected:
  // Polls the clone until it leaves CREATING/RESETTING; returns its last JSON.
  nlohmann::json WaitSettled(const std::string& id, int seconds = 60) {
    nlohmann::json clone;
    for (int i = 0; i < seconds * 10; ++i) {
      auto result = Cli({"clone", "status", id});
      if (result.exit_code == 0) {
        clone = nlohmann::json::parse(result.out, nullptr, false);
        std::string code = clone["status"]["code"];
        if (code != "CREATING" && code != "RESETTING") return clone;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return clone;
  }

  std::vector<std::string> CloneDirs() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_ + "/mnt/dblab_pool/clones")) {
      names.push_back(entry.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(RestartTest, KillNineWithOneCloneRunningAndOneMidCreate) {
  StartEngineAndWaitForSnapshot();
  auto running = CliJson(
      {"clone", "create", "--username", "alice", "--password", "pw-alice", "--id", "running"});
  ASSERT_EQ(running["status"]["code"], "OK");
  int running_port = std::stoi(running["db"]["port"].get<std::string>());
  auto session = ConnectClone(running_port, "alice", "pw-alice", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(session->Exec("CREATE TEMP TABLE my_session_state AS SELECT 42 AS answer").ok());

  // Ask for a second clone and kill the engine while it is being created.
  auto pending = CliJson({"clone", "create", "--username", "bob", "--password", "pw-bob", "--id",
                          "midcreate", "--async"});
  ASSERT_EQ(pending["status"]["code"], "CREATING");
  engine_.Kill();

  // The running clone never dropped its connection: its session state is still there.
  EXPECT_EQ(QueryValue(*session, "SELECT answer FROM my_session_state"), "42");

  ASSERT_TRUE(StartEngine()) << engine_.Log();
  auto finished = WaitSettled("midcreate");
  EXPECT_EQ(finished["status"]["code"], "OK") << finished.dump(2) << engine_.Log();
  int pending_port = std::stoi(finished["db"]["port"].get<std::string>());
  auto bob = ConnectClone(pending_port, "bob", "pw-bob", source_.dbname);
  EXPECT_TRUE(bob.ok()) << (bob.ok() ? "" : bob.error().message);

  auto adopted = CliJson({"clone", "status", "running"});
  EXPECT_EQ(adopted["status"]["code"], "OK");
  EXPECT_EQ(adopted["db"]["port"], std::to_string(running_port));
  EXPECT_EQ(QueryValue(*session, "SELECT answer FROM my_session_state"), "42");

  // Nothing leaked: exactly the two clones on disk; destroying them frees everything.
  EXPECT_EQ(CloneDirs(), (std::vector<std::string>{"midcreate", "running"}));
  EXPECT_EQ(Cli({"clone", "destroy", "running"}).exit_code, 0);
  EXPECT_EQ(Cli({"clone", "destroy", "midcreate"}).exit_code, 0);
  EXPECT_TRUE(CloneDirs().empty());
  EXPECT_FALSE(PortListening(running_port));
  EXPECT_FALSE(PortListening(pending_port));
}

TEST_F(RestartTest, SigtermKeepsClonesAndADeadCloneServerIsRestarted) {
  StartEngineAndWaitForSnapshot();
  auto clone = CliJson(
      {"clone", "create", "--username", "carol", "--password", "pw-carol", "--id", "survivor"});
  ASSERT_EQ(clone["status"]["code"], "OK");
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  engine_.Terminate();
  ASSERT_TRUE(PortListening(port));  // the clone outlives the engine

  // While the engine is down the clone's server dies too.
  auto pid = PostgresControl::RunningPid(ClonePath("survivor"));
  ASSERT_TRUE(pid.has_value());
  kill(*pid, SIGKILL);
  for (int i = 0; i < 100 && PortListening(port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  ASSERT_TRUE(StartEngine()) << engine_.Log();
  auto restarted = WaitSettled("survivor");
  EXPECT_EQ(restarted["status"]["code"], "OK") << engine_.Log();
  auto connection = ConnectClone(port, "carol", "pw-carol", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
}

}  // namespace
}  // namespace dblab::testing
