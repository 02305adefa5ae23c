#include "ops/log_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <atomic>
#include <thread>

namespace dblab {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedactSecretsTest, MasksValuesOfSecretKeysInEveryCommonForm) {
  EXPECT_EQ(RedactSecrets("connecting host=db user=app password=hunter22 dbname=x", {}),
            "connecting host=db user=app password=**** dbname=x");
  EXPECT_EQ(RedactSecrets(R"(body {"username":"u","password":"p@ss word"})", {}),
            R"(body {"username":"u","password":"****"})");
  EXPECT_EQ(RedactSecrets("PGPASSWORD=abc pg_dump", {}), "PGPASSWORD=**** pg_dump");
  EXPECT_EQ(RedactSecrets("GET /instance/logs?token=abcdef&follow=1", {}),
            "GET /instance/logs?token=****&follow=1");
  EXPECT_EQ(RedactSecrets("Verification-Token: tok123", {}), "Verification-Token: ****");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer eyJhbGciOi", {}), "Authorization: Bearer ****");
  EXPECT_EQ(RedactSecrets("webhook secret: 's3cr3t'", {}), "webhook secret: '****'");
}

TEST(RedactSecretsTest, MasksThePasswordOfAUri) {
  EXPECT_EQ(RedactSecrets("source postgresql://app:pa55@db.example:5432/app failed", {}),
            "source postgresql://app:****@db.example:5432/app failed");
  EXPECT_EQ(RedactSecrets("listening on http://127.0.0.1:2345 (user@host)", {}),
            "listening on http://127.0.0.1:2345 (user@host)");
}

TEST(RedactSecretsTest, MasksRegisteredLiteralsWhereverTheyAppear) {
  EXPECT_EQ(RedactSecrets("odd message with tok-XYZ-123 inside", {"tok-XYZ-123", ""}),
            "odd message with **** inside");
  // Too short to mask everywhere.
  EXPECT_EQ(RedactSecrets("abc", {"abc"}), "abc");
}

TEST(RedactSecretsTest, LeavesOrdinaryLinesAlone) {
  const std::string line =
      "2026-12-01T10:00:00.000+0000 info clone c1: creating from snapshot pool@s1 on port 6000";
  EXPECT_EQ(RedactSecrets(line, {}), line);
  EXPECT_EQ(RedactSecrets("missing or wrong Verification-Token header; check your token", {}),
            "missing or wrong Verification-Token header; check your token");
}

TEST(LogHubTest, NewSubscriberGetsTheBacklogThenLiveLinesWithoutGapOrRepeat) {
  LogHub hub(LogHub::Options{.backlog_lines = 2});
  hub.Publish("one\n");
  hub.Publish("two");
  hub.Publish("three");
  std::vector<std::string> backlog;
  int wakes = 0;
  auto subscription = hub.Subscribe([&](bool) { ++wakes; }, &backlog);
  EXPECT_THAT(backlog, ElementsAre("two", "three"));
  hub.Publish("four");
  hub.Publish("five");
  EXPECT_EQ(wakes, 1) << "one wake until the subscriber takes the lines";
  bool dropped = true;
  EXPECT_THAT(subscription->Take(&dropped), ElementsAre("four", "five"));
  EXPECT_FALSE(dropped);
  hub.Publish("six");
  EXPECT_EQ(wakes, 2);
  EXPECT_THAT(subscription->Take(&dropped), ElementsAre("six"));
  subscription.reset();
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(LogHubTest, ASlowSubscriberIsDroppedAndLoggingNeverWaitsForIt) {
  LogHub hub(LogHub::Options{.subscriber_queue_lines = 3});
  std::vector<std::string> backlog;
  std::atomic<int> wakes{0};
  std::atomic<bool> told_dropped{false};
  auto slow = hub.Subscribe(
      [&](bool dropped) {
        ++wakes;
        if (dropped) told_dropped = true;
      },
      &backlog);
  for (int i = 0; i < 10000; ++i) hub.Publish("line " + std::to_string(i));
  bool dropped = false;
  EXPECT_TRUE(slow->Take(&dropped).empty());
  EXPECT_TRUE(dropped);
  EXPECT_EQ(wakes, 2) << "woken for the first line and once more when dropped";
  EXPECT_TRUE(told_dropped);
}

TEST(LogHubTest, AsASpdlogSinkItRedactsRegisteredSecretsAndKeyValues) {
  auto hub = std::make_shared<LogHub>();
  hub->set_pattern("%l %v");
  hub->AddSecret("the-api-token-value");
  spdlog::logger logger("test", hub);
  std::vector<std::string> backlog;
  auto subscription = hub->Subscribe({}, &backlog);
  logger.info("token is the-api-token-value; conninfo password=pw123 host=h");
  bool dropped;
  auto lines = subscription->Take(&dropped);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "info token is ****; conninfo password=**** host=h");
}

class CountingRandom : public RandomSource {
 public:
  void Fill(std::span<unsigned char> out) override {
    for (auto& byte : out) byte = static_cast<unsigned char>(next_++);
    bytes_ += out.size();
  }
  std::string_view Name() const override { return "counting"; }
  size_t bytes_ = 0;

 private:
  unsigned next_ = 0;
};

TEST(LogStreamTokensTest, ATokenOpensOneStreamOnlyAndOnlyBeforeItExpires) {
  auto now = std::chrono::steady_clock::time_point{};
  CountingRandom random;
  LogStreamTokens tokens(
      LogStreamTokens::Options{.lifetime = std::chrono::seconds(60)}, [&] { return now; }, random);
  std::string token = tokens.Issue();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(random.bytes_, 32u) << "every token comes from the RandomSource";
  EXPECT_FALSE(tokens.Consume(""));
  EXPECT_FALSE(tokens.Consume(token.substr(0, 63)));
  EXPECT_TRUE(tokens.Consume(token));
  EXPECT_FALSE(tokens.Consume(token)) << "reused";

  std::string late = tokens.Issue();
  EXPECT_NE(late, token);
  now += std::chrono::seconds(61);
  EXPECT_FALSE(tokens.Consume(late)) << "expired";
}

TEST(LogStreamTokensTest, KeepsAtMostMaxOutstandingTokens) {
  LogStreamTokens tokens(LogStreamTokens::Options{.max_outstanding = 2}, {}, SystemRandom());
  std::string first = tokens.Issue();
  std::string second = tokens.Issue();
  std::string third = tokens.Issue();
  EXPECT_FALSE(tokens.Consume(first));
  EXPECT_TRUE(tokens.Consume(second));
  EXPECT_TRUE(tokens.Consume(third));
}

}  // namespace
}  // namespace dblab
