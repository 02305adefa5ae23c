// A pool on ZFS, DLE's production model: one zpool, main data is a dataset, snapshots are ZFS
// snapshots of it and clones are `zfs clone`s, so both cost one metadata write whatever the
// database size. Everything goes through the `zpool`/`zfs` CLI (argv only, `-H -p` output), so
// kernel ZFS (zfsutils-linux) and zfs-fuse work alike. Layout, for pool "dblab_pool" mounted at
// pool_path:
//   dblab_pool/data            pool_path/data: main data (PGDATA), owner postgres, mode 0700
//   dblab_pool/data@<name>     snapshots; files under pool_path/data/.zfs/snapshot/<name> where
//                              the implementation has a .zfs directory (kernel ZFS; not zfs-fuse)
//   dblab_pool/clones/<name>   pool_path/clones/<name>: a clone's PGDATA (owner and mode come
//                              from the snapshot; nothing is ever chowned)
// zfs-fuse mounts every dataset as its own FUSE filesystem with allow_other, so the postgres
// OS user works on them like on a local disk (PostgreSQL 15 runs there, fsync and all).
// Ownership: ZFS owns all state; a ZfsPool holds names, paths and a ProcessRunner, and may be
// recreated at any time over an existing pool. Imported pools and mounts outlive the process on
// purpose (clones survive engine restarts); with zfs-fuse they live as long as its daemon.
// Thread-safety: safe for concurrent calls on different names (each call is one or a few CLI
// runs; ZFS serializes them); racing calls on one name get kConflict or kNotFound.
// Failure modes: kBadRequest for invalid names and unusable pool paths; kConflict for existing
// names, for a snapshot that still has clones and for datasets that stay busy; kNotFound for
// missing snapshots/clones; kUnavailable when ZFS is not usable (no zfs CLI, kernel module not
// loaded, zfs-fuse daemon not running) and for renaming a clone that a running server uses;
// kInternal (with the command and its stderr) for other failures. Needs root.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/process.h"
#include "storage/backend.h"
#include "storage/factory.h"

namespace dblab {

// Opens the ZFS pool `spec.pool_name` mounted at `spec.pool_path`, importing or creating it
// first when needed, then prepares it (see ZfsPool::Prepare):
// - imported: used as is; its root must be mounted at pool_path (kBadRequest otherwise);
// - not imported, `spec.image_path` set and present: `zpool import -d <image dir> <name>`;
// - not imported, image missing: creates the sparse image (0600, image_size_bytes, at least
//   64 MiB) and runs `zpool create -m <pool_path> <name> <image>`;
// - not imported, no image configured: `zpool import <name>` (pools on real disks).
// `runner` is used during the call only; the pool runs its commands through its own
// PosixProcessRunner.
Result<std::unique_ptr<PoolBackend>> MakeZfsPool(const PoolSpec& spec, ProcessRunner& runner);

// The same with one shared runner for setup and for the pool's lifetime (tests inject fakes).
Result<std::unique_ptr<PoolBackend>> MakeZfsPool(const PoolSpec& spec,
                                                 std::shared_ptr<ProcessRunner> runner);

class ZfsPool : public PoolBackend {
 public:
  // `pool_name` is an imported zpool whose root dataset is mounted at `pool_path` (absolute).
  // Nothing runs until Prepare or another call.
  ZfsPool(std::string pool_name, std::string pool_path, std::shared_ptr<ProcessRunner> runner);

  // Creates <pool>/data and <pool>/clones if missing, checks that they are mounted where
  // MainDataPath/ClonePath say, mounts them, the root and every clone when not mounted (after
  // an import or a daemon restart), and makes main data's top directory owned by
  // `owner`:`group`, mode 0700. Idempotent; keeps existing data.
  Status Prepare(uid_t owner, gid_t group);

  // How often (and how long apart) a destroy or rename is retried while ZFS says the dataset is
  // busy: zfs-fuse holds a just-unmounted dataset for a moment. Tests shorten it.
  void SetBusyRetry(int attempts, std::chrono::milliseconds delay,
                    std::function<void(std::chrono::milliseconds)> sleep = nullptr);

  std::string Name() const override { return pool_name_; }
  std::string Mode() const override { return "zfs"; }
  bool IsThin() const override { return true; }

  std::string MainDataPath() const override;
  // The caller makes main data consistent first (postgres stopped cleanly or checkpointed).
  Status CreateSnapshot(const std::string& name) override;
  bool CanSnapshotClones() const override { return false; }
  // kUnavailable: a ZFS snapshot belongs to its dataset, and snapshots here are of main data.
  Status CreateSnapshotOfClone(const std::string& clone, const std::string& name) override {
    return Unavailable("the zfs backend cannot snapshot clone " + clone + " as " + name +
                       " yet (physical retrieval needs btrfs, reflink, overlay or copy)");
  }
  // kNotFound if missing; kConflict (naming them) while clones of it exist: a ZFS clone
  // depends on its origin snapshot.
  Status DestroySnapshot(const std::string& name) override;
  Result<std::vector<std::string>> ListSnapshots() override;  // sorted
  // <pool_path>/data/.zfs/snapshot/<name>: readable on kernel ZFS; zfs-fuse has no .zfs
  // directory, so there the path does not exist (read a clone instead).
  std::string SnapshotPath(const std::string& name) const override;

  Result<std::string> CreateClone(const std::string& snapshot, const std::string& clone) override;
  // `zfs unmount` + `zfs destroy -r` (the clone's own snapshots go too), retried while busy;
  // kConflict when it stays busy. Stop the clone's postgres first.
  Status DestroyClone(const std::string& clone) override;
  // `zfs unmount`, `zfs rename`, `zfs mount`. A server running on the clone keeps it busy: then
  // kUnavailable and nothing changes (the engine renames only stopped clones). A failed rename
  // remounts the clone as it was.
  Status RenameClone(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListClones() override;  // sorted
  std::string ClonePath(const std::string& clone) const override;

  // `used` and `available` of the pool's root dataset: size = used + available.
  Result<StorageUsage> Usage() override;
  // `used` of the clone (its own writes) or snapshot (blocks only it still references).
  Result<int64_t> CloneOwnBytes(const std::string& clone) override;
  Result<int64_t> SnapshotOwnBytes(const std::string& snapshot) override;

 private:
  std::string DataDataset() const { return pool_name_ + "/data"; }
  std::string ClonesDataset() const { return pool_name_ + "/clones"; }
  std::string SnapshotDataset(const std::string& name) const;
  std::string CloneDataset(const std::string& clone) const;
  Result<RunResult> Zfs(const std::vector<std::string>& args);
  Result<int64_t> UsedBytes(const std::string& kind, const std::string& name,
                            const std::string& dataset);
  // Runs `zfs <args>`, retrying while ZFS says the dataset is busy.
  Result<RunResult> RunWhileBusy(const std::vector<std::string>& args);
  // `zfs unmount`; "not currently mounted" counts as success.
  Result<RunResult> Unmount(const std::string& dataset);
  void SleepBeforeRetry();

  std::string pool_name_;
  std::string pool_path_;
  std::shared_ptr<ProcessRunner> runner_;
  int busy_attempts_ = 100;
  std::chrono::milliseconds busy_delay_{50};
  std::function<void(std::chrono::milliseconds)> sleep_;
};

// --- Building blocks, public for tests. ---

// What a failed zfs/zpool command said, from its stderr (libzfs messages are stable across
// kernel ZFS and zfs-fuse).
enum class ZfsFailure {
  kOther,
  kNotFound,        // "dataset does not exist", "could not find any snapshots", "no such pool"
  kExists,          // "dataset already exists"
  kBusy,            // "dataset is busy", "Device or resource busy", "umount failed"
  kHasClones,       // "snapshot has dependent clones"
  kAlreadyMounted,  // "filesystem already mounted"
  kNotMounted,      // "not currently mounted"
  kZfsUnusable,     // module not loaded, zfs-fuse daemon not running
};
ZfsFailure ClassifyZfsFailure(const std::string& stderr_text);

// Parses `zfs get -Hp -o value <prop>` output: one non-negative integer.
Result<int64_t> ParseZfsInteger(const std::string& output);

// Names of `zfs list -H -o name` output lines that start with `prefix`, with the prefix removed,
// keeping only direct children (no further '/' or '@'), sorted.
std::vector<std::string> ParseChildNames(const std::string& output, const std::string& prefix);

// Parses `zfs get -Hp -o property,value used,available` output.
Result<StorageUsage> ParseZfsUsage(const std::string& output);

}  // namespace dblab
