// Slows token guessing per client address. The first few wrong tokens from an address cost
// nothing (typos); after that each wrong token locks the address out for a time that doubles,
// up to a ceiling. While locked out, an address gets 429 for every authenticated request and its
// token is not compared at all: comparing it would tell a guesser when the guess was right, so
// the lockout also holds back the right token from that address. Other addresses are never
// affected. A right token outside a lockout clears the address's record.
// Thread-safe. Memory is bounded: at most Options::max_addresses records, oldest dropped first.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dblab {

struct AuthThrottleOptions {
  int free_failures = 5;  // wrong tokens answered before a lockout; the last of them starts it
  std::chrono::milliseconds first_lockout = std::chrono::seconds(1);
  std::chrono::milliseconds max_lockout = std::chrono::seconds(60);
  // A record without a new failure for this long is forgotten (the count starts over).
  std::chrono::milliseconds forget_after = std::chrono::minutes(15);
  size_t max_addresses = 10000;
};

class AuthThrottle {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Options = AuthThrottleOptions;

  explicit AuthThrottle(Options options = {}, Clock clock = {});

  // How long `address` must wait before its token is looked at; zero when it may try now.
  std::chrono::milliseconds RetryAfter(const std::string& address);
  // Counts a wrong token; returns the lockout it starts (zero while failures are still free).
  std::chrono::milliseconds RecordFailure(const std::string& address);
  void RecordSuccess(const std::string& address);

 private:
  struct Record {
    int failures = 0;
    std::chrono::steady_clock::time_point locked_until;
    std::chrono::steady_clock::time_point last_failure;
  };
  void Prune(std::chrono::steady_clock::time_point now);  // with mutex_ held

  const Options options_;
  const Clock clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
};

}  // namespace dblab
