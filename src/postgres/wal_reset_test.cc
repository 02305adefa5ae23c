#include "postgres/wal_reset.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace dblab {
namespace {

constexpr size_t kBlock = 8192;
constexpr size_t kSegment = 1 << 20;  // the smallest segment initdb allows: tests stay small
constexpr uint32_t kRecord = 104;     // a checkpoint record's length (no 'x' or 'c' byte in it)
constexpr size_t kRecordFiller = kRecord - 6;  // its 'c' bytes (not length, info, rmgr)

template <typename T>
void Store(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// A written segment starting at `start`: every page has a header for its position, and every
// body byte is 'x' (an original value masking replaced).
std::string WrittenSegment(uint64_t start) {
  std::string bytes(kSegment, 'x');
  for (size_t page = 0; page < kSegment / kBlock; ++page) {
    size_t offset = page * kBlock;
    Store<uint16_t>(bytes, offset, 0xD113);
    Store<uint16_t>(bytes, offset + 2, page == 0 ? 0x0002 : 0x0001);
    Store<uint32_t>(bytes, offset + 4, 1);
    Store<uint64_t>(bytes, offset + 8, start + offset);
    Store<uint32_t>(bytes, offset + 16, 0);
    std::memset(bytes.data() + offset + 20, 0, 4);
    if (page == 0) {
      Store<uint64_t>(bytes, 24, 7);
      Store<uint32_t>(bytes, 32, kSegment);
      Store<uint32_t>(bytes, 36, kBlock);
    }
  }
  return bytes;
}

// Writes a shutdown checkpoint record of `length` bytes ('c' after its header) at `offset`,
// continuing after the next page's short header when it reaches a page end.
void PutCheckpoint(std::string& bytes, size_t offset, uint32_t length) {
  std::string record(length, 'c');
  Store<uint32_t>(record, 0, length);
  record[16] = 0;  // XLOG_CHECKPOINT_SHUTDOWN
  record[17] = 0;  // RM_XLOG_ID
  size_t at = offset;
  for (char c : record) {
    if (at % kBlock == 0) at += 24;
    bytes[at++] = c;
  }
}

size_t Count(const std::string& bytes, char c) { return std::count(bytes.begin(), bytes.end(), c); }

TEST(WalReset, SegmentNamesFollowTimelineAndPosition) {
  EXPECT_EQ(WalSegmentName(1, 0x0A000028, 16 << 20), "00000001000000000000000A");
  EXPECT_EQ(WalSegmentName(2, 0x1'0300'0000, 16 << 20), "000000020000000100000003");
  EXPECT_EQ(WalSegmentName(1, 0x5'0000'0000 + (3 << 20), 1 << 20), "000000010000000500000003");
}

TEST(WalReset, OnlyTheCheckpointRecordAndPageHeadersUpToItStay) {
  // Given a segment full of old records, with the shutdown checkpoint on its third page,
  uint64_t start = 5 * kSegment;
  std::string bytes = WrittenSegment(start);
  size_t offset = 2 * kBlock + 1000;
  PutCheckpoint(bytes, offset, kRecord);
  std::string before = bytes;

  // when everything else is cleared,
  ASSERT_TRUE(KeepOnlyCheckpointRecord(bytes, start, offset).ok());

  // then no old byte survives, the record is intact, pages 0-2 keep their headers (a clone's WAL
  // copy reads the run of valid pages up to the record) and later pages are zero.
  EXPECT_EQ(bytes.size(), kSegment);
  EXPECT_EQ(Count(bytes, 'x'), 0u);
  EXPECT_EQ(bytes.compare(offset, kRecord, before, offset, kRecord), 0);
  EXPECT_EQ(bytes.compare(0, 40, before, 0, 40), 0);
  EXPECT_EQ(bytes.compare(kBlock, 24, before, kBlock, 24), 0);
  EXPECT_EQ(bytes.compare(2 * kBlock, 24, before, 2 * kBlock, 24), 0);
  EXPECT_EQ(bytes.find_first_not_of('\0', offset + kRecord), std::string::npos);
}

TEST(WalReset, ARecordSplitByAPageBoundaryKeepsBothParts) {
  uint64_t start = 0;
  std::string bytes = WrittenSegment(start);
  size_t offset = 4 * kBlock - 16;  // its header is split: 16 bytes here, 8 after the next header
  PutCheckpoint(bytes, offset, kRecord);

  ASSERT_TRUE(KeepOnlyCheckpointRecord(bytes, start, offset).ok());

  EXPECT_EQ(Count(bytes, 'x'), 0u);
  EXPECT_EQ(Count(bytes, 'c'), kRecordFiller);
  uint64_t next_page_address;
  std::memcpy(&next_page_address, bytes.data() + 4 * kBlock + 8, 8);
  EXPECT_EQ(next_page_address, 4 * kBlock);  // the continuation page's header stays
  EXPECT_EQ(bytes.find_first_not_of('\0', 4 * kBlock + 24 + (kRecord - 16)), std::string::npos);
}

TEST(WalReset, RefusesWhatIsNoShutdownCheckpoint) {
  std::string bytes = WrittenSegment(0);
  PutCheckpoint(bytes, kBlock + 64, kRecord);
  std::string other_record = bytes;
  other_record[kBlock + 64 + 17] = 10;  // another resource manager's record
  EXPECT_FALSE(KeepOnlyCheckpointRecord(other_record, 0, kBlock + 64).ok());
  std::string copy = bytes;
  EXPECT_FALSE(KeepOnlyCheckpointRecord(copy, kSegment, kBlock + 64).ok());  // wrong position
  EXPECT_FALSE(KeepOnlyCheckpointRecord(copy, 0, kBlock + 8).ok());          // inside a page header
  std::string at_end = WrittenSegment(0);
  PutCheckpoint(at_end, kSegment - 64, 60);
  Store<uint32_t>(at_end, kSegment - 64, 200);  // would run past the segment
  EXPECT_FALSE(KeepOnlyCheckpointRecord(at_end, 0, kSegment - 64).ok());
  EXPECT_EQ(bytes, copy);  // a refusal changes nothing
}

class WalResetDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/dblab-wal-reset-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    std::filesystem::create_directories(dir_ + "/global");
    std::filesystem::create_directories(dir_ + "/pg_wal/archive_status");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteControl(int32_t state, uint64_t checkpoint, uint64_t redo) {
    std::string control(8192, '\0');
    Store<uint32_t>(control, 8, 1300);
    Store<int32_t>(control, 16, state);
    Store<uint64_t>(control, 32, checkpoint);
    Store<uint64_t>(control, 40, redo);
    Store<uint32_t>(control, 48, 1);
    Write("global/pg_control", control);
  }
  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
  }
  bool Exists(const std::string& name) { return std::filesystem::exists(dir_ + "/" + name); }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string dir_;
};

TEST_F(WalResetDirTest, KeepsOnlyTheCheckpointSegmentAndHistories) {
  // Given a clean stop whose checkpoint is in segment 3, an older segment, a recycled future
  // one, a promotion's .partial and their archive statuses,
  uint64_t checkpoint = 3 * kSegment + kBlock + 64;
  WriteControl(1, checkpoint, checkpoint);
  std::string current = WrittenSegment(3 * kSegment);
  PutCheckpoint(current, kBlock + 64, kRecord);
  Write("pg_wal/000000010000000000000003", current);
  Write("pg_wal/000000010000000000000002", WrittenSegment(2 * kSegment));
  Write("pg_wal/000000010000000000000004", WrittenSegment(0));
  Write("pg_wal/000000010000000000000001.partial", WrittenSegment(kSegment));
  Write("pg_wal/00000001.history", "1\t0/3000000\tno recovery target specified\n");
  Write("pg_wal/archive_status/000000010000000000000002.ready", "");
  Write("pg_wal/archive_status/00000001.history.done", "");

  // when the WAL is reset,
  auto reset = KeepOnlyShutdownCheckpoint(dir_);
  ASSERT_TRUE(reset.ok()) << reset.error().message;

  // then only the checkpoint's segment (without old bytes) and the history remain.
  EXPECT_TRUE(Exists("pg_wal/000000010000000000000003"));
  EXPECT_FALSE(Exists("pg_wal/000000010000000000000002"));
  EXPECT_FALSE(Exists("pg_wal/000000010000000000000004"));
  EXPECT_FALSE(Exists("pg_wal/000000010000000000000001.partial"));
  EXPECT_FALSE(Exists("pg_wal/archive_status/000000010000000000000002.ready"));
  EXPECT_TRUE(Exists("pg_wal/00000001.history"));
  EXPECT_TRUE(Exists("pg_wal/archive_status/00000001.history.done"));
  std::string kept = Read("pg_wal/000000010000000000000003");
  EXPECT_EQ(kept.size(), kSegment);
  EXPECT_EQ(Count(kept, 'x'), 0u);
  EXPECT_EQ(Count(kept, 'c'), kRecordFiller);
}

TEST_F(WalResetDirTest, RefusesDataThatWasNotStoppedCleanly) {
  WriteControl(6, 3 * kSegment + 64, 3 * kSegment + 64);  // DB_IN_PRODUCTION: crashed
  Write("pg_wal/000000010000000000000003", WrittenSegment(3 * kSegment));
  auto reset = KeepOnlyShutdownCheckpoint(dir_);
  ASSERT_FALSE(reset.ok());
  EXPECT_NE(reset.error().message.find("not stopped cleanly"), std::string::npos);
  EXPECT_GT(Count(Read("pg_wal/000000010000000000000003"), 'x'), 0u);
}

}  // namespace
}  // namespace dblab
