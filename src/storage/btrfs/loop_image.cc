#include "storage/btrfs/loop_image.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "platform/fd.h"

namespace dblab {

// Data written in place, as on ext4 or XFS: PostgreSQL's full-page writes already guard against
// torn pages, and btrfs metadata stays copy-on-write (the pool is crash-safe, snapshots stay
// thin: the first write to a block shared with a snapshot is still a copy). Copy-on-write data
// with checksums made every checkpoint write a new extent plus checksum and extent-tree updates
// (issue 16). Applies to files created after the mount.
constexpr const char* kBtrfsImageMountOptions = "nodatacow";
namespace {

constexpr char kBtrfsMagic[] = "_BHRfS_M";
constexpr int kLoopAttachAttempts = 50;
constexpr ino_t kBtrfsSubvolumeRootInode = 256;  // BTRFS_FIRST_FREE_OBJECTID

std::string ErrnoText(int error) { return std::strerror(error); }

std::string FsTypeName(int64_t magic) {
  switch (static_cast<uint64_t>(magic)) {
    case EXT4_SUPER_MAGIC:
      return "ext4";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case PROC_SUPER_MAGIC:
      return "proc";
    case NFS_SUPER_MAGIC:
      return "nfs";
    default: {
      std::ostringstream out;
      out << "filesystem type 0x" << std::hex << static_cast<uint64_t>(magic);
      return out.str();
    }
  }
}

std::string DecodeMountInfoField(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

Result<bool> IsEmptyDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return Internal("cannot list " + path + ": " + ErrnoText(errno));
  }
  bool empty = true;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty;
}

Status MakeDirectories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return Internal("cannot create directory " + path + ": " + error.message() +
                    "; check the parent's permissions and free space");
  }
  return OkStatus();
}

Result<std::string> Canonical(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return Internal("cannot resolve " + path + ": " + ErrnoText(errno));
  }
  return std::string(resolved);
}

// The loop device (e.g. "/dev/loop3") already backed by `image`, or empty.
std::string FindLoopDeviceOf(const std::string& canonical_image) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/block", error)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("loop", 0) != 0) continue;
    std::string device = "/dev/" + name;
    if (LoopBackingFile(device) == canonical_image) return device;
  }
  return "";
}

Status CreateSparseImage(const std::string& image_path, int64_t size_bytes) {
  if (size_bytes <= 0) {
    return BadRequest("cannot create pool image " + image_path + ": size " +
                      std::to_string(size_bytes) + " bytes is not positive; set the image size");
  }
  std::string parent = std::filesystem::path(image_path).parent_path().string();
  if (!parent.empty()) DBLAB_TRY(MakeDirectories(parent));
  Fd fd(::open(image_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST) return OkStatus();  // created concurrently: use it
    return Internal("cannot create pool image " + image_path + ": " + ErrnoText(errno));
  }
  if (::ftruncate(fd.get(), size_bytes) != 0) {
    int error = errno;
    ::unlink(image_path.c_str());
    return Internal("cannot size pool image " + image_path + " to " + std::to_string(size_bytes) +
                    " bytes: " + ErrnoText(error));
  }
  return OkStatus();
}

namespace {

// Opens /dev/loopN, creating the node if devtmpfs has not (containers with a static /dev).
Fd OpenLoopDevice(int number) {
  std::string device = "/dev/loop" + std::to_string(number);
  Fd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) {
    ::mknod(device.c_str(), S_IFBLK | 0600, makedev(7, number));
    fd = Fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  }
  return fd;
}

// Binds `image_fd` to `loop_fd` with auto-clear. Returns 0 or an errno value.
int ConfigureLoop(int loop_fd, int image_fd, const std::string& image_path) {
  loop_config config{};
  config.fd = static_cast<uint32_t>(image_fd);
  config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
  std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image_path.c_str(),
               LO_NAME_SIZE - 1);
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
  if (errno != EINVAL && errno != ENOTTY) return errno;
  // Kernels before 5.8 lack LOOP_CONFIGURE: bind, then set the flags.
  if (::ioctl(loop_fd, LOOP_SET_FD, image_fd) != 0) return errno;
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &config.info) != 0) {
    int error = errno;
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    return error;
  }
  return 0;
}

// Attaches `image_path` to a free loop device. The returned descriptor keeps the device alive
// until the filesystem is mounted; closing it with nothing mounted detaches the device.
Result<Fd> AttachLoopDevice(const std::string& image_path, std::string* device) {
  Fd image(::open(image_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!image.valid()) {
    return Internal("cannot open pool image " + image_path + ": " + ErrnoText(errno));
  }
  Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) {
    return Internal("cannot open /dev/loop-control to attach " + image_path + ": " +
                    ErrnoText(errno) + "; run as root with the loop module loaded");
  }
  int last_error = 0;
  for (int attempt = 0; attempt < kLoopAttachAttempts; ++attempt) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) {
      return Internal("no free loop device for " + image_path + " (LOOP_CTL_GET_FREE: " +
                      ErrnoText(errno) + "); detach unused ones (losetup -D) or raise max_loop");
    }
    Fd loop = OpenLoopDevice(number);
    if (!loop.valid()) {
      last_error = errno;
    } else {
      last_error = ConfigureLoop(loop.get(), image.get(), image_path);
      if (last_error == 0) {
        *device = "/dev/loop" + std::to_string(number);
        return loop;
      }
    }
    // EBUSY: another process took the same free device between GET_FREE and CONFIGURE.
    if (last_error != EBUSY && last_error != ENXIO && last_error != ENOENT) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + attempt));
  }
  return Internal("cannot attach pool image " + image_path + " to a loop device: " +
                  ErrnoText(last_error) + "; check `losetup -a` for stale devices");
}

Status Mount(const std::string& device, const std::string& mount_path,
             const std::string& image_path, const std::string& fs_type,
             const std::string& options) {
  if (::mount(device.c_str(), mount_path.c_str(), fs_type.c_str(), MS_NOATIME,
              options.empty() ? nullptr : options.c_str()) != 0) {
    return Internal("cannot mount pool image " + image_path + " (" + device + ") as " + fs_type +
                    " on " + mount_path + ": " + ErrnoText(errno) +
                    "; see `dmesg` for the kernel's reason");
  }
  return OkStatus();
}

bool IsMountedAnywhere(const std::string& source) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto entry = ParseMountInfoLine(line);
    if (entry && entry->source == source) return true;
  }
  return false;
}

}  // namespace

Result<bool> HasBtrfsSignature(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Internal("cannot open " + path + ": " + ErrnoText(errno));
  char buffer[sizeof(kBtrfsMagic) - 1];
  ssize_t n = ::pread(fd.get(), buffer, sizeof(buffer), kBtrfsMagicOffset);
  if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
  return n == static_cast<ssize_t>(sizeof(buffer)) &&
         std::memcmp(buffer, kBtrfsMagic, sizeof(buffer)) == 0;
}

std::optional<MountEntry> ParseMountInfoLine(const std::string& line) {
  // id parent major:minor root mount_point options [optional...] - fs_type source super_options
  std::istringstream in(line);
  std::vector<std::string> fields;
  std::string field;
  while (in >> field) fields.push_back(field);
  size_t separator = 0;
  for (size_t i = 6; i < fields.size(); ++i) {
    if (fields[i] == "-") {
      separator = i;
      break;
    }
  }
  if (separator == 0 || separator + 2 >= fields.size()) return std::nullopt;
  return MountEntry{DecodeMountInfoField(fields[4]), DecodeMountInfoField(fields[separator + 1]),
                    DecodeMountInfoField(fields[separator + 2])};
}

Result<std::optional<MountEntry>> FindMount(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Internal("cannot read /proc/self/mountinfo: " + ErrnoText(errno));
  std::optional<MountEntry> found;
  std::string line;
  while (std::getline(in, line)) {
    auto entry = ParseMountInfoLine(line);
    if (entry && entry->mount_point == path) found = std::move(entry);  // the last one is on top
  }
  return found;
}

std::string LoopBackingFile(const std::string& loop_device) {
  std::string name = std::filesystem::path(loop_device).filename().string();
  std::ifstream in("/sys/block/" + name + "/loop/backing_file");
  std::string backing;
  std::getline(in, backing);
  return backing;
}

Result<MountedImage> EnsureBtrfsMount(ProcessRunner& runner, const std::string& mount_path,
                                      const std::string& image_path, int64_t image_size_bytes) {
  if (mount_path.empty() || mount_path.front() != '/') {
    return BadRequest("pool mount path \"" + mount_path + "\" must be an absolute path");
  }
  if (!image_path.empty() && image_path.front() != '/') {
    return BadRequest("pool image path \"" + image_path + "\" must be an absolute path");
  }
  DBLAB_TRY(MakeDirectories(mount_path));
  DBLAB_ASSIGN_OR_RETURN(std::string canonical_mount, Canonical(mount_path));

  struct statfs fs {};
  if (::statfs(canonical_mount.c_str(), &fs) != 0) {
    return Internal("cannot statfs pool directory " + canonical_mount + ": " + ErrnoText(errno));
  }
  DBLAB_ASSIGN_OR_RETURN(std::optional<MountEntry> mount, FindMount(canonical_mount));
  DBLAB_ASSIGN_OR_RETURN(bool empty, IsEmptyDirectory(canonical_mount));
  struct stat mount_stat {};
  if (::stat(canonical_mount.c_str(), &mount_stat) != 0) {
    return Internal("cannot stat pool directory " + canonical_mount + ": " + ErrnoText(errno));
  }
  const bool is_btrfs = static_cast<uint64_t>(fs.f_type) == BTRFS_SUPER_MAGIC;
  const bool is_subvolume = is_btrfs && mount_stat.st_ino == kBtrfsSubvolumeRootInode;
  const std::string fs_name = FsTypeName(fs.f_type);

  if (is_btrfs && (mount.has_value() || is_subvolume || !empty || image_path.empty())) {
    MountedImage existing{canonical_mount, "", "", false};
    if (mount && mount->source.rfind("/dev/loop", 0) == 0) {
      existing.loop_device = mount->source;
      existing.image_path = LoopBackingFile(mount->source);
    }
    return existing;
  }
  if (mount.has_value()) {
    return BadRequest("pool directory " + canonical_mount + " is a mount point of " + fs_name +
                      " (" + mount->source + "), not btrfs; unmount it or point the pool at " +
                      "an empty directory or an existing btrfs mount");
  }
  if (!empty) {
    return BadRequest("pool directory " + canonical_mount + " is on " + fs_name +
                      " and not empty; empty it, or point the pool at an empty directory or an " +
                      "existing btrfs mount");
  }
  if (image_path.empty()) {
    return BadRequest("pool directory " + canonical_mount + " is on " + fs_name +
                      ", not btrfs, and no pool image is configured; configure an image path " +
                      "or mount a btrfs filesystem there");
  }

  // No -f: mkfs.btrfs refuses to overwrite another filesystem's signature, which is what we
  // want for a file that is not ours.
  return MountOwnImage(runner, canonical_mount, image_path, image_size_bytes,
                       ImageFormat{"btrfs",
                                   {"mkfs.btrfs", "-q", "-L", "dblab"},
                                   HasBtrfsSignature,
                                   kBtrfsImageMountOptions});
}

Result<MountedImage> MountOwnImage(ProcessRunner& runner, const std::string& canonical_mount,
                                   const std::string& image_path, int64_t image_size_bytes,
                                   const ImageFormat& format) {
  struct stat image_stat {};
  if (::stat(image_path.c_str(), &image_stat) != 0) {
    if (errno != ENOENT) {
      return Internal("cannot stat pool image " + image_path + ": " + ErrnoText(errno));
    }
    DBLAB_TRY(CreateSparseImage(image_path, image_size_bytes));
  } else if (!S_ISREG(image_stat.st_mode)) {
    return BadRequest("pool image " + image_path + " exists but is not a regular file");
  }
  DBLAB_ASSIGN_OR_RETURN(std::string canonical_image, Canonical(image_path));
  DBLAB_ASSIGN_OR_RETURN(bool formatted, format.has_signature(canonical_image));
  if (!formatted) {
    std::vector<std::string> mkfs = format.mkfs;
    mkfs.push_back(canonical_image);
    DBLAB_TRY(RunChecked(runner, mkfs));
  }

  MountedImage mounted{canonical_mount, canonical_image, "", true};
  // An image still attached (say, the engine died between attach and mount, or it is mounted
  // elsewhere) is reused: a second loop device on the same filesystem would corrupt it.
  mounted.loop_device = FindLoopDeviceOf(canonical_image);
  if (!mounted.loop_device.empty()) {
    DBLAB_TRY(Mount(mounted.loop_device, canonical_mount, canonical_image, format.fs_type,
                    format.mount_options));
    return mounted;
  }
  DBLAB_ASSIGN_OR_RETURN(Fd loop, AttachLoopDevice(canonical_image, &mounted.loop_device));
  DBLAB_TRY(Mount(mounted.loop_device, canonical_mount, canonical_image, format.fs_type,
                  format.mount_options));
  return mounted;  // closing `loop` leaves the mount as the device's only user (auto-clear)
}

Status UnmountImage(const MountedImage& image) {
  if (!image.owned) return OkStatus();
  if (::umount2(image.mount_path.c_str(), UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    if (errno == EBUSY) {
      return Conflict("cannot unmount pool " + image.mount_path +
                      ": it is busy; stop the clones running from it (see `fuser -vm " +
                      image.mount_path + "`) and retry");
    }
    return Internal("cannot unmount pool " + image.mount_path + ": " + ErrnoText(errno));
  }
  std::string device = image.loop_device;
  if (device.empty() && !image.image_path.empty()) device = FindLoopDeviceOf(image.image_path);
  if (device.empty()) return OkStatus();
  // Auto-clear detaches on the last close; give the kernel a moment before doing it by hand.
  for (int i = 0; i < 100 && LoopBackingFile(device) == image.image_path; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (LoopBackingFile(device) != image.image_path || IsMountedAnywhere(device)) {
    return OkStatus();
  }
  Fd loop(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (loop.valid() && ::ioctl(loop.get(), LOOP_CLR_FD, 0) != 0 && errno != ENXIO) {
    return Internal("unmounted pool " + image.mount_path + " but cannot detach " + device +
                    " from " + image.image_path + ": " + ErrnoText(errno) + "; run `losetup -d " +
                    device + "`");
  }
  return OkStatus();
}

}  // namespace dblab
