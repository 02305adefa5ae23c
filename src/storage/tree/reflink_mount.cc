#include "storage/tree/reflink_mount.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "platform/fd.h"
#include "storage/tree/tree_copy.h"

namespace dblab {
namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

Result<bool> HasXfsSignature(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Internal("cannot open " + path + ": " + ErrnoText(errno));
  char buffer[sizeof(kXfsMagic) - 1];
  ssize_t n = ::pread(fd.get(), buffer, sizeof(buffer), 0);
  if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
  return n == static_cast<ssize_t>(sizeof(buffer)) &&
         std::memcmp(buffer, kXfsMagic, sizeof(buffer)) == 0;
}

Result<MountedImage> EnsureReflinkMount(ProcessRunner& runner, const std::string& mount_path,
                                        const std::string& image_path, int64_t image_size_bytes,
                                        bool require_reflink) {
  if (mount_path.empty() || mount_path.front() != '/') {
    return BadRequest("pool path \"" + mount_path + "\" must be an absolute path");
  }
  if (!image_path.empty() && image_path.front() != '/') {
    return BadRequest("pool image path \"" + image_path + "\" must be an absolute path");
  }
  DBLAB_TRY(MakeDirectories(mount_path));
  DBLAB_ASSIGN_OR_RETURN(std::string canonical_mount, Canonical(mount_path));
  DBLAB_ASSIGN_OR_RETURN(bool reflink, SupportsReflink(canonical_mount));
  DBLAB_ASSIGN_OR_RETURN(std::optional<MountEntry> mount, FindMount(canonical_mount));
  MountedImage existing{canonical_mount, "", "", false};
  if (mount && mount->source.rfind("/dev/loop", 0) == 0) {
    existing.loop_device = mount->source;
    existing.image_path = LoopBackingFile(mount->source);
  }
  if (reflink || (!require_reflink && image_path.empty())) return existing;

  const std::string why = "pool directory " + canonical_mount + " is on a filesystem without " +
                          "reflinks (FICLONE fails there)";
  if (mount.has_value()) {
    return BadRequest(why + " and is a mount point of " + mount->fs_type + " (" + mount->source +
                      "); unmount it, or point the pool at an empty directory or at XFS " +
                      "formatted with `mkfs.xfs -m reflink=1` or btrfs");
  }
  DBLAB_ASSIGN_OR_RETURN(bool empty, IsEmptyDirectory(canonical_mount));
  if (!empty) {
    return BadRequest(why + " and is not empty; empty it so that dblab can mount its own XFS " +
                      "image there, or point the pool at XFS (reflink=1) or btrfs");
  }
  if (image_path.empty()) {
    return BadRequest(why + " and no pool image is configured; configure an image path or " +
                      "mount XFS formatted with `mkfs.xfs -m reflink=1` (or btrfs) there");
  }

  // No -f: mkfs.xfs refuses to overwrite another filesystem's signature.
  DBLAB_ASSIGN_OR_RETURN(
      MountedImage mounted,
      MountOwnImage(
          runner, canonical_mount, image_path, image_size_bytes,
          ImageFormat{
              "xfs", {"mkfs.xfs", "-q", "-m", "reflink=1", "-L", "dblab"}, HasXfsSignature}));
  auto clones = SupportsReflink(canonical_mount);
  if (!clones.ok() || !*clones) {
    (void)UnmountImage(mounted);
    return BadRequest("pool image " + mounted.image_path + " is XFS without reflinks (formatted " +
                      "without -m reflink=1); move it away so that dblab formats a new one");
  }
  return mounted;
}

}  // namespace dblab
