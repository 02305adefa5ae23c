#include "postgres/pq.h"

namespace dblab {

std::string BuildConninfo(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += ' ';
    out += key + "='";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

Result<PgConnection> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Internal("out of memory connecting to postgres");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Unavailable(message);
  }
  return PgConnection(conn);
}

Result<PgRows> PgConnection::Query(const std::string& sql) {
  PGresult* result = PQexec(conn_.get(), sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> guard(result, &PQclear);
  ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = PQerrorMessage(conn_.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Internal(message);
  }
  PgRows rows;
  for (int row = 0; row < PQntuples(result); ++row) {
    std::vector<std::string> values;
    for (int col = 0; col < PQnfields(result); ++col) {
      values.emplace_back(PQgetisnull(result, row, col) ? "" : PQgetvalue(result, row, col));
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

std::string PgConnection::QuoteIdentifier(const std::string& name) {
  char* quoted = PQescapeIdentifier(conn_.get(), name.c_str(), name.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

std::string PgConnection::QuoteLiteral(const std::string& value) {
  char* quoted = PQescapeLiteral(conn_.get(), value.c_str(), value.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

Result<std::string> ScramVerifier(const std::string& username, const std::string& password) {
  // libpq needs a PGconn only for its error buffer: an unparsable conninfo gives one without
  // any network activity.
  PGconn* conn = PQconnectStart("sslmode=not-a-mode");
  if (conn == nullptr) return Internal("out of memory computing password verifier");
  char* verifier = PQencryptPasswordConn(conn, password.c_str(), username.c_str(), "scram-sha-256");
  std::string out = verifier ? verifier : "";
  std::string error = PQerrorMessage(conn);
  PQfreemem(verifier);
  PQfinish(conn);
  if (out.empty()) return Internal("cannot compute SCRAM verifier: " + error);
  return out;
}

}  // namespace dblab
