#include "ops/webhooks.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace dblab {
namespace {

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

Result<int> CurlWebhookTransport::Post(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body, std::chrono::milliseconds timeout) {
  struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  };
  struct ListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("cannot initialise libcurl");
  std::unique_ptr<curl_slist, ListDeleter> list;
  for (const auto& [name, value] : headers) {
    std::string line = name + ": " + value;
    list.reset(curl_slist_append(list.release(), line.c_str()));
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &DiscardBody);
  CURLcode result = curl_easy_perform(handle);
  if (result != CURLE_OK) {
    return Unavailable(error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result));
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  return static_cast<int>(status);
}

WebhookDispatcher::WebhookDispatcher(std::vector<WebhookHook> hooks, WebhookOptions options,
                                     WebhookTransport& transport,
                                     std::function<void(bool)> on_result)
    : hooks_(std::move(hooks)),
      options_(options),
      transport_(transport),
      on_result_(std::move(on_result)) {
  state_.hooks = static_cast<int>(hooks_.size());
  if (hooks_.empty()) return;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

WebhookDispatcher::~WebhookDispatcher() {
  size_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped = queue_.size();
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
  if (dropped > 0) spdlog::warn("webhooks: {} deliveries dropped at shutdown", dropped);
}

void WebhookDispatcher::Publish(const std::string& event_type, const std::string& payload) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < hooks_.size(); ++i) {
    const auto& triggers = hooks_[i].triggers;
    if (std::find(triggers.begin(), triggers.end(), event_type) == triggers.end()) continue;
    if (queue_.size() >= options_.max_queue) {
      ++state_.failed;
      state_.last_error = event_type + " to " + hooks_[i].url + ": dropped, queue full";
      state_.last_error_at = std::chrono::system_clock::now();
      spdlog::error("webhooks: {}", state_.last_error);
      continue;
    }
    queue_.emplace(std::chrono::steady_clock::now(), Delivery{i, event_type, payload, 0});
  }
  wake_.notify_one();
}

WebhookState WebhookDispatcher::GetState() const {
  std::lock_guard lock(mutex_);
  WebhookState state = state_;
  state.pending = queue_.size() + in_flight_;
  return state;
}

void WebhookDispatcher::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (stopping_) return;
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto due = queue_.begin()->first;
    if (due > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, due);
      continue;
    }
    Delivery delivery = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    ++in_flight_;
    lock.unlock();
    Attempt(std::move(delivery));  // ends it in flight, with its outcome counted at that moment
    lock.lock();
  }
}

void WebhookDispatcher::Attempt(Delivery delivery) {
  const WebhookHook& hook = hooks_[delivery.hook];
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  if (!hook.secret.empty()) {
    headers.push_back({kWebhookTokenHeader, hook.secret});
    headers.push_back({kLegacyWebhookTokenHeader, hook.secret});
  }
  ++delivery.attempt;
  auto status = transport_.Post(hook.url, headers, delivery.payload, options_.request_timeout);
  std::string error;
  if (!status.ok()) {
    error = status.error().message;
  } else if (*status < 200 || *status >= 300) {
    error = "HTTP " + std::to_string(*status);
  }
  if (error.empty()) {
    {
      std::lock_guard lock(mutex_);
      ++state_.delivered;
      --in_flight_;
    }
    spdlog::info("webhooks: {} delivered to {}", delivery.event_type, hook.url);
    if (on_result_) on_result_(true);
    return;
  }
  std::string message = delivery.event_type + " to " + hook.url + ": " + error;
  std::lock_guard lock(mutex_);
  --in_flight_;  // failed or queued again, never both nor neither in GetState
  state_.last_error = message;
  state_.last_error_at = std::chrono::system_clock::now();
  if (delivery.attempt >= options_.max_attempts || stopping_) {
    ++state_.failed;
    spdlog::error("webhooks: {} (gave up after {} attempts)", message, delivery.attempt);
    if (on_result_) on_result_(false);
    return;
  }
  auto delay = options_.first_retry_delay * (1LL << std::min(delivery.attempt - 1, 20));
  delay = std::min<std::chrono::milliseconds>(delay, options_.max_retry_delay);
  spdlog::warn("webhooks: {} (attempt {} of {}; retry in {} ms)", message, delivery.attempt,
               options_.max_attempts, delay.count());
  queue_.emplace(std::chrono::steady_clock::now() + delay, std::move(delivery));
  wake_.notify_one();
}

}  // namespace dblab
