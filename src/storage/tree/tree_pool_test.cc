// TreePool and the mount helpers against a temp dir on /tmp; no mounts, no mkfs (a recording
// runner stands in for mkfs.xfs). The real XFS and overlayfs paths are in
// tests/integration/tree_pool_test.cc.
#include "storage/tree/tree_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/tree/overlay_pool.h"
#include "storage/tree/reflink_mount.h"

namespace dblab {
namespace {

class RecordingRunner : public ProcessRunner {
 public:
  Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions&) override {
    commands_ran.push_back(DescribeCommand(argv));
    return RunResult{0, "", ""};
  }
  Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const SpawnOptions&) override {
    commands_ran.push_back(DescribeCommand(argv));
    return Internal("not supported in tests");
  }
  std::vector<std::string> commands_ran;
};

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/dblab-treepool-unit-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { (void)RemoveTree(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

bool TmpHasReflinks() {
  auto reflink = SupportsReflink("/tmp");
  return reflink.ok() && *reflink;
}

class CopyPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<TreePool>("unit_pool", dir_.path() + "/pool", "copy",
                                       FileDataMethod::kCopy);
    ASSERT_EQ(::mkdir((dir_.path() + "/pool").c_str(), 0755), 0);
    auto prepared = pool_->Prepare(::geteuid(), ::getegid());
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    WriteFile(pool_->MainDataPath() + "/PG_VERSION", "15\n");
  }

  TempDir dir_;
  std::unique_ptr<TreePool> pool_;
};

TEST_F(CopyPoolTest, SnapshotAndCloneAreIndependentCopies) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  EXPECT_EQ(*clone, pool_->ClonePath("c1"));
  EXPECT_FALSE(pool_->IsThin());
  EXPECT_EQ(pool_->Mode(), "copy");

  WriteFile(*clone + "/PG_VERSION", "changed\n");
  WriteFile(pool_->MainDataPath() + "/PG_VERSION", "16\n");

  EXPECT_EQ(ReadFile(pool_->SnapshotPath("s1") + "/PG_VERSION"), "15\n");
  EXPECT_EQ(ReadFile(*clone + "/PG_VERSION"), "changed\n");
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{"c1"});
}

TEST_F(CopyPoolTest, NamesAreValidatedAndExistingNamesConflict) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());
  EXPECT_EQ(pool_->CreateSnapshot("s1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("s1", "c1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("missing", "c2").error().code, ErrorCode::kNotFound);
  for (const char* bad : {"../x", "a/b", "..", ".hidden", ""}) {
    EXPECT_EQ(pool_->CreateSnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone("s1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->RenameClone("c1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroyClone(bad).error().code, ErrorCode::kBadRequest) << bad;
  }
  EXPECT_EQ(pool_->RenameClone("missing", "c3").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(pool_->CreateClone("s1", "c2").ok());
  EXPECT_EQ(pool_->RenameClone("c1", "c2").error().code, ErrorCode::kConflict);
}

TEST_F(CopyPoolTest, ListsAreSortedAndSkipWorkInProgress) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  for (const char* name : {"zeta", "alpha", "Mid", "9"}) {
    ASSERT_TRUE(pool_->CreateClone("s1", name).ok());
  }
  ASSERT_EQ(::mkdir((pool_->Root() + "/clones/.tmp-beta-1-1").c_str(), 0700), 0);
  EXPECT_EQ(*pool_->ListClones(), (std::vector<std::string>{"9", "Mid", "alpha", "zeta"}));

  // A restart removes what an interrupted create or destroy left.
  ASSERT_TRUE(pool_->Prepare(::geteuid(), ::getegid()).ok());
  EXPECT_FALSE(std::filesystem::exists(pool_->Root() + "/clones/.tmp-beta-1-1"));
  EXPECT_EQ(pool_->ListClones()->size(), 4u);
}

TEST_F(CopyPoolTest, RenameKeepsContentAndDestroyRemovesIt) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "warm-1").ok());
  WriteFile(pool_->ClonePath("warm-1") + "/marker", "mine");

  ASSERT_TRUE(pool_->RenameClone("warm-1", "user-clone").ok());

  EXPECT_EQ(ReadFile(pool_->ClonePath("user-clone") + "/marker"), "mine");
  EXPECT_FALSE(std::filesystem::exists(pool_->ClonePath("warm-1")));
  auto own = pool_->CloneOwnBytes("user-clone");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_GT(*own, 0);
  ASSERT_TRUE(pool_->DestroyClone("user-clone").ok());
  EXPECT_FALSE(std::filesystem::exists(pool_->ClonePath("user-clone")));
  EXPECT_TRUE(pool_->DestroyClone("user-clone").ok());
  EXPECT_EQ(pool_->CloneOwnBytes("user-clone").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(pool_->DestroySnapshot("s1").ok());
  EXPECT_EQ(pool_->DestroySnapshot("s1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(pool_->ListSnapshots()->empty());
}

TEST(TreePoolTest, SnapshotBeforePrepareIsUnavailable) {
  TempDir dir;
  TreePool pool("p", dir.path(), "copy", FileDataMethod::kCopy);
  EXPECT_EQ(pool.CreateSnapshot("s1").error().code, ErrorCode::kUnavailable);
}

TEST(TreePoolTest, ReflinkPoolRefusesAFilesystemWithoutReflinks) {
  if (TmpHasReflinks()) GTEST_SKIP() << "/tmp has reflinks here";
  TempDir dir;
  TreePool pool("p", dir.path(), "reflink", FileDataMethod::kReflink);
  auto prepared = pool.Prepare(::geteuid(), ::getegid());
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(prepared.error().message.find("without reflinks"), std::string::npos);
}

TEST(ReflinkMountTest, NeverFormatsANonEmptyDirectoryOrWithoutAnImage) {
  if (TmpHasReflinks()) GTEST_SKIP() << "/tmp has reflinks here";
  TempDir dir;
  RecordingRunner runner;
  WriteFile(dir.path() + "/someone-elses-file", "x");

  auto non_empty = EnsureReflinkMount(runner, dir.path(), dir.path() + "/../img", 1 << 30, true);
  ASSERT_FALSE(non_empty.ok());
  EXPECT_EQ(non_empty.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(non_empty.error().message.find("not empty"), std::string::npos);

  auto no_image = EnsureReflinkMount(runner, dir.path() + "/empty", "", 0, true);
  ASSERT_FALSE(no_image.ok());
  EXPECT_NE(no_image.error().message.find("no pool image"), std::string::npos);

  EXPECT_EQ(EnsureReflinkMount(runner, "relative", "", 0, true).error().code,
            ErrorCode::kBadRequest);
  EXPECT_TRUE(runner.commands_ran.empty());
}

TEST(ReflinkMountTest, OverlayUsesAnyFilesystemWhenNoImageIsConfigured) {
  TempDir dir;
  RecordingRunner runner;
  auto mounted = EnsureReflinkMount(runner, dir.path() + "/pool", "", 0, false);
  ASSERT_TRUE(mounted.ok()) << mounted.error().message;
  EXPECT_FALSE(mounted->owned);
  EXPECT_EQ(mounted->mount_path, dir.path() + "/pool");
  EXPECT_TRUE(runner.commands_ran.empty());
}

TEST(ReflinkMountTest, DetectsTheXfsMagic) {
  TempDir dir;
  WriteFile(dir.path() + "/xfs", std::string("XFSB") + std::string(508, '\0'));
  WriteFile(dir.path() + "/other", std::string(512, '\0'));
  EXPECT_TRUE(*HasXfsSignature(dir.path() + "/xfs"));
  EXPECT_FALSE(*HasXfsSignature(dir.path() + "/other"));
  EXPECT_FALSE(HasXfsSignature(dir.path() + "/missing").ok());
}

TEST(OverlayPoolTest, MountOptionsKeepRenamesOfSnapshotDirectoriesWorking) {
  EXPECT_EQ(OverlayMountOptions("/p/snapshots/s1", "/p/layers/c1/upper", "/p/layers/c1/work"),
            "lowerdir=/p/snapshots/s1,upperdir=/p/layers/c1/upper,workdir=/p/layers/c1/work,"
            "redirect_dir=on,index=off,metacopy=off");
}

TEST(OverlayPoolTest, RefusesAPoolPathOverlayOptionsCannotCarry) {
  TempDir dir;
  const std::string root = dir.path() + "/a,b";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  OverlayPool pool("p", root);
  auto prepared = pool.Prepare(::geteuid(), ::getegid());
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code, ErrorCode::kBadRequest);
  EXPECT_FALSE(std::filesystem::exists(root + "/clones")) << "nothing may be touched";
}

}  // namespace
}  // namespace dblab
