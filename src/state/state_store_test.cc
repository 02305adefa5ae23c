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
  EXPECT_EQ((*store)->GetMeta("schema_version")->value_or(""), "5");
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

TEST_F(StateStoreTest, EachSnapshotKeepsItsPostgresMajor) {
  // Given snapshots of two majors in one pool (the source was upgraded between them),
  {
    auto store = StateStore::Open(path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->PutSnapshot(
                        {.id = "p@a", .pool = "p", .created_at = FromMillis(1000), .pg_major = 16})
                    .ok());
    ASSERT_TRUE((*store)
                    ->PutSnapshot(
                        {.id = "p@b", .pool = "p", .created_at = FromMillis(2000), .pg_major = 17})
                    .ok());
  }
  // when the engine opens the store again, then each has its own major.
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  auto snapshots = (*store)->ListSnapshots();
  ASSERT_EQ(snapshots->size(), 2u);
  EXPECT_EQ((*snapshots)[0].pg_major, 16);
  EXPECT_EQ((*snapshots)[1].pg_major, 17);
}

TEST_F(StateStoreTest, AVersionThreeDatabaseGetsUnknownMajorsThatCanBeFilledIn) {
  // Given a version 3 store with a snapshot and no pg_major column,
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const char* v3 = R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE snapshots (id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at INTEGER NOT NULL,
      data_state_at INTEGER NOT NULL, physical_size INTEGER NOT NULL,
      logical_size INTEGER NOT NULL, branch TEXT NOT NULL DEFAULT 'main',
      parent_id TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
      protected INTEGER NOT NULL DEFAULT 0, protected_till INTEGER);
    INSERT INTO meta VALUES ('schema_version', '3');
    INSERT INTO snapshots (id, pool, created_at, data_state_at, physical_size, logical_size)
      VALUES ('p@old', 'p', 1000, 1000, 0, 10);
  )sql";
  ASSERT_EQ(sqlite3_exec(db, v3, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  // when the engine opens it, the snapshot's major is unknown (0)
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->GetMeta("schema_version")->value_or(""), "5");
  EXPECT_EQ((*store)->ListSnapshots()->at(0).pg_major, 0);

  // and once read from its files it is recorded.
  ASSERT_TRUE((*store)->SetSnapshotPgMajor("p@old", 15).ok());
  EXPECT_EQ((*store)->ListSnapshots()->at(0).pg_major, 15);
  EXPECT_EQ((*store)->ListSnapshots()->at(0).logical_size, 10);
}

TEST_F(StateStoreTest, AVersionTwoDatabaseGetsMainWithItsSnapshotsInOrder) {
  // Given the schema of version 2 with two snapshots and no branches,
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const char* v2 = R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE snapshots (id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at INTEGER NOT NULL,
      data_state_at INTEGER NOT NULL, physical_size INTEGER NOT NULL,
      logical_size INTEGER NOT NULL);
    INSERT INTO meta VALUES ('schema_version', '2');
    INSERT INTO snapshots VALUES ('p@new', 'p', 2000, 2000, 0, 10);
    INSERT INTO snapshots VALUES ('p@old', 'p', 1000, 1000, 0, 10);
  )sql";
  ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  // when the engine opens it,
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.error().message;

  // then main points at the newest snapshot, whose parent is the older one.
  EXPECT_EQ((*store)->GetMeta("schema_version")->value_or(""), "5");
  auto branches = (*store)->ListBranches();
  ASSERT_TRUE(branches.ok()) << branches.error().message;
  ASSERT_EQ(branches->size(), 1u);
  EXPECT_EQ((*branches)[0].name, "main");
  EXPECT_EQ((*branches)[0].head_snapshot_id, "p@new");
  EXPECT_EQ((*branches)[0].parent, "-");
  auto snapshots = (*store)->ListSnapshots();
  ASSERT_EQ(snapshots->size(), 2u);
  EXPECT_EQ((*snapshots)[0].parent_id, "");
  EXPECT_EQ((*snapshots)[1].parent_id, "p@old");
  EXPECT_EQ((*snapshots)[1].branch, "main");
}

TEST_F(StateStoreTest, NewSnapshotsLandOnMainAndCommitsMoveTheirBranchHead) {
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->ListBranches()->empty());  // no main before the first snapshot

  ASSERT_TRUE((*store)->PutSnapshot({.id = "p@1", .pool = "p", .created_at = FromMillis(1)}).ok());
  ASSERT_TRUE((*store)->PutSnapshot({.id = "p@2", .pool = "p", .created_at = FromMillis(2)}).ok());
  ASSERT_TRUE((*store)
                  ->PutBranch({.name = "dev",
                               .head_snapshot_id = "p@2",
                               .base_snapshot_id = "p@2",
                               .parent = "main",
                               .created_at = FromMillis(3)})
                  .ok());
  Snapshot commit{.id = "p@3", .pool = "p", .created_at = FromMillis(4)};
  commit.branch = "dev";
  commit.message = "add index";
  ASSERT_TRUE((*store)->PutSnapshot(commit).ok());
  Snapshot lost{.id = "p@4", .pool = "p", .created_at = FromMillis(5)};
  lost.branch = "nope";
  EXPECT_EQ((*store)->PutSnapshot(lost).error().code, ErrorCode::kNotFound);

  auto branches = *(*store)->ListBranches();
  ASSERT_EQ(branches.size(), 2u);
  EXPECT_EQ(branches[0].head_snapshot_id, "p@2");  // main
  EXPECT_EQ(branches[1].head_snapshot_id, "p@3");  // dev
  auto snapshots = *(*store)->ListSnapshots();
  ASSERT_EQ(snapshots.size(), 3u);
  EXPECT_EQ(snapshots[1].parent_id, "p@1");
  EXPECT_EQ(snapshots[2].parent_id, "p@2");
  EXPECT_EQ(snapshots[2].message, "add index");

  // Saving a known snapshot again (sizes measured) moves no head.
  snapshots[0].physical_size = 7;
  ASSERT_TRUE((*store)->PutSnapshot(snapshots[0]).ok());
  EXPECT_EQ((*store)->ListBranches()->at(0).head_snapshot_id, "p@2");

  // Deleting dev's head moves dev back to its parent; deleting a middle snapshot re-parents.
  ASSERT_TRUE((*store)->DeleteSnapshot("p@3").ok());
  EXPECT_EQ((*store)->ListBranches()->at(1).head_snapshot_id, "p@2");
  // A size measured before the delete does not bring it back.
  ASSERT_TRUE((*store)->SetSnapshotPhysicalSize("p@3", 5).ok());
  EXPECT_EQ((*store)->ListSnapshots()->size(), 2u);
  ASSERT_TRUE((*store)->DeleteSnapshot("p@1").ok());
  EXPECT_EQ((*store)->ListSnapshots()->at(0).parent_id, "");
  ASSERT_TRUE((*store)->DeleteBranch("dev", {}).ok());
  EXPECT_EQ((*store)->ListBranches()->size(), 1u);
}

TEST_F(StateStoreTest, SnapshotAndBranchProtectionSurviveReopen) {
  {
    auto store = StateStore::Open(path_);
    ASSERT_TRUE(store.ok());
    Snapshot snapshot{.id = "p@1", .pool = "p", .created_at = FromMillis(1)};
    ASSERT_TRUE((*store)->PutSnapshot(snapshot).ok());
    ASSERT_TRUE((*store)->SetSnapshotProtection("p@1", true, FromMillis(9000)).ok());
    EXPECT_EQ((*store)->SetSnapshotProtection("p@9", true, {}).error().code, ErrorCode::kNotFound);
    Branch main = (*store)->ListBranches()->at(0);
    main.is_protected = true;
    ASSERT_TRUE((*store)->PutBranch(main).ok());
    Snapshot other{.id = "p@2", .pool = "p", .created_at = FromMillis(2)};
    ASSERT_TRUE((*store)->PutSnapshot(other).ok());
    ASSERT_TRUE((*store)->SetSnapshotProtection("p@2", false, {}, FromMillis(7000)).ok());
    Branch dev{.name = "dev",
               .head_snapshot_id = "p@2",
               .parent = "main",
               .delete_at = FromMillis(8000),
               .created_at = FromMillis(3)};
    ASSERT_TRUE((*store)->PutBranch(dev).ok());
  }
  auto store = StateStore::Open(path_);
  ASSERT_TRUE(store.ok());
  Snapshot snapshot = (*store)->ListSnapshots()->at(0);
  EXPECT_TRUE(snapshot.is_protected);
  EXPECT_EQ(ToMillis(snapshot.protected_till.value()), 9000);
  EXPECT_EQ(snapshot.branch, "main");
  Branch main = (*store)->ListBranches()->at(0);
  EXPECT_TRUE(main.is_protected);
  EXPECT_FALSE(main.protected_till.has_value());
  EXPECT_FALSE(main.delete_at.has_value());
  // A scheduled deletion survives too.
  EXPECT_FALSE(snapshot.delete_at.has_value());
  EXPECT_EQ(ToMillis((*store)->ListSnapshots()->at(1).delete_at.value()), 7000);
  EXPECT_EQ(ToMillis((*store)->ListBranches()->at(1).delete_at.value()), 8000);
}

}  // namespace
}  // namespace dblab
