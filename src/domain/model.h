// Domain types shared by the engine, the API, the state store and the client. Plain values:
// no behaviour, no I/O. JSON mapping lives in api/json_mapping (DLE field names).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dblab {

using TimePoint = std::chrono::system_clock::time_point;

// DLE status codes, as strings on the wire.
enum class CloneStatus { kCreating, kOk, kResetting, kDeleting, kFatal, kWarning };
const char* CloneStatusName(CloneStatus status);  // "CREATING", "OK", ...
std::optional<CloneStatus> ParseCloneStatus(const std::string& name);

struct Snapshot {
  std::string id;    // e.g. "dblab_pool@snapshot_20261127101500"
  std::string pool;  // pool name
  TimePoint created_at{};
  TimePoint data_state_at{};  // when the data was taken from the source (dump start)
  int64_t physical_size = 0;  // bytes exclusively used by the snapshot (0 if unknown)
  int64_t logical_size = 0;   // bytes of data it presents
  int num_clones = 0;
  int pg_major = 0;  // PostgreSQL major of its data (PG_VERSION when it was made); 0: unknown
  // DLE 4 branching: the branch it was made on, the snapshot before it there ("" for a root),
  // the commit message, and protection from deletion (by hand and by retention).
  std::string branch;
  std::string parent_id;
  std::string message;
  bool is_protected = false;
  std::optional<TimePoint> protected_till;  // empty + protected = forever
  std::optional<TimePoint> delete_at;       // scheduled deletion (DLE's deleteAt); never protected
  std::vector<std::string> clones;          // ids of the clones on it (filled by the engine)
};

struct CloneDatabase {
  std::string username;
  std::string db_name;
  bool restricted = false;
  std::string host;  // access host shown to users (cloning.accessHost)
  int port = 0;      // 0 until assigned
  // Not the password: only the SCRAM verifier is ever kept (see cloning/).
};

struct Clone {
  std::string id;
  std::string snapshot_id;
  std::string branch;
  CloneStatus status = CloneStatus::kCreating;
  std::string status_message;
  bool is_protected = false;
  std::optional<TimePoint> protected_till;  // empty + protected = forever
  TimePoint created_at{};
  CloneDatabase db;
  double cloning_time_seconds = 0;
  int64_t diff_size = 0;  // bytes written since the clone was made
  std::optional<TimePoint> last_activity_at;
};

struct CreateCloneRequest {
  std::string id;           // empty: generate
  std::string snapshot_id;  // empty: latest
  std::string branch;
  std::string username;
  std::string password;  // plain text only in memory, only until the role exists
  std::string db_name;   // empty: default database
  bool restricted = false;
  std::optional<bool> is_protected;
  std::optional<int64_t> protection_duration_minutes;  // 0 = forever (unless capped)
};

struct ResetCloneRequest {
  std::string snapshot_id;  // empty and !latest: the clone's current snapshot
  bool latest = false;
};

struct UpdateCloneRequest {
  std::optional<bool> is_protected;
  std::optional<int64_t> protection_duration_minutes;
  // Snapshots and branches only (DLE's UpdateSnapshot / UpdateBranch): delete at this time;
  // clears protection, and excludes `protected` and a duration in the same request.
  std::optional<TimePoint> delete_at;
};

struct PoolUsage {
  std::string name;
  std::string mode;  // "btrfs", "zfs", ...
  int64_t size = 0;
  int64_t free = 0;
  int64_t used = 0;
  int64_t data_size = 0;
  int64_t used_by_snapshots = 0;
  int64_t used_by_clones = 0;
  int pg_major = 0;  // PostgreSQL major of main data (its PG_VERSION); 0: none yet
};

// Retrieval alert types: DLE's refresh_failed (a refresh or snapshot failed) and
// refresh_skipped (a refresh was asked for while one ran), and dblab's replica_down (the
// physical replica does not run).
inline constexpr std::string_view kAlertRefreshFailed = "refresh_failed";
inline constexpr std::string_view kAlertRefreshSkipped = "refresh_skipped";
inline constexpr std::string_view kAlertReplicaDown = "replica_down";

// One retrieval alert type's state, as DLE's models.Alert.
struct RetrievalAlert {
  std::string level;    // error | warning | unknown (DLE's AlertLevelByType)
  std::string message;  // the newest
  TimePoint last_seen{};
  int count = 0;  // times raised since the alerts were last cleared
  bool operator==(const RetrievalAlert&) const = default;
};

// DLE's level of an alert type: error for refresh_failed and replica_down, warning for
// refresh_skipped, unknown otherwise.
std::string RetrievalAlertLevel(std::string_view type);

// How far the physical replica is behind the source, as the replica sees it.
struct ReplicaLag {
  // Since the last transaction it replayed committed on the source; 0 when it has replayed all
  // the WAL it received (an idle source is no lag).
  double seconds = 0;
  int64_t bytes = 0;  // WAL received but not yet replayed (0 without streaming)
};

struct RetrievalState {
  std::string mode = "logical";    // logical | physical | unknown
  std::string status = "pending";  // pending | refreshing | finished | failed
  std::optional<TimePoint> last_refresh;
  std::optional<TimePoint> next_refresh;
  std::map<std::string, RetrievalAlert, std::less<>> alerts;  // keyed by alert type
  std::string progress;                                       // e.g. "pg_restore: 3/5 databases"
  // Physical mode with sync: the replica's lag at the last check (every 10 s); empty while no
  // replica runs or it could not be read.
  std::optional<ReplicaLag> replica_lag;

  // Raises `type` again (DLE's addAlert): the newest message and time, the count plus one.
  void AddAlert(std::string_view type, std::string message, TimePoint now);
};

// Webhook deliveries since the engine started (shown in /status when hooks are configured).
struct WebhookState {
  int hooks = 0;
  uint64_t delivered = 0;
  uint64_t failed = 0;     // gave up after every retry, or dropped because the queue was full
  uint64_t pending = 0;    // queued or being sent
  std::string last_error;  // "clone_create to http://host/path: connection refused"
  std::optional<TimePoint> last_error_at;
};

// The cloning settings every clone's JSON repeats (DLE's clone.metadata).
struct CloningSettings {
  int64_t max_idle_minutes = 0;
  int64_t protection_lease_duration_minutes = 0;
  int64_t protection_max_duration_minutes = 0;
};

struct InstanceStatus {
  std::string status_code = "OK";  // OK | WARNING | FATAL
  std::string status_message = "Instance is ready";
  std::string version;
  std::string instance_id;
  TimePoint started_at{};
  std::vector<PoolUsage> pools;
  RetrievalState retrieval;
  std::vector<Clone> clones;
  double expected_cloning_time_seconds = 0;
  int64_t protection_lease_duration_minutes = 0;
  int64_t protection_max_duration_minutes = 0;
  int64_t max_idle_minutes = 0;
  int warm_pool_size = 0;   // provision.warmPool
  int warm_pool_ready = 0;  // warm clones started on the latest snapshot, ready to hand out
  WebhookState webhooks;
};

inline constexpr std::string_view kMainBranch = "main";

// A named line of snapshots (DLE 4): a pointer to its head snapshot. `main` exists from the
// first snapshot on, and retrieval's snapshots land on it.
struct Branch {
  std::string name;
  std::string head_snapshot_id;
  std::string base_snapshot_id;  // where it forked off ("" for main)
  std::string parent;            // the branch it forked off ("-" for main)
  bool is_protected = false;
  std::optional<TimePoint> protected_till;  // empty + protected = forever
  std::optional<TimePoint> delete_at;       // scheduled deletion (DLE's deleteAt)
  TimePoint created_at{};
};

struct CreateBranchRequest {
  std::string name;
  std::string base_branch;  // exactly one of base_branch and snapshot_id
  std::string snapshot_id;
};

// Protection of a snapshot or a branch (DLE's UpdateSnapshot / UpdateBranch): the fields of
// UpdateCloneRequest, but an omitted duration means forever (capped by the maximum).
using UpdateProtectionRequest = UpdateCloneRequest;

}  // namespace dblab
