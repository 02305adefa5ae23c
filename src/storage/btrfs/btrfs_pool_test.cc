#include "storage/btrfs/btrfs_pool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dblab {
namespace {

TEST(StorageNameTest, AcceptsPlainNames) {
  for (const char* name : {"a", "snap1", "2024-01-01T00.00", "clone_main-1", "A.b-c_d"}) {
    EXPECT_TRUE(ValidateStorageName("snapshot", name).ok()) << name;
  }
  EXPECT_TRUE(ValidateStorageName("clone", std::string(128, 'x')).ok());
}

TEST(StorageNameTest, RejectsPathsTraversalAndOddCharacters) {
  for (const std::string& name :
       std::vector<std::string>{"", "a/b", "/abs", "..", "a..b", ".hidden", "-flag", "_x", "sp ace",
                                "tab\t", "new\nline", "semi;colon", "dollar$", "ünicode",
                                std::string(129, 'x'), std::string("nul\0x", 5)}) {
    auto status = ValidateStorageName("clone", name);
    ASSERT_FALSE(status.ok()) << name;
    EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(status.error().message.find("invalid clone name"), std::string::npos);
  }
}

TEST(BtrfsPoolTest, PresentsTheDocumentedLayout) {
  BtrfsPool pool("dblab_pool", "/var/lib/dblab/dblab_pool/");
  EXPECT_EQ(pool.Name(), "dblab_pool");
  EXPECT_EQ(pool.Mode(), "btrfs");
  EXPECT_TRUE(pool.IsThin());
  EXPECT_EQ(pool.MainDataPath(), "/var/lib/dblab/dblab_pool/data");
  EXPECT_EQ(pool.SnapshotPath("s1"), "/var/lib/dblab/dblab_pool/snapshots/s1");
  EXPECT_EQ(pool.ClonePath("c1"), "/var/lib/dblab/dblab_pool/clones/c1");
}

TEST(BtrfsPoolTest, InvalidNamesAreRejectedBeforeTouchingTheDisk) {
  BtrfsPool pool("p", "/nonexistent/dblab-pool");
  EXPECT_EQ(pool.CreateSnapshot("../data").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(pool.DestroySnapshot("a/b").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(pool.CreateClone("s1", "..").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(pool.CreateClone("../x", "c1").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(pool.DestroyClone("").error().code, ErrorCode::kBadRequest);
}

TEST(BtrfsPoolTest, PrepareRefusesAPathThatIsNotBtrfs) {
  BtrfsPool pool("p", "/proc");
  auto status = pool.Prepare(0, 0);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(status.error().message.find("not on btrfs"), std::string::npos);
}

}  // namespace
}  // namespace dblab
