// The copy, reflink and overlay pools on real filesystems: ext4 (/tmp) and XFS with reflinks on
// a loop-mounted sparse image, with real overlayfs mounts and a real PostgreSQL 15. Needs root.
// Every test works in its own /tmp/dblab-tree-XXXXXX (mode 755, so that postgres can reach its
// clones); TearDown stops the servers it started, unmounts everything below that directory
// (deepest first, lazily as a last resort), waits for its own loop devices to go away (detaching
// them by hand if auto-clear did not), clears immutable flags and removes the directory.
#include "storage/tree/tree_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <signal.h>
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
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "platform/posix_process.h"
#include "postgres/pq.h"
#include "postgres/server.h"
#include "storage/extent_usage.h"
#include "storage/tree/overlay_pool.h"
#include "storage/tree/reflink_mount.h"
#include "storage/tree/tree_copy.h"
#include "support.h"

namespace dblab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kImageSize = 2LL << 30;  // sparse; XFS needs at least 300 MB
constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";

struct Backend {
  std::string mode;  // "copy", "reflink", "overlay"
  bool image;        // an XFS image with reflinks mounted as the pool, else a directory on /tmp
};

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.mode + (info.param.image ? "_on_xfs_image" : "_on_tmp");
}

using testing::LoopDevicesBelow;
using testing::MountsBelow;
using testing::ReadFile;
using testing::StartsWith;
using testing::StopProcessesBelow;
using testing::UnmountAndDetachBelow;
using testing::WriteFile;

uint64_t FsType(const std::string& path) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.f_type) : 0;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

bool HaveProgram(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// Compares two trees entry by entry as a user would: same names, kinds, owners, modes,
// mtimes, sizes, contents and symlink targets.
void ExpectSameTree(const std::string& expected, const std::string& actual) {
  std::vector<std::string> names_expected, names_actual;
  for (const auto& entry : fs::recursive_directory_iterator(expected)) {
    names_expected.push_back(entry.path().string().substr(expected.size()));
  }
  for (const auto& entry : fs::recursive_directory_iterator(actual)) {
    names_actual.push_back(entry.path().string().substr(actual.size()));
  }
  std::sort(names_expected.begin(), names_expected.end());
  std::sort(names_actual.begin(), names_actual.end());
  EXPECT_EQ(names_expected, names_actual);
  names_expected.push_back("");  // the top directory itself
  for (const std::string& name : names_expected) {
    struct stat a {
    }, b{};
    ASSERT_EQ(::lstat((expected + name).c_str(), &a), 0) << expected + name;
    if (::lstat((actual + name).c_str(), &b) != 0) {
      ADD_FAILURE() << actual + name << " is missing";
      continue;
    }
    EXPECT_EQ(a.st_mode, b.st_mode) << name;
    EXPECT_EQ(a.st_uid, b.st_uid) << name;
    EXPECT_EQ(a.st_gid, b.st_gid) << name;
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << name;
    if (S_ISREG(a.st_mode)) {
      EXPECT_EQ(a.st_size, b.st_size) << name;
      EXPECT_TRUE(ReadFile(expected + name) == ReadFile(actual + name)) << name;
    }
    if (S_ISLNK(a.st_mode)) {
      EXPECT_EQ(fs::read_symlink(expected + name), fs::read_symlink(actual + name)) << name;
    }
  }
}

class TreePoolIntegrationTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "tree pool tests need root (chown, mount, chattr)";
    if ((GetParam().image || GetParam().mode == "reflink") && !HaveProgram("/usr/sbin/mkfs.xfs")) {
      GTEST_SKIP() << "mkfs.xfs missing: apt-get install xfsprogs";
    }
    auto postgres = LookupOsUser("postgres");
    ASSERT_TRUE(postgres.ok()) << "the postgres OS user is needed";
    postgres_ = *postgres;
    char pattern[] = "/tmp/dblab-tree-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
    dir_ = pattern;
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    spec_.mode = GetParam().mode;
    spec_.pool_name = "tree_pool";
    spec_.pool_path = dir_ + "/pool";
    if (GetParam().image) {
      spec_.image_path = dir_ + "/pool.img";
      spec_.image_size_bytes = kImageSize;
    }
    spec_.data_owner_uid = postgres_.uid;
    spec_.data_owner_gid = postgres_.gid;
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  void TearDown() override {
    if (dir_.empty()) return;
    PostgresControl control(runner_);
    for (const std::string& data : servers_) {
      if (PostgresControl::RunningPid(data)) (void)control.Stop(data, std::chrono::seconds(10));
    }
    StopProcessesBelow(dir_);  // servers a failed test could not stop
    pool_.reset();
    UnmountAndDetachBelow(dir_);
    EXPECT_TRUE(MountsBelow(dir_).empty()) << "a mount under " << dir_ << " survived teardown";
    EXPECT_TRUE(LoopDevicesBelow(dir_).empty()) << "a loop device survived teardown";
    if (MountsBelow(dir_).empty()) {
      auto removed = RemoveTree(dir_);
      EXPECT_TRUE(removed.ok()) << removed.error().message;
    }
  }

  void Open() {
    Result<std::unique_ptr<PoolBackend>> opened = Internal("unknown mode");
    if (spec_.mode == "copy") opened = MakeCopyPool(spec_, runner_);
    if (spec_.mode == "reflink") opened = MakeReflinkPool(spec_, runner_);
    if (spec_.mode == "overlay") opened = MakeOverlayPool(spec_, runner_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    pool_ = std::move(*opened);
  }

  // Simulates a reboot: every mount below the test dir goes away (the pool image included).
  void UnmountEverything() {
    pool_.reset();
    for (const auto& mount_point : MountsBelow(dir_)) {
      ASSERT_EQ(::umount2(mount_point.c_str(), 0), 0);
    }
    for (int i = 0; i < 300 && !LoopDevicesBelow(dir_).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string Data() const { return pool_->MainDataPath(); }

  // A small PGDATA look-alike owned by postgres, with nested and empty directories, symlinks,
  // several modes and old mtimes.
  void FillMainData() {
    const std::string data = Data();
    for (const char* directory :
         {"/base", "/base/1", "/base/5", "/pg_notify", "/pg_replslot", "/pg_replslot/slot1"}) {
      ASSERT_EQ(::mkdir((data + directory).c_str(), 0700), 0) << directory;
    }
    ASSERT_TRUE(WriteFile(data + "/PG_VERSION", "15\n"));
    ASSERT_TRUE(WriteFile(data + "/base/1/1259", std::string(5 * 8192, 'c')));
    ASSERT_TRUE(WriteFile(data + "/base/5/16384", std::string(64 * 1024, 't')));
    ASSERT_TRUE(WriteFile(data + "/pg_replslot/slot1/state", "slot"));
    ASSERT_TRUE(WriteFile(data + "/postmaster.pid", "99999\n"));
    ASSERT_EQ(::chmod((data + "/base/5/16384").c_str(), 0640), 0);
    ASSERT_EQ(::symlink("/nowhere/tablespace", (data + "/tablespace_link").c_str()), 0);
    for (const auto& entry : fs::recursive_directory_iterator(data)) {
      ASSERT_EQ(::lchown(entry.path().c_str(), postgres_.uid, postgres_.gid), 0);
      const struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
      ASSERT_EQ(::utimensat(AT_FDCWD, entry.path().c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
    }
    const struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, data.c_str(), times, 0), 0);
  }

  // Real PostgreSQL: a cluster in main data made by initdb as postgres (initdb leaves it
  // cleanly shut down, as retrieval would).
  void InitMainData() {
    RunOptions options;
    options.user = "postgres";
    auto result = runner_.Run({std::string(kBinDir) + "/initdb", "-D", Data(), "-U", "postgres",
                               "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"},
                              options);
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_EQ(result->exit_code, 0) << result->err;
  }

  std::string SocketDir() {
    const std::string run = dir_ + "/run";
    ::mkdir(run.c_str(), 0755);
    EXPECT_EQ(::chown(run.c_str(), postgres_.uid, postgres_.gid), 0);
    return run;
  }

  Result<pid_t> StartServer(const std::string& data, int port) {
    servers_.push_back(data);
    PostgresControl control(runner_);
    ServerSpec spec{.bin_dir = kBinDir,
                    .data_dir = data,
                    .port = port,
                    .listen_addresses = "",
                    .socket_dir = SocketDir(),
                    .log_file = dir_ + "/postgres-" + std::to_string(port) + ".log",
                    // Outside the sandbox: these tests rename a clone under a running server,
                    // which a sandbox's bind mount pins by design (the engine never does it).
                    .sandbox = false};
    return control.Start(spec);
  }

  // PostgreSQL keeps its working directory in the data directory, so most of its file access
  // follows a rename; but it writes global/pg_control through the absolute -D path (at every
  // checkpoint, the shutdown one included) and PANICs when that path is gone. So a server that
  // may be renamed under it is started through a stable symlink, re-pointed after the rename.
  std::string ServerLink(int port, const std::string& target) {
    const std::string servers = dir_ + "/servers";
    ::mkdir(servers.c_str(), 0755);
    const std::string link = servers + "/" + std::to_string(port);
    const std::string temp = link + ".new";
    ::unlink(temp.c_str());
    EXPECT_EQ(::symlink(target.c_str(), temp.c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(::rename(temp.c_str(), link.c_str()), 0) << std::strerror(errno);
    return link;
  }

  Status StopServer(const std::string& data) {
    PostgresControl control(runner_);
    return control.Stop(data, std::chrono::seconds(30), /*require_clean=*/true);
  }

  Result<PgConnection> Connect(int port) {
    return PgConnection::Connect(BuildConninfo({{"host", dir_ + "/run"},
                                                {"port", std::to_string(port)},
                                                {"user", "postgres"},
                                                {"dbname", "postgres"}}));
  }

  std::string Query(int port, const std::string& sql) {
    auto connection = Connect(port);
    if (!connection.ok()) return "connect failed: " + connection.error().message;
    auto rows = connection->Query(sql);
    if (!rows.ok()) return "query failed: " + rows.error().message;
    return rows->empty() || rows->front().empty() ? "" : rows->front().front();
  }

  bool IsOverlay() const { return GetParam().mode == "overlay"; }

  PosixProcessRunner runner_;
  OsUser postgres_;
  std::string dir_;
  PoolSpec spec_;
  std::unique_ptr<PoolBackend> pool_;
  std::vector<std::string> servers_;
};

TEST_P(TreePoolIntegrationTest, PreparesPrivateMainDataOwnedByPostgres) {
  struct stat st {};
  ASSERT_EQ(::stat(Data().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, postgres_.uid);
  EXPECT_EQ(st.st_gid, postgres_.gid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(pool_->Mode(), GetParam().mode);
  EXPECT_EQ(pool_->IsThin(), GetParam().mode != "copy");
  EXPECT_EQ(pool_->Name(), "tree_pool");
  if (GetParam().image || GetParam().mode == "reflink") {
    EXPECT_EQ(FsType(Data()), XFS_SUPER_MAGIC);
    int fd = ::open(Data().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    struct fsxattr attributes {};
    ASSERT_EQ(::ioctl(fd, FS_IOC_FSGETXATTR, &attributes), 0);
    ::close(fd);
    EXPECT_TRUE(attributes.fsx_xflags & FS_XFLAG_COWEXTSIZE);
    EXPECT_EQ(attributes.fsx_cowextsize, 4096u) << "a small write must not copy a big extent";
  }
  auto usage = pool_->Usage();
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_GT(usage->size, 0);
  EXPECT_GT(usage->free, 0);
  if (GetParam().image) {
    EXPECT_LE(usage->size, kImageSize);
    EXPECT_GT(usage->size, kImageSize / 2);
  }
  // Opening again (an engine restart) keeps everything.
  ASSERT_TRUE(WriteFile(Data() + "/PG_VERSION", "15\n"));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(ReadFile(Data() + "/PG_VERSION"), "15\n");
}

TEST_P(TreePoolIntegrationTest, CloneIsAnExactCopyOfTheSnapshotWithoutThePidFile) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());

  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");

  ASSERT_TRUE(clone.ok()) << clone.error().message;
  EXPECT_EQ(*clone, pool_->ClonePath("c1"));
  EXPECT_FALSE(fs::exists(pool_->SnapshotPath("s1") + "/postmaster.pid"));
  EXPECT_FALSE(fs::exists(*clone + "/postmaster.pid"));
  ASSERT_EQ(::unlink((Data() + "/postmaster.pid").c_str()), 0);
  const struct timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Data().c_str(), times, 0), 0);
  ExpectSameTree(Data(), pool_->SnapshotPath("s1"));
  ExpectSameTree(pool_->SnapshotPath("s1"), *clone);
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{"c1"});
}

TEST_P(TreePoolIntegrationTest, SnapshotIsFrozenAndRefusesWritesEvenFromRoot) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  const std::string snapshot = pool_->SnapshotPath("s1");

  ASSERT_TRUE(WriteFile(Data() + "/PG_VERSION", "16\n"));
  ASSERT_TRUE(WriteFile(Data() + "/base/new", "new"));
  ASSERT_EQ(::unlink((Data() + "/base/1/1259").c_str()), 0);

  EXPECT_EQ(ReadFile(snapshot + "/PG_VERSION"), "15\n");
  EXPECT_FALSE(fs::exists(snapshot + "/base/new"));
  EXPECT_EQ(ReadFile(snapshot + "/base/1/1259"), std::string(5 * 8192, 'c'));
  if (IsOverlay()) return;  // overlay snapshots are protected by modes only (see overlay_pool.h)
  errno = 0;
  EXPECT_LT(::open((snapshot + "/PG_VERSION").c_str(), O_WRONLY | O_CLOEXEC), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_LT(::open((snapshot + "/intruder").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600), 0);
  EXPECT_LT(::open((snapshot + "/base/intruder").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600), 0);
  EXPECT_NE(::unlink((snapshot + "/base/5/16384").c_str()), 0);
  EXPECT_NE(::rename(snapshot.c_str(), (snapshot + "-moved").c_str()), 0);
}

TEST_P(TreePoolIntegrationTest, ASnapshotOfACloneHoldsTheClonesChanges) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "promote");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  ASSERT_TRUE(WriteFile(*clone + "/PG_VERSION", "masked\n"));

  auto taken = pool_->CreateSnapshotOfClone("promote", "s2");
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  ASSERT_TRUE(pool_->DestroyClone("promote").ok());
  EXPECT_EQ(ReadFile(pool_->SnapshotPath("s2") + "/PG_VERSION"), "masked\n");
  EXPECT_NE(ReadFile(pool_->SnapshotPath("s1") + "/PG_VERSION"), "masked\n");
  auto from_s2 = pool_->CreateClone("s2", "c2");
  ASSERT_TRUE(from_s2.ok()) << from_s2.error().message;
  EXPECT_EQ(ReadFile(*from_s2 + "/PG_VERSION"), "masked\n");
  EXPECT_EQ(pool_->CreateSnapshotOfClone("missing", "s3").error().code, ErrorCode::kNotFound);
}

TEST_P(TreePoolIntegrationTest, WritesInACloneStayInThatClone) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto c1 = pool_->CreateClone("s1", "c1");
  auto c2 = pool_->CreateClone("s1", "c2");
  ASSERT_TRUE(c1.ok() && c2.ok());

  // Change, add, delete, and rename a directory that came from the snapshot (PostgreSQL does
  // that when it drops a replication slot; overlayfs needs redirect_dir for it).
  ASSERT_TRUE(WriteFile(*c1 + "/PG_VERSION", "changed\n"));
  ASSERT_TRUE(WriteFile(*c1 + "/base/5/16385", "new table"));
  ASSERT_EQ(::unlink((*c1 + "/base/1/1259").c_str()), 0);
  ASSERT_EQ(
      ::rename((*c1 + "/pg_replslot/slot1").c_str(), (*c1 + "/pg_replslot/slot1.tmp").c_str()), 0)
      << std::strerror(errno);
  {
    int fd = ::open((*c1 + "/base/5/16384").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "X", 1, 8192), 1);
    EXPECT_EQ(::fsync(fd), 0) << "fsync must work on a clone";
    ::close(fd);
  }

  EXPECT_EQ(ReadFile(*c1 + "/PG_VERSION"), "changed\n");
  EXPECT_EQ(ReadFile(*c1 + "/pg_replslot/slot1.tmp/state"), "slot");
  for (const std::string& other : {*c2, pool_->SnapshotPath("s1")}) {
    EXPECT_EQ(ReadFile(other + "/PG_VERSION"), "15\n") << other;
    EXPECT_FALSE(fs::exists(other + "/base/5/16385")) << other;
    EXPECT_TRUE(fs::exists(other + "/base/1/1259")) << other;
    EXPECT_TRUE(fs::exists(other + "/pg_replslot/slot1/state")) << other;
    EXPECT_EQ(ReadFile(other + "/base/5/16384"), std::string(64 * 1024, 't')) << other;
  }
  // Mode and owner of the clone's top directory are what postgres insists on.
  struct stat st {};
  ASSERT_EQ(::stat(c1->c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, postgres_.uid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_P(TreePoolIntegrationTest, RenameKeepsOpenFilesUsableAndChecksNames) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "warm-1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "other").ok());
  int file = ::open((pool_->ClonePath("warm-1") + "/PG_VERSION").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(file, 0);
  int directory = ::open(pool_->ClonePath("warm-1").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(directory, 0);

  auto renamed = pool_->RenameClone("warm-1", "user-1");

  ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  EXPECT_EQ(::pwrite(file, "99\n", 3, 0), 3);
  EXPECT_EQ(::fsync(file), 0);
  ::close(file);
  EXPECT_EQ(ReadFile(pool_->ClonePath("user-1") + "/PG_VERSION"), "99\n");
  int relative = ::openat(directory, "base/5/16384", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(relative, 0) << "relative paths from the old cwd must keep working";
  if (relative >= 0) ::close(relative);
  ::close(directory);
  EXPECT_FALSE(fs::exists(pool_->ClonePath("warm-1")));
  EXPECT_EQ(*pool_->ListClones(), (std::vector<std::string>{"other", "user-1"}));

  EXPECT_EQ(pool_->RenameClone("warm-1", "x").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool_->RenameClone("user-1", "other").error().code, ErrorCode::kConflict);
  EXPECT_EQ(ReadFile(pool_->ClonePath("other") + "/PG_VERSION"), "15\n");
  for (const char* bad : {"../escape", "a/b", "..", "/abs"}) {
    EXPECT_EQ(pool_->RenameClone("user-1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone("s1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateSnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroyClone(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroySnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/pool/escape"));
}

TEST_P(TreePoolIntegrationTest, DestroyFreesTheSpaceAndLeavesNothing) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok());
  constexpr int64_t kWritten = 64LL << 20;
  ASSERT_TRUE(WriteFile(*clone + "/base/5/big", std::string(kWritten, 'w')));
  ::sync();
  auto own = pool_->CloneOwnBytes("c1");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_GE(*own, kWritten);
  EXPECT_LT(*own, kWritten + (8 << 20));
  auto before = pool_->Usage();

  ASSERT_TRUE(pool_->DestroyClone("c1").ok());

  // XFS frees the blocks of unlinked inodes in the background: give it a moment.
  auto after = pool_->Usage();
  for (int i = 0; i < 100 && after.ok() && before.ok() && after->free - before->free < kWritten / 2;
       ++i) {
    ::sync();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = pool_->Usage();
  }
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_GE(after->free - before->free, kWritten / 2) << "destroying must free the clone's data";
  EXPECT_FALSE(fs::exists(*clone));
  EXPECT_TRUE(MountsBelow(spec_.pool_path + "/clones/c1").empty());
  EXPECT_TRUE(pool_->ListClones()->empty());
  EXPECT_TRUE(pool_->DestroyClone("c1").ok()) << "destroying a missing clone succeeds";
  EXPECT_EQ(pool_->CloneOwnBytes("c1").error().code, ErrorCode::kNotFound);
  // Nothing hidden remains either.
  for (const char* directory : {"/clones", "/snapshots", "/layers"}) {
    if (!fs::exists(spec_.pool_path + directory)) continue;
    for (const auto& entry : fs::directory_iterator(spec_.pool_path + directory)) {
      EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
    }
  }
  ASSERT_TRUE(pool_->DestroySnapshot("s1").ok());
  EXPECT_FALSE(fs::exists(pool_->SnapshotPath("s1")));
  EXPECT_EQ(pool_->DestroySnapshot("s1").error().code, ErrorCode::kNotFound);
}

TEST_P(TreePoolIntegrationTest, ThinClonesShareTheSnapshotsData) {
  if (GetParam().mode == "copy") GTEST_SKIP() << "the copy pool is not thin";
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(WriteFile(Data() + "/base/5/big", std::string(32 << 20, 'b')));
  ::sync();
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());
  ::sync();
  auto own = pool_->CloneOwnBytes("c1");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_LT(*own, 1 << 20) << "a fresh clone holds (almost) nothing of its own";

  // A one-byte write into a 32 MiB file: reflinks (and overlayfs copy-up on XFS, which clones)
  // copy a 4 KiB extent; overlayfs on ext4 copies the whole file up.
  int fd = ::open((pool_->ClonePath("c1") + "/base/5/big").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "!", 1, 8192), 1);
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
  ::sync();
  own = pool_->CloneOwnBytes("c1");
  ASSERT_TRUE(own.ok()) << own.error().message;
  if (GetParam().mode == "overlay" && !GetParam().image) {
    EXPECT_GE(*own, 32 << 20) << "overlayfs without reflinks copies the whole file up";
  } else {
    EXPECT_LT(*own, 1 << 20) << "a small write must not copy the whole file";
  }
  if (GetParam().mode == "overlay" && !GetParam().image) return;  // snapshots are full copies
  auto snapshot_own = pool_->SnapshotOwnBytes("s1");
  ASSERT_TRUE(snapshot_own.ok()) << snapshot_own.error().message;
  EXPECT_LT(*snapshot_own, 1 << 20) << "a reflinked snapshot shares main data's extents";
}

TEST_P(TreePoolIntegrationTest, DestroyingASnapshotKeepsOrRefusesForItsClones) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());

  auto destroyed = pool_->DestroySnapshot("s1");

  if (IsOverlay()) {
    ASSERT_FALSE(destroyed.ok());
    EXPECT_EQ(destroyed.error().code, ErrorCode::kConflict);
    EXPECT_NE(destroyed.error().message.find("c1"), std::string::npos);
  } else {
    ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  }
  EXPECT_EQ(ReadFile(pool_->ClonePath("c1") + "/PG_VERSION"), "15\n");
}

TEST_P(TreePoolIntegrationTest, ReopeningAfterARebootBringsEveryCloneBack) {
  ASSERT_NO_FATAL_FAILURE(FillMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c2").ok());
  ASSERT_TRUE(pool_->RenameClone("c2", "renamed").ok());
  ASSERT_TRUE(WriteFile(pool_->ClonePath("c1") + "/mine", "c1's"));
  ASSERT_TRUE(WriteFile(pool_->ClonePath("renamed") + "/mine", "renamed's"));

  // An engine restart (mounts still there) mounts nothing twice.
  const size_t mounts = MountsBelow(dir_).size();
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(MountsBelow(dir_).size(), mounts);

  ASSERT_NO_FATAL_FAILURE(UnmountEverything());
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(MountsBelow(dir_).size(), mounts);

  EXPECT_EQ(*pool_->ListClones(), (std::vector<std::string>{"c1", "renamed"}));
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_EQ(ReadFile(pool_->ClonePath("c1") + "/mine"), "c1's");
  EXPECT_EQ(ReadFile(pool_->ClonePath("renamed") + "/mine"), "renamed's");
  EXPECT_EQ(ReadFile(pool_->ClonePath("renamed") + "/PG_VERSION"), "15\n");
  EXPECT_FALSE(fs::exists(pool_->ClonePath("c2")));
  ASSERT_TRUE(pool_->DestroyClone("renamed").ok());
  ASSERT_TRUE(pool_->DestroyClone("c1").ok());
}

TEST_P(TreePoolIntegrationTest, PostgresRunsOnACloneAndSurvivesARenameAndAReset) {
  if (!HaveProgram(std::string(kBinDir) + "/postgres")) GTEST_SKIP() << "no PostgreSQL 15";
  ASSERT_NO_FATAL_FAILURE(InitMainData());
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto warm = pool_->CreateClone("s1", "warm-xyz");
  ASSERT_TRUE(warm.ok()) << warm.error().message;
  const int port = testing::FreePort();

  // Given a server started on a warm clone (through a stable path, see ServerLink).
  const std::string data_dir = ServerLink(port, *warm);
  auto pid = StartServer(data_dir, port);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(Query(port, "SELECT 'ready'"), "ready");
  EXPECT_EQ(Query(port, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS id; SELECT 1"), "1");

  // When the clone is handed to a user while the server runs.
  auto renamed = pool_->RenameClone("warm-xyz", "user-1");
  ASSERT_TRUE(renamed.ok()) << renamed.error().message;

  // Then the server keeps working, from the new path.
  const std::string user_path = pool_->ClonePath("user-1");
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(*pid) + "/cwd").string(), user_path);
  EXPECT_EQ(Query(port, "INSERT INTO t SELECT generate_series(1001, 2000); SELECT count(*) FROM t"),
            "2000");
  ServerLink(port, user_path);
  EXPECT_EQ(Query(port, "CHECKPOINT; SELECT 'synced'"), "synced");
  EXPECT_EQ(Query(port, "SELECT slot_name FROM pg_create_physical_replication_slot('s', true)"),
            "s");
  EXPECT_EQ(Query(port, "SELECT 'dropped' FROM pg_drop_replication_slot('s')"), "dropped");
  auto stopped = StopServer(data_dir);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;

  // It starts again (no crash recovery needed) with its data.
  pid = StartServer(user_path, port);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), "2000");
  ASSERT_TRUE(StopServer(user_path).ok());

  // Reset: move the old files aside, clone again, start, drop the old files.
  ASSERT_TRUE(pool_->RenameClone("user-1", "trash-user-1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "user-1").ok());
  pid = StartServer(user_path, port);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(Query(port, "SELECT count(*) FROM pg_class WHERE relname = 't'"), "0");
  ASSERT_TRUE(pool_->DestroyClone("trash-user-1").ok());
  ASSERT_TRUE(StopServer(user_path).ok());
  ASSERT_TRUE(pool_->DestroyClone("user-1").ok());
  auto log = ReadFile(dir_ + "/postgres-" + std::to_string(port) + ".log");
  EXPECT_EQ(log.find("PANIC"), std::string::npos) << log;
  EXPECT_EQ(log.find("crash recovery"), std::string::npos) << log;
  EXPECT_EQ(log.find("was interrupted"), std::string::npos) << log;
  EXPECT_EQ(log.find("automatic recovery"), std::string::npos) << log;
}

TEST_P(TreePoolIntegrationTest, MeasuresSnapshotCloneRenameDestroyOnAPgbenchDatabase) {
  if (!HaveProgram(std::string(kBinDir) + "/pgbench")) GTEST_SKIP() << "no PostgreSQL 15";
  ASSERT_NO_FATAL_FAILURE(InitMainData());
  const int port = testing::FreePort();
  auto pid = StartServer(Data(), port);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  RunOptions options;
  options.user = "postgres";
  auto filled =
      runner_.Run({std::string(kBinDir) + "/pgbench", "-i", "-q", "-s", "7", "-h", dir_ + "/run",
                   "-p", std::to_string(port), "-U", "postgres", "postgres"},
                  options);
  ASSERT_TRUE(filled.ok() && filled->exit_code == 0) << filled->err;
  ASSERT_TRUE(StopServer(Data()).ok());
  auto bytes = AllocatedBytes(Data());
  ASSERT_TRUE(bytes.ok());
  int files = 0;
  for (auto it = fs::recursive_directory_iterator(Data()); it != fs::end(it); ++it) ++files;
  ::sync();

  std::map<std::string, std::vector<double>> millis;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "m" + std::to_string(i);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->CreateSnapshot(name).ok());
    millis["snapshot"].push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    auto clone = pool_->CreateClone(name, "warm-" + name);
    ASSERT_TRUE(clone.ok()) << clone.error().message;
    millis["clone"].push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    const std::string data_dir = ServerLink(port, *clone);
    auto started = StartServer(data_dir, port);
    ASSERT_TRUE(started.ok()) << started.error().message;
    millis["postgres start on clone"].push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->RenameClone("warm-" + name, "user-" + name).ok());
    millis["rename (server running)"].push_back(MillisSince(start));
    ServerLink(port, pool_->ClonePath("user-" + name));
    EXPECT_EQ(Query(port, "SELECT count(*) FROM pgbench_branches"), "7");
    auto stopped = StopServer(data_dir);
    ASSERT_TRUE(stopped.ok()) << stopped.error().message;
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->DestroyClone("user-" + name).ok());
    millis["destroy clone"].push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->DestroySnapshot(name).ok());
    millis["destroy snapshot"].push_back(MillisSince(start));
  }
  for (auto& [what, values] : millis) {
    std::sort(values.begin(), values.end());
    std::printf("[ MEASURE  ] %s: %s median %.1f ms (min %.1f, max %.1f; %d MB, %d entries)\n",
                BackendName(::testing::TestParamInfo<Backend>(GetParam(), 0)).c_str(), what.c_str(),
                values[values.size() / 2], values.front(), values.back(),
                static_cast<int>(*bytes >> 20), files);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, TreePoolIntegrationTest,
                         ::testing::Values(Backend{"copy", false}, Backend{"reflink", true},
                                           Backend{"overlay", false}, Backend{"overlay", true}),
                         BackendName);

// A pool path on a filesystem without reflinks and no image: a clear refusal, nothing mounted.
TEST(TreePoolFactoryTest, ReflinkPoolRefusesExt4WithoutAnImage) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto reflink = SupportsReflink("/tmp");
  if (!reflink.ok() || *reflink) GTEST_SKIP() << "/tmp has reflinks here";
  const std::string dir = testing::MakeTempDir("dblab-tree-refuse");
  PosixProcessRunner runner;
  PoolSpec spec;
  spec.mode = "reflink";
  spec.pool_name = "p";
  spec.pool_path = dir + "/pool";
  ASSERT_TRUE(WriteFile(dir + "/marker", "x"));

  auto pool = MakeReflinkPool(spec, runner);

  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(pool.error().message.find("reflink"), std::string::npos) << pool.error().message;
  EXPECT_TRUE(MountsBelow(dir).empty());
  (void)RemoveTree(dir);
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

// Under systemd, / is a shared mount, and mount --move refuses to move a mount whose parent is
// shared (EINVAL). The overlay pool makes clones/ a private mount of its own for that reason.
TEST(OverlayPoolSharedMountTest, RenamesCloneMountsUnderASharedParent) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string dir = testing::MakeTempDir("dblab-tree-shared");
  const std::string shared = dir + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0755), 0);
  ASSERT_EQ(::mount(shared.c_str(), shared.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, shared.c_str(), nullptr, MS_SHARED, nullptr), 0);
  PosixProcessRunner runner;
  PoolSpec spec;
  spec.mode = "overlay";
  spec.pool_name = "p";
  spec.pool_path = shared + "/pool";
  {
    auto pool = MakeOverlayPool(spec, runner);
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    ASSERT_TRUE(WriteFile((*pool)->MainDataPath() + "/PG_VERSION", "15\n"));
    ASSERT_TRUE((*pool)->CreateSnapshot("s1").ok());
    ASSERT_TRUE((*pool)->CreateClone("s1", "warm-1").ok());

    auto renamed = (*pool)->RenameClone("warm-1", "user-1");

    EXPECT_TRUE(renamed.ok()) << renamed.error().message;
    EXPECT_EQ(ReadFile((*pool)->ClonePath("user-1") + "/PG_VERSION"), "15\n");
  }
  auto mounts = MountsBelow(dir);
  std::sort(mounts.rbegin(), mounts.rend());
  for (const auto& mount_point : mounts) {
    if (::umount2(mount_point.c_str(), 0) != 0) ::umount2(mount_point.c_str(), MNT_DETACH);
  }
  EXPECT_TRUE(MountsBelow(dir).empty());
  if (MountsBelow(dir).empty()) (void)RemoveTree(dir);
}

}  // namespace
}  // namespace dblab
