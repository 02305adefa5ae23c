// RFC 3339 timestamps as DLE's API and config use them ("2026-11-27T12:00:00Z"). Pure functions:
// no clock access, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/model.h"

namespace dblab {

// Formats in UTC with second precision: "2026-11-27T12:00:00Z" (sub-second parts are dropped).
std::string FormatRfc3339(TimePoint time);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" ('t', 'z' and a space instead of 'T'
// are accepted too). Returns nullopt for anything else, including out-of-range fields.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace dblab
