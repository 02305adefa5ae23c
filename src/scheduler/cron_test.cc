#include "scheduler/cron.h"

#include <gtest/gtest.h>

#include <ctime>

namespace dblab {
namespace {

std::chrono::system_clock::time_point Utc(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

TEST(CronTest, DleDefaultRunsMondaysAtMidnight) {
  // DLE's example: "0 0 * * 1". 2026-11-27 is a Friday.
  auto schedule = CronSchedule::Parse("0 0 * * 1");
  ASSERT_TRUE(schedule.ok());
  EXPECT_EQ(*schedule->Next(Utc(2026, 11, 27, 12, 0)), Utc(2026, 11, 30, 0, 0));
  EXPECT_EQ(*schedule->Next(Utc(2026, 11, 30, 0, 0)), Utc(2026, 12, 7, 0, 0));
}

TEST(CronTest, StepsRangesListsAndSundayAsSeven) {
  EXPECT_EQ(*CronSchedule::Parse("*/15 * * * *")->Next(Utc(2026, 1, 1, 10, 7)),
            Utc(2026, 1, 1, 10, 15));
  EXPECT_EQ(*CronSchedule::Parse("30 9-17/4 * * *")->Next(Utc(2026, 1, 1, 10, 0)),
            Utc(2026, 1, 1, 13, 30));
  EXPECT_EQ(*CronSchedule::Parse("0 6 1,15 * *")->Next(Utc(2026, 1, 2, 0, 0)),
            Utc(2026, 1, 15, 6, 0));
  // 2026-11-29 is a Sunday.
  EXPECT_EQ(*CronSchedule::Parse("0 0 * * 7")->Next(Utc(2026, 11, 27, 0, 0)),
            Utc(2026, 11, 29, 0, 0));
  EXPECT_EQ(*CronSchedule::Parse("0 0 29 2 *")->Next(Utc(2026, 3, 1, 0, 0)),
            Utc(2028, 2, 29, 0, 0));
}

TEST(CronTest, BothDayFieldsRestrictedMeansEither) {
  // The 1st of the month, or any Monday.
  auto schedule = CronSchedule::Parse("0 0 1 * 1");
  EXPECT_EQ(*schedule->Next(Utc(2026, 11, 27, 0, 0)), Utc(2026, 11, 30, 0, 0));
  EXPECT_EQ(*schedule->Next(Utc(2026, 11, 30, 0, 0)), Utc(2026, 12, 1, 0, 0));
}

TEST(CronTest, InvalidTimetablesNameTheField) {
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                          "* * * * 8", "*/0 * * * *", "a * * * *", "5-1 * * * *", "* * * * * *"}) {
    auto parsed = CronSchedule::Parse(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
  }
  EXPECT_NE(CronSchedule::Parse("* 25 * * *").error().message.find("hour"), std::string::npos);
}

// Regression (issue 9): std::stoi threw std::out_of_range on these and aborted the engine.
TEST(CronTest, HugeNumbersAreRangeErrorsNotExceptions) {
  for (const char* bad : {"*/99999999999 * * * *", "*/2147483648 * * * *", "0-99999999999 * * * *",
                          "* */999999999 * * *", "* * * * 1-/5", "* * * * -1", "*/+5 * * * *",
                          "*/ * * * *", "1//2 * * * *", ", * * * *"}) {
    auto parsed = CronSchedule::Parse(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
  }
  auto parsed = CronSchedule::Parse("*/99999999999 * * * *");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("invalid minute field"), std::string::npos);
}

}  // namespace
}  // namespace dblab
