#include "storage/tree/reflink_mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "storage/tree/tree_copy.h"

namespace dblab {
namespace {

constexpr int kLoopAttachAttempts = 50;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string ErrnoText(int error) { return std::strerror(error); }

Result<std::string> Canonical(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return Internal("cannot resolve " + path + ": " + ErrnoText(errno));
  }
  return std::string(resolved);
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

Result<bool> IsEmptyDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Internal("cannot list " + path + ": " + ErrnoText(errno));
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

// Attaches `image_path` to a free loop device with auto-clear. The returned descriptor keeps
// the device alive until the filesystem is mounted.
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
                      ErrnoText(errno) + "); detach unused ones or raise max_loop");
    }
    Fd loop = OpenLoopDevice(number);
    if (!loop.valid()) {
      last_error = errno;
    } else {
      loop_config config{};
      config.fd = static_cast<uint32_t>(image.get());
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image_path.c_str(),
                   LO_NAME_SIZE - 1);
      if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) {
        *device = "/dev/loop" + std::to_string(number);
        return loop;
      }
      last_error = errno;
    }
    // EBUSY: another process took the same free device between GET_FREE and CONFIGURE.
    if (last_error != EBUSY && last_error != ENXIO && last_error != ENOENT) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + attempt));
  }
  return Internal("cannot attach pool image " + image_path + " to a loop device: " +
                  ErrnoText(last_error) + "; check `losetup -a` for stale devices");
}

Status MountXfs(const std::string& device, const std::string& mount_path,
                const std::string& image_path) {
  if (::mount(device.c_str(), mount_path.c_str(), "xfs", MS_NOATIME, nullptr) != 0) {
    return Internal("cannot mount pool image " + image_path + " (" + device + ") as xfs on " +
                    mount_path + ": " + ErrnoText(errno) + "; see `dmesg` for the kernel's reason");
  }
  return OkStatus();
}

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
  DBLAB_ASSIGN_OR_RETURN(bool formatted, HasXfsSignature(canonical_image));
  if (!formatted) {
    // No -f: mkfs.xfs refuses to overwrite another filesystem's signature.
    DBLAB_TRY(
        RunChecked(runner, {"mkfs.xfs", "-q", "-m", "reflink=1", "-L", "dblab", canonical_image}));
  }

  MountedImage mounted{canonical_mount, canonical_image, "", true};
  // An image still attached (a crash between attach and mount) is reused: two loop devices on
  // one XFS would corrupt it.
  mounted.loop_device = FindLoopDeviceOf(canonical_image);
  if (!mounted.loop_device.empty()) {
    DBLAB_TRY(MountXfs(mounted.loop_device, canonical_mount, canonical_image));
  } else {
    DBLAB_ASSIGN_OR_RETURN(Fd loop, AttachLoopDevice(canonical_image, &mounted.loop_device));
    DBLAB_TRY(MountXfs(mounted.loop_device, canonical_mount, canonical_image));
  }
  auto clones = SupportsReflink(canonical_mount);
  if (!clones.ok() || !*clones) {
    (void)UnmountImage(mounted);
    return BadRequest("pool image " + canonical_image + " is XFS without reflinks (formatted " +
                      "without -m reflink=1); move it away so that dblab formats a new one");
  }
  return mounted;
}

}  // namespace dblab
