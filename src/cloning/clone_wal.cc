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
#include <optional>
#include <set>
#include <vector>

#include "platform/fd.h"
#include "postgres/wal_reset.h"
#include "spdlog/spdlog.h"

namespace dblab {

namespace {

namespace fs = std::filesystem;

// The WAL position a server starts reading at, on its timeline; lsn 0 = unknown.
struct WalStart {
  uint64_t lsn = 0;
  uint32_t timeline = 0;
};

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

// What a segment's first page (its long header) says about it.
struct SegmentShape {
  uint16_t magic = 0;
  uint32_t seg_size = 0;
  uint32_t block_size = 0;
  uint64_t start = 0;  // the WAL position of its first byte, from its file name
};

std::optional<SegmentShape> ShapeOf(const std::string& file_name, const char* bytes, size_t size) {
  if (!IsSegmentName(file_name) || size < kLongHeaderSize) return std::nullopt;
  SegmentShape shape;
  shape.magic = Load<uint16_t>(bytes);
  uint16_t info = Load<uint16_t>(bytes + 2);
  shape.seg_size = Load<uint32_t>(bytes + kSegSizeOffset);
  shape.block_size = Load<uint32_t>(bytes + kBlockSizeOffset);
  auto power_of_two = [](uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
  if (shape.magic == 0 || (info & kLongHeaderFlag) == 0 || !power_of_two(shape.seg_size) ||
      !power_of_two(shape.block_size) || shape.seg_size < (1u << 20) || shape.block_size < 1024 ||
      shape.block_size > shape.seg_size) {
    return std::nullopt;
  }
  uint64_t log = std::stoull(file_name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(file_name.substr(16, 8), nullptr, 16);
  shape.start = (log * (uint64_t{0x100000000} / shape.seg_size) + seg) * shape.seg_size;
  return shape;
}

// The length of the run of valid pages in `bytes`, which hold the segment from page-aligned
// offset `offset` on.
size_t ValidRun(const SegmentShape& shape, const char* bytes, size_t size, size_t offset) {
  size_t valid = 0;
  for (size_t at = 0; at + shape.block_size <= size; at += shape.block_size) {
    if (Load<uint16_t>(bytes + at) != shape.magic ||
        Load<uint64_t>(bytes + at + kPageAddrOffset) != shape.start + offset + at) {
      break;
    }
    valid = at + shape.block_size;
  }
  return valid;
}

// The run of valid pages from offset `from` up to `end` of the segment open as `fd`, read in
// growing chunks that stop soon after the valid pages end.
Result<std::string> ReadValidRun(int fd, const std::string& path, const SegmentShape& shape,
                                 size_t from, size_t end) {
  std::string bytes;
  size_t chunk = 64 * 1024;
  while (from + bytes.size() < end) {
    size_t want = std::min(chunk, end - from - bytes.size());
    size_t at = bytes.size();
    bytes.resize(at + want);
    size_t done = 0;
    while (done < want) {
      ssize_t n =
          pread(fd, bytes.data() + at + done, want - done, static_cast<off_t>(from + at + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    bytes.resize(at + done);
    size_t valid = ValidRun(shape, bytes.data(), bytes.size(), from);
    if (valid < bytes.size() || done < want) {
      bytes.resize(valid);
      return bytes;
    }
    chunk *= 4;
  }
  return bytes;
}

// A piece of a file to write: bytes at an offset.
struct Piece {
  size_t offset = 0;
  std::string bytes;
};

// Writes `pieces` as a new file `path` of `full_size` bytes (the rest holes), owned by the
// server's OS user, and flushes it: the copy is all the WAL the clone's server has to start from.
Status WriteWalFile(const std::string& path, const std::vector<Piece>& pieces, size_t full_size,
                    uid_t uid, gid_t gid) {
  Fd out(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return Internal("cannot create " + path + ": " + ErrnoText(errno));
  for (const auto& piece : pieces) {
    size_t done = 0;
    while (done < piece.bytes.size()) {
      ssize_t n = pwrite(out.get(), piece.bytes.data() + done, piece.bytes.size() - done,
                         static_cast<off_t>(piece.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal("cannot write " + path + ": " + ErrnoText(errno));
      done += static_cast<size_t>(n);
    }
  }
  if (ftruncate(out.get(), static_cast<off_t>(full_size)) != 0) {
    return Internal("cannot size " + path + ": " + ErrnoText(errno));
  }
  if (fchown(out.get(), uid, gid) != 0) {
    return Internal("cannot chown " + path + ": " + ErrnoText(errno));
  }
  if (fdatasync(out.get()) != 0) return Internal("cannot flush " + path + ": " + ErrnoText(errno));
  return OkStatus();
}

// Where a server started on `data_dir` starts reading WAL: the redo point in pg_control (after
// a clean shutdown, the shutdown checkpoint itself; after a crash, or in a crash-consistent
// snapshot of a running clone, where replay starts). The pages of that segment before it are
// never read, but its first page, whose long header is checked on opening. 0 when unknown or
// when a backup_label may point further back: every valid page is copied then.
WalStart StartOfNeededWal(const std::string& data_dir) {
  struct stat st {};
  if (lstat((data_dir + "/backup_label").c_str(), &st) == 0) return {};
  auto points = ReadControlPoints(data_dir);
  if (!points.ok() || points->redo > points->checkpoint) return {};
  return {points->redo, points->timeline};
}

// The pages of segment `name` (open as `fd`, `full_size` bytes) to copy: the run of valid pages
// from its start; or, for the segment where `start` is, its first page and the valid run from
// the page holding `start` on. Empty for a recycled or never-written segment.
Result<std::vector<Piece>> NeededPages(int fd, const std::string& path, const std::string& name,
                                       size_t full_size, const WalStart& start) {
  char head[kLongHeaderSize];
  ssize_t n = pread(fd, head, sizeof head, 0);
  if (n < 0) return Internal("cannot read " + path + ": " + ErrnoText(errno));
  auto shape = ShapeOf(name, head, static_cast<size_t>(n));
  if (!shape || full_size > shape->seg_size) return std::vector<Piece>{};
  size_t skip_to = 0;
  if (start.lsn > shape->start && start.lsn - shape->start < shape->seg_size &&
      name == WalSegmentName(start.timeline, start.lsn, shape->seg_size)) {
    skip_to = (start.lsn - shape->start) / shape->block_size * shape->block_size;
  }
  std::vector<Piece> pieces;
  if (skip_to > 0) {
    DBLAB_ASSIGN_OR_RETURN(std::string first, ReadValidRun(fd, path, *shape, 0, shape->block_size));
    DBLAB_ASSIGN_OR_RETURN(std::string from_start,
                           ReadValidRun(fd, path, *shape, skip_to, full_size));
    if (!first.empty() && !from_start.empty()) {
      pieces.push_back({0, std::move(first)});
      pieces.push_back({skip_to, std::move(from_start)});
      return pieces;
    }
  }
  DBLAB_ASSIGN_OR_RETURN(std::string prefix, ReadValidRun(fd, path, *shape, 0, full_size));
  if (!prefix.empty()) pieces.push_back({0, std::move(prefix)});
  return pieces;
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
// files whole, segments' valid pages (NeededPages). Only regular files are read, never through
// a symlink: `from` may be in the hands of a clone's superuser.
Status CopyWal(const std::string& from, const std::string& to, uid_t uid, gid_t gid,
               const WalStart& start) {
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
    std::vector<Piece> pieces;
    if (IsSegmentName(name)) {
      // Only valid pages, and of the segment the server starts in only what it reads: a
      // snapshot's segment is mostly unused or, after the masking residue step, zeroed.
      DBLAB_ASSIGN_OR_RETURN(pieces, NeededPages(in.get(), source, name, full_size, start));
      if (pieces.empty()) continue;  // recycled or never written: the server makes its own
      ++copied_segments;
    } else {
      DBLAB_ASSIGN_OR_RETURN(std::string bytes, ReadAll(in.get(), source));
      full_size = bytes.size();
      pieces.push_back({0, std::move(bytes)});
    }
    DBLAB_TRY(WriteWalFile(to + "/" + name, pieces, full_size, uid, gid));
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
  auto shape = ShapeOf(file_name, bytes, size);
  if (!shape || size > shape->seg_size) return 0;
  return ValidRun(*shape, bytes, size, 0);
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
  WalStart start = StartOfNeededWal(data_dir);
  if (auto copied = CopyWal(inside, dir, owner_uid_, owner_gid_, start); !copied.ok()) {
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
  WalStart start = StartOfNeededWal(data_dir);
  if (auto copied = CopyWal(Dir(name), inside, owner_uid_, owner_gid_, start); !copied.ok()) {
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
      stops.push_back(
          {largest->clone_id, "the filesystem holding the clones' WAL has " + gib(limits.fs_free) +
                                  " free (under its reserve of " + gib(reserve) +
                                  ") and this clone's WAL is the largest, " + gib(largest->bytes)});
    }
  }
  return stops;
}

}  // namespace dblab
