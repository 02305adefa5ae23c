#include "storage/tree/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "platform/fd.h"

namespace dblab {
namespace {

constexpr size_t kCopyChunk = 1 << 20;
constexpr int kSymlinkMax = 4096;

std::string ErrnoText(int error) { return std::strerror(error); }

Error OsError(const std::string& what, const std::string& path, int error) {
  return Internal("cannot " + what + " " + path + ": " + ErrnoText(error));
}

// Names of a directory's entries except "." and "..", read through a dup of `dir_fd` so that
// the caller keeps its descriptor.
Result<std::vector<std::string>> ReadNames(int dir_fd, const std::string& path) {
  int copy = ::dup(dir_fd);
  if (copy < 0) return OsError("list", path, errno);
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    int error = errno;
    ::close(copy);
    return OsError("list", path, error);
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    names.emplace_back(entry->d_name);
  }
  int error = errno;
  ::closedir(dir);
  if (error != 0) return OsError("list", path, error);
  return names;
}

bool FlagsUnsupported(int error) {
  return error == ENOTTY || error == EOPNOTSUPP || error == EINVAL || error == EPERM ||
         error == ENOSYS;
}

// Sets or clears FS_IMMUTABLE_FL on an open file. 1 when set as asked, 0 when unsupported,
// -errno on failure.
int SetImmutableFd(int fd, bool immutable) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return FlagsUnsupported(errno) ? 0 : -errno;
  const bool is_set = (flags & FS_IMMUTABLE_FL) != 0;
  if (is_set == immutable) return 1;
  flags = immutable ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0) return FlagsUnsupported(errno) ? 0 : -errno;
  return 1;
}

class TreeCopier {
 public:
  explicit TreeCopier(const TreeCopyOptions& options) : options_(options) {}

  Status Copy(const std::string& source, const std::string& destination) {
    Fd source_dir(::open(source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!source_dir.valid()) {
      if (errno == ENOENT) return NotFound("cannot copy " + source + ": it does not exist");
      return OsError("open directory", source, errno);
    }
    struct stat top {};
    if (::fstat(source_dir.get(), &top) != 0) return OsError("stat", source, errno);
    if (::mkdir(destination.c_str(), 0700) != 0) {
      if (errno == EEXIST) return Conflict("cannot copy to " + destination + ": it exists");
      return OsError("create directory", destination, errno);
    }
    Fd destination_dir(
        ::open(destination.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!destination_dir.valid()) return OsError("open directory", destination, errno);
    DBLAB_TRY(CopyDirectoryContents(source_dir.get(), destination_dir.get(), source, destination,
                                    /*top=*/true));
    ++stats_.directories;
    return FinishEntry(destination_dir.get(), top, destination, /*protect=*/false);
  }

  const TreeCopyStats& stats() const { return stats_; }

 private:
  bool Skipped(const std::string& name) const {
    return std::find(options_.skip_top_level.begin(), options_.skip_top_level.end(), name) !=
           options_.skip_top_level.end();
  }

  Status CopyDirectoryContents(int source_fd, int destination_fd, const std::string& source,
                               const std::string& destination, bool top) {
    DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNames(source_fd, source));
    for (const std::string& name : names) {
      if (top && Skipped(name)) continue;
      const std::string from = source + "/" + name;
      const std::string to = destination + "/" + name;
      struct stat st {};
      if (::fstatat(source_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return OsError("stat", from, errno);
      }
      switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
          DBLAB_TRY(CopyDirectory(source_fd, destination_fd, name, st, from, to));
          break;
        case S_IFREG:
          DBLAB_TRY(CopyFile(source_fd, destination_fd, name, st, from, to));
          break;
        case S_IFLNK:
          DBLAB_TRY(CopySymlink(source_fd, destination_fd, name, st, from, to));
          break;
        case S_IFIFO:
          if (::mkfifoat(destination_fd, name.c_str(), 0600) != 0) {
            return OsError("create FIFO", to, errno);
          }
          DBLAB_TRY(FinishPathEntry(destination_fd, name, st, to));
          break;
        case S_IFSOCK:
          break;  // a socket file is useless without its listener
        default:
          return BadRequest("cannot copy " + from +
                            ": device files do not belong in a data directory; remove it");
      }
    }
    return OkStatus();
  }

  Status CopyDirectory(int source_parent, int destination_parent, const std::string& name,
                       const struct stat& st, const std::string& from, const std::string& to) {
    Fd source(
        ::openat(source_parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!source.valid()) return OsError("open directory", from, errno);
    if (::mkdirat(destination_parent, name.c_str(), 0700) != 0) {
      return OsError("create directory", to, errno);
    }
    Fd destination(::openat(destination_parent, name.c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!destination.valid()) return OsError("open directory", to, errno);
    DBLAB_TRY(CopyDirectoryContents(source.get(), destination.get(), from, to, /*top=*/false));
    ++stats_.directories;
    return FinishEntry(destination.get(), st, to, options_.make_immutable);
  }

  Status CopyFile(int source_parent, int destination_parent, const std::string& name,
                  const struct stat& st, const std::string& from, const std::string& to) {
    Fd source(::openat(source_parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!source.valid()) return OsError("open", from, errno);
    Fd destination(::openat(destination_parent, name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!destination.valid()) return OsError("create", to, errno);
    if (options_.method == FileDataMethod::kReflink) {
      if (::ioctl(destination.get(), FICLONE, source.get()) != 0) {
        int error = errno;
        if (error == EOPNOTSUPP || error == EXDEV || error == EINVAL || error == ENOTTY) {
          return BadRequest("cannot reflink " + from + " to " + to + ": " + ErrnoText(error) +
                            "; the pool needs a filesystem with reflinks (XFS with reflink=1, "
                            "btrfs)");
        }
        return OsError("reflink " + from + " to", to, error);
      }
    } else {
      DBLAB_TRY(CopyData(source.get(), destination.get(), st.st_size, from, to));
    }
    ++stats_.files;
    stats_.bytes += st.st_size;
    return FinishEntry(destination.get(), st, to, options_.make_immutable);
  }

  Status CopyData(int source, int destination, off_t size, const std::string& from,
                  const std::string& to) {
    off_t done = 0;
    bool use_copy_file_range = true;
    while (done < size) {
      if (use_copy_file_range) {
        ssize_t n = ::copy_file_range(source, nullptr, destination, nullptr,
                                      static_cast<size_t>(size - done), 0);
        if (n > 0) {
          done += n;
          continue;
        }
        if (n == 0) break;  // the source shrank: copy what is there
        if (done == 0 &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
          use_copy_file_range = false;
          continue;
        }
        return OsError("copy " + from + " to", to, errno);
      }
      std::vector<char>& buffer = Buffer();
      ssize_t n = ::read(source, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return OsError("read", from, errno);
      }
      if (n == 0) break;
      for (ssize_t written = 0; written < n;) {
        ssize_t w = ::write(destination, buffer.data() + written, static_cast<size_t>(n - written));
        if (w < 0) {
          if (errno == EINTR) continue;
          return OsError("write", to, errno);
        }
        written += w;
      }
      done += n;
    }
    return OkStatus();
  }

  Status CopySymlink(int source_parent, int destination_parent, const std::string& name,
                     const struct stat& st, const std::string& from, const std::string& to) {
    std::string target(kSymlinkMax, '\0');
    ssize_t n = ::readlinkat(source_parent, name.c_str(), target.data(), target.size());
    if (n < 0) return OsError("read symlink", from, errno);
    if (n >= kSymlinkMax) return Internal("symlink " + from + " is too long to copy");
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), destination_parent, name.c_str()) != 0) {
      return OsError("create symlink", to, errno);
    }
    ++stats_.symlinks;
    if (::fchownat(destination_parent, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) !=
        0) {
      return OsError("chown", to, errno);
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(destination_parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return OsError("set times of", to, errno);
    }
    return OkStatus();
  }

  // Owner, then mode (chown clears set-id bits), then times, then the immutable flag (after
  // which nothing can be changed).
  Status FinishEntry(int fd, const struct stat& st, const std::string& path, bool protect) {
    if (::fchown(fd, st.st_uid, st.st_gid) != 0) return OsError("chown", path, errno);
    if (::fchmod(fd, st.st_mode & 07777) != 0) return OsError("chmod", path, errno);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) != 0) return OsError("set times of", path, errno);
    if (protect && protect_supported_) {
      int result = SetImmutableFd(fd, true);
      if (result < 0) return OsError("make immutable", path, -result);
      if (result == 0) {
        protect_supported_ = false;  // say so once, through stats, instead of failing the copy
      } else {
        ++stats_.protected_entries;
      }
    }
    return OkStatus();
  }

  Status FinishPathEntry(int parent, const std::string& name, const struct stat& st,
                         const std::string& path) {
    if (::fchownat(parent, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return OsError("chown", path, errno);
    }
    if (::fchmodat(parent, name.c_str(), st.st_mode & 07777, 0) != 0) {
      return OsError("chmod", path, errno);
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return OsError("set times of", path, errno);
    }
    return OkStatus();
  }

  std::vector<char>& Buffer() {
    if (buffer_.empty()) buffer_.resize(kCopyChunk);
    return buffer_;
  }

  const TreeCopyOptions& options_;
  TreeCopyStats stats_;
  bool protect_supported_ = true;
  std::vector<char> buffer_;
};

// Clears FS_IMMUTABLE_FL on `name` in `parent` (a file or a directory). Best effort.
void ClearImmutableAt(int parent, const std::string& name) {
  Fd fd(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.valid()) SetImmutableFd(fd.get(), false);
}

Status RemoveContents(int dir_fd, dev_t device, const std::string& path) {
  DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNames(dir_fd, path));
  for (const std::string& name : names) {
    const std::string child = path + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return OsError("stat", child, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != device) {
        return Conflict("cannot remove " + child + ": another filesystem is mounted there; " +
                        "unmount it first");
      }
      Fd child_fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child_fd.valid()) return OsError("open directory", child, errno);
      SetImmutableFd(child_fd.get(), false);
      DBLAB_TRY(RemoveContents(child_fd.get(), device, child));
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        return OsError("remove directory", child, errno);
      }
      continue;
    }
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EPERM) return OsError("remove", child, errno);
    ClearImmutableAt(dir_fd, name);
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return OsError("remove", child, errno);
    }
  }
  return OkStatus();
}

}  // namespace

Result<TreeCopyStats> CopyTree(const std::string& source, const std::string& destination,
                               const TreeCopyOptions& options) {
  TreeCopier copier(options);
  DBLAB_TRY(copier.Copy(source, destination));
  return copier.stats();
}

Result<bool> SetImmutable(const std::string& path, bool immutable) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return OsError("open", path, errno);
  int result = SetImmutableFd(fd.get(), immutable);
  if (result < 0) {
    return OsError(immutable ? "make immutable" : "clear the immutable flag of", path, -result);
  }
  return result == 1;
}

Status RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return OsError("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) return OkStatus();
    if (errno == EPERM) {
      (void)SetImmutable(path, false);
      if (::unlink(path.c_str()) == 0) return OkStatus();
    }
    return OsError("remove", path, errno);
  }
  {
    Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return OsError("open directory", path, errno);
    SetImmutableFd(dir.get(), false);
    DBLAB_TRY(RemoveContents(dir.get(), st.st_dev, path));
  }
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return OkStatus();
  if (errno == EBUSY) {
    return Conflict("cannot remove " + path + ": it is a mount point; unmount it first");
  }
  return OsError("remove directory", path, errno);
}

Result<int64_t> AllocatedBytes(const std::string& path) {
  struct stat top {};
  if (::lstat(path.c_str(), &top) != 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return OsError("stat", path, errno);
  }
  int64_t total = static_cast<int64_t>(top.st_blocks) * 512;
  if (!S_ISDIR(top.st_mode)) return total;
  // Iterative walk: a live server may remove files meanwhile, which is not an error.
  std::vector<std::string> pending{path};
  while (!pending.empty()) {
    std::string dir_path = std::move(pending.back());
    pending.pop_back();
    Fd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) {
      if (errno == ENOENT) continue;
      return OsError("open directory", dir_path, errno);
    }
    DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNames(dir.get(), dir_path));
    for (const std::string& name : names) {
      struct stat st {};
      if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != top.st_dev) continue;
      total += static_cast<int64_t>(st.st_blocks) * 512;
      if (S_ISDIR(st.st_mode)) pending.push_back(dir_path + "/" + name);
    }
  }
  return total;
}

Result<bool> SupportsReflink(const std::string& directory) {
  Fd source(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!source.valid()) {
    // Filesystems without unnamed temp files (NFS, some FUSE) have no reflinks either.
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return false;
    return OsError("create a temp file in", directory, errno);
  }
  Fd target(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!target.valid()) return OsError("create a temp file in", directory, errno);
  std::string block(4096, 'r');
  if (::write(source.get(), block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
    return OsError("write a temp file in", directory, errno);
  }
  return ::ioctl(target.get(), FICLONE, source.get()) == 0;
}

}  // namespace dblab
