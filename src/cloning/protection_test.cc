// The protection rules on a fixed time: lease, cap by the maximum, forever, refusals, what a
// create and an update give, and expiry.
#include "cloning/protection.h"

#include <gtest/gtest.h>

#include <chrono>

namespace dblab {
namespace {

using std::chrono::minutes;

const TimePoint kNow = TimePoint(std::chrono::hours(500000));
const ProtectionPolicy kPolicy{.lease_minutes = 60, .max_minutes = 600};
const ProtectionPolicy kNoMaximum{.lease_minutes = 60, .max_minutes = 0};

Protection Create(CreateCloneRequest request, const ProtectionPolicy& policy = kPolicy) {
  auto decided = ProtectionOnCreate(request, policy, kNow);
  EXPECT_TRUE(decided.ok()) << decided.error().message;
  return decided.ok() ? *decided : Protection{};
}

TEST(ProtectionTest, ACreateThatSaysNothingIsUnprotected) {
  auto protection = Create({});
  EXPECT_FALSE(protection.is_protected);
  EXPECT_FALSE(protection.till.has_value());
}

TEST(ProtectionTest, ProtectedWithoutADurationGetsTheLease) {
  auto protection = Create({.is_protected = true});
  EXPECT_TRUE(protection.is_protected);
  EXPECT_EQ(protection.till, kNow + minutes(60));
}

TEST(ProtectionTest, ADurationAloneProtectsForThatLong) {
  auto protection = Create({.protection_duration_minutes = 30});
  EXPECT_TRUE(protection.is_protected);
  EXPECT_EQ(protection.till, kNow + minutes(30));
  EXPECT_EQ(Create({.protection_duration_minutes = 600}).till, kNow + minutes(600));
}

TEST(ProtectionTest, ForeverIsTheMaximumWhenThereIsOneAndForeverOtherwise) {
  auto capped = Create({.is_protected = true, .protection_duration_minutes = 0});
  EXPECT_TRUE(capped.is_protected);
  EXPECT_EQ(capped.till, kNow + minutes(600));
  auto forever = Create({.is_protected = true, .protection_duration_minutes = 0}, kNoMaximum);
  EXPECT_TRUE(forever.is_protected);
  EXPECT_FALSE(forever.till.has_value());
  // Without a maximum, any duration is taken as it is.
  EXPECT_EQ(Create({.protection_duration_minutes = 100000}, kNoMaximum).till,
            kNow + minutes(100000));
}

TEST(ProtectionTest, ALeaseLongerThanTheMaximumIsCappedSilently) {
  ProtectionPolicy policy{.lease_minutes = 1000, .max_minutes = 600};
  EXPECT_EQ(Create({.is_protected = true}, policy).till, kNow + minutes(600));
  ProtectionPolicy forever_lease{.lease_minutes = 0, .max_minutes = 600};
  EXPECT_EQ(Create({.is_protected = true}, forever_lease).till, kNow + minutes(600));
  EXPECT_FALSE(
      Create({.is_protected = true}, {.lease_minutes = 0, .max_minutes = 0}).till.has_value());
}

TEST(ProtectionTest, AnExplicitDurationOverTheMaximumIsRefusedNamingIt) {
  auto refused =
      ProtectionOnCreate({.is_protected = true, .protection_duration_minutes = 601}, kPolicy, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(refused.error().message,
            "protectionDurationMinutes 601 exceeds the maximum of 600 "
            "(cloning.protectionMaxDurationMinutes)");
}

TEST(ProtectionTest, ANegativeDurationIsRefusedEvenWhenTurningProtectionOff) {
  for (std::optional<bool> is_protected :
       {std::optional<bool>(), std::optional<bool>(false), std::optional<bool>(true)}) {
    auto refused = DecideProtection({}, is_protected, -1, kPolicy, kNow);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
    EXPECT_EQ(refused.error().message, "protectionDurationMinutes must be >= 0");
  }
}

TEST(ProtectionTest, ProtectedFalseWinsOverADurationAndClearsTheEnd) {
  Protection current{true, kNow + minutes(10)};
  auto off = ProtectionOnUpdate(
      current, {.is_protected = false, .protection_duration_minutes = 9999}, kPolicy, kNow);
  ASSERT_TRUE(off.ok()) << "no cap check when turning off";
  EXPECT_FALSE(off->is_protected);
  EXPECT_FALSE(off->till.has_value());
}

TEST(ProtectionTest, AnUpdateStartsFromTheClonesCurrentProtection) {
  TimePoint later = kNow + minutes(5);
  // Unprotected and the update says nothing: it stays unprotected.
  auto unchanged = ProtectionOnUpdate({}, {}, kPolicy, later);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_FALSE(unchanged->is_protected);
  // Protected and the update says nothing: still protected, with a fresh lease from now (as
  // CloneManager::Update has always done).
  auto renewed = ProtectionOnUpdate({true, kNow + minutes(1)}, {}, kPolicy, later);
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(renewed->is_protected);
  EXPECT_EQ(renewed->till, later + minutes(60));
  // A new duration replaces the end.
  auto extended = ProtectionOnUpdate({true, kNow + minutes(1)},
                                     {.protection_duration_minutes = 120}, kPolicy, later);
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->till, later + minutes(120));
}

TEST(ProtectionTest, ProtectionExpiresAtItsEndAndForeverNever) {
  Protection leased{true, kNow + minutes(60)};
  EXPECT_FALSE(ProtectionExpired(leased, kNow + minutes(59)));
  EXPECT_TRUE(ProtectionExpired(leased, kNow + minutes(60)));
  EXPECT_TRUE(ProtectionExpired(leased, kNow + minutes(61)));
  EXPECT_FALSE(ProtectionExpired({true, std::nullopt}, kNow + minutes(1000000)));
  EXPECT_FALSE(ProtectionExpired({false, std::nullopt}, kNow));
  EXPECT_FALSE(ProtectionExpired({false, kNow - minutes(1)}, kNow))
      << "not protected: nothing ends";
}

TEST(ProtectionTest, ProtectionMovesBetweenACloneAndItsRules) {
  Clone clone;
  clone.is_protected = true;
  clone.protected_till = kNow;
  Protection protection = Protection::Of(clone);
  EXPECT_TRUE(protection.is_protected);
  EXPECT_EQ(protection.till, kNow);
  Protection{}.ApplyTo(clone);
  EXPECT_FALSE(clone.is_protected);
  EXPECT_FALSE(clone.protected_till.has_value());
}

}  // namespace
}  // namespace dblab
