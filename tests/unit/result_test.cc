#include "common/result.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return BadRequest("odd value " + std::to_string(value));
  return value / 2;
}

Result<int> Quarter(int value) {
  DBLAB_ASSIGN_OR_RETURN(int half, Half(value));
  return Half(half);
}

TEST(ResultTest, PropagatesTheFirstErrorWithItsCode) {
  EXPECT_EQ(*Quarter(8), 2);
  auto odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(odd.error().message, "odd value 3");
  EXPECT_STREQ(ErrorCodeName(odd.error().code), "BAD_REQUEST");
}

}  // namespace
}  // namespace dblab
