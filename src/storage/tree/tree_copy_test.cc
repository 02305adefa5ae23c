#include "storage/tree/tree_copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dblab {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/dblab-tree-unit-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { (void)RemoveTree(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  std::ofstream(path, std::ios::trunc) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

void SetMtime(const std::string& path, time_t seconds) {
  const struct timespec times[2] = {{seconds, 0}, {seconds, 123456789}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// A small PGDATA look-alike with every kind of entry the copier must keep.
void MakeDataDirectory(const std::string& data) {
  ASSERT_EQ(::mkdir(data.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((data + "/base").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((data + "/base/1").c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((data + "/pg_notify").c_str(), 0700), 0);  // empty directory
  WriteFile(data + "/PG_VERSION", "15\n");
  WriteFile(data + "/base/1/1259", std::string(3 * 8192 + 17, 'r'), 0640);
  WriteFile(data + "/postmaster.pid", "12345\n");
  WriteFile(data + "/base/postmaster.pid", "not the server's\n");
  ASSERT_EQ(::symlink("/somewhere/tablespace", (data + "/pg_tblspc_link").c_str()), 0);
  ASSERT_EQ(::symlink("base/1", (data + "/relative_link").c_str()), 0);
  ASSERT_EQ(::mkfifo((data + "/fifo").c_str(), 0620), 0);
  SetMtime(data + "/base/1/1259", 1000000000);
  SetMtime(data + "/relative_link", 1100000000);
  SetMtime(data + "/base/1", 1200000000);
  SetMtime(data + "/base", 1300000000);
  SetMtime(data, 1400000000);
}

void ExpectSameEntry(const std::string& source, const std::string& copy) {
  struct stat a = Lstat(source);
  struct stat b = Lstat(copy);
  EXPECT_EQ(a.st_mode, b.st_mode) << copy;
  EXPECT_EQ(a.st_uid, b.st_uid) << copy;
  EXPECT_EQ(a.st_gid, b.st_gid) << copy;
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << copy;
  EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << copy;
  if (S_ISREG(a.st_mode)) {
    EXPECT_EQ(a.st_size, b.st_size) << copy;
    EXPECT_EQ(ReadFile(source), ReadFile(copy)) << copy;
  }
  if (S_ISLNK(a.st_mode)) {
    EXPECT_EQ(std::filesystem::read_symlink(source), std::filesystem::read_symlink(copy));
  }
}

TEST(TreeCopyTest, CopiesEveryEntryWithOwnerModeAndTimes) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeDataDirectory(data);
  if (::geteuid() == 0) {  // a different owner, as postgres would be
    for (const char* entry : {"", "/base", "/base/1", "/base/1/1259", "/PG_VERSION"}) {
      ASSERT_EQ(::lchown((data + entry).c_str(), 4242, 4243), 0);
    }
    ASSERT_EQ(::lchown((data + "/relative_link").c_str(), 4242, 4243), 0);
  }

  TreeCopyOptions options;
  options.skip_top_level = {"postmaster.pid"};
  auto copied = CopyTree(data, dir.path() + "/copy", options);

  ASSERT_TRUE(copied.ok()) << copied.error().message;
  const std::string copy = dir.path() + "/copy";
  for (const char* entry : {"", "/base", "/base/1", "/base/1/1259", "/PG_VERSION", "/pg_notify",
                            "/pg_tblspc_link", "/relative_link", "/fifo", "/base/postmaster.pid"}) {
    ExpectSameEntry(data + entry, copy + entry);
  }
  EXPECT_FALSE(std::filesystem::exists(copy + "/postmaster.pid"))
      << "a clone must not start with the source server's pid file";
  EXPECT_EQ(copied->files, 3);  // PG_VERSION, 1259, base/postmaster.pid
  EXPECT_EQ(copied->directories, 4);
  EXPECT_EQ(copied->symlinks, 2);
  EXPECT_EQ(copied->bytes, 3 + 3 * 8192 + 17 + 17);
  EXPECT_EQ(copied->protected_entries, 0);
}

TEST(TreeCopyTest, RefusesAnExistingDestinationAndAMissingSource) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeDataDirectory(data);
  ASSERT_EQ(::mkdir((dir.path() + "/taken").c_str(), 0700), 0);

  auto taken = CopyTree(data, dir.path() + "/taken", {});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);

  auto missing = CopyTree(dir.path() + "/missing", dir.path() + "/copy", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/copy"));
}

TEST(TreeCopyTest, ImmutableCopyResistsEvenRootUntilRemoveTreeClearsIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "FS_IMMUTABLE_FL needs CAP_LINUX_IMMUTABLE";
  TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeDataDirectory(data);
  TreeCopyOptions options;
  options.make_immutable = true;
  const std::string copy = dir.path() + "/copy";

  auto copied = CopyTree(data, copy, options);

  ASSERT_TRUE(copied.ok()) << copied.error().message;
  if (copied->protected_entries == 0) GTEST_SKIP() << "/tmp has no immutable flag";
  // Everything below the top is frozen: root can neither write, create nor delete.
  EXPECT_LT(::open((copy + "/PG_VERSION").c_str(), O_WRONLY | O_CLOEXEC), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_LT(::open((copy + "/base/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600), 0);
  EXPECT_NE(::unlink((copy + "/base/1/1259").c_str()), 0);
  // The top stays writable until the caller protects it (so it can be renamed into place).
  auto protect = SetImmutable(copy, true);
  ASSERT_TRUE(protect.ok()) << protect.error().message;
  EXPECT_TRUE(*protect);
  EXPECT_NE(::rename(copy.c_str(), (dir.path() + "/moved").c_str()), 0);
  ExpectSameEntry(data + "/base/1/1259", copy + "/base/1/1259");

  auto removed = RemoveTree(copy);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_FALSE(std::filesystem::exists(copy));
}

TEST(TreeCopyTest, ReflinkOnAFilesystemWithoutReflinksIsABadRequest) {
  TempDir dir;
  auto reflink = SupportsReflink(dir.path());
  ASSERT_TRUE(reflink.ok()) << reflink.error().message;
  if (*reflink) GTEST_SKIP() << "/tmp has reflinks here";
  const std::string data = dir.path() + "/data";
  MakeDataDirectory(data);
  TreeCopyOptions options;
  options.method = FileDataMethod::kReflink;

  auto copied = CopyTree(data, dir.path() + "/copy", options);

  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(copied.error().message.find("reflink=1"), std::string::npos) << copied.error().message;
}

TEST(TreeCopyTest, AllocatedBytesCountsDataBlocks) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeDataDirectory(data);
  WriteFile(data + "/big", std::string(1 << 20, 'b'));
  ::sync();

  auto bytes = AllocatedBytes(data);

  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_GE(*bytes, 1 << 20);
  EXPECT_LT(*bytes, 2 << 20);
  EXPECT_EQ(AllocatedBytes(dir.path() + "/missing").error().code, ErrorCode::kNotFound);
}

TEST(TreeCopyTest, RemoveTreeOfAMissingPathSucceeds) {
  TempDir dir;
  EXPECT_TRUE(RemoveTree(dir.path() + "/missing").ok());
  WriteFile(dir.path() + "/file", "x");
  EXPECT_TRUE(RemoveTree(dir.path() + "/file").ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/file"));
}

}  // namespace
}  // namespace dblab
