// Durable engine state in SQLite (WAL, synchronous=FULL): every write is one transaction, so a
// crash leaves either the old or the new record. Thread-safe (one connection behind a mutex).
// The pool and the running servers are the other half of the truth; engine/ reconciles both
// at start.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "domain/model.h"

namespace dblab {

struct CloneRecord {
  Clone clone;
  // SCRAM-SHA-256 verifier of the clone user's password; never the password itself.
  std::string password_verifier;
  // The clone's directory (subvolume, dataset) in the pool: its id, except for a clone taken
  // from the warm pool, which keeps the name it was started under until its first reset.
  // Empty means the id (records written before schema version 2).
  std::string storage_name;
  const std::string& StorageName() const { return storage_name.empty() ? clone.id : storage_name; }
};

class StateStore {
 public:
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Opens or creates the database (file mode 0600) and migrates its schema.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);

  Status PutClone(const CloneRecord& record);
  Status DeleteClone(const std::string& id);
  Result<std::vector<CloneRecord>> ListClones();

  // Saves a snapshot. A new one moves its branch's head to it in the same transaction: its
  // branch defaults to main (created with the first snapshot), its parent to the branch's head.
  // kNotFound for a new snapshot on a branch that does not exist.
  Status PutSnapshot(const Snapshot& snapshot);
  // Its children and the branches pointing at it move to its parent; a branch left without any
  // snapshot is removed.
  Status DeleteSnapshot(const std::string& id);
  Result<std::vector<Snapshot>> ListSnapshots();  // oldest first

  // Changes only the protection and the scheduled deletion of a known snapshot (kNotFound
  // otherwise), so that a concurrent PutSnapshot of measured sizes cannot undo them.
  Status SetSnapshotProtection(const std::string& id, bool is_protected,
                               const std::optional<TimePoint>& till,
                               const std::optional<TimePoint>& delete_at = std::nullopt);

  // Records a measured size; a snapshot deleted meanwhile stays deleted (no error).
  Status SetSnapshotPhysicalSize(const std::string& id, int64_t bytes);
  // Records the PostgreSQL major of a snapshot made before majors were recorded (schema < 4).
  Status SetSnapshotPgMajor(const std::string& id, int major);

  Result<std::vector<Branch>> ListBranches();  // oldest first
  Status PutBranch(const Branch& branch);
  // Removes the branch and the given snapshots (its own, whose storage is gone) at once.
  Status DeleteBranch(const std::string& name, const std::vector<std::string>& snapshot_ids);

  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status PutMeta(const std::string& key, const std::string& value);

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  Status ExecLocked(const std::string& sql);
  // The *Locked methods expect mutex_ held.
  Status InTransactionLocked(const std::function<Status()>& work);
  Status WriteSnapshotLocked(const Snapshot& snapshot);
  Status WriteBranchLocked(const Branch& branch);
  Status ReloadSnapshotsLocked();
  Result<std::vector<Snapshot>> LoadSnapshotsLocked();
  Result<std::vector<Branch>> ListBranchesLocked();
  std::mutex mutex_;
  sqlite3* db_;
  // Snapshots change rarely and are read on every API request: readers use this copy and never
  // wait behind a clone write's fsync.
  std::mutex snapshots_mutex_;
  std::vector<Snapshot> snapshots_;
};

int64_t ToMillis(TimePoint time);
TimePoint FromMillis(int64_t millis);

}  // namespace dblab
