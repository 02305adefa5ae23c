// The thin-clone scenario of the README, verbatim, through the real CLI against the real engine.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

class ScenarioTest : public EngineFixture {};

TEST_F(ScenarioTest, CreateChangeResetDestroyThroughTheCli) {
  StartEngineAndWaitForSnapshot();

  // Given a clone made with the scenario's exact command line.
  auto testclone = CliJson(
      {"clone", "create", "--username", "jworks", "--password", "rocks", "--id", "testclone"});
  ASSERT_EQ(testclone["status"]["code"], "OK") << testclone.dump(2);
  int port = std::stoi(testclone["db"]["port"].get<std::string>());
  std::string dbname = testclone["db"]["dbName"];
  EXPECT_EQ(dbname, source_.dbname);
  EXPECT_NE(testclone["db"]["connStr"].get<std::string>().find("port=" + std::to_string(port)),
            std::string::npos);
  EXPECT_EQ(testclone["db"]["password"], "");  // never echoed back

  auto connection = ConnectClone(port, "jworks", "rocks", dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  std::string original = UsersChecksum(*connection);
  EXPECT_EQ(original.substr(0, original.find(':')), std::to_string(users_));
  // Personal data was masked before the snapshot was offered.
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users WHERE email LIKE '%mail.example'"),
            "0");

  // When the developer changes data in the clone.
  ASSERT_TRUE(connection->Exec("CREATE TABLE migration_try (x int)").ok());
  ASSERT_TRUE(connection->Exec("DELETE FROM users WHERE id % 3 = 0").ok());
  EXPECT_NE(UsersChecksum(*connection), original);

  // Then reset brings back exactly the snapshot, on the same port with the same credentials.
  auto reset = CliJson({"clone", "reset", "testclone"});
  EXPECT_EQ(reset["status"]["code"], "OK");
  EXPECT_EQ(reset["db"]["port"], std::to_string(port));
  auto after_reset = ConnectClone(port, "jworks", "rocks", dbname);
  ASSERT_TRUE(after_reset.ok()) << after_reset.error().message;
  EXPECT_EQ(UsersChecksum(*after_reset), original);
  EXPECT_EQ(QueryValue(*after_reset, "SELECT to_regclass('migration_try') IS NULL"), "t");
  // A wrong password is refused.
  EXPECT_FALSE(ConnectClone(port, "jworks", "wrong", dbname).ok());

  // The id may also be the first argument.
  auto neal = CliJson({"clone", "create", "neals-special-clone", "--username", "neal", "--password",
                       "nealisawesome"});
  ASSERT_EQ(neal["id"], "neals-special-clone");
  ASSERT_EQ(neal["status"]["code"], "OK");
  int neal_port = std::stoi(neal["db"]["port"].get<std::string>());
  EXPECT_NE(neal_port, port);
  auto neal_reset = CliJson({"clone", "reset", "neals-special-clone"});
  EXPECT_EQ(neal_reset["status"]["code"], "OK");
  auto neal_connection = ConnectClone(neal_port, "neal", "nealisawesome", dbname);
  ASSERT_TRUE(neal_connection.ok()) << neal_connection.error().message;
  EXPECT_EQ(UsersChecksum(*neal_connection), original);

  // Destroy leaves no subvolume, process or port behind.
  auto destroyed = Cli({"clone", "destroy", "testclone"});
  EXPECT_EQ(destroyed.exit_code, 0) << destroyed.err;
  EXPECT_FALSE(std::filesystem::exists(ClonePath("testclone")));
  EXPECT_FALSE(PortListening(port));
  auto status = Cli({"clone", "status", "testclone"});
  EXPECT_NE(status.exit_code, 0);
  EXPECT_NE(status.err.find("not found"), std::string::npos) << status.err;
  auto list = CliJson({"clone", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "neals-special-clone");
  // The password is not stored in plain text anywhere in the state.
  auto grep = RunCommand({"grep", "-r", "-l", "nealisawesome", dir_ + "/mnt/.dblab-engine"});
  EXPECT_NE(grep.exit_code, 0) << grep.out;
}

TEST_F(ScenarioTest, RestrictedCloneUserOwnsTheDatabaseButIsNotSuperuser) {
  StartEngineAndWaitForSnapshot();
  auto clone = CliJson({"clone", "create", "--username", "dev", "--password", "devpass", "--id",
                        "restricted1", "--restricted"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2);
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  auto connection = ConnectClone(port, "dev", "devpass", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"),
            "f");
  EXPECT_TRUE(connection->Exec("ALTER TABLE users ADD COLUMN note text").ok());
  EXPECT_FALSE(connection->Exec("CREATE ROLE intruder SUPERUSER").ok());
}

}  // namespace
}  // namespace dblab::testing
