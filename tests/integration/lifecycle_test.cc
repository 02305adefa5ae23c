// Retrieval failures and idle cleanup, on the real engine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

class LifecycleTest : public EngineFixture {};

TEST_F(LifecycleTest, WrongSourcePasswordIsOneClearMessageAndSnapshotsKeepServing) {
  StartEngineAndWaitForSnapshot();
  // The source's password changes; the engine's config still has the old one.
  auto admin = PgConnection::Connect(BuildConninfo({{"host", source_.dir + "/run"},
                                                    {"port", std::to_string(source_.port)},
                                                    {"user", "postgres"},
                                                    {"dbname", "postgres"}}));
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(admin->Exec("ALTER ROLE postgres PASSWORD 'rotated'").ok());

  ASSERT_EQ(Cli({"instance", "full-refresh"}).exit_code, 0);
  nlohmann::json status;
  for (int i = 0; i < 300; ++i) {
    status = CliJson({"instance", "status"});
    if (status["retrieving"]["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status["retrieving"]["status"], "failed") << status.dump(2);
  std::string alert = status["retrieving"]["alerts"]["refresh_failed"]["message"];
  EXPECT_NE(alert.find("password authentication failed"), std::string::npos) << alert;
  EXPECT_NE(alert.find("127.0.0.1:" + std::to_string(source_.port)), std::string::npos) << alert;
  // DLE's alert shape, in /status as in /instance/retrieval.
  EXPECT_EQ(status["retrieving"]["alerts"]["refresh_failed"]["level"], "error");
  EXPECT_EQ(status["retrieving"]["alerts"]["refresh_failed"]["count"], 1);
  EXPECT_TRUE(status["retrieving"]["alerts"]["refresh_failed"]["lastSeen"].is_string());
  EXPECT_NE(engine_.Log().find("password authentication failed"), std::string::npos);

  // The snapshot taken before still serves clones.
  auto clone = CliJson({"clone", "create", "--username", "u", "--password", "p", "--id", "after"});
  EXPECT_EQ(clone["status"]["code"], "OK") << clone.dump(2);
}

TEST_F(LifecycleTest, IdleClonesAreDestroyedButProtectedOnesStay) {
  WriteConfig("cloning:\n  maxIdleMinutes: 1\n");
  ASSERT_TRUE(engine_.Start(config_path_, api_port_, dir_ + "/engine.log",
                            {"--housekeeping-interval", "2"}))
      << engine_.Log();
  InitCli();
  ASSERT_TRUE(WaitForSnapshot()) << engine_.Log();
  ASSERT_EQ(CliJson({"clone", "create", "--username", "u", "--password", "p", "--id",
                     "idle"})["status"]["code"],
            "OK");
  ASSERT_EQ(CliJson({"clone", "create", "--username", "u", "--password", "p", "--id", "kept",
                     "--protected", "true"})["status"]["code"],
            "OK");
  bool gone = false;
  for (int i = 0; i < 150 && !gone; ++i) {
    gone = Cli({"clone", "status", "idle"}).exit_code != 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_TRUE(gone) << engine_.Log();
  EXPECT_FALSE(std::filesystem::exists(ClonePath("idle")));
  EXPECT_EQ(CliJson({"clone", "status", "kept"})["status"]["code"], "OK");
}

}  // namespace
}  // namespace dblab::testing

namespace dblab::testing {
namespace {

TEST_F(LifecycleTest, ScheduledRefreshMakesANewSnapshotAndClonesKeepWorking) {
  WriteConfig("");
  // Every minute: the refresh timetable of DLE's config, shortened for the test.
  std::string config = config_path_;
  {
    std::ifstream in(config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = text.find("retrieval:\n");
    text.insert(at + 11, "  refresh:\n    timetable: \"* * * * *\"\n");
    std::ofstream(config) << text;
  }
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  InitCli();
  ASSERT_TRUE(WaitForSnapshot()) << engine_.Log();
  auto clone = CliJson({"clone", "create", "--username", "u", "--password", "p", "--id", "old"});
  ASSERT_EQ(clone["status"]["code"], "OK");
  std::string first_snapshot = clone["snapshot"]["id"];
  auto status = CliJson({"instance", "status"});
  EXPECT_TRUE(status["retrieving"].contains("nextRefresh")) << status.dump(2);

  // New data at the source; the next scheduled refresh brings it into a new snapshot.
  auto admin = PgConnection::Connect(BuildConninfo({{"host", source_.dir + "/run"},
                                                    {"port", std::to_string(source_.port)},
                                                    {"user", "postgres"},
                                                    {"dbname", source_.dbname}}));
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(admin->Exec("INSERT INTO users VALUES (999999, 'New', 'n@mail.example', '1')").ok());
  nlohmann::json snapshots;
  for (int i = 0; i < 1500; ++i) {
    snapshots = CliJson({"snapshot", "list"});
    if (snapshots.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(snapshots.size(), 2u) << engine_.Log();

  // The clone on the old snapshot kept serving; reset --latest moves it to the new data.
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  auto connection = ConnectClone(port, "u", "p", source_.dbname);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
  auto reset = CliJson({"clone", "reset", "old", "--latest"});
  EXPECT_NE(reset["snapshot"]["id"], first_snapshot);
  auto after = ConnectClone(port, "u", "p", source_.dbname);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(QueryValue(*after, "SELECT count(*) FROM users"), std::to_string(users_ + 1));
}

}  // namespace
}  // namespace dblab::testing
