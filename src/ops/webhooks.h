// DLE's webhooks (config `webhooks.hooks`: url, secret, trigger): a JSON POST per event to every
// hook whose trigger list names it, with the secret in a header as DLE sends it: DLE 4 names the
// header `DBLab-Webhook-Token`, DLE 3 `DLE-Webhook-Token`; both are sent, so receivers written
// for either version work. Deliveries run on the dispatcher's own threads from a bounded queue,
// with retries and exponential backoff, so a slow or dead receiver never delays a clone operation.
// Publish() never blocks on the network. Thread-safe. Secrets are never logged.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/webhook_hook.h"
#include "domain/model.h"
#include "domain/ops_types.h"

namespace dblab {

inline constexpr const char* kWebhookTokenHeader = "DBLab-Webhook-Token";
inline constexpr const char* kLegacyWebhookTokenHeader = "DLE-Webhook-Token";

// Sends one POST; the HTTP status, or an error when no answer came. Seam for tests.
class WebhookTransport {
 public:
  virtual ~WebhookTransport() = default;
  virtual Result<int> Post(const std::string& url,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body, std::chrono::milliseconds timeout) = 0;
};

// libcurl; http and https only; no redirects followed.
class CurlWebhookTransport : public WebhookTransport {
 public:
  Result<int> Post(const std::string& url,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, std::chrono::milliseconds timeout) override;
};

struct WebhookOptions {
  int max_attempts = 5;                               // first try included
  std::chrono::milliseconds first_retry_delay{1000};  // doubled after each failure
  std::chrono::milliseconds max_retry_delay{60000};
  std::chrono::milliseconds request_timeout{5000};
  size_t max_queue = 1000;  // deliveries waiting; beyond it new ones are dropped (and counted)
  int workers = 2;
};

class WebhookDispatcher {
 public:
  // `on_result(delivered)` is called once per delivery when it succeeded or gave up (metrics).
  // `transport` must outlive the dispatcher.
  WebhookDispatcher(std::vector<WebhookHook> hooks, WebhookOptions options,
                    WebhookTransport& transport, std::function<void(bool)> on_result = {});
  ~WebhookDispatcher();  // stops the workers; deliveries still waiting are dropped (logged)

  // Queues `payload` (a JSON object text) for every hook that triggers on `event_type`.
  void Publish(const std::string& event_type, const std::string& payload);

  WebhookState GetState() const;
  size_t hook_count() const { return hooks_.size(); }

 private:
  struct Delivery {
    size_t hook = 0;
    std::string event_type;
    std::string payload;
    int attempt = 0;
  };
  void WorkerLoop();
  void Attempt(Delivery delivery);

  const std::vector<WebhookHook> hooks_;
  const WebhookOptions options_;
  WebhookTransport& transport_;
  std::function<void(bool)> on_result_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::multimap<std::chrono::steady_clock::time_point, Delivery> queue_;  // by due time
  int in_flight_ = 0;
  WebhookState state_;
  std::vector<std::thread> workers_;
};

}  // namespace dblab
