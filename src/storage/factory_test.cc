#include "storage/factory.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

class NoProcessRunner : public ProcessRunner {
 public:
  Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions&) override {
    return Internal("unexpected command " + DescribeCommand(argv));
  }
  Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const SpawnOptions&) override {
    return Internal("unexpected command " + DescribeCommand(argv));
  }
};

PoolSpec Spec(const std::string& mode) {
  PoolSpec spec;
  spec.mode = mode;
  spec.pool_name = "dblab_pool";
  spec.pool_path = "/nonexistent/dblab_pool";
  return spec;
}

TEST(StorageFactoryTest, UnknownModeListsTheKnownOnes) {
  NoProcessRunner runner;
  auto backend = MakePoolBackend(Spec("lvm"), runner);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(backend.error().message.find("\"lvm\""), std::string::npos);
  EXPECT_NE(backend.error().message.find("btrfs"), std::string::npos);
}

TEST(StorageFactoryTest, RequiresANameAndAnAbsolutePath) {
  NoProcessRunner runner;
  PoolSpec nameless = Spec("btrfs");
  nameless.pool_name.clear();
  EXPECT_EQ(MakePoolBackend(nameless, runner).error().code, ErrorCode::kBadRequest);
  PoolSpec relative = Spec("btrfs");
  relative.pool_path = "pools/x";
  EXPECT_EQ(MakePoolBackend(relative, runner).error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace dblab
