#include "masking/scan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace dblab {
namespace {

namespace fs = std::filesystem;

std::vector<int64_t> Count(const NeedleScanner& scanner, const std::string& data) {
  std::vector<int64_t> counts(scanner.needles().size(), 0);
  scanner.Scan(data, counts);
  return counts;
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return bytes;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/dblab-scan-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& bytes) const {
    fs::create_directories(fs::path(path_ + "/" + name).parent_path());
    std::ofstream(path_ + "/" + name, std::ios::binary) << bytes;
  }

 private:
  std::string path_;
};

TEST(NeedleScannerTest, CountsEveryOccurrenceOfEveryNeedle) {
  NeedleScanner scanner({"alice@example.com", "bob@example.org", "alice"});
  EXPECT_EQ(Count(scanner, "xx alice@example.com yy bob@example.org alice@example.com"),
            (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(Count(scanner, "nothing here"), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(Count(scanner, "alic"), (std::vector<int64_t>{0, 0, 0}));
}

TEST(NeedleScannerTest, NeedlesSharingTheirFirstBytesAreTellApart) {
  NeedleScanner scanner({"+1-555-0100", "+1-555-0199", "+1-5"});
  EXPECT_EQ(Count(scanner, "call +1-555-0199 now"), (std::vector<int64_t>{0, 1, 1}));
}

TEST(NeedleScannerTest, IgnoresNeedlesTooShortToMeanAnything) {
  NeedleScanner scanner({"abc", "", "abcd"});
  ASSERT_EQ(scanner.needles(), (std::vector<std::string>{"abcd"}));
  EXPECT_EQ(Count(scanner, "abcabcd"), (std::vector<int64_t>{1}));
}

TEST(NeedleScannerTest, FindsNeedlesInBinaryDataWithZeroBytes) {
  std::string data = RandomBytes(100000, 1);
  std::string needle = "4f9a0c3e" + std::string(1, '\0') + "tail";
  data.replace(5000, needle.size(), needle);
  data.replace(99990, 5, "4f9a0");  // a prefix at the very end is no match
  NeedleScanner scanner({needle});
  EXPECT_EQ(Count(scanner, data), (std::vector<int64_t>{1}));
}

TEST(NeedleScannerTest, AFileScanCountsNeedlesAcrossChunkBordersOnce) {
  TempDir dir;
  constexpr size_t kChunk = 4 << 20;  // ScanFile's read size
  std::string needle(3000, 'x');      // longer than a TOAST chunk, like a big value
  for (size_t i = 0; i < needle.size(); ++i) needle[i] = "0123456789abcdef"[(i * 7 + i / 16) % 16];
  std::string data = RandomBytes(3 * kChunk, 2);
  for (size_t at : {size_t{10}, kChunk - 1500, 2 * kChunk - 1, 3 * kChunk - needle.size()}) {
    data.replace(at, needle.size(), needle);
  }
  dir.Write("base/1/16384", data);
  NeedleScanner scanner({needle, "short-needle"});
  auto counts = scanner.ScanFile(dir.path() + "/base/1/16384");
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(*counts, (std::vector<int64_t>{4, 0}));
}

TEST(ScanTreeTest, NamesEachFileWithItsCountsAndSkipsLinks) {
  TempDir dir;
  dir.Write("base/5/16390", "...mary@example.net...mary@example.net...");
  dir.Write("pg_wal/000000010000000000000001", "john@example.net");
  dir.Write("global/pg_control", "clean");
  fs::create_symlink("/etc/passwd", dir.path() + "/pg_wal/link");
  NeedleScanner scanner({"mary@example.net", "john@example.net", "root:x:0:0"});
  auto scan = ScanTree(scanner, dir.path());
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_EQ(scan->files, 3);
  ASSERT_EQ(scan->hits.size(), 2u);
  std::map<std::string, std::pair<size_t, int64_t>> by_file;
  for (const auto& hit : scan->hits) by_file[hit.file] = {hit.needle, hit.count};
  EXPECT_EQ(by_file["base/5/16390"], (std::pair<size_t, int64_t>{0, 2}));
  EXPECT_EQ(by_file["pg_wal/000000010000000000000001"], (std::pair<size_t, int64_t>{1, 1}));
}

TEST(ScanTreeTest, AMissingDirectoryIsAnErrorNotACleanBill) {
  NeedleScanner scanner({"anything"});
  EXPECT_FALSE(ScanTree(scanner, "/nonexistent/dblab-scan-test").ok());
}

}  // namespace
}  // namespace dblab
