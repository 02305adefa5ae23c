// DLE's GET /instance/retrieval body: mode, status, lastRefresh, nextRefresh, alerts keyed by
// type ({"refresh_failed": {level, message, lastSeen, count}}), activity (sessions on the source
// and the restore target while a refresh runs) and currentJob. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

#include "api/json_mapping.h"
#include "domain/model.h"
#include "domain/ops_types.h"

namespace dblab {

// `activity` is null in the JSON when absent (no refresh runs).
Json RetrievalToJson(const RetrievalState& state, const std::optional<RetrievalActivity>& activity);

}  // namespace dblab
