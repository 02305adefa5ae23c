// Thin-clone storage: small role interfaces, one pool each. Cloning code only sees these; the
// factory in storage/factory.h picks btrfs, ZFS, reflink, overlay or plain copy.
//
// Layout every backend presents (paths are absolute):
//   MainDataPath()            the writable "golden copy" PGDATA that retrieval fills
//   snapshot(name)            read-only, point-in-time image of main data
//   clone(name) -> path       writable copy of a snapshot; the clone's PGDATA
// Names are validated by the caller (^[a-zA-Z0-9][a-zA-Z0-9_.-]*$); backends re-check and
// refuse anything with a '/' or "..".
// Thread-safety: implementations must be safe to call from several threads for different names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // Path of the writable main data directory (exists after Pool::Prepare).
  virtual std::string MainDataPath() const = 0;
  // Makes a read-only snapshot of main data named `name`. kConflict if it exists.
  virtual Status CreateSnapshot(const std::string& name) = 0;
  // Makes a read-only snapshot named `name` of clone `clone`'s files; stop the clone's server
  // cleanly first. This is how physical retrieval offers its promoted, masked copy of the
  // replica. kConflict if it exists, kUnavailable where the backend cannot.
  virtual Status CreateSnapshotOfClone(const std::string& clone, const std::string& name) = 0;
  // Whether CreateSnapshotOfClone takes one atomic image, so a running server's files are
  // crash-consistent in it (btrfs); otherwise stop the server first.
  virtual bool SnapshotOfCloneIsAtomic() const { return false; }
  virtual bool CanSnapshotClones() const { return true; }
  virtual Status DestroySnapshot(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListSnapshots() = 0;
  // Path of a snapshot's files (read-only).
  virtual std::string SnapshotPath(const std::string& name) const = 0;
};

class CloneStore {
 public:
  virtual ~CloneStore() = default;
  // Makes a writable copy of snapshot `snapshot` named `clone`; returns its path.
  virtual Result<std::string> CreateClone(const std::string& snapshot,
                                          const std::string& clone) = 0;
  // Removes the clone's files. Succeeds if the clone does not exist.
  virtual Status DestroyClone(const std::string& clone) = 0;
  // Gives a clone's files a new name. The engine renames only clones whose server is stopped
  // (a reset moves the old data aside); on ZFS a running server makes it fail. kConflict if
  // `to` exists, kNotFound if `from` does not.
  virtual Status RenameClone(const std::string& from, const std::string& to) = 0;
  virtual Result<std::vector<std::string>> ListClones() = 0;
  virtual std::string ClonePath(const std::string& clone) const = 0;
};

struct StorageUsage {
  int64_t size = 0;
  int64_t free = 0;
  int64_t used = 0;
};

class UsageReporter {
 public:
  virtual ~UsageReporter() = default;
  virtual Result<StorageUsage> Usage() = 0;
  // Bytes only this clone (snapshot) holds, i.e. what destroying it would free: on a thin
  // backend its own writes, on the plain-copy backend all of it. May walk the files: for
  // periodic housekeeping, never for a request. kNotFound when it does not exist.
  virtual Result<int64_t> CloneOwnBytes(const std::string& clone) = 0;
  virtual Result<int64_t> SnapshotOwnBytes(const std::string& snapshot) = 0;
};

// One pool: all roles together, plus its identity.
class PoolBackend : public SnapshotStore, public CloneStore, public UsageReporter {
 public:
  virtual std::string Name() const = 0;  // pool name, e.g. "dblab_pool"
  virtual std::string Mode() const = 0;  // "btrfs", "zfs", "reflink", "overlay", "copy"
  virtual bool IsThin() const = 0;       // false for the plain-copy fallback
};

}  // namespace dblab
