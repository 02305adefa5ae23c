#include "common/numbers.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(NumbersTest, ParseInt64AcceptsOnlyWholeInRangeIntegers) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-42"), -42);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "+1", "1.5", "abc", "9223372036854775808", "--1", "-"}) {
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace dblab
