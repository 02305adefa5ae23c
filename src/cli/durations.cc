#include "cli/durations.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <limits>

namespace dblab {
namespace {

// Parses a run of decimal digits at `text[position...]`; nullopt on no digits or overflow.
std::optional<int64_t> ParseDigits(const std::string& text, size_t& position) {
  const size_t start = position;
  while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
    ++position;
  }
  if (position == start) return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data() + start, text.data() + position, value);
  if (error != std::errc() || end != text.data() + position) return std::nullopt;
  return value;
}

bool MultiplyFits(int64_t value, int64_t factor) {
  return value <= std::numeric_limits<int64_t>::max() / factor;
}

Error InvalidProtection(const std::string& value) {
  return BadRequest(fmt::format(
      "invalid --protected value \"{}\": use true, false, minutes (60; 0 = forever) or a "
      "duration (30m, 2h, 7d)",
      value));
}

}  // namespace

Result<Protection> ParseProtection(const std::string& value) {
  if (value == "true") return Protection{true, std::nullopt};
  if (value == "false") return Protection{false, std::nullopt};
  size_t position = 0;
  auto number = ParseDigits(value, position);
  if (!number) return InvalidProtection(value);
  int64_t factor = 1;
  const std::string unit = value.substr(position);
  if (unit.empty() || unit == "m") {
    factor = 1;
  } else if (unit == "h") {
    factor = 60;
  } else if (unit == "d") {
    factor = 24 * 60;
  } else {
    return InvalidProtection(value);
  }
  if (!MultiplyFits(*number, factor)) return InvalidProtection(value);
  return Protection{true, *number * factor};
}

Result<std::chrono::milliseconds> ParseRequestTimeout(const std::string& value) {
  auto invalid = [&value] {
    return BadRequest(fmt::format(
        "invalid --request-timeout \"{}\": use seconds (60) or a duration (500ms, 60s, 2m, 1h)",
        value));
  };
  size_t position = 0;
  int64_t total_ms = 0;
  bool plain_seconds = true;
  while (position < value.size()) {
    auto number = ParseDigits(value, position);
    if (!number) return invalid();
    size_t unit_start = position;
    while (position < value.size() && std::isalpha(static_cast<unsigned char>(value[position]))) {
      ++position;
    }
    const std::string unit = value.substr(unit_start, position - unit_start);
    int64_t factor = 0;
    if (unit.empty()) {
      if (!plain_seconds || position != value.size()) return invalid();
      factor = 1000;
    } else if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60 * 1000;
    } else if (unit == "h") {
      factor = 60 * 60 * 1000;
    } else {
      return invalid();
    }
    if (!unit.empty()) plain_seconds = false;
    if (!MultiplyFits(*number, factor)) return invalid();
    const int64_t part = *number * factor;
    if (total_ms > std::numeric_limits<int64_t>::max() - part) return invalid();
    total_ms += part;
  }
  if (total_ms <= 0) return invalid();
  return std::chrono::milliseconds(total_ms);
}

std::string FormatRequestTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return fmt::format("{}s", timeout.count() / 1000);
  return fmt::format("{}ms", timeout.count());
}

}  // namespace dblab
