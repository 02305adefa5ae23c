#include "storage/btrfs/loop_image.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace dblab {
namespace {

// Records commands instead of running them: these tests must never reach mkfs.
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
    char pattern[] = "/tmp/dblab-loop-unit-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool OnBtrfs(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<uint64_t>(fs.f_type) == BTRFS_SUPER_MAGIC;
}

TEST(LoopImageTest, DetectsTheBtrfsMagicAtItsOffset) {
  TempDir dir;
  const std::string image = dir.path() + "/image";
  {
    std::ofstream out(image, std::ios::binary);
    out.seekp(kBtrfsMagicOffset);
    out << "_BHRfS_M";
  }
  auto detected = HasBtrfsSignature(image);
  ASSERT_TRUE(detected.ok()) << detected.error().message;
  EXPECT_TRUE(*detected);
}

TEST(LoopImageTest, ZeroFilledShortAndShiftedFilesHaveNoSignature) {
  TempDir dir;
  const std::string zeros = dir.path() + "/zeros";
  ASSERT_EQ(::truncate((std::ofstream(zeros), zeros).c_str(), 1 << 20), 0);
  const std::string shifted = dir.path() + "/shifted";
  {
    std::ofstream out(shifted, std::ios::binary);
    out.seekp(kBtrfsMagicOffset + 1);
    out << "_BHRfS_M";
  }
  const std::string empty = dir.path() + "/empty";
  std::ofstream{empty};
  for (const auto& path : {zeros, shifted, empty}) {
    auto detected = HasBtrfsSignature(path);
    ASSERT_TRUE(detected.ok()) << detected.error().message;
    EXPECT_FALSE(*detected) << path;
  }
  EXPECT_FALSE(HasBtrfsSignature(dir.path() + "/missing").ok());
}

TEST(LoopImageTest, ParsesMountInfoWithOptionalFieldsAndEscapes) {
  auto entry = ParseMountInfoLine(
      "36 35 0:42 / /tmp/my\\040pool rw,noatime shared:1 master:2 - btrfs /dev/loop3 "
      "rw,space_cache=v2,subvolid=5,subvol=/");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->mount_point, "/tmp/my pool");
  EXPECT_EQ(entry->fs_type, "btrfs");
  EXPECT_EQ(entry->source, "/dev/loop3");

  auto no_optional = ParseMountInfoLine("22 1 8:1 / / rw - ext4 /dev/vda1 rw");
  ASSERT_TRUE(no_optional.has_value());
  EXPECT_EQ(no_optional->mount_point, "/");
  EXPECT_EQ(no_optional->fs_type, "ext4");

  EXPECT_FALSE(ParseMountInfoLine("").has_value());
  EXPECT_FALSE(ParseMountInfoLine("22 1 8:1 / / rw ext4 /dev/vda1 rw").has_value());
}

TEST(LoopImageTest, FindsTheRootMountAndNotAPlainDirectory) {
  auto root = FindMount("/");
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_TRUE(root->has_value());
  TempDir dir;
  auto plain = FindMount(dir.path());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_value());
}

TEST(LoopImageTest, RefusesANonEmptyDirectoryThatIsNotBtrfs) {
  TempDir dir;
  if (OnBtrfs(dir.path())) GTEST_SKIP() << "/tmp is on btrfs here";
  std::ofstream(dir.path() + "/somebody-elses-file") << "keep me";
  RecordingRunner runner;
  auto mounted = EnsureBtrfsMount(runner, dir.path(), dir.path() + "-image", 1 << 30);
  ASSERT_FALSE(mounted.ok());
  EXPECT_EQ(mounted.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(mounted.error().message.find(dir.path()), std::string::npos);
  EXPECT_NE(mounted.error().message.find("not empty"), std::string::npos);
  EXPECT_TRUE(runner.commands_ran.empty());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "-image"));
}

TEST(LoopImageTest, RefusesAMountPointThatIsNotBtrfs) {
  RecordingRunner runner;
  auto mounted = EnsureBtrfsMount(runner, "/proc", "/tmp/dblab-never-created.img", 1 << 30);
  ASSERT_FALSE(mounted.ok());
  EXPECT_EQ(mounted.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(mounted.error().message.find("mount point of proc"), std::string::npos)
      << mounted.error().message;
  EXPECT_TRUE(runner.commands_ran.empty());
}

TEST(LoopImageTest, RefusesANonBtrfsDirectoryWithoutAnImage) {
  TempDir dir;
  if (OnBtrfs(dir.path())) GTEST_SKIP() << "/tmp is on btrfs here";
  RecordingRunner runner;
  auto mounted = EnsureBtrfsMount(runner, dir.path() + "/pool", "", 0);
  ASSERT_FALSE(mounted.ok());
  EXPECT_EQ(mounted.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(mounted.error().message.find("no pool image"), std::string::npos);
}

TEST(LoopImageTest, RefusesRelativePaths) {
  RecordingRunner runner;
  EXPECT_EQ(EnsureBtrfsMount(runner, "pool", "/tmp/x.img", 1).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(EnsureBtrfsMount(runner, "/tmp/dblab-pool-x", "x.img", 1).error().code,
            ErrorCode::kBadRequest);
}

TEST(LoopImageTest, UnmountingAnImageWeDidNotMountDoesNothing) {
  MountedImage host_volume{"/", "", "", false};
  EXPECT_TRUE(UnmountImage(host_volume).ok());
}

}  // namespace
}  // namespace dblab
