// Plain values of the operations features (retrieval activity, clone events, webhook state,
// observation sessions), shared by the engine, the API and tests. No behaviour, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/model.h"

namespace dblab {

// One row of pg_stat_activity, as DLE's PGActivityEvent.
struct PgActivityEvent {
  std::string user;
  std::string query;  // truncated; never a password (the engine passes none in SQL)
  double duration_seconds = 0;
  std::string wait_event_type;
  std::string wait_event;
};

// Sessions on the source and on the restore target while a refresh runs.
struct RetrievalActivity {
  std::vector<PgActivityEvent> source;
  std::vector<PgActivityEvent> target;
};

// A finished clone operation, for webhooks and metrics. `type` is DLE's webhook event type:
// clone_create, clone_reset or clone_delete.
struct CloneEvent {
  std::string type;
  Clone clone;  // as it was when the operation ended (no password, ever)
  bool ok = true;
  double seconds = 0;
};

// One entry of DLE's `webhooks.hooks`.
struct WebhookHook {
  std::string url;                    // http:// or https://
  std::string secret;                 // sent in the DLE-Webhook-Token header when not empty
  std::vector<std::string> triggers;  // clone_create, clone_reset, clone_delete
};

// A candidate source for POST /admin/test-db-source (DLE's Connection). The password is used
// for one connection and dropped.
struct DbSourceCandidate {
  std::string host;
  int port = 5432;
  std::string dbname;
  std::string username;
  std::string password;
  std::vector<std::string> db_list;  // databases that must exist; empty = any
};

struct SourceProbe {
  std::string version;                 // server_version, e.g. "15.8"
  std::vector<std::string> databases;  // connectable, non-template
  int64_t size_bytes = 0;              // of db_list's databases (all when db_list is empty)
  std::vector<std::string> missing;    // named in db_list but absent
};

// --- Observation of a migration in a clone (DLE's /observation/*; seconds everywhere) ---
struct ObservationConfig {
  int64_t observation_interval = 10;  // seconds between samples of pg_locks
  int64_t max_lock_duration = 10;     // an exclusive lock held longer fails the check
  int64_t max_duration = 3600;        // a session longer than this fails the check
};

struct StartObservationRequest {
  std::string clone_id;
  ObservationConfig config;
  std::map<std::string, std::string> tags;
  std::string db_name;  // empty: the clone's database
};

// A lock of a dangerous mode (AccessExclusive, Exclusive, ShareRowExclusive, Share) seen
// longer than max_lock_duration, with the statement of the session that held it.
struct ObservedLock {
  int pid = 0;
  std::string mode;      // "AccessExclusiveLock"
  std::string relation;  // "public.users", or the lock type when not a relation
  std::string statement;
  double held_seconds = 0;
  TimePoint seen_at{};
};

struct ObservationInterval {
  TimePoint started_at{};
  int64_t duration_seconds = 0;
  std::string warning;  // empty: nothing dangerous in this interval
};

struct ObservationSession {
  uint64_t session_id = 0;
  std::string clone_id;
  std::string db_name;
  TimePoint started_at{};
  std::optional<TimePoint> finished_at;
  ObservationConfig config;
  std::map<std::string, std::string> tags;
  std::vector<std::string> artifacts;  // types for GET /observation/download
  // Result (complete once finished_at is set).
  std::string status;  // "" while running, then "passed" | "failed"
  std::vector<ObservationInterval> intervals;
  double total_duration_seconds = 0;
  int warning_intervals = 0;
  bool session_duration_acceptable = true;
  bool no_long_dangerous_locks = true;
  bool overall_success = true;
  std::vector<ObservedLock> long_locks;  // longest per (pid, mode, relation)
  std::vector<std::string> errors;       // sampling errors, the caller's overall_error
  int64_t db_size_bytes = 0;
};

}  // namespace dblab
