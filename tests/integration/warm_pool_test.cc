// provision.warmPool: servers kept started on the latest snapshot; a create takes one.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

class WarmPoolTest : public EngineFixture {
 protected:
  int WarmDirs() {
    int count = 0;
    std::error_code error;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir_ + "/mnt/dblab_pool/clones", error)) {
      count += entry.path().filename().string().rfind("warm-", 0) == 0;
    }
    return count;
  }
  bool WaitWarm(int expected) {
    for (int i = 0; i < 300; ++i) {
      if (WarmDirs() == expected) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(WarmPoolTest, CreateTakesAWarmServerAndThePoolRefills) {
  provision_extra_ = "  warmPool: 2\n";
  StartEngineAndWaitForSnapshot();
  ASSERT_TRUE(WaitWarm(2)) << engine_.Log();

  // The create answers with a ready clone, without waiting (no polling needed).
  auto clone = CliJson({"clone", "create", "--username", "fast", "--password", "pw", "--id",
                        "quick", "--async"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  auto connection = ConnectClone(port, "fast", "pw", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_TRUE(std::filesystem::exists(ClonePath("quick")));
  ASSERT_TRUE(WaitWarm(2)) << "refilled";

  // A clone from the warm pool resets like any other.
  ASSERT_TRUE(connection->Exec("DELETE FROM users").ok());
  EXPECT_EQ(CliJson({"clone", "reset", "quick"})["status"]["code"], "OK");
  auto after = ConnectClone(port, "fast", "pw", source_.dbname);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(QueryValue(*after, "SELECT count(*) FROM users"), std::to_string(users_));

  // Stopping the engine removes the warm servers (they hold no user data); clones stay.
  engine_.Terminate();
  EXPECT_EQ(WarmDirs(), 0);
  EXPECT_TRUE(PortListening(port));
}

}  // namespace
}  // namespace dblab::testing
