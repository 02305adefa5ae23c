// The operations routes of the Router, on the fake engine.
#include <gtest/gtest.h>

#include "api/fake_engine_service.h"
#include "api/router.h"
#include "common/time.h"

namespace dblab {
namespace {

constexpr const char* kToken = "ops-token";

class OpsRouterTest : public ::testing::Test {
 protected:
  OpsRouterTest() {
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
    engine_.clones[clone.id] = clone;
    engine_.status.pools.push_back(PoolUsage{"dblab_pool", "btrfs", 1000, 600, 400});
  }

  ApiResponse Call(const std::string& method, const std::string& target,
                   const char* token = kToken) {
    ApiRequest request{method, target, {}, "", "192.0.2.1"};
    if (token) request.headers["verification-token"] = token;
    return router_.Handle(request);
  }

  FakeEngineService engine_;
  Router router_{engine_, RouterOptions{kToken, "", 1024}};
};

TEST_F(OpsRouterTest, HealthzAnswersPostAsWellAsGet) {
  EXPECT_EQ(Call("POST", "/healthz", nullptr).status, 200);
  EXPECT_EQ(Call("POST", "/api/healthz", nullptr).status, 200);
  ApiResponse put = Call("PUT", "/healthz", nullptr);
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.allow, "GET, POST");
}

TEST_F(OpsRouterTest, RetrievalHasDleShapeWithAlertsKeyedByType) {
  engine_.status.retrieval.mode = "logical";
  engine_.status.retrieval.status = "failed";
  engine_.status.retrieval.AddAlert(kAlertRefreshFailed, "pg_dump: connection refused",
                                    *ParseRfc3339("2026-11-27T10:00:00Z"));
  engine_.status.retrieval.AddAlert(kAlertRefreshFailed, "pg_dump: timeout",
                                    *ParseRfc3339("2026-11-27T11:00:00Z"));
  for (const char* path : {"/instance/retrieval", "/api/instance/retrieval"}) {
    ApiResponse response = Call("GET", path);
    ASSERT_EQ(response.status, 200) << path << response.body;
    Json body = Json::parse(response.body);
    EXPECT_EQ(body["mode"], "logical");
    EXPECT_EQ(body["status"], "failed");
    EXPECT_TRUE(body.contains("lastRefresh") && body.contains("nextRefresh"));
    EXPECT_EQ(body["alerts"]["refresh_failed"]["message"], "pg_dump: timeout");
    EXPECT_EQ(body["alerts"]["refresh_failed"]["count"], 2);
    EXPECT_EQ(body["alerts"]["refresh_failed"]["level"], "error");
    EXPECT_EQ(body["alerts"]["refresh_failed"]["lastSeen"], "2026-11-27T11:00:00Z");
    EXPECT_TRUE(body["activity"].is_null());
    EXPECT_TRUE(body["currentJob"].is_null());
  }
  // /status sends the same object.
  Json status = Json::parse(Call("GET", "/status").body);
  EXPECT_EQ(status["retrieving"]["alerts"],
            Json::parse(Call("GET", "/instance/retrieval").body)["alerts"]);
}

TEST_F(OpsRouterTest, RetrievalShowsTheRunningJobAndNeedsTheToken) {
  engine_.status.retrieval.status = "refreshing";
  engine_.status.retrieval.progress = "pg_restore: 1/2 databases";
  Json body = Json::parse(Call("GET", "/api/instance/retrieval").body);
  EXPECT_EQ(body["currentJob"]["kind"], "fullRefresh");
  EXPECT_EQ(body["currentJob"]["progress"], "pg_restore: 1/2 databases");
  EXPECT_TRUE(body["alerts"].is_object());
  EXPECT_EQ(Call("GET", "/instance/retrieval", nullptr).status, 401);
  EXPECT_EQ(Call("POST", "/instance/retrieval").status, 405);
}

TEST_F(OpsRouterTest, MetricsNeedNoTokenAndCountRequestsByRouteTemplate) {
  Call("GET", "/api/clone/jworks");
  Call("GET", "/api/clone/someone-else");
  Call("GET", "/status", "wrong");
  ApiResponse response = Call("GET", "/metrics", nullptr);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = response.body;
  EXPECT_NE(text.find("dblab_clones{status=\"OK\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dblab_pool_free_bytes{pool=\"dblab_pool\",mode=\"btrfs\"} 600\n"),
            std::string::npos);
  EXPECT_NE(text.find("dblab_snapshots 1\n"), std::string::npos);
  EXPECT_NE(text.find("dblab_api_requests_total{route=\"/clone/{id}\",method=\"GET\",code=\"200\"} "
                      "1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("route=\"/clone/{id}\",method=\"GET\",code=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("route=\"/status\",method=\"GET\",code=\"401\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("jworks"), std::string::npos) << "clone ids are no label values";
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

// The fake with observation and admin answers.
class OpsFakeEngine : public FakeEngineService {
 public:
  Result<ObservationSession> StartObservation(const StartObservationRequest& request) override {
    last_start = request;
    ObservationSession session;
    session.session_id = 12;
    session.clone_id = request.clone_id;
    return session;
  }
  Result<ObservationSession> StopObservation(const std::string& clone_id, bool) override {
    if (clone_id != "jworks") return NotFound("no observation session runs on clone " + clone_id);
    ObservationSession session;
    session.session_id = 12;
    session.finished_at = session.started_at;
    session.status = "passed";
    return session;
  }
  Result<std::string> GetObservationArtifact(const std::string& clone_id, uint64_t session_id,
                                             const std::string& type) override {
    return clone_id + "/" + std::to_string(session_id) + "/" + type;
  }
  Result<std::string> SetAdminConfig(const std::string& json) override {
    (void)json;
    return BadRequest(
        "databaseConfigs.configs.shared_buffers cannot be changed while the engine "
        "runs");
  }
  StartObservationRequest last_start;
};

class OpsRoutesTest : public ::testing::Test {
 protected:
  ApiResponse Call(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    ApiRequest request{method, target, {{"verification-token", kToken}}, body, "192.0.2.1"};
    return router_.Handle(request);
  }
  OpsFakeEngine engine_;
  Router router_{engine_, RouterOptions{kToken, "", 4096}};
};

TEST_F(OpsRoutesTest, ObservationRoutesValidateAndPassThrough) {
  ApiResponse started = Call("POST", "/api/observation/start",
                             R"({"clone_id": "jworks", "config": {"max_lock_duration": 5}})");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(Json::parse(started.body)["session_id"], 12);
  EXPECT_EQ(engine_.last_start.config.max_lock_duration, 5);
  EXPECT_EQ(Call("POST", "/observation/start", R"({"clone_id": "../etc"})").status, 400);
  EXPECT_EQ(Call("POST", "/observation/stop", R"({"clone_id": "other"})").status, 404);
  ApiResponse stopped = Call("POST", "/observation/stop", R"({"clone_id": "jworks"})");
  EXPECT_EQ(Json::parse(stopped.body)["result"]["status"], "passed");
  EXPECT_EQ(Call("GET", "/observation/summary/jworks/12").body, "jworks/12/summary");
  EXPECT_EQ(Call("GET", "/observation/summary/jworks/x").status, 400);
  ApiResponse log =
      Call("GET", "/observation/download?artifact_type=log&clone_id=jworks&session_id=12");
  EXPECT_EQ(log.body, "jworks/12/log");
  EXPECT_EQ(log.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(Call("GET", "/observation/download?clone_id=jworks").status, 400);
  EXPECT_EQ(Call("GET", "/observation/start").status, 405);
}

TEST_F(OpsRoutesTest, AdminRoutesNeedTheTokenAndReportUnavailableParts) {
  ApiRequest anonymous{"GET", "/admin/config", {}, "", "192.0.2.9"};
  EXPECT_EQ(router_.Handle(anonymous).status, 401);
  EXPECT_EQ(Call("GET", "/admin/config").status, 503);  // the fake has no config
  ApiResponse refused = Call("POST", "/admin/config", R"({})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("shared_buffers"), std::string::npos);
  EXPECT_EQ(Call("POST", "/admin/test-db-source", R"({"host": "db"})").status, 400);
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

TEST(LogStreamAuthRouteTest, IssuesOneTimeTokensInDleShapeOnlyWithTheVerificationToken) {
  FakeEngineService engine;
  LogStreamTokens tokens;
  Router router(engine, RouterOptions{kToken, "", 1024, {}, {}, &tokens});
  auto call = [&](const std::string& method, const char* token) {
    ApiRequest request{method, "/api/admin/ws-auth", {}, "", "192.0.2.1"};
    if (token) request.headers["verification-token"] = token;
    return router.Handle(request);
  };
  EXPECT_EQ(call("GET", nullptr).status, 401);
  EXPECT_EQ(call("GET", "wrong").status, 401);
  ApiResponse first = call("GET", kToken);
  ASSERT_EQ(first.status, 200) << first.body;
  Json body = Json::parse(first.body);
  ASSERT_TRUE(body["token"].is_string());
  EXPECT_EQ(body["token"].get<std::string>().size(), 64u);
  ApiResponse second = call("POST", kToken);  // DLE's OpenAPI file says POST
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(Json::parse(second.body)["token"], body["token"]);
  EXPECT_TRUE(tokens.Consume(body["token"].get<std::string>()));
  EXPECT_EQ(call("DELETE", kToken).status, 405);
}

TEST(LogStreamAuthRouteTest, AnswersUnavailableWithoutALogStream) {
  FakeEngineService engine;
  Router router(engine, RouterOptions{kToken, "", 1024});
  ApiRequest request{"GET", "/admin/ws-auth", {{"verification-token", kToken}}, "", ""};
  EXPECT_EQ(router.Handle(request).status, 503);
}

}  // namespace
}  // namespace dblab
