// Short libpq sessions against the source for operators: what a running dump does there
// (GET /instance/retrieval's activity) and whether a candidate source is usable
// (POST /admin/test-db-source). Connections time out after a few seconds; passwords are passed
// to libpq only, never logged or returned.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "domain/ops_types.h"

namespace dblab {

using ConnParams = std::vector<std::pair<std::string, std::string>>;

// libpq parameters of `source` (its connectionString, or host/port/username/password) for
// database `dbname` ("" = the source's own), with a short connect_timeout.
ConnParams SourceConnectionParams(const SourceConnection& source, const std::string& dbname);

// Non-idle client sessions named `application_name` (the retrieval's tools use
// "dblab-retrieval"), longest running first; queries cut to 1000 characters.
Result<std::vector<PgActivityEvent>> QuerySessions(const ConnParams& params,
                                                   const std::string& application_name);

// Connects and reads version, databases and sizes; kBadRequest naming host:port and libpq's
// message when the connection fails.
Result<SourceProbe> ProbeSource(const ConnParams& params,
                                const std::vector<std::string>& wanted_databases);

}  // namespace dblab
