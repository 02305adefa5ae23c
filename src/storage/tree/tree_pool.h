// Pools made of plain directories, for hosts without btrfs or ZFS. Layout under the pool root:
//   data/              main data (PGDATA), owned by the postgres OS user, mode 0700
//   snapshots/<name>   a copy of data/ (without postmaster.pid), written under a temp name
//                      (".tmp-...") and renamed into place, so a half-made snapshot is never
//                      listed; every file and directory in it carries FS_IMMUTABLE_FL, so even
//                      root cannot change it by accident (mode bits do not stop root). Destroying
//                      clears the flags. On filesystems without the flag only modes protect it.
//   clones/<name>      a copy of a snapshot: the clone's PGDATA, made the same way; owner, mode
//                      and times come from the snapshot, nothing is chowned afterwards.
// Entries starting with '.' are work in progress (".tmp-") or being deleted (".trash-"); valid
// names never start with '.', Prepare removes leftovers of a crash.
//
// Two modes share this code and differ in how a file's data is copied (storage/tree/tree_copy.h):
// - "copy": copy_file_range; works on any filesystem; not thin (a clone costs a full copy).
// - "reflink": FICLONE, per-file copy-on-write on XFS (reflink=1) or btrfs; thin. Prepare
//   refuses other filesystems. On XFS, Prepare sets a 4 KiB copy-on-write extent size hint on
//   the pool directories (inherited by new files) so a small write does not copy a large extent.
// RenameClone is one rename(2) of the clone's directory: a postgres running on it keeps working
// (its cwd is the directory itself and it uses relative paths).
//
// Ownership: the filesystem holds all state; a TreePool holds paths and may be recreated over an
// existing pool at any time.
// Thread-safety: safe for concurrent calls on different names; racing calls on one name are
// settled by renameat2(RENAME_NOREPLACE) (the loser gets kConflict).
// Failure modes: kBadRequest for invalid names or an unusable filesystem, kConflict for existing
// names, kNotFound for missing snapshots, kUnavailable before Prepare, kInternal (path, call and
// errno) for filesystem failures. Needs root for chown and the immutable flag.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/process.h"
#include "storage/backend.h"
#include "storage/factory.h"
#include "storage/tree/tree_copy.h"

namespace dblab {

class TreePool : public PoolBackend {
 public:
  // `mode` is "copy" (FileDataMethod::kCopy) or "reflink" (kReflink); `root` is absolute.
  // Nothing is touched until Prepare or another call.
  TreePool(std::string name, std::string root, std::string mode, FileDataMethod method);

  // Creates snapshots/, clones/ and data/ if missing, makes data/ owned by `owner`:`group` with
  // mode 0700 (the top directory only) and removes leftovers of interrupted operations.
  // Idempotent. kBadRequest when the root is missing, or (reflink) has no reflinks.
  virtual Status Prepare(uid_t owner, gid_t group);

  std::string Name() const override { return name_; }
  std::string Mode() const override { return mode_; }
  bool IsThin() const override { return method_ == FileDataMethod::kReflink; }
  const std::string& Root() const { return root_; }

  std::string MainDataPath() const override;
  // Copies main data; the caller stopped postgres cleanly first. Proportional to the number of
  // files (reflink) or to the data size (copy).
  Status CreateSnapshot(const std::string& name) override;
  // Copies the clone's files like CreateSnapshot copies main data.
  Status CreateSnapshotOfClone(const std::string& clone, const std::string& name) override;
  // kNotFound if missing. Clones are independent copies and stay intact.
  Status DestroySnapshot(const std::string& name) override;
  Result<std::vector<std::string>> ListSnapshots() override;  // sorted
  std::string SnapshotPath(const std::string& name) const override;

  Result<std::string> CreateClone(const std::string& snapshot, const std::string& clone) override;
  // Stop the clone's postgres first.
  Status DestroyClone(const std::string& clone) override;
  Status RenameClone(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListClones() override;  // sorted
  std::string ClonePath(const std::string& clone) const override;

  // statvfs of the pool root.
  Result<StorageUsage> Usage() override;
  // reflink: extents no other file shares (storage/extent_usage.h); copy: all allocated blocks.
  Result<int64_t> CloneOwnBytes(const std::string& clone) override;
  Result<int64_t> SnapshotOwnBytes(const std::string& snapshot) override;

 protected:
  // A unique hidden name in `directory` for a tree being made (".tmp-") or deleted (".trash-").
  static std::string WorkPath(const std::string& directory, const std::string& kind,
                              const std::string& name);
  // Directories in `directory` with valid names (hidden work entries skipped), sorted.
  Result<std::vector<std::string>> ListDirectories(const std::string& directory) const;
  // Removes ".tmp-*" and ".trash-*" entries of `directory`.
  Status RemoveLeftovers(const std::string& directory) const;
  // Moves `path` aside under a ".trash-" name (so it is no longer listed), then removes it.
  Status RemoveAtomically(const std::string& directory, const std::string& name) const;
  // Bytes destroying the tree at `path` would free: exclusive extents when data is shared
  // through reflinks, allocated blocks otherwise.
  Result<int64_t> OwnBytes(const std::string& path) const;

  // Copies `data` into a new snapshot `name` (through a hidden work name, then a rename).
  Status SnapshotTree(const std::string& data, const std::string& name, FileDataMethod method);
  // Copies `source` under a hidden work name beside `path`, then renames it to `path` (never
  // over an existing one: kConflict naming the `kind` and `name`); `context` prefixes errors.
  Result<TreeCopyStats> CopyAndPublish(const std::string& source, const std::string& kind,
                                       const std::string& name, const std::string& path,
                                       const TreeCopyOptions& options, const std::string& context);
  // How a clone's files are copied into a snapshot (overlay: read through the mount, copied).
  virtual FileDataMethod CloneSnapshotMethod() const { return snapshot_method_; }

  // How snapshot files are copied from main data, and whether snapshots get FS_IMMUTABLE_FL.
  FileDataMethod snapshot_method_;
  bool protect_snapshots_ = true;

 private:
  std::string name_;
  std::string root_;
  std::string mode_;
  FileDataMethod method_;
};

// Opens a "copy" pool at spec.pool_path (created if missing; any filesystem; no image is ever
// made, spec.image_path is ignored) and prepares it.
Result<std::unique_ptr<PoolBackend>> MakeCopyPool(const PoolSpec& spec, ProcessRunner& runner);

// Opens a "reflink" pool: spec.pool_path when its filesystem has reflinks, otherwise an XFS
// image (spec.image_path, spec.image_size_bytes) formatted with reflink=1 and loop-mounted there
// (see storage/tree/reflink_mount.h); then prepares it.
Result<std::unique_ptr<PoolBackend>> MakeReflinkPool(const PoolSpec& spec, ProcessRunner& runner);

}  // namespace dblab
