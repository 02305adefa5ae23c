#include "storage/tree/tree_pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "storage/extent_usage.h"
#include "storage/pool_files.h"
#include "storage/tree/reflink_mount.h"

namespace dblab {
namespace {

constexpr char kPostmasterPid[] = "postmaster.pid";
constexpr uint32_t kCowExtentSizeBytes = 4096;

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// XFS copies a whole copy-on-write extent (default 32 blocks) on the first write to a shared
// block; a 4 KiB hint on a directory is inherited by files created in it afterwards.
void SetCowExtentSize(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  struct fsxattr attributes {};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &attributes) == 0) {
    attributes.fsx_xflags |= FS_XFLAG_COWEXTSIZE;
    attributes.fsx_cowextsize = kCowExtentSizeBytes;
    ::ioctl(fd, FS_IOC_FSSETXATTR, &attributes);  // a hint: older kernels may refuse it
  }
  ::close(fd);
}

}  // namespace

TreePool::TreePool(std::string name, std::string root, std::string mode, FileDataMethod method)
    : snapshot_method_(method),
      name_(std::move(name)),
      root_(std::move(root)),
      mode_(std::move(mode)),
      method_(method) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string TreePool::MainDataPath() const { return root_ + "/data"; }
std::string TreePool::SnapshotPath(const std::string& name) const {
  return root_ + "/snapshots/" + name;
}
std::string TreePool::ClonePath(const std::string& clone) const {
  return root_ + "/clones/" + clone;
}

Status TreePool::Prepare(uid_t owner, gid_t group) {
  struct statfs fs {};
  if (::statfs(root_.c_str(), &fs) != 0) {
    return BadRequest("cannot open pool " + name_ + " at " + root_ + ": " + std::strerror(errno) +
                      "; create the pool directory first");
  }
  if (method_ == FileDataMethod::kReflink || snapshot_method_ == FileDataMethod::kReflink) {
    DBLAB_ASSIGN_OR_RETURN(bool reflink, SupportsReflink(root_));
    if (!reflink) {
      return BadRequest("pool " + name_ + " at " + root_ +
                        " is on a filesystem without reflinks; use XFS formatted with "
                        "`mkfs.xfs -m reflink=1` or btrfs, or configure a pool image");
    }
  }
  const bool xfs = static_cast<uint64_t>(fs.f_type) == XFS_SUPER_MAGIC;
  if (xfs) SetCowExtentSize(root_);
  for (const char* directory : {"/snapshots", "/clones"}) {
    DBLAB_TRY(MakeDirectory(root_ + directory));
    if (xfs) SetCowExtentSize(root_ + directory);
    DBLAB_TRY(RemoveLeftovers(root_ + directory));
  }
  const std::string data = MainDataPath();
  if (::mkdir(data.c_str(), 0700) != 0 && errno != EEXIST) {
    return Internal("cannot create main data directory " + data + ": " + std::strerror(errno));
  }
  if (!IsDirectory(data)) {
    return BadRequest("main data " + data + " is not a directory; move it away");
  }
  if (xfs) SetCowExtentSize(data);
  return SetMainDataOwner(data, owner, group);
}

Status TreePool::CreateSnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  if (!IsDirectory(MainDataPath()) || !IsDirectory(root_ + "/snapshots")) {
    return Unavailable("pool " + name_ + " has no main data at " + MainDataPath() +
                       "; prepare the pool before taking snapshots");
  }
  return SnapshotTree(MainDataPath(), name, snapshot_method_);
}

Status TreePool::CreateSnapshotOfClone(const std::string& clone, const std::string& name) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  if (!IsDirectory(ClonePath(clone))) return NotFound("clone " + clone + " not found");
  return SnapshotTree(ClonePath(clone), name, CloneSnapshotMethod());
}

Status TreePool::SnapshotTree(const std::string& data, const std::string& name,
                              FileDataMethod method) {
  const std::string path = SnapshotPath(name);
  if (PathExists(path)) {
    return Conflict("snapshot " + name + " already exists in pool " + name_ +
                    "; choose another name or destroy it first");
  }
  TreeCopyOptions options;
  options.method = method;
  options.make_immutable = protect_snapshots_;
  options.skip_top_level = {kPostmasterPid};
  DBLAB_ASSIGN_OR_RETURN(TreeCopyStats copied,
                         CopyAndPublish(data, "snapshot", name, path, options,
                                        "snapshot " + data + " of pool " + name_ + " as " + name));
  if (protect_snapshots_ && copied.protected_entries > 0) {
    auto protect = SetImmutable(path, true);
    if (!protect.ok()) return protect.error().Wrap("protect snapshot " + name);
  }
  return OkStatus();
}

Status TreePool::DestroySnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  const std::string path = SnapshotPath(name);
  if (!PathExists(path)) {
    return NotFound("snapshot " + name + " not found in pool " + name_ + " (" + path + ")");
  }
  return RemoveAtomically(root_ + "/snapshots", name);
}

Result<std::vector<std::string>> TreePool::ListSnapshots() {
  return ListDirectories(root_ + "/snapshots");
}

Result<std::string> TreePool::CreateClone(const std::string& snapshot, const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string source = SnapshotPath(snapshot);
  const std::string path = ClonePath(clone);
  if (!IsDirectory(source)) {
    return NotFound("snapshot " + snapshot + " not found in pool " + name_ + " (" + source +
                    "); list the pool's snapshots and pick one");
  }
  if (PathExists(path)) {
    return Conflict("clone " + clone + " already exists in pool " + name_ + " (" + path +
                    "); choose another name or destroy it first");
  }
  TreeCopyOptions options;
  options.method = method_;
  options.skip_top_level = {kPostmasterPid};
  DBLAB_TRY(CopyAndPublish(source, "clone", clone, path, options,
                           "create clone " + clone + " from snapshot " + snapshot));
  return path;
}

Result<TreeCopyStats> TreePool::CopyAndPublish(const std::string& source, const std::string& kind,
                                               const std::string& name, const std::string& path,
                                               const TreeCopyOptions& options,
                                               const std::string& context) {
  const std::string directory = path.substr(0, path.rfind('/'));
  const std::string work = WorkPath(directory, ".tmp-", name);
  auto copied = CopyTree(source, work, options);
  if (!copied.ok()) {
    (void)RemoveTree(work);
    return copied.error().Wrap(context);
  }
  if (::renameat2(AT_FDCWD, work.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    int error = errno;
    (void)RemoveTree(work);
    if (error == EEXIST) {
      return Conflict(kind + " " + name + " already exists in pool " + name_ +
                      "; choose another name or destroy it first");
    }
    return Internal("cannot rename " + work + " to " + path + ": " + std::strerror(error));
  }
  return copied;
}

Status TreePool::DestroyClone(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  if (!PathExists(ClonePath(clone))) return OkStatus();
  return RemoveAtomically(root_ + "/clones", clone);
}

Status TreePool::RenameClone(const std::string& from, const std::string& to) {
  DBLAB_TRY(ValidateStorageName("clone", from));
  DBLAB_TRY(ValidateStorageName("clone", to));
  if (!PathExists(ClonePath(from))) return NotFound("clone storage " + from + " does not exist");
  if (::renameat2(AT_FDCWD, ClonePath(from).c_str(), AT_FDCWD, ClonePath(to).c_str(),
                  RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return Conflict("clone storage " + to + " already exists");
    if (errno == ENOENT) return NotFound("clone storage " + from + " does not exist");
    return Internal("cannot rename clone " + from + " to " + to + ": " + std::strerror(errno));
  }
  return OkStatus();
}

Result<std::vector<std::string>> TreePool::ListClones() {
  return ListDirectories(root_ + "/clones");
}

Result<StorageUsage> TreePool::Usage() {
  struct statvfs vfs {};
  if (::statvfs(root_.c_str(), &vfs) != 0) {
    return Internal("cannot read usage of pool " + name_ + " at " + root_ + ": " +
                    std::strerror(errno));
  }
  const auto block = static_cast<int64_t>(vfs.f_frsize);
  StorageUsage usage;
  usage.size = static_cast<int64_t>(vfs.f_blocks) * block;
  usage.free = static_cast<int64_t>(vfs.f_bavail) * block;
  usage.used = static_cast<int64_t>(vfs.f_blocks - vfs.f_bfree) * block;
  return usage;
}

Result<int64_t> TreePool::CloneOwnBytes(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  if (!IsDirectory(ClonePath(clone))) {
    return NotFound("clone " + clone + " not found in pool " + name_);
  }
  return OwnBytes(ClonePath(clone));
}

Result<int64_t> TreePool::SnapshotOwnBytes(const std::string& snapshot) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  if (!IsDirectory(SnapshotPath(snapshot))) {
    return NotFound("snapshot " + snapshot + " not found in pool " + name_);
  }
  return OwnBytes(SnapshotPath(snapshot));
}

std::string TreePool::WorkPath(const std::string& directory, const std::string& kind,
                               const std::string& name) {
  static std::atomic<uint64_t> counter{0};
  return directory + "/" + kind + name + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

Result<std::vector<std::string>> TreePool::ListDirectories(const std::string& directory) const {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return std::vector<std::string>{};  // not prepared yet: nothing there
    return Internal("cannot list " + directory + " in pool " + name_ + ": " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.empty() || name.front() == '.') continue;  // ".", "..", work in progress
    if (IsDirectory(directory + "/" + name)) names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Status TreePool::RemoveLeftovers(const std::string& directory) const {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return OkStatus();
  std::vector<std::string> leftovers;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind(".tmp-", 0) == 0 || name.rfind(".trash-", 0) == 0) {
      leftovers.push_back(directory + "/" + name);
    }
  }
  ::closedir(dir);
  for (const std::string& path : leftovers) {
    auto removed = RemoveTree(path);
    if (!removed.ok()) return removed.error().Wrap("remove leftover of pool " + name_);
  }
  return OkStatus();
}

Status TreePool::RemoveAtomically(const std::string& directory, const std::string& name) const {
  const std::string path = directory + "/" + name;
  (void)SetImmutable(path, false);  // an immutable directory cannot be renamed
  const std::string trash = WorkPath(directory, ".trash-", name);
  if (::rename(path.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return OkStatus();  // removed concurrently
    return Internal("cannot move " + path + " aside to delete it: " + std::strerror(errno));
  }
  auto removed = RemoveTree(trash);
  if (!removed.ok()) {
    return removed.error().Wrap(name + " is no longer listed in pool " + name_ +
                                ", but its files remain (removed at the next start)");
  }
  return OkStatus();
}

Result<int64_t> TreePool::OwnBytes(const std::string& path) const {
  if (method_ == FileDataMethod::kReflink || snapshot_method_ == FileDataMethod::kReflink) {
    return ExclusiveBytes(path);
  }
  return AllocatedBytes(path);
}

Result<std::unique_ptr<PoolBackend>> MakeCopyPool(const PoolSpec& spec, ProcessRunner& runner) {
  (void)runner;  // a copy pool needs no external program
  if (spec.pool_path.empty() || spec.pool_path.front() != '/') {
    return BadRequest("pool path \"" + spec.pool_path + "\" must be an absolute path");
  }
  std::error_code error;
  std::filesystem::create_directories(spec.pool_path, error);
  if (error) {
    return Internal("cannot create pool directory " + spec.pool_path + ": " + error.message());
  }
  auto pool =
      std::make_unique<TreePool>(spec.pool_name, spec.pool_path, "copy", FileDataMethod::kCopy);
  DBLAB_TRY(pool->Prepare(spec.data_owner_uid, spec.data_owner_gid));
  return std::unique_ptr<PoolBackend>(std::move(pool));
}

Result<std::unique_ptr<PoolBackend>> MakeReflinkPool(const PoolSpec& spec, ProcessRunner& runner) {
  DBLAB_ASSIGN_OR_RETURN(MountedImage mounted,
                         EnsureReflinkMount(runner, spec.pool_path, spec.image_path,
                                            spec.image_size_bytes, /*require_reflink=*/true));
  auto pool = std::make_unique<TreePool>(spec.pool_name, mounted.mount_path, "reflink",
                                         FileDataMethod::kReflink);
  DBLAB_TRY(pool->Prepare(spec.data_owner_uid, spec.data_owner_gid));
  return std::unique_ptr<PoolBackend>(std::move(pool));
}

}  // namespace dblab
