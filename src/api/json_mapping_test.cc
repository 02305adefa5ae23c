#include "api/json_mapping.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>

#include "common/time.h"

namespace dblab {
namespace {

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

Snapshot SampleSnapshot() {
  Snapshot snapshot;
  snapshot.id = "dblab_pool@snapshot_20261127101500";
  snapshot.pool = "dblab_pool";
  snapshot.created_at = At("2026-11-27T10:15:00Z");
  snapshot.data_state_at = At("2026-11-27T10:00:00Z");
  snapshot.physical_size = 4096;
  snapshot.logical_size = 1 << 30;
  snapshot.num_clones = 1;
  snapshot.pg_major = 17;
  return snapshot;
}

Clone SampleClone() {
  Clone clone;
  clone.id = "jworks";
  clone.snapshot_id = "dblab_pool@snapshot_20261127101500";
  clone.branch = "main";
  clone.status = CloneStatus::kOk;
  clone.created_at = At("2026-11-27T12:00:00Z");
  clone.db = CloneDatabase{"jworks", "postgres", false, "127.0.0.1", 6000};
  clone.cloning_time_seconds = 0.25;
  clone.diff_size = 8192;
  return clone;
}

// --- RFC 3339 ---

TEST(JsonRfc3339, FormatsUtcWithSecondPrecision) {
  TimePoint time = At("2026-11-27T12:00:00Z") + std::chrono::milliseconds(750);
  EXPECT_EQ(FormatRfc3339(time), "2026-11-27T12:00:00Z");
  EXPECT_EQ(FormatRfc3339(TimePoint{}), "1970-01-01T00:00:00Z");
}

TEST(JsonRfc3339, ParsesOffsetsAndFractions) {
  EXPECT_EQ(At("2026-11-27T14:30:00+02:30"), At("2026-11-27T12:00:00Z"));
  EXPECT_EQ(At("2026-11-27T07:00:00-05:00"), At("2026-11-27T12:00:00Z"));
  EXPECT_EQ(At("2026-11-27T12:00:00.5Z") - At("2026-11-27T12:00:00Z"),
            std::chrono::milliseconds(500));
  EXPECT_EQ(FormatRfc3339(At("2024-02-29t23:59:59z")), "2024-02-29T23:59:59Z");
}

TEST(JsonRfc3339, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026-11-27", "2026-11-27T12:00:00", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T12:00:00ZZ",
                          "2026-11-27T12:00:00.Z", "2026-11-27T12:00:00+0200", "x026-11-27T1"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

// --- responses ---

TEST(JsonMapping, CloneUsesDleFieldNamesAndNeverShowsAPassword) {
  Snapshot snapshot = SampleSnapshot();
  Json json = CloneToJson(SampleClone(), CloneJsonContext{&snapshot, 120, 60, 1440});

  EXPECT_EQ(json["id"], "jworks");
  EXPECT_EQ(json["snapshot"]["id"], snapshot.id);
  EXPECT_EQ(json["snapshot"]["pool"], "dblab_pool");
  EXPECT_EQ(json["snapshot"]["dataStateAt"], "2026-11-27T10:00:00Z");
  EXPECT_EQ(json["branch"], "main");
  EXPECT_EQ(json["protected"], false);
  EXPECT_FALSE(json.contains("protectedTill"));
  EXPECT_TRUE(json.contains("deleteAt") && json["deleteAt"].is_null());  // as DLE's clones
  EXPECT_EQ(json["createdAt"], "2026-11-27T12:00:00Z");
  EXPECT_EQ(json["status"]["code"], "OK");
  EXPECT_FALSE(json["status"]["message"].get<std::string>().empty());
  EXPECT_EQ(json["db"]["connStr"], "host=127.0.0.1 port=6000 user=jworks dbname=postgres");
  EXPECT_EQ(json["db"]["host"], "127.0.0.1");
  EXPECT_EQ(json["db"]["port"], "6000");  // a string, as in DLE
  EXPECT_EQ(json["db"]["username"], "jworks");
  EXPECT_EQ(json["db"]["password"], "");
  EXPECT_EQ(json["db"]["dbName"], "postgres");
  EXPECT_EQ(json["db"]["restricted"], false);
  EXPECT_EQ(json["metadata"]["cloneDiffSize"], 8192);
  EXPECT_EQ(json["metadata"]["cloningTime"], 0.25);
  EXPECT_EQ(json["metadata"]["maxIdleMinutes"], 120);
  EXPECT_EQ(json["metadata"]["protectionLeaseDurationMinutes"], 60);
  EXPECT_EQ(json["metadata"]["protectionMaxDurationMinutes"], 1440);
}

// What libpq itself reads from a conninfo string: keyword -> value.
std::map<std::string, std::string> ParsedByLibpq(const std::string& conninfo) {
  std::map<std::string, std::string> values;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    values["error"] = error ? error : "out of memory";
    PQfreemem(error);
    return values;
  }
  for (PQconninfoOption* option = options; option->keyword; ++option) {
    if (option->val) values[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  return values;
}

TEST(JsonMapping, ConnStrIsQuotedByLibpqRules) {
  Clone clone = SampleClone();
  for (const char* name : {"my db", "x host=evil.example", "it's", "back\\slash", "'", "\\",
                           "tab\there", "ünïcode", "a'b\\c d"}) {
    clone.db.db_name = name;
    std::string conninfo = CloneToJson(clone, CloneJsonContext{})["db"]["connStr"];
    auto parsed = ParsedByLibpq(conninfo);
    EXPECT_EQ(parsed["dbname"], name) << conninfo;
    EXPECT_EQ(parsed["host"], "127.0.0.1") << conninfo;
    EXPECT_EQ(parsed["user"], "jworks") << conninfo;
  }
  EXPECT_EQ(QuoteConninfoValue("plain"), "plain");  // unchanged, as DLE shows it
  EXPECT_EQ(QuoteConninfoValue(""), "''");
  EXPECT_EQ(QuoteConninfoValue("it's a\\b"), "'it\\'s a\\\\b'");
}

TEST(JsonMapping, CreatingCloneHasEmptyPortAndConnStrAndProtectedTillWhenLeased) {
  Clone clone = SampleClone();
  clone.status = CloneStatus::kCreating;
  clone.db.port = 0;
  clone.is_protected = true;
  clone.protected_till = At("2026-11-28T12:00:00Z");
  Json json = CloneToJson(clone, CloneJsonContext{});
  EXPECT_EQ(json["db"]["port"], "");
  EXPECT_EQ(json["db"]["connStr"], "");
  EXPECT_EQ(json["protectedTill"], "2026-11-28T12:00:00Z");
  EXPECT_EQ(json["status"]["code"], "CREATING");
  EXPECT_EQ(json["snapshot"], Json({{"id", clone.snapshot_id}}));  // details unknown
}

TEST(JsonMapping, SnapshotFields) {
  Json json = SnapshotToJson(SampleSnapshot());
  EXPECT_EQ(json.dump(),
            R"({"id":"dblab_pool@snapshot_20261127101500","createdAt":"2026-11-27T10:15:00Z",)"
            R"("dataStateAt":"2026-11-27T10:00:00Z","physicalSize":4096,"logicalSize":1073741824,)"
            R"("pool":"dblab_pool","numClones":1,"pgVersion":17,"clones":[],"branch":"",)"
            R"("message":"","protected":false})");
}

TEST(JsonMapping, InstanceStatusShape) {
  InstanceStatus status;
  status.version = "0.1.0";
  status.instance_id = "abc";
  status.started_at = At("2026-11-27T09:00:00Z");
  status.pools.push_back(PoolUsage{"dblab_pool", "btrfs", 100, 60, 40, 30, 5, 5, 18});
  status.pools.push_back(PoolUsage{"spare_pool", "btrfs", 100, 100, 0, 0, 0, 0});
  status.clones.push_back(SampleClone());
  status.expected_cloning_time_seconds = 0.3;
  status.protection_lease_duration_minutes = 60;
  status.retrieval.AddAlert(kAlertRefreshFailed, "pg_dump: timeout", At("2026-11-27T10:30:00Z"));
  status.retrieval.AddAlert(kAlertRefreshFailed, "pg_dump failed", At("2026-11-27T10:40:00Z"));
  status.retrieval.AddAlert(kAlertRefreshSkipped, "a full refresh is already running",
                            At("2026-11-27T10:45:00Z"));
  status.retrieval.last_refresh = At("2026-11-27T10:00:00Z");
  status.warm_pool_size = 3;
  status.warm_pool_ready = 2;

  Json json = InstanceStatusToJson(status, {SampleSnapshot()});

  EXPECT_EQ(json["status"], Json({{"code", "OK"}, {"message", "Instance is ready"}}));
  EXPECT_EQ(json["engine"]["version"], "0.1.0");
  EXPECT_EQ(json["engine"]["edition"], "community");
  EXPECT_EQ(json["engine"]["instanceID"], "abc");
  EXPECT_EQ(json["engine"]["startedAt"], "2026-11-27T09:00:00Z");
  ASSERT_EQ(json["pools"].size(), 2u);
  EXPECT_EQ(json["pools"][0]["name"], "dblab_pool");
  EXPECT_EQ(json["pools"][0]["status"], "active");
  EXPECT_EQ(json["pools"][0]["dataStateAt"], "2026-11-27T10:00:00Z");
  EXPECT_EQ(json["pools"][0]["cloneList"], Json::array({"jworks"}));
  EXPECT_EQ(json["pools"][0]["fileSystem"]["size"], 100);
  EXPECT_EQ(json["pools"][0]["fileSystem"]["usedBySnapshots"], 5);
  // The major of main data (after an upgrade of the source) and of each snapshot.
  EXPECT_EQ(json["pools"][0]["pgVersion"], 18);
  EXPECT_EQ(json["pools"][0]["snapshots"],
            Json::array({Json{{"id", "dblab_pool@snapshot_20261127101500"},
                              {"dataStateAt", "2026-11-27T10:00:00Z"},
                              {"pgVersion", 17}}}));
  EXPECT_EQ(json["pools"][1]["pgVersion"], 0);
  EXPECT_EQ(json["pools"][1]["snapshots"], Json::array());
  EXPECT_EQ(json["cloning"]["clones"][0]["snapshot"]["pgVersion"], 17);
  EXPECT_EQ(json["pools"][1]["status"], "empty");
  EXPECT_TRUE(json["pools"][1]["dataStateAt"].is_null());
  EXPECT_EQ(json["cloning"]["numClones"], 1);
  EXPECT_EQ(json["cloning"]["clones"][0]["id"], "jworks");
  EXPECT_EQ(json["cloning"]["expectedCloningTime"], 0.3);
  EXPECT_EQ(json["cloning"]["protectionLeaseDurationMinutes"], 60);
  EXPECT_EQ(json["retrieving"]["mode"], "logical");
  EXPECT_EQ(json["retrieving"]["lastRefresh"], "2026-11-27T10:00:00Z");
  EXPECT_TRUE(json["retrieving"]["nextRefresh"].is_null());
  // DLE's map[AlertType]Alert: the newest message and time of each type, and its count.
  EXPECT_EQ(json["retrieving"]["alerts"], Json::parse(R"({
      "refresh_failed": {"level": "error", "message": "pg_dump failed",
                         "lastSeen": "2026-11-27T10:40:00Z", "count": 2},
      "refresh_skipped": {"level": "warning", "message": "a full refresh is already running",
                          "lastSeen": "2026-11-27T10:45:00Z", "count": 1}})"));
  EXPECT_EQ(json["provisioner"]["warmPool"], Json({{"size", 3}, {"ready", 2}}));
}

TEST(JsonMapping, ClientSideParsersReadWhatTheServerWrites) {
  Snapshot snapshot = SampleSnapshot();
  Clone clone = SampleClone();
  clone.is_protected = true;
  clone.protected_till = At("2026-11-28T12:00:00Z");
  auto parsed = CloneFromJson(CloneToJson(clone, CloneJsonContext{&snapshot}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->id, clone.id);
  EXPECT_EQ(parsed->snapshot_id, clone.snapshot_id);
  EXPECT_EQ(parsed->status, CloneStatus::kOk);
  EXPECT_EQ(parsed->db.port, 6000);
  EXPECT_EQ(parsed->db.username, "jworks");
  EXPECT_EQ(parsed->protected_till, clone.protected_till);
  EXPECT_EQ(parsed->created_at, clone.created_at);

  auto parsed_snapshot = SnapshotFromJson(SnapshotToJson(snapshot));
  ASSERT_TRUE(parsed_snapshot.ok());
  EXPECT_EQ(parsed_snapshot->data_state_at, snapshot.data_state_at);
  EXPECT_EQ(parsed_snapshot->logical_size, snapshot.logical_size);
  EXPECT_EQ(parsed_snapshot->pg_major, 17);

  InstanceStatus status;
  status.clones = {clone};
  status.pools.push_back(PoolUsage{"dblab_pool", "btrfs", 100, 60, 40, 30, 5, 5, 16});
  status.warm_pool_size = 2;
  status.warm_pool_ready = 1;
  auto parsed_status = InstanceStatusFromJson(InstanceStatusToJson(status, {snapshot}));
  ASSERT_TRUE(parsed_status.ok()) << parsed_status.error().message;
  ASSERT_EQ(parsed_status->clones.size(), 1u);
  EXPECT_EQ(parsed_status->pools.at(0).free, 60);
  EXPECT_EQ(parsed_status->pools.at(0).pg_major, 16);
  EXPECT_EQ(parsed_status->warm_pool_size, 2);
  EXPECT_EQ(parsed_status->warm_pool_ready, 1);

  InstanceStatus failed;
  failed.retrieval.AddAlert(kAlertReplicaDown, "the replica does not run: no WAL",
                            At("2026-11-27T11:00:00Z"));
  auto parsed_failed = InstanceStatusFromJson(InstanceStatusToJson(failed, {}));
  ASSERT_TRUE(parsed_failed.ok()) << parsed_failed.error().message;
  EXPECT_EQ(parsed_failed->retrieval.alerts, failed.retrieval.alerts);
}

TEST(JsonMapping, InstanceStatusWithoutAlertsSendsAnEmptyObject) {
  Json json = InstanceStatusToJson(InstanceStatus{}, {});
  EXPECT_EQ(json["retrieving"]["alerts"], Json::object());
}

TEST(JsonMapping, ClientSideParsersAcceptDleAlertsObject) {
  Json dle = Json::parse(
      R"({"retrieving":{"mode":"logical","status":"failed","lastRefresh":null,
          "alerts":{"refresh_failed":{"level":"error","message":"dump failed"}}}})");
  auto status = InstanceStatusFromJson(dle);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->retrieval.alerts.size(), 1u);
  const RetrievalAlert& alert = status->retrieval.alerts.at("refresh_failed");
  EXPECT_EQ(alert.level, "error");
  EXPECT_EQ(alert.message, "dump failed");
  EXPECT_EQ(alert.count, 0);  // absent in the answer
}

TEST(JsonMapping, ClientSideParsersAcceptTheOldAlertsArray) {
  // dblab engines before 2026-12 sent an array of messages: each counts as refresh_failed.
  Json old = Json::parse(R"({"retrieving":{"alerts":["dump failed","dump failed again"]}})");
  auto status = InstanceStatusFromJson(old);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->retrieval.alerts.size(), 1u);
  EXPECT_EQ(status->retrieval.alerts.at("refresh_failed").message, "dump failed again");
  EXPECT_EQ(status->retrieval.alerts.at("refresh_failed").count, 2);
}

TEST(RetrievalState, AddAlertKeepsTheNewestMessageOfEachTypeAndCounts) {
  RetrievalState state;
  state.AddAlert(kAlertRefreshFailed, "first", At("2026-11-27T10:00:00Z"));
  state.AddAlert(kAlertRefreshFailed, "second", At("2026-11-27T11:00:00Z"));
  state.AddAlert(kAlertReplicaDown, "the replica does not run", At("2026-11-27T12:00:00Z"));
  state.AddAlert("something_new", "?", At("2026-11-27T12:00:00Z"));
  EXPECT_EQ(state.alerts.at("refresh_failed"),
            (RetrievalAlert{"error", "second", At("2026-11-27T11:00:00Z"), 2}));
  EXPECT_EQ(state.alerts.at("replica_down").level, "error");
  EXPECT_EQ(state.alerts.at("something_new").level, "unknown");  // DLE's AlertLevelByType
  EXPECT_EQ(RetrievalAlertLevel(kAlertRefreshSkipped), "warning");
}

// --- requests ---

TEST(JsonRequest, CreateCloneReadsEveryField) {
  auto request = ParseCreateCloneRequest(R"({
    "id": "jworks", "snapshot": {"id": "pool@snap1"}, "branch": "dev", "protected": true,
    "protectionDurationMinutes": 90,
    "db": {"username": "jworks", "password": "s3cret", "restricted": true, "db_name": "app"}})");
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->id, "jworks");
  EXPECT_EQ(request->snapshot_id, "pool@snap1");
  EXPECT_EQ(request->branch, "dev");
  EXPECT_EQ(request->is_protected, true);
  EXPECT_EQ(request->protection_duration_minutes, 90);
  EXPECT_EQ(request->username, "jworks");
  EXPECT_EQ(request->password, "s3cret");
  EXPECT_TRUE(request->restricted);
  EXPECT_EQ(request->db_name, "app");
}

TEST(JsonRequest, CreateCloneAcceptsWhatDleCliSends) {
  // DLE's Go client sends every field, with null for unset pointers and maps.
  auto request = ParseCreateCloneRequest(
      R"({"id":"","protected":false,"db":{"username":"u","password":"p","restricted":false,
          "db_name":""},"snapshot":null,"extra_conf":null})");
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->is_protected, false);
  EXPECT_FALSE(request->protection_duration_minutes);
  EXPECT_TRUE(request->snapshot_id.empty());
}

TEST(JsonRequest, UnknownFieldsAreRejectedByName) {
  auto top = ParseCreateCloneRequest(R"({"id":"a","colour":"red"})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(top.error().message.find("\"colour\""), std::string::npos) << top.error().message;

  auto nested = ParseCreateCloneRequest(R"({"db":{"username":"u","pasword":"p"}})");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().message.find("\"db.pasword\""), std::string::npos);

  auto update = ParseUpdateCloneRequest(R"({"protect":true})");
  ASSERT_FALSE(update.ok());
  EXPECT_NE(update.error().message.find("\"protect\""), std::string::npos);
}

TEST(JsonRequest, WrongTypesAreRejectedByName) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (auto [body, field] :
       {Case{R"({"protected":"yes"})", "\"protected\""},
        Case{R"({"db":{"username":42}})", "\"db.username\""}, Case{R"({"db":"u"})", "\"db\""},
        Case{R"({"snapshot":{"id":[]}})", "\"snapshot.id\""},
        Case{R"({"protectionDurationMinutes":1.5})", "protectionDuration"},
        Case{R"({"protectionDurationMinutes":-1})", "protectionDuration"},
        Case{R"({"extra_conf":{"work_mem":"1GB"}})", "\"extra_conf\""}}) {
    auto request = ParseCreateCloneRequest(body);
    ASSERT_FALSE(request.ok()) << body;
    EXPECT_EQ(request.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(request.error().message.find(field), std::string::npos) << request.error().message;
  }
}

TEST(JsonRequest, MalformedJsonIsABadRequest) {
  // 1e99999: a number too large for a double (found by the JSON fuzzer).
  for (const char* body :
       {"", "{", "{\"id\":}", "[1]", "\"x\"", "{} {}", "nul", "{\"id\": 1e99999}"}) {
    auto request = ParseCreateCloneRequest(body);
    ASSERT_FALSE(request.ok()) << body;
    EXPECT_EQ(request.error().code, ErrorCode::kBadRequest) << body;
  }
  auto request = ParseCreateCloneRequest("{\"id\":");
  EXPECT_NE(request.error().message.find("invalid JSON"), std::string::npos);
}

TEST(JsonRequest, DeeplyNestedJsonIsRefusedBeforeParsing) {
  std::string body = R"({"db":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto request = ParseCreateCloneRequest(body);
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.error().message.find("nested too deeply"), std::string::npos);
}

TEST(JsonRequest, ResetAcceptsEmptyBodySnapshotOrLatestButNotBoth) {
  auto empty = ParseResetCloneRequest("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->snapshot_id.empty());
  EXPECT_FALSE(empty->latest);

  auto snapshot = ParseResetCloneRequest(R"({"snapshotID":"pool@s2"})");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->snapshot_id, "pool@s2");

  auto latest = ParseResetCloneRequest(R"({"latest":true,"snapshotID":""})");
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->latest);

  auto both = ParseResetCloneRequest(R"({"snapshotID":"pool@s2","latest":true})");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().code, ErrorCode::kBadRequest);

  EXPECT_FALSE(ParseResetCloneRequest(R"({"latest":"true"})").ok());
}

TEST(JsonRequest, UpdateReadsProtection) {
  auto request = ParseUpdateCloneRequest(R"({"protected":true,"protectionDurationMinutes":0})");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->is_protected, true);
  EXPECT_EQ(request->protection_duration_minutes, 0);
}

TEST(JsonRequest, ClientSideRequestsRoundTrip) {
  CreateCloneRequest create;
  create.id = "x";
  create.snapshot_id = "pool@s";
  create.username = "u";
  create.password = "p";
  create.is_protected = true;
  create.protection_duration_minutes = 30;
  auto parsed = ParseCreateCloneRequest(CreateCloneRequestToJson(create).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->snapshot_id, "pool@s");
  EXPECT_EQ(parsed->password, "p");
  EXPECT_EQ(parsed->protection_duration_minutes, 30);

  auto reset = ParseResetCloneRequest(ResetCloneRequestToJson({"", true}).dump());
  ASSERT_TRUE(reset.ok());
  EXPECT_TRUE(reset->latest);

  auto update = ParseUpdateCloneRequest(UpdateCloneRequestToJson({false, std::nullopt}).dump());
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(update->is_protected, false);
}

}  // namespace
}  // namespace dblab
