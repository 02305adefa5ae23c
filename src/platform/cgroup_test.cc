#include "platform/cgroup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dblab {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

// A directory laid out like /sys/fs/cgroup (the kernel's files are plain files here).
class CgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/dblab-cgroup-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(CgroupsTest, UnifiedHierarchyGetsMemoryMaxAndCpuMax) {
  std::ofstream(root_ + "/cgroup.controllers") << "cpu memory io\n";
  Cgroups cgroups(root_);
  EXPECT_EQ(cgroups.Layout(), "v2");
  auto procs = cgroups.Prepare("port-6000", {.memory_bytes = 256 << 20, .cpus = 1.5});
  ASSERT_TRUE(procs.ok()) << procs.error().message;
  EXPECT_THAT(*procs, ::testing::ElementsAre(root_ + "/dblab/port-6000/cgroup.procs"));
  EXPECT_EQ(Read(root_ + "/cgroup.subtree_control"), "+memory +cpu");
  EXPECT_EQ(Read(root_ + "/dblab/cgroup.subtree_control"), "+memory +cpu");
  EXPECT_EQ(Read(root_ + "/dblab/port-6000/memory.max"), "268435456");
  EXPECT_EQ(Read(root_ + "/dblab/port-6000/cpu.max"), "150000 100000");
}

TEST_F(CgroupsTest, HybridHostUsesTheV1MemoryAndCpuControllers) {
  std::filesystem::create_directories(root_ + "/memory");
  std::filesystem::create_directories(root_ + "/cpu");
  Cgroups cgroups(root_);
  EXPECT_EQ(cgroups.Layout(), "v1");
  auto procs = cgroups.Prepare("port-6001", {.memory_bytes = 1 << 30, .cpus = 0.5});
  ASSERT_TRUE(procs.ok()) << procs.error().message;
  EXPECT_THAT(*procs, ::testing::ElementsAre(root_ + "/memory/dblab/port-6001/cgroup.procs",
                                             root_ + "/cpu/dblab/port-6001/cgroup.procs"));
  EXPECT_EQ(Read(root_ + "/memory/dblab/port-6001/memory.limit_in_bytes"), "1073741824");
  EXPECT_EQ(Read(root_ + "/cpu/dblab/port-6001/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Read(root_ + "/cpu/dblab/port-6001/cpu.cfs_period_us"), "100000");
}

TEST_F(CgroupsTest, OnlyTheLimitsGivenAndNoneWithoutLimits) {
  std::filesystem::create_directories(root_ + "/memory");
  std::filesystem::create_directories(root_ + "/cpu");
  Cgroups cgroups(root_);
  auto none = cgroups.Prepare("port-6002", {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/memory/dblab"));
  auto memory_only = cgroups.Prepare("port-6002", {.memory_bytes = 128 << 20});
  ASSERT_TRUE(memory_only.ok());
  EXPECT_EQ(memory_only->size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/cpu/dblab"));
}

TEST_F(CgroupsTest, NoHierarchyIsAClearError) {
  Cgroups cgroups(root_);
  EXPECT_EQ(cgroups.Layout(), "");
  auto procs = cgroups.Prepare("port-6003", {.memory_bytes = 256 << 20});
  ASSERT_FALSE(procs.ok());
  EXPECT_THAT(procs.error().message, ::testing::HasSubstr("need cgroups"));
}

}  // namespace
}  // namespace dblab
