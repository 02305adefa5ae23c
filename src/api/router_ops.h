// Helpers of the operations routes (router_ops.cc) that router.cc needs.
#pragma once

#include <string_view>

namespace dblab {

// Paths outside /api that are API routes although their first segment belongs to the web UI:
// /instance/retrieval and /instance/logs (DLE serves them at the root too).
bool IsOpsApiPath(std::string_view path);

}  // namespace dblab
