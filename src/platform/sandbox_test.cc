#include "platform/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dblab {
namespace {

using ::testing::Contains;
using ::testing::Not;

// The steps of a plan as "kind target [source]" lines, staging prefix removed.
std::vector<std::string> Lines(const SandboxPlan& plan) {
  std::vector<std::string> lines;
  for (const auto& step : plan.steps) {
    std::string target = step.target.substr(plan.staging_dir.size());
    static const char* kNames[] = {"mkdir",   "touch", "bind", "bind-ro",
                                   "symlink", "tmpfs", "proc", "hide"};
    std::string line = std::string(kNames[static_cast<int>(step.kind)]) + " " + target;
    if (!step.source.empty()) line += " " + step.source;
    lines.push_back(line);
  }
  return lines;
}

class SandboxPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/dblab-sandbox-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::filesystem::create_directories(dir_ + "/pool/clones/a");
    std::filesystem::create_directories(dir_ + "/pool/clones/b");
    std::filesystem::create_directories(dir_ + "/pool/sockets/6000");
    std::filesystem::create_directories(dir_ + "/state/servers");
    std::filesystem::create_symlink(dir_ + "/pool/clones/a", dir_ + "/state/servers/6000");
    std::ofstream(dir_ + "/state/pg_hba.conf") << "local all all peer\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SandboxSpec Spec() {
    return SandboxSpec{
        .writable_paths = {dir_ + "/state/servers/6000", dir_ + "/pool/sockets/6000"},
        .readable_paths = {dir_ + "/state/pg_hba.conf"},
        .hidden_paths = {"/etc/hostname", "/etc/dblab-does-not-exist", dir_ + "/pool/clones/b"},
        .staging_dir = dir_ + "/staging"};
  }
  std::string dir_;
};

TEST_F(SandboxPlanTest, ShowsOnlyTheServersOwnPathsBesideTheSystem) {
  auto plan = MakeSandboxPlan(Spec());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto lines = Lines(*plan);
  // The system, read-only.
  EXPECT_THAT(lines, Contains("bind-ro /usr /usr"));
  EXPECT_THAT(lines, Contains("bind-ro /etc /etc"));
  EXPECT_THAT(lines, Contains("proc /proc"));
  EXPECT_THAT(lines, Contains("tmpfs /tmp mode=1777"));
  EXPECT_THAT(lines, Contains("tmpfs /dev/shm mode=1777"));
  EXPECT_THAT(lines, Contains("bind /dev/null /dev/null"));
  // The clone's data through its server link: the link recreated, its target bound writable.
  EXPECT_THAT(lines, Contains("bind " + dir_ + "/pool/clones/a " + dir_ + "/pool/clones/a"));
  EXPECT_THAT(lines,
              Contains("symlink " + dir_ + "/state/servers/6000 " + dir_ + "/pool/clones/a"));
  EXPECT_THAT(lines,
              Contains("bind " + dir_ + "/pool/sockets/6000 " + dir_ + "/pool/sockets/6000"));
  EXPECT_THAT(lines,
              Contains("bind-ro " + dir_ + "/state/pg_hba.conf " + dir_ + "/state/pg_hba.conf"));
  // Nothing else of the pool or the state: not the other clone, not the pool root.
  for (const auto& line : lines) {
    EXPECT_EQ(line.find("clones/b"), std::string::npos) << line;
    EXPECT_NE(line, "bind " + dir_ + "/pool " + dir_ + "/pool");
    EXPECT_NE(line, "bind " + dir_ + "/state " + dir_ + "/state");
  }
  // A hidden file inside a visible tree is masked; missing or invisible ones need nothing.
  EXPECT_THAT(lines, Contains("hide /etc/hostname /dev/null"));
  EXPECT_THAT(lines, Not(Contains(::testing::HasSubstr("dblab-does-not-exist"))));
}

TEST_F(SandboxPlanTest, MountPointsComeBeforeTheirMountsAndTheOldRootLast) {
  auto plan = MakeSandboxPlan(Spec());
  ASSERT_TRUE(plan.ok());
  auto lines = Lines(*plan);
  auto index = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) - lines.begin();
  };
  EXPECT_LT(index("mkdir " + dir_ + "/pool/clones/a"),
            index("bind " + dir_ + "/pool/clones/a " + dir_ + "/pool/clones/a"));
  EXPECT_LT(index("mkdir " + dir_), index("mkdir " + dir_ + "/pool"));
  EXPECT_LT(index("touch " + dir_ + "/state/pg_hba.conf"),
            index("bind-ro " + dir_ + "/state/pg_hba.conf " + dir_ + "/state/pg_hba.conf"));
  EXPECT_EQ(lines.back(), "mkdir /.oldroot");
}

// The packaged engine's config is /etc/dblab/server.yml, and /etc/dblab is hidden as a whole:
// once the directory is an empty mount, the file is not there to hide (and need not be).
TEST_F(SandboxPlanTest, AFileInAHiddenDirectoryNeedsNoStepOfItsOwn) {
  std::filesystem::create_directories(dir_ + "/etc-like/dblab");
  std::ofstream(dir_ + "/etc-like/dblab/server.yml") << "server: {}\n";
  SandboxSpec spec = Spec();
  spec.readable_paths.push_back(dir_ + "/etc-like");
  spec.hidden_paths = {dir_ + "/etc-like/dblab", dir_ + "/etc-like/dblab/server.yml"};
  auto plan = MakeSandboxPlan(spec);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto lines = Lines(*plan);
  EXPECT_THAT(lines, Contains("hide " + dir_ + "/etc-like/dblab"));
  EXPECT_THAT(lines, Not(Contains(::testing::HasSubstr("server.yml"))));
}

TEST_F(SandboxPlanTest, MissingOrRelativePathsAreRefused) {
  SandboxSpec spec = Spec();
  spec.writable_paths.push_back(dir_ + "/pool/clones/missing");
  auto plan = MakeSandboxPlan(spec);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.error().message, ::testing::HasSubstr("clones/missing does not exist"));
  spec = Spec();
  spec.readable_paths.push_back("relative/file");
  EXPECT_FALSE(MakeSandboxPlan(spec).ok());
}

TEST_F(SandboxPlanTest, FailuresNameTheStep) {
  auto plan = MakeSandboxPlan(Spec());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(DescribeSandboxStep(*plan, 0), "mkdir " + dir_ + "/staging/usr");
  EXPECT_EQ(DescribeSandboxStep(*plan, 1), "bind /usr read-only at " + dir_ + "/staging/usr");
  EXPECT_EQ(DescribeSandboxStep(*plan, static_cast<int>(plan->steps.size())),
            "switching to the new root");
}

}  // namespace
}  // namespace dblab
