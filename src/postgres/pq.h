// Thin RAII over libpq for the engine's own management connections (never a user's).
// Not thread-safe per connection; use one Connection per thread.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace dblab {

using PgRows = std::vector<std::vector<std::string>>;

// A management session on a server: the seam the clone logic uses for its SQL (role, password,
// checkpoint, activity), so it runs on a fake in unit tests (postgres/fake_sql.h).
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  // Runs one or more statements; rows of the last statement (NULL -> "").
  virtual Result<PgRows> Query(const std::string& sql) = 0;
  Status Exec(const std::string& sql) {
    auto result = Query(sql);
    if (!result.ok()) return result.error();
    return OkStatus();
  }
  // SQLSTATE of the last Query's error ("" after success), e.g. "42710" duplicate_object.
  virtual const std::string& last_sqlstate() const = 0;
  virtual std::string QuoteIdentifier(const std::string& name) = 0;
  virtual std::string QuoteLiteral(const std::string& value) = 0;
};

// Opens management sessions; PgConnector with libpq, FakeSqlConnector in tests.
class SqlConnector {
 public:
  virtual ~SqlConnector() = default;
  // conninfo in libpq keyword=value form (BuildConninfo / AdminConninfo).
  virtual Result<std::unique_ptr<SqlSession>> Connect(const std::string& conninfo) = 0;
};

class PgConnection : public SqlSession {
 public:
  // conninfo in libpq keyword=value form; values must come from BuildConninfo.
  static Result<PgConnection> Connect(const std::string& conninfo);

  Result<PgRows> Query(const std::string& sql) override;
  const std::string& last_sqlstate() const override { return last_sqlstate_; }
  std::string QuoteIdentifier(const std::string& name) override;
  std::string QuoteLiteral(const std::string& value) override;
  PGconn* raw() { return conn_.get(); }

 private:
  struct Closer {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  std::unique_ptr<PGconn, Closer> conn_;
  std::string last_sqlstate_;
};

class PgConnector : public SqlConnector {
 public:
  Result<std::unique_ptr<SqlSession>> Connect(const std::string& conninfo) override {
    auto connected = PgConnection::Connect(conninfo);
    if (!connected.ok()) return connected.error();
    return std::unique_ptr<SqlSession>(std::make_unique<PgConnection>(std::move(*connected)));
  }
};

// Builds a conninfo string with values quoted as libpq requires.
std::string BuildConninfo(const std::vector<std::pair<std::string, std::string>>& params);

// The startup options of every management session: they pin what a clone's users can set for
// a database or role (ALTER DATABASE/ROLE ... SET) and what would change the meaning of the
// engine's SQL: search_path (pg_catalog only, so a planted public.format() is never called),
// role, read-only transactions and timeouts. Startup options win over those settings.
inline constexpr const char* kAdminSessionOptions =
    "-c search_path=pg_catalog -c role=none -c default_transaction_read_only=off "
    "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0";

// conninfo of a management session over the unix socket in `socket_dir` (as root, peer-mapped
// to `user`), with kAdminSessionOptions; `extra` adds parameters (application_name, ...).
std::string AdminConninfo(const std::string& socket_dir, int port, const std::string& user,
                          const std::string& dbname,
                          const std::vector<std::pair<std::string, std::string>>& extra = {});

// SCRAM-SHA-256 verifier of a password, computed locally (no server), in PostgreSQL's format
// with its defaults (4096 iterations, 16-byte random salt). PostgreSQL accepts it in
// CREATE/ALTER ROLE ... PASSWORD, so the plain password never has to be stored.
inline constexpr int kScramIterations = 4096;
inline constexpr int kScramSaltBytes = 16;
Result<std::string> ScramVerifier(const std::string& username, const std::string& password);
// The same for a given salt (tests compare it with libpq's verifier for the same salt).
Result<std::string> ScramVerifierWithSalt(const std::string& password, std::string_view salt,
                                          int iterations);

}  // namespace dblab
