// Real btrfs pools on loop-mounted sparse images in a private temp dir. Needs root. Whatever a
// test does, TearDown unmounts and detaches everything under its temp dir and checks that no
// mount and no loop device of ours remain.
#include "storage/btrfs/btrfs_pool.h"

#include <btrfsutil.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "platform/posix_process.h"
#include "storage/btrfs/loop_image.h"
#include "storage/extent_usage.h"
#include "storage/factory.h"
#include "support.h"

namespace dblab {
namespace {

constexpr int64_t kImageSize = 512LL << 20;
constexpr uid_t kPostgresUid = 4242;
constexpr gid_t kPostgresGid = 4243;

using testing::LoopDevicesBelow;
using testing::MountsBelow;
using testing::ReadFile;
using testing::StartsWith;
using testing::UnmountAndDetachBelow;
using testing::WriteFile;

bool IsBtrfs(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<uint64_t>(fs.f_type) == BTRFS_SUPER_MAGIC;
}

// errno of creating a file in `dir`, 0 on success.
int CreateFileErrno(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

class BtrfsLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "btrfs pool tests need root (mount, loop devices)";
    char pattern[] = "/tmp/dblab-btrfs-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
    dir_ = pattern;
    image_ = dir_ + "/pool.img";
    mount_ = dir_ + "/pool";
  }

  void TearDown() override {
    if (dir_.empty()) return;
    ForceCleanUp();
    EXPECT_TRUE(MountsBelow(dir_).empty()) << "a mount under " << dir_ << " survived teardown";
    EXPECT_TRUE(LoopDevicesBelow(dir_).empty()) << "a loop device survived teardown";
    if (MountsBelow(dir_).empty()) std::filesystem::remove_all(dir_);
  }

  // Unmounts (deepest first) and detaches whatever a failed test left under dir_.
  void ForceCleanUp() { UnmountAndDetachBelow(dir_); }

  Result<MountedImage> Mount() { return EnsureBtrfsMount(runner_, mount_, image_, kImageSize); }

  PosixProcessRunner runner_;
  std::string dir_;
  std::string image_;
  std::string mount_;
};

TEST_F(BtrfsLoopTest, CreatesFormatsAndMountsAPrivateSparseImage) {
  auto mounted = Mount();
  ASSERT_TRUE(mounted.ok()) << mounted.error().message;

  EXPECT_TRUE(mounted->owned);
  EXPECT_EQ(mounted->mount_path, mount_);
  EXPECT_EQ(mounted->image_path, image_);
  EXPECT_TRUE(StartsWith(mounted->loop_device, "/dev/loop")) << mounted->loop_device;
  EXPECT_EQ(LoopBackingFile(mounted->loop_device), image_);
  EXPECT_TRUE(IsBtrfs(mount_));
  auto entry = FindMount(mount_);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->fs_type, "btrfs");
  EXPECT_EQ((*entry)->source, mounted->loop_device);

  struct stat image {};
  ASSERT_EQ(::stat(image_.c_str(), &image), 0);
  EXPECT_EQ(image.st_mode & 07777, 0600u);
  EXPECT_EQ(image.st_size, kImageSize);
  EXPECT_LT(image.st_blocks * 512, kImageSize / 4) << "the image should be sparse";
  EXPECT_TRUE(*HasBtrfsSignature(image_));

  // Data is written in place (docs/storage.md): a new file carries the No_COW attribute.
  ASSERT_TRUE(WriteFile(mount_ + "/relation", "page"));
  int fd = ::open((mount_ + "/relation").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  EXPECT_EQ(::ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
  ::close(fd);
  EXPECT_NE(flags & FS_NOCOW_FL, 0) << "pool mounted without nodatacow";

  EXPECT_TRUE(UnmountImage(*mounted).ok());
}

TEST_F(BtrfsLoopTest, ReusesAMountedPoolAndKeepsDataAcrossRemount) {
  auto first = Mount();
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(WriteFile(mount_ + "/marker", "survives"));

  // Given a mounted pool, a second call (say, the engine restarting) uses it as is.
  auto second = Mount();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->owned);
  EXPECT_EQ(second->loop_device, first->loop_device);
  EXPECT_EQ(second->image_path, image_);
  EXPECT_TRUE(UnmountImage(*second).ok());  // not owned: a no-op
  EXPECT_EQ(MountsBelow(dir_).size(), 1u);

  // When unmounted and mounted again, the image is not reformatted.
  ASSERT_TRUE(UnmountImage(*first).ok());
  EXPECT_TRUE(MountsBelow(dir_).empty());
  EXPECT_TRUE(LoopDevicesBelow(dir_).empty());
  EXPECT_FALSE(std::filesystem::exists(mount_ + "/marker"));

  auto third = Mount();
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE(third->owned);
  EXPECT_EQ(ReadFile(mount_ + "/marker"), "survives");
  EXPECT_TRUE(UnmountImage(*third).ok());
}

TEST_F(BtrfsLoopTest, UnmountLeavesNoMountAndNoLoopDevice) {
  auto mounted = Mount();
  ASSERT_TRUE(mounted.ok()) << mounted.error().message;
  ASSERT_EQ(MountsBelow(dir_).size(), 1u);
  ASSERT_EQ(LoopDevicesBelow(dir_).size(), 1u);

  ASSERT_TRUE(UnmountImage(*mounted).ok());

  EXPECT_TRUE(MountsBelow(dir_).empty());
  EXPECT_TRUE(LoopDevicesBelow(dir_).empty());
  EXPECT_TRUE(std::filesystem::exists(image_)) << "unmounting must keep the image";
}

TEST_F(BtrfsLoopTest, ReusesAnAlreadyAttachedImageAndDetachesItOnUnmount) {
  // Given an image formatted earlier and left attached without auto-clear (a crash between
  // attach and mount, or a hand-made losetup).
  auto first = Mount();
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(UnmountImage(*first).ok());
  auto attached = runner_.Run({"losetup", "--find", "--show", image_});
  ASSERT_TRUE(attached.ok() && attached->exit_code == 0) << attached->err;
  std::string device = attached->out.substr(0, attached->out.find('\n'));

  auto mounted = Mount();

  ASSERT_TRUE(mounted.ok()) << mounted.error().message;
  EXPECT_EQ(mounted->loop_device, device) << "a second loop device for one btrfs is unsafe";
  ASSERT_TRUE(UnmountImage(*mounted).ok());
  EXPECT_TRUE(LoopDevicesBelow(dir_).empty()) << "the leftover device must be detached";
}

TEST_F(BtrfsLoopTest, UnmountOfABusyPoolIsAConflictAndKeepsItMounted) {
  auto mounted = Mount();
  ASSERT_TRUE(mounted.ok()) << mounted.error().message;
  int busy = ::open((mount_ + "/open-file").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(busy, 0);

  auto status = UnmountImage(*mounted);

  ::close(busy);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict) << status.error().message;
  EXPECT_EQ(MountsBelow(dir_).size(), 1u);
  EXPECT_TRUE(UnmountImage(*mounted).ok());
}

TEST_F(BtrfsLoopTest, ParallelMountsGetTheirOwnLoopDevices) {
  constexpr int kPools = 4;
  std::vector<Result<MountedImage>> results(kPools, Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kPools; ++i) {
    threads.emplace_back([&, i] {
      std::string suffix = std::to_string(i);
      results[i] = EnsureBtrfsMount(runner_, mount_ + suffix, image_ + suffix, kImageSize);
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<std::string> devices;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.error().message;
    devices.push_back(result->loop_device);
  }
  std::sort(devices.begin(), devices.end());
  EXPECT_EQ(std::unique(devices.begin(), devices.end()), devices.end()) << "shared loop device";
  for (const auto& result : results) EXPECT_TRUE(UnmountImage(*result).ok());
  EXPECT_TRUE(LoopDevicesBelow(dir_).empty());
}

TEST_F(BtrfsLoopTest, NeverFormatsOverAnotherFilesystem) {
  auto ext4 = runner_.Run({"mkfs.ext4", "-q", "-F", image_ + ".ext4", "64M"});
  if (!ext4.ok() || ext4->exit_code != 0) GTEST_SKIP() << "mkfs.ext4 unavailable";
  std::filesystem::rename(image_ + ".ext4", image_);

  auto mounted = Mount();

  ASSERT_FALSE(mounted.ok());
  EXPECT_NE(mounted.error().message.find("mkfs.btrfs"), std::string::npos)
      << mounted.error().message;
  EXPECT_FALSE(*HasBtrfsSignature(image_));
  EXPECT_TRUE(MountsBelow(dir_).empty());
}

// A prepared pool on a fresh loop image.
class BtrfsPoolTest : public BtrfsLoopTest {
 protected:
  void SetUp() override {
    BtrfsLoopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto mounted = Mount();
    ASSERT_TRUE(mounted.ok()) << mounted.error().message;
    mounted_ = *mounted;
    pool_ = std::make_unique<BtrfsPool>("test_pool", mounted_.mount_path);
    auto prepared = pool_->Prepare(kPostgresUid, kPostgresGid);
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/PG_VERSION", "15\n"));
  }

  void TearDown() override {
    if (mounted_.owned) {
      auto unmounted = UnmountImage(mounted_);
      EXPECT_TRUE(unmounted.ok()) << unmounted.error().message;
    }
    BtrfsLoopTest::TearDown();
  }

  MountedImage mounted_;
  std::unique_ptr<BtrfsPool> pool_;
};

TEST_F(BtrfsPoolTest, PrepareMakesPrivateMainDataOwnedByPostgresAndIsIdempotent) {
  const std::string data = pool_->MainDataPath();
  EXPECT_EQ(btrfs_util_is_subvolume(data.c_str()), BTRFS_UTIL_OK);
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kPostgresUid);
  EXPECT_EQ(st.st_gid, kPostgresGid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(std::filesystem::is_directory(mount_ + "/snapshots"));
  EXPECT_TRUE(std::filesystem::is_directory(mount_ + "/clones"));

  ASSERT_EQ(::chmod(data.c_str(), 0755), 0);
  ASSERT_TRUE(pool_->Prepare(kPostgresUid, kPostgresGid).ok());
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(ReadFile(data + "/PG_VERSION"), "15\n") << "Prepare must keep existing main data";
}

TEST_F(BtrfsPoolTest, SnapshotIsReadOnlyAndFrozenInTime) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  const std::string snapshot = pool_->SnapshotPath("s1");

  EXPECT_EQ(CreateFileErrno(snapshot + "/new-file"), EROFS);
  EXPECT_EQ(CreateFileErrno(snapshot + "/PG_VERSION"), EROFS);
  bool read_only = false;
  ASSERT_EQ(btrfs_util_get_subvolume_read_only(snapshot.c_str(), &read_only), BTRFS_UTIL_OK);
  EXPECT_TRUE(read_only);

  ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/PG_VERSION", "16\n"));
  EXPECT_EQ(ReadFile(snapshot + "/PG_VERSION"), "15\n");

  auto again = pool_->CreateSnapshot("s1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateSnapshot("../s2").error().code, ErrorCode::kBadRequest);
  auto listed = pool_->ListSnapshots();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{"s1"});
}

TEST_F(BtrfsPoolTest, CloneIsWritableIsolatedAndKeepsOwnerAndMode) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  EXPECT_EQ(*clone, pool_->ClonePath("c1"));

  ASSERT_TRUE(WriteFile(*clone + "/PG_VERSION", "changed in clone\n"));
  ASSERT_TRUE(WriteFile(*clone + "/only-in-clone", "x"));

  EXPECT_EQ(ReadFile(pool_->SnapshotPath("s1") + "/PG_VERSION"), "15\n");
  EXPECT_EQ(ReadFile(pool_->MainDataPath() + "/PG_VERSION"), "15\n");
  EXPECT_FALSE(std::filesystem::exists(pool_->SnapshotPath("s1") + "/only-in-clone"));
  EXPECT_FALSE(std::filesystem::exists(pool_->MainDataPath() + "/only-in-clone"));
  struct stat st {};
  ASSERT_EQ(::stat(clone->c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kPostgresUid);
  EXPECT_EQ(st.st_gid, kPostgresGid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  EXPECT_EQ(pool_->CreateClone("s1", "c1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("missing", "c2").error().code, ErrorCode::kNotFound);
  auto listed = pool_->ListClones();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{"c1"});
}

TEST_F(BtrfsPoolTest, ASnapshotOfACloneHoldsTheClonesChangesAndIsReadOnly) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "promote");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  ASSERT_TRUE(WriteFile(*clone + "/PG_VERSION", "masked\n"));

  ASSERT_TRUE(pool_->CreateSnapshotOfClone("promote", "s2").ok());
  ASSERT_TRUE(pool_->DestroyClone("promote").ok());  // the snapshot does not need it
  EXPECT_EQ(ReadFile(pool_->SnapshotPath("s2") + "/PG_VERSION"), "masked\n");
  EXPECT_EQ(ReadFile(pool_->SnapshotPath("s1") + "/PG_VERSION"), "15\n");
  EXPECT_FALSE(WriteFile(pool_->SnapshotPath("s2") + "/PG_VERSION", "x"));
  auto from_s2 = pool_->CreateClone("s2", "c2");
  ASSERT_TRUE(from_s2.ok()) << from_s2.error().message;
  EXPECT_EQ(ReadFile(*from_s2 + "/PG_VERSION"), "masked\n");

  EXPECT_EQ(pool_->CreateSnapshotOfClone("c2", "s2").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateSnapshotOfClone("missing", "s3").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool_->CreateSnapshotOfClone("../c2", "s3").error().code, ErrorCode::kBadRequest);
}

TEST_F(BtrfsPoolTest, DestroyRemovesSubvolumesNestedOnesIncluded) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c2").ok());
  const std::string nested = pool_->ClonePath("c1") + "/nested";
  ASSERT_EQ(btrfs_util_create_subvolume(nested.c_str(), 0, nullptr, nullptr), BTRFS_UTIL_OK);

  auto destroyed = pool_->DestroyClone("c1");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_FALSE(std::filesystem::exists(pool_->ClonePath("c1")));
  EXPECT_TRUE(pool_->DestroyClone("c1").ok()) << "destroying a missing clone succeeds";

  // A snapshot goes away without taking its clones with it.
  destroyed = pool_->DestroySnapshot("s1");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_FALSE(std::filesystem::exists(pool_->SnapshotPath("s1")));
  EXPECT_EQ(pool_->DestroySnapshot("s1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ReadFile(pool_->ClonePath("c2") + "/PG_VERSION"), "15\n");
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{});
  EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{"c2"});

  ASSERT_TRUE(pool_->DestroyClone("c2").ok());
  EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{});
}

TEST_F(BtrfsPoolTest, SnapshotBeforePrepareIsUnavailable) {
  BtrfsPool unprepared("other", mount_ + "/clones");
  EXPECT_EQ(unprepared.CreateSnapshot("s1").error().code, ErrorCode::kUnavailable);
}

TEST_F(BtrfsPoolTest, PrepareRefusesPlainMainDataDirectory) {
  ASSERT_TRUE(std::filesystem::create_directories(mount_ + "/plain/data"));
  BtrfsPool pool("plain", mount_ + "/plain");
  auto status = pool.Prepare(kPostgresUid, kPostgresGid);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(status.error().message.find("not a btrfs subvolume"), std::string::npos);
}

TEST_F(BtrfsPoolTest, UsageReportsTheImageSize) {
  auto usage = pool_->Usage();
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_GT(usage->size, kImageSize / 2);
  EXPECT_LE(usage->size, kImageSize);
  EXPECT_GT(usage->free, 0);
  EXPECT_GT(usage->used, 0);
  EXPECT_LE(usage->free + usage->used, usage->size + usage->size / 10);
}

TEST_F(BtrfsPoolTest, MeasuresSnapshotPlusClone) {
  // Something PGDATA-like: 1,000 files of 8 kB.
  std::string page(8192, 'p');
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/" + std::to_string(16384 + i), page));
  }
  std::vector<double> millis;
  for (int i = 0; i < 20; ++i) {
    std::string name = "m" + std::to_string(i);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->CreateSnapshot(name).ok());
    ASSERT_TRUE(pool_->CreateClone(name, name).ok());
    millis.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(millis.begin(), millis.end());
  std::printf(
      "[ MEASURE  ] btrfs snapshot + clone: median %.2f ms, min %.2f ms, max %.2f ms "
      "(20 runs, 1,000 files)\n",
      millis[millis.size() / 2], millis.front(), millis.back());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    std::string name = "m" + std::to_string(i);
    ASSERT_TRUE(pool_->DestroyClone(name).ok());
    ASSERT_TRUE(pool_->DestroySnapshot(name).ok());
  }
  std::printf(
      "[ MEASURE  ] btrfs destroy clone + snapshot: %.2f ms each\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
          20);
}

TEST_F(BtrfsLoopTest, FactoryMountsAndPreparesABtrfsPool) {
  PoolSpec spec;
  spec.mode = "btrfs";
  spec.pool_name = "factory_pool";
  spec.pool_path = mount_;
  spec.image_path = image_;
  spec.image_size_bytes = kImageSize;
  spec.data_owner_uid = kPostgresUid;
  spec.data_owner_gid = kPostgresGid;

  auto backend = MakePoolBackend(spec, runner_);

  ASSERT_TRUE(backend.ok()) << backend.error().message;
  EXPECT_EQ((*backend)->Name(), "factory_pool");
  EXPECT_EQ((*backend)->Mode(), "btrfs");
  EXPECT_EQ((*backend)->MainDataPath(), mount_ + "/data");
  EXPECT_TRUE(IsBtrfs(mount_));
  ASSERT_TRUE((*backend)->CreateSnapshot("s1").ok());
  EXPECT_TRUE((*backend)->CreateClone("s1", "c1").ok());
  EXPECT_TRUE((*backend)->DestroyClone("c1").ok());
  // The factory leaves the pool mounted on purpose; TearDown unmounts it.
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

// Diff size of a clone and the exclusive size of a snapshot, as the dashboard shows them.
TEST_F(BtrfsPoolTest, ExclusiveBytesCountOnlyWhatACloneWroteItself) {
  std::string big(4 << 20, 'x');
  ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/table", big));
  sync();
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok());
  // Fresh: everything is shared.
  EXPECT_EQ(*ExclusiveBytes(*clone), 0);
  EXPECT_EQ(*ExclusiveBytes(pool_->SnapshotPath("s1")), 0);

  ASSERT_TRUE(WriteFile(*clone + "/new_table", std::string(1 << 20, 'y')));
  sync();
  auto diff = ExclusiveBytes(*clone);
  ASSERT_TRUE(diff.ok()) << diff.error().message;
  EXPECT_GE(*diff, 1 << 20);
  EXPECT_LT(*diff, 2 << 20);
  // The 4 MiB table is still shared by main data, the snapshot and the clone.
  EXPECT_EQ(*ExclusiveBytes(pool_->SnapshotPath("s1")), 0);
}

}  // namespace
}  // namespace dblab
