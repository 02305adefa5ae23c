#include "api/auth_throttle.h"

#include <algorithm>

namespace dblab {

AuthThrottle::AuthThrottle(Options options, Clock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {}

std::chrono::milliseconds AuthThrottle::RetryAfter(const std::string& address) {
  auto now = clock_();
  std::lock_guard lock(mutex_);
  auto it = records_.find(address);
  if (it == records_.end() || it->second.locked_until <= now) return std::chrono::milliseconds(0);
  // Rounded up, so a caller that waits exactly this long is let in.
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.locked_until - now);
}

std::chrono::milliseconds AuthThrottle::RecordFailure(const std::string& address) {
  auto now = clock_();
  std::lock_guard lock(mutex_);
  auto it = records_.find(address);
  if (it != records_.end() && now - it->second.last_failure >= options_.forget_after) {
    records_.erase(it);
    it = records_.end();
  }
  if (it == records_.end()) {
    if (records_.size() >= options_.max_addresses) Prune(now);
    it = records_.emplace(address, Record{}).first;
  }
  Record& record = it->second;
  record.failures = std::min(record.failures + 1, 1 << 20);
  record.last_failure = now;
  int over = record.failures - options_.free_failures;
  if (over < 0) return std::chrono::milliseconds(0);
  auto lockout = options_.first_lockout;
  for (int i = 0; i < over && lockout < options_.max_lockout; ++i) lockout *= 2;
  lockout = std::min(lockout, options_.max_lockout);
  record.locked_until = now + lockout;
  return lockout;
}

void AuthThrottle::RecordSuccess(const std::string& address) {
  std::lock_guard lock(mutex_);
  records_.erase(address);
}

void AuthThrottle::Prune(std::chrono::steady_clock::time_point now) {
  std::erase_if(records_, [&](const auto& entry) {
    return now - entry.second.last_failure >= options_.forget_after &&
           entry.second.locked_until <= now;
  });
  while (records_.size() >= options_.max_addresses) {
    auto oldest = std::min_element(
        records_.begin(), records_.end(),
        [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
    records_.erase(oldest);
  }
}

}  // namespace dblab
