#include "api/json_mapping.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "common/time.h"

namespace dblab {
namespace {

// Deeper bodies are refused before parsing: no request needs more than 3 levels.
constexpr int kMaxJsonDepth = 32;

const char* DefaultStatusMessage(CloneStatus status) {
  switch (status) {
    case CloneStatus::kCreating:
      return "Clone is being created.";
    case CloneStatus::kOk:
      return "Clone is ready to accept Postgres connections.";
    case CloneStatus::kResetting:
      return "Clone is being reset.";
    case CloneStatus::kDeleting:
      return "Clone is being deleted.";
    case CloneStatus::kFatal:
      return "Cloning failure.";
    case CloneStatus::kWarning:
      return "Clone needs attention.";
  }
  return "";
}

Json OptionalTime(const std::optional<TimePoint>& time) {
  return time ? Json(FormatRfc3339(*time)) : Json(nullptr);
}

// --- strict request parsing ---

bool NestingTooDeep(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

Result<Json> ParseObject(std::string_view body) {
  if (NestingTooDeep(body)) return BadRequest("invalid JSON: nested too deeply");
  Json json;
  try {
    json = Json::parse(body);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number overflow
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep "parse error at ...".
    if (auto end = what.find("] "); what.rfind("[json.exception", 0) == 0 && end != what.npos) {
      what = what.substr(end + 2);
    }
    return BadRequest("invalid JSON: " + what);
  }
  if (!json.is_object()) return BadRequest("request body must be a JSON object");
  return json;
}

Status CheckKnownFields(const Json& object, std::string_view prefix,
                        std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return BadRequest(fmt::format("unknown field \"{}{}\"", prefix, key));
    }
  }
  return OkStatus();
}

// The getters leave `out` untouched when the field is absent or null.
Status GetString(const Json& object, const char* key, std::string_view prefix, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return OkStatus();
  if (!it->is_string())
    return BadRequest(fmt::format("field \"{}{}\" must be a string", prefix, key));
  out = it->get<std::string>();
  return OkStatus();
}

Status GetBool(const Json& object, const char* key, std::string_view prefix,
               std::optional<bool>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return OkStatus();
  if (!it->is_boolean()) {
    return BadRequest(fmt::format("field \"{}{}\" must be a boolean", prefix, key));
  }
  out = it->get<bool>();
  return OkStatus();
}

Status GetMinutes(const Json& object, const char* key, std::optional<int64_t>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return OkStatus();
  if (it->is_number_unsigned() && it->get<uint64_t>() <= uint64_t{1} << 40) {
    out = static_cast<int64_t>(it->get<uint64_t>());
    return OkStatus();
  }
  if (it->is_number_integer() && it->get<int64_t>() < 0) {
    return BadRequest(fmt::format("field \"{}\" must not be negative", key));
  }
  return BadRequest(fmt::format("field \"{}\" must be a whole number of minutes", key));
}

Status GetObject(const Json& object, const char* key, const Json*& out) {
  auto it = object.find(key);
  out = nullptr;
  if (it == object.end() || it->is_null()) return OkStatus();
  if (!it->is_object()) return BadRequest(fmt::format("field \"{}\" must be an object", key));
  out = &*it;
  return OkStatus();
}

// --- lenient response parsing ---

std::string LenientString(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t LenientInt(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return 0;
  return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

double LenientDouble(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

bool LenientBool(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const Json& LenientObject(const Json& object, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

// Absent, null or "" give nullopt; anything else must be RFC 3339.
Result<std::optional<TimePoint>> LenientTime(const Json& object, const char* key) {
  std::string text = LenientString(object, key);
  if (text.empty()) return std::optional<TimePoint>();
  auto time = ParseRfc3339(text);
  if (!time)
    return Internal(fmt::format("field \"{}\": \"{}\" is not an RFC 3339 time", key, text));
  return std::optional<TimePoint>(*time);
}

}  // namespace

std::string QuoteConninfoValue(std::string_view value) {
  bool plain = !value.empty() && value.find_first_of(" \t\n\r\f\v'\\") == std::string_view::npos;
  if (plain) return std::string(value);
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string ConnectionString(const CloneDatabase& db) {
  if (db.port == 0) return "";
  return fmt::format("host={} port={} user={} dbname={}", QuoteConninfoValue(db.host), db.port,
                     QuoteConninfoValue(db.username), QuoteConninfoValue(db.db_name));
}

Json SnapshotToJson(const Snapshot& snapshot) {
  Json json{{"id", snapshot.id},
            {"createdAt", FormatRfc3339(snapshot.created_at)},
            {"dataStateAt", FormatRfc3339(snapshot.data_state_at)},
            {"physicalSize", snapshot.physical_size},
            {"logicalSize", snapshot.logical_size},
            {"pool", snapshot.pool},
            {"numClones", snapshot.num_clones},
            {"pgVersion", snapshot.pg_major},
            {"clones", snapshot.clones},
            {"branch", snapshot.branch},
            {"message", snapshot.message},
            {"protected", snapshot.is_protected}};
  if (snapshot.protected_till) json["protectedTill"] = FormatRfc3339(*snapshot.protected_till);
  if (snapshot.delete_at) json["deleteAt"] = FormatRfc3339(*snapshot.delete_at);
  return json;
}

Json CloneToJson(const Clone& clone, const CloneJsonContext& context) {
  Json json;
  json["id"] = clone.id;
  json["snapshot"] =
      context.snapshot ? SnapshotToJson(*context.snapshot) : Json{{"id", clone.snapshot_id}};
  json["branch"] = clone.branch;
  json["protected"] = clone.is_protected;
  if (clone.protected_till) json["protectedTill"] = FormatRfc3339(*clone.protected_till);
  // DLE's Clone.DeleteAt: always in its JSON, and never set for a clone (DLE 4.2 schedules the
  // deletion of snapshots and branches only; idle clones go by cloning.maxIdleMinutes).
  json["deleteAt"] = nullptr;
  json["createdAt"] = FormatRfc3339(clone.created_at);
  json["status"] = Json{
      {"code", CloneStatusName(clone.status)},
      {"message", clone.status_message.empty() ? std::string(DefaultStatusMessage(clone.status))
                                               : clone.status_message}};
  json["db"] = Json{{"connStr", ConnectionString(clone.db)},
                    {"host", clone.db.host},
                    {"port", clone.db.port == 0 ? std::string() : std::to_string(clone.db.port)},
                    {"username", clone.db.username},
                    {"password", ""},
                    {"dbName", clone.db.db_name},
                    {"restricted", clone.db.restricted}};
  json["metadata"] =
      Json{{"cloneDiffSize", clone.diff_size},
           {"logicalSize", context.snapshot ? context.snapshot->logical_size : 0},
           {"cloningTime", clone.cloning_time_seconds},
           {"maxIdleMinutes", context.max_idle_minutes},
           {"protectionLeaseDurationMinutes", context.protection_lease_duration_minutes},
           {"protectionMaxDurationMinutes", context.protection_max_duration_minutes}};
  return json;
}

Json InstanceStatusToJson(const InstanceStatus& status, const std::vector<Snapshot>& snapshots) {
  auto find_snapshot = [&](const std::string& id) -> const Snapshot* {
    for (const auto& snapshot : snapshots) {
      if (snapshot.id == id) return &snapshot;
    }
    return nullptr;
  };
  Json pools = Json::array();
  for (const auto& pool : status.pools) {
    std::optional<TimePoint> data_state_at;
    for (const auto& snapshot : snapshots) {
      if (snapshot.pool == pool.name &&
          (!data_state_at || snapshot.data_state_at > *data_state_at)) {
        data_state_at = snapshot.data_state_at;
      }
    }
    // Each snapshot's major (a pool can mix them after the source's major upgrade).
    Json pool_snapshots = Json::array();
    for (const auto& snapshot : snapshots) {
      if (snapshot.pool != pool.name) continue;
      pool_snapshots.push_back(Json{{"id", snapshot.id},
                                    {"dataStateAt", FormatRfc3339(snapshot.data_state_at)},
                                    {"pgVersion", snapshot.pg_major}});
    }
    Json clone_list = Json::array();
    for (const auto& clone : status.clones) {
      const Snapshot* snapshot = find_snapshot(clone.snapshot_id);
      if (snapshot && snapshot->pool == pool.name) clone_list.push_back(clone.id);
    }
    pools.push_back(Json{{"name", pool.name},
                         {"mode", pool.mode},
                         {"dataStateAt", OptionalTime(data_state_at)},
                         {"pgVersion", pool.pg_major},
                         {"status", data_state_at ? "active" : "empty"},
                         {"cloneList", std::move(clone_list)},
                         {"snapshots", std::move(pool_snapshots)},
                         {"fileSystem", Json{{"mode", pool.mode},
                                             {"size", pool.size},
                                             {"free", pool.free},
                                             {"used", pool.used},
                                             {"dataSize", pool.data_size},
                                             {"usedBySnapshots", pool.used_by_snapshots},
                                             {"usedByClones", pool.used_by_clones}}}});
  }
  Json clones = Json::array();
  for (const auto& clone : status.clones) {
    clones.push_back(CloneToJson(
        clone, CloneJsonContext{find_snapshot(clone.snapshot_id), status.max_idle_minutes,
                                status.protection_lease_duration_minutes,
                                status.protection_max_duration_minutes}));
  }
  const RetrievalState& retrieval = status.retrieval;
  Json json{
      {"status", Json{{"code", status.status_code}, {"message", status.status_message}}},
      {"engine", Json{{"version", status.version},
                      {"edition", kEdition},
                      {"instanceID", status.instance_id},
                      {"startedAt", FormatRfc3339(status.started_at)}}},
      {"pools", std::move(pools)},
      {"cloning", Json{{"expectedCloningTime", status.expected_cloning_time_seconds},
                       {"numClones", status.clones.size()},
                       {"clones", std::move(clones)},
                       {"protectionLeaseDurationMinutes", status.protection_lease_duration_minutes},
                       {"protectionMaxDurationMinutes", status.protection_max_duration_minutes}}},
      {"retrieving", Json{{"mode", retrieval.mode},
                          {"status", retrieval.status},
                          {"lastRefresh", OptionalTime(retrieval.last_refresh)},
                          {"nextRefresh", OptionalTime(retrieval.next_refresh)},
                          {"alerts", RetrievalAlertsToJson(retrieval.alerts)},
                          {"progress", retrieval.progress}}},
      {"provisioner", Json{{"warmPool", Json{{"size", status.warm_pool_size},
                                             {"ready", status.warm_pool_ready}}}}}};
  if (const WebhookState& hooks = status.webhooks; hooks.hooks > 0) {
    json["webhooks"] =
        Json{{"hooks", hooks.hooks},          {"delivered", hooks.delivered},
             {"failed", hooks.failed},        {"pending", hooks.pending},
             {"lastError", hooks.last_error}, {"lastErrorAt", OptionalTime(hooks.last_error_at)}};
  }
  return json;
}

Json RetrievalAlertsToJson(const std::map<std::string, RetrievalAlert, std::less<>>& alerts) {
  Json json = Json::object();
  for (const auto& [type, alert] : alerts) {
    json[type] = Json{{"level", alert.level},
                      {"message", alert.message},
                      {"lastSeen", FormatRfc3339(alert.last_seen)},
                      {"count", alert.count}};
  }
  return json;
}

Json ErrorToJson(const Error& error) {
  return Json{{"code", ErrorCodeName(error.code)}, {"message", error.message}};
}

Result<CreateCloneRequest> ParseCreateCloneRequest(std::string_view body) {
  DBLAB_ASSIGN_OR_RETURN(Json json, ParseObject(body));
  DBLAB_TRY(CheckKnownFields(
      json, "",
      {"id", "snapshot", "branch", "protected", "protectionDurationMinutes", "db", "extra_conf"}));
  CreateCloneRequest request;
  DBLAB_TRY(GetString(json, "id", "", request.id));
  DBLAB_TRY(GetString(json, "branch", "", request.branch));
  DBLAB_TRY(GetBool(json, "protected", "", request.is_protected));
  DBLAB_TRY(GetMinutes(json, "protectionDurationMinutes", request.protection_duration_minutes));

  const Json* snapshot = nullptr;
  DBLAB_TRY(GetObject(json, "snapshot", snapshot));
  if (snapshot) {
    DBLAB_TRY(CheckKnownFields(*snapshot, "snapshot.", {"id"}));
    DBLAB_TRY(GetString(*snapshot, "id", "snapshot.", request.snapshot_id));
  }
  const Json* db = nullptr;
  DBLAB_TRY(GetObject(json, "db", db));
  if (db) {
    DBLAB_TRY(CheckKnownFields(*db, "db.", {"username", "password", "restricted", "db_name"}));
    DBLAB_TRY(GetString(*db, "username", "db.", request.username));
    DBLAB_TRY(GetString(*db, "password", "db.", request.password));
    DBLAB_TRY(GetString(*db, "db_name", "db.", request.db_name));
    std::optional<bool> restricted;
    DBLAB_TRY(GetBool(*db, "restricted", "db.", restricted));
    request.restricted = restricted.value_or(false);
  }
  // DLE's own CLI always sends extra_conf (usually null); custom settings are not supported yet.
  const Json* extra_conf = nullptr;
  DBLAB_TRY(GetObject(json, "extra_conf", extra_conf));
  if (extra_conf && !extra_conf->empty()) {
    return BadRequest("field \"extra_conf\" is not supported: clones use the snapshot's settings");
  }
  return request;
}

Result<ResetCloneRequest> ParseResetCloneRequest(std::string_view body) {
  ResetCloneRequest request;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return request;
  DBLAB_ASSIGN_OR_RETURN(Json json, ParseObject(body));
  DBLAB_TRY(CheckKnownFields(json, "", {"snapshotID", "latest"}));
  DBLAB_TRY(GetString(json, "snapshotID", "", request.snapshot_id));
  std::optional<bool> latest;
  DBLAB_TRY(GetBool(json, "latest", "", latest));
  request.latest = latest.value_or(false);
  if (request.latest && !request.snapshot_id.empty()) {
    return BadRequest("give either \"snapshotID\" or \"latest\", not both");
  }
  return request;
}

Result<UpdateCloneRequest> ParseUpdateCloneRequest(std::string_view body) {
  DBLAB_ASSIGN_OR_RETURN(Json json, ParseObject(body));
  DBLAB_TRY(CheckKnownFields(json, "", {"protected", "protectionDurationMinutes"}));
  UpdateCloneRequest request;
  DBLAB_TRY(GetBool(json, "protected", "", request.is_protected));
  DBLAB_TRY(GetMinutes(json, "protectionDurationMinutes", request.protection_duration_minutes));
  return request;
}

Result<UpdateProtectionRequest> ParseUpdateProtectionRequest(std::string_view body) {
  DBLAB_ASSIGN_OR_RETURN(Json json, ParseObject(body));
  DBLAB_TRY(CheckKnownFields(json, "", {"protected", "protectionDurationMinutes", "deleteAt"}));
  UpdateProtectionRequest request;
  DBLAB_TRY(GetBool(json, "protected", "", request.is_protected));
  DBLAB_TRY(GetMinutes(json, "protectionDurationMinutes", request.protection_duration_minutes));
  if (json.contains("deleteAt") && !json["deleteAt"].is_null()) {
    const Json& value = json["deleteAt"];
    std::optional<TimePoint> at =
        value.is_string() ? ParseRfc3339(value.get<std::string>()) : std::nullopt;
    if (!at) {
      return BadRequest("\"deleteAt\" must be an RFC 3339 time such as " +
                        std::string("\"2026-12-31T18:00:00Z\""));
    }
    request.delete_at = at;
  }
  return request;
}

Json CreateCloneRequestToJson(const CreateCloneRequest& request) {
  Json json;
  if (!request.id.empty()) json["id"] = request.id;
  if (!request.snapshot_id.empty()) json["snapshot"] = Json{{"id", request.snapshot_id}};
  if (!request.branch.empty()) json["branch"] = request.branch;
  if (request.is_protected) json["protected"] = *request.is_protected;
  if (request.protection_duration_minutes) {
    json["protectionDurationMinutes"] = *request.protection_duration_minutes;
  }
  Json db{{"username", request.username}, {"password", request.password}};
  if (request.restricted) db["restricted"] = true;
  if (!request.db_name.empty()) db["db_name"] = request.db_name;
  json["db"] = std::move(db);
  return json;
}

Json ResetCloneRequestToJson(const ResetCloneRequest& request) {
  Json json = Json::object();
  if (!request.snapshot_id.empty()) json["snapshotID"] = request.snapshot_id;
  if (request.latest) json["latest"] = true;
  return json;
}

Json UpdateCloneRequestToJson(const UpdateCloneRequest& request) {
  Json json = Json::object();
  if (request.is_protected) json["protected"] = *request.is_protected;
  if (request.protection_duration_minutes) {
    json["protectionDurationMinutes"] = *request.protection_duration_minutes;
  }
  return json;
}

Result<Snapshot> SnapshotFromJson(const Json& json) {
  if (!json.is_object()) return Internal("snapshot: expected a JSON object");
  Snapshot snapshot;
  snapshot.id = LenientString(json, "id");
  snapshot.pool = LenientString(json, "pool");
  DBLAB_ASSIGN_OR_RETURN(auto created_at, LenientTime(json, "createdAt"));
  DBLAB_ASSIGN_OR_RETURN(auto data_state_at, LenientTime(json, "dataStateAt"));
  snapshot.created_at = created_at.value_or(TimePoint{});
  snapshot.data_state_at = data_state_at.value_or(TimePoint{});
  snapshot.physical_size = LenientInt(json, "physicalSize");
  snapshot.logical_size = LenientInt(json, "logicalSize");
  snapshot.num_clones = static_cast<int>(LenientInt(json, "numClones"));
  snapshot.pg_major = static_cast<int>(LenientInt(json, "pgVersion"));
  snapshot.branch = LenientString(json, "branch");
  snapshot.message = LenientString(json, "message");
  snapshot.is_protected =
      json.contains("protected") && json["protected"].is_boolean() && json["protected"].get<bool>();
  DBLAB_ASSIGN_OR_RETURN(snapshot.protected_till, LenientTime(json, "protectedTill"));
  DBLAB_ASSIGN_OR_RETURN(snapshot.delete_at, LenientTime(json, "deleteAt"));
  return snapshot;
}

Result<Clone> CloneFromJson(const Json& json) {
  if (!json.is_object()) return Internal("clone: expected a JSON object");
  Clone clone;
  clone.id = LenientString(json, "id");
  clone.snapshot_id = LenientString(LenientObject(json, "snapshot"), "id");
  clone.branch = LenientString(json, "branch");
  clone.is_protected = LenientBool(json, "protected");
  DBLAB_ASSIGN_OR_RETURN(clone.protected_till, LenientTime(json, "protectedTill"));
  DBLAB_ASSIGN_OR_RETURN(auto created_at, LenientTime(json, "createdAt"));
  clone.created_at = created_at.value_or(TimePoint{});
  const Json& status = LenientObject(json, "status");
  clone.status = ParseCloneStatus(LenientString(status, "code")).value_or(CloneStatus::kWarning);
  clone.status_message = LenientString(status, "message");
  const Json& db = LenientObject(json, "db");
  clone.db.host = LenientString(db, "host");
  clone.db.username = LenientString(db, "username");
  clone.db.db_name = LenientString(db, "dbName");
  clone.db.restricted = LenientBool(db, "restricted");
  std::string port = LenientString(db, "port");
  clone.db.port = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || clone.db.port > 65535) return Internal("clone: bad db.port " + port);
    clone.db.port = clone.db.port * 10 + (c - '0');
  }
  const Json& metadata = LenientObject(json, "metadata");
  clone.cloning_time_seconds = LenientDouble(metadata, "cloningTime");
  clone.diff_size = LenientInt(metadata, "cloneDiffSize");
  return clone;
}

Result<InstanceStatus> InstanceStatusFromJson(const Json& json) {
  if (!json.is_object()) return Internal("instance status: expected a JSON object");
  InstanceStatus status;
  const Json& overall = LenientObject(json, "status");
  status.status_code = LenientString(overall, "code");
  status.status_message = LenientString(overall, "message");
  const Json& engine = LenientObject(json, "engine");
  status.version = LenientString(engine, "version");
  status.instance_id = LenientString(engine, "instanceID");
  DBLAB_ASSIGN_OR_RETURN(auto started_at, LenientTime(engine, "startedAt"));
  status.started_at = started_at.value_or(TimePoint{});
  if (auto pools = json.find("pools"); pools != json.end() && pools->is_array()) {
    for (const auto& entry : *pools) {
      if (!entry.is_object()) continue;
      const Json& fs = LenientObject(entry, "fileSystem");
      status.pools.push_back(PoolUsage{
          LenientString(entry, "name"), LenientString(entry, "mode"), LenientInt(fs, "size"),
          LenientInt(fs, "free"), LenientInt(fs, "used"), LenientInt(fs, "dataSize"),
          LenientInt(fs, "usedBySnapshots"), LenientInt(fs, "usedByClones"),
          static_cast<int>(LenientInt(entry, "pgVersion"))});
    }
  }
  const Json& cloning = LenientObject(json, "cloning");
  status.expected_cloning_time_seconds = LenientDouble(cloning, "expectedCloningTime");
  status.protection_lease_duration_minutes = LenientInt(cloning, "protectionLeaseDurationMinutes");
  status.protection_max_duration_minutes = LenientInt(cloning, "protectionMaxDurationMinutes");
  if (auto clones = cloning.find("clones"); clones != cloning.end() && clones->is_array()) {
    for (const auto& entry : *clones) {
      DBLAB_ASSIGN_OR_RETURN(Clone clone, CloneFromJson(entry));
      status.max_idle_minutes = LenientInt(LenientObject(entry, "metadata"), "maxIdleMinutes");
      status.clones.push_back(std::move(clone));
    }
  }
  const Json& warm_pool = LenientObject(LenientObject(json, "provisioner"), "warmPool");
  status.warm_pool_size = static_cast<int>(LenientInt(warm_pool, "size"));
  status.warm_pool_ready = static_cast<int>(LenientInt(warm_pool, "ready"));
  const Json& retrieving = LenientObject(json, "retrieving");
  status.retrieval.mode = LenientString(retrieving, "mode");
  status.retrieval.status = LenientString(retrieving, "status");
  status.retrieval.progress = LenientString(retrieving, "progress");
  DBLAB_ASSIGN_OR_RETURN(status.retrieval.last_refresh, LenientTime(retrieving, "lastRefresh"));
  DBLAB_ASSIGN_OR_RETURN(status.retrieval.next_refresh, LenientTime(retrieving, "nextRefresh"));
  // DLE's alerts object keyed by type; dblab before 2026-12 sent an array of messages.
  if (auto alerts = retrieving.find("alerts"); alerts != retrieving.end()) {
    if (alerts->is_array()) {
      for (const auto& alert : *alerts) {
        if (!alert.is_string()) continue;
        status.retrieval.AddAlert(kAlertRefreshFailed, alert.get<std::string>(), TimePoint{});
      }
    } else if (alerts->is_object()) {
      for (const auto& [type, alert] : alerts->items()) {
        if (!alert.is_object()) continue;
        RetrievalAlert& parsed = status.retrieval.alerts[type];
        parsed.level = LenientString(alert, "level");
        parsed.message = LenientString(alert, "message");
        parsed.count = static_cast<int>(LenientInt(alert, "count"));
        DBLAB_ASSIGN_OR_RETURN(auto last_seen, LenientTime(alert, "lastSeen"));
        parsed.last_seen = last_seen.value_or(TimePoint{});
      }
    }
  }
  return status;
}

}  // namespace dblab
