#include "masking/residue.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "masking/rules.h"

namespace dblab {
namespace {

// Answers queries by the first rule whose key the SQL contains; records every statement.
class ScriptedSession : public SqlSession {
 public:
  ScriptedSession(std::vector<std::pair<std::string, PgRows>> rules, std::vector<std::string>* log)
      : rules_(std::move(rules)), log_(log) {}
  Result<PgRows> Query(const std::string& sql) override {
    log_->push_back(sql);
    for (const auto& [key, rows] : rules_) {
      if (sql.find(key) != std::string::npos) return rows;
    }
    return PgRows{};
  }
  const std::string& last_sqlstate() const override { return sqlstate_; }
  std::string QuoteIdentifier(const std::string& name) override { return '"' + name + '"'; }
  std::string QuoteLiteral(const std::string& value) override { return "'" + value + "'"; }

 private:
  std::string sqlstate_;
  std::vector<std::pair<std::string, PgRows>> rules_;
  std::vector<std::string>* log_;
};

struct FakeServer {
  std::vector<std::pair<std::string, PgRows>> rules;
  std::vector<std::string> log;
  SqlConnect Connect() {
    return [this](const std::string&) -> Result<std::unique_ptr<SqlSession>> {
      return std::unique_ptr<SqlSession>(new ScriptedSession(rules, &log));
    };
  }
  bool Ran(const std::string& part) const {
    for (const auto& sql : log) {
      if (sql.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

TEST(ResidueQuotingTest, QuotesIdentifiersAndLiteralsAgainstInjection) {
  EXPECT_EQ(QuoteSqlIdentifier("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteSqlLiteral("o'neil"), "'o''neil'");
}

TEST(MaskingResidueTest, ValuesMaskingReplacedAreOriginalsAndTheirTablesAreRewritten) {
  FakeServer server;
  // Before masking: one text column with three sampled values.
  server.rules = {
      {"FROM pg_attribute a", {{"public", "users", "email", "3"}}},
      {"ORDER BY random()", {{"ann@example.com"}, {"bob@example.com"}, {"cid@example.com"}}}};
  MaskingResidue residue({}, server.Connect(), {"app"}, nullptr);
  ASSERT_TRUE(residue.BeforeMasking().ok());
  ASSERT_EQ(residue.columns().size(), 1u);
  EXPECT_EQ(residue.columns()[0].values.size(), 3u);

  // After masking: only bob's value is still live; another table saw a DELETE.
  server.rules = {{"SELECT EXISTS", {{"t"}}},
                  {"= ANY (ARRAY[", {{"bob@example.com"}}},
                  {"IS NOT NULL", {{"t"}}},
                  {"FROM pg_stat_user_tables", {{"public", "audit"}}}};
  server.log.clear();
  ASSERT_TRUE(residue.AfterMasking().ok());
  EXPECT_EQ(residue.columns()[0].replaced,
            (std::vector<std::string>{"ann@example.com", "cid@example.com"}));
  EXPECT_EQ(residue.rewritten(),
            (std::vector<std::string>{"app:\"public\".\"audit\"", "app:\"public\".\"users\""}));
  EXPECT_TRUE(
      server.Ran("DELETE FROM pg_catalog.pg_statistic WHERE starelid = "
                 "'\"public\".\"users\"'::regclass"));
  EXPECT_TRUE(server.Ran("VACUUM (FULL, ANALYZE) \"public\".\"users\""));
  EXPECT_TRUE(server.Ran("VACUUM FULL pg_catalog.pg_statistic"));
  EXPECT_TRUE(server.Ran("VACUUM FULL pg_catalog.pg_statistic_ext_data"));
  EXPECT_EQ(server.log.back(), "CHECKPOINT");
}

TEST(MaskingResidueTest, NothingMaskedMeansNoRewriteAndNothingForTheGateToFind) {
  FakeServer server;
  server.rules = {{"FROM pg_attribute a", {{"public", "users", "email", "3"}}},
                  {"ORDER BY random()", {{"ann@example.com"}}}};
  MaskingResidue residue({}, server.Connect(), {"app"}, nullptr);
  ASSERT_TRUE(residue.BeforeMasking().ok());
  server.rules = {{"SELECT EXISTS", {{"t"}}}, {"= ANY (ARRAY[", {{"ann@example.com"}}}};
  server.log.clear();
  ASSERT_TRUE(residue.AfterMasking().ok());
  EXPECT_TRUE(residue.columns()[0].replaced.empty());
  EXPECT_TRUE(residue.rewritten().empty());
  EXPECT_FALSE(server.Ran("VACUUM"));
  EXPECT_TRUE(residue.Gate("/nonexistent", "snapshot x").ok());  // no needles, no scan
}

TEST(MaskingResidueTest, ADroppedColumnCountsAsFullyReplaced) {
  FakeServer server;
  server.rules = {{"FROM pg_attribute a", {{"public", "users", "phone", "3"}}},
                  {"ORDER BY random()", {{"+1-555-0100"}}}};
  MaskingResidue residue({}, server.Connect(), {"app"}, nullptr);
  ASSERT_TRUE(residue.BeforeMasking().ok());
  server.rules = {{"SELECT EXISTS", {{"f"}}}, {"IS NOT NULL", {{"t"}}}};
  ASSERT_TRUE(residue.AfterMasking().ok());
  EXPECT_EQ(residue.columns()[0].replaced, (std::vector<std::string>{"+1-555-0100"}));
}

TEST(MaskingResidueTest, TheGateSearchesTheFilesAndCanBeTurnedOff) {
  char pattern[] = "/tmp/dblab-residue-gate-XXXXXX";
  std::string data = mkdtemp(pattern);
  std::filesystem::create_directories(data + "/base/5");
  std::ofstream(data + "/base/5/16390") << "....ann@example.com....";
  for (bool gate : {true, false}) {
    FakeServer server;
    server.rules = {{"FROM pg_attribute a", {{"public", "users", "email", "3"}}},
                    {"ORDER BY random()", {{"ann@example.com"}}}};
    MaskingResidue residue({.gate = gate}, server.Connect(), {"app"}, nullptr);
    ASSERT_TRUE(residue.BeforeMasking().ok());
    server.rules = {{"SELECT EXISTS", {{"t"}}}, {"IS NOT NULL", {{"t"}}}};
    ASSERT_TRUE(residue.AfterMasking().ok());
    Status verdict = residue.Gate(data, "snapshot s2");
    EXPECT_EQ(verdict.ok(), !gate);
    if (!verdict.ok()) {
      EXPECT_NE(verdict.error().message.find("app:public.users.email in base/5/16390 (1 times)"),
                std::string::npos)
          << verdict.error().message;
    }
  }
  std::filesystem::remove_all(data);
}

TEST(BlockSampleTest, OnlyTablesLargerThanTheRowsAreSampledByBlock) {
  EXPECT_EQ(BlockSample(-1, 1000000), "");  // never analyzed: read whole
  EXPECT_EQ(BlockSample(1000000, 1000000), "");
  EXPECT_EQ(BlockSample(10000000, 0), "");
  EXPECT_EQ(BlockSample(10000000, 1000000), " TABLESAMPLE SYSTEM (10.000000)");
  EXPECT_EQ(BlockSample(400000000, 1000000), " TABLESAMPLE SYSTEM (0.250000)");
}

TEST(MaskingResidueTest, ALargeTableIsSampledByBlockASmallOneWhole) {
  FakeServer server;
  server.rules = {
      {"FROM pg_attribute a",
       {{"public", "accounts", "filler", "10000000"}, {"public", "users", "email", "3"}}},
      {"ORDER BY random()", {{"ann@example.com"}}}};
  MaskingResidue residue({}, server.Connect(), {"app"}, nullptr);
  ASSERT_TRUE(residue.BeforeMasking().ok());
  int by_block = 0, whole = 0;
  for (const auto& sql : server.log) {
    if (sql.find("ORDER BY random()") == std::string::npos) continue;
    if (sql.find("\"accounts\" TABLESAMPLE SYSTEM (10.000000) WHERE") != std::string::npos) {
      ++by_block;
    } else if (sql.find("\"users\" WHERE") != std::string::npos) {
      ++whole;
    }
  }
  EXPECT_EQ(by_block, 1);
  EXPECT_EQ(whole, 1);
}

TEST(ResidueSkipReasonTest, NothingThatCanChangeDataSkipsTheScanAndSaysWhy) {
  auto checked = ResidueSkipReason({.labels_checked = true});
  ASSERT_TRUE(checked.has_value());
  EXPECT_NE(checked->find("no PostgreSQL Anonymizer labels"), std::string::npos) << *checked;
  auto off = ResidueSkipReason({});
  ASSERT_TRUE(off.has_value());
  EXPECT_NE(off->find("masking.anonymizerLabels is off"), std::string::npos) << *off;
}

TEST(ResidueSkipReasonTest, AnythingThatCanChangeDataKeepsTheScan) {
  EXPECT_FALSE(ResidueSkipReason({.sql = true, .labels_checked = true}));
  EXPECT_FALSE(ResidueSkipReason({.script = true, .labels_checked = true}));
  EXPECT_FALSE(ResidueSkipReason({.masking_rules = 1}));
  EXPECT_FALSE(ResidueSkipReason({.labels_checked = true, .anonymizer_labels = 2}));
}

TEST(ResidueVerdictTest, ARefusalNamesColumnFileAndCount) {
  std::vector<SampledColumn> columns = {
      {"app",
       "public",
       "users",
       "email",
       {"ann@example.com", "bob@example.com"},
       {"ann@example.com", "bob@example.com"}},
      {"app", "public", "users", "name", {"Annabelle"}, {"Annabelle"}}};
  NeedleScanner scanner(ReplacedNeedles(columns));
  TreeScan scan;
  EXPECT_TRUE(ResidueVerdict(columns, scanner, scan, "snapshot s1").ok());
  // Needles are sorted: 0 Annabelle, 1 ann@, 2 bob@.
  scan.hits = {{"base/16384/16390", 1, 3},
               {"base/16384/16390", 2, 1},
               {"pg_wal/000000010000000000000002", 0, 1}};
  auto verdict = ResidueVerdict(columns, scanner, scan, "snapshot s1");
  ASSERT_FALSE(verdict.ok());
  EXPECT_EQ(verdict.error().code, ErrorCode::kConflict);
  const std::string& message = verdict.error().message;
  EXPECT_NE(message.find("residue gate refused snapshot s1"), std::string::npos) << message;
  EXPECT_NE(message.find("2 original value(s) of app:public.users.email in base/16384/16390 "
                         "(4 times)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("1 original value(s) of app:public.users.name in "
                         "pg_wal/000000010000000000000002 (1 times)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("global.residueGate"), std::string::npos) << message;
  EXPECT_EQ(message.find("ann@example.com"), std::string::npos) << "an original in the message";
}

TEST(RemoveTemporaryFilesAndLogsTest, RemovesSpillsAndLogsButNotData) {
  char pattern[] = "/tmp/dblab-residue-test-XXXXXX";
  std::string data = mkdtemp(pattern);
  auto write = [&](const std::string& name) {
    std::filesystem::create_directories(std::filesystem::path(data + "/" + name).parent_path());
    std::ofstream(data + "/" + name) << "alice@example.com";
  };
  for (const char* name :
       {"base/pgsql_tmp/pgsql_tmp123.0", "pg_tblspc/1/PG_15/pgsql_tmp/x", "log/postgresql.log",
        "pg_stat_tmp/db_1.stat", "base/1/16384", "global/pg_control"}) {
    write(name);
  }
  RemoveTemporaryFilesAndLogs(data);
  for (const char* gone : {"base/pgsql_tmp/pgsql_tmp123.0", "pg_tblspc/1/PG_15/pgsql_tmp/x",
                           "log/postgresql.log", "pg_stat_tmp/db_1.stat"}) {
    EXPECT_FALSE(std::filesystem::exists(data + "/" + gone)) << gone;
  }
  EXPECT_TRUE(std::filesystem::exists(data + "/base/1/16384"));
  EXPECT_TRUE(std::filesystem::exists(data + "/global/pg_control"));
  EXPECT_TRUE(std::filesystem::is_directory(data + "/base/pgsql_tmp"));
  std::filesystem::remove_all(data);
}

}  // namespace
}  // namespace dblab
