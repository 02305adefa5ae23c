#include "cloning/clone_wal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dblab {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSegSize = 1u << 20;  // a 1 MB segment (initdb --wal-segsize=1)
constexpr uint32_t kBlock = 8192;

// A WAL segment whose first `valid` pages carry headers for the position in `name`, followed by
// pages of an older life of the file (a recycled segment) at `stale_addr`.
std::string Segment(const std::string& name, size_t valid, uint64_t stale_addr = 0) {
  uint64_t log = std::stoull(name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(name.substr(16, 8), nullptr, 16);
  uint64_t start = (log * (uint64_t{0x100000000} / kSegSize) + seg) * kSegSize;
  std::string bytes(kSegSize, '\0');
  for (size_t page = 0; page < kSegSize / kBlock; ++page) {
    char* p = bytes.data() + page * kBlock;
    uint64_t addr = page < valid ? start + page * kBlock : stale_addr + page * kBlock;
    if (page >= valid && stale_addr == 0) break;
    uint16_t magic = 0xD110;
    uint16_t info = page == 0 ? 0x0002 : 0;
    std::memcpy(p, &magic, 2);
    std::memcpy(p + 2, &info, 2);
    std::memcpy(p + 8, &addr, 8);
    if (page == 0) {
      std::memcpy(p + 32, &kSegSize, 4);
      std::memcpy(p + 36, &kBlock, 4);
    }
    std::memset(p + 40, 'x', 100);  // record bytes
  }
  return bytes;
}

TEST(ValidWalPrefixTest, StopsAtTheFirstPageOfAnotherPosition) {
  std::string name = "000000010000000000000003";
  std::string bytes = Segment(name, 5, /*stale_addr=*/kSegSize);
  EXPECT_EQ(ValidWalPrefix(name, bytes.data(), bytes.size()), 5 * kBlock);
}

TEST(ValidWalPrefixTest, WholeSegmentWhenEveryPageIsValid) {
  std::string name = "000000020000000100000002";
  std::string bytes = Segment(name, kSegSize / kBlock);
  EXPECT_EQ(ValidWalPrefix(name, bytes.data(), bytes.size()), kSegSize);
}

TEST(ValidWalPrefixTest, RecycledOrEmptySegmentsHaveNothing) {
  std::string name = "000000010000000000000007";
  std::string recycled = Segment("000000010000000000000002", 128);  // renamed to 07
  EXPECT_EQ(ValidWalPrefix(name, recycled.data(), recycled.size()), 0u);
  std::string zeros(kSegSize, '\0');
  EXPECT_EQ(ValidWalPrefix(name, zeros.data(), zeros.size()), 0u);
  std::string valid = Segment(name, 3);
  EXPECT_EQ(ValidWalPrefix("00000001000000000000000X", valid.data(), valid.size()), 0u);
  EXPECT_EQ(ValidWalPrefix(name + ".partial", valid.data(), valid.size()), 0u);
  EXPECT_EQ(ValidWalPrefix(name, valid.data(), 20), 0u);
}

class CloneWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab-clone-wal-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    data_ = dir_ + "/clone";
    fs::create_directories(data_ + "/pg_wal/archive_status");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }

  std::string dir_, data_;
};

TEST_F(CloneWalTest, MovesOnlyTheNeededWalOutAndBackForASnapshot) {
  std::string current = "000000010000000000000004";
  std::string recycled = "000000010000000000000005";
  Write(data_ + "/pg_wal/" + current, Segment(current, 3, /*stale_addr=*/kSegSize));
  Write(data_ + "/pg_wal/" + recycled, Segment("000000010000000000000001", 128));
  Write(data_ + "/pg_wal/00000002.history", "1\t0/4000000\tno recovery target specified\n");
  CloneWal wal(dir_ + "/wal", getuid(), getgid());

  ASSERT_TRUE(wal.Externalize(data_, "c1").ok());
  EXPECT_TRUE(fs::is_symlink(data_ + "/pg_wal"));
  EXPECT_EQ(fs::read_symlink(data_ + "/pg_wal"), dir_ + "/wal/c1");
  std::string copy = Read(dir_ + "/wal/c1/" + current);
  ASSERT_EQ(copy.size(), kSegSize);  // full size, the rest a hole
  EXPECT_EQ(copy.substr(0, 3 * kBlock), Segment(current, 3).substr(0, 3 * kBlock));
  EXPECT_EQ(copy.substr(3 * kBlock), std::string(kSegSize - 3 * kBlock, '\0'));
  EXPECT_FALSE(fs::exists(dir_ + "/wal/c1/" + recycled));
  EXPECT_TRUE(fs::exists(dir_ + "/wal/c1/00000002.history"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/wal/c1/archive_status"));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/wal/c1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto inside = wal.Internalize(data_, "c1");
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_TRUE(*inside);
  EXPECT_FALSE(fs::is_symlink(data_ + "/pg_wal"));
  EXPECT_EQ(Read(data_ + "/pg_wal/" + current), copy);
  ASSERT_TRUE(wal.Relink(data_, "c1").ok());
  EXPECT_TRUE(fs::is_symlink(data_ + "/pg_wal"));

  auto again = wal.Internalize(data_ + "-missing-is-error", "c1");
  EXPECT_FALSE(again.ok());
  ASSERT_TRUE(wal.Remove("c1").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/wal/c1"));
}

TEST_F(CloneWalTest, CopiesValidPagesBeyondTheFirstReads) {
  std::string current = "000000010000000000000004";
  // 100 valid pages (800 KB): more than the first 64 KB and 256 KB reads.
  std::string bytes = Segment(current, 100, /*stale_addr=*/kSegSize);
  Write(data_ + "/pg_wal/" + current, bytes);
  CloneWal wal(dir_ + "/wal", getuid(), getgid());
  ASSERT_TRUE(wal.Externalize(data_, "c1").ok());
  std::string copy = Read(dir_ + "/wal/c1/" + current);
  ASSERT_EQ(copy.size(), kSegSize);
  EXPECT_EQ(copy.substr(0, 100 * kBlock), bytes.substr(0, 100 * kBlock));
  EXPECT_EQ(copy.substr(100 * kBlock), std::string(kSegSize - 100 * kBlock, '\0'));
}

// global/pg_control of a cleanly stopped server of `version` whose shutdown checkpoint (and so
// its redo point) is at `lsn` on `timeline`.
std::string Control(uint64_t lsn, uint32_t timeline, uint32_t version = 1300, int32_t state = 1) {
  std::string bytes(8192, '\0');
  std::memcpy(bytes.data() + 8, &version, 4);
  std::memcpy(bytes.data() + 16, &state, 4);
  std::memcpy(bytes.data() + 32, &lsn, 8);
  std::memcpy(bytes.data() + 40, &lsn, 8);
  std::memcpy(bytes.data() + 48, &timeline, 4);
  return bytes;
}

TEST_F(CloneWalTest, OfTheSegmentAStoppedServerStartsInOnlyTheFirstPageAndFromItsRedoOn) {
  // A masked snapshot: 90 pages of headers over zeroed records, the shutdown checkpoint on page
  // 90 and a few pages after it. The clone's server reads page 0 and from page 90 on.
  std::string current = "000000010000000000000004";
  std::string bytes = Segment(current, 93, /*stale_addr=*/kSegSize);
  Write(data_ + "/pg_wal/" + current, bytes);
  fs::create_directories(data_ + "/global");
  uint64_t redo = 4 * uint64_t{kSegSize} + 90 * kBlock + 40;
  Write(data_ + "/global/pg_control", Control(redo, 1));
  CloneWal wal(dir_ + "/wal", getuid(), getgid());
  ASSERT_TRUE(wal.Externalize(data_, "c1").ok());
  std::string copy = Read(dir_ + "/wal/c1/" + current);
  ASSERT_EQ(copy.size(), kSegSize);
  EXPECT_EQ(copy.substr(0, kBlock), bytes.substr(0, kBlock));
  EXPECT_EQ(copy.substr(kBlock, 89 * kBlock), std::string(89 * kBlock, '\0'));
  EXPECT_EQ(copy.substr(90 * kBlock, 3 * kBlock), bytes.substr(90 * kBlock, 3 * kBlock));
  EXPECT_EQ(copy.substr(93 * kBlock), std::string(kSegSize - 93 * kBlock, '\0'));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/wal/c1/" + current).c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 8 * kBlock) << "the skipped pages are a hole";

  // The clone's server writes on (pages 93-99) and checkpoints while running (redo on page 95,
  // the record on page 96): a snapshot of it gets the first page and pages 95-99 back inside,
  // though its WAL directory has a hole where the snapshot's pages were never copied.
  std::string later = Segment(current, 100, /*stale_addr=*/kSegSize);
  {
    std::fstream out(dir_ + "/wal/c1/" + current, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(93 * kBlock);
    out.write(later.data() + 93 * kBlock, 7 * kBlock);
  }
  uint64_t running_redo = 4 * uint64_t{kSegSize} + 95 * kBlock + 100;
  std::string control = Control(running_redo, 1, 1300, /*state=in production*/ 4);
  uint64_t checkpoint = running_redo + kBlock;
  std::memcpy(control.data() + 32, &checkpoint, 8);
  Write(data_ + "/global/pg_control", control);
  auto inside = wal.Internalize(data_, "c1");
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  std::string back = Read(data_ + "/pg_wal/" + current);
  ASSERT_EQ(back.size(), kSegSize);
  EXPECT_EQ(back.substr(0, kBlock), later.substr(0, kBlock));
  EXPECT_EQ(back.substr(kBlock, 94 * kBlock), std::string(94 * kBlock, '\0'));
  EXPECT_EQ(back.substr(95 * kBlock, 5 * kBlock), later.substr(95 * kBlock, 5 * kBlock));

  // A backup_label (recovery may start further back) or another timeline gets every valid page.
  for (int variant = 0; variant < 2; ++variant) {
    fs::remove_all(data_ + "/pg_wal");
    fs::create_directories(data_ + "/pg_wal");
    Write(data_ + "/pg_wal/" + current, bytes);
    fs::remove(data_ + "/backup_label");
    Write(data_ + "/global/pg_control", Control(redo, variant == 1 ? 2 : 1));
    if (variant == 0) Write(data_ + "/backup_label", "START WAL LOCATION: 0/4000028\n");
    ASSERT_TRUE(wal.Externalize(data_, "c" + std::to_string(variant + 2)).ok());
    std::string whole = Read(dir_ + "/wal/c" + std::to_string(variant + 2) + "/" + current);
    EXPECT_EQ(whole.substr(0, 93 * kBlock), bytes.substr(0, 93 * kBlock)) << variant;
  }
}

TEST_F(CloneWalTest, NeverFollowsSymlinksPlantedByTheClone) {
  std::string current = "000000010000000000000004";
  Write(data_ + "/pg_wal/" + current, Segment(current, 2));
  CloneWal wal(dir_ + "/wal", getuid(), getgid());
  ASSERT_TRUE(wal.Externalize(data_, "c1").ok());
  // The clone's superuser replaces a segment by a link to a file of the host.
  Write(dir_ + "/secret", "host secret");
  std::string planted = dir_ + "/wal/c1/000000010000000000000009";
  ASSERT_EQ(symlink((dir_ + "/secret").c_str(), planted.c_str()), 0);
  std::string history = dir_ + "/wal/c1/00000003.history";
  ASSERT_EQ(symlink((dir_ + "/secret").c_str(), history.c_str()), 0);
  auto inside = wal.Internalize(data_, "c1");
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_FALSE(fs::exists(data_ + "/pg_wal/000000010000000000000009"));
  EXPECT_FALSE(fs::exists(data_ + "/pg_wal/00000003.history"));
  EXPECT_TRUE(fs::exists(data_ + "/pg_wal/" + current));
}

TEST_F(CloneWalTest, WalInsideAlreadyAndOrphansAndOffAreLeftAlone) {
  CloneWal wal(dir_ + "/wal", getuid(), getgid());
  auto inside = wal.Internalize(data_, "old");  // a clone made with its WAL inside
  ASSERT_TRUE(inside.ok());
  EXPECT_FALSE(*inside);
  EXPECT_TRUE(fs::is_directory(data_ + "/pg_wal/archive_status"));

  fs::create_directories(dir_ + "/wal/keep");
  fs::create_directories(dir_ + "/wal/gone");
  wal.RemoveOrphans({"keep"});
  EXPECT_TRUE(fs::exists(dir_ + "/wal/keep"));
  EXPECT_FALSE(fs::exists(dir_ + "/wal/gone"));

  EXPECT_FALSE(wal.Externalize(data_, "../x").ok());
  EXPECT_FALSE(wal.Externalize(data_, "c2").ok());  // no valid segment: refused, nothing left
  EXPECT_FALSE(fs::exists(dir_ + "/wal/c2"));
  EXPECT_TRUE(fs::is_directory(data_ + "/pg_wal"));

  CloneWal off("", getuid(), getgid());
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.Externalize(data_, "c3").ok());
  EXPECT_TRUE(fs::is_directory(data_ + "/pg_wal"));
}

TEST_F(CloneWalTest, BytesCountWhatIsInTheDirectoryButNotWhatALinkPointsTo) {
  CloneWal wal(dir_ + "/wal", getuid(), getgid());
  EXPECT_EQ(wal.Bytes("none"), 0);
  fs::create_directories(dir_ + "/wal/c1/archive_status");
  {
    std::ofstream out(dir_ + "/wal/c1/archive_status/big", std::ios::binary);
    out << std::string(1 << 20, 'x');
  }
  {
    std::ofstream out(dir_ + "/elsewhere", std::ios::binary);
    out << std::string(4 << 20, 'y');
  }
  fs::create_symlink(dir_ + "/elsewhere", dir_ + "/wal/c1/link");
  int64_t bytes = wal.Bytes("c1");
  EXPECT_GE(bytes, 1 << 20);
  EXPECT_LT(bytes, 2 << 20);
  EXPECT_EQ(wal.Bytes("../wal/c1"), 0);
  auto space = wal.FilesystemSpace();
  ASSERT_TRUE(space.ok());
  EXPECT_GT(space->first, 0);
  EXPECT_FALSE(CloneWal("", getuid(), getgid()).FilesystemSpace().ok());
}

constexpr int64_t kMiB = int64_t{1} << 20, kGiB = int64_t{1} << 30;

TEST(WalGuardTest, StopsEveryCloneOverItsLimitAndNothingElseWhenSpaceIsPlenty) {
  WalGuardLimits limits{.max_per_clone = 4 * kGiB, .fs_size = 100 * kGiB, .fs_free = 50 * kGiB};
  auto stops =
      DecideWalStops({{"a", 1 * kGiB}, {"b", 5 * kGiB}, {"c", 4 * kGiB}, {"d", 9 * kGiB}}, limits);
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(stops[0].clone_id, "b");
  EXPECT_EQ(stops[1].clone_id, "d");
  EXPECT_NE(stops[0].reason.find("5.0 GiB, more than provision.cloneWalMaxSize (4.0 GiB)"),
            std::string::npos)
      << stops[0].reason;
  limits.max_per_clone = 0;  // no limit
  EXPECT_TRUE(DecideWalStops({{"d", 90 * kGiB}}, limits).empty());
}

TEST(WalGuardTest, LowSpaceStopsTheLargestHolderOnlyWhenItHoldsSomething) {
  // Reserve: 5% of 20 GiB = 1 GiB (less than 2 GiB).
  WalGuardLimits limits{.max_per_clone = 0, .fs_size = 20 * kGiB, .fs_free = kGiB - 1};
  auto stops = DecideWalStops({{"a", 100 * kMiB}, {"b", 3 * kGiB}, {"c", 2 * kGiB}}, limits);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].clone_id, "b");
  EXPECT_NE(stops[0].reason.find("under its reserve of 1.0 GiB"), std::string::npos)
      << stops[0].reason;
  // Nobody holds more than 64 MiB: the space went elsewhere, no clone is to blame.
  EXPECT_TRUE(DecideWalStops({{"a", 64 * kMiB}, {"b", 16 * kMiB}}, limits).empty());
  // Enough free: nothing.
  limits.fs_free = kGiB;
  EXPECT_TRUE(DecideWalStops({{"b", 3 * kGiB}}, limits).empty());
  // A large filesystem: the reserve is 2 GiB.
  limits = {.max_per_clone = 2 * kGiB, .fs_size = 1000 * kGiB, .fs_free = kGiB};
  stops = DecideWalStops({{"a", 3 * kGiB}, {"b", kGiB}}, limits);
  ASSERT_EQ(stops.size(), 2u);  // a over the limit, then b as the largest of the rest
  EXPECT_EQ(stops[0].clone_id, "a");
  EXPECT_EQ(stops[1].clone_id, "b");
}

}  // namespace
}  // namespace dblab
