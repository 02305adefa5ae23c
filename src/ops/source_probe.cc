#include "ops/source_probe.h"

#include <libpq-fe.h>

#include <algorithm>

#include "postgres/pq.h"

namespace dblab {
namespace {

std::string ParamValue(const ConnParams& params, const std::string& key) {
  for (const auto& [name, value] : params) {
    if (name == key) return value;
  }
  return "";
}

}  // namespace

ConnParams SourceConnectionParams(const SourceConnection& source, const std::string& dbname) {
  ConnParams params;
  std::string database = dbname.empty() ? source.dbname : dbname;
  if (!source.connection_string.empty()) {
    PQconninfoOption* options = PQconninfoParse(source.connection_string.c_str(), nullptr);
    for (PQconninfoOption* option = options; option && option->keyword; ++option) {
      if (!option->val || !*option->val) continue;
      std::string keyword = option->keyword;
      if (keyword == "application_name" || keyword == "connect_timeout") continue;
      if (keyword == "dbname") {
        if (dbname.empty()) database = option->val;
        continue;
      }
      params.push_back({keyword, option->val});
    }
    PQconninfoFree(options);
  } else {
    params.push_back({"host", source.host});
    params.push_back({"port", std::to_string(source.port)});
    params.push_back({"user", source.username});
    if (!source.password.empty()) params.push_back({"password", source.password});
  }
  params.push_back({"dbname", database});
  params.push_back({"connect_timeout", "5"});
  params.push_back({"application_name", "dblab-engine"});
  return params;
}

Result<std::vector<PgActivityEvent>> QuerySessions(const ConnParams& params,
                                                   const std::string& application_name) {
  DBLAB_ASSIGN_OR_RETURN(PgConnection connection, PgConnection::Connect(BuildConninfo(params)));
  DBLAB_ASSIGN_OR_RETURN(
      PgRows rows,
      connection.Query("SELECT usename, left(query, 1000), "
                       "extract(epoch FROM clock_timestamp() - query_start)::float8, "
                       "coalesce(wait_event_type, ''), coalesce(wait_event, '') "
                       "FROM pg_catalog.pg_stat_activity WHERE state <> 'idle' AND "
                       "pid <> pg_catalog.pg_backend_pid() AND application_name = " +
                       connection.QuoteLiteral(application_name) + " ORDER BY query_start"));
  std::vector<PgActivityEvent> events;
  for (const auto& row : rows) {
    PgActivityEvent event{row[0], row[1], 0, row[3], row[4]};
    try {
      event.duration_seconds = std::stod(row[2]);
    } catch (const std::exception&) {
    }
    events.push_back(std::move(event));
  }
  return events;
}

Result<SourceProbe> ProbeSource(const ConnParams& params,
                                const std::vector<std::string>& wanted_databases) {
  auto connection = PgConnection::Connect(BuildConninfo(params));
  if (!connection.ok()) {
    return BadRequest("cannot connect to " + ParamValue(params, "host") + ":" +
                      ParamValue(params, "port") + " as " + ParamValue(params, "user") + ": " +
                      connection.error().message);
  }
  SourceProbe probe;
  DBLAB_ASSIGN_OR_RETURN(PgRows version, connection->Query("SHOW server_version"));
  if (!version.empty()) probe.version = version[0][0];
  DBLAB_ASSIGN_OR_RETURN(PgRows databases,
                         connection->Query("SELECT datname, pg_catalog.pg_database_size(oid) "
                                           "FROM pg_catalog.pg_database WHERE datallowconn AND "
                                           "NOT datistemplate ORDER BY datname"));
  for (const auto& row : databases) {
    probe.databases.push_back(row[0]);
    bool counted = wanted_databases.empty() ||
                   std::find(wanted_databases.begin(), wanted_databases.end(), row[0]) !=
                       wanted_databases.end();
    if (counted) probe.size_bytes += std::stoll(row[1]);
  }
  for (const auto& wanted : wanted_databases) {
    if (std::find(probe.databases.begin(), probe.databases.end(), wanted) ==
        probe.databases.end()) {
      probe.missing.push_back(wanted);
    }
  }
  return probe;
}

}  // namespace dblab
