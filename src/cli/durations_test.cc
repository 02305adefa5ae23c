#include "cli/durations.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(CliProtection, TrueAndFalseToggleWithoutDuration) {
  auto on = ParseProtection("true");
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->is_protected);
  EXPECT_FALSE(on->duration_minutes.has_value());

  auto off = ParseProtection("false");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->is_protected);
  EXPECT_FALSE(off->duration_minutes.has_value());
}

TEST(CliProtection, PlainNumberIsMinutesAndZeroIsForever) {
  auto sixty = ParseProtection("60");
  ASSERT_TRUE(sixty.ok());
  EXPECT_TRUE(sixty->is_protected);
  EXPECT_EQ(sixty->duration_minutes, 60);

  auto forever = ParseProtection("0");
  ASSERT_TRUE(forever.ok());
  EXPECT_TRUE(forever->is_protected);
  EXPECT_EQ(forever->duration_minutes, 0);
}

TEST(CliProtection, DurationsConvertToMinutes) {
  EXPECT_EQ(ParseProtection("30m")->duration_minutes, 30);
  EXPECT_EQ(ParseProtection("2h")->duration_minutes, 120);
  EXPECT_EQ(ParseProtection("7d")->duration_minutes, 7 * 24 * 60);
}

TEST(CliProtection, RejectsAnythingElseWithAHelpfulMessage) {
  for (const char* bad : {"", "yes", "-5", "1.5h", "10s", "2w", "h", "30 m", "TRUE",
                          "99999999999999999999", "9999999999999999d"}) {
    auto result = ParseProtection(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(result.error().message.find("--protected"), std::string::npos);
    EXPECT_NE(result.error().message.find("30m"), std::string::npos);
  }
}

TEST(CliRequestTimeout, AcceptsSecondsAndGoStyleDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*ParseRequestTimeout("60"), milliseconds(60'000));
  EXPECT_EQ(*ParseRequestTimeout("60s"), milliseconds(60'000));
  EXPECT_EQ(*ParseRequestTimeout("2m"), milliseconds(120'000));
  EXPECT_EQ(*ParseRequestTimeout("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*ParseRequestTimeout("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseRequestTimeout("1m30s"), milliseconds(90'000));
  EXPECT_EQ(*ParseRequestTimeout("1m0s"), milliseconds(60'000));  // Go's time.Duration format
}

TEST(CliRequestTimeout, RejectsZeroNegativeAndGarbage) {
  for (const char* bad : {"", "0", "0s", "-1", "abc", "10x", "1m30", "s", "1.5s"}) {
    auto result = ParseRequestTimeout(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::kBadRequest);
  }
}

TEST(CliRequestTimeout, FormatRoundTrips) {
  EXPECT_EQ(FormatRequestTimeout(std::chrono::seconds(60)), "60s");
  EXPECT_EQ(FormatRequestTimeout(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_EQ(*ParseRequestTimeout(FormatRequestTimeout(std::chrono::milliseconds(1500))),
            std::chrono::milliseconds(1500));
}

}  // namespace
}  // namespace dblab
