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

TEST(BranchNames, FollowDleRulesInAscii) {
  for (const char* good : {"main", "feature-x", "JIRA_123", "a"}) {
    EXPECT_TRUE(IsValidBranchName(good)) << good;
  }
  for (const char* bad : {"", "a b", "a/b", "..", "snapshot", "é", "x.y"}) {
    EXPECT_FALSE(IsValidBranchName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidBranchName(std::string(65, 'a')));
}

TEST(SnapshotProtection, DurationsAreForeverUnlessCapped) {
  TimePoint now = TimePoint(std::chrono::seconds(1000));
  bool is_protected = false;
  std::optional<TimePoint> till;
  // Protected with no duration: forever when there is no cap,
  ASSERT_TRUE(ApplyProtection(is_protected, till, {.is_protected = true}, now, 0).ok());
  EXPECT_TRUE(is_protected);
  EXPECT_FALSE(till.has_value());
  // the cap when there is one,
  ASSERT_TRUE(ApplyProtection(is_protected, till, {.is_protected = true}, now, 60).ok());
  EXPECT_EQ(*till, now + std::chrono::minutes(60));
  // a duration alone protects for that long, and one over the cap is refused.
  ASSERT_TRUE(
      ApplyProtection(is_protected, till, {.protection_duration_minutes = 30}, now, 60).ok());
  EXPECT_EQ(*till, now + std::chrono::minutes(30));
  EXPECT_FALSE(
      ApplyProtection(is_protected, till, {.protection_duration_minutes = 61}, now, 60).ok());
  EXPECT_TRUE(ProtectionHolds(is_protected, till, now));
  EXPECT_FALSE(ProtectionHolds(is_protected, till, now + std::chrono::minutes(31)));
  ASSERT_TRUE(ApplyProtection(is_protected, till, {.is_protected = false}, now, 60).ok());
  EXPECT_FALSE(is_protected);
  EXPECT_FALSE(till.has_value());
}

}  // namespace
}  // namespace dblab
