// Helpers of the operations routes (router_ops.cc) that router.cc needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dblab {

// Paths outside /api that are API routes although their first segment belongs to the web UI:
// /instance/retrieval and /instance/logs (DLE serves them at the root too).
bool IsOpsApiPath(std::string_view path);

// Value of `name` in the query string of `target` (percent-decoded, '+' as a space); nullopt
// when absent or malformed.
std::optional<std::string> QueryParam(std::string_view target, std::string_view name);

}  // namespace dblab
