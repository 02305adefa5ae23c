// Durable engine state in SQLite (WAL, synchronous=FULL): every write is one transaction, so a
// crash leaves either the old or the new record. Thread-safe (one connection behind a mutex).
// The pool and the running servers are the other half of the truth; engine/ reconciles both
// at start.
#pragma once

#include <sqlite3.h>

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
  const std::string& StorageName() const {
    return storage_name.empty() ? clone.id : storage_name;
  }
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

  Status PutSnapshot(const Snapshot& snapshot);
  Status DeleteSnapshot(const std::string& id);
  Result<std::vector<Snapshot>> ListSnapshots();  // oldest first

  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status PutMeta(const std::string& key, const std::string& value);

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  Status ExecLocked(const std::string& sql);
  Result<std::vector<Snapshot>> LoadSnapshots();
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
