#include "branching/history.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

Snapshot Make(const std::string& id, const std::string& branch, const std::string& parent) {
  Snapshot snapshot;
  snapshot.id = id;
  snapshot.branch = branch;
  snapshot.parent_id = parent;
  return snapshot;
}

class BranchHistoryTest : public ::testing::Test {
 protected:
  // main: p@1 <- p@2; dev forked at p@1: p@3 <- p@4; fix forked off dev at p@3.
  std::vector<Snapshot> snapshots_ = {Make("p@1", "main", ""), Make("p@2", "main", "p@1"),
                                      Make("p@3", "dev", "p@1"), Make("p@4", "dev", "p@3")};
  std::vector<Branch> branches_ = {
      Branch{.name = "main", .head_snapshot_id = "p@2", .parent = "-"},
      Branch{.name = "dev", .head_snapshot_id = "p@4", .base_snapshot_id = "p@1", .parent = "main"},
      Branch{.name = "fix", .head_snapshot_id = "p@3", .base_snapshot_id = "p@3", .parent = "dev"}};
};

TEST_F(BranchHistoryTest, LogFollowsParentsFromTheHead) {
  auto log = BranchLog(snapshots_, "p@4");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].id, "p@4");
  EXPECT_EQ(log[1].id, "p@3");
  EXPECT_EQ(log[2].id, "p@1");
  EXPECT_TRUE(BranchLog(snapshots_, "p@nope").empty());
  // A cycle (a corrupt store) ends the walk.
  snapshots_[0].parent_id = "p@4";
  EXPECT_EQ(BranchLog(snapshots_, "p@4").size(), 3u);
}

TEST_F(BranchHistoryTest, ABranchOwnsOnlySnapshotsNoOtherBranchHolds) {
  EXPECT_EQ(SnapshotsOwnedBy(snapshots_, branches_, "dev"), std::vector<std::string>{"p@4"});
  EXPECT_EQ(BranchesForkedOff(snapshots_, branches_, "dev"), std::vector<std::string>{"fix"});
  EXPECT_TRUE(BranchesForkedOff(snapshots_, branches_, "fix").empty());
}

TEST(BranchNames, FollowDleRulesWidenedToEveryScript) {
  for (const char* good : {"main", "feature-x", "JIRA_123", "a", "_x", "é", "функция-1",
                           "機能_ブランチ", "ветка2", "数据"}) {
    EXPECT_TRUE(IsValidBranchName(good)) << good;
  }
  for (const char* bad : {"",
                          "a b",
                          "a/b",
                          "a\\b",
                          "..",
                          "x.y",
                          "snapshot",
                          "-x",
                          "a\tb",
                          "a\nb",
                          "a\x7f",
                          "a\xc2\x85"
                          "b",  // NEL, a C1 control
                          "a\xc2\xa0"
                          "b",  // no-break space
                          "a\xe2\x80\x8b"
                          "b",  // zero-width space
                          "a\xe2\x80\xae"
                          "b",  // right-to-left override
                          "a\xe2\x88\x95"
                          "b",  // division slash
                          "a\xef\xbc\x8f"
                          "b",              // fullwidth solidus
                          "a\xee\x80\x80",  // private use
                          "\xff",
                          "a\xc3",
                          "\xc0\xaf",         // invalid, truncated, overlong '/'
                          "\xed\xa0\x80"}) {  // a UTF-16 surrogate
    EXPECT_FALSE(IsValidBranchName(bad)) << bad;
  }
  EXPECT_TRUE(IsValidBranchName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidBranchName(std::string(65, 'a')));
  std::string cyrillic;
  for (int i = 0; i < 64; ++i) cyrillic += "ж";  // 64 characters, 128 bytes
  EXPECT_TRUE(IsValidBranchName(cyrillic));
  EXPECT_FALSE(IsValidBranchName(cyrillic + "ж"));
  auto refused = ValidateBranchName("a/b");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(refused.error().message.find("'/'"), std::string::npos);
}

TEST(SnapshotProtection, DurationsAreForeverUnlessCapped) {
  TimePoint now = TimePoint(std::chrono::seconds(1000));
  bool is_protected = false;
  std::optional<TimePoint> till;
  std::optional<TimePoint> delete_at;
  // Protected with no duration: forever when there is no cap,
  ASSERT_TRUE(ApplyProtection(is_protected, till, delete_at, {.is_protected = true}, now, 0).ok());
  EXPECT_TRUE(is_protected);
  EXPECT_FALSE(till.has_value());
  // the cap when there is one,
  ASSERT_TRUE(ApplyProtection(is_protected, till, delete_at, {.is_protected = true}, now, 60).ok());
  EXPECT_EQ(*till, now + std::chrono::minutes(60));
  // a duration alone protects for that long, and one over the cap is refused.
  ASSERT_TRUE(
      ApplyProtection(is_protected, till, delete_at, {.protection_duration_minutes = 30}, now, 60)
          .ok());
  EXPECT_EQ(*till, now + std::chrono::minutes(30));
  EXPECT_FALSE(
      ApplyProtection(is_protected, till, delete_at, {.protection_duration_minutes = 61}, now, 60)
          .ok());
  EXPECT_TRUE(ProtectionHolds(is_protected, till, now));
  EXPECT_FALSE(ProtectionHolds(is_protected, till, now + std::chrono::minutes(31)));
  ASSERT_TRUE(
      ApplyProtection(is_protected, till, delete_at, {.is_protected = false}, now, 60).ok());
  EXPECT_FALSE(is_protected);
  EXPECT_FALSE(till.has_value());
}

TEST(SnapshotProtection, ADeletionScheduleAndProtectionExcludeEachOther) {
  TimePoint now = TimePoint(std::chrono::seconds(1000));
  TimePoint later = now + std::chrono::hours(2);
  bool is_protected = false;
  std::optional<TimePoint> till;
  std::optional<TimePoint> delete_at;
  ASSERT_TRUE(
      ApplyProtection(is_protected, till, delete_at, {.protection_duration_minutes = 30}, now, 0)
          .ok());
  // deleteAt clears the protection,
  ASSERT_TRUE(ApplyProtection(is_protected, till, delete_at, {.delete_at = later}, now, 0).ok());
  EXPECT_FALSE(is_protected);
  EXPECT_FALSE(till.has_value());
  EXPECT_EQ(delete_at, later);
  // unprotecting keeps the schedule, protecting again clears it,
  ASSERT_TRUE(ApplyProtection(is_protected, till, delete_at, {.is_protected = false}, now, 0).ok());
  EXPECT_EQ(delete_at, later);
  ASSERT_TRUE(ApplyProtection(is_protected, till, delete_at, {.is_protected = true}, now, 0).ok());
  EXPECT_TRUE(is_protected);
  EXPECT_FALSE(delete_at.has_value());
  // and both in one request are refused, changing nothing.
  auto both = ApplyProtection(is_protected, till, delete_at,
                              {.is_protected = true, .delete_at = later}, now, 0);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(both.error().message.find("not both"), std::string::npos);
  EXPECT_TRUE(is_protected);
  EXPECT_FALSE(delete_at.has_value());
}

}  // namespace
}  // namespace dblab
