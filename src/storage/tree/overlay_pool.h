// A pool whose clones are overlayfs mounts over plain-directory snapshots. Layout:
//   data/                 main data, as in every pool
//   snapshots/<name>      a copy of data/ (reflinked when the filesystem can, else copied):
//                         the immutable lower layer of its clones. Not protected by
//                         FS_IMMUTABLE_FL: overlayfs passes that flag on to the merged files
//                         (the clone would become read-only), so only modes protect it.
//   layers/<clone>/upper  the clone's own writes (owner and mode of its top directory copied from
//                         the snapshot, since overlayfs shows them for the merged root)
//   layers/<clone>/work   overlayfs' work directory
//   layers/<clone>/snapshot  the snapshot name, to mount the clone again after a reboot
//   clones/               a private bind mount of itself (mount --move refuses to move a mount
//                         whose parent mount is shared, as / is under systemd)
//   clones/<clone>        the overlayfs mount: the clone's PGDATA
// layers/ is the truth: ListClones lists it, and Prepare mounts every clone that is not mounted
// (after a reboot). RenameClone moves the mount (MS_MOVE) and renames the layer directory, so a
// postgres running on the clone keeps working and its cwd shows the new path.
//
// Mount options: redirect_dir=on so that renaming a directory that came from the snapshot works
// (PostgreSQL renames directories, e.g. replication slots on drop; without it rename(2) gives
// EXDEV); index=off and metacopy=off (no hard links in PGDATA; a write copies the data anyway).
// fsync on the merged files reaches the upper files. A file is copied up whole on its first
// write: cheap with reflinks (XFS/btrfs pools: copy-up clones the file), expensive on ext4 for
// 1 GB segment files, hence "for small data" there.
//
// Ownership, thread-safety, failure modes: as TreePool. Mount failures are kInternal with the
// kernel's errno; a busy clone on destroy is kConflict. Needs root (mount).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/tree/tree_pool.h"

namespace dblab {

// The overlayfs mount data for one clone. Paths must not contain ',' ':' or '\\' (Prepare
// refuses such pool roots; names cannot contain them).
std::string OverlayMountOptions(const std::string& lower, const std::string& upper,
                                const std::string& work);

class OverlayPool : public TreePool {
 public:
  OverlayPool(std::string name, std::string root);

  // TreePool::Prepare, then layers/, the private clones/ mount, and a mount for every clone
  // whose overlay is not mounted. Snapshots are reflinked when the root supports it.
  Status Prepare(uid_t owner, gid_t group) override;

  bool IsThin() const override { return true; }

  // kConflict while clones use it (they need their lower layer).
  Status DestroySnapshot(const std::string& name) override;

  Result<std::string> CreateClone(const std::string& snapshot, const std::string& clone) override;
  // A clone is an overlay mount: its merged files are copied, not reflinked.
  FileDataMethod CloneSnapshotMethod() const override { return FileDataMethod::kCopy; }
  // Unmounts (kConflict when busy: stop the clone's postgres first) and removes the layers.
  Status DestroyClone(const std::string& clone) override;
  Status RenameClone(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListClones() override;  // sorted
  // Bytes of the upper layer (exclusive extents when copy-up reflinks).
  Result<int64_t> CloneOwnBytes(const std::string& clone) override;

  // Clones of `snapshot` (read from the layers' records), sorted.
  Result<std::vector<std::string>> ClonesOf(const std::string& snapshot) const;

 private:
  std::string LayerPath(const std::string& clone) const;
  Status EnsurePrivateClonesMount();
  Status MountClone(const std::string& clone);
  Result<bool> IsOverlayMounted(const std::string& path) const;
};

// Opens an "overlay" pool at spec.pool_path: used as is on any filesystem that can hold an
// overlay upper layer; when spec.image_path is set and the path is an empty directory without
// reflinks, an XFS image with reflinks is mounted there first (copy-up then clones instead of
// copying). Prepares the pool and mounts its clones.
Result<std::unique_ptr<PoolBackend>> MakeOverlayPool(const PoolSpec& spec, ProcessRunner& runner);

}  // namespace dblab
