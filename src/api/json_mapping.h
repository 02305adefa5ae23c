// JSON <-> domain types with Database Lab Engine's field names (see docs: dle-openapi.yaml).
// Pure functions, thread-safe. Request parsers are strict (the server's side): unknown fields,
// wrong types and malformed JSON are kBadRequest errors naming the field; JSON null counts as
// absent. Response parsers (the client's side) are lenient: unknown fields are ignored, so they
// also read a real DLE's answers. Passwords are never written to JSON responses.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "domain/model.h"

namespace dblab {

// Insertion-ordered so the output reads in DLE's field order.
using Json = nlohmann::ordered_json;

inline constexpr const char* kEdition = "community";

// Instance-wide values shown in every clone's "metadata" and the clone's snapshot details.
struct CloneJsonContext {
  const Snapshot* snapshot = nullptr;  // the clone's snapshot when known; else only its id
  int64_t max_idle_minutes = 0;
  int64_t protection_lease_duration_minutes = 0;
  int64_t protection_max_duration_minutes = 0;
};

// "host=127.0.0.1 port=6000 user=jworks dbname=postgres"; "" while the port is unassigned.
std::string ConnectionString(const CloneDatabase& db);
// One value of a libpq keyword=value conninfo: as is when plain, else single-quoted with quotes
// and backslashes escaped by a backslash (libpq's rules), so "x host=evil" stays one name.
std::string QuoteConninfoValue(std::string_view value);

// --- server side: responses ---
Json SnapshotToJson(const Snapshot& snapshot);
Json CloneToJson(const Clone& clone, const CloneJsonContext& context);
// `snapshots` supplies clone snapshot details and each pool's dataStateAt / cloneList.
Json InstanceStatusToJson(const InstanceStatus& status, const std::vector<Snapshot>& snapshots);
// DLE's alerts object: {"refresh_failed": {"level", "message", "lastSeen", "count"}}; {} if none.
Json RetrievalAlertsToJson(const std::map<std::string, RetrievalAlert, std::less<>>& alerts);
// {"code": "NOT_FOUND", "message": "..."}
Json ErrorToJson(const Error& error);

// --- server side: requests (strict) ---
// {id, snapshot{id}, branch, protected, protectionDurationMinutes,
//  db{username, password, restricted, db_name}, extra_conf (only null or {} is accepted)}.
Result<CreateCloneRequest> ParseCreateCloneRequest(std::string_view body);
// {snapshotID, latest}; an empty body means "the clone's current snapshot"; both set is 400.
Result<ResetCloneRequest> ParseResetCloneRequest(std::string_view body);
// {protected, protectionDurationMinutes}.
Result<UpdateCloneRequest> ParseUpdateCloneRequest(std::string_view body);
// PATCH /snapshot/{id} and PATCH /branch/{name}: the clone's fields and `deleteAt` (RFC 3339;
// null is no change).
Result<UpdateProtectionRequest> ParseUpdateProtectionRequest(std::string_view body);

// --- client side: requests ---
Json CreateCloneRequestToJson(const CreateCloneRequest& request);
Json ResetCloneRequestToJson(const ResetCloneRequest& request);
Json UpdateCloneRequestToJson(const UpdateCloneRequest& request);

// --- client side: responses (lenient; kInternal for a non-object or an unreadable time) ---
Result<Snapshot> SnapshotFromJson(const Json& json);
Result<Clone> CloneFromJson(const Json& json);
Result<InstanceStatus> InstanceStatusFromJson(const Json& json);

}  // namespace dblab
