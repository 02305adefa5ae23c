#include "storage/btrfs/btrfs_pool.h"

#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "storage/extent_usage.h"

namespace dblab {
namespace {

// libbtrfsutil reports its own code and leaves the system's reason in errno.
std::string BtrfsErrorText(btrfs_util_error error, int saved_errno) {
  std::string text = btrfs_util_strerror(error);
  if (saved_errno != 0) text += std::string(": ") + std::strerror(saved_errno);
  return text;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsSubvolume(const std::string& path) {
  return btrfs_util_is_subvolume(path.c_str()) == BTRFS_UTIL_OK;
}

}  // namespace

BtrfsPool::BtrfsPool(std::string name, std::string root)
    : name_(std::move(name)), root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string BtrfsPool::MainDataPath() const { return root_ + "/data"; }
std::string BtrfsPool::SnapshotPath(const std::string& name) const {
  return root_ + "/snapshots/" + name;
}
std::string BtrfsPool::ClonePath(const std::string& clone) const {
  return root_ + "/clones/" + clone;
}

Status BtrfsPool::Prepare(uid_t owner, gid_t group) {
  struct statfs fs {};
  if (::statfs(root_.c_str(), &fs) != 0) {
    return Internal("cannot open pool " + name_ + " at " + root_ + ": " + std::strerror(errno) +
                    "; mount the pool first");
  }
  if (static_cast<uint64_t>(fs.f_type) != BTRFS_SUPER_MAGIC) {
    return BadRequest("pool " + name_ + " at " + root_ +
                      " is not on btrfs; mount a btrfs filesystem there or configure a pool "
                      "image");
  }
  DBLAB_TRY(MakeDirectory(root_ + "/snapshots"));
  DBLAB_TRY(MakeDirectory(root_ + "/clones"));

  const std::string data = MainDataPath();
  if (!PathExists(data)) {
    btrfs_util_error error = btrfs_util_create_subvolume(data.c_str(), 0, nullptr, nullptr);
    if (error != BTRFS_UTIL_OK && !(errno == EEXIST && IsSubvolume(data))) {
      return Internal("cannot create main data subvolume " + data + ": " +
                      BtrfsErrorText(error, errno));
    }
  } else if (!IsSubvolume(data)) {
    return BadRequest("main data " + data +
                      " is a plain directory, not a btrfs subvolume, so it cannot be "
                      "snapshotted; move it away and let dblab create the subvolume");
  }
  return SetMainDataOwner(data, owner, group);
}

Status BtrfsPool::CreateSnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  if (!IsSubvolume(MainDataPath())) {
    return Unavailable("pool " + name_ + " has no main data subvolume at " + MainDataPath() +
                       "; prepare the pool before taking snapshots");
  }
  return SnapshotSubvolume(MainDataPath(), name);
}

Status BtrfsPool::CreateSnapshotOfClone(const std::string& clone, const std::string& name) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  if (!IsSubvolume(ClonePath(clone))) {
    return NotFound("clone " + clone + " not found in pool " + name_);
  }
  return SnapshotSubvolume(ClonePath(clone), name);
}

Status BtrfsPool::SnapshotSubvolume(const std::string& data, const std::string& name) {
  const std::string path = SnapshotPath(name);
  if (PathExists(path)) {
    return Conflict("snapshot " + name + " already exists in pool " + name_ +
                    "; choose another name or destroy it first");
  }
  btrfs_util_error error = btrfs_util_create_snapshot(
      data.c_str(), path.c_str(), BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, nullptr, nullptr);
  if (error != BTRFS_UTIL_OK) {
    int saved_errno = errno;
    if (saved_errno == EEXIST) {
      return Conflict("snapshot " + name + " already exists in pool " + name_ +
                      "; choose another name or destroy it first");
    }
    return Internal("cannot snapshot " + data + " to " + path + ": " +
                    BtrfsErrorText(error, saved_errno));
  }
  return OkStatus();
}

Status BtrfsPool::DestroySnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  const std::string path = SnapshotPath(name);
  if (!PathExists(path)) {
    return NotFound("snapshot " + name + " not found in pool " + name_ + " (" + path + ")");
  }
  return DeleteSubvolume("snapshot", name, path);
}

Result<std::vector<std::string>> BtrfsPool::ListSnapshots() {
  return ListSubvolumes(root_ + "/snapshots");
}

Result<std::string> BtrfsPool::CreateClone(const std::string& snapshot, const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string source = SnapshotPath(snapshot);
  const std::string path = ClonePath(clone);
  if (!IsSubvolume(source)) {
    return NotFound("snapshot " + snapshot + " not found in pool " + name_ + " (" + source +
                    "); list the pool's snapshots and pick one");
  }
  if (PathExists(path)) {
    return Conflict("clone " + clone + " already exists in pool " + name_ + " (" + path +
                    "); choose another name or destroy it first");
  }
  btrfs_util_error error =
      btrfs_util_create_snapshot(source.c_str(), path.c_str(), 0, nullptr, nullptr);
  if (error != BTRFS_UTIL_OK) {
    int saved_errno = errno;
    if (saved_errno == EEXIST) {
      return Conflict("clone " + clone + " already exists in pool " + name_ +
                      "; choose another name or destroy it first");
    }
    return Internal("cannot create clone " + path + " from snapshot " + source + ": " +
                    BtrfsErrorText(error, saved_errno));
  }
  return path;
}

Status BtrfsPool::DestroyClone(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string path = ClonePath(clone);
  if (!PathExists(path)) return OkStatus();
  return DeleteSubvolume("clone", clone, path);
}

Status BtrfsPool::RenameClone(const std::string& from, const std::string& to) {
  DBLAB_TRY(ValidateStorageName("clone", from));
  DBLAB_TRY(ValidateStorageName("clone", to));
  if (!PathExists(ClonePath(from))) return NotFound("clone storage " + from + " does not exist");
  // renameat2 with RENAME_NOREPLACE: never replace another clone's files.
  if (renameat2(AT_FDCWD, ClonePath(from).c_str(), AT_FDCWD, ClonePath(to).c_str(),
                RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return Conflict("clone storage " + to + " already exists");
    return Internal("cannot rename clone " + from + " to " + to + ": " + strerror(errno));
  }
  return OkStatus();
}

Result<std::vector<std::string>> BtrfsPool::ListClones() {
  return ListSubvolumes(root_ + "/clones");
}

Result<int64_t> BtrfsPool::CloneOwnBytes(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  return ExclusiveBytes(ClonePath(clone));
}

Result<int64_t> BtrfsPool::SnapshotOwnBytes(const std::string& snapshot) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  return ExclusiveBytes(SnapshotPath(snapshot));
}

Result<StorageUsage> BtrfsPool::Usage() {
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

Status BtrfsPool::DeleteSubvolume(const std::string& kind, const std::string& name,
                                  const std::string& path) {
  if (!IsSubvolume(path)) {
    return Internal(kind + " " + name + " in pool " + name_ + " (" + path +
                    ") is not a btrfs subvolume; it was not made by dblab: inspect and remove "
                    "it by hand");
  }
  btrfs_util_error error =
      btrfs_util_delete_subvolume(path.c_str(), BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE);
  if (error != BTRFS_UTIL_OK && (errno == EPERM || errno == EROFS || errno == EACCES)) {
    // Some kernels refuse to delete a read-only subvolume: make it writable, then retry.
    btrfs_util_set_subvolume_read_only(path.c_str(), false);
    error = btrfs_util_delete_subvolume(path.c_str(), BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE);
  }
  if (error != BTRFS_UTIL_OK) {
    int saved_errno = errno;
    if (saved_errno == ENOENT) return OkStatus();  // deleted concurrently
    return Internal("cannot delete " + kind + " " + name + " (" + path +
                    "): " + BtrfsErrorText(error, saved_errno) +
                    (saved_errno == EBUSY ? "; stop processes using it and retry" : ""));
  }
  return OkStatus();
}

Result<std::vector<std::string>> BtrfsPool::ListSubvolumes(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return std::vector<std::string>{};  // not prepared yet: nothing there
    return Internal("cannot list " + directory + " in pool " + name_ + ": " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (IsSubvolume(directory + "/" + name)) names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace dblab
