// The observer's request parsing and JSON; sampling is tested on real clones
// (tests/integration/ops_test.cc).
#include "ops/observer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/time.h"

namespace dblab {
namespace {

using ::testing::HasSubstr;

TEST(ObservationRequestTest, ParsesDleStartRequestAndDefaultsZeroes) {
  auto request = ParseStartObservationRequest(
      R"({"clone_id": "c1", "config": {"observation_interval": 0, "max_lock_duration": 2,
          "max_duration": 60}, "tags": {"branch": "patch-1"}, "db_name": "app"})");
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->clone_id, "c1");
  EXPECT_EQ(request->config.observation_interval, ObservationConfig{}.observation_interval);
  EXPECT_EQ(request->config.max_lock_duration, 2);
  EXPECT_EQ(request->config.max_duration, 60);
  EXPECT_EQ(request->tags.at("branch"), "patch-1");
  EXPECT_EQ(request->db_name, "app");
}

TEST(ObservationRequestTest, RefusesBadFieldsByName) {
  EXPECT_THAT(ParseStartObservationRequest(R"({"config": {}})").error().message,
              HasSubstr("clone_id is required"));
  EXPECT_THAT(
      ParseStartObservationRequest(R"({"clone_id": "c", "config": {"max_lock_duration": -1}})")
          .error()
          .message,
      HasSubstr("config.max_lock_duration"));
  EXPECT_THAT(
      ParseStartObservationRequest(R"({"clone_id": "c", "config": {"nap": 1}})").error().message,
      HasSubstr("config.nap"));
  EXPECT_THAT(ParseStopObservationRequest(R"({"clone_id": 5})").error().message,
              HasSubstr("clone_id"));
  auto stop = ParseStopObservationRequest(R"({"clone_id": "c", "overall_error": true})");
  ASSERT_TRUE(stop.ok());
  EXPECT_TRUE(stop->overall_error);
}

TEST(ObservationJsonTest, RunningSessionHasDleZeroFinishTimeAndNoResult) {
  // DLE's Session: finished_at is a time.Time, result a pointer with omitempty.
  ObservationSession session;
  session.session_id = 8;
  session.started_at = *ParseRfc3339("2026-12-01T10:00:00Z");
  auto json = nlohmann::json::parse(ObservationSessionToJson(session));
  EXPECT_EQ(json["finished_at"], "0001-01-01T00:00:00Z");
  EXPECT_FALSE(json.contains("result"));
}

TEST(ObservationJsonTest, FinishedSessionHasDleResultWithChecklist) {
  ObservationSession session;
  session.session_id = 7;
  session.clone_id = "c1";
  session.started_at = *ParseRfc3339("2026-12-01T10:00:00Z");
  session.finished_at = *ParseRfc3339("2026-12-01T10:00:05Z");
  session.total_duration_seconds = 5;
  session.status = "failed";
  session.overall_success = false;
  session.no_long_dangerous_locks = false;
  session.long_locks.push_back(
      ObservedLock{42, "AccessExclusiveLock", "users", "LOCK TABLE users", 3.5, {}});
  session.intervals.push_back({session.started_at, 5, "AccessExclusiveLock on users"});
  session.warning_intervals = 1;
  auto json = nlohmann::json::parse(ObservationSessionToJson(session));
  EXPECT_EQ(json["session_id"], 7);
  EXPECT_EQ(json["result"]["status"], "failed");
  EXPECT_EQ(json["result"]["summary"]["total_intervals"], 1);
  EXPECT_EQ(json["result"]["summary"]["warning_intervals"], 1);
  EXPECT_EQ(json["result"]["summary"]["checklist"]["no_long_dangerous_locks"], false);
  EXPECT_EQ(json["result"]["summary"]["checklist"]["overall_success"], false);
  EXPECT_EQ(json["result"]["long_locks"][0]["statement"], "LOCK TABLE users");
  auto summary = nlohmann::json::parse(ObservationSummaryToJson(session));
  EXPECT_EQ(summary["clone_id"], "c1");
  EXPECT_EQ(summary["locks"]["long_dangerous_locks"][0]["relation"], "users");
  EXPECT_TRUE(summary.contains("db_size") && summary.contains("log_errors") &&
              summary.contains("artifact_types"));
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

TEST(StoredObservationTest, AFinishedSessionRoundTripsThroughTheStateFile) {
  ObservationSession session;
  session.session_id = 1764567890123;
  session.clone_id = "ci";
  session.db_name = "app";
  session.db_size_bytes = 4242;
  session.started_at = *ParseRfc3339("2026-12-01T10:00:00Z");
  session.finished_at = *ParseRfc3339("2026-12-01T10:00:05Z");
  session.config = {1, 2, 60};
  session.tags = {{"branch", "patch-1"}};
  session.artifacts = {"summary", "locks", "log"};
  session.status = "failed";
  session.intervals.push_back({session.started_at, 1, "AccessExclusiveLock on public.users"});
  session.total_duration_seconds = 5;
  session.warning_intervals = 1;
  session.no_long_dangerous_locks = false;
  session.overall_success = false;
  session.long_locks.push_back(
      {77, "AccessExclusiveLock", "public.users", "LOCK TABLE users", 3.5, session.started_at});
  session.errors = {"the observed job reported an error"};

  auto json = nlohmann::json::parse(StoredObservationJson(session));
  auto back = ParseStoredObservation(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(StoredObservationJson(*back), StoredObservationJson(session));
  EXPECT_EQ(ObservationSummaryToJson(*back), ObservationSummaryToJson(session));
  EXPECT_EQ(back->db_size_bytes, 4242);

  json["result"]["long_locks"][0].erase("mode");
  EXPECT_FALSE(ParseStoredObservation(json).has_value()) << "a damaged entry is skipped";
  EXPECT_FALSE(ParseStoredObservation(nlohmann::json::parse("[1]")).has_value());
}

}  // namespace
}  // namespace dblab
