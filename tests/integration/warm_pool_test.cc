// provision.warmPool: servers kept started on the latest snapshot; a create takes one.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

constexpr int kWarmPool = 2;

class WarmPoolTest : public EngineFixture {
 protected:
  // Subvolumes in the pool's clones directory: the warm servers' and the clones'.
  int CloneDirs() { return Dirs(dir_ + "/mnt/dblab_pool/clones"); }
  // Clones' WAL directories beside the pool image (provision.cloneWalDir: auto).
  int WalDirs() { return Dirs(dir_ + "/mnt/dblab_pool.wal"); }
  static int Dirs(const std::string& path) {
    int count = 0;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      count += entry.is_directory();
    }
    return count;
  }
  // Waits until the engine reports `expected` warm servers ready, each in its own subvolume
  // beside those of the `clones` clones.
  bool WaitWarm(int expected, int clones) {
    for (int i = 0; i < 300; ++i) {
      auto status = CliJson({"instance", "status"});
      nlohmann::json want = {{"size", kWarmPool}, {"ready", expected}};
      if (status["provisioner"]["warmPool"] == want && CloneDirs() == expected + clones) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(WarmPoolTest, CreateTakesAWarmServerAndThePoolRefills) {
  provision_extra_ = "  warmPool: " + std::to_string(kWarmPool) + "\n";
  StartEngineAndWaitForSnapshot();
  ASSERT_TRUE(WaitWarm(kWarmPool, 0)) << engine_.Log();

  // The create answers with a ready clone, without waiting (no polling needed).
  auto clone = CliJson(
      {"clone", "create", "--username", "fast", "--password", "pw", "--id", "quick", "--async"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  auto connection = ConnectClone(port, "fast", "pw", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
  // The server keeps running on the warm storage it was started on, through its port's link;
  // it writes its control file there at every checkpoint.
  ASSERT_TRUE(connection->Exec("CREATE TABLE after_takeover AS SELECT 1 AS x").ok());
  auto checkpoint = connection->Exec("CHECKPOINT");
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM after_takeover"), "1");
  ASSERT_TRUE(WaitWarm(kWarmPool, 1)) << "refilled";

  // The engine remembers which storage the taken clone runs on: after a restart it adopts the
  // running server, and a stopped one is started again on the same data.
  engine_.Terminate();
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  ASSERT_TRUE(WaitWarm(kWarmPool, 1)) << engine_.Log();
  EXPECT_EQ(CliJson({"clone", "status", "quick"})["status"]["code"], "OK");
  connection = ConnectClone(port, "fast", "pw", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM after_takeover"), "1");

  // A restricted user whose role the snapshot already has: the role gets the new password and
  // loses nothing it owns; it owns the database and its tables, and is no superuser.
  auto owner = CliJson({"clone", "create", "--username", "app_owner", "--password", "owner-pw-7",
                        "--id", "owned", "--restricted"});
  ASSERT_EQ(owner["status"]["code"], "OK") << owner.dump(2) << engine_.Log();
  auto owned = ConnectClone(std::stoi(owner["db"]["port"].get<std::string>()), "app_owner",
                            "owner-pw-7", source_.dbname);
  ASSERT_TRUE(owned.ok()) << owned.error().message;
  EXPECT_EQ(QueryValue(*owned, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f");
  EXPECT_TRUE(owned->Exec("ALTER TABLE users ADD COLUMN note text").ok());
  EXPECT_FALSE(owned->Exec("CREATE ROLE intruder SUPERUSER").ok());
  EXPECT_EQ(QueryValue(*owned,
                       "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = "
                       "current_database()"),
            "app_owner");

  // A clone from the warm pool resets like any other; its new storage has the clone's name.
  ASSERT_TRUE(connection->Exec("DELETE FROM users").ok());
  EXPECT_EQ(CliJson({"clone", "reset", "quick"})["status"]["code"], "OK");
  auto after = ConnectClone(port, "fast", "pw", source_.dbname);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(QueryValue(*after, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_TRUE(std::filesystem::exists(ClonePath("quick")));
  ASSERT_TRUE(WaitWarm(kWarmPool, 2));
  // The warm storage's WAL went with it: one WAL directory per clone and warm server.
  EXPECT_EQ(WalDirs(), CloneDirs());

  // Destroying a taken clone removes the storage it ran on.
  ASSERT_EQ(Cli({"clone", "destroy", "owned"}).exit_code, 0);
  for (int i = 0; i < 100 && CloneDirs() != kWarmPool + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(CloneDirs(), kWarmPool + 1);
  EXPECT_EQ(WalDirs(), CloneDirs());

  // A destroyed clone's id can be used again at once, while its data may still be freed.
  ASSERT_EQ(Cli({"clone", "destroy", "quick"}).exit_code, 0);
  auto again = CliJson(
      {"clone", "create", "--username", "fast", "--password", "pw2", "--id", "quick", "--async"});
  ASSERT_EQ(again["status"]["code"], "OK") << again.dump(2) << engine_.Log();
  port = std::stoi(again["db"]["port"].get<std::string>());
  auto renewed = ConnectClone(port, "fast", "pw2", source_.dbname);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  ASSERT_TRUE(renewed->Exec("CREATE TABLE scratch AS SELECT 1 AS x").ok());
  ASSERT_EQ(CliJson({"clone", "reset", "quick"})["status"]["code"], "OK");
  renewed = ConnectClone(port, "fast", "pw2", source_.dbname);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_EQ(QueryValue(*renewed, "SELECT to_regclass('scratch') IS NULL"), "t");
  ASSERT_TRUE(WaitWarm(kWarmPool, 1));
  EXPECT_EQ(WalDirs(), CloneDirs());

  // Stopping the engine removes the warm servers (they hold no user data); clones stay.
  engine_.Terminate();
  EXPECT_EQ(CloneDirs(), 1);
  EXPECT_TRUE(PortListening(port));
}

}  // namespace
}  // namespace dblab::testing
