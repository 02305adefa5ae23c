// DLE's GET /instance/retrieval body: mode, status, lastRefresh, nextRefresh, alerts keyed by
// type ({"refresh_failed": {level, message, lastSeen, count}}), activity (sessions on the source
// and the restore target while a refresh runs) and currentJob. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

#include "api/json_mapping.h"
#include "domain/model.h"
#include "ops/types.h"

namespace dblab {

// Alert type of one alert message: "replica_down" for the physical replica's alert, else
// "refresh_failed" (DLE's types are refresh_failed and refresh_skipped).
std::string RetrievalAlertType(const std::string& message);

// `activity` is null in the JSON when absent (no refresh runs).
Json RetrievalToJson(const RetrievalState& state, const std::optional<RetrievalActivity>& activity);

}  // namespace dblab
