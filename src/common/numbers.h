// Parsing numbers from text we did not write (SQL results, files, config, requests) without
// exceptions: std::stoi/stoll throw on bad input, and a throw on a worker thread ends the engine.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dblab {

// The whole of `text` as a decimal integer (an optional leading '-'); nullopt for empty text,
// other characters, or a value outside int64_t.
inline std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace dblab
