// A btrfs filesystem for a pool: either one that is already mounted (a host btrfs volume), or a
// sparse image file that dblab formats, attaches to a loop device and mounts itself.
//
// Ownership: the kernel owns the mount and the loop device, not this process. Loop devices are
// attached with LO_FLAGS_AUTOCLEAR, so they disappear on unmount; a mount outlives the engine on
// purpose (clones keep running across engine restarts) until UnmountImage is called.
// Thread-safety: all functions are safe to call concurrently for different mount paths and
// images (loop attach retries when another process grabs the same free device).
// Failure modes: every error names the path and the failed call, and says what to do. These
// functions need root (CAP_SYS_ADMIN) for mount and loop ioctls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/process.h"

namespace dblab {

struct MountedImage {
  std::string mount_path;   // canonical absolute path of the btrfs mount (the pool root)
  std::string image_path;   // the backing image file; empty when not on a loop device
  std::string loop_device;  // e.g. "/dev/loop3"; empty when not on a loop device
  // True when EnsureBtrfsMount attached and mounted the image itself; only then does
  // UnmountImage unmount anything.
  bool owned = false;
};

// Makes `mount_path` a btrfs filesystem and returns how.
// - Already btrfs (a mount point, a subvolume, or a non-empty directory on btrfs): used as is
//   (owned=false); the image is neither created nor touched.
// - Otherwise, with `mount_path` missing or an empty directory: creates `image_path` (sparse,
//   0600, `image_size_bytes`) if absent, formats it with mkfs.btrfs (through `runner`) only if it
//   carries no btrfs signature (an existing image keeps its data), attaches it to a free loop
//   device (auto-clear) and mounts it on `mount_path` (created with its parents).
// Errors: kBadRequest when `mount_path` is a non-btrfs mount point or a non-empty non-btrfs
// directory, or when no image is configured for a non-btrfs path; kInternal for OS failures.
Result<MountedImage> EnsureBtrfsMount(ProcessRunner& runner, const std::string& mount_path,
                                      const std::string& image_path, int64_t image_size_bytes);

// Undoes an owned EnsureBtrfsMount: unmounts, then detaches the loop device if auto-clear did
// not. A no-op for owned=false. kConflict when the mount is busy (a clone still running there).
Status UnmountImage(const MountedImage& image);

// --- Building blocks, public for tests and for reconciling at start. ---

// Offset of the primary btrfs superblock magic "_BHRfS_M" in a device or image.
inline constexpr int64_t kBtrfsMagicOffset = 0x10040;

// True when the file or block device at `path` carries the btrfs superblock magic.
Result<bool> HasBtrfsSignature(const std::string& path);

struct MountEntry {
  std::string mount_point;
  std::string fs_type;
  std::string source;  // e.g. "/dev/loop3"
};

// Parses one line of /proc/<pid>/mountinfo (octal escapes such as "\040" decoded); nullopt when
// the line is malformed.
std::optional<MountEntry> ParseMountInfoLine(const std::string& line);

// The topmost mount whose mount point is exactly `path` (canonical) in /proc/self/mountinfo.
Result<std::optional<MountEntry>> FindMount(const std::string& path);

// The backing file of a loop device ("/dev/loop3"), from sysfs; empty when detached.
std::string LoopBackingFile(const std::string& loop_device);

// The loop device (e.g. "/dev/loop3") already backed by `canonical_image`, or empty.
std::string FindLoopDeviceOf(const std::string& canonical_image);

// Creates `image_path` (and its parent directories) as a sparse 0600 file of `size_bytes`;
// succeeds when it appears concurrently.
Status CreateSparseImage(const std::string& image_path, int64_t size_bytes);

// How to recognize and make the filesystem of a pool image.
struct ImageFormat {
  std::string fs_type;            // for mount(2): "btrfs", "xfs"
  std::vector<std::string> mkfs;  // argv, the image path is appended; never with a force flag
  std::function<Result<bool>(const std::string&)> has_signature;
  std::string mount_options;  // data for mount(2), e.g. "nodatacow"
};

// The image part of EnsureBtrfsMount, for any filesystem: creates `image_path` if absent
// (sparse, image_size_bytes), formats it unless it carries the format's signature, attaches it
// to a loop device (auto-clear) unless one already backs it, and mounts it on
// `canonical_mount`. Returns owned=true.
Result<MountedImage> MountOwnImage(ProcessRunner& runner, const std::string& canonical_mount,
                                   const std::string& image_path, int64_t image_size_bytes,
                                   const ImageFormat& format);

// Small filesystem helpers shared by the pools' setup code; errors name the path.
Status MakeDirectories(const std::string& path);
Result<std::string> Canonical(const std::string& path);  // realpath(3)
Result<bool> IsEmptyDirectory(const std::string& path);

}  // namespace dblab
