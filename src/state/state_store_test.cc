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

TEST_F(StateStoreTest, AWarmPoolClonesStorageNameSurvivesReopen) {
  {
    auto store = StateStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    CloneRecord warm;
    warm.clone.id = "taken";
    warm.storage_name = "warm-abc123";
    CloneRecord plain;
    plain.clone.id = "plain";
    ASSERT_TRUE((*store)->PutClone(warm).ok());
    ASSERT_TRUE((*store)->PutClone(plain).ok());
  }
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  auto clones = (*store)->ListClones();
  ASSERT_TRUE(clones.ok());
  ASSERT_EQ(clones->size(), 2u);
  for (const auto& record : *clones) {
    EXPECT_EQ(record.StorageName(), record.clone.id == "taken" ? "warm-abc123" : "plain");
  }
}

TEST_F(StateStoreTest, AVersionOneDatabaseIsMigratedAndKeepsItsClones) {
  // The schema of the first release, with one clone in it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const char* v1 = R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE snapshots (id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at INTEGER NOT NULL,
      data_state_at INTEGER NOT NULL, physical_size INTEGER NOT NULL,
      logical_size INTEGER NOT NULL);
    CREATE TABLE clones (id TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL, branch TEXT NOT NULL,
      status TEXT NOT NULL, status_message TEXT NOT NULL, protected INTEGER NOT NULL,
      protected_till INTEGER, created_at INTEGER NOT NULL, username TEXT NOT NULL,
      password_verifier TEXT NOT NULL, db_name TEXT NOT NULL, restricted INTEGER NOT NULL,
      port INTEGER NOT NULL, cloning_time REAL NOT NULL, last_activity_at INTEGER);
    INSERT INTO meta VALUES ('schema_version', '1');
    INSERT INTO clones VALUES ('old', 'snap', 'main', 'OK', '', 0, NULL, 1700000000000, 'u',
      'SCRAM-SHA-256$4096:s$a:b', 'postgres', 0, 6001, 0.5, NULL);
  )sql";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto clones = (*store)->ListClones();
  ASSERT_TRUE(clones.ok()) << clones.error().message;
  ASSERT_EQ(clones->size(), 1u);
  EXPECT_EQ(clones->front().clone.db.port, 6001);
  EXPECT_EQ(clones->front().StorageName(), "old");
  EXPECT_EQ((*store)->GetMeta("schema_version")->value_or(""), "2");
  CloneRecord renamed = clones->front();
  renamed.storage_name = "warm-x";
  ASSERT_TRUE((*store)->PutClone(renamed).ok());
  EXPECT_EQ((*store)->ListClones()->front().StorageName(), "warm-x");
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
