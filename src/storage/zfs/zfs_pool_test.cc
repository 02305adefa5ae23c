#include "storage/zfs/zfs_pool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>

namespace dblab {
namespace {

// Answers zfs/zpool commands from a script and records what ran: these tests never reach ZFS.
class ScriptedZfsRunner : public ProcessRunner {
 public:
  // The next run of `command` (as DescribeCommand prints it) answers with this result; several
  // answers for one command are given in order. Unscripted commands succeed with no output.
  void Answer(const std::string& command, int exit_code, std::string out = "",
              std::string err = "") {
    answers_[command].push_back(RunResult{exit_code, std::move(out), std::move(err)});
  }

  Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions&) override {
    std::string command = DescribeCommand(argv);
    commands_ran.push_back(command);
    auto it = answers_.find(command);
    if (it == answers_.end() || it->second.empty()) return RunResult{0, "", ""};
    RunResult result = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();  // the last answer repeats
    return result;
  }
  Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const SpawnOptions&) override {
    commands_ran.push_back(DescribeCommand(argv));
    return Internal("not supported in tests");
  }

  std::vector<std::string> commands_ran;

 private:
  std::map<std::string, std::deque<RunResult>> answers_;
};

class ZfsPoolUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_shared<ScriptedZfsRunner>();
    pool_ = std::make_unique<ZfsPool>("dblab_pool", "/var/lib/dblab/pool/", runner_);
    pool_->SetBusyRetry(3, std::chrono::milliseconds(100),
                        [this](std::chrono::milliseconds delay) { slept_.push_back(delay); });
  }

  std::shared_ptr<ScriptedZfsRunner> runner_;
  std::unique_ptr<ZfsPool> pool_;
  std::vector<std::chrono::milliseconds> slept_;
};

TEST_F(ZfsPoolUnitTest, PathsFollowTheDatasetLayout) {
  EXPECT_EQ(pool_->Name(), "dblab_pool");
  EXPECT_EQ(pool_->Mode(), "zfs");
  EXPECT_TRUE(pool_->IsThin());
  EXPECT_EQ(pool_->MainDataPath(), "/var/lib/dblab/pool/data");
  EXPECT_EQ(pool_->ClonePath("c1"), "/var/lib/dblab/pool/clones/c1");
  EXPECT_EQ(pool_->SnapshotPath("s1"), "/var/lib/dblab/pool/data/.zfs/snapshot/s1");
}

TEST_F(ZfsPoolUnitTest, SnapshotCloneRenameAndDestroyRunTheseCommands) {
  ASSERT_TRUE(pool_->CreateSnapshot("s1").ok());
  auto clone = pool_->CreateClone("s1", "c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  EXPECT_EQ(*clone, "/var/lib/dblab/pool/clones/c1");
  ASSERT_TRUE(pool_->RenameClone("c1", "c2").ok());
  ASSERT_TRUE(pool_->DestroyClone("c2").ok());
  ASSERT_TRUE(pool_->DestroySnapshot("s1").ok());

  EXPECT_EQ(runner_->commands_ran, (std::vector<std::string>{
                                       "zfs snapshot dblab_pool/data@s1",
                                       "zfs clone dblab_pool/data@s1 dblab_pool/clones/c1",
                                       "zfs unmount dblab_pool/clones/c1",
                                       "zfs rename dblab_pool/clones/c1 dblab_pool/clones/c2",
                                       "zfs mount dblab_pool/clones/c2",
                                       "zfs unmount dblab_pool/clones/c2",
                                       "zfs destroy -r dblab_pool/clones/c2",
                                       "zfs destroy dblab_pool/data@s1",
                                   }));
}

TEST_F(ZfsPoolUnitTest, NamesWithSlashesOrDotDotNeverReachZfs) {
  for (const std::string bad : {"a/b", "..", "../x", "a..b", "", "-o", "x@y", ".hidden"}) {
    EXPECT_EQ(pool_->CreateSnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroySnapshot(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone("s1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CreateClone(bad, "c1").error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->DestroyClone(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->RenameClone("c1", bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->RenameClone(bad, "c1").error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->CloneOwnBytes(bad).error().code, ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(pool_->SnapshotOwnBytes(bad).error().code, ErrorCode::kBadRequest) << bad;
  }
  EXPECT_TRUE(runner_->commands_ran.empty());
}

TEST_F(ZfsPoolUnitTest, ExistingNamesAreConflictsAndMissingOnesNotFound) {
  runner_->Answer("zfs snapshot dblab_pool/data@s1", 1, "",
                  "cannot create snapshot 'dblab_pool/data@s1': dataset already exists\n");
  runner_->Answer("zfs clone dblab_pool/data@s1 dblab_pool/clones/c1", 1, "",
                  "cannot create 'dblab_pool/clones/c1': dataset already exists\n");
  runner_->Answer("zfs clone dblab_pool/data@nope dblab_pool/clones/c2", 1, "",
                  "cannot open 'dblab_pool/data@nope': dataset does not exist\n");
  runner_->Answer("zfs unmount dblab_pool/clones/gone", 1, "",
                  "cannot open 'dblab_pool/clones/gone': dataset does not exist\n");
  runner_->Answer("zfs rename dblab_pool/clones/c1 dblab_pool/clones/c4", 1, "",
                  "cannot rename to 'dblab_pool/clones/c4': dataset already exists\n");
  runner_->Answer("zfs destroy dblab_pool/data@nope", 1, "",
                  "could not find any snapshots to destroy; check snapshot names.\n");

  EXPECT_EQ(pool_->CreateSnapshot("s1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("s1", "c1").error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool_->CreateClone("nope", "c2").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool_->RenameClone("gone", "c3").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool_->RenameClone("c1", "c4").error().code, ErrorCode::kConflict);
  EXPECT_EQ(runner_->commands_ran.back(), "zfs mount dblab_pool/clones/c1") << "remounted";
  EXPECT_EQ(pool_->DestroySnapshot("nope").error().code, ErrorCode::kNotFound);
  // A failed clone for these reasons never destroys anything.
  for (const auto& command : runner_->commands_ran) {
    EXPECT_EQ(command.find("destroy -r"), std::string::npos) << command;
  }
}

TEST_F(ZfsPoolUnitTest, DestroyingAMissingCloneSucceeds) {
  runner_->Answer("zfs unmount dblab_pool/clones/gone", 1, "",
                  "cannot open 'dblab_pool/clones/gone': dataset does not exist\n");
  EXPECT_TRUE(pool_->DestroyClone("gone").ok());
}

TEST_F(ZfsPoolUnitTest, DestroyRetriesWhileBusyThenSucceeds) {
  runner_->Answer("zfs destroy -r dblab_pool/clones/c1", 1, "",
                  "cannot destroy 'dblab_pool/clones/c1': dataset is busy\n");
  runner_->Answer("zfs destroy -r dblab_pool/clones/c1", 0);

  ASSERT_TRUE(pool_->DestroyClone("c1").ok());
  EXPECT_EQ(runner_->commands_ran,
            (std::vector<std::string>{
                "zfs unmount dblab_pool/clones/c1", "zfs destroy -r dblab_pool/clones/c1",
                "zfs unmount dblab_pool/clones/c1", "zfs destroy -r dblab_pool/clones/c1"}));
  EXPECT_EQ(slept_, std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(100)});
}

TEST_F(ZfsPoolUnitTest, DestroyThatStaysBusyIsAConflictAfterTheLastAttempt) {
  runner_->Answer("zfs unmount dblab_pool/clones/c1", 1, "",
                  "umount: /var/lib/dblab/pool/clones/c1: target is busy.\n"
                  "cannot unmount '/var/lib/dblab/pool/clones/c1': umount failed: umount child "
                  "process failed\n");

  auto status = pool_->DestroyClone("c1");

  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_NE(status.error().message.find("fuser -vm /var/lib/dblab/pool/clones/c1"),
            std::string::npos)
      << status.error().message;
  EXPECT_EQ(runner_->commands_ran.size(), 3u);
  EXPECT_EQ(slept_.size(), 2u);
}

TEST_F(ZfsPoolUnitTest, SnapshotWithClonesIsAConflictNamingThem) {
  runner_->Answer("zfs destroy dblab_pool/data@s1", 1, "",
                  "cannot destroy 'dblab_pool/data@s1': snapshot has dependent clones\n"
                  "use '-R' to destroy the following datasets:\n"
                  "dblab_pool/clones/c2\ndblab_pool/clones/c1\n");

  auto status = pool_->DestroySnapshot("s1");

  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_NE(status.error().message.find("still has clones (c1, c2)"), std::string::npos)
      << status.error().message;
  EXPECT_EQ(runner_->commands_ran.size(), 1u) << "no retry and never -R";
}

TEST_F(ZfsPoolUnitTest, RenameOfABusyCloneIsUnavailable) {
  runner_->Answer("zfs unmount dblab_pool/clones/warm-1", 1, "",
                  "cannot unmount '/var/lib/dblab/pool/clones/warm-1': Device or resource busy\n");

  auto status = pool_->RenameClone("warm-1", "user-1");

  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("stop the server first"), std::string::npos);
  EXPECT_EQ(runner_->commands_ran,
            std::vector<std::string>{"zfs unmount dblab_pool/clones/warm-1"});
}

TEST_F(ZfsPoolUnitTest, RenameRetriesWhileZfsFuseStillHoldsTheUnmountedClone) {
  runner_->Answer("zfs rename dblab_pool/clones/c1 dblab_pool/clones/c2", 1, "",
                  "cannot rename 'dblab_pool/clones/c1': dataset is busy\n");
  runner_->Answer("zfs rename dblab_pool/clones/c1 dblab_pool/clones/c2", 0);

  ASSERT_TRUE(pool_->RenameClone("c1", "c2").ok());
  EXPECT_EQ(runner_->commands_ran,
            (std::vector<std::string>{"zfs unmount dblab_pool/clones/c1",
                                      "zfs rename dblab_pool/clones/c1 dblab_pool/clones/c2",
                                      "zfs rename dblab_pool/clones/c1 dblab_pool/clones/c2",
                                      "zfs mount dblab_pool/clones/c2"}));
  EXPECT_EQ(slept_.size(), 1u);
}

TEST_F(ZfsPoolUnitTest, RenameOfAnUnmountedCloneStillRenamesAndMountsIt) {
  runner_->Answer("zfs unmount dblab_pool/clones/c1", 1, "",
                  "cannot unmount 'dblab_pool/clones/c1': not currently mounted\n");
  ASSERT_TRUE(pool_->RenameClone("c1", "c2").ok());
  EXPECT_EQ(runner_->commands_ran.back(), "zfs mount dblab_pool/clones/c2");
}

TEST_F(ZfsPoolUnitTest, FailedCloneMountIsRolledBack) {
  runner_->Answer("zfs clone dblab_pool/data@s1 dblab_pool/clones/c1", 1, "",
                  "cannot mount '/var/lib/dblab/pool/clones/c1': directory is not empty\n");

  auto clone = pool_->CreateClone("s1", "c1");

  ASSERT_FALSE(clone.ok());
  EXPECT_EQ(clone.error().code, ErrorCode::kInternal);
  EXPECT_NE(clone.error().message.find("directory is not empty"), std::string::npos);
  EXPECT_EQ(runner_->commands_ran.back(), "zfs destroy -r dblab_pool/clones/c1");
}

TEST_F(ZfsPoolUnitTest, ListsDirectChildrenSorted) {
  runner_->Answer("zfs list -H -o name -t filesystem -r dblab_pool/clones", 0,
                  "dblab_pool/clones\ndblab_pool/clones/b\ndblab_pool/clones/a\n"
                  "dblab_pool/clones/a/nested\n");
  runner_->Answer("zfs list -H -o name -t snapshot -r dblab_pool/data", 0,
                  "dblab_pool/data@s2\ndblab_pool/data@s1\n");

  auto clones = pool_->ListClones();
  auto snapshots = pool_->ListSnapshots();

  ASSERT_TRUE(clones.ok()) << clones.error().message;
  EXPECT_EQ(*clones, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(snapshots.ok()) << snapshots.error().message;
  EXPECT_EQ(*snapshots, (std::vector<std::string>{"s1", "s2"}));
}

TEST_F(ZfsPoolUnitTest, ListsOfAnUnpreparedPoolAreEmpty) {
  runner_->Answer("zfs list -H -o name -t filesystem -r dblab_pool/clones", 1, "",
                  "cannot open 'dblab_pool/clones': dataset does not exist\n");
  auto clones = pool_->ListClones();
  ASSERT_TRUE(clones.ok());
  EXPECT_TRUE(clones->empty());
}

TEST_F(ZfsPoolUnitTest, UsageAndOwnBytesComeFromParsableProperties) {
  runner_->Answer("zfs get -Hp -o property,value used,available dblab_pool", 0,
                  "used\t1048576\navailable\t9437184\n");
  runner_->Answer("zfs get -Hp -o value used dblab_pool/clones/c1", 0, "65536\n");
  runner_->Answer("zfs get -Hp -o value used dblab_pool/data@s1", 0, "0\n");
  runner_->Answer("zfs get -Hp -o value used dblab_pool/clones/gone", 1, "",
                  "cannot open 'dblab_pool/clones/gone': dataset does not exist\n");

  auto usage = pool_->Usage();
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_EQ(usage->used, 1048576);
  EXPECT_EQ(usage->free, 9437184);
  EXPECT_EQ(usage->size, 10485760);
  EXPECT_EQ(*pool_->CloneOwnBytes("c1"), 65536);
  EXPECT_EQ(*pool_->SnapshotOwnBytes("s1"), 0);
  EXPECT_EQ(pool_->CloneOwnBytes("gone").error().code, ErrorCode::kNotFound);
}

TEST_F(ZfsPoolUnitTest, ADeadZfsFuseDaemonIsUnavailableWithAdvice) {
  runner_->Answer("zfs snapshot dblab_pool/data@s1", 1, "",
                  "connect: No such file or directory\n"
                  "Please make sure that the zfs-fuse daemon is running.\n"
                  "internal error: failed to initialize ZFS library\n");
  auto status = pool_->CreateSnapshot("s1");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("zfs-fuse --pidfile"), std::string::npos);
}

TEST(ZfsParsingTest, IntegersMustBeExactBytes) {
  EXPECT_EQ(*ParseZfsInteger("123\n"), 123);
  EXPECT_FALSE(ParseZfsInteger("1.5G").ok()) << "zfs without -p support";
  EXPECT_FALSE(ParseZfsInteger("-").ok());
  EXPECT_FALSE(ParseZfsInteger("").ok());
  EXPECT_FALSE(ParseZfsInteger("-5").ok());
}

TEST(ZfsParsingTest, UsageNeedsBothProperties) {
  EXPECT_FALSE(ParseZfsUsage("used\t5\n").ok());
  EXPECT_FALSE(ParseZfsUsage("used\t5\navailable\tnone\n").ok());
}

TEST(ZfsParsingTest, ClassifiesLibzfsMessages) {
  EXPECT_EQ(ClassifyZfsFailure("cannot open 'p': no such pool\n"), ZfsFailure::kNotFound);
  EXPECT_EQ(ClassifyZfsFailure("cannot destroy 'p/c': dataset is busy\n"), ZfsFailure::kBusy);
  EXPECT_EQ(ClassifyZfsFailure("cannot mount 'p/c': filesystem already mounted\n"),
            ZfsFailure::kAlreadyMounted);
  EXPECT_EQ(ClassifyZfsFailure("The ZFS modules are not loaded.\nTry running '/sbin/modprobe "
                               "zfs' as root to load them.\n"),
            ZfsFailure::kZfsUnusable);
  EXPECT_EQ(ClassifyZfsFailure("out of space\n"), ZfsFailure::kOther);
}

class ZfsFactoryUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab-zfs-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    spec_.mode = "zfs";
    spec_.pool_name = "dblab_test";
    spec_.pool_path = dir_ + "/pool";
    spec_.image_path = dir_ + "/images/pool.img";
    spec_.image_size_bytes = 128LL << 20;
    spec_.data_owner_uid = ::geteuid();
    spec_.data_owner_gid = ::getegid();
    runner_ = std::make_shared<ScriptedZfsRunner>();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Answers Prepare's checks as a pool whose main data and clone c1 are not mounted would (and
  // an unmounted dataset of the administrator's, which Prepare leaves alone).
  void AnswerPrepare() {
    runner_->Answer("zfs get -H -o value mountpoint dblab_test", 0, spec_.pool_path + "\n");
    runner_->Answer("zfs list -H -o name,mountpoint,mounted -t filesystem -r dblab_test", 0,
                    "dblab_test\t" + spec_.pool_path + "\tyes\n" + "dblab_test/clones\t" +
                        spec_.pool_path + "/clones\tyes\n" + "dblab_test/clones/c1\t" +
                        spec_.pool_path + "/clones/c1\tno\n" + "dblab_test/data\t" +
                        spec_.pool_path + "/data\tno\n" + "dblab_test/admins\t/srv\tno\n");
    std::filesystem::create_directories(spec_.pool_path + "/data");
  }

  std::string dir_;
  PoolSpec spec_;
  std::shared_ptr<ScriptedZfsRunner> runner_;
};

TEST_F(ZfsFactoryUnitTest, CreatesASparseImageAndAPoolWhenNeitherExists) {
  runner_->Answer("zpool list -H -o name dblab_test", 1, "",
                  "cannot open 'dblab_test': no such pool\n");
  AnswerPrepare();

  auto pool = MakeZfsPool(spec_, runner_);

  ASSERT_TRUE(pool.ok()) << pool.error().message;
  EXPECT_EQ((*pool)->Mode(), "zfs");
  EXPECT_EQ((*pool)->MainDataPath(), spec_.pool_path + "/data");
  EXPECT_EQ(runner_->commands_ran,
            (std::vector<std::string>{
                "zpool list -H -o name dblab_test",
                "zpool create -m " + spec_.pool_path + " dblab_test " + spec_.image_path,
                "zfs get -H -o value mountpoint dblab_test",
                "zfs create dblab_test/data",
                "zfs create dblab_test/clones",
                "zfs list -H -o name,mountpoint,mounted -t filesystem -r dblab_test",
                "zfs mount dblab_test/clones/c1",
                "zfs mount dblab_test/data",
            }));
  struct stat image {};
  ASSERT_EQ(::stat(spec_.image_path.c_str(), &image), 0);
  EXPECT_EQ(image.st_size, spec_.image_size_bytes);
  EXPECT_EQ(image.st_mode & 07777, 0600u);
  struct stat data {};
  ASSERT_EQ(::stat((spec_.pool_path + "/data").c_str(), &data), 0);
  EXPECT_EQ(data.st_mode & 07777, 0700u);
}

TEST_F(ZfsFactoryUnitTest, ImportsAnExistingImageInsteadOfCreatingAPool) {
  std::filesystem::create_directories(dir_ + "/images");
  { std::ofstream(spec_.image_path) << "pool"; }
  runner_->Answer("zpool list -H -o name dblab_test", 1, "",
                  "cannot open 'dblab_test': no such pool\n");
  AnswerPrepare();

  auto pool = MakeZfsPool(spec_, runner_);

  ASSERT_TRUE(pool.ok()) << pool.error().message;
  EXPECT_EQ(runner_->commands_ran[1], "zpool import -d " + dir_ + "/images dblab_test");
  for (const auto& command : runner_->commands_ran) {
    EXPECT_EQ(command.find("zpool create"), std::string::npos) << command;
  }
}

TEST_F(ZfsFactoryUnitTest, AnImportedPoolMountedElsewhereIsRefused) {
  runner_->Answer("zfs get -H -o value mountpoint dblab_test", 0, "/somewhere/else\n");

  auto pool = MakeZfsPool(spec_, runner_);

  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(pool.error().message.find("mounted at /somewhere/else"), std::string::npos)
      << pool.error().message;
}

TEST_F(ZfsFactoryUnitTest, AFailedCreateRemovesTheImageItMade) {
  runner_->Answer("zpool list -H -o name dblab_test", 1, "",
                  "cannot open 'dblab_test': no such pool\n");
  runner_->Answer("zpool create -m " + spec_.pool_path + " dblab_test " + spec_.image_path, 1, "",
                  "mountpoint '" + spec_.pool_path + "' exists and is not empty\n");

  auto pool = MakeZfsPool(spec_, runner_);

  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kInternal);
  EXPECT_NE(pool.error().message.find("exists and is not empty"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(spec_.image_path));
}

TEST_F(ZfsFactoryUnitTest, RejectsBadPoolNamesPathsAndTinyImages) {
  spec_.pool_name = "-f";
  EXPECT_EQ(MakeZfsPool(spec_, runner_).error().code, ErrorCode::kBadRequest);
  spec_.pool_name = "pool/data";
  EXPECT_EQ(MakeZfsPool(spec_, runner_).error().code, ErrorCode::kBadRequest);
  spec_.pool_name = "dblab_test";
  spec_.pool_path = "relative";
  EXPECT_EQ(MakeZfsPool(spec_, runner_).error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(runner_->commands_ran.empty());

  spec_.pool_path = dir_ + "/pool";
  spec_.image_size_bytes = 1 << 20;
  runner_->Answer("zpool list -H -o name dblab_test", 1, "",
                  "cannot open 'dblab_test': no such pool\n");
  auto pool = MakeZfsPool(spec_, runner_);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(pool.error().message.find("64 MiB"), std::string::npos);
}

}  // namespace
}  // namespace dblab
