// The one tree walker of the directory-based backends (copy, reflink, overlay): copies a PGDATA
// tree exactly (regular files, directories, symlinks, FIFOs; owner, group, mode, atime, mtime)
// with a per-file data strategy, protects finished snapshots against writes, and removes trees.
//
// Exactness matters: PostgreSQL refuses a data directory that is not owned by its user with mode
// 0700/0750, and a clone must start without crash recovery. Sockets are skipped (meaningless in
// a copy); block and character devices are refused. Hard links are copied as separate files
// (PGDATA has none). Extended attributes and ACLs are not copied.
//
// Ownership: functions work on paths given by the caller and keep no state.
// Thread-safety: safe to call concurrently on different trees. The source must not change while
// it is copied (main data is copied only after postgres stopped cleanly).
// Failure modes: kInternal naming the path, the failed call and errno; a failed copy leaves a
// partial destination that the caller removes (the pools copy into a temp name first). Owner
// changes need root (CAP_CHOWN) unless the files already belong to the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

enum class FileDataMethod {
  // copy_file_range (the kernel may share extents on XFS/btrfs), read/write where unsupported.
  kCopy,
  // FICLONE: per-file copy-on-write. Fails (kBadRequest) on a filesystem without reflinks
  // rather than silently copying: a "thin" pool must not fill the disk behind the user's back.
  kReflink,
};

struct TreeCopyOptions {
  FileDataMethod method = FileDataMethod::kCopy;
  // Sets FS_IMMUTABLE_FL on every copied file and directory below the top one (even root then
  // cannot write, rename or delete them without clearing the flag first). The top directory is
  // left writable so that the caller can rename it into place, then protect it with
  // SetImmutable. Filesystems without the flag (or a caller without CAP_LINUX_IMMUTABLE) are
  // tolerated: TreeCopyStats::protected_entries then stays 0.
  bool make_immutable = false;
  // Names in the top directory that are not copied, e.g. "postmaster.pid".
  std::vector<std::string> skip_top_level;
};

struct TreeCopyStats {
  int64_t files = 0;
  int64_t directories = 0;  // the top one included
  int64_t symlinks = 0;
  int64_t bytes = 0;              // regular file sizes
  int64_t protected_entries = 0;  // entries that got FS_IMMUTABLE_FL
};

// Copies the directory `source` to `destination`, which must not exist (kConflict otherwise);
// its parent must. Directory times are set after their contents, so they match the source.
Result<TreeCopyStats> CopyTree(const std::string& source, const std::string& destination,
                               const TreeCopyOptions& options);

// Sets or clears FS_IMMUTABLE_FL on one file or directory. Returns false (and changes nothing)
// when the filesystem or the caller's capabilities do not allow it; kInternal for other errors.
Result<bool> SetImmutable(const std::string& path, bool immutable);

// Removes `path` and everything below it, clearing FS_IMMUTABLE_FL where it is set. Succeeds
// when `path` does not exist. Never follows symlinks and never crosses into another mounted
// filesystem: a mount point below `path` is a kConflict ("unmount it first").
Status RemoveTree(const std::string& path);

// Bytes allocated on disk (st_blocks) by the files and directories below `path`, not crossing
// mount points. On a reflink filesystem shared extents count in full; see ExclusiveBytes.
// kNotFound when `path` does not exist.
Result<int64_t> AllocatedBytes(const std::string& path);

// True when `directory`'s filesystem clones files with FICLONE (XFS formatted with reflink=1,
// btrfs). Probes with two unnamed temp files (O_TMPFILE), so nothing visible is left behind.
Result<bool> SupportsReflink(const std::string& directory);

}  // namespace dblab
