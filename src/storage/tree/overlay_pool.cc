#include "storage/tree/overlay_pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include "platform/files.h"
#include "storage/btrfs/loop_image.h"
#include "storage/pool_files.h"
#include "storage/tree/reflink_mount.h"

namespace dblab {
namespace {

constexpr char kSnapshotRecord[] = "snapshot";

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ErrnoText(int error) { return std::strerror(error); }

std::string ReadRecord(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

}  // namespace

std::string OverlayMountOptions(const std::string& lower, const std::string& upper,
                                const std::string& work) {
  return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work +
         ",redirect_dir=on,index=off,metacopy=off";
}

OverlayPool::OverlayPool(std::string name, std::string root)
    : TreePool(std::move(name), std::move(root), "overlay", FileDataMethod::kCopy) {
  protect_snapshots_ = false;  // FS_IMMUTABLE_FL on a lower file makes the merged file read-only
}

std::string OverlayPool::LayerPath(const std::string& clone) const {
  return Root() + "/layers/" + clone;
}

Status OverlayPool::Prepare(uid_t owner, gid_t group) {
  if (Root().find_first_of(",:\\") != std::string::npos) {
    return BadRequest("overlay pool path " + Root() +
                      " contains ',', ':' or '\\', which overlayfs mount options cannot carry; "
                      "choose another path");
  }
  if (!PathExists(Root())) {
    return BadRequest("cannot open pool " + Name() + " at " + Root() +
                      ": it does not exist; create the pool directory first");
  }
  DBLAB_ASSIGN_OR_RETURN(bool reflink, SupportsReflink(Root()));
  snapshot_method_ = reflink ? FileDataMethod::kReflink : FileDataMethod::kCopy;
  DBLAB_TRY(TreePool::Prepare(owner, group));
  DBLAB_TRY(MakeDirectory(Root() + "/layers", 0755));
  DBLAB_TRY(RemoveLeftovers(Root() + "/layers"));
  DBLAB_TRY(EnsurePrivateClonesMount());

  DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> clones, ListClones());
  for (const std::string& clone : clones) {
    DBLAB_ASSIGN_OR_RETURN(bool mounted, IsOverlayMounted(ClonePath(clone)));
    if (mounted) continue;
    auto status = MountClone(clone);
    if (!status.ok()) return status.error().Wrap("mount clone " + clone + " of pool " + Name());
  }
  // Mount points left by an interrupted create or rename: empty, unmounted, without a layer.
  DIR* dir = ::opendir((Root() + "/clones").c_str());
  if (dir != nullptr) {
    std::vector<std::string> stale;
    while (dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (!std::binary_search(clones.begin(), clones.end(), name)) stale.push_back(name);
    }
    ::closedir(dir);
    for (const std::string& name : stale) ::rmdir(ClonePath(name).c_str());  // only if empty
  }
  return OkStatus();
}

Status OverlayPool::EnsurePrivateClonesMount() {
  const std::string clones = Root() + "/clones";
  DBLAB_ASSIGN_OR_RETURN(std::optional<MountEntry> mount, FindMount(clones));
  if (!mount.has_value() &&
      ::mount(clones.c_str(), clones.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return Internal("cannot bind-mount " + clones + " on itself: " + ErrnoText(errno) +
                    "; the overlay pool needs root (CAP_SYS_ADMIN)");
  }
  if (::mount(nullptr, clones.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return Internal("cannot make " + clones + " a private mount: " + ErrnoText(errno));
  }
  return OkStatus();
}

Result<bool> OverlayPool::IsOverlayMounted(const std::string& path) const {
  DBLAB_ASSIGN_OR_RETURN(std::optional<MountEntry> mount, FindMount(path));
  return mount.has_value() && mount->fs_type == "overlay";
}

Status OverlayPool::MountClone(const std::string& clone) {
  const std::string layer = LayerPath(clone);
  const std::string snapshot = ReadRecord(layer + "/" + kSnapshotRecord);
  auto valid = ValidateStorageName("snapshot", snapshot);
  if (!valid.ok()) {
    return Internal("clone " + clone + " has no valid snapshot record in " + layer + "/" +
                    kSnapshotRecord + " (" + valid.error().message + "); destroy the clone");
  }
  const std::string lower = SnapshotPath(snapshot);
  if (!PathExists(lower)) {
    return Internal("snapshot " + snapshot + " under clone " + clone + " is missing (" + lower +
                    "); destroy the clone");
  }
  const std::string path = ClonePath(clone);
  DBLAB_TRY(MakeDirectory(path, 0755));
  const std::string options = OverlayMountOptions(lower, layer + "/upper", layer + "/work");
  if (::mount("overlay", path.c_str(), "overlay", 0, options.c_str()) != 0) {
    int error = errno;
    ::rmdir(path.c_str());
    return Internal("cannot mount overlay for clone " + clone + " on " + path + " (" + options +
                    "): " + ErrnoText(error) +
                    "; the pool's filesystem must support overlay upper layers with trusted "
                    "xattrs (ext4, XFS, btrfs; not overlayfs itself), see `dmesg`");
  }
  return OkStatus();
}

Status OverlayPool::DestroySnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  if (!PathExists(SnapshotPath(name))) {
    return NotFound("snapshot " + name + " not found in pool " + Name() + " (" +
                    SnapshotPath(name) + ")");
  }
  DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> clones, ClonesOf(name));
  if (!clones.empty()) {
    std::string list;
    for (const auto& clone : clones) list += (list.empty() ? "" : ", ") + clone;
    return Conflict("snapshot " + name + " is the lower layer of clones " + list +
                    "; destroy them first");
  }
  return TreePool::DestroySnapshot(name);
}

Result<std::vector<std::string>> OverlayPool::ClonesOf(const std::string& snapshot) const {
  DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> clones, ListDirectories(Root() + "/layers"));
  std::vector<std::string> users;
  for (const auto& clone : clones) {
    if (ReadRecord(LayerPath(clone) + "/" + kSnapshotRecord) == snapshot) users.push_back(clone);
  }
  return users;
}

Result<std::string> OverlayPool::CreateClone(const std::string& snapshot,
                                             const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string source = SnapshotPath(snapshot);
  struct stat top {};
  if (::stat(source.c_str(), &top) != 0 || !S_ISDIR(top.st_mode)) {
    return NotFound("snapshot " + snapshot + " not found in pool " + Name() + " (" + source +
                    "); list the pool's snapshots and pick one");
  }
  const std::string layer = LayerPath(clone);
  const std::string path = ClonePath(clone);
  if (PathExists(layer) || PathExists(path)) {
    return Conflict("clone " + clone + " already exists in pool " + Name() + " (" + path +
                    "); choose another name or destroy it first");
  }
  // Build the layer under a temp name so that a half-made one is never listed.
  const std::string work = WorkPath(Root() + "/layers", ".tmp-", clone);
  auto build = [&]() -> Status {
    DBLAB_TRY(MakeDirectory(work, 0700));
    DBLAB_TRY(MakeDirectory(work + "/work", 0700));
    const std::string upper = work + "/upper";
    DBLAB_TRY(MakeDirectory(upper, 0700));
    // The merged root shows the upper root's owner, mode and times: make them the snapshot's.
    if (::chown(upper.c_str(), top.st_uid, top.st_gid) != 0 ||
        ::chmod(upper.c_str(), top.st_mode & 07777) != 0) {
      return Internal("cannot give " + upper + " the owner and mode of " + source + ": " +
                      ErrnoText(errno));
    }
    const struct timespec times[2] = {top.st_atim, top.st_mtim};
    ::utimensat(AT_FDCWD, upper.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return WriteFileAtomically(work + "/" + kSnapshotRecord, snapshot + "\n", 0644);
  };
  auto built = build();
  if (!built.ok()) {
    (void)RemoveTree(work);
    return built.error().Wrap("create clone " + clone);
  }
  if (::renameat2(AT_FDCWD, work.c_str(), AT_FDCWD, layer.c_str(), RENAME_NOREPLACE) != 0) {
    int error = errno;
    (void)RemoveTree(work);
    if (error == EEXIST) {
      return Conflict("clone " + clone + " already exists in pool " + Name() +
                      "; choose another name or destroy it first");
    }
    return Internal("cannot rename " + work + " to " + layer + ": " + ErrnoText(error));
  }
  auto mounted = MountClone(clone);
  if (!mounted.ok()) {
    (void)RemoveAtomically(Root() + "/layers", clone);
    return mounted.error().Wrap("create clone " + clone);
  }
  return path;
}

Status OverlayPool::DestroyClone(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string path = ClonePath(clone);
  DBLAB_ASSIGN_OR_RETURN(bool mounted, IsOverlayMounted(path));
  if (mounted && ::umount2(path.c_str(), UMOUNT_NOFOLLOW) != 0) {
    if (errno == EBUSY) {
      return Conflict("clone " + clone + " is busy (" + path +
                      "); stop the postgres running on it and retry (see `fuser -vm " + path +
                      "`)");
    }
    return Internal("cannot unmount clone " + clone + " (" + path + "): " + ErrnoText(errno));
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return Internal("cannot remove the mount point of clone " + clone + " (" + path +
                    "): " + ErrnoText(errno));
  }
  if (!PathExists(LayerPath(clone))) return OkStatus();
  return RemoveAtomically(Root() + "/layers", clone);
}

Status OverlayPool::RenameClone(const std::string& from, const std::string& to) {
  DBLAB_TRY(ValidateStorageName("clone", from));
  DBLAB_TRY(ValidateStorageName("clone", to));
  const std::string from_layer = LayerPath(from);
  const std::string to_layer = LayerPath(to);
  const std::string from_path = ClonePath(from);
  const std::string to_path = ClonePath(to);
  if (!PathExists(from_layer)) return NotFound("clone storage " + from + " does not exist");
  if (PathExists(to_layer)) return Conflict("clone storage " + to + " already exists");
  if (::mkdir(to_path.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Conflict("clone storage " + to + " already exists");
    return Internal("cannot create mount point " + to_path + ": " + ErrnoText(errno));
  }
  if (::renameat2(AT_FDCWD, from_layer.c_str(), AT_FDCWD, to_layer.c_str(), RENAME_NOREPLACE) !=
      0) {
    int error = errno;
    ::rmdir(to_path.c_str());
    if (error == EEXIST) return Conflict("clone storage " + to + " already exists");
    if (error == ENOENT) return NotFound("clone storage " + from + " does not exist");
    return Internal("cannot rename layers of clone " + from + " to " + to + ": " +
                    ErrnoText(error));
  }
  auto undo = [&](const std::string& what, int error) -> Status {
    ::renameat2(AT_FDCWD, to_layer.c_str(), AT_FDCWD, from_layer.c_str(), RENAME_NOREPLACE);
    ::rmdir(to_path.c_str());
    return Internal("cannot rename clone " + from + " to " + to + ": " + what + ": " +
                    ErrnoText(error));
  };
  DBLAB_ASSIGN_OR_RETURN(bool mounted, IsOverlayMounted(from_path));
  if (mounted) {
    // The overlay keeps its layers by reference, not by path: renaming their directory is safe.
    if (::mount(from_path.c_str(), to_path.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      return undo("mount --move " + from_path + " " + to_path, errno);
    }
  } else {
    ::rmdir(to_path.c_str());
    auto remounted = MountClone(to);
    if (!remounted.ok()) {
      ::renameat2(AT_FDCWD, to_layer.c_str(), AT_FDCWD, from_layer.c_str(), RENAME_NOREPLACE);
      return remounted.error().Wrap("rename clone " + from + " to " + to);
    }
  }
  ::rmdir(from_path.c_str());
  return OkStatus();
}

Result<std::vector<std::string>> OverlayPool::ListClones() {
  return ListDirectories(Root() + "/layers");
}

Result<int64_t> OverlayPool::CloneOwnBytes(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string upper = LayerPath(clone) + "/upper";
  if (!PathExists(upper)) return NotFound("clone " + clone + " not found in pool " + Name());
  return OwnBytes(upper);
}

Result<std::unique_ptr<PoolBackend>> MakeOverlayPool(const PoolSpec& spec, ProcessRunner& runner) {
  DBLAB_ASSIGN_OR_RETURN(MountedImage mounted,
                         EnsureReflinkMount(runner, spec.pool_path, spec.image_path,
                                            spec.image_size_bytes, /*require_reflink=*/false));
  auto pool = std::make_unique<OverlayPool>(spec.pool_name, mounted.mount_path);
  DBLAB_TRY(pool->Prepare(spec.data_owner_uid, spec.data_owner_gid));
  return std::unique_ptr<PoolBackend>(std::move(pool));
}

}  // namespace dblab
