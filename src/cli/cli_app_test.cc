#include "cli/cli_app.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/fake_http_server.h"

namespace dblab {
namespace {

using nlohmann::json;
using test_support::CannedResponse;
using test_support::FakeHttpServer;
using test_support::RecordedRequest;

constexpr const char* kToken = "engine-token-0001";

// A scripted engine: answers "METHOD /path" from a queue (the last answer repeats), checks the
// token like the real engine, and 404s anything unscripted.
class FakeEngine {
 public:
  FakeEngine() : server_([this](const RecordedRequest& request) { return Answer(request); }) {}

  void Script(const std::string& request, std::vector<CannedResponse> answers) {
    std::lock_guard<std::mutex> lock(mutex_);
    script_[request] = std::deque<CannedResponse>(answers.begin(), answers.end());
  }
  std::string url() const { return server_.url(); }
  std::vector<RecordedRequest> requests() const { return server_.requests(); }
  std::vector<std::string> RequestLines() const {
    std::vector<std::string> lines;
    for (const auto& request : server_.requests())
      lines.push_back(request.method + " " + request.path);
    return lines;
  }

 private:
  CannedResponse Answer(const RecordedRequest& request) {
    if (request.path != "/healthz" && request.Header("verification-token") != kToken) {
      return {401, R"({"code":"UNAUTHORIZED","message":"Verification token is wrong"})"};
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = script_.find(request.method + " " + request.path);
    if (found == script_.end() || found->second.empty()) {
      return {404, R"({"code":"NOT_FOUND","message":"not found"})"};
    }
    CannedResponse answer = found->second.front();
    if (found->second.size() > 1) found->second.pop_front();
    return answer;
  }

  std::mutex mutex_;
  std::map<std::string, std::deque<CannedResponse>> script_;
  FakeHttpServer server_;  // last: stops before the script goes away
};

json CloneJson(const std::string& id, const std::string& code, const std::string& message = "") {
  return {{"id", id},
          {"status", {{"code", code}, {"message", message}}},
          {"db", {{"username", "alice"}, {"port", code == "OK" ? "6000" : ""}}}};
}

CannedResponse Ok(const json& body, int status = 200) { return {status, body.dump()}; }

std::string Pretty(const json& value) { return value.dump(4) + "\n"; }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab_cli_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    config_dir_ = std::filesystem::path(pattern) / "cli";
    env_["DBLAB_CLI_CONFIG_DIR"] = config_dir_.string();
  }
  void TearDown() override { std::filesystem::remove_all(config_dir_.parent_path()); }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    const CliIo io{out_, err_,
                   [this](const char* name) -> const char* {
                     auto found = env_.find(name);
                     return found == env_.end() ? nullptr : found->second.c_str();
                   },
                   [this](std::chrono::milliseconds delay) { sleeps_.push_back(delay); }};
    return RunCli(args, io);
  }

  // Given an environment pointing at `engine` with the right token.
  void UseEngine(const FakeEngine& engine) {
    ASSERT_EQ(Run({"init", "--environment-id", "test", "--url", engine.url(), "--token", kToken}),
              kExitOk)
        << err_.str();
  }

  std::string out() const { return out_.str(); }
  int ErrLines() const {
    const std::string text = err_.str();
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }
  std::string err() const { return err_.str(); }

  std::filesystem::path config_dir_;
  std::map<std::string, std::string> env_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

// ---- init and config -------------------------------------------------------------------------

TEST_F(CliTest, InitCreatesAPrivateConfigAndMakesTheEnvironmentCurrent) {
  EXPECT_EQ(Run({"init", "--environment-id", "local", "--url", "http://127.0.0.1:2345", "--token",
                 "abcdefgh-secret-9876", "--request-timeout", "2m"}),
            kExitOk)
      << err();

  const auto file = config_dir_ / "cli.yml";
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(out(), Pretty({{"environment_id", "local"},
                           {"url", "http://127.0.0.1:2345"},
                           {"token", "****9876"},
                           {"insecure", false},
                           {"request_timeout", "120s"},
                           {"branching", {{"current_branch", ""}}}}));
  EXPECT_EQ(out().find("abcdefgh"), std::string::npos);

  EXPECT_EQ(Run({"config", "list"}), kExitOk);
  EXPECT_EQ(out(), "* local\n");
  auto config = LoadCliConfig(file);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->environments.at("local").token, "abcdefgh-secret-9876");
}

TEST_F(CliTest, InitRequiresUrlAndEnvironmentIdAndRefusesDuplicates) {
  EXPECT_EQ(Run({"init", "--environment-id", "local"}), kExitUsage);
  EXPECT_EQ(err(), "Error: --url is required\n");
  EXPECT_EQ(Run({"init", "--url", "http://x:1"}), kExitUsage);
  EXPECT_NE(err().find("--environment-id is required"), std::string::npos) << err();
  EXPECT_EQ(Run({"init", "--environment-id", "local", "--url", "ftp://x"}), kExitUsage);
  EXPECT_EQ(Run({"init", "--environment-id", "local", "--url", "http://x:1", "--request-timeout",
                 "soon"}),
            kExitUsage);
  EXPECT_FALSE(std::filesystem::exists(config_dir_ / "cli.yml"));

  ASSERT_EQ(Run({"init", "--environment-id", "local", "--url", "http://x:1"}), kExitOk);
  EXPECT_EQ(Run({"init", "--environment-id", "local", "--url", "http://y:1"}), kExitFailure);
  EXPECT_NE(err().find("already exists"), std::string::npos);
}

TEST_F(CliTest, ConfigCommandsManageEnvironments) {
  ASSERT_EQ(Run({"init", "--environment-id", "local", "--url", "http://127.0.0.1:2345"}), kExitOk);

  // create makes the new environment current.
  ASSERT_EQ(Run({"config", "create", "staging", "--url", "https://staging:2345", "--token",
                 "staging-token-1234", "-k"}),
            kExitOk)
      << err();
  EXPECT_EQ(Run({"config", "list"}), kExitOk);
  EXPECT_EQ(out(), "  local\n* staging\n");

  // update changes only the flags given.
  ASSERT_EQ(Run({"config", "update", "local", "--token", "local-token-5678"}), kExitOk) << err();
  ASSERT_EQ(Run({"config", "view", "local"}), kExitOk);
  EXPECT_EQ(json::parse(out())["url"], "http://127.0.0.1:2345");
  EXPECT_EQ(json::parse(out())["token"], "****5678");

  // view without ENV shows the current one.
  ASSERT_EQ(Run({"config", "view"}), kExitOk);
  EXPECT_EQ(json::parse(out())["environment_id"], "staging");
  EXPECT_EQ(json::parse(out())["insecure"], true);

  ASSERT_EQ(Run({"config", "switch", "local"}), kExitOk);
  EXPECT_EQ(out(), "Switched to environment: local\n");
  EXPECT_EQ(Run({"config", "list"}), kExitOk);
  EXPECT_EQ(out(), "* local\n  staging\n");

  ASSERT_EQ(Run({"config", "remove", "staging"}), kExitOk);
  EXPECT_EQ(out(), "Environment removed: staging\n");
  EXPECT_EQ(Run({"config", "list"}), kExitOk);
  EXPECT_EQ(out(), "* local\n");
}

TEST_F(CliTest, ConfigCommandsOnUnknownEnvironmentsFail) {
  ASSERT_EQ(Run({"init", "--environment-id", "local", "--url", "http://127.0.0.1:2345"}), kExitOk);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"config", "switch", "nope"},
                                               {"config", "remove", "nope"},
                                               {"config", "view", "nope"},
                                               {"config", "update", "nope", "--token", "t"}}) {
    EXPECT_EQ(Run(args), kExitFailure) << args[1];
    EXPECT_NE(err().find("environment \"nope\" not found"), std::string::npos) << err();
  }
  EXPECT_EQ(Run({"config", "create", "bad/name", "--url", "http://x:1"}), kExitUsage);
}

// ---- settings precedence ---------------------------------------------------------------------

TEST_F(CliTest, FlagBeatsEnvironmentVariableBeatsConfigFile) {
  FakeEngine from_config, from_env, from_flag;
  for (FakeEngine* engine : {&from_config, &from_env, &from_flag}) {
    engine->Script("GET /clones", {Ok(json::array())});
  }
  ASSERT_EQ(Run({"init", "--environment-id", "e", "--url", from_config.url(), "--token", kToken}),
            kExitOk);

  ASSERT_EQ(Run({"clone", "list"}), kExitOk) << err();
  EXPECT_EQ(from_config.requests().size(), 1u);

  env_["DBLAB_INSTANCE_URL"] = from_env.url();
  ASSERT_EQ(Run({"clone", "list"}), kExitOk) << err();
  EXPECT_EQ(from_env.requests().size(), 1u);

  ASSERT_EQ(Run({"clone", "list", "--url", from_flag.url()}), kExitOk) << err();
  EXPECT_EQ(from_flag.requests().size(), 1u);
  EXPECT_EQ(from_config.requests().size(), 1u);
  EXPECT_EQ(from_env.requests().size(), 1u);

  // The token follows the same order: env overrides the (right) config token.
  env_["DBLAB_VERIFICATION_TOKEN"] = "wrong";
  EXPECT_EQ(Run({"clone", "list"}), kExitUnauthorized);
  EXPECT_EQ(Run({"--token", kToken, "clone", "list"}), kExitOk) << err();
  EXPECT_EQ(from_env.requests().back().Header("verification-token"), kToken);
}

TEST_F(CliTest, WithoutAnyUrlTheCliSaysHowToConfigureIt) {
  EXPECT_EQ(Run({"clone", "list"}), kExitUsage);
  EXPECT_NE(err().find("no engine URL"), std::string::npos) << err();
  EXPECT_NE(err().find("dblab init"), std::string::npos) << err();
}

// ---- clones ----------------------------------------------------------------------------------

TEST_F(CliTest, CloneCreateSendsTheRequestAndWaitsUntilTheCloneIsReady) {
  FakeEngine engine;
  engine.Script("POST /clone", {Ok(CloneJson("c1", "CREATING"), 201)});
  engine.Script("GET /clone/c1", {Ok(CloneJson("c1", "CREATING")), Ok(CloneJson("c1", "CREATING")),
                                  Ok(CloneJson("c1", "OK", "Clone is ready"))});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "create", "--username", "alice", "--password", "pw-secret", "--id", "c1",
                 "--snapshot-id", "snap1", "--db-name", "app", "--restricted", "-p", "2h",
                 "--extra-config", "work_mem=64MB", "--extra-config", "a=b=c"}),
            kExitOk)
      << err();

  EXPECT_EQ(engine.RequestLines(), (std::vector<std::string>{"POST /clone", "GET /clone/c1",
                                                             "GET /clone/c1", "GET /clone/c1"}));
  const RecordedRequest create = engine.requests()[0];
  EXPECT_EQ(create.Header("verification-token"), kToken);
  EXPECT_EQ(json::parse(create.body), (json{{"id", "c1"},
                                            {"snapshot", {{"id", "snap1"}}},
                                            {"protected", true},
                                            {"protectionDurationMinutes", 120},
                                            {"db",
                                             {{"username", "alice"},
                                              {"password", "pw-secret"},
                                              {"restricted", true},
                                              {"db_name", "app"}}},
                                            {"extra_conf", {{"work_mem", "64MB"}, {"a", "b=c"}}}}));
  EXPECT_EQ(out(), Pretty(CloneJson("c1", "OK", "Clone is ready")));
  EXPECT_EQ(err(), "");
  // Polls back off from 20 ms by 1.5x.
  EXPECT_EQ(sleeps_, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(20),
                                                             std::chrono::milliseconds(30)}));
}

TEST_F(CliTest, CloneCreateTakesTheIdAsAnArgumentAndProtectedForever) {
  FakeEngine engine;
  engine.Script("POST /clone", {Ok(CloneJson("c2", "OK"), 201)});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "create", "c2", "--username", "alice", "--password", "pw", "-p", "0"}),
            kExitOk)
      << err();

  EXPECT_EQ(json::parse(engine.requests()[0].body),
            (json{{"id", "c2"},
                  {"protected", true},
                  {"protectionDurationMinutes", 0},
                  {"db", {{"username", "alice"}, {"password", "pw"}}}}));
}

TEST_F(CliTest, CloneCreateAsyncReturnsTheCreatingCloneWithoutPolling) {
  FakeEngine engine;
  engine.Script("POST /clone", {Ok(CloneJson("gen1", "CREATING"), 201)});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "create", "--username", "alice", "--password", "pw", "--async"}),
            kExitOk);

  EXPECT_EQ(engine.RequestLines(), std::vector<std::string>{"POST /clone"});
  EXPECT_EQ(out(), Pretty(CloneJson("gen1", "CREATING")));
}

TEST_F(CliTest, CloneCreateThatEndsFatalFailsWithTheEnginesMessage) {
  FakeEngine engine;
  engine.Script("POST /clone", {Ok(CloneJson("c1", "CREATING"), 201)});
  engine.Script("GET /clone/c1", {Ok(CloneJson("c1", "FATAL", "postgres did not start"))});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "create", "c1", "--username", "alice", "--password", "pw"}),
            kExitFailure);

  EXPECT_EQ(out(), "");
  EXPECT_EQ(err(), "Error: creation of clone \"c1\" failed: postgres did not start\n");
}

TEST_F(CliTest, DebugShowsRequestsButNeverThePassword) {
  FakeEngine engine;
  engine.Script("POST /clone", {Ok(CloneJson("c1", "OK"), 201)});
  UseEngine(engine);

  EXPECT_EQ(Run({"--debug", "clone", "create", "c1", "--username", "alice", "--password",
                 "pw-very-secret"}),
            kExitOk);

  EXPECT_NE(err().find("[debug] POST " + engine.url() + "/clone -> HTTP 201"), std::string::npos)
      << err();
  EXPECT_EQ(err().find("pw-very-secret"), std::string::npos);
  EXPECT_EQ(out().find("pw-very-secret"), std::string::npos);
  EXPECT_EQ(err().find(kToken), std::string::npos);
}

TEST_F(CliTest, CloneUpdateSendsTheProtectionDuration) {
  FakeEngine engine;
  engine.Script("PATCH /clone/c1", {Ok(CloneJson("c1", "OK"))});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "update", "c1", "-p", "7d"}), kExitOk) << err();
  EXPECT_EQ(json::parse(engine.requests()[0].body),
            (json{{"protected", true}, {"protectionDurationMinutes", 7 * 24 * 60}}));
  EXPECT_EQ(out(), Pretty(CloneJson("c1", "OK")));

  EXPECT_EQ(Run({"clone", "update", "c1", "--protected", "false"}), kExitOk) << err();
  EXPECT_EQ(json::parse(engine.requests()[1].body), (json{{"protected", false}}));
}

// ---- branches --------------------------------------------------------------------------------

TEST_F(CliTest, BranchCreatesSwitchesListsAndDeletesLikeDle) {
  FakeEngine engine;
  json branches = json::array({{{"name", "main"}, {"snapshotID", "p@1"}}});
  json with_dev = json::array(
      {{{"name", "main"}, {"snapshotID", "p@1"}}, {{"name", "dev"}, {"snapshotID", "p@1"}}});
  engine.Script("GET /branches", {Ok(branches), Ok(with_dev)});
  engine.Script("POST /branch", {Ok({{"name", "dev"}})});
  engine.Script("DELETE /branch/dev", {Ok({{"status", "OK"}, {"message", "Deleted branch"}})});
  engine.Script("POST /clone", {Ok(CloneJson("c1", "OK"), 201)});
  UseEngine(engine);

  // Given only main, `dblab branch dev` creates dev from the current branch and switches to it,
  ASSERT_EQ(Run({"branch", "dev"}), kExitOk) << err();
  EXPECT_EQ(out(), "Switched to new branch 'dev'\n");
  EXPECT_EQ(json::parse(engine.requests()[1].body),
            (json{{"branchName", "dev"}, {"baseBranch", "main"}}));
  // then the list stars it, and new clones go on it.
  ASSERT_EQ(Run({"branch"}), kExitOk) << err();
  EXPECT_EQ(out(), "* dev\n  main\n");
  ASSERT_EQ(Run({"clone", "create", "--username", "u", "--password", "p", "--id", "c1"}), kExitOk)
      << err();
  EXPECT_EQ(json::parse(engine.requests().back().body)["branch"], "dev");

  // `switch` keeps the choice in cli.yml; an unknown branch is refused.
  ASSERT_EQ(Run({"switch", "main"}), kExitOk) << err();
  EXPECT_EQ(out(), "Switched to branch 'main'\n");
  EXPECT_NE(Run({"switch", "nope"}), kExitOk);
  ASSERT_EQ(Run({"config", "view"}), kExitOk);
  EXPECT_EQ(json::parse(out())["branching"]["current_branch"], "main");

  ASSERT_EQ(Run({"branch", "--delete", "dev"}), kExitOk) << err();
  EXPECT_EQ(out(), "Deleted branch 'dev'\n");
  EXPECT_NE(Run({"branch", "--delete", "../x"}), kExitOk);
}

TEST_F(CliTest, LogPrintsCommitsNewestFirst) {
  FakeEngine engine;
  engine.Script("GET /branch/dev/log", {Ok(json::array({{{"id", "p@2"},
                                                         {"parent", "p@1"},
                                                         {"branch", json::array({"dev"})},
                                                         {"root", json::array()},
                                                         {"dataStateAt", "20261201063000"},
                                                         {"message", "add a column"}},
                                                        {{"id", "p@1"},
                                                         {"parent", "-"},
                                                         {"branch", json::array({"main"})},
                                                         {"root", json::array({"dev"})},
                                                         {"dataStateAt", "20261130100000"},
                                                         {"message", ""}}}))});
  UseEngine(engine);
  ASSERT_EQ(Run({"log", "dev"}), kExitOk) << err();
  // DLE's snapshotTemplate: the heads after the id, the date in Go's RFC1123Z, the message
  // indented on its own line (none for an empty one).
  EXPECT_EQ(out(),
            "snapshot p@2 (HEAD -> dev)\nDataStateAt: Tue, 01 Dec 2026 06:30:00 +0000\n"
            "    add a column\n\n"
            "snapshot p@1 (HEAD -> main)\nDataStateAt: Mon, 30 Nov 2026 10:00:00 +0000\n\n");
}

TEST_F(CliTest, CommitPrintsTheNewSnapshotAsDleDoes) {
  FakeEngine engine;
  engine.Script("POST /branch/snapshot",
                {Ok({{"snapshotID", "dblab_pool@snapshot_20261202040000"}})});
  UseEngine(engine);

  ASSERT_EQ(Run({"commit", "--clone-id", "c1", "--message", "after the migration"}), kExitOk)
      << err();
  EXPECT_EQ(json::parse(engine.requests()[0].body),
            (json{{"cloneID", "c1"}, {"message", "after the migration"}}));
  // DLE's CLI: fmt.Fprintf(w, "Created new snapshot '%s'\n", snapshot.SnapshotID).
  EXPECT_EQ(out(), "Created new snapshot 'dblab_pool@snapshot_20261202040000'\n");
}

TEST(FormatBranchLogTest, FollowsDleTemplateForPlainAndOddCommits) {
  // A commit no branch points at keeps the space after its id, as DLE's template prints it;
  // "-" is DLE's empty message; an unparsable date prints empty.
  json log = json::array({{{"id", "p@3"},
                           {"branch", json::array()},
                           {"dataStateAt", "20240229235959"},
                           {"message", "-"}},
                          {{"id", "p@4"},
                           {"branch", json::array({"a", "b"})},
                           {"dataStateAt", "20241341000000"},
                           {"message", "two heads"}}});
  EXPECT_EQ(FormatBranchLog(log),
            "snapshot p@3 \nDataStateAt: Thu, 29 Feb 2024 23:59:59 +0000\n\n"
            "snapshot p@4 (HEAD -> a, b)\nDataStateAt: \n    two heads\n\n");
  EXPECT_EQ(FormatBranchLog(json::object()), "");
}

TEST_F(CliTest, CloneResetSendsTheTargetAndWaitsWhileResetting) {
  FakeEngine engine;
  engine.Script("POST /clone/c1/reset", {Ok(CloneJson("c1", "RESETTING"))});
  engine.Script("GET /clone/c1", {Ok(CloneJson("c1", "RESETTING")), Ok(CloneJson("c1", "OK"))});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "reset", "c1", "--latest"}), kExitOk) << err();

  EXPECT_EQ(engine.RequestLines(),
            (std::vector<std::string>{"POST /clone/c1/reset", "GET /clone/c1", "GET /clone/c1"}));
  EXPECT_EQ(json::parse(engine.requests()[0].body), (json{{"latest", true}}));
  EXPECT_EQ(out(), Pretty(CloneJson("c1", "OK")));

  EXPECT_EQ(Run({"clone", "reset", "c1", "--snapshot-id", "snap2", "--async"}), kExitOk);
  EXPECT_EQ(json::parse(engine.requests()[3].body), (json{{"snapshotID", "snap2"}}));
  EXPECT_EQ(engine.requests().size(), 4u);

  EXPECT_EQ(Run({"clone", "reset", "c1", "--latest", "--snapshot-id", "s"}), kExitUsage);
  EXPECT_EQ(engine.requests().size(), 4u);
}

TEST_F(CliTest, CloneDestroyWaitsUntilTheCloneIsGone) {
  FakeEngine engine;
  engine.Script("DELETE /clone/c1", {Ok(CloneJson("c1", "DELETING"))});
  engine.Script("GET /clone/c1",
                {Ok(CloneJson("c1", "DELETING")),
                 {404, R"({"code":"NOT_FOUND","message":"clone \"c1\" not found"})"}});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "destroy", "c1"}), kExitOk) << err();

  EXPECT_EQ(engine.RequestLines(),
            (std::vector<std::string>{"DELETE /clone/c1", "GET /clone/c1", "GET /clone/c1"}));
  EXPECT_EQ(out(), "The clone has been successfully destroyed: c1\n");
}

TEST_F(CliTest, CloneDestroyAsyncDoesNotPoll) {
  FakeEngine engine;
  engine.Script("DELETE /clone/c1", {{200, ""}});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "destroy", "c1", "-a"}), kExitOk) << err();
  EXPECT_EQ(engine.RequestLines(), std::vector<std::string>{"DELETE /clone/c1"});
}

TEST_F(CliTest, ReadCommandsPrintTheEnginesJsonWithFourSpaces) {
  FakeEngine engine;
  const json clones = json::array({CloneJson("a", "OK"), CloneJson("b", "CREATING")});
  const json snapshots = json::array({{{"id", "pool@snap1"}, {"numClones", 1}}});
  const json status = {{"status", {{"code", "OK"}, {"message", "Instance is ready"}}}};
  const json health = {{"version", "0.1.0"}, {"edition", "community"}};
  const json refresh = {{"status", "OK"}, {"message", "Full refresh started"}};
  engine.Script("GET /clones", {Ok(clones)});
  engine.Script("GET /clone/a", {Ok(clones[0])});
  engine.Script("GET /snapshots", {Ok(snapshots)});
  engine.Script("GET /status", {Ok(status)});
  engine.Script("GET /healthz", {Ok(health)});
  engine.Script("POST /full-refresh", {Ok(refresh)});
  UseEngine(engine);

  ASSERT_EQ(Run({"clone", "list"}), kExitOk);
  EXPECT_EQ(out(), Pretty(clones));
  ASSERT_EQ(Run({"clone", "status", "a"}), kExitOk);
  EXPECT_EQ(out(), Pretty(clones[0]));
  EXPECT_NE(out().find("\n    \"db\": {\n        \"port\""), std::string::npos) << out();
  ASSERT_EQ(Run({"snapshot", "list"}), kExitOk);
  EXPECT_EQ(out(), Pretty(snapshots));
  ASSERT_EQ(Run({"instance", "status"}), kExitOk);
  EXPECT_EQ(out(), Pretty(status));
  ASSERT_EQ(Run({"instance", "version"}), kExitOk);
  EXPECT_EQ(out(), Pretty(health));
  ASSERT_EQ(Run({"instance", "full-refresh"}), kExitOk);
  EXPECT_EQ(out(), Pretty(refresh));
}

// ---- errors and exit codes -------------------------------------------------------------------

TEST_F(CliTest, NotFoundIsOneReadableLineAndExitOne) {
  FakeEngine engine;
  engine.Script("GET /clone/x",
                {{404, R"({"code":"NOT_FOUND","message":"clone \"x\" not found"})"}});
  UseEngine(engine);

  EXPECT_EQ(Run({"clone", "status", "x"}), kExitFailure);
  EXPECT_EQ(out(), "");
  EXPECT_EQ(err(), "Error: clone \"x\" not found (HTTP 404)\n");
}

TEST_F(CliTest, UnreachableEngineExitsThree) {
  // Port 1: privileged and never served here, so nothing can take it between two steps (a
  // closed ephemeral port can be reused by another process at once).
  int port = 1;
  EXPECT_EQ(Run({"--url", "http://127.0.0.1:" + std::to_string(port), "instance", "status"}),
            kExitUnreachable);
  EXPECT_EQ(err().rfind("Error: cannot reach dblab engine at http://127.0.0.1:", 0), 0u) << err();
  EXPECT_EQ(ErrLines(), 1);
}

TEST_F(CliTest, WrongTokenExitsFour) {
  FakeEngine engine;
  engine.Script("GET /status", {Ok(json::object())});
  ASSERT_EQ(Run({"init", "--environment-id", "e", "--url", engine.url(), "--token", "nope"}),
            kExitOk);

  EXPECT_EQ(Run({"instance", "status"}), kExitUnauthorized);
  EXPECT_EQ(err(),
            "Error: Verification token is wrong (HTTP 401); check --token or "
            "DBLAB_VERIFICATION_TOKEN\n");
}

TEST_F(CliTest, InvalidInputIsRejectedLocallyWithExitTwo) {
  FakeEngine engine;
  UseEngine(engine);
  const std::vector<std::vector<std::string>> bad_commands = {
      {"clone", "status", "../etc"},
      {"clone", "destroy", "-x"},
      {"clone", "create", "bad id", "--username", "u", "--password", "p"},
      {"clone", "create", "--username", "u", "--password", "p", "-p", "soon"},
      {"clone", "create", "--username", "u", "--password", "p", "--extra-config", "novalue"},
      {"clone", "create", "a", "--id", "b", "--username", "u", "--password", "p"},
      {"clone", "create", "--username", "u"},
      {"clone", "update", "c1"},
      {"clone", "update", "c1", "-p", "1w"},
      {"clone", "frobnicate"},
      {"clone"},
      {"--request-timeout", "0", "clone", "list"},
      {"nonsense"},
  };
  for (const auto& args : bad_commands) {
    EXPECT_EQ(Run(args), kExitUsage) << args.back();
    EXPECT_EQ(err().rfind("Error: ", 0), 0u) << err();
    EXPECT_EQ(ErrLines(), 1) << err();
  }
  EXPECT_TRUE(engine.requests().empty());
}

TEST_F(CliTest, HelpAndVersionExitZero) {
  EXPECT_EQ(Run({}), kExitOk);
  EXPECT_NE(out().find("clone"), std::string::npos);
  EXPECT_EQ(Run({"clone", "create", "--help"}), kExitOk);
  EXPECT_NE(out().find("--protected"), std::string::npos);
  EXPECT_EQ(Run({"--version"}), kExitOk);
  EXPECT_EQ(out().rfind("dblab version ", 0), 0u);
}

}  // namespace
}  // namespace dblab

// ---- help and shell completion ---------------------------------------------------------------

namespace dblab {
namespace {

TEST_F(CliTest, EveryCommandsHelpShowsExamplesOfThatCommand) {
  const std::vector<std::vector<std::string>> commands = {{"init"},
                                                          {"config", "create"},
                                                          {"config", "update"},
                                                          {"config", "view"},
                                                          {"config", "list"},
                                                          {"config", "switch"},
                                                          {"config", "remove"},
                                                          {"clone", "list"},
                                                          {"clone", "status"},
                                                          {"clone", "create"},
                                                          {"clone", "update"},
                                                          {"clone", "reset"},
                                                          {"clone", "destroy"},
                                                          {"snapshot", "list"},
                                                          {"snapshot", "create"},
                                                          {"snapshot", "delete"},
                                                          {"commit"},
                                                          {"instance", "status"},
                                                          {"instance", "version"},
                                                          {"instance", "full-refresh"},
                                                          {"completion"},
                                                          {"branch"},
                                                          {"switch"},
                                                          {"log"},
                                                          {"instance", "logs"},
                                                          {"clone", "download-artifact"}};
  for (const auto& command : commands) {
    std::string name = "dblab";
    for (const auto& word : command) name += " " + word;
    out_.str("");
    std::vector<std::string> args = command;
    args.push_back("--help");
    EXPECT_EQ(Run(args), kExitOk) << name;
    EXPECT_NE(out().find("Examples:\n  " + (command[0] == "completion" ? "source <(dblab" : name)),
              std::string::npos)
        << name << " --help:\n"
        << out();
  }
}

TEST_F(CliTest, DownloadArtifactAndInstanceLogsCheckTheirInputBeforeAsking) {
  FakeEngine engine;
  UseEngine(engine);
  size_t before = engine.requests().size();
  EXPECT_EQ(Run({"clone", "download-artifact", "--clone-id", "c1", "--session-id", "1",
                 "--artifact-type", "plans"}),
            kExitUsage);
  EXPECT_NE(err().find("use summary, locks or log"), std::string::npos) << err();
  EXPECT_EQ(Run({"clone", "download-artifact", "--clone-id", "c1", "--session-id", "x1",
                 "--artifact-type", "log"}),
            kExitUsage);
  EXPECT_EQ(Run({"clone", "download-artifact", "--clone-id", "-c", "--session-id", "1",
                 "--artifact-type", "log"}),
            kExitUsage);
  EXPECT_EQ(engine.requests().size(), before) << "nothing was sent";
  EXPECT_EQ(Run({"clone", "download-artifact", "--session-id", "1", "--artifact-type", "log"}),
            kExitUsage)
      << "--clone-id is required";
}

TEST_F(CliTest, CompletionScriptsListEveryCommandAndItsFlags) {
  ASSERT_EQ(Run({"completion", "bash"}), kExitOk) << err();
  std::string bash = out();
  EXPECT_NE(bash.find("complete -F _dblab dblab"), std::string::npos) << bash;
  EXPECT_NE(bash.find("['dblab clone']='list status create update reset destroy"),
            std::string::npos)
      << bash;
  auto create = bash.find("['dblab clone create']='");
  ASSERT_NE(create, std::string::npos) << bash;
  std::string create_words = bash.substr(create, bash.find('\n', create) - create);
  for (const char* flag : {"--username", "--password", "--snapshot-id", "--protected", "--async"}) {
    EXPECT_NE(create_words.find(flag), std::string::npos) << flag << " in " << create_words;
  }
  out_.str("");
  ASSERT_EQ(Run({"completion", "zsh"}), kExitOk) << err();
  EXPECT_EQ(out().rfind("#compdef dblab\n", 0), 0u) << out();
  EXPECT_NE(out().find("'dblab snapshot' 'list create delete"), std::string::npos) << out();
  EXPECT_EQ(Run({"completion", "fish"}), kExitUsage);
}

}  // namespace
}  // namespace dblab
