#include "cloning/clone_wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "platform/fd.h"
#include "spdlog/spdlog.h"

namespace dblab {

namespace {

namespace fs = std::filesystem;

constexpr uint16_t kLongHeaderFlag = 0x0002;  // XLP_LONG_HEADER
constexpr size_t kPageAddrOffset = 8;         // XLogPageHeaderData.xlp_pageaddr
constexpr size_t kSegSizeOffset = 32;         // XLogLongPageHeaderData.xlp_seg_size
constexpr size_t kBlockSizeOffset = 36;       // XLogLongPageHeaderData.xlp_xlog_blcksz
constexpr size_t kLongHeaderSize = 40;

template <typename T>
T Load(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

bool IsHex(const std::string& text) {
  return text.find_first_not_of("0123456789ABCDEF") == std::string::npos;
}

bool IsSegmentName(const std::string& name) { return name.size() == 24 && IsHex(name); }

bool IsHistoryName(const std::string& name) {
  return name.size() == 16 && IsHex(name.substr(0, 8)) && name.substr(8) == ".history";
}

std::string ErrnoText(int error) { return std::strerror(error); }

Result<std::string> ReadAll(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Internal("cannot stat " + path + ": " + ErrnoText(errno));
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// The valid prefix (ValidWalPrefix) of the segment open as `fd`, read in growing chunks that
// stop soon after the valid pages end.
Result<std::string> ReadValidPrefix(int fd, const std::string& path, const std::string& name,
                                    size_t size) {
  std::string bytes;
  size_t chunk = 64 * 1024;
  while (bytes.size() < size) {
    size_t want = std::min(chunk, size - bytes.size());
    size_t at = bytes.size();
    bytes.resize(at + want);
    size_t done = 0;
    while (done < want) {
      ssize_t n = pread(fd, bytes.data() + at + done, want - done, static_cast<off_t>(at + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    bytes.resize(at + done);
    size_t valid = ValidWalPrefix(name, bytes.data(), bytes.size());
    if (valid < bytes.size() || done < want) {
      bytes.resize(valid);
      return bytes;
    }
    chunk *= 4;
  }
  return bytes;
}

// Writes `bytes` as a new file `path` of `full_size` bytes (the rest a hole), owned by the
// server's OS user, and flushes it: the copy is all the WAL the clone's server has to start from.
Status WriteWalFile(const std::string& path, std::string_view bytes, size_t full_size, uid_t uid,
                    gid_t gid) {
  Fd out(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return Internal("cannot create " + path + ": " + ErrnoText(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(out.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot write " + path + ": " + ErrnoText(errno));
    done += static_cast<size_t>(n);
  }
  if (full_size > bytes.size() && ftruncate(out.get(), static_cast<off_t>(full_size)) != 0) {
    return Internal("cannot size " + path + ": " + ErrnoText(errno));
  }
  if (fchown(out.get(), uid, gid) != 0) {
    return Internal("cannot chown " + path + ": " + ErrnoText(errno));
  }
  if (fdatasync(out.get()) != 0) return Internal("cannot flush " + path + ": " + ErrnoText(errno));
  return OkStatus();
}

Status MakeOwnedDir(const std::string& path, uid_t uid, gid_t gid) {
  if (mkdir(path.c_str(), 0700) != 0) {
    return Internal("cannot create " + path + ": " + ErrnoText(errno));
  }
  if (chown(path.c_str(), uid, gid) != 0) {
    return Internal("cannot chown " + path + ": " + ErrnoText(errno));
  }
  return OkStatus();
}

// Copies the WAL a server needs from directory `from` into the empty directory `to`: history
// files whole, segments up to their last valid page. Only regular files are read, never through
// a symlink: `from` may be in the hands of a clone's superuser.
Status CopyWal(const std::string& from, const std::string& to, uid_t uid, gid_t gid) {
  Fd dir(open(from.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return Internal("cannot open WAL directory " + from + ": " + ErrnoText(errno));
  std::vector<std::string> names;
  {
    DIR* listing = fdopendir(dup(dir.get()));
    if (listing == nullptr) return Internal("cannot list " + from + ": " + ErrnoText(errno));
    while (dirent* entry = readdir(listing)) {
      std::string name = entry->d_name;
      if (IsSegmentName(name) || IsHistoryName(name)) names.push_back(std::move(name));
    }
    closedir(listing);
  }
  DBLAB_TRY(MakeOwnedDir(to + "/archive_status", uid, gid));
  int copied_segments = 0;
  for (const auto& name : names) {
    std::string source = from + "/" + name;
    Fd in(openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid() && errno == ELOOP) continue;  // a symlink: not WAL the engine wrote
    if (!in.valid()) return Internal("cannot open " + source + ": " + ErrnoText(errno));
    struct stat st {};
    if (fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    size_t full_size = static_cast<size_t>(st.st_size);
    std::string bytes;
    size_t keep = 0;
    if (IsSegmentName(name)) {
      // Read until the valid pages end: a snapshot's segment is mostly unused.
      DBLAB_ASSIGN_OR_RETURN(bytes, ReadValidPrefix(in.get(), source, name, full_size));
      keep = bytes.size();
      if (keep == 0) continue;  // recycled or never written: the server makes its own
      ++copied_segments;
    } else {
      DBLAB_ASSIGN_OR_RETURN(bytes, ReadAll(in.get(), source));
      keep = full_size = bytes.size();
    }
    DBLAB_TRY(WriteWalFile(to + "/" + name, std::string_view(bytes).substr(0, keep), full_size,
                           uid, gid));
  }
  if (copied_segments == 0) {
    return Internal("no valid WAL segment in " + from +
                    "; the snapshot's data directory is incomplete");
  }
  Fd target(open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (target.valid()) fsync(target.get());
  return OkStatus();
}

bool IsPlainName(const std::string& name) {
  return !name.empty() && name[0] != '.' && name.find('/') == std::string::npos;
}

}  // namespace

size_t ValidWalPrefix(const std::string& file_name, const char* bytes, size_t size) {
  if (!IsSegmentName(file_name) || size < kLongHeaderSize) return 0;
  uint16_t magic = Load<uint16_t>(bytes);
  uint16_t info = Load<uint16_t>(bytes + 2);
  uint32_t seg_size = Load<uint32_t>(bytes + kSegSizeOffset);
  uint32_t block_size = Load<uint32_t>(bytes + kBlockSizeOffset);
  auto power_of_two = [](uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
  if (magic == 0 || (info & kLongHeaderFlag) == 0 || !power_of_two(seg_size) ||
      !power_of_two(block_size) || seg_size < (1u << 20) || block_size < 1024 ||
      block_size > seg_size || size > seg_size) {
    return 0;
  }
  uint64_t log = std::stoull(file_name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(file_name.substr(16, 8), nullptr, 16);
  uint64_t start = (log * (uint64_t{0x100000000} / seg_size) + seg) * seg_size;
  size_t valid = 0;
  for (size_t offset = 0; offset + block_size <= size; offset += block_size) {
    if (Load<uint16_t>(bytes + offset) != magic ||
        Load<uint64_t>(bytes + offset + kPageAddrOffset) != start + offset) {
      break;
    }
    valid = offset + block_size;
  }
  return valid;
}

CloneWal::CloneWal(std::string root, uid_t owner_uid, gid_t owner_gid)
    : root_(std::move(root)), owner_uid_(owner_uid), owner_gid_(owner_gid) {}

std::string CloneWal::Dir(const std::string& name) const { return root_ + "/" + name; }

Status CloneWal::Externalize(const std::string& data_dir, const std::string& name) const {
  if (!enabled()) return OkStatus();
  if (!IsPlainName(name)) return BadRequest("invalid clone storage name \"" + name + "\"");
  std::error_code error;
  fs::create_directories(root_, error);
  if (error) return Internal("cannot create WAL directory " + root_ + ": " + error.message());
  chmod(root_.c_str(), 0711);
  std::string dir = Dir(name);
  fs::remove_all(dir, error);
  if (error) return Internal("cannot empty " + dir + ": " + error.message());
  DBLAB_TRY(MakeOwnedDir(dir, owner_uid_, owner_gid_));
  std::string inside = data_dir + "/pg_wal";
  if (auto copied = CopyWal(inside, dir, owner_uid_, owner_gid_); !copied.ok()) {
    fs::remove_all(dir, error);
    return copied.error().Wrap("moving the WAL of clone " + name + " out of the pool");
  }
  // The copy is complete before the clone's own WAL goes: a crash in between leaves a clone
  // whose create is redone.
  fs::remove_all(inside, error);
  if (error) return Internal("cannot remove " + inside + ": " + error.message());
  if (symlink(dir.c_str(), inside.c_str()) != 0) {
    return Internal("cannot link " + inside + " to " + dir + ": " + ErrnoText(errno));
  }
  return OkStatus();
}

Result<bool> CloneWal::Internalize(const std::string& data_dir, const std::string& name) const {
  if (!enabled()) return false;
  if (!IsPlainName(name)) return BadRequest("invalid clone storage name \"" + name + "\"");
  std::string inside = data_dir + "/pg_wal";
  struct stat st {};
  if (lstat(inside.c_str(), &st) != 0) {
    return Internal("cannot stat " + inside + ": " + ErrnoText(errno));
  }
  if (!S_ISLNK(st.st_mode)) return false;
  if (unlink(inside.c_str()) != 0) {
    return Internal("cannot remove " + inside + ": " + ErrnoText(errno));
  }
  DBLAB_TRY(MakeOwnedDir(inside, owner_uid_, owner_gid_));
  if (auto copied = CopyWal(Dir(name), inside, owner_uid_, owner_gid_); !copied.ok()) {
    (void)Relink(data_dir, name);
    return copied.error().Wrap("putting the WAL of clone " + name + " back for a snapshot");
  }
  return true;
}

bool CloneWal::IsOutside(const std::string& data_dir) const {
  struct stat st {};
  return enabled() && lstat((data_dir + "/pg_wal").c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

Status CloneWal::Relink(const std::string& data_dir, const std::string& name) const {
  if (!enabled()) return OkStatus();
  std::string inside = data_dir + "/pg_wal";
  std::error_code error;
  fs::remove_all(inside, error);
  if (error) return Internal("cannot remove " + inside + ": " + error.message());
  if (symlink(Dir(name).c_str(), inside.c_str()) != 0) {
    return Internal("cannot link " + inside + " to " + Dir(name) + ": " + ErrnoText(errno));
  }
  return OkStatus();
}

Status CloneWal::Remove(const std::string& name) const {
  if (!enabled() || !IsPlainName(name)) return OkStatus();
  std::error_code error;
  fs::remove_all(Dir(name), error);
  if (error) return Internal("cannot remove WAL of clone " + name + ": " + error.message());
  return OkStatus();
}

void CloneWal::RemoveOrphans(const std::vector<std::string>& keep) const {
  if (!enabled()) return;
  std::set<std::string> known(keep.begin(), keep.end());
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (known.count(name) != 0) continue;
    spdlog::warn("removing orphan clone WAL {}", entry.path().string());
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

int64_t CloneWal::Bytes(const std::string& name) const {
  if (!enabled() || !IsPlainName(name)) return 0;
  int64_t total = 0;
  std::error_code error;
  // No symlink is followed: what the clone links to is not its space.
  for (fs::recursive_directory_iterator it(Dir(name), error), end; !error && it != end;
       it.increment(error)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0) total += int64_t{st.st_blocks} * 512;
  }
  return total;
}

Result<std::pair<int64_t, int64_t>> CloneWal::FilesystemSpace() const {
  struct statvfs vfs {};
  if (!enabled()) return NotFound("clones keep their WAL inside the pool");
  if (statvfs(root_.c_str(), &vfs) != 0) {
    return Internal("cannot measure the filesystem of " + root_ + ": " + ErrnoText(errno));
  }
  auto size = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
  auto free = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
  return std::make_pair(size, free);
}

std::vector<WalStop> DecideWalStops(const std::vector<WalHolder>& holders,
                                    const WalGuardLimits& limits) {
  constexpr int64_t kMiB = int64_t{1} << 20, kGiB = int64_t{1} << 30;
  auto gib = [](int64_t bytes) {
    char text[32];
    if (bytes < kGiB) {
      std::snprintf(text, sizeof text, "%lld MiB", static_cast<long long>(bytes / kMiB));
    } else {
      std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / kGiB);
    }
    return std::string(text);
  };
  std::vector<WalStop> stops;
  std::set<std::string> stopped;
  for (const auto& holder : holders) {
    if (limits.max_per_clone > 0 && holder.bytes > limits.max_per_clone) {
      stops.push_back({holder.clone_id, "its WAL directory holds " + gib(holder.bytes) +
                                            ", more than provision.cloneWalMaxSize (" +
                                            gib(limits.max_per_clone) + ")"});
      stopped.insert(holder.clone_id);
    }
  }
  int64_t reserve = std::min<int64_t>(2 * kGiB, limits.fs_size / 20);
  if (limits.fs_size > 0 && limits.fs_free < reserve) {
    const WalHolder* largest = nullptr;
    for (const auto& holder : holders) {
      if (stopped.count(holder.clone_id) != 0 || holder.bytes <= 64 * kMiB) continue;
      if (largest == nullptr || holder.bytes > largest->bytes) largest = &holder;
    }
    if (largest != nullptr) {
      stops.push_back({largest->clone_id,
                       "the filesystem holding the clones' WAL has " + gib(limits.fs_free) +
                           " free (under its reserve of " + gib(reserve) +
                           ") and this clone's WAL is the largest, " + gib(largest->bytes)});
    }
  }
  return stops;
}

}  // namespace dblab
