#include "common/thread_guard.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace dblab {
namespace {

TEST(ThreadGuardTest, AnExceptionOnAThreadIsReportedNotFatal) {
  bool finished = false;
  bool caught = false;
  std::thread worker([&] {
    caught = !RunCatchingExceptions("test worker", [] { (void)std::stoll("not a number"); });
    finished = true;
  });
  worker.join();  // without the guard, std::terminate would have ended this test binary
  EXPECT_TRUE(finished);
  EXPECT_TRUE(caught);
  EXPECT_TRUE(RunCatchingExceptions("no-op", [] {}));
  EXPECT_FALSE(RunCatchingExceptions("non-standard", [] { throw 42; }));
}

}  // namespace
}  // namespace dblab
