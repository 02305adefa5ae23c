// The engine's live log for DLE's WebSocket /instance/logs: a spdlog sink that keeps the newest
// lines (with secrets redacted) and hands every new line to subscribers, and the short-lived
// one-time tokens (GET /admin/ws-auth) that open such a stream.
//
// Logging never waits for a subscriber: each has a bounded queue, and one that falls behind is
// marked dropped (its stream is closed) instead of slowing the thread that logs, which may be a
// clone create. LogHub must outlive every Subscription; all methods are thread-safe. Nothing here
// logs (a line logged from inside the sink would deadlock spdlog).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"

namespace dblab {

// Masks secrets in one log line: every literal in `literals` (the API token, webhook secrets,
// source passwords; empty ones ignored), the value after a key naming a secret (`password=x`,
// `"token": "x"`, `PGPASSWORD=x`, `secret: x`, `Verification-Token: x`, `Bearer x`) and the
// password in a URI (`postgres://user:x@host`). Each becomes "****".
std::string RedactSecrets(std::string_view line, const std::vector<std::string>& literals);

class LogHub : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Options {
    size_t backlog_lines = 1000;           // newest lines a new subscriber gets first
    size_t subscriber_queue_lines = 2000;  // a subscriber this far behind is dropped
    size_t max_line_bytes = 16 * 1024;     // longer lines are cut (a dumped query, say)
  };

  // One stream's queue. `wake(dropped)` is called from the logging thread when lines arrive
  // after a Take() emptied the queue, and once with true when the queue overflows; it must
  // return quickly, must not log and must not call back into the hub.
  class Subscription {
   public:
    ~Subscription();  // unsubscribes
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    // The lines that arrived since the last call, oldest first. `dropped` becomes true (and
    // stays) once the queue overflowed: the stream has lost lines and should close.
    std::vector<std::string> Take(bool* dropped);

   private:
    friend class LogHub;
    Subscription(LogHub& hub, std::function<void(bool dropped)> wake)
        : hub_(hub), wake_(std::move(wake)) {}
    LogHub& hub_;
    const std::function<void(bool dropped)> wake_;
    std::mutex mutex_;
    std::deque<std::string> lines_;
    bool dropped_ = false;
    bool wake_pending_ = false;
  };

  LogHub() : LogHub(Options{}) {}
  explicit LogHub(Options options) : options_(options) {}

  // Registers a stream; `backlog` receives the newest lines so far, and every later line goes
  // to the subscription: none is lost or repeated between the two.
  std::unique_ptr<Subscription> Subscribe(std::function<void(bool dropped)> wake,
                                          std::vector<std::string>* backlog);
  // A value that must never reach a stream (tokens, passwords); masked in later lines.
  void AddSecret(std::string secret);
  // Adds a line as the sink does (redacted, cut, no trailing newline). For tests and for lines
  // that do not go through spdlog.
  void Publish(std::string_view line);
  size_t subscriber_count();

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}

 private:
  void Unsubscribe(Subscription* subscription);

  const Options options_;
  std::mutex state_mutex_;  // guards the members below; taken after base_sink's mutex
  std::deque<std::string> backlog_;
  std::vector<Subscription*> subscribers_;
  std::vector<std::string> secrets_;
};

// One-time tokens for the log stream (DLE's ws-auth): 32 bytes from the RandomSource, hex, valid
// for `lifetime` and for one WebSocket handshake. At most `max_outstanding` are kept (the oldest
// go first), so a client asking in a loop cannot grow memory. Thread-safe.
class LogStreamTokens {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    std::chrono::seconds lifetime{60};
    size_t max_outstanding = 256;
  };
  LogStreamTokens() : LogStreamTokens(Options{}, {}, DefaultRandom()) {}
  // `clock` empty: steady_clock.
  LogStreamTokens(Options options, Clock clock, RandomSource& random);

  std::string Issue();
  // True once for a token Issue() returned that has not expired; it is then gone. Compares in
  // constant time with every outstanding token.
  bool Consume(std::string_view token);

 private:
  struct Issued {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };
  std::chrono::steady_clock::time_point Now() const;

  const Options options_;
  const Clock clock_;
  RandomSource& random_;
  std::mutex mutex_;
  std::deque<Issued> issued_;  // oldest first
};

}  // namespace dblab
