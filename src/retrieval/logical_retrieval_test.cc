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

TEST(WithoutAnonymizerExtensionTest, DropsTheExtensionItsCommentAndItsSchemasDataOnly) {
  const std::string toc = R"(;
; Archive created at 2026-12-01 10:00:00 UTC
;     dbname: app
;
2; 3079 16385 EXTENSION - anon
4210; 0 0 COMMENT - EXTENSION anon
5; 3079 16384 EXTENSION - pgcrypto
4211; 0 0 COMMENT - EXTENSION pgcrypto
215; 1259 16500 TABLE public users app
216; 1259 16510 TABLE public anon app
217; 1259 16520 SEQUENCE public users_id_seq app
4212; 0 16500 TABLE DATA public users app
4213; 0 16300 TABLE DATA anon config postgres
4214; 0 0 SEQUENCE SET public users_id_seq app
4215; 0 0 SEQUENCE SET anon config_id_seq postgres
4216; 0 0 COMMENT anon TABLE config postgres
4217; 2606 16530 CONSTRAINT public users users_pkey app
)";
  int removed = -1;
  std::string kept = WithoutAnonymizerExtension(toc, &removed);
  EXPECT_EQ(removed, 5);
  for (const char* gone : {"EXTENSION - anon", "COMMENT - EXTENSION anon", "TABLE DATA anon config",
                           "SEQUENCE SET anon", "COMMENT anon TABLE config"}) {
    EXPECT_EQ(kept.find(gone), std::string::npos) << gone;
  }
  // A table called anon, other extensions, the data and the header stay.
  for (const char* stays :
       {"EXTENSION - pgcrypto", "COMMENT - EXTENSION pgcrypto", "TABLE public anon app",
        "TABLE DATA public users app", "SEQUENCE SET public users_id_seq",
        "CONSTRAINT public users", ";     dbname: app"}) {
    EXPECT_NE(kept.find(stays), std::string::npos) << stays;
  }
  EXPECT_EQ(WithoutAnonymizerExtension("5; 3079 16384 EXTENSION - pgcrypto\n", &removed),
            "5; 3079 16384 EXTENSION - pgcrypto\n");
  EXPECT_EQ(removed, 0);
}

}  // namespace
}  // namespace dblab
