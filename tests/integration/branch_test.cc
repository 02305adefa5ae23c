// DLE 4's branch flow on the real engine, through the CLI as a user drives it: branch from main,
// clone on the branch, change data, commit with a message, a second clone of the branch sees the
// change, `log` lists both commits, main is unchanged, and the branch cannot be deleted while
// clones use it.
#include <gtest/gtest.h>

#include "client/api_client.h"
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

}  // namespace
}  // namespace dblab::testing
