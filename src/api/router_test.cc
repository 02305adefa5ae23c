#include "api/router.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "api/fake_engine_service.h"
#include "common/time.h"
#include "common/version.h"

namespace dblab {
namespace {

constexpr const char* kToken = "s3cret-token";

class ApiRouterTest : public ::testing::Test {
 protected:
  ApiRouterTest() {
    Snapshot snapshot;
    snapshot.id = "dblab_pool@snapshot_1";
    snapshot.pool = "dblab_pool";
    snapshot.created_at = *ParseRfc3339("2026-11-27T10:00:00Z");
    snapshot.data_state_at = snapshot.created_at;
    engine_.snapshots.push_back(snapshot);
    Clone clone;
    clone.id = "jworks";
    clone.snapshot_id = snapshot.id;
    clone.status = CloneStatus::kOk;
    clone.db = CloneDatabase{"jworks", "postgres", false, "127.0.0.1", 6000};
    engine_.clones[clone.id] = clone;
    engine_.status.max_idle_minutes = 120;
    engine_.status.pools.push_back(PoolUsage{"dblab_pool", "btrfs"});
  }

  ApiResponse Call(const std::string& method, const std::string& target,
                   const std::string& body = "", const char* token = kToken,
                   const std::string& address = "192.0.2.1") {
    ApiRequest request{method, target, {}, body, address};
    if (token) request.headers["verification-token"] = token;
    return router_.Handle(request);
  }

  static Json Body(const ApiResponse& response) { return Json::parse(response.body); }

  FakeEngineService engine_;
  std::chrono::steady_clock::time_point now_{};  // the throttle's clock; tests move it
  Router router_{engine_, RouterOptions{kToken, "", 1024, {}, [this] { return now_; }}};
};

// --- happy paths ---

TEST_F(ApiRouterTest, HealthzNeedsNoTokenAndNamesVersionAndEdition) {
  ApiResponse response = Call("GET", "/healthz", "", nullptr);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(Body(response), Json({{"version", kVersion}, {"edition", "community"}}));
  EXPECT_EQ(Call("GET", "/api/healthz", "", nullptr).status, 200);
}

TEST_F(ApiRouterTest, StatusShowsInstance) {
  ApiResponse response = Call("GET", "/status");
  ASSERT_EQ(response.status, 200);
  Json json = Body(response);
  EXPECT_EQ(json["status"]["code"], "OK");
  EXPECT_EQ(json["engine"]["edition"], "community");
  EXPECT_EQ(json["cloning"]["numClones"], 1);
  EXPECT_EQ(json["pools"][0]["cloneList"], Json::array({"jworks"}));
}

TEST_F(ApiRouterTest, SnapshotsListsSnapshots) {
  ApiResponse response = Call("GET", "/api/snapshots");
  ASSERT_EQ(response.status, 200);
  Json json = Body(response);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["id"], "dblab_pool@snapshot_1");
  EXPECT_EQ(json[0]["createdAt"], "2026-11-27T10:00:00Z");
}

TEST_F(ApiRouterTest, ClonesListsClonesWithSnapshotDetailsAndMetadata) {
  ApiResponse response = Call("GET", "/clones");
  ASSERT_EQ(response.status, 200);
  Json json = Body(response);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["id"], "jworks");
  EXPECT_EQ(json[0]["snapshot"]["pool"], "dblab_pool");
  EXPECT_EQ(json[0]["metadata"]["maxIdleMinutes"], 120);
  EXPECT_EQ(json[0]["db"]["port"], "6000");
}

TEST_F(ApiRouterTest, CreateCloneAnswers201WithTheCreatingClone) {
  ApiResponse response =
      Call("POST", "/clone", R"({"id":"dev1","db":{"username":"dev","password":"pw"}})");
  ASSERT_EQ(response.status, 201) << response.body;
  Json json = Body(response);
  EXPECT_EQ(json["id"], "dev1");
  EXPECT_EQ(json["status"]["code"], "CREATING");
  EXPECT_EQ(json["db"]["password"], "");
  EXPECT_EQ(response.body.find("pw\""), std::string::npos);  // the password never comes back
  EXPECT_EQ(engine_.last_create.password, "pw");
  EXPECT_EQ(engine_.last_create.username, "dev");
}

TEST_F(ApiRouterTest, GetCloneQueryStringIgnored) {
  ApiResponse response = Call("GET", "/api/clone/jworks?verbose=1");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["id"], "jworks");
  EXPECT_EQ(Body(response)["status"]["code"], "OK");
}

TEST_F(ApiRouterTest, PatchCloneUpdatesProtection) {
  ApiResponse response =
      Call("PATCH", "/clone/jworks", R"({"protected":true,"protectionDurationMinutes":30})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Body(response)["protected"], true);
  EXPECT_EQ(engine_.last_update.protection_duration_minutes, 30);
}

TEST_F(ApiRouterTest, DeleteCloneStartsDeletion) {
  ApiResponse response = Call("DELETE", "/clone/jworks");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["status"], "OK");
  EXPECT_EQ(engine_.clones["jworks"].status, CloneStatus::kDeleting);
}

TEST_F(ApiRouterTest, ResetCloneAnswersTheResettingClone) {
  ApiResponse response = Call("POST", "/clone/jworks/reset", R"({"latest":true})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Body(response)["status"]["code"], "RESETTING");
  EXPECT_TRUE(engine_.last_reset.latest);

  EXPECT_EQ(Call("POST", "/api/clone/jworks/reset", "").status, 200);  // empty body: same snapshot
}

TEST_F(ApiRouterTest, FullRefreshStartsARefresh) {
  ApiResponse response = Call("POST", "/full-refresh");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response), Json({{"status", "OK"}, {"message", "Full refresh started"}}));
  EXPECT_TRUE(engine_.Called("FullRefresh("));
}

TEST_F(ApiRouterTest, SnapshotCreateAndDelete) {
  ApiResponse created = Call("POST", "/snapshot");
  ASSERT_EQ(created.status, 200);
  std::string id = Body(created)["id"];
  EXPECT_TRUE(engine_.Called("CreateSnapshot("));

  ApiResponse deleted = Call("DELETE", "/api/snapshot/" + id);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(engine_.Called("DeleteSnapshot(" + id + ")"));
  EXPECT_EQ(Call("DELETE", "/snapshot/" + id).status, 404);
  std::string encoded = id;
  encoded.replace(encoded.find('@'), 1, "%40");
  EXPECT_EQ(Call("DELETE", "/snapshot/" + encoded).status, 404);  // decoded: the same id
  for (const char* bad :
       {"/snapshot/no-at-sign", "/snapshot/..%2Fx@y", "/snapshot/a@", "/snapshot/a@b%00"}) {
    ApiResponse response = Call("DELETE", bad);
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_EQ(Body(response)["code"], "BAD_REQUEST") << bad;
  }
  EXPECT_EQ(Call("DELETE", "/snapshot/p@s?force=true").status, 400);
  EXPECT_EQ(Call("GET", "/snapshot/p@s").status, 404);  // GET /snapshot/{id}: an unknown one
  EXPECT_EQ(Call("PUT", "/snapshot/p@s").status, 405);
}

TEST_F(ApiRouterTest, BranchSnapshotMakesASnapshotOfAClone) {
  ApiResponse made = Call("POST", "/branch/snapshot", R"({"cloneID":"jworks","message":"m"})");
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_TRUE(Body(made)["snapshotID"].is_string());
  EXPECT_TRUE(engine_.Called("CommitClone(jworks)"));
  EXPECT_EQ(engine_.last_commit_message, "m");
  EXPECT_EQ(Call("POST", "/branch/snapshot", R"({"cloneID":"nobody"})").status, 404);
  for (const char* bad : {"", "[]", R"({"message":"m"})", R"({"cloneID":"../x"})",
                          R"({"cloneID":"a","extra":1})", R"({"cloneID":"a","message":5})"}) {
    EXPECT_EQ(Call("POST", "/branch/snapshot", bad).status, 400) << bad;
  }
  EXPECT_EQ(Call("GET", "/branch/snapshot").status, 405);
}

// --- auth before routing: DLE's routes, with and without a token ---

struct RouteCase {
  const char* method;
  const char* target;
  const char* body;
};

// Every route DLE's API reference, web UI and CLI use (ours and the ones still missing).
const RouteCase kDleRoutes[] = {
    {"GET", "/status", ""},
    {"GET", "/snapshots", ""},
    {"GET", "/snapshots?branch=main", ""},
    {"POST", "/snapshot", "{}"},
    {"GET", "/snapshot/dblab_pool@snapshot_1", ""},
    {"PATCH", "/snapshot/dblab_pool@snapshot_1", R"({"protected":true})"},
    {"DELETE", "/snapshot/dblab_pool@snapshot_1", ""},
    {"POST", "/snapshot/clone", R"({"cloneID":"jworks"})"},
    {"GET", "/clones", ""},
    {"POST", "/clone", R"({"id":"c2","db":{"username":"u","password":"p"}})"},
    {"GET", "/clone/jworks", ""},
    {"PATCH", "/clone/jworks", R"({"protected":false})"},
    {"POST", "/clone/jworks/reset", R"({"latest":true})"},
    {"DELETE", "/clone/jworks", ""},
    {"POST", "/full-refresh", ""},
    {"GET", "/branches", ""},
    {"POST", "/branch", R"({"branchName":"dev","baseBranch":"main"})"},
    {"POST", "/branch/snapshot", R"({"cloneID":"jworks","message":"m"})"},
    {"GET", "/branch/snapshot/dblab_pool@snapshot_1", ""},
    {"PATCH", "/branch/main", R"({"protected":true})"},
    {"GET", "/branch/main/log", ""},
    {"DELETE", "/branch/dev", ""},
    {"GET", "/instance/retrieval", ""},
    {"GET", "/admin/config", ""},
    {"POST", "/admin/config", "{}"},
    {"GET", "/admin/config.yaml", ""},
    {"POST", "/admin/test-db-source", "{}"},
    {"POST", "/admin/ws-auth", ""},
    {"POST", "/observation/start", "{}"},
    {"POST", "/observation/stop", "{}"},
    {"GET", "/observation/summary/jworks/1", ""},
    {"GET", "/observation/download/x/jworks/1", ""},
    // Unknown paths and wrong methods: 401 too, before any 404 or 405.
    {"GET", "/clone/jworks/explode", ""},
    {"GET", "/instance/nope", ""},
    {"GET", "/branch/a/b/c", ""},
    {"PUT", "/clone/jworks", ""},
    {"POST", "/branches", ""},
    {"PUT", "/instance/retrieval", ""},
};

TEST_F(ApiRouterTest, WithoutATokenEveryApiPathButHealthzIs401BeforeRouting) {
  for (const auto& route : kDleRoutes) {
    for (std::string prefix : {"", "/api"}) {
      std::string target = prefix + route.target;
      ApiResponse response = Call(route.method, target, route.body, nullptr);
      EXPECT_EQ(response.status, 401) << route.method << " " << target;
      EXPECT_EQ(response.content_type, "application/json") << target;
      EXPECT_EQ(Body(response)["code"], "UNAUTHORIZED") << target;
    }
  }
  EXPECT_TRUE(engine_.calls.empty());
  EXPECT_EQ(Call("GET", "/healthz", "", nullptr).status, 200);
}

TEST(ApiDleRoutes, WithATokenDleRoutesAnswerJsonAndBranchRoutesExist) {
  // Routes another part of the engine serves, or that are not there yet: a JSON 404 at most.
  const std::set<std::string> elsewhere = {"/instance/retrieval",
                                           "/admin/config",
                                           "/admin/config.yaml",
                                           "/admin/test-db-source",
                                           "/admin/ws-auth",
                                           "/observation/start",
                                           "/observation/stop",
                                           "/observation/summary/jworks/1",
                                           "/observation/download/x/jworks/1",
                                           "/clone/jworks/explode",
                                           "/instance/nope",
                                           "/branch/a/b/c",
                                           "/snapshot"};
  for (const auto& route : kDleRoutes) {
    for (std::string prefix : {"", "/api"}) {
      // Given an engine with one snapshot on main, a branch dev and a clone (fresh each call),
      FakeEngineService engine;
      engine.snapshots.push_back(Snapshot{.id = "dblab_pool@snapshot_1", .pool = "dblab_pool"});
      engine.clones["jworks"] = Clone{.id = "jworks", .snapshot_id = "dblab_pool@snapshot_1"};
      engine.branches = {Branch{.name = "main", .head_snapshot_id = "dblab_pool@snapshot_1"},
                         Branch{.name = "dev", .head_snapshot_id = "dblab_pool@snapshot_1"}};
      if (std::string(route.target) == "/branch") engine.branches.pop_back();
      Router router(engine, RouterOptions{kToken, "", 1024, {}, {}});
      std::string target = prefix + route.target;
      ApiRequest request{route.method, target, {{"verification-token", kToken}}, route.body, ""};

      // when a client with the token calls the route,
      ApiResponse response = router.Handle(request);

      // then it answers JSON, never 401, and branching's routes answer 2xx (wrong methods 405).
      EXPECT_EQ(response.content_type, "application/json") << route.method << " " << target;
      EXPECT_NE(response.status, 401) << route.method << " " << target;
      std::string path = std::string(route.target).substr(0, std::string(route.target).find('?'));
      std::string method = route.method;
      if (elsewhere.count(path)) continue;
      if (method == "PUT" || (path == "/branches" && method == "POST")) {
        EXPECT_EQ(response.status, 405) << route.method << " " << target;
      } else {
        EXPECT_LT(response.status, 300) << method << " " << target << ": " << response.body;
      }
    }
  }
}

// --- branches ---

class ApiBranchTest : public ApiRouterTest {
 protected:
  ApiBranchTest() {
    Snapshot commit;
    commit.id = "dblab_pool@snapshot_2";
    commit.pool = "dblab_pool";
    commit.branch = "dev";
    commit.parent_id = "dblab_pool@snapshot_1";
    commit.message = "add a column";
    commit.data_state_at = *ParseRfc3339("2026-11-28T09:30:00Z");
    commit.clones = {"jworks"};
    commit.num_clones = 1;
    engine_.snapshots[0].branch = "main";
    engine_.snapshots.push_back(commit);
    engine_.branches = {
        Branch{.name = "main", .head_snapshot_id = "dblab_pool@snapshot_1", .parent = "-"},
        Branch{.name = "dev",
               .head_snapshot_id = "dblab_pool@snapshot_2",
               .base_snapshot_id = "dblab_pool@snapshot_1",
               .parent = "main"}};
  }
};

TEST_F(ApiBranchTest, BranchesListsDleBranchViews) {
  ApiResponse response = Call("GET", "/branches");
  ASSERT_EQ(response.status, 200) << response.body;
  Json json = Body(response);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["name"], "main");
  EXPECT_EQ(json[0]["parent"], "-");
  EXPECT_EQ(json[0]["dataStateAt"], "20261127100000");
  EXPECT_EQ(json[0]["snapshotID"], "dblab_pool@snapshot_1");
  EXPECT_EQ(json[0]["numSnapshots"], 1);
  EXPECT_EQ(json[1]["name"], "dev");
  EXPECT_EQ(json[1]["parent"], "main");
  EXPECT_EQ(json[1]["numSnapshots"], 2);
  EXPECT_EQ(json[1]["protected"], false);
}

TEST_F(ApiBranchTest, LogAndSnapshotDetailsFollowParents) {
  ApiResponse log = Call("GET", "/branch/dev/log");
  ASSERT_EQ(log.status, 200) << log.body;
  Json json = Body(log);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["id"], "dblab_pool@snapshot_2");
  EXPECT_EQ(json[0]["message"], "add a column");
  EXPECT_EQ(json[0]["parent"], "dblab_pool@snapshot_1");
  EXPECT_EQ(json[0]["branch"], Json::array({"dev"}));
  EXPECT_EQ(json[0]["clones"], Json::array({"jworks"}));
  EXPECT_EQ(json[0]["dataStateAt"], "20261128093000");
  EXPECT_EQ(json[1]["parent"], "-");
  EXPECT_EQ(json[1]["child"], Json::array({"dblab_pool@snapshot_2"}));
  EXPECT_EQ(json[1]["root"], Json::array({"dev"}));
  EXPECT_EQ(json[1]["branch"], Json::array({"main"}));

  ApiResponse details = Call("GET", "/branch/snapshot/dblab_pool@snapshot_2");
  ASSERT_EQ(details.status, 200);
  EXPECT_EQ(Body(details), json[0]);
  EXPECT_EQ(Call("GET", "/branch/snapshot/dblab_pool@nope").status, 404);
  EXPECT_EQ(Call("GET", "/branch/nope/log").status, 404);
  EXPECT_EQ(Call("GET", "/branch/..%2Fx/log").status, 400);
}

TEST_F(ApiBranchTest, SnapshotsFilterByBranchAndCarryMessageAndProtection) {
  Json all = Body(Call("GET", "/snapshots"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["branch"], "dev");
  EXPECT_EQ(all[1]["message"], "add a column");
  EXPECT_EQ(all[1]["clones"], Json::array({"jworks"}));
  EXPECT_EQ(all[1]["protected"], false);
  Json dev = Body(Call("GET", "/snapshots?branch=dev"));
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0]["id"], "dblab_pool@snapshot_2");
  EXPECT_EQ(Body(Call("GET", "/snapshots?branch=main")).size(), 1u);
  EXPECT_EQ(Call("GET", "/snapshots?branch=nope").status, 404);

  ApiResponse one = Call("GET", "/snapshot/dblab_pool@snapshot_2");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(Body(one)["message"], "add a column");
  ApiResponse patched = Call("PATCH", "/snapshot/dblab_pool@snapshot_2",
                             R"({"protected":true,"protectionDurationMinutes":60})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Body(patched)["protected"], true);
  EXPECT_EQ(engine_.last_protection.protection_duration_minutes, 60);
  EXPECT_EQ(Call("PATCH", "/snapshot/dblab_pool@snapshot_2", R"({"deleteAt":"x"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/snapshot/dblab_pool@snapshot_2", R"({"deleteAt":5})").status, 400);
  // DLE's UpdateSnapshot.deleteAt: scheduled deletion, shown on the snapshot.
  ApiResponse scheduled =
      Call("PATCH", "/snapshot/dblab_pool@snapshot_2", R"({"deleteAt":"2026-12-31T18:00:00Z"})");
  ASSERT_EQ(scheduled.status, 200) << scheduled.body;
  EXPECT_EQ(Body(scheduled)["deleteAt"], "2026-12-31T18:00:00Z");
  EXPECT_EQ(FormatRfc3339(engine_.last_protection.delete_at.value()), "2026-12-31T18:00:00Z");
  EXPECT_EQ(Body(Call("GET", "/snapshot/dblab_pool@snapshot_2"))["deleteAt"],
            "2026-12-31T18:00:00Z");
  // A clone has no deleteAt of its own to set.
  EXPECT_EQ(Call("PATCH", "/clone/jworks", R"({"deleteAt":"2026-12-31T18:00:00Z"})").status, 400);
}

TEST_F(ApiBranchTest, CreateUpdateAndDeleteBranches) {
  ApiResponse made = Call("POST", "/branch", R"({"branchName":"feature","baseBranch":"dev"})");
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(Body(made), Json({{"name", "feature"}}));
  EXPECT_TRUE(engine_.Called("CreateBranch(feature)"));
  for (const char* bad : {"", "[]", R"({"branchName":5})", R"({"branchName":"x","other":"y"})"}) {
    EXPECT_EQ(Call("POST", "/branch", bad).status, 400) << bad;
  }
  ApiResponse patched = Call("PATCH", "/branch/feature", R"({"protected":true})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Body(patched)["name"], "feature");
  EXPECT_EQ(Body(patched)["protected"], true);
  ApiResponse scheduled =
      Call("PATCH", "/branch/feature", R"({"deleteAt":"2026-12-31T18:00:00+01:00"})");
  ASSERT_EQ(scheduled.status, 200) << scheduled.body;
  EXPECT_EQ(Body(scheduled)["deleteAt"], "2026-12-31T17:00:00Z");
  ApiResponse deleted = Call("DELETE", "/branch/feature");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(Body(deleted)["status"], "OK");
  EXPECT_EQ(Call("DELETE", "/branch/feature").status, 404);
  EXPECT_EQ(Call("GET", "/branch/feature").status, 405);
}

TEST_F(ApiBranchTest, BranchNamesInAnyScriptButNoSeparatorsOrControls) {
  ApiResponse made = Call("POST", "/branch", R"({"branchName":"функция-1","baseBranch":"dev"})");
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(Body(made)["name"], "функция-1");
  // In a path, percent-encoded UTF-8: "функция-1".
  ApiResponse log = Call("GET", "/branch/%D1%84%D1%83%D0%BD%D0%BA%D1%86%D0%B8%D1%8F-1/log");
  EXPECT_EQ(log.status, 200) << log.body;
  EXPECT_EQ(Call("GET", "/branch/%D1%84%D1%83/log").status, 404);
  for (const char* bad : {R"({"branchName":"a/b","baseBranch":"dev"})",
                          R"({"branchName":"a\u0007b","baseBranch":"dev"})",
                          R"({"branchName":"a\u202eb","baseBranch":"dev"})",
                          R"({"branchName":"-x","baseBranch":"dev"})", R"({"baseBranch":"dev"})"}) {
    ApiResponse refused = Call("POST", "/branch", bad);
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_NE(Body(refused)["message"].get<std::string>().find("branch"), std::string::npos);
  }
  ApiResponse refused = Call("POST", "/branch", R"({"branchName":"a/b","baseBranch":"dev"})");
  EXPECT_NE(Body(refused)["message"].get<std::string>().find("'/'"), std::string::npos)
      << refused.body;
  for (const char* bad : {"/branch/a%2Fb/log", "/branch/a%00b/log", "/branch/a%E2%80%AEb/log",
                          "/branch/%FF/log", "/branch/a%5Cb"}) {
    EXPECT_EQ(Call(std::string(bad).ends_with("log") ? "GET" : "DELETE", bad).status, 400) << bad;
  }
}

TEST_F(ApiBranchTest, SnapshotCloneAnswersTheNewSnapshot) {
  ApiResponse made = Call("POST", "/snapshot/clone", R"({"cloneID":"jworks","message":"x"})");
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(Body(made)["message"], "x");
  EXPECT_TRUE(Body(made)["id"].is_string());
}

// --- auth ---

TEST_F(ApiRouterTest, MissingOrWrongTokenIs401AndNeverReachesTheEngine) {
  for (const char* token :
       {static_cast<const char*>(nullptr), "", "wrong", "s3cret-toke", "s3cret-token-and-more"}) {
    ApiResponse response = Call("GET", "/clones", "", token);
    EXPECT_EQ(response.status, 401) << (token ? token : "(none)");
    EXPECT_EQ(Body(response)["code"], "UNAUTHORIZED");
    EXPECT_FALSE(Body(response)["message"].get<std::string>().empty());
  }
  EXPECT_EQ(Call("POST", "/api/clone", R"({"id":"x"})", "nope", "192.0.2.2").status, 401);
  EXPECT_EQ(Call("DELETE", "/clone/jworks", "", "nope", "192.0.2.2").status, 401);
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(ApiRouterTest, WrongTokensLockTheirAddressOutForLongerAndLonger) {
  const std::string attacker = "198.51.100.7";
  // Given five free wrong tokens (typos),
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Call("GET", "/clones", "", "guess", attacker).status, 401);
  // when the address keeps guessing, it is refused for 1 s, without its token being compared:
  // even the right token gets 429 there, or the answer would tell a guesser it was right.
  ApiResponse refused = Call("GET", "/clones", "", "guess", attacker);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(Body(refused)["code"], "TOO_MANY_REQUESTS");
  EXPECT_EQ(refused.retry_after, "1");
  EXPECT_EQ(Call("GET", "/clones", "", kToken, attacker).status, 429);
  // Then the right token keeps working for everyone else, and health checks for all.
  EXPECT_EQ(Call("GET", "/clones", "", kToken, "192.0.2.1").status, 200);
  EXPECT_EQ(Call("GET", "/healthz", "", nullptr, attacker).status, 200);
  // Each further wrong token doubles the lockout: 2 s, 4 s, ... up to 60 s.
  now_ += std::chrono::seconds(1);
  EXPECT_EQ(Call("GET", "/clones", "", "guess", attacker).status, 401);
  EXPECT_EQ(Call("GET", "/clones", "", "guess", attacker).retry_after, "2");
  for (int i = 0; i < 10; ++i) {
    now_ += std::chrono::minutes(1);
    EXPECT_EQ(Call("GET", "/clones", "", "guess", attacker).status, 401);
  }
  EXPECT_EQ(Call("GET", "/clones", "", kToken, attacker).retry_after, "60");
  // After the lockout, the right token from that address works and clears its record.
  now_ += std::chrono::minutes(1);
  EXPECT_EQ(Call("GET", "/clones", "", kToken, attacker).status, 200);
  EXPECT_EQ(Call("GET", "/clones", "", "typo", attacker).status, 401);
  EXPECT_EQ(Call("GET", "/clones", "", kToken, attacker).status, 200);
}

TEST_F(ApiRouterTest, EveryResponseCarriesTheUiSecurityHeaders) {
  std::map<std::string, std::string, std::less<>> headers(SecurityHeaders().begin(),
                                                          SecurityHeaders().end());
  EXPECT_NE(headers["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_NE(headers["Content-Security-Policy"].find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(headers["Content-Security-Policy"].find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(headers["X-Frame-Options"], "DENY");
  EXPECT_EQ(headers["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(headers["X-Content-Type-Options"], "nosniff");
}

TEST_F(ApiRouterTest, EmptyConfiguredTokenTurnsAuthOff) {
  Router open_router(engine_, RouterOptions{"", "", 1024});
  EXPECT_FALSE(open_router.auth_enabled());
  EXPECT_TRUE(router_.auth_enabled());
  EXPECT_EQ(open_router.Handle(ApiRequest{"GET", "/clones", {}, ""}).status, 200);
}

TEST(ApiConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0", 2), "a"));
}

// --- bad requests ---

TEST_F(ApiRouterTest, BadJsonUnknownFieldAndWrongTypeAre400) {
  struct Case {
    const char* body;
    const char* in_message;
  };
  for (auto [body, in_message] :
       {Case{"{not json", "invalid JSON"}, Case{R"({"id":"a","size":"xl"})", "\"size\""},
        Case{R"({"db":{"username":7}})", "\"db.username\""}}) {
    ApiResponse response = Call("POST", "/clone", body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(Body(response)["code"], "BAD_REQUEST");
    EXPECT_NE(Body(response)["message"].get<std::string>().find(in_message), std::string::npos)
        << response.body;
  }
  EXPECT_EQ(Call("PATCH", "/clone/jworks", R"({"protected":1})").status, 400);
  EXPECT_FALSE(engine_.Called("CreateClone(") || engine_.Called("UpdateClone("));
}

TEST_F(ApiRouterTest, ResetWithBothSnapshotIdAndLatestIs400) {
  ApiResponse response = Call("POST", "/clone/jworks/reset",
                              R"({"snapshotID":"dblab_pool@snapshot_1","latest":true})");
  EXPECT_EQ(response.status, 400);
  EXPECT_FALSE(engine_.Called("ResetClone("));
}

TEST_F(ApiRouterTest, TraversalAndMalformedIdsAre400AndNeverReachTheEngine) {
  for (const char* target :
       {"/clone/..%2F..%2Fetc%2Fpasswd", "/clone/%2e%2e", "/api/clone/%2E%2E/reset", "/clone/..",
        "/clone/.hidden", "/clone/a%20b", "/clone/a%00b", "/clone/%zz", "/clone/-rf",
        "/clone/"
        "a123456789012345678901234567890123456789012345678901234567890123456789"}) {
    ApiResponse response =
        Call(target == std::string("/api/clone/%2E%2E/reset") ? "POST" : "GET", target);
    EXPECT_EQ(response.status, 400) << target;
    EXPECT_EQ(Body(response)["code"], "BAD_REQUEST") << target;
  }
  EXPECT_EQ(Call("DELETE", "/clone/..%2f..").status, 400);
  EXPECT_TRUE(engine_.calls.empty());
}

TEST_F(ApiRouterTest, CreateWithAnInvalidIdIs400) {
  EXPECT_EQ(Call("POST", "/clone", R"({"id":"../x"})").status, 400);
  EXPECT_FALSE(engine_.Called("CreateClone("));
}

TEST_F(ApiRouterTest, ValidIdsWithDotsDashesAndUnderscoresPass) {
  EXPECT_TRUE(IsValidCloneId("a"));
  EXPECT_TRUE(IsValidCloneId("Clone_1.test-2"));
  EXPECT_TRUE(IsValidCloneId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidCloneId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidCloneId(""));
  EXPECT_FALSE(IsValidCloneId("_a"));
  EXPECT_FALSE(IsValidCloneId("a/b"));
}

TEST_F(ApiRouterTest, BodyOverTheLimitIs413) {
  std::string body = R"({"id":")" + std::string(2000, 'x') + R"("})";
  ApiResponse response = Call("POST", "/clone", body);
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(Body(response)["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_FALSE(engine_.Called("CreateClone("));
}

// --- routing ---

TEST_F(ApiRouterTest, UnknownApiRouteIs404Json) {
  for (const char* target :
       {"/api/nope", "/api", "/api/", "/clone/jworks/explode", "/admin/nope", "/clones/extra",
        "/instance/nope", "/api/instance/nope", "/branch/x/log/more"}) {
    ApiResponse response = Call("GET", target);
    EXPECT_EQ(response.status, 404) << target;
    EXPECT_EQ(response.content_type, "application/json") << target;
    EXPECT_EQ(Body(response)["code"], "NOT_FOUND") << target;
  }
}

TEST_F(ApiRouterTest, WrongMethodIs405WithAllow) {
  ApiResponse response = Call("POST", "/clones");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.allow, "GET");
  EXPECT_EQ(Body(response)["code"], "METHOD_NOT_ALLOWED");
  ApiResponse put = Call("PUT", "/api/clone/jworks");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.allow, "GET, PATCH, DELETE");
  EXPECT_EQ(Call("GET", "/full-refresh").status, 405);
}

TEST_F(ApiRouterTest, TrailingSlashIsTolerated) {
  EXPECT_EQ(Call("GET", "/api/clones/").status, 200);
}

// --- engine errors ---

TEST_F(ApiRouterTest, EngineErrorsMapToStatuses) {
  struct Case {
    ErrorCode code;
    int status;
    const char* name;
  };
  for (auto [code, status, name] :
       {Case{ErrorCode::kBadRequest, 400, "BAD_REQUEST"},
        Case{ErrorCode::kNotFound, 404, "NOT_FOUND"}, Case{ErrorCode::kConflict, 409, "CONFLICT"},
        Case{ErrorCode::kTooLarge, 413, "PAYLOAD_TOO_LARGE"},
        Case{ErrorCode::kUnavailable, 503, "UNAVAILABLE"},
        Case{ErrorCode::kInternal, 500, "INTERNAL_ERROR"}}) {
    engine_.fail_with = Error{code, "engine says no"};
    for (auto [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/clone/jworks"},
                                                          {"DELETE", "/clone/jworks"},
                                                          {"POST", "/full-refresh"},
                                                          {"POST", "/clone/jworks/reset"}}) {
      ApiResponse response = Call(method, target);
      EXPECT_EQ(response.status, status) << method << " " << target;
      EXPECT_EQ(Body(response), Json({{"code", name}, {"message", "engine says no"}}));
    }
  }
}

TEST_F(ApiRouterTest, MissingCloneIs404AndProtectedDeleteIs409) {
  EXPECT_EQ(Call("GET", "/clone/ghost").status, 404);
  EXPECT_EQ(Call("PATCH", "/clone/ghost", R"({"protected":true})").status, 404);
  engine_.clones["jworks"].is_protected = true;
  ApiResponse response = Call("DELETE", "/clone/jworks");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(Body(response)["code"], "CONFLICT");
  EXPECT_EQ(Call("POST", "/clone", R"({"id":"jworks"})").status, 409);
}

TEST(ApiErrorMapping, EveryCodeHasOneStatus) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kBadRequest), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthorized), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTooManyRequests), 429);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

// --- web UI ---

class ApiUiTest : public ::testing::Test {
 protected:
  ApiUiTest() {
    root_ = std::filesystem::temp_directory_path() /
            ("dblab_ui_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "ui" / "assets");
    Write(root_ / "ui" / "index.html", "<html>app</html>");
    Write(root_ / "ui" / "assets" / "app.js", "console.log(1)");
    Write(root_ / "ui" / "assets" / "app.css", "body{}");
    Write(root_ / "ui" / "logo.svg", "<svg/>");
    Write(root_ / "ui" / "favicon.ico", "ico");
    Write(root_ / "ui" / "manifest.json", "{}");
    Write(root_ / "ui" / "logo.png", "png");
    Write(root_ / "secret.txt", "top secret");
    std::filesystem::create_symlink(root_ / "secret.txt", root_ / "ui" / "leak.txt");
  }
  ~ApiUiTest() override { std::filesystem::remove_all(root_); }

  static void Write(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path) << content;
  }

  ApiResponse Get(const Router& router, const std::string& target) {
    return router.Handle(ApiRequest{"GET", target, {}, ""});
  }

  FakeEngineService engine_;
  std::filesystem::path root_;
};

TEST_F(ApiUiTest, ServesFilesWithContentTypes) {
  Router router(engine_, RouterOptions{kToken, (root_ / "ui").string(), 1024});
  ApiResponse index = Get(router, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<html>app</html>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Get(router, "/assets/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get(router, "/assets/app.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get(router, "/logo.svg").content_type, "image/svg+xml");
  EXPECT_EQ(Get(router, "/logo.png").content_type, "image/png");
  EXPECT_EQ(Get(router, "/favicon.ico").content_type, "image/x-icon");
  EXPECT_EQ(Get(router, "/manifest.json").content_type, "application/json");
  EXPECT_EQ(Get(router, "/assets/app.js?v=3").body, "console.log(1)");
}

TEST_F(ApiUiTest, ClientSideRoutesGetIndexHtmlButMissingAssetsAre404) {
  Router router(engine_, RouterOptions{kToken, (root_ / "ui").string(), 1024});
  // DLE API prefixes never fall through to the UI: without a token 401 (auth before routing),
  // with one a JSON 404. /instance/... is DLE's API too (our UI routes in the hash).
  for (const char* api_like : {"/branches/main", "/instance/clones/jworks", "/api/nope"}) {
    ApiResponse response = Get(router, api_like);
    EXPECT_EQ(response.status, 401) << api_like;
    EXPECT_EQ(response.content_type, "application/json") << api_like;
    ApiRequest with_token{"GET", api_like, {{"verification-token", kToken}}, "", ""};
    ApiResponse signed_in = router.Handle(with_token);
    EXPECT_EQ(signed_in.status, 404) << api_like;
    EXPECT_EQ(signed_in.content_type, "application/json") << api_like;
  }
  ApiResponse page = Get(router, "/some/client/route");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<html>app</html>");
  EXPECT_EQ(Get(router, "/assets/missing.js").status, 404);
}

TEST_F(ApiUiTest, NoPathTraversalOutOfTheUiDirectory) {
  Router router(engine_, RouterOptions{kToken, (root_ / "ui").string(), 1024});
  for (const char* target : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2F..%2Fsecret.txt",
                             "/leak.txt", "/%2E%2E%2Fsecret.txt"}) {
    ApiResponse response = Get(router, target);
    EXPECT_NE(response.status, 200) << target;
    EXPECT_EQ(response.body.find("top secret"), std::string::npos) << target;
  }
}

TEST_F(ApiUiTest, WithoutABuiltUiTheRootSaysTheApiIsRunning) {
  for (std::string ui_dir : {std::string(), (root_ / "missing").string(), root_.string()}) {
    Router router(engine_, RouterOptions{kToken, ui_dir, 1024});
    ApiResponse response = Get(router, "/");
    EXPECT_EQ(response.status, 200) << ui_dir;
    EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
    EXPECT_NE(response.body.find("dblab engine API is running"), std::string::npos);
    EXPECT_NE(response.body.find("/api/"), std::string::npos);
  }
}

TEST_F(ApiUiTest, UiPathsRejectOtherMethods) {
  Router router(engine_, RouterOptions{kToken, (root_ / "ui").string(), 1024});
  EXPECT_EQ(router.Handle(ApiRequest{"POST", "/", {}, ""}).status, 405);
}

}  // namespace
}  // namespace dblab
