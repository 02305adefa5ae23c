#include "cloning/validation.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <vector>

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

// Counts the bytes generators draw, and gives each call a fresh value so outputs differ.
class CountingRandom : public RandomSource {
 public:
  void Fill(std::span<unsigned char> out) override {
    for (auto& byte : out) byte = static_cast<unsigned char>(counter_++ % 234);
    bytes_drawn += out.size();
  }
  std::string_view Name() const override { return "counting"; }
  size_t bytes_drawn = 0;

 private:
  size_t counter_ = 0;
};

TEST(ValidationTest, GeneratedIdsCarryAtLeast128BitsFromTheDefaultSource) {
  CountingRandom counting;
  ScopedRandomSourceForTesting install(counting);
  std::string id = GenerateId();  // clone ids, and with other lengths tokens and passwords
  EXPECT_EQ(id.size(), kSecretIdLength);
  // Every character is one accepted byte of the installed source: nothing else feeds the id.
  EXPECT_EQ(counting.bytes_drawn, kSecretIdLength);
  EXPECT_GE(GeneratedIdBits(kSecretIdLength), 128.0);
  EXPECT_LT(GeneratedIdBits(kSecretIdLength - 1), 128.0);  // the length is the smallest that does
  EXPECT_GE(GeneratedIdBits(32), 128.0);                   // API token, demo source password
  // Byte values map to characters exactly: 0 -> 'a' for the first, 1 -> 'b', 2 -> 'c', ...
  EXPECT_EQ(id.substr(0, 3), "abc");
}

TEST(ValidationTest, GeneratedIdsFromTheSystemSourceDiffer) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = GenerateId();
    ASSERT_TRUE(ValidateCloneId(id).ok()) << id;
    ASSERT_TRUE(std::isalpha(static_cast<unsigned char>(id[0]))) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
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
