// The idle rule on fixed times, the answer of pg_stat_activity read, and IdleDetector on a fake
// SQL connector and log files in a temporary directory (no server, no sleeping).
#include "cloning/idle_detector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "postgres/fake_sql.h"

namespace dblab {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;

const TimePoint kCreated = TimePoint(std::chrono::hours(500000));
constexpr minutes kMaxIdle{120};

std::string Millis(TimePoint at) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
}

TEST(DecideIdleTest, QuietUntilMaxIdleHasPassedSinceTheLastActivity) {
  auto no_log = [] { return false; };
  SessionActivity quiet{0, TimePoint{}};
  auto before = DecideIdle(quiet, kCreated, no_log, kCreated + minutes(119), kMaxIdle);
  EXPECT_FALSE(before.idle);
  EXPECT_EQ(before.activity, kCreated) << "no activity: the last one stays";
  auto at = DecideIdle(quiet, kCreated, no_log, kCreated + minutes(120), kMaxIdle);
  EXPECT_TRUE(at.idle);
  EXPECT_EQ(at.activity, kCreated);
}

TEST(DecideIdleTest, ABusySessionANewSessionOrALoggedConnectionIsActivityNow) {
  TimePoint now = kCreated + minutes(500);
  int log_asked = 0;
  auto log = [&](bool answer) {
    return [&log_asked, answer] {
      ++log_asked;
      return answer;
    };
  };
  auto busy = DecideIdle({1, TimePoint{}}, kCreated, log(false), now, kMaxIdle);
  EXPECT_FALSE(busy.idle);
  EXPECT_EQ(busy.activity, now);
  auto started = DecideIdle({0, kCreated + minutes(1)}, kCreated, log(false), now, kMaxIdle);
  EXPECT_FALSE(started.idle);
  EXPECT_EQ(started.activity, now);
  EXPECT_EQ(log_asked, 0) << "the log is read only when the sessions show nothing";
  auto logged = DecideIdle({0, TimePoint{}}, kCreated, log(true), now, kMaxIdle);
  EXPECT_FALSE(logged.idle);
  EXPECT_EQ(logged.activity, now);
  EXPECT_EQ(log_asked, 1);
  // A session that started exactly at the last activity is not newer than it.
  auto same = DecideIdle({0, kCreated}, kCreated, log(false), now, kMaxIdle);
  EXPECT_TRUE(same.idle);
}

TEST(ParseSessionActivityTest, OneRowOfTwoIntegersOrNothing) {
  auto read = ParseSessionActivity({{"2", Millis(kCreated)}});
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->busy, 2);
  EXPECT_EQ(read->newest_start, kCreated);
  EXPECT_FALSE(ParseSessionActivity({}).has_value());
  EXPECT_FALSE(ParseSessionActivity({{"0"}}).has_value());
  EXPECT_FALSE(ParseSessionActivity({{"x", "0"}}).has_value());
  EXPECT_FALSE(ParseSessionActivity({{"0", ""}}).has_value());
}

class IdleDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab-idle-detector-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    clone_.id = "c1";
    clone_.db.port = 6000;
    clone_.created_at = kCreated;
    Sessions("0", TimePoint{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Sessions(const std::string& busy, TimePoint newest) {
    sql_.answers = {{kSessionActivityQuery, {{{busy, Millis(newest)}}, "", ""}}};
  }
  void Log(const std::string& text) { std::ofstream(dir_ + "/c1.log", std::ios::app) << text; }

  std::string dir_;
  FakeSqlConnector sql_;
  Clone clone_;
};

TEST_F(IdleDetectorTest, AsksTheClonesServerAsTheEngineAndDecides) {
  IdleDetector detector(sql_, "/run/dblab-sockets", "postgres", dir_, 120);
  auto quiet = detector.Check(clone_, kCreated + minutes(120));
  EXPECT_TRUE(quiet.idle);
  EXPECT_EQ(quiet.activity, kCreated) << "no activity yet: idle since the creation";
  auto asked = sql_.StatementsWith("FROM pg_stat_activity");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_NE(asked[0].conninfo.find("port='6000'"), std::string::npos) << asked[0].conninfo;
  EXPECT_NE(asked[0].conninfo.find("application_name='dblab-engine'"), std::string::npos);
  // The last activity counts from when it was seen, not from the creation.
  clone_.last_activity_at = kCreated + minutes(100);
  EXPECT_FALSE(detector.Check(clone_, kCreated + minutes(219)).idle);
  EXPECT_TRUE(detector.Check(clone_, kCreated + minutes(220)).idle);
  Sessions("1", TimePoint{});
  auto busy = detector.Check(clone_, kCreated + minutes(300));
  EXPECT_FALSE(busy.idle);
  EXPECT_EQ(busy.activity, kCreated + minutes(300));
}

TEST_F(IdleDetectorTest, WhenItCannotTellTheCloneIsNotIdleAndActivityIsUnknown) {
  IdleDetector detector(sql_, "/run/dblab-sockets", "postgres", dir_, 120);
  TimePoint much_later = kCreated + minutes(100000);
  sql_.connect_fault = [](const std::string&) -> Status { return Internal("refused"); };
  auto refused = detector.Check(clone_, much_later);
  EXPECT_FALSE(refused.idle);
  EXPECT_FALSE(refused.activity.has_value());
  sql_.connect_fault = nullptr;
  sql_.answers = {{kSessionActivityQuery, {{}, "canceling statement", "57014"}}};
  auto failed = detector.Check(clone_, much_later);
  EXPECT_FALSE(failed.idle);
  EXPECT_FALSE(failed.activity.has_value());
  sql_.answers = {{kSessionActivityQuery, {{{"garbage"}}, "", ""}}};
  EXPECT_FALSE(detector.Check(clone_, much_later).idle);
}

TEST_F(IdleDetectorTest, ALoggedConnectionByAUserCountsOnceAndTheEnginesNever) {
  IdleDetector detector(sql_, "/run/dblab-sockets", "postgres", dir_, 120);
  EXPECT_FALSE(detector.NewUserConnections("c1")) << "no log yet";
  Log("2026-12-02 LOG:  connection authorized: user=postgres database=postgres\n");
  EXPECT_FALSE(detector.NewUserConnections("c1")) << "the engine's own connection";
  Log("2026-12-02 LOG:  connection authorized: user=dev database=postgres\n");
  EXPECT_TRUE(detector.NewUserConnections("c1"));
  EXPECT_FALSE(detector.NewUserConnections("c1")) << "already seen";
  // Through Check: a logged connection is activity at the time of the check.
  Log("2026-12-02 LOG:  connection authorized: user=dev database=postgres\n");
  auto logged = detector.Check(clone_, kCreated + minutes(500));
  EXPECT_FALSE(logged.idle);
  EXPECT_EQ(logged.activity, kCreated + minutes(500));
}

TEST_F(IdleDetectorTest, AReplacedShorterLogIsReadFromItsStart) {
  IdleDetector detector(sql_, "/run/dblab-sockets", "postgres", dir_, 120);
  Log("2026-12-02 LOG:  connection authorized: user=postgres database=postgres\n"
      "2026-12-02 LOG:  connection authorized: user=postgres database=postgres\n");
  EXPECT_FALSE(detector.NewUserConnections("c1"));
  std::ofstream(dir_ + "/c1.log", std::ios::trunc) << "LOG:  connection authorized: user=dev\n";
  EXPECT_TRUE(detector.NewUserConnections("c1"));
}

}  // namespace
}  // namespace dblab
