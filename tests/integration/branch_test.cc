// DLE 4's branch flow on the real engine, through the CLI as a user drives it: branch from main,
// clone on the branch, change data, commit with a message, a second clone of the branch sees the
// change, `log` lists both commits, main is unchanged, and the branch cannot be deleted while
// clones use it.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "client/api_client.h"
#include "common/time.h"
#include "engine_fixture.h"

namespace dblab::testing {
namespace {

class BranchTest : public EngineFixture {
 protected:
  ApiClient Client() { return ApiClient(ClientOptions{.url = Url(), .token = kToken}); }

  nlohmann::json CreateClone(const std::string& id, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"clone",      "create",     "--username", id,
                                     "--password", id + "-pw-1", "--id",       id};
    args.insert(args.end(), extra.begin(), extra.end());
    return CliJson(args);
  }
  static int Port(const nlohmann::json& clone) {
    return std::stoi(clone["db"]["port"].get<std::string>());
  }
};

TEST_F(BranchTest, DleBranchFlowFromMainToACommitSharedOnItsBranch) {
  // Given an engine whose first snapshot is main's head,
  StartEngineAndWaitForSnapshot();
  ApiClient client = Client();
  auto branches = client.Branches();
  ASSERT_TRUE(branches.ok()) << branches.error().message;
  ASSERT_EQ(branches->size(), 1u) << branches->dump(2);
  EXPECT_EQ((*branches)[0]["name"], "main");
  std::string main_head = (*branches)[0]["snapshotID"];

  // when a developer branches off main (and the CLI switches to it),
  auto made = Cli({"branch", "feature"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(made.out, "Switched to new branch 'feature'\n");
  auto listed = Cli({"branch"});
  EXPECT_EQ(listed.out, "* feature\n  main\n");

  // clones it (the current branch), changes data and commits with a message,
  auto dev = CreateClone("dev");
  ASSERT_EQ(dev["status"]["code"], "OK") << dev.dump(2) << engine_.Log();
  EXPECT_EQ(dev["branch"], "feature");
  EXPECT_EQ(dev["snapshot"]["id"], main_head);
  auto session = ConnectClone(Port(dev), "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(session->Exec("ALTER TABLE users ADD COLUMN tier int DEFAULT 7").ok());
  std::string commit_id = Commit({"--clone-id", "dev", "--message", "tier column"});
  ASSERT_FALSE(commit_id.empty()) << engine_.Log();

  // then a second clone of the branch sees the change,
  auto reader = CreateClone("reader", {"--branch", "feature"});
  ASSERT_EQ(reader["status"]["code"], "OK") << reader.dump(2) << engine_.Log();
  EXPECT_EQ(reader["snapshot"]["id"], commit_id);
  auto reader_session = ConnectClone(Port(reader), "reader", "reader-pw-1", source_.dbname);
  ASSERT_TRUE(reader_session.ok()) << reader_session.error().message;
  EXPECT_EQ(QueryValue(*reader_session, "SELECT count(*) FROM users WHERE tier = 7"),
            std::to_string(users_));

  // the branch's log lists the commit and main's snapshot, newest first, with messages,
  auto log = client.BranchLog("feature");
  ASSERT_TRUE(log.ok()) << log.error().message;
  ASSERT_EQ(log->size(), 2u) << log->dump(2);
  EXPECT_EQ((*log)[0]["id"], commit_id);
  EXPECT_EQ((*log)[0]["message"], "tier column");
  EXPECT_EQ((*log)[0]["parent"], main_head);
  EXPECT_EQ((*log)[0]["branch"], nlohmann::json::array({"feature"}));
  EXPECT_EQ((*log)[1]["id"], main_head);
  EXPECT_EQ((*log)[1]["root"], nlohmann::json::array({"feature"}));
  auto printed = Cli({"log"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_TRUE(printed.out.starts_with("snapshot " + commit_id + " (HEAD -> feature)\n"))
      << printed.out;
  EXPECT_NE(printed.out.find("\n    tier column\n\nsnapshot " + main_head + " (HEAD -> main)\n"),
            std::string::npos)
      << printed.out;
  auto details = client.SnapshotDetails(commit_id);
  ASSERT_TRUE(details.ok()) << details.error().message;
  EXPECT_EQ((*details)["clones"], nlohmann::json::array({"dev", "reader"}));

  // main is unchanged: its head is the same, and a clone of main has no tier column,
  auto main_log = client.BranchLog("main");
  ASSERT_TRUE(main_log.ok());
  ASSERT_EQ(main_log->size(), 1u);
  EXPECT_EQ((*main_log)[0]["id"], main_head);
  auto switched = Cli({"switch", "main"});
  ASSERT_EQ(switched.exit_code, 0) << switched.err;
  EXPECT_EQ(switched.out, "Switched to branch 'main'\n");
  auto plain = CreateClone("plain");
  ASSERT_EQ(plain["status"]["code"], "OK") << plain.dump(2);
  EXPECT_EQ(plain["snapshot"]["id"], main_head);
  EXPECT_EQ(plain["branch"], "main");
  auto plain_session = ConnectClone(Port(plain), "plain", "plain-pw-1", source_.dbname);
  ASSERT_TRUE(plain_session.ok());
  EXPECT_EQ(QueryValue(*plain_session,
                       "SELECT count(*) FROM information_schema.columns WHERE column_name = "
                       "'tier'"),
            "0");

  // and the branch cannot be deleted while clones use it; once they are gone, it can.
  auto refused = Cli({"branch", "--delete", "feature"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("dev"), std::string::npos) << refused.err;
  EXPECT_EQ(Cli({"clone", "destroy", "dev"}).exit_code, 0);
  EXPECT_EQ(Cli({"clone", "destroy", "reader"}).exit_code, 0);
  auto deleted = Cli({"branch", "--delete", "feature"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "Deleted branch 'feature'\n");
  EXPECT_EQ(Cli({"branch"}).out, "* main\n");
  auto snapshots = client.Snapshots();
  ASSERT_TRUE(snapshots.ok());
  EXPECT_EQ(snapshots->size(), 1u) << snapshots->dump(2);  // the commit went with its branch
}

TEST_F(BranchTest, UnicodeNamesWorkThroughTheCliAndBadNamesAre400) {
  StartEngineAndWaitForSnapshot();
  // Given a branch named in Cyrillic, made, listed, logged and deleted through the CLI,
  auto made = Cli({"branch", "функция-1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(made.out, "Switched to new branch 'функция-1'\n");
  auto log = Cli({"log", "функция-1"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_TRUE(log.out.starts_with("snapshot ")) << log.out;
  EXPECT_NE(log.out.find("(HEAD -> main, функция-1)"), std::string::npos) << log.out;
  EXPECT_EQ(Cli({"switch", "main"}).exit_code, 0);
  auto deleted = Cli({"branch", "--delete", "функция-1"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;

  // when names hide or separate, then the engine answers 400 naming the rule.
  ApiClient client = Client();
  for (const char* bad : {"a/b", "a\u202eb", "a b", "-x"}) {
    auto refused = client.CreateBranch({{"branchName", bad}, {"baseBranch", "main"}});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_NE(refused.error().message.find("letters or digits"), std::string::npos)
        << refused.error().message;
  }
  auto branches = client.Branches();
  ASSERT_TRUE(branches.ok());
  EXPECT_EQ(branches->size(), 1u) << branches->dump(2);
}

TEST_F(BranchTest, AProtectedSnapshotIsNotDeleted) {
  StartEngineAndWaitForSnapshot();
  ApiClient client = Client();
  auto snapshots = client.Snapshots();
  ASSERT_TRUE(snapshots.ok());
  std::string id = (*snapshots)[0]["id"];
  auto protectedSnapshot = client.UpdateSnapshot(id, {{"protected", true}});
  ASSERT_TRUE(protectedSnapshot.ok()) << protectedSnapshot.error().message;
  EXPECT_EQ((*protectedSnapshot)["protected"], true);
  auto refused = client.DeleteSnapshot(id);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("protected"), std::string::npos);
  auto one = client.GetSnapshot(id);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)["protected"], true);
  EXPECT_EQ((*one)["branch"], "main");

  // DLE's web UI creates a branch with both a base branch and a snapshot.
  auto made =
      client.CreateBranch({{"branchName", "ui-made"}, {"baseBranch", "main"}, {"snapshotID", id}});
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ((*made)["name"], "ui-made");
  auto branches = client.Branches();
  ASSERT_TRUE(branches.ok());
  ASSERT_EQ(branches->size(), 2u);
  EXPECT_EQ((*branches)[1]["parent"], "main");
  EXPECT_EQ((*branches)[1]["snapshotID"], id);
}

// DLE's deleteAt (PATCH /snapshot/{id}, PATCH /branch/{name}): housekeeping deletes what is
// due, keeps what a clone still uses until it is gone, and a schedule excludes protection.
TEST_F(BranchTest, ScheduledDeletionWaitsForTheClonesAndExcludesProtection) {
  engine_args_ = {"--housekeeping-interval", "1"};
  StartEngineAndWaitForSnapshot();
  ApiClient client = Client();
  auto listed = client.Snapshots();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::string first = (*listed)[0]["id"];
  auto wait_until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 100 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  };
  auto snapshot_exists = [&](const std::string& id) { return client.GetSnapshot(id).ok(); };
  auto branch_exists = [&](const std::string& name) {
    auto branches = client.Branches();
    if (!branches.ok()) return true;  // not known to be gone
    for (const auto& branch : *branches) {
      if (branch["name"] == name) return true;
    }
    return false;
  };
  std::string past = FormatRfc3339(std::chrono::system_clock::now() - std::chrono::seconds(5));
  std::string later = FormatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(1));

  // A commit on a branch, due now, stays while the clone on it lives, and goes after it.
  ASSERT_EQ(Cli({"branch", "feature"}).exit_code, 0);
  auto dev = CreateClone("dev");
  ASSERT_EQ(dev["status"]["code"], "OK") << dev.dump(2) << engine_.Log();
  std::string commit = Commit({"--clone-id", "dev", "--message", "short-lived"});
  ASSERT_FALSE(commit.empty()) << engine_.Log();
  auto scheduled = client.UpdateSnapshot(commit, {{"deleteAt", past}});
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().message;
  EXPECT_EQ((*scheduled)["deleteAt"], past);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // three housekeeping rounds
  EXPECT_TRUE(snapshot_exists(commit)) << engine_.Log();
  EXPECT_NE(engine_.Log().find("snapshot " + commit + ": its deleteAt has passed, kept for now"),
            std::string::npos);
  ASSERT_EQ(Cli({"clone", "destroy", "dev"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !snapshot_exists(commit); })) << engine_.Log();

  // A branch due now goes; main's deletion cannot be scheduled.
  auto branch = client.UpdateBranch("feature", {{"deleteAt", past}});
  ASSERT_TRUE(branch.ok()) << branch.error().message;
  EXPECT_TRUE(wait_until([&] { return !branch_exists("feature"); })) << engine_.Log();
  auto main_refused = client.UpdateBranch("main", {{"deleteAt", past}});
  ASSERT_FALSE(main_refused.ok());
  EXPECT_NE(main_refused.error().message.find("main cannot be deleted"), std::string::npos);

  // Protection and a schedule exclude each other: one request with both is refused, a schedule
  // clears the protection, and protecting again clears the schedule.
  auto both = client.UpdateSnapshot(first, {{"protected", true}, {"deleteAt", later}});
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("not both"), std::string::npos) << both.error().message;
  ASSERT_TRUE(client.UpdateSnapshot(first, {{"protected", true}}).ok());
  auto unprotected = client.UpdateSnapshot(first, {{"deleteAt", later}});
  ASSERT_TRUE(unprotected.ok()) << unprotected.error().message;
  EXPECT_EQ((*unprotected)["protected"], false);
  EXPECT_EQ((*unprotected)["deleteAt"], later);
  auto reprotected = client.UpdateSnapshot(first, {{"protected", true}});
  ASSERT_TRUE(reprotected.ok());
  EXPECT_FALSE(reprotected->contains("deleteAt")) << reprotected->dump(2);
  EXPECT_TRUE(snapshot_exists(first));

  // The schedule survives an engine restart.
  ASSERT_TRUE(client.UpdateSnapshot(first, {{"deleteAt", later}}).ok());
  engine_.Terminate();
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  auto after = Client().GetSnapshot(first);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ((*after)["deleteAt"], later);
}

}  // namespace
}  // namespace dblab::testing
