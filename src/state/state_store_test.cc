#include "state/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace dblab {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/dblab-state-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((path_ + suffix).c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string path_;
};

TEST_F(StateStoreTest, ClonesSurviveReopenWithoutThePassword) {
  {
    auto store = StateStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    CloneRecord record;
    record.clone.id = "testclone";
    record.clone.snapshot_id = "dblab_pool@snapshot_1";
    record.clone.status = CloneStatus::kOk;
    record.clone.is_protected = true;
    record.clone.created_at = FromMillis(1700000000123);
    record.clone.db = {.username = "jworks", .db_name = "app", .restricted = true, .port = 6001};
    record.password_verifier = "SCRAM-SHA-256$4096:salt$stored:server";
    ASSERT_TRUE((*store)->PutClone(record).ok());
  }
  struct stat info;
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  auto clones = (*store)->ListClones();
  ASSERT_TRUE(clones.ok());
  ASSERT_EQ(clones->size(), 1u);
  const CloneRecord& loaded = clones->front();
  EXPECT_EQ(loaded.clone.id, "testclone");
  EXPECT_EQ(loaded.clone.status, CloneStatus::kOk);
  EXPECT_TRUE(loaded.clone.is_protected);
  EXPECT_FALSE(loaded.clone.protected_till.has_value());
  EXPECT_EQ(loaded.clone.db.port, 6001);
  EXPECT_TRUE(loaded.clone.db.restricted);
  EXPECT_EQ(ToMillis(loaded.clone.created_at), 1700000000123);
  EXPECT_EQ(loaded.password_verifier, "SCRAM-SHA-256$4096:salt$stored:server");

  ASSERT_TRUE((*store)->DeleteClone("testclone").ok());
  EXPECT_TRUE((*store)->ListClones()->empty());
}

TEST_F(StateStoreTest, SnapshotsListOldestFirstAndMetaRoundTrips) {
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  Snapshot newer{.id = "p@b", .pool = "p", .created_at = FromMillis(2000)};
  Snapshot older{.id = "p@a", .pool = "p", .created_at = FromMillis(1000), .logical_size = 42};
  ASSERT_TRUE((*store)->PutSnapshot(newer).ok());
  ASSERT_TRUE((*store)->PutSnapshot(older).ok());
  auto snapshots = (*store)->ListSnapshots();
  ASSERT_EQ(snapshots->size(), 2u);
  EXPECT_EQ((*snapshots)[0].id, "p@a");
  EXPECT_EQ((*snapshots)[0].logical_size, 42);
  ASSERT_TRUE((*store)->PutMeta("instance_id", "abc").ok());
  EXPECT_EQ(*(*store)->GetMeta("instance_id").value(), "abc");
  EXPECT_FALSE((*store)->GetMeta("missing").value().has_value());
}

}  // namespace
}  // namespace dblab
