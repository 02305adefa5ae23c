#pragma once

// The write-ahead log of clones outside the pool.
//
// On a pool that lives in a loop-mounted image, every commit's WAL flush goes through two
// filesystems: btrfs writes its log tree and superblock, the loop device turns each flush into an
// fsync of the image file, and the host filesystem journals the blocks it allocates for the
// image. That made commits in a clone about twice as slow as on the host's own filesystem. With
// a WAL directory per clone on the host filesystem (the clone's pg_wal is a symlink to it, as
// `initdb -X` makes), commits cost what they cost on the host, while the data files stay thin
// copy-on-write copies of the snapshot.
//
// A clone's WAL directory starts with the WAL its snapshot needs (the segments whose pages are
// valid for their position, copied up to the end of the valid pages; of the segment holding the
// redo point in pg_control, only its first page and the pages from the redo point
// on, the rest a hole) and goes away with the clone. A snapshot of a clone gets its WAL back
// inside (Internalize) while the server is stopped.
// The engine never follows a clone's pg_wal symlink: the clone's superuser can change it.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace dblab {

class CloneWal {
 public:
  // `root` holds one directory per clone storage name; "" keeps WAL inside the clones.
  CloneWal(std::string root, uid_t owner_uid, gid_t owner_gid);

  bool enabled() const { return !root_.empty(); }
  const std::string& root() const { return root_; }

  // The WAL directory of clone storage `name` (its sandbox binds it writable).
  std::string Dir(const std::string& name) const;

  // Moves the WAL of the stopped clone at `data_dir` out: Dir(name) is emptied, gets copies of
  // the WAL the server needs, and `data_dir`/pg_wal becomes a symlink to it.
  Status Externalize(const std::string& data_dir, const std::string& name) const;

  // Replaces the symlink `data_dir`/pg_wal by a real directory with copies of Dir(name)'s WAL,
  // so a snapshot of the stopped clone is whole. False when pg_wal is a directory already (a
  // clone made with the WAL inside): nothing to do, and nothing to relink.
  Result<bool> Internalize(const std::string& data_dir, const std::string& name) const;

  // Whether the clone at `data_dir` has its WAL outside (pg_wal is a symlink).
  bool IsOutside(const std::string& data_dir) const;

  // After Internalize and the snapshot: pg_wal points at Dir(name) again (its WAL is unchanged).
  Status Relink(const std::string& data_dir, const std::string& name) const;

  Status Remove(const std::string& name) const;

  // Removes the WAL directories of storage names not in `keep` (clones removed while the engine
  // was down, or an interrupted create).
  void RemoveOrphans(const std::vector<std::string>& keep) const;

  // Bytes allocated to Dir(name) and what is in it (symlinks not followed); 0 when absent.
  int64_t Bytes(const std::string& name) const;
  // Size and free bytes of the filesystem holding root().
  Result<std::pair<int64_t, int64_t>> FilesystemSpace() const;

 private:
  std::string root_;
  uid_t owner_uid_;
  gid_t owner_gid_;
};

// How much of the WAL segment in `bytes` (named `file_name`) holds pages written for its
// position: 0 for a recycled or never-written segment, else the length of the run of valid pages
// from its start. Pure, for tests.
size_t ValidWalPrefix(const std::string& file_name, const char* bytes, size_t size);

// A clone's superuser decides how much WAL its server keeps (max_wal_size, wal_keep_size, a
// replication slot, or files written into pg_wal), and with the WAL outside the pool that is
// space on the host's filesystem. The guard stops the servers that hold too much.
struct WalGuardLimits {
  int64_t max_per_clone = 0;  // bytes; 0 = no per-clone limit
  int64_t fs_size = 0;        // the filesystem holding the WAL directories
  int64_t fs_free = 0;
};
struct WalHolder {
  std::string clone_id;
  int64_t bytes = 0;
};
struct WalStop {
  std::string clone_id;
  std::string reason;
};
// Clones to stop: each over the per-clone limit; and when the filesystem's free space is under
// its reserve (2 GiB or 5% of it, whichever is less), the largest holder of more than 64 MiB not
// already stopped. Pure, for tests.
std::vector<WalStop> DecideWalStops(const std::vector<WalHolder>& holders,
                                    const WalGuardLimits& limits);

}  // namespace dblab
