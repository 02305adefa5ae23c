#include "ops/log_stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <span>

namespace dblab {
namespace {

constexpr std::string_view kMask = "****";
// Shorter literal secrets are not masked: every "abc" in every line would go.
constexpr size_t kMinLiteralSecret = 4;
constexpr std::string_view kSecretKeyWords[] = {"password", "passwd",  "secret", "token",
                                                "apikey",   "api_key", "api-key"};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

bool NamesASecret(std::string_view word) {
  std::string lower = Lower(word);
  for (auto key : kSecretKeyWords) {
    if (lower.find(key) != std::string::npos) return true;
  }
  return false;
}

bool EndsUnquotedValue(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == ',' ||
         c == ';' || c == '&' || c == '}' || c == ']' || c == ')';
}

void ReplaceLiterals(std::string& line, const std::vector<std::string>& literals) {
  for (const auto& secret : literals) {
    if (secret.size() < kMinLiteralSecret) continue;
    for (size_t at = line.find(secret); at != std::string::npos;
         at = line.find(secret, at + kMask.size())) {
      line.replace(at, secret.size(), kMask);
    }
  }
}

// `key=value`, `key: value`, `"key": "value"`, `Bearer value` where key names a secret.
std::string MaskKeyValues(const std::string& line) {
  std::string out;
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    if (!IsWordChar(line[i]) || (i > 0 && IsWordChar(line[i - 1]))) {
      out.push_back(line[i++]);
      continue;
    }
    size_t word_end = i;
    while (word_end < line.size() && IsWordChar(line[word_end])) ++word_end;
    std::string_view word(line.data() + i, word_end - i);
    out.append(word);
    i = word_end;
    bool bearer = Lower(word) == "bearer";
    if (!bearer && !NamesASecret(word)) continue;
    size_t j = i;
    if (!bearer) {
      if (j < line.size() && (line[j] == '"' || line[j] == '\'')) ++j;  // closes a quoted key
      while (j < line.size() && line[j] == ' ') ++j;
      if (j >= line.size() || (line[j] != '=' && line[j] != ':')) continue;
      ++j;
    } else if (j >= line.size() || line[j] != ' ') {
      continue;
    }
    while (j < line.size() && line[j] == ' ') ++j;
    if (j >= line.size()) continue;
    size_t value_start = j, value_end;
    if (line[j] == '"' || line[j] == '\'') {
      value_start = j + 1;
      value_end = line.find(line[j], value_start);
      if (value_end == std::string::npos) value_end = line.size();
    } else {
      value_end = j;
      while (value_end < line.size() && !EndsUnquotedValue(line[value_end])) ++value_end;
    }
    if (value_end == value_start) continue;
    out.append(line, i, value_start - i);
    out.append(kMask);
    i = value_end;
  }
  return out;
}

// scheme://user:password@host -> scheme://user:****@host
void MaskUriPasswords(std::string& line) {
  for (size_t scheme = line.find("://"); scheme != std::string::npos;
       scheme = line.find("://", scheme + 3)) {
    size_t start = scheme + 3;
    size_t end = start;
    while (end < line.size() && line[end] != '/' &&
           !std::isspace(static_cast<unsigned char>(line[end])) && line[end] != '"' &&
           line[end] != '\'') {
      ++end;
    }
    size_t at = line.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string::npos || at < start) continue;
    size_t colon = line.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    if (line.compare(colon + 1, at - colon - 1, kMask) == 0) continue;
    line.replace(colon + 1, at - colon - 1, kMask);
  }
}

bool ConstantTimeSame(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = difference | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  }
  return difference == 0;
}

}  // namespace

std::string RedactSecrets(std::string_view text, const std::vector<std::string>& literals) {
  std::string line(text);
  ReplaceLiterals(line, literals);
  line = MaskKeyValues(line);
  MaskUriPasswords(line);
  return line;
}

// ---- LogHub ------------------------------------------------------------------------------------

LogHub::Subscription::~Subscription() { hub_.Unsubscribe(this); }

std::vector<std::string> LogHub::Subscription::Take(bool* dropped) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> lines(std::make_move_iterator(lines_.begin()),
                                 std::make_move_iterator(lines_.end()));
  lines_.clear();
  wake_pending_ = false;
  *dropped = dropped_;
  return lines;
}

std::unique_ptr<LogHub::Subscription> LogHub::Subscribe(std::function<void(bool dropped)> wake,
                                                        std::vector<std::string>* backlog) {
  std::unique_ptr<Subscription> subscription(new Subscription(*this, std::move(wake)));
  std::lock_guard lock(state_mutex_);
  backlog->assign(backlog_.begin(), backlog_.end());
  subscribers_.push_back(subscription.get());
  return subscription;
}

void LogHub::Unsubscribe(Subscription* subscription) {
  std::lock_guard lock(state_mutex_);
  std::erase(subscribers_, subscription);
}

size_t LogHub::subscriber_count() {
  std::lock_guard lock(state_mutex_);
  return subscribers_.size();
}

void LogHub::AddSecret(std::string secret) {
  if (secret.size() < kMinLiteralSecret) return;
  std::lock_guard lock(state_mutex_);
  if (std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end()) {
    secrets_.push_back(std::move(secret));
  }
}

void LogHub::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t formatted;
  formatter_->format(message, formatted);
  Publish(std::string_view(formatted.data(), formatted.size()));
}

void LogHub::Publish(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() > options_.max_line_bytes) text = text.substr(0, options_.max_line_bytes);
  std::lock_guard lock(state_mutex_);
  std::string line = RedactSecrets(text, secrets_);
  for (Subscription* subscriber : subscribers_) {
    bool wake = false, dropped = false;
    {
      std::lock_guard subscriber_lock(subscriber->mutex_);
      if (subscriber->dropped_) continue;
      if (subscriber->lines_.size() >= options_.subscriber_queue_lines) {
        subscriber->dropped_ = true;
        subscriber->lines_.clear();
      } else {
        subscriber->lines_.push_back(line);
      }
      dropped = subscriber->dropped_;
      wake = !subscriber->wake_pending_ || dropped;
      subscriber->wake_pending_ = true;
    }
    if (wake && subscriber->wake_) subscriber->wake_(dropped);
  }
  backlog_.push_back(std::move(line));
  while (backlog_.size() > options_.backlog_lines) backlog_.pop_front();
}

// ---- LogStreamTokens ---------------------------------------------------------------------------

LogStreamTokens::LogStreamTokens(Options options, Clock clock, RandomSource& random)
    : options_(options), clock_(std::move(clock)), random_(random) {}

std::chrono::steady_clock::time_point LogStreamTokens::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::string LogStreamTokens::Issue() {
  unsigned char bytes[32];
  random_.Fill(std::span<unsigned char>(bytes, sizeof bytes));
  std::string token;
  token.reserve(2 * sizeof bytes);
  for (unsigned char byte : bytes) token += fmt::format("{:02x}", byte);
  auto now = Now();
  std::lock_guard lock(mutex_);
  while (!issued_.empty() && (issued_.front().expires <= now ||
                              issued_.size() >= std::max<size_t>(1, options_.max_outstanding))) {
    issued_.pop_front();
  }
  issued_.push_back(Issued{token, now + options_.lifetime});
  return token;
}

bool LogStreamTokens::Consume(std::string_view token) {
  auto now = Now();
  std::lock_guard lock(mutex_);
  auto found = issued_.end();
  for (auto it = issued_.begin(); it != issued_.end(); ++it) {
    // No early exit: the time taken does not depend on which token matched.
    if (ConstantTimeSame(it->token, token) && found == issued_.end()) found = it;
  }
  if (found == issued_.end()) return false;
  bool valid = found->expires > now;
  issued_.erase(found);
  return valid;
}

}  // namespace dblab
