#include "cloning/validation.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(ValidationTest, CloneIdsFollowDleRulesAndRejectTraversal) {
  for (const char* good : {"testclone", "neals-special-clone", "a", "A1_b.c-d", "0abc"}) {
    EXPECT_TRUE(ValidateCloneId(good).ok()) << good;
  }
  for (const char* bad : {"", "../etc", "..", ".hidden", "a/b", "-x", "a b", "a\nb", "é"}) {
    EXPECT_FALSE(ValidateCloneId(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateCloneId(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateCloneId(GenerateId()).ok());
}

TEST(ValidationTest, UsernamesAreSafeAndNotReserved) {
  EXPECT_TRUE(ValidateUsername("jworks", "postgres").ok());
  EXPECT_TRUE(ValidateUsername("_svc.app-1", "postgres").ok());
  EXPECT_FALSE(ValidateUsername("postgres", "postgres").ok());
  EXPECT_FALSE(ValidateUsername("pg_monitor", "postgres").ok());
  EXPECT_FALSE(ValidateUsername("x\"; DROP ROLE", "postgres").ok());
  EXPECT_FALSE(ValidateUsername("", "postgres").ok());
  EXPECT_FALSE(ValidateUsername(std::string(64, 'u'), "postgres").ok());
}

TEST(ValidationTest, WeakPasswordsPassUnlessAMinimumIsConfigured) {
  EXPECT_TRUE(ValidatePassword("rocks", 0).ok());
  EXPECT_FALSE(ValidatePassword("", 0).ok());
  EXPECT_FALSE(ValidatePassword("rocks", 2).ok());
  EXPECT_TRUE(ValidatePassword("Correct-Horse-9", 3).ok());
  EXPECT_LT(PasswordStrength("nealisawesome"), PasswordStrength("Neal-Is-Awesome-42"));
}

TEST(ValidationTest, DatabaseNames) {
  EXPECT_TRUE(ValidateDatabaseName("app db").ok());
  EXPECT_FALSE(ValidateDatabaseName("").ok());
  EXPECT_FALSE(ValidateDatabaseName("a\tb").ok());
}

}  // namespace
}  // namespace dblab
