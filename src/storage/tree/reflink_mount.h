// A filesystem with reflinks for the reflink and overlay pools: the pool directory as it is when
// its filesystem already clones files (XFS with reflink=1, btrfs), otherwise a sparse image file
// that dblab formats as XFS (`mkfs.xfs -m reflink=1`), attaches to a loop device and mounts.
// Mirrors EnsureBtrfsMount (storage/btrfs/loop_image.h) and returns the same MountedImage, so
// UnmountImage from there undoes it.
//
// Ownership: the kernel owns the mount and the loop device (auto-clear): the mount outlives the
// engine on purpose, so that clones keep running across engine restarts.
// Thread-safety: safe for different mount paths and images (loop attach retries on races).
// Failure modes: kBadRequest for a path that cannot become a pool (a non-reflink mount point or
// non-empty directory, no image configured, an image holding another filesystem); kInternal for
// OS failures, naming the path and the call. Mounting needs root.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "platform/process.h"
#include "storage/btrfs/loop_image.h"

namespace dblab {

// Offset and value of the XFS superblock magic ("XFSB" at the start of the device).
inline constexpr char kXfsMagic[] = "XFSB";

// True when the file or block device at `path` starts with the XFS superblock magic.
Result<bool> HasXfsSignature(const std::string& path);

// Makes `mount_path` usable as a pool and returns how:
// - its filesystem clones files: used as is (owned=false);
// - else, when `require_reflink` is false and no image is configured: used as is (the overlay
//   pool works on any filesystem that can hold an overlay upper layer, e.g. ext4);
// - else, when `mount_path` is missing or an empty directory (not a mount point) and
//   `image_path` is set: creates the image (sparse, 0600, `image_size_bytes`) if absent,
//   formats it with `mkfs.xfs -m reflink=1` (through `runner`) unless it already carries an XFS
//   signature, attaches it to a loop device, mounts it (owned=true) and checks that it clones.
Result<MountedImage> EnsureReflinkMount(ProcessRunner& runner, const std::string& mount_path,
                                        const std::string& image_path, int64_t image_size_bytes,
                                        bool require_reflink);

}  // namespace dblab
