// DLE's /admin/config documents: the projected config its UI edits (JSON), the running config
// file with every secret masked (YAML), the keys POST /admin/config may change while the engine
// runs, and the candidate source of POST /admin/test-db-source. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "domain/ops_types.h"

namespace dblab {

inline constexpr const char* kMaskedValue = "****";

// {databaseConfigs, global, retrieval{refresh, spec{logicalDump, logicalRestore}}} as DLE's
// UI reads it. Never a password: the source's password and connection string are left out.
std::string ProjectedConfigJson(const EngineConfig& config,
                                const std::optional<std::string>& refresh_timetable_override = {},
                                const std::optional<bool>& debug_override = {});

// The YAML config with the value of every key that names a secret (password, secret, token,
// verificationToken, connectionString, key, ...) replaced by "****", and any password inside
// a conninfo or URI value too. kBadRequest when the text is no YAML.
Result<std::string> MaskedConfigYaml(const std::string& yaml_text);

// What POST /admin/config may change live: retrieval.refresh.timetable and global.debug. Any
// other key with a value different from nothing is refused with kBadRequest naming it.
struct LiveConfigChange {
  std::optional<std::string> refresh_timetable;
  std::optional<bool> debug;
};
Result<LiveConfigChange> ParseLiveConfigChange(const std::string& json);

// DLE's Connection body {host, port, dbname, username, password, db_list}; port as a string
// or a number.
Result<DbSourceCandidate> ParseDbSourceCandidate(const std::string& json);
Status ValidateDbSourceCandidate(const DbSourceCandidate& candidate);

}  // namespace dblab
