#include "postgres/wal_reset.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <vector>

#include "platform/fd.h"

namespace dblab {

namespace {

// ControlFileData (pg_control.h): its first fields have kept their places since 9.x.
constexpr size_t kControlVersionOffset = 8;  // pg_control_version
constexpr size_t kStateOffset = 16;          // DBState state
constexpr size_t kCheckPointOffset = 32;     // XLogRecPtr checkPoint
constexpr size_t kRedoOffset = 40;           // checkPointCopy.redo
constexpr size_t kTimelineOffset = 48;       // checkPointCopy.ThisTimeLineID
constexpr size_t kControlPrefix = 52;
constexpr int32_t kShutdowned = 1;                           // DB_SHUTDOWNED
constexpr uint32_t kControlVersions[] = {1300, 1700, 1800};  // 13-16, 17, 18

// XLogPageHeaderData / XLogLongPageHeaderData (xlog_internal.h).
constexpr size_t kPageAddrOffset = 8;
constexpr size_t kSegSizeOffset = 32;
constexpr size_t kBlockSizeOffset = 36;
constexpr size_t kShortHeaderSize = 24;       // MAXALIGN(sizeof(XLogPageHeaderData))
constexpr size_t kLongHeaderSize = 40;        // MAXALIGN(sizeof(XLogLongPageHeaderData))
constexpr uint16_t kLongHeaderFlag = 0x0002;  // XLP_LONG_HEADER

// XLogRecord (xlogrecord.h): xl_tot_len at 0, xl_info at 16, xl_rmid at 17; 24 bytes.
constexpr size_t kRecordHeaderSize = 24;
constexpr uint8_t kXlogRmgr = 0;                // RM_XLOG_ID
constexpr uint8_t kCheckpointShutdownInfo = 0;  // XLOG_CHECKPOINT_SHUTDOWN
constexpr uint8_t kRmgrInfoMask = 0xF0;         // XLR_RMGR_INFO_MASK

template <typename T>
T Load(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

bool IsSegmentName(const std::string& name) {
  return name.size() == 24 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
         });
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::string> ReadWhole(const std::string& path, size_t limit) {
  Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Internal("cannot open " + path + ": " + strerror(errno));
  std::string bytes(limit, '\0');
  size_t done = 0;
  while (done < limit) {
    ssize_t n = read(fd.get(), bytes.data() + done, limit - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("cannot read " + path + ": " + strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* handle = opendir(dir.c_str());
  if (!handle) return Internal("cannot list " + dir + ": " + strerror(errno));
  std::vector<std::string> names;
  while (dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(handle);
  return names;
}

}  // namespace

Result<ControlPoints> ReadControlPoints(const std::string& data_dir) {
  std::string path = data_dir + "/global/pg_control";
  DBLAB_ASSIGN_OR_RETURN(std::string control, ReadWhole(path, kControlPrefix));
  if (control.size() < kControlPrefix) return Internal(path + " is too short");
  uint32_t version = Load<uint32_t>(control.data() + kControlVersionOffset);
  if (std::find(std::begin(kControlVersions), std::end(kControlVersions), version) ==
      std::end(kControlVersions)) {
    return Internal(path + " has pg_control version " + std::to_string(version) +
                    ", not one of PostgreSQL 13-18");
  }
  ControlPoints points;
  points.shut_down = Load<int32_t>(control.data() + kStateOffset) == kShutdowned;
  points.checkpoint = Load<uint64_t>(control.data() + kCheckPointOffset);
  points.redo = Load<uint64_t>(control.data() + kRedoOffset);
  points.timeline = Load<uint32_t>(control.data() + kTimelineOffset);
  return points;
}

Result<ShutdownCheckpoint> ReadShutdownCheckpoint(const std::string& data_dir) {
  DBLAB_ASSIGN_OR_RETURN(ControlPoints points, ReadControlPoints(data_dir));
  if (!points.shut_down || points.redo != points.checkpoint) {
    return Conflict("the server of " + data_dir +
                    " was not stopped cleanly (pg_control: no shutdown checkpoint); its WAL is "
                    "still needed");
  }
  return ShutdownCheckpoint{points.checkpoint, points.timeline};
}

std::string WalSegmentName(uint32_t timeline, uint64_t lsn, uint64_t segment_size) {
  uint64_t segment = lsn / segment_size;
  uint64_t per_id = uint64_t{0x100000000} / segment_size;
  char name[25];
  snprintf(name, sizeof name, "%08X%08X%08X", timeline, static_cast<uint32_t>(segment / per_id),
           static_cast<uint32_t>(segment % per_id));
  return name;
}

Status KeepOnlyCheckpointRecord(std::string& bytes, uint64_t segment_start, size_t record_offset) {
  if (bytes.size() < kLongHeaderSize) return Internal("WAL segment too short");
  const char* data = bytes.data();
  uint32_t segment_size = Load<uint32_t>(data + kSegSizeOffset);
  uint32_t block_size = Load<uint32_t>(data + kBlockSizeOffset);
  auto power_of_two = [](uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
  if ((Load<uint16_t>(data + 2) & kLongHeaderFlag) == 0 || segment_size != bytes.size() ||
      !power_of_two(block_size) || block_size < 1024 || block_size > segment_size ||
      Load<uint64_t>(data + kPageAddrOffset) != segment_start) {
    return Internal("not a WAL segment starting at " + std::to_string(segment_start));
  }
  auto header_size = [&](size_t page) { return page == 0 ? kLongHeaderSize : kShortHeaderSize; };
  // The record's bytes, as (offset, length) runs between page headers.
  std::vector<std::pair<size_t, size_t>> runs;
  auto collect = [&](size_t from, size_t length) -> Result<size_t> {  // returns the end offset
    size_t offset = from;
    while (length > 0) {
      if (offset >= bytes.size()) {
        return Internal("the shutdown checkpoint record runs past its WAL segment's end");
      }
      size_t page = offset / block_size;
      size_t page_start = page * block_size;
      if (offset == page_start) offset += header_size(page);  // a continuation page
      if (Load<uint64_t>(data + page_start + kPageAddrOffset) != segment_start + page_start) {
        return Internal("WAL page at " + std::to_string(segment_start + page_start) +
                        " was not written for its position");
      }
      size_t take = std::min(length, page_start + block_size - offset);
      runs.emplace_back(offset, take);
      offset += take;
      length -= take;
    }
    return offset;
  };
  size_t page_of_record = record_offset / block_size;
  if (record_offset % 8 != 0 || record_offset % block_size < header_size(page_of_record)) {
    return Internal("no WAL record can start at segment offset " + std::to_string(record_offset));
  }
  // Read the header first (it may itself be split by a page boundary), then the whole record.
  DBLAB_TRY(collect(record_offset, kRecordHeaderSize));
  std::string header;
  for (auto [offset, length] : runs) header.append(bytes, offset, length);
  uint32_t total_length = Load<uint32_t>(header.data());
  uint8_t info = static_cast<uint8_t>(header[16]);
  uint8_t rmgr = static_cast<uint8_t>(header[17]);
  if (rmgr != kXlogRmgr || (info & kRmgrInfoMask) != kCheckpointShutdownInfo ||
      total_length < kRecordHeaderSize || total_length > block_size) {
    return Internal("no shutdown checkpoint record at WAL segment offset " +
                    std::to_string(record_offset));
  }
  runs.clear();
  DBLAB_ASSIGN_OR_RETURN(size_t end, collect(record_offset, total_length));
  size_t last_page = (end - 1) / block_size;
  std::string kept(bytes.size(), '\0');
  for (size_t page = 0; page <= last_page; ++page) {
    size_t start = page * block_size;
    kept.replace(start, header_size(page), bytes, start, header_size(page));
  }
  for (auto [offset, length] : runs) kept.replace(offset, length, bytes, offset, length);
  bytes = std::move(kept);
  return OkStatus();
}

Status KeepOnlyShutdownCheckpoint(const std::string& data_dir) {
  DBLAB_ASSIGN_OR_RETURN(ShutdownCheckpoint checkpoint, ReadShutdownCheckpoint(data_dir));
  std::string wal = data_dir + "/pg_wal";
  DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(wal));
  // Every segment has the cluster's segment size; the checkpoint's one is read in full.
  uint64_t segment_size = 0;
  for (const auto& name : names) {
    struct stat info {};
    if (IsSegmentName(name) && stat((wal + "/" + name).c_str(), &info) == 0) {
      segment_size = static_cast<uint64_t>(info.st_size);
      break;
    }
  }
  if (segment_size == 0 || (segment_size & (segment_size - 1)) != 0) {
    return Internal(wal + " holds no WAL segment of a valid size");
  }
  std::string keep = WalSegmentName(checkpoint.timeline, checkpoint.lsn, segment_size);
  std::string path = wal + "/" + keep;
  DBLAB_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path, segment_size));
  uint64_t segment_start = checkpoint.lsn / segment_size * segment_size;
  if (Status kept = KeepOnlyCheckpointRecord(bytes, segment_start, checkpoint.lsn - segment_start);
      !kept.ok()) {
    return kept.error().Wrap(path);
  }
  // In place: the file keeps its owner and mode, and a nodatacow pool overwrites the old bytes.
  Fd out(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!out.valid()) return Internal("cannot open " + path + " for writing: " + strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        pwrite(out.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal("cannot write " + path + ": " + strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (fsync(out.get()) != 0) return Internal("cannot fsync " + path + ": " + strerror(errno));
  for (const auto& name : names) {
    bool segment = IsSegmentName(name) || (EndsWith(name, ".partial") && name.size() > 24 &&
                                           IsSegmentName(name.substr(0, 24)));
    if (segment && name != keep && unlink((wal + "/" + name).c_str()) != 0 && errno != ENOENT) {
      return Internal("cannot remove " + wal + "/" + name + ": " + strerror(errno));
    }
  }
  std::string status_dir = wal + "/archive_status";
  if (auto statuses = ListDir(status_dir); statuses.ok()) {
    for (const auto& name : *statuses) {
      bool of_segment = name.size() > 24 && IsSegmentName(name.substr(0, 24));
      if (of_segment && name.compare(0, 24, keep) != 0)
        (void)unlink((status_dir + "/" + name).c_str());
    }
  }
  Fd dir(open(wal.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) (void)fsync(dir.get());
  return OkStatus();
}

}  // namespace dblab
