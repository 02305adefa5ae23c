// Real ZFS pools (zfs-fuse here, kernel ZFS elsewhere: same CLI) on sparse image files in a
// private temp dir, each with a unique pool name (dblab_test_<random>) so that a real
// "dblab_pool" is never touched. Needs root. When no ZFS daemon runs, the suite starts zfs-fuse
// itself and stops it (by PID) at the end. Whatever a test does, TearDown kills processes working
// below its dir, destroys its zpool, unmounts leftovers and removes the dir, and checks that no
// pool and no mount of ours remain.
#include "storage/zfs/zfs_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "platform/posix_process.h"
#include "postgres/pq.h"
#include "postgres/server.h"
#include "support.h"

namespace dblab {
namespace {

namespace fs = std::filesystem;
using testing::CleanupTree;
using testing::FreePort;
using testing::MakeTempDir;

constexpr int64_t kImageSize = 1LL << 30;  // sparse: costs what the test writes
constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";

using testing::MountsBelow;
using testing::ReadFile;
using testing::StartsWith;
using testing::StopProcessesBelow;
using testing::WriteFile;

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

bool IsMountPoint(const std::string& path) {
  auto mounts = MountsBelow(fs::path(path).parent_path().string());
  return std::find(mounts.begin(), mounts.end(), path) != mounts.end();
}

int RunQuiet(PosixProcessRunner& runner, const std::vector<std::string>& argv) {
  auto result = runner.Run(argv, {.timeout = std::chrono::minutes(2)});
  return result.ok() ? result->exit_code : -1;
}

class ZfsPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string unusable = testing::EnsureZfsRunning();
    if (!unusable.empty()) GTEST_FAIL() << unusable;
    dir_ = MakeTempDir("dblab-zfs");
    std::random_device random;
    std::ostringstream name;
    name << "dblab_test_" << std::hex << random() << random();
    spec_.mode = "zfs";
    spec_.pool_name = name.str();
    spec_.pool_path = dir_ + "/pool";
    spec_.image_path = dir_ + "/images/pool.img";
    spec_.image_size_bytes = kImageSize;
    auto postgres = LookupOsUser("postgres");
    ASSERT_TRUE(postgres.ok()) << "the postgres OS user is needed: " << postgres.error().message;
    postgres_ = *postgres;
    spec_.data_owner_uid = postgres_.uid;
    spec_.data_owner_gid = postgres_.gid;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    StopProcessesBelow(dir_);
    pool_.reset();
    for (int i = 0; i < 20 && PoolExists(); ++i) {
      RunQuiet(runner_, {"zpool", "destroy", "-f", spec_.pool_name});
      if (PoolExists()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_FALSE(PoolExists()) << "zpool " << spec_.pool_name << " survived teardown";
    CleanupTree(dir_);
    EXPECT_TRUE(MountsBelow(dir_).empty()) << "a mount under " << dir_ << " survived teardown";
    EXPECT_FALSE(fs::exists(dir_)) << dir_ << " survived teardown";
  }

  bool PoolExists() {
    return RunQuiet(runner_, {"zpool", "list", "-H", "-o", "name", spec_.pool_name}) == 0;
  }

  // Opens (creating on first use) the test's pool through the factory.
  void OpenPool() {
    auto pool = MakeZfsPool(spec_, runner_);
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    pool_ = std::move(*pool);
  }

  // Runs as the postgres OS user; returns the exit code.
  RunResult AsPostgres(const std::vector<std::string>& argv) {
    auto result = runner_.Run(argv, {.user = "postgres", .timeout = std::chrono::minutes(5)});
    if (!result.ok()) return RunResult{-1, "", result.error().message};
    return *result;
  }

  PosixProcessRunner runner_;
  std::string dir_;
  PoolSpec spec_;
  OsUser postgres_;
  std::unique_ptr<PoolBackend> pool_;
};

TEST_F(ZfsPoolTest, FactoryCreatesAPoolOnASparseImageWithPrivateMainData) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);

  EXPECT_EQ(pool_->Name(), spec_.pool_name);
  EXPECT_EQ(pool_->Mode(), "zfs");
  EXPECT_TRUE(pool_->IsThin());
  EXPECT_TRUE(PoolExists());
  EXPECT_TRUE(IsMountPoint(spec_.pool_path));
  EXPECT_TRUE(IsMountPoint(pool_->MainDataPath()));
  EXPECT_TRUE(IsMountPoint(spec_.pool_path + "/clones"));
  struct stat image {};
  ASSERT_EQ(::stat(spec_.image_path.c_str(), &image), 0);
  EXPECT_EQ(image.st_mode & 07777, 0600u);
  EXPECT_EQ(image.st_size, kImageSize);
  EXPECT_LT(image.st_blocks * 512, kImageSize / 4) << "the image should be sparse";
  struct stat data {};
  ASSERT_EQ(::stat(pool_->MainDataPath().c_str(), &data), 0);
  EXPECT_EQ(data.st_uid, postgres_.uid);
  EXPECT_EQ(data.st_gid, postgres_.gid);
  EXPECT_EQ(data.st_mode & 07777, 0700u);
  struct statfs filesystem {};
  ASSERT_EQ(::statfs(pool_->MainDataPath().c_str(), &filesystem), 0);
  std::printf("[ ZFS      ] main data filesystem type 0x%lx (FUSE is 0x%x)\n",
              static_cast<unsigned long>(filesystem.f_type), FUSE_SUPER_MAGIC);

  auto usage = pool_->Usage();
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_GT(usage->size, kImageSize / 2);
  EXPECT_LE(usage->size, kImageSize);
  EXPECT_GT(usage->used, 0);
  EXPECT_EQ(usage->size, usage->used + usage->free);
}

TEST_F(ZfsPoolTest, ReopensAnImportedPoolAndReimportsAnExportedOneKeepingData) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/PG_VERSION", "15\n"));
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "c1").ok());

  // The engine restarts after something unmounted a clone: the pool is used as is and the
  // clone is mounted again.
  ASSERT_EQ(RunQuiet(runner_, {"zfs", "unmount", spec_.pool_name + "/clones/c1"}), 0);
  ASSERT_FALSE(IsMountPoint(pool_->ClonePath("c1")));
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  EXPECT_EQ(ReadFile(pool_->MainDataPath() + "/PG_VERSION"), "15\n");
  EXPECT_TRUE(IsMountPoint(pool_->ClonePath("c1")));
  EXPECT_EQ(ReadFile(pool_->ClonePath("c1") + "/PG_VERSION"), "15\n");

  // The host reboots (the pool is exported): the factory imports it from the image dir.
  pool_.reset();
  ASSERT_EQ(RunQuiet(runner_, {"zpool", "export", spec_.pool_name}), 0);
  ASSERT_FALSE(PoolExists());
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  EXPECT_EQ(ReadFile(pool_->MainDataPath() + "/PG_VERSION"), "15\n");
  EXPECT_EQ(ReadFile(pool_->ClonePath("c1") + "/PG_VERSION"), "15\n");
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{"c1"});
}

TEST_F(ZfsPoolTest, CloneIsAnExactWritableIsolatedCopyOfTheSnapshot) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  const std::string data = pool_->MainDataPath();
  ASSERT_TRUE(WriteFile(data + "/PG_VERSION", "15\n"));
  ASSERT_TRUE(fs::create_directories(data + "/pg_wal/archive_status"));  // empty dir
  ASSERT_TRUE(fs::create_directories(data + "/base/1"));
  ASSERT_TRUE(WriteFile(data + "/base/1/1259", std::string(100000, 'r')));
  ASSERT_EQ(::symlink("../base/1", (data + "/pg_wal/link").c_str()), 0);
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    ASSERT_EQ(::lchown(entry.path().c_str(), postgres_.uid, postgres_.gid), 0);
  }
  ASSERT_EQ(::chmod((data + "/base/1/1259").c_str(), 0600), 0);

  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(WriteFile(data + "/PG_VERSION", "16\n"));  // after the snapshot
  auto c1 = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(c1.ok()) << c1.error().message;
  auto c2 = pool_->CreateClone("s1", "c2");
  ASSERT_TRUE(c2.ok()) << c2.error().message;

  EXPECT_EQ(*c1, pool_->ClonePath("c1"));
  EXPECT_EQ(*c1, spec_.pool_path + "/clones/c1");
  EXPECT_EQ(ReadFile(*c1 + "/PG_VERSION"), "15\n");
  EXPECT_EQ(ReadFile(*c1 + "/base/1/1259"), std::string(100000, 'r'));
  EXPECT_TRUE(fs::is_empty(*c1 + "/pg_wal/archive_status"));
  EXPECT_EQ(fs::read_symlink(*c1 + "/pg_wal/link"), "../base/1");
  struct stat st {};
  ASSERT_EQ(::stat(c1->c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, postgres_.uid);
  EXPECT_EQ(st.st_gid, postgres_.gid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((*c1 + "/base/1/1259").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, postgres_.uid);

  ASSERT_TRUE(WriteFile(*c1 + "/PG_VERSION", "changed in c1\n"));
  ASSERT_TRUE(WriteFile(*c1 + "/only-in-c1", "x"));
  EXPECT_EQ(ReadFile(*c2 + "/PG_VERSION"), "15\n");
  EXPECT_FALSE(fs::exists(*c2 + "/only-in-c1"));
  EXPECT_EQ(ReadFile(data + "/PG_VERSION"), "16\n");
  EXPECT_FALSE(fs::exists(data + "/only-in-c1"));

  EXPECT_EQ(pool_->CreateSnapshot("s1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("s1", "c1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(ReadFile(*c1 + "/only-in-c1"), "x") << "a refused clone must not touch the old one";
  EXPECT_EQ(pool_->CreateClone("missing", "c3").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_EQ(*pool_->ListClones(), (std::vector<std::string>{"c1", "c2"}));

  // zfs-fuse has no .zfs directory; kernel ZFS has. Report which one this is.
  std::printf(
      "[ ZFS      ] snapshot path %s %s\n", pool_->SnapshotPath("s1").c_str(),
      fs::exists(pool_->SnapshotPath("s1") + "/PG_VERSION") ? "is readable" : "does not exist");
}

TEST_F(ZfsPoolTest, ThePostgresUserCanReadAndWriteAClone) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;

  const std::string script = "echo hello > \"$0\"/by-postgres && cat \"$0\"/by-postgres";
  auto wrote = AsPostgres({"/bin/sh", "-c", script, *clone});
  EXPECT_EQ(wrote.exit_code, 0) << wrote.err;
  EXPECT_EQ(wrote.out, "hello\n");
  struct stat st {};
  ASSERT_EQ(::stat((*clone + "/by-postgres").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, postgres_.uid);
  // Another unprivileged user is kept out by the 0700 top directory.
  auto nobody = runner_.Run({"/bin/ls", *clone}, {.user = "nobody"});
  ASSERT_TRUE(nobody.ok());
  EXPECT_NE(nobody->exit_code, 0);
}

TEST_F(ZfsPoolTest, DestroyFreesTheCloneAndSnapshotsWithClonesAreKept) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/table", std::string(4 << 20, 't')));
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  auto fresh = pool_->CloneOwnBytes("c1");
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_LT(*fresh, 1 << 20) << "a fresh clone shares all its blocks";

  std::string chunk(1 << 20, '\0');
  std::mt19937 random(42);
  for (auto& byte : chunk) byte = static_cast<char>(random());
  {
    std::ofstream out(*clone + "/written", std::ios::binary);
    for (int i = 0; i < 16; ++i) out << chunk;
  }
  // `used` counts committed blocks: a snapshot of the clone commits the transaction group (and
  // DestroyClone must take the clone's own snapshots with it).
  ASSERT_EQ(RunQuiet(runner_, {"zfs", "snapshot", spec_.pool_name + "/clones/c1@commit"}), 0);
  auto written = pool_->CloneOwnBytes("c1");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_GE(*written, 15 << 20);
  EXPECT_LT(*written, 32 << 20);
  auto snapshot_bytes = pool_->SnapshotOwnBytes("s1");
  ASSERT_TRUE(snapshot_bytes.ok()) << snapshot_bytes.error().message;
  EXPECT_LT(*snapshot_bytes, 1 << 20) << "main data still shares the snapshot's blocks";
  EXPECT_EQ(pool_->CloneOwnBytes("missing").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool_->SnapshotOwnBytes("missing").error().code, ErrorCode::kNotFound);

  auto kept = pool_->DestroySnapshot("s1");
  ASSERT_FALSE(kept.ok());
  EXPECT_EQ(kept.error().code, ErrorCode::kConflict);
  EXPECT_NE(kept.error().message.find("(c1)"), std::string::npos) << kept.error().message;
  EXPECT_EQ(ReadFile(*clone + "/table").size(), 4u << 20);

  auto destroyed = pool_->DestroyClone("c1");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_FALSE(IsMountPoint(*clone));
  EXPECT_FALSE(fs::exists(*clone + "/table"));
  EXPECT_TRUE(pool_->ListClones()->empty());
  EXPECT_TRUE(pool_->DestroyClone("c1").ok()) << "destroying a missing clone succeeds";
  EXPECT_EQ(pool_->CloneOwnBytes("c1").error().code, ErrorCode::kNotFound);

  destroyed = pool_->DestroySnapshot("s1");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_TRUE(pool_->ListSnapshots()->empty());
  EXPECT_EQ(pool_->DestroySnapshot("s1").error().code, ErrorCode::kNotFound);
}

TEST_F(ZfsPoolTest, RenameMovesAnIdleCloneAndRefusesExistingOrMissingNames) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(WriteFile(pool_->MainDataPath() + "/PG_VERSION", "15\n"));
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "warm-1").ok());
  ASSERT_TRUE(pool_->CreateClone("s1", "other").ok());
  ASSERT_TRUE(WriteFile(pool_->ClonePath("warm-1") + "/marker", "warm"));

  auto start = std::chrono::steady_clock::now();
  auto renamed = pool_->RenameClone("warm-1", "user-1");
  double millis = MillisSince(start);

  ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  std::printf("[ MEASURE  ] zfs rename of an idle clone: %.1f ms\n", millis);
  EXPECT_EQ(ReadFile(pool_->ClonePath("user-1") + "/marker"), "warm");
  EXPECT_TRUE(IsMountPoint(pool_->ClonePath("user-1")));
  EXPECT_FALSE(IsMountPoint(pool_->ClonePath("warm-1")));
  EXPECT_FALSE(fs::exists(pool_->ClonePath("warm-1") + "/marker"));
  EXPECT_EQ(*pool_->ListClones(), (std::vector<std::string>{"other", "user-1"}));

  EXPECT_EQ(pool_->RenameClone("user-1", "other").error().code, ErrorCode::kConflict);
  EXPECT_EQ(ReadFile(pool_->ClonePath("user-1") + "/marker"), "warm");
  EXPECT_EQ(pool_->RenameClone("missing", "x").error().code, ErrorCode::kNotFound);
}

TEST_F(ZfsPoolTest, RenameOfABusyCloneIsUnavailableAndKeepsItWorking) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "warm-1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  int busy = ::open((*clone + "/open-file").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(busy, 0) << std::strerror(errno);
  ASSERT_EQ(::write(busy, "before", 6), 6);

  auto renamed = pool_->RenameClone("warm-1", "user-1");

  // The open file must stay usable whatever the answer.
  EXPECT_EQ(::pwrite(busy, "after!", 6, 0), 6) << std::strerror(errno);
  char buffer[7] = {};
  EXPECT_EQ(::pread(busy, buffer, 6, 0), 6) << std::strerror(errno);
  EXPECT_STREQ(buffer, "after!");
  ::close(busy);
  if (renamed.ok()) {
    std::printf("[ ZFS      ] renaming a busy clone works here\n");
    EXPECT_EQ(ReadFile(pool_->ClonePath("user-1") + "/open-file"), "after!");
  } else {
    EXPECT_EQ(renamed.error().code, ErrorCode::kUnavailable) << renamed.error().message;
    std::printf("[ ZFS      ] renaming a busy clone: %s\n", renamed.error().message.c_str());
    EXPECT_EQ(ReadFile(pool_->ClonePath("warm-1") + "/open-file"), "after!");
    EXPECT_EQ(*pool_->ListClones(), std::vector<std::string>{"warm-1"});
    // Once the file is closed, the same rename works.
    auto again = pool_->RenameClone("warm-1", "user-1");
    EXPECT_TRUE(again.ok()) << again.error().message;
  }
}

TEST_F(ZfsPoolTest, NamesWithSlashesOrDotDotAreRefused) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  for (const std::string bad : {"../escape", "a/b", "..", "s1@x", "-r"}) {
    EXPECT_EQ(pool_->CreateSnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone("s1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone(bad, "c1").error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroyClone(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroySnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->RenameClone("c1", bad).error().code, ErrorCode::kBadRequest) << bad;
  }
  EXPECT_EQ(*pool_->ListSnapshots(), std::vector<std::string>{"s1"});
  EXPECT_TRUE(pool_->ListClones()->empty());
  EXPECT_FALSE(fs::exists(spec_.pool_path + "/escape"));
}

TEST_F(ZfsPoolTest, MeasuresSnapshotCloneRenameDestroyOn200MegabytesOfData) {
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  // ~200 MB, PGDATA-like: 200 segment-ish files of 1 MiB with incompressible content.
  std::string chunk(1 << 20, '\0');
  std::mt19937_64 random(7);
  auto fill_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(fs::create_directories(pool_->MainDataPath() + "/base/5"));
  for (int i = 0; i < 200; ++i) {
    for (size_t j = 0; j + 8 <= chunk.size(); j += 8) {
      uint64_t value = random();
      std::memcpy(&chunk[j], &value, 8);
    }
    std::ofstream out(pool_->MainDataPath() + "/base/5/" + std::to_string(16384 + i),
                      std::ios::binary);
    out << chunk;
  }
  ::sync();
  std::printf("[ MEASURE  ] zfs writing 200 MiB of main data: %.0f ms\n", MillisSince(fill_start));

  constexpr int kRuns = 5;
  std::vector<double> snapshot, clone, rename, destroy_clone, destroy_snapshot;
  for (int i = 0; i < kRuns; ++i) {
    std::string name = "m" + std::to_string(i);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(pool_->CreateSnapshot(name).ok());
    snapshot.push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    auto made = pool_->CreateClone(name, "warm-" + name);
    ASSERT_TRUE(made.ok()) << made.error().message;
    clone.push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    auto renamed = pool_->RenameClone("warm-" + name, name);
    ASSERT_TRUE(renamed.ok()) << renamed.error().message;
    rename.push_back(MillisSince(start));
    EXPECT_EQ(fs::file_size(pool_->ClonePath(name) + "/base/5/16400"), 1u << 20);
  }
  for (int i = 0; i < kRuns; ++i) {
    std::string name = "m" + std::to_string(i);
    auto start = std::chrono::steady_clock::now();
    auto destroyed = pool_->DestroyClone(name);
    ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
    destroy_clone.push_back(MillisSince(start));
    start = std::chrono::steady_clock::now();
    destroyed = pool_->DestroySnapshot(name);
    ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
    destroy_snapshot.push_back(MillisSince(start));
  }
  auto report = [](const char* what, std::vector<double> millis) {
    std::sort(millis.begin(), millis.end());
    std::printf(
        "[ MEASURE  ] zfs %s (200 MiB main data): median %.1f ms, min %.1f, max %.1f "
        "(%zu runs)\n",
        what, millis[millis.size() / 2], millis.front(), millis.back(), millis.size());
  };
  report("snapshot", snapshot);
  report("clone", clone);
  report("rename idle clone", rename);
  report("destroy clone", destroy_clone);
  report("destroy snapshot", destroy_snapshot);
}

// A real PostgreSQL 15 on zfs-fuse: main data made by initdb as the postgres user, stopped
// cleanly, snapshotted and cloned; the clone starts without crash recovery, fsyncs, and the
// warm-pool rename is tried while it runs.
TEST_F(ZfsPoolTest, RealPostgresStartsOnACloneAndSurvivesTheRenameAttempt) {
  if (!fs::exists(std::string(kPgBin) + "/postgres")) GTEST_SKIP() << "no PostgreSQL 15";
  OpenPool();
  ASSERT_NE(pool_, nullptr);
  PostgresControl control(runner_);
  const std::string run = dir_ + "/run";
  ASSERT_TRUE(fs::create_directories(run));
  ASSERT_EQ(::chown(run.c_str(), postgres_.uid, postgres_.gid), 0);
  ASSERT_TRUE(WriteFile(dir_ + "/hba.conf", "local all all trust\n"));
  ASSERT_EQ(::chmod((dir_ + "/hba.conf").c_str(), 0644), 0);

  auto initdb = AsPostgres({std::string(kPgBin) + "/initdb", "-D", pool_->MainDataPath(), "-U",
                            "postgres", "--auth=trust", "--locale=C.UTF-8"});
  ASSERT_EQ(initdb.exit_code, 0) << initdb.err;
  auto spec = [&](const std::string& data_dir, const std::string& log) {
    return ServerSpec{.bin_dir = kPgBin,
                      .data_dir = data_dir,
                      .port = FreePort(),
                      .listen_addresses = "",
                      .socket_dir = run,
                      .hba_file = dir_ + "/hba.conf",
                      .log_file = dir_ + "/" + log,
                      // Outside the sandbox: the rename attempt below is about a dataset in
                      // use by a plain server (a sandbox's bind mount pins it by design).
                      .sandbox = false};
  };
  auto connect = [&](int port) {
    return PgConnection::Connect(BuildConninfo({{"host", run},
                                                {"port", std::to_string(port)},
                                                {"user", "postgres"},
                                                {"dbname", "postgres"}}));
  };

  ServerSpec main_server = spec(pool_->MainDataPath(), "main.log");
  auto started = control.Start(main_server);
  ASSERT_TRUE(started.ok()) << started.error().message;
  {
    auto admin = connect(main_server.port);
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    auto made = admin->Exec(
        "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 100000) i");
    ASSERT_TRUE(made.ok()) << made.error().message;
  }
  auto stopped = control.Stop(main_server.data_dir, std::chrono::seconds(60), true);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;

  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "warm-1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  double clone_millis = MillisSince(start);

  ServerSpec clone_server = spec(*clone, "clone.log");
  start = std::chrono::steady_clock::now();
  started = control.Start(clone_server);
  ASSERT_TRUE(started.ok()) << started.error().message;
  double start_millis = MillisSince(start);
  std::printf(
      "[ MEASURE  ] zfs snapshot + clone of a fresh initdb: %.0f ms, postgres start on "
      "it: %.0f ms\n",
      clone_millis, start_millis);
  std::string log = ReadFile(clone_server.log_file);
  EXPECT_EQ(log.find("redo starts"), std::string::npos) << "crash recovery ran:\n" << log;
  EXPECT_EQ(log.find("was interrupted"), std::string::npos) << log;
  {
    auto admin = connect(clone_server.port);
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    auto count = admin->Query("SELECT count(*) FROM t");
    ASSERT_TRUE(count.ok()) << count.error().message;
    EXPECT_EQ((*count)[0][0], "100000");
    auto fsync = admin->Query("SHOW fsync");
    ASSERT_TRUE(fsync.ok());
    EXPECT_EQ((*fsync)[0][0], "on");
    auto inserted =
        admin->Exec("INSERT INTO t SELECT i, 'clone' FROM generate_series(1, 1000) i; CHECKPOINT");
    EXPECT_TRUE(inserted.ok()) << inserted.error().message;

    // The warm pool's hand-over: rename the clone while its server runs.
    auto renamed = pool_->RenameClone("warm-1", "user-1");
    if (renamed.ok()) {
      std::printf("[ ZFS      ] rename while postgres runs: worked\n");
    } else {
      EXPECT_EQ(renamed.error().code, ErrorCode::kUnavailable) << renamed.error().message;
      std::printf("[ ZFS      ] rename while postgres runs: %s\n", renamed.error().message.c_str());
    }
    // Either way the server keeps working and writing.
    auto after = admin->Query(
        "INSERT INTO t VALUES (0, 'after rename'); CHECKPOINT; "
        "SELECT count(*) FROM t");
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ((*after)[0][0], "101001");
    if (renamed.ok()) clone_server.data_dir = pool_->ClonePath("user-1");
  }
  // Stopping the server frees the clone: rename (the reset path) and destroy work.
  stopped = control.Stop(clone_server.data_dir, std::chrono::seconds(60), true);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  if (fs::exists(pool_->ClonePath("warm-1") + "/PG_VERSION")) {
    auto renamed = pool_->RenameClone("warm-1", "user-1");
    ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  }
  ServerSpec again = spec(pool_->ClonePath("user-1"), "again.log");
  started = control.Start(again);
  ASSERT_TRUE(started.ok()) << started.error().message;
  {
    auto admin = connect(again.port);
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    auto count = admin->Query("SELECT count(*) FROM t");
    ASSERT_TRUE(count.ok()) << count.error().message;
    EXPECT_EQ((*count)[0][0], "101001");
  }
  stopped = control.Stop(again.data_dir, std::chrono::seconds(60), true);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  start = std::chrono::steady_clock::now();
  auto destroyed = pool_->DestroyClone("user-1");
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  std::printf("[ MEASURE  ] zfs destroy of a just-stopped clone: %.0f ms\n", MillisSince(start));
  EXPECT_TRUE(pool_->ListClones()->empty());
}

}  // namespace
}  // namespace dblab
