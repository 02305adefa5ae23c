// dblab commit (DLE's POST /branch/snapshot): a clone's current data becomes a snapshot that new
// clones start from, without the clone user's password, while the clone keeps serving.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

class CommitTest : public EngineFixture {};

TEST_F(CommitTest, AClonesDataBecomesTheLatestSnapshotWithoutItsPassword) {
  StartEngineAndWaitForSnapshot();
  auto dev =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw-1", "--id", "dev"});
  ASSERT_EQ(dev["status"]["code"], "OK") << dev.dump(2);
  int dev_port = std::stoi(dev["db"]["port"].get<std::string>());
  auto session = ConnectClone(dev_port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  // A migration a developer wants to share.
  ASSERT_TRUE(session->Exec("ALTER TABLE users ADD COLUMN tier int DEFAULT 1").ok());
  ASSERT_TRUE(session->Exec("DELETE FROM users WHERE id > 1500").ok());

  std::string snapshot_id = Commit({"--clone-id", "dev", "--message", "tier column"});
  ASSERT_FALSE(snapshot_id.empty()) << engine_.Log();
  auto snapshots = CliJson({"snapshot", "list"});
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[0]["id"], snapshot_id);  // newest first

  // The clone kept serving: the open session works, and so does a new login.
  EXPECT_EQ(QueryValue(*session, "SELECT count(*) FROM users"), "1500");
  auto again = ConnectClone(dev_port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(again.ok()) << again.error().message;

  // A new clone starts from the commit (the latest snapshot); dev's password is not in it.
  auto other = CliJson(
      {"clone", "create", "--username", "other", "--password", "other-pw", "--id", "other"});
  ASSERT_EQ(other["status"]["code"], "OK") << other.dump(2) << engine_.Log();
  EXPECT_EQ(other["snapshot"]["id"], snapshot_id);
  int other_port = std::stoi(other["db"]["port"].get<std::string>());
  auto reader = ConnectClone(other_port, "other", "other-pw", source_.dbname);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(QueryValue(*reader, "SELECT count(*) FROM users WHERE tier = 1"), "1500");
  EXPECT_EQ(QueryValue(*reader, "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'dev'"),
            "t");
  EXPECT_FALSE(ConnectClone(other_port, "dev", "dev-pw-1", source_.dbname).ok());

  // Reset goes back to the commit; the clone it came from is unaffected by later writes.
  ASSERT_TRUE(reader->Exec("DROP TABLE users").ok());
  EXPECT_EQ(CliJson({"clone", "reset", "other"})["status"]["code"], "OK");
  auto after = ConnectClone(other_port, "other", "other-pw", source_.dbname);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(QueryValue(*after, "SELECT count(*) FROM users"), "1500");

  // Bad input: one readable line and a non-zero exit.
  auto missing = Cli({"commit", "--clone-id", "nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  EXPECT_NE(Cli({"commit", "--clone-id", "../x"}).exit_code, 0);
}

}  // namespace
}  // namespace dblab::testing

namespace dblab::testing {
namespace {

// The pool lives in an image here, so clones keep their WAL beside it (provision.cloneWalDir:
// auto): the clone's superuser cannot use that to reach host files, and it goes with the clone.
TEST_F(CommitTest, ClonesWalLivesBesideThePoolAndAPlantedLinkIsNotFollowed) {
  StartEngineAndWaitForSnapshot();
  auto dev =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw-1", "--id", "dev"});
  ASSERT_EQ(dev["status"]["code"], "OK") << dev.dump(2) << engine_.Log();
  int port = std::stoi(dev["db"]["port"].get<std::string>());
  std::string wal = dir_ + "/mnt/dblab_pool.wal/dev";
  EXPECT_TRUE(std::filesystem::is_directory(wal));
  EXPECT_EQ(std::filesystem::read_symlink(ClonePath("dev") + "/pg_wal"), wal);
  auto session = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(session->Exec("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g").ok());

  // A hostile superuser plants a link to a host file in its WAL directory.
  ASSERT_TRUE(
      session->Exec("COPY (SELECT 1) TO PROGRAM 'ln -sfn /etc/passwd pg_wal/00000009.history'")
          .ok());
  ASSERT_FALSE(Commit({"--clone-id", "dev", "--message", "with t"}).empty()) << engine_.Log();
  auto other = CliJson(
      {"clone", "create", "--username", "other", "--password", "other-pw", "--id", "other"});
  ASSERT_EQ(other["status"]["code"], "OK") << other.dump(2) << engine_.Log();
  int other_port = std::stoi(other["db"]["port"].get<std::string>());
  auto reader = ConnectClone(other_port, "other", "other-pw", source_.dbname);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(QueryValue(*reader, "SELECT count(*) FROM t"), "1000");
  // Only WAL the engine wrote came along: the planted link is not in the new clone's WAL.
  EXPECT_EQ(QueryValue(*reader, "SELECT count(*) FROM pg_ls_waldir() WHERE name LIKE '%history'"),
            "0");

  ASSERT_EQ(Cli({"clone", "destroy", "dev"}).exit_code, 0);
  for (int i = 0; i < 200 && std::filesystem::exists(wal); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(std::filesystem::exists(wal));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/mnt/dblab_pool.wal/other"));
}

}  // namespace
}  // namespace dblab::testing

namespace dblab::testing {
namespace {

// That WAL directory is on the host's filesystem: a clone's superuser who fills it (here by
// writing a file into pg_wal; max_wal_size, wal_keep_size or a replication slot do the same) is
// stopped at provision.cloneWalMaxSize, and the other clones keep serving.
TEST_F(CommitTest, ACloneWhoseWalPassesItsLimitIsStoppedAndOthersKeepServing) {
  provision_extra_ = "  cloneWalMaxSize: 256MiB\n";
  StartEngineAndWaitForSnapshot();
  auto hog =
      CliJson({"clone", "create", "--username", "hog", "--password", "hog-pw-1", "--id", "hog"});
  ASSERT_EQ(hog["status"]["code"], "OK") << hog.dump(2) << engine_.Log();
  auto calm =
      CliJson({"clone", "create", "--username", "calm", "--password", "calm-pw-1", "--id", "calm"});
  ASSERT_EQ(calm["status"]["code"], "OK") << calm.dump(2) << engine_.Log();
  int hog_port = std::stoi(hog["db"]["port"].get<std::string>());
  int calm_port = std::stoi(calm["db"]["port"].get<std::string>());
  auto session = ConnectClone(hog_port, "hog", "hog-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  // 300 MiB into pg_wal; the engine may stop the server before the COPY ends (a slow disk).
  std::string fill =
      "COPY (SELECT repeat(md5(g::text), 32768) FROM generate_series(1, 300) g) TO '" +
      QueryValue(*session, "SHOW data_directory") + "/pg_wal/fill'";
  (void)session->Exec(fill);  // ends in an error when the server is stopped first
  nlohmann::json status;
  for (int i = 0; i < 300; ++i) {  // the engine looks every 5 s
    status = CliJson({"clone", "status", "hog"});
    if (status["status"]["code"] == "FATAL") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status["status"]["code"], "FATAL") << status.dump(2) << engine_.Log();
  std::string message = status["status"]["message"];
  EXPECT_NE(message.find("more than provision.cloneWalMaxSize (256 MiB)"), std::string::npos)
      << message;
  // FATAL is set before the stop (so the liveness check leaves it alone): the port closes next.
  for (int i = 0; i < 100 && PortListening(hog_port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(PortListening(hog_port));
  // Not restarted by the liveness check; the other clone answers.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  EXPECT_EQ(CliJson({"clone", "status", "hog"})["status"]["code"], "FATAL");
  auto reader = ConnectClone(calm_port, "calm", "calm-pw-1", source_.dbname);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(QueryValue(*reader, "SELECT count(*) FROM users"), std::to_string(users_));

  // A reset gives the clone a fresh WAL directory, and it serves again.
  ASSERT_EQ(CliJson({"clone", "reset", "hog"})["status"]["code"], "OK") << engine_.Log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/mnt/dblab_pool.wal/hog/fill"));
  auto again = ConnectClone(hog_port, "hog", "hog-pw-1", source_.dbname);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(QueryValue(*again, "SELECT count(*) FROM users"), std::to_string(users_));
}

}  // namespace
}  // namespace dblab::testing
