#include "state/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "common/numbers.h"

namespace dblab {

namespace {

constexpr int kSchemaVersion = 5;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at INTEGER NOT NULL,
  data_state_at INTEGER NOT NULL, physical_size INTEGER NOT NULL, logical_size INTEGER NOT NULL,
  branch TEXT NOT NULL DEFAULT 'main', parent_id TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '', protected INTEGER NOT NULL DEFAULT 0, protected_till INTEGER,
  pg_major INTEGER NOT NULL DEFAULT 0, delete_at INTEGER);
CREATE TABLE IF NOT EXISTS branches (
  name TEXT PRIMARY KEY, head TEXT NOT NULL, base TEXT NOT NULL, parent TEXT NOT NULL,
  protected INTEGER NOT NULL, protected_till INTEGER, created_at INTEGER NOT NULL,
  delete_at INTEGER);
CREATE TABLE IF NOT EXISTS clones (
  id TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL, branch TEXT NOT NULL, status TEXT NOT NULL,
  status_message TEXT NOT NULL, protected INTEGER NOT NULL, protected_till INTEGER,
  created_at INTEGER NOT NULL, username TEXT NOT NULL, password_verifier TEXT NOT NULL,
  db_name TEXT NOT NULL, restricted INTEGER NOT NULL, port INTEGER NOT NULL,
  cloning_time REAL NOT NULL, last_activity_at INTEGER, storage_name TEXT NOT NULL DEFAULT '');
)sql";

// Version 1 had no storage_name: its clones' storage is named like the clone.
const char* kMigrateToV2 = "ALTER TABLE clones ADD COLUMN storage_name TEXT NOT NULL DEFAULT ''";

// Version 2 had no branches: every snapshot lands on main, each the child of the one before it
// (oldest first), and main's head is the newest (see MigrateToV3).
const char* kMigrateToV3 = R"sql(
ALTER TABLE snapshots ADD COLUMN branch TEXT NOT NULL DEFAULT 'main';
ALTER TABLE snapshots ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN message TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN protected_till INTEGER;
UPDATE snapshots SET parent_id = COALESCE((SELECT p.id FROM snapshots p
  WHERE (p.created_at, p.id) < (snapshots.created_at, snapshots.id)
  ORDER BY p.created_at DESC, p.id DESC LIMIT 1), '');
INSERT INTO branches (name, head, base, parent, protected, protected_till, created_at)
  SELECT 'main', id, '', '-', 0, NULL, created_at FROM snapshots
  ORDER BY created_at DESC, id DESC LIMIT 1;
)sql";

// Version 3 did not record each snapshot's PostgreSQL major: 0 (unknown) until the engine reads
// it from the snapshot's PG_VERSION (Engine fills it in at start).
const char* kMigrateToV4 = "ALTER TABLE snapshots ADD COLUMN pg_major INTEGER NOT NULL DEFAULT 0;";

// Version 4 had no scheduled deletion (DLE's deleteAt) of snapshots and branches: none is set.
// Open adds the column to each table that lacks it (the schema above creates a missing table,
// such as the branches of an older store, with it already).

// Statement with automatic finalize; binds by 1-based index.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  void Bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.c_str(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void Bind(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) {
    auto text = sqlite3_column_text(stmt_, col);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Status StepDone(Statement& statement, const std::string& what) {
  if (!statement.ok() || statement.Step() != SQLITE_DONE) {
    return Internal("state store: " + what + ": " + statement.Error());
  }
  return OkStatus();
}

}  // namespace

int64_t ToMillis(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint FromMillis(int64_t millis) { return TimePoint(std::chrono::milliseconds(millis)); }

StateStore::~StateStore() { sqlite3_close(db_); }

Status StateStore::ExecLocked(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Internal("state store: " + message);
  }
  return OkStatus();
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path) {
  // Create the file 0600 before SQLite does, so no other user can read it at any moment.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot create state database " + path + ": " + strerror(errno));
  close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Internal("cannot open state database " + path + ": " + message);
  }
  std::unique_ptr<StateStore> store(new StateStore(db));
  sqlite3_busy_timeout(db, 5000);
  DBLAB_TRY(store->ExecLocked("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  DBLAB_TRY(store->ExecLocked(kSchema));
  auto version = store->GetMeta("schema_version");
  if (!version.ok()) return version.error();
  std::optional<int64_t> number = *version ? ParseInt64(**version) : std::nullopt;
  if (!*version) {
    DBLAB_TRY(store->PutMeta("schema_version", std::to_string(kSchemaVersion)));
  } else if (!number) {
    return Internal("state database " + path + " has an unreadable schema version \"" + **version +
                    "\"; restore it from a backup or move it aside to start afresh");
  } else if (*number > kSchemaVersion) {
    return Internal("state database " + path + " has schema version " + **version +
                    ", newer than this engine supports (" + std::to_string(kSchemaVersion) +
                    "); upgrade dblab-engine");
  } else {
    // Each step is one transaction; a crash between two leaves a version the next start goes on
    // from.
    if (*number < 2) {
      DBLAB_TRY(store->ExecLocked(std::string("BEGIN; ") + kMigrateToV2 +
                                  "; UPDATE meta SET value = '2' WHERE key = 'schema_version'; "
                                  "COMMIT;"));
    }
    if (*number < 3) {
      DBLAB_TRY(store->ExecLocked(std::string("BEGIN; ") + kMigrateToV3 +
                                  "UPDATE meta SET value = '3' WHERE key = 'schema_version'; "
                                  "COMMIT;"));
    }
    if (*number < 4) {
      DBLAB_TRY(store->ExecLocked(std::string("BEGIN; ") + kMigrateToV4 +
                                  "UPDATE meta SET value = '4' WHERE key = 'schema_version'; "
                                  "COMMIT;"));
    }
    if (*number < 5) {
      std::string add_columns;
      for (const char* table : {"snapshots", "branches"}) {
        Statement has(store->db_, "SELECT 1 FROM pragma_table_info(?) WHERE name = 'delete_at'");
        has.Bind(1, std::string(table));
        if (has.Step() != SQLITE_ROW) {
          add_columns += std::string("ALTER TABLE ") + table + " ADD COLUMN delete_at INTEGER; ";
        }
      }
      DBLAB_TRY(store->ExecLocked(std::string("BEGIN; ") + add_columns +
                                  "UPDATE meta SET value = '5' WHERE key = 'schema_version'; "
                                  "COMMIT;"));
    }
  }
  {
    std::lock_guard lock(store->mutex_);
    DBLAB_ASSIGN_OR_RETURN(store->snapshots_, store->LoadSnapshotsLocked());
  }
  return store;
}

Status StateStore::PutClone(const CloneRecord& record) {
  std::lock_guard lock(mutex_);
  const Clone& clone = record.clone;
  Statement statement(db_,
                      "INSERT OR REPLACE INTO clones (id, snapshot_id, branch, status, "
                      "status_message, protected, protected_till, created_at, username, "
                      "password_verifier, db_name, restricted, port, cloning_time, "
                      "last_activity_at, storage_name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!statement.ok()) return Internal("state store: " + statement.Error());
  statement.Bind(1, clone.id);
  statement.Bind(2, clone.snapshot_id);
  statement.Bind(3, clone.branch);
  statement.Bind(4, std::string(CloneStatusName(clone.status)));
  statement.Bind(5, clone.status_message);
  statement.Bind(6, static_cast<int64_t>(clone.is_protected));
  if (clone.protected_till) {
    statement.Bind(7, ToMillis(*clone.protected_till));
  } else {
    statement.BindNull(7);
  }
  statement.Bind(8, ToMillis(clone.created_at));
  statement.Bind(9, clone.db.username);
  statement.Bind(10, record.password_verifier);
  statement.Bind(11, clone.db.db_name);
  statement.Bind(12, static_cast<int64_t>(clone.db.restricted));
  statement.Bind(13, static_cast<int64_t>(clone.db.port));
  statement.Bind(14, clone.cloning_time_seconds);
  if (clone.last_activity_at) {
    statement.Bind(15, ToMillis(*clone.last_activity_at));
  } else {
    statement.BindNull(15);
  }
  statement.Bind(16, record.storage_name == clone.id ? std::string() : record.storage_name);
  return StepDone(statement, "save clone " + clone.id);
}

Status StateStore::DeleteClone(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, "DELETE FROM clones WHERE id = ?");
  statement.Bind(1, id);
  return StepDone(statement, "delete clone " + id);
}

Result<std::vector<CloneRecord>> StateStore::ListClones() {
  std::lock_guard lock(mutex_);
  Statement statement(db_,
                      "SELECT id, snapshot_id, branch, status, status_message, protected, "
                      "protected_till, created_at, username, password_verifier, db_name, "
                      "restricted, port, cloning_time, last_activity_at, storage_name FROM clones "
                      "ORDER BY created_at, id");
  if (!statement.ok()) return Internal("state store: " + statement.Error());
  std::vector<CloneRecord> records;
  int rc;
  while ((rc = statement.Step()) == SQLITE_ROW) {
    CloneRecord record;
    Clone& clone = record.clone;
    clone.id = statement.Text(0);
    clone.snapshot_id = statement.Text(1);
    clone.branch = statement.Text(2);
    clone.status = ParseCloneStatus(statement.Text(3)).value_or(CloneStatus::kFatal);
    clone.status_message = statement.Text(4);
    clone.is_protected = statement.Int(5) != 0;
    if (!statement.IsNull(6)) clone.protected_till = FromMillis(statement.Int(6));
    clone.created_at = FromMillis(statement.Int(7));
    clone.db.username = statement.Text(8);
    record.password_verifier = statement.Text(9);
    clone.db.db_name = statement.Text(10);
    clone.db.restricted = statement.Int(11) != 0;
    clone.db.port = static_cast<int>(statement.Int(12));
    clone.cloning_time_seconds = statement.Real(13);
    if (!statement.IsNull(14)) clone.last_activity_at = FromMillis(statement.Int(14));
    record.storage_name = statement.Text(15);
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return Internal("state store: list clones: " + statement.Error());
  return records;
}

namespace {

constexpr const char* kSnapshotColumns =
    "id, pool, created_at, data_state_at, physical_size, logical_size, branch, parent_id, "
    "message, protected, protected_till, pg_major, delete_at";

void BindOptionalTime(Statement& statement, int index, const std::optional<TimePoint>& time) {
  if (time) {
    statement.Bind(index, ToMillis(*time));
  } else {
    statement.BindNull(index);
  }
}

}  // namespace

Status StateStore::InTransactionLocked(const std::function<Status()>& work) {
  DBLAB_TRY(ExecLocked("BEGIN IMMEDIATE"));
  Status status = work();
  if (status.ok()) status = ExecLocked("COMMIT");
  if (!status.ok()) (void)ExecLocked("ROLLBACK");
  return status;
}

Status StateStore::WriteSnapshotLocked(const Snapshot& snapshot) {
  Statement statement(db_, (std::string("INSERT OR REPLACE INTO snapshots (") + kSnapshotColumns +
                            ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
                               .c_str());
  statement.Bind(1, snapshot.id);
  statement.Bind(2, snapshot.pool);
  statement.Bind(3, ToMillis(snapshot.created_at));
  statement.Bind(4, ToMillis(snapshot.data_state_at));
  statement.Bind(5, snapshot.physical_size);
  statement.Bind(6, snapshot.logical_size);
  statement.Bind(7, snapshot.branch);
  statement.Bind(8, snapshot.parent_id);
  statement.Bind(9, snapshot.message);
  statement.Bind(10, static_cast<int64_t>(snapshot.is_protected));
  BindOptionalTime(statement, 11, snapshot.protected_till);
  statement.Bind(12, static_cast<int64_t>(snapshot.pg_major));
  BindOptionalTime(statement, 13, snapshot.delete_at);
  return StepDone(statement, "save snapshot " + snapshot.id);
}

Status StateStore::WriteBranchLocked(const Branch& branch) {
  Statement statement(db_,
                      "INSERT OR REPLACE INTO branches (name, head, base, parent, protected, "
                      "protected_till, created_at, delete_at) VALUES (?,?,?,?,?,?,?,?)");
  statement.Bind(1, branch.name);
  statement.Bind(2, branch.head_snapshot_id);
  statement.Bind(3, branch.base_snapshot_id);
  statement.Bind(4, branch.parent);
  statement.Bind(5, static_cast<int64_t>(branch.is_protected));
  BindOptionalTime(statement, 6, branch.protected_till);
  statement.Bind(7, ToMillis(branch.created_at));
  BindOptionalTime(statement, 8, branch.delete_at);
  return StepDone(statement, "save branch " + branch.name);
}

Status StateStore::ReloadSnapshotsLocked() {
  DBLAB_ASSIGN_OR_RETURN(auto snapshots, LoadSnapshotsLocked());
  std::lock_guard cache(snapshots_mutex_);
  snapshots_ = std::move(snapshots);
  return OkStatus();
}

Status StateStore::PutSnapshot(const Snapshot& input) {
  std::lock_guard lock(mutex_);
  Snapshot snapshot = input;
  bool is_new;
  {
    std::lock_guard cache(snapshots_mutex_);
    is_new = std::none_of(snapshots_.begin(), snapshots_.end(),
                          [&](const Snapshot& s) { return s.id == snapshot.id; });
  }
  std::optional<Branch> moved;
  if (is_new) {
    if (snapshot.branch.empty()) snapshot.branch = kMainBranch;
    DBLAB_ASSIGN_OR_RETURN(auto branches, ListBranchesLocked());
    auto it = std::find_if(branches.begin(), branches.end(),
                           [&](const Branch& b) { return b.name == snapshot.branch; });
    if (it != branches.end()) {
      moved = *it;
      if (snapshot.parent_id.empty()) snapshot.parent_id = it->head_snapshot_id;
    } else if (snapshot.branch == kMainBranch) {
      moved = Branch{
          .name = std::string(kMainBranch), .parent = "-", .created_at = snapshot.created_at};
    } else {
      return NotFound("branch \"" + snapshot.branch + "\" not found; see dblab branch");
    }
    moved->head_snapshot_id = snapshot.id;
  }
  DBLAB_TRY(InTransactionLocked([&]() -> Status {
    DBLAB_TRY(WriteSnapshotLocked(snapshot));
    if (moved) DBLAB_TRY(WriteBranchLocked(*moved));
    return OkStatus();
  }));
  return ReloadSnapshotsLocked();
}

Status StateStore::DeleteSnapshot(const std::string& id) {
  std::lock_guard lock(mutex_);
  std::string parent;
  {
    std::lock_guard cache(snapshots_mutex_);
    for (const auto& s : snapshots_) {
      if (s.id == id) parent = s.parent_id;
    }
  }
  DBLAB_TRY(InTransactionLocked([&]() -> Status {
    // Its children and the branches pointing at it move to its parent; a branch left with no
    // snapshot at all is gone.
    for (const char* sql :
         {"UPDATE snapshots SET parent_id = ?1 WHERE parent_id = ?2",
          "UPDATE branches SET head = ?1 WHERE head = ?2",
          "UPDATE branches SET base = ?1 WHERE base = ?2", "DELETE FROM branches WHERE head = ''",
          "DELETE FROM snapshots WHERE id = ?2"}) {
      // (An index the statement lacks is not bound: SQLITE_RANGE, harmless.)
      Statement statement(db_, sql);
      statement.Bind(1, parent);
      statement.Bind(2, id);
      DBLAB_TRY(StepDone(statement, "delete snapshot " + id));
    }
    return OkStatus();
  }));
  return ReloadSnapshotsLocked();
}

Status StateStore::SetSnapshotProtection(const std::string& id, bool is_protected,
                                         const std::optional<TimePoint>& till,
                                         const std::optional<TimePoint>& delete_at) {
  std::lock_guard lock(mutex_);
  Statement statement(
      db_, "UPDATE snapshots SET protected = ?, protected_till = ?, delete_at = ? WHERE id = ?");
  statement.Bind(1, static_cast<int64_t>(is_protected));
  BindOptionalTime(statement, 2, till);
  BindOptionalTime(statement, 3, delete_at);
  statement.Bind(4, id);
  DBLAB_TRY(StepDone(statement, "protect snapshot " + id));
  if (sqlite3_changes(db_) == 0) return NotFound("snapshot " + id + " not found");
  return ReloadSnapshotsLocked();
}

Status StateStore::SetSnapshotPhysicalSize(const std::string& id, int64_t bytes) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, "UPDATE snapshots SET physical_size = ? WHERE id = ?");
  statement.Bind(1, bytes);
  statement.Bind(2, id);
  DBLAB_TRY(StepDone(statement, "save the size of snapshot " + id));
  return ReloadSnapshotsLocked();
}

Status StateStore::SetSnapshotPgMajor(const std::string& id, int major) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, "UPDATE snapshots SET pg_major = ? WHERE id = ?");
  statement.Bind(1, static_cast<int64_t>(major));
  statement.Bind(2, id);
  DBLAB_TRY(StepDone(statement, "save the PostgreSQL major of snapshot " + id));
  return ReloadSnapshotsLocked();
}

Result<std::vector<Snapshot>> StateStore::ListSnapshots() {
  std::lock_guard lock(snapshots_mutex_);
  return snapshots_;
}

Result<std::vector<Snapshot>> StateStore::LoadSnapshotsLocked() {
  Statement statement(
      db_, (std::string("SELECT ") + kSnapshotColumns + " FROM snapshots ORDER BY created_at, id")
               .c_str());
  if (!statement.ok()) return Internal("state store: " + statement.Error());
  std::vector<Snapshot> snapshots;
  int rc;
  while ((rc = statement.Step()) == SQLITE_ROW) {
    Snapshot snapshot;
    snapshot.id = statement.Text(0);
    snapshot.pool = statement.Text(1);
    snapshot.created_at = FromMillis(statement.Int(2));
    snapshot.data_state_at = FromMillis(statement.Int(3));
    snapshot.physical_size = statement.Int(4);
    snapshot.logical_size = statement.Int(5);
    snapshot.branch = statement.Text(6);
    snapshot.parent_id = statement.Text(7);
    snapshot.message = statement.Text(8);
    snapshot.is_protected = statement.Int(9) != 0;
    if (!statement.IsNull(10)) snapshot.protected_till = FromMillis(statement.Int(10));
    snapshot.pg_major = static_cast<int>(statement.Int(11));
    if (!statement.IsNull(12)) snapshot.delete_at = FromMillis(statement.Int(12));
    snapshots.push_back(std::move(snapshot));
  }
  if (rc != SQLITE_DONE) return Internal("state store: list snapshots: " + statement.Error());
  return snapshots;
}

Result<std::vector<Branch>> StateStore::ListBranchesLocked() {
  Statement statement(db_,
                      "SELECT name, head, base, parent, protected, protected_till, created_at, "
                      "delete_at FROM branches ORDER BY created_at, name");
  if (!statement.ok()) return Internal("state store: " + statement.Error());
  std::vector<Branch> branches;
  int rc;
  while ((rc = statement.Step()) == SQLITE_ROW) {
    Branch branch;
    branch.name = statement.Text(0);
    branch.head_snapshot_id = statement.Text(1);
    branch.base_snapshot_id = statement.Text(2);
    branch.parent = statement.Text(3);
    branch.is_protected = statement.Int(4) != 0;
    if (!statement.IsNull(5)) branch.protected_till = FromMillis(statement.Int(5));
    branch.created_at = FromMillis(statement.Int(6));
    if (!statement.IsNull(7)) branch.delete_at = FromMillis(statement.Int(7));
    branches.push_back(std::move(branch));
  }
  if (rc != SQLITE_DONE) return Internal("state store: list branches: " + statement.Error());
  return branches;
}

Result<std::vector<Branch>> StateStore::ListBranches() {
  std::lock_guard lock(mutex_);
  return ListBranchesLocked();
}

Status StateStore::PutBranch(const Branch& branch) {
  std::lock_guard lock(mutex_);
  return WriteBranchLocked(branch);
}

Status StateStore::DeleteBranch(const std::string& name,
                                const std::vector<std::string>& snapshot_ids) {
  std::lock_guard lock(mutex_);
  DBLAB_TRY(InTransactionLocked([&]() -> Status {
    for (const auto& id : snapshot_ids) {
      Statement statement(db_, "DELETE FROM snapshots WHERE id = ?");
      statement.Bind(1, id);
      DBLAB_TRY(StepDone(statement, "delete snapshot " + id));
    }
    Statement statement(db_, "DELETE FROM branches WHERE name = ?");
    statement.Bind(1, name);
    return StepDone(statement, "delete branch " + name);
  }));
  return ReloadSnapshotsLocked();
}

Result<std::optional<std::string>> StateStore::GetMeta(const std::string& key) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, "SELECT value FROM meta WHERE key = ?");
  if (!statement.ok()) return Internal("state store: " + statement.Error());
  statement.Bind(1, key);
  int rc = statement.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(statement.Text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return Internal("state store: read " + key + ": " + statement.Error());
}

Status StateStore::PutMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  statement.Bind(1, key);
  statement.Bind(2, value);
  return StepDone(statement, "save " + key);
}

}  // namespace dblab
