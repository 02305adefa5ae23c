#include "retrieval/logical_retrieval.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(OnlyNewerSettingsFailedTest, ANewerPgRestoreOnAnOlderServerFailsOnlyItsTimeoutSetting) {
  RunResult timeout_only{
      .exit_code = 1,
      .err =
          "pg_restore: error: could not execute query: ERROR:  unrecognized configuration "
          "parameter \"transaction_timeout\"\nCommand was: SET transaction_timeout = 0;\n"
          "pg_restore: warning: errors ignored on restore: 2\n"};
  EXPECT_TRUE(OnlyNewerSettingsFailed(timeout_only));

  RunResult another_error = timeout_only;
  another_error.err +=
      "pg_restore: error: could not execute query: ERROR:  type \"x\" does not "
      "exist\n";
  EXPECT_FALSE(OnlyNewerSettingsFailed(another_error));

  RunResult fatal = timeout_only;
  fatal.exit_code = 2;
  EXPECT_FALSE(OnlyNewerSettingsFailed(fatal));
  EXPECT_FALSE(OnlyNewerSettingsFailed({.exit_code = 1, .err = "pg_restore: fatal: no such file"}));
}

}  // namespace
}  // namespace dblab
