// Test double of SqlConnector: sessions that record every statement with the conninfo it was
// sent on, answer queries from a table of canned rows, and fail where a test says so.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pq.h"

namespace dblab {

class FakeSqlConnector : public SqlConnector {
 public:
  struct Statement {
    std::string conninfo;
    std::string sql;
  };
  // A non-ok status refuses the connection (e.g. a server that is down).
  std::function<Status(const std::string& conninfo)> connect_fault;
  // Rows for a query (the first prefix of `sql` that matches), or an error with a SQLSTATE.
  struct Answer {
    PgRows rows;
    std::string error;     // non-empty: the statement fails with it
    std::string sqlstate;  // e.g. "42710" duplicate_object
  };
  std::vector<std::pair<std::string, Answer>> answers;
  // A non-ok status fails the statement (after it is recorded), e.g. a fault injected by count.
  std::function<Status(const std::string& sql)> query_fault;

  Result<std::unique_ptr<SqlSession>> Connect(const std::string& conninfo) override {
    if (connect_fault) DBLAB_TRY(connect_fault(conninfo));
    return std::unique_ptr<SqlSession>(new Session(*this, conninfo));
  }
  std::vector<Statement> Statements() {
    std::lock_guard lock(mutex_);
    return statements_;
  }
  // The statements that contain `part`.
  std::vector<Statement> StatementsWith(const std::string& part) {
    std::vector<Statement> found;
    for (auto& statement : Statements()) {
      if (statement.sql.find(part) != std::string::npos) found.push_back(statement);
    }
    return found;
  }

 private:
  class Session : public SqlSession {
   public:
    Session(FakeSqlConnector& owner, std::string conninfo)
        : owner_(owner), conninfo_(std::move(conninfo)) {}
    Result<PgRows> Query(const std::string& sql) override {
      std::lock_guard lock(owner_.mutex_);
      owner_.statements_.push_back({conninfo_, sql});
      sqlstate_.clear();
      if (owner_.query_fault) DBLAB_TRY(owner_.query_fault(sql));
      for (const auto& [prefix, answer] : owner_.answers) {
        if (sql.rfind(prefix, 0) != 0) continue;
        if (!answer.error.empty()) {
          sqlstate_ = answer.sqlstate;
          return Internal(answer.error);
        }
        return answer.rows;
      }
      return PgRows{};
    }
    const std::string& last_sqlstate() const override { return sqlstate_; }
    std::string QuoteIdentifier(const std::string& name) override { return '"' + name + '"'; }
    std::string QuoteLiteral(const std::string& value) override { return "'" + value + "'"; }

   private:
    FakeSqlConnector& owner_;
    std::string conninfo_;
    std::string sqlstate_;
  };

  std::mutex mutex_;
  std::vector<Statement> statements_;
};

}  // namespace dblab
