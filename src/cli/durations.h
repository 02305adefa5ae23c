// Parsers for the CLI's time-valued flags. Pure functions; errors are kBadRequest with a message
// that names the flag and shows accepted forms.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace dblab {

// What --protected asks for: `protected`, plus `protectionDurationMinutes` when a duration was
// given (0 = forever; absent = the server's default lease).
struct Protection {
  bool is_protected = false;
  std::optional<int64_t> duration_minutes;
};

// "true" | "false" | minutes ("60", "0" = forever) | "<n>m" | "<n>h" | "<n>d".
Result<Protection> ParseProtection(const std::string& value);

// --request-timeout: plain seconds ("60"), or Go-style units "500ms", "60s", "2m", "1h", and
// combinations such as "1m30s". Must be positive.
Result<std::chrono::milliseconds> ParseRequestTimeout(const std::string& value);

// Inverse of ParseRequestTimeout for storing in cli.yml: "60s", "1500ms".
std::string FormatRequestTimeout(std::chrono::milliseconds timeout);

}  // namespace dblab
