#include "ops/webhooks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "config/config.h"

namespace dblab {
namespace {

using ::testing::HasSubstr;

// Records every POST and answers from a script (then 200).
class ScriptedTransport : public WebhookTransport {
 public:
  struct Call {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  Result<int> Post(const std::string& url,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, std::chrono::milliseconds) override {
    std::lock_guard lock(mutex);
    calls.push_back({url, headers, body});
    changed.notify_all();
    if (answers.empty()) return 200;
    Result<int> answer = answers.front();
    answers.erase(answers.begin());
    return answer;
  }
  bool WaitForCalls(size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(5), [&] { return calls.size() >= count; });
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Call> calls;
  std::vector<Result<int>> answers;
};

WebhookOptions FastRetries() {
  WebhookOptions options;
  options.max_attempts = 3;
  options.first_retry_delay = std::chrono::milliseconds(10);
  return options;
}

TEST(WebhookDispatcherTest, SendsTheEventToHooksThatTriggerOnItWithTheSecretHeaders) {
  ScriptedTransport transport;
  {
    WebhookDispatcher dispatcher(
        {{"http://a/hook", "s3cret", {"clone_create"}}, {"http://b/hook", "", {"clone_delete"}}},
        FastRetries(), transport);
    dispatcher.Publish("clone_create", R"({"event_type":"clone_create","entity_id":"c1"})");
    ASSERT_TRUE(transport.WaitForCalls(1));
    for (int i = 0; i < 100 && dispatcher.GetState().delivered < 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(dispatcher.GetState().delivered, 1u);
  }
  ASSERT_EQ(transport.calls.size(), 1u);
  const auto& call = transport.calls[0];
  EXPECT_EQ(call.url, "http://a/hook");
  EXPECT_THAT(call.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                "DBLab-Webhook-Token", "s3cret")));
  EXPECT_THAT(call.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                "DLE-Webhook-Token", "s3cret")));
  EXPECT_THAT(call.body, HasSubstr("\"entity_id\":\"c1\""));
}

TEST(WebhookDispatcherTest, RetriesWithBackoffThenGivesUpAndReportsTheLastError) {
  ScriptedTransport transport;
  transport.answers = {Unavailable("connection refused"), 503, Unavailable("timed out")};
  std::vector<bool> results;
  std::mutex results_mutex;
  WebhookDispatcher dispatcher({{"http://a/hook", "", {"clone_reset"}}}, FastRetries(), transport,
                               [&](bool delivered) {
                                 std::lock_guard lock(results_mutex);
                                 results.push_back(delivered);
                               });
  dispatcher.Publish("clone_reset", "{}");
  ASSERT_TRUE(transport.WaitForCalls(3));
  WebhookState state;
  for (int i = 0; i < 200; ++i) {
    state = dispatcher.GetState();
    if (state.failed == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(state.failed, 1u);
  EXPECT_EQ(state.delivered, 0u);
  EXPECT_EQ(state.pending, 0u);
  EXPECT_EQ(state.last_error, "clone_reset to http://a/hook: timed out");
  EXPECT_EQ(transport.calls.size(), 3u);
  std::lock_guard lock(results_mutex);
  EXPECT_EQ(results, std::vector<bool>{false});
}

TEST(WebhookDispatcherTest, PublishReturnsAtOnceWhileTheReceiverIsSlow) {
  class SlowTransport : public WebhookTransport {
   public:
    Result<int> Post(const std::string&, const std::vector<std::pair<std::string, std::string>>&,
                     const std::string&, std::chrono::milliseconds) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return 200;
    }
  } transport;
  WebhookDispatcher dispatcher({{"http://slow/hook", "", {"clone_create"}}}, FastRetries(),
                               transport);
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) dispatcher.Publish("clone_create", "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
}

TEST(WebhookValidationTest, NamesTheBadField) {
  EXPECT_TRUE(ValidateWebhookHook({"https://x.example/h", "", {"clone_create"}}, "h").ok());
  EXPECT_THAT(ValidateWebhookHook({"ftp://x/h", "", {"clone_create"}}, "h").error().message,
              HasSubstr("h.url"));
  EXPECT_THAT(ValidateWebhookHook({"http:///nohost", "", {"clone_create"}}, "h").error().message,
              HasSubstr("h.url"));
  EXPECT_THAT(ValidateWebhookHook({"http://x/h", "", {"clone_explode"}}, "h").error().message,
              HasSubstr("h.trigger: \"clone_explode\""));
  EXPECT_THAT(ValidateWebhookHook({"http://x/h", "a\r\nb", {"clone_create"}}, "h").error().message,
              HasSubstr("h.secret"));
}

TEST(WebhookConfigTest, ReadsDleHooksAndRefusesBadOnesWithTheLine) {
  auto config = ParseConfig(R"(
server: {verificationToken: t}
webhooks:
  hooks:
    - url: "http://127.0.0.1:9000/dblab"
      secret: "hook-secret"
      trigger: [clone_create, clone_delete]
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->webhooks.size(), 1u);
  EXPECT_EQ(config->webhooks[0].url, "http://127.0.0.1:9000/dblab");
  EXPECT_EQ(config->webhooks[0].secret, "hook-secret");
  EXPECT_EQ(config->webhooks[0].triggers,
            (std::vector<std::string>{"clone_create", "clone_delete"}));

  auto bad = ParseConfig(R"(
server: {verificationToken: t}
webhooks:
  hooks:
    - url: "not a url"
      trigger: [clone_create]
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("webhooks.hooks[0].url"));
  EXPECT_THAT(bad.error().message, HasSubstr("line 5"));
}

}  // namespace
}  // namespace dblab
