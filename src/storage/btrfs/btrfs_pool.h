// A pool on a btrfs filesystem: main data, snapshots and clones are subvolumes, so a snapshot or
// a clone costs one ioctl whatever the database size. Layout under the pool root:
//   data/              main data (PGDATA), owned by the postgres OS user, mode 0700
//   snapshots/<name>   read-only snapshots of data/
//   clones/<name>      writable snapshots of a snapshot: the clone's PGDATA (owner and mode come
//                      from the snapshot; nothing is ever chowned)
// Ownership: the filesystem owns everything; a BtrfsPool holds only paths and may be recreated
// at any time over an existing pool (state lives in the subvolumes themselves).
// Thread-safety: safe for concurrent calls on different names; racing calls on the same name
// are serialized by the kernel (the loser gets kConflict or kNotFound).
// Failure modes: kBadRequest for invalid names, kConflict for existing names, kNotFound for
// missing snapshots, kUnavailable before Prepare, kInternal (with the path and errno text) for
// filesystem failures. Needs root (CAP_SYS_ADMIN) to delete subvolumes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "storage/backend.h"
#include "storage/pool_files.h"

namespace dblab {

class BtrfsPool : public PoolBackend {
 public:
  // `root` is an absolute path on a btrfs filesystem (see EnsureBtrfsMount). Nothing is touched
  // until Prepare or another call.
  BtrfsPool(std::string name, std::string root);

  // Creates snapshots/, clones/ and the data/ subvolume if missing, and makes data/ owned by
  // `owner`:`group` with mode 0700 (only the top directory; retrieval writes as the owner).
  // Idempotent. kBadRequest if the root is not on btrfs or data/ is a plain directory.
  Status Prepare(uid_t owner, gid_t group);

  std::string Name() const override { return name_; }
  std::string Mode() const override { return "btrfs"; }
  bool IsThin() const override { return true; }
  const std::string& Root() const { return root_; }

  std::string MainDataPath() const override;
  // The caller makes main data consistent first (postgres stopped cleanly or checkpointed).
  Status CreateSnapshot(const std::string& name) override;
  Status CreateSnapshotOfClone(const std::string& clone, const std::string& name) override;
  bool SnapshotOfCloneIsAtomic() const override { return true; }
  // kNotFound if missing. Clones made from it are independent subvolumes and stay intact.
  Status DestroySnapshot(const std::string& name) override;
  Result<std::vector<std::string>> ListSnapshots() override;  // sorted
  std::string SnapshotPath(const std::string& name) const override;

  Result<std::string> CreateClone(const std::string& snapshot, const std::string& clone) override;
  // Also deletes subvolumes nested inside the clone. Stop the clone's postgres first.
  Status DestroyClone(const std::string& clone) override;
  Status RenameClone(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListClones() override;  // sorted
  std::string ClonePath(const std::string& clone) const override;

  // statvfs of the pool root (btrfs estimates free space; shared extents count once).
  Result<StorageUsage> Usage() override;
  // Extents no other subvolume shares (FIEMAP, see storage/extent_usage.h).
  Result<int64_t> CloneOwnBytes(const std::string& clone) override;
  Result<int64_t> SnapshotOwnBytes(const std::string& snapshot) override;

 private:
  // Read-only snapshot of the subvolume at `data` as snapshot `name`.
  Status SnapshotSubvolume(const std::string& data, const std::string& name);
  Status DeleteSubvolume(const std::string& kind, const std::string& name, const std::string& path);
  Result<std::vector<std::string>> ListSubvolumes(const std::string& directory);

  std::string name_;
  std::string root_;
};

}  // namespace dblab
