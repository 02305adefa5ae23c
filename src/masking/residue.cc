#include "masking/residue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "common/numbers.h"
#include "masking/rules.h"
#include "postgres/wal_reset.h"

namespace dblab {

namespace fs = std::filesystem;

namespace {

std::string QualifiedTable(const SampledColumn& column) {
  return QuoteSqlIdentifier(column.schema) + "." + QuoteSqlIdentifier(column.table);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string BlockSample(int64_t reltuples, int64_t rows) {
  if (rows <= 0 || reltuples <= rows) return "";
  // Whole blocks, each with probability `percent`: about `rows` rows read, not every row.
  double percent = 100.0 * double(rows) / double(reltuples);
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", percent);
  return std::string(" TABLESAMPLE SYSTEM (") + text + ")";
}

std::optional<std::string> ResidueSkipReason(const DataChanges& changes) {
  if (changes.sql || changes.script || changes.masking_rules > 0 || changes.anonymizer_labels > 0) {
    return std::nullopt;
  }
  return std::string(
             "nothing configured can change the data (no query preprocessing, data patching, "
             "preprocessing script or masking.rules; ") +
         (changes.labels_checked ? "no PostgreSQL Anonymizer labels on the source)"
                                 : "masking.anonymizerLabels is off)");
}

SqlConnect ConnectToPreparationServer(const std::string& socket_dir, int port,
                                      const std::string& superuser) {
  return [=](const std::string& db) -> Result<std::unique_ptr<SqlSession>> {
    // Pinned settings (AdminConninfo): on a commit, the data is a clone user's, who may have
    // planted search_path or read-only defaults for this very session.
    auto connection = PgConnection::Connect(
        AdminConninfo(socket_dir, port, superuser, db, {{"application_name", "dblab-residue"}}));
    if (!connection.ok()) return connection.error().Wrap("connect to database " + db);
    return std::unique_ptr<SqlSession>(std::make_unique<PgConnection>(std::move(*connection)));
  };
}

std::vector<std::string> ReplacedNeedles(const std::vector<SampledColumn>& columns) {
  std::set<std::string> unique;
  for (const auto& column : columns) unique.insert(column.replaced.begin(), column.replaced.end());
  return {unique.begin(), unique.end()};
}

Status ResidueVerdict(const std::vector<SampledColumn>& columns, const NeedleScanner& scanner,
                      const TreeScan& scan, const std::string& what, size_t max_listed) {
  if (scan.hits.empty()) return OkStatus();
  std::map<std::string, std::vector<std::string>> owners;  // value -> columns it was replaced in
  for (const auto& column : columns) {
    for (const auto& value : column.replaced) {
      owners[value].push_back(column.database + ":" + column.Name());
    }
  }
  // One line per (column, file): how many of its originals were found there, how often.
  struct Tally {
    int64_t values = 0, count = 0;
  };
  std::map<std::pair<std::string, std::string>, Tally> tallies;
  std::set<std::string> files;
  for (const auto& hit : scan.hits) {
    files.insert(hit.file);
    for (const auto& owner : owners[scanner.needles()[hit.needle]]) {
      Tally& tally = tallies[{owner, hit.file}];
      tally.values += 1;
      tally.count += hit.count;
    }
  }
  std::string list;
  size_t listed = 0;
  for (const auto& [where, tally] : tallies) {
    if (listed++ == max_listed) {
      list += "; and " + std::to_string(tallies.size() - max_listed) + " more";
      break;
    }
    list += (list.empty() ? "" : "; ") + std::to_string(tally.values) + " original value(s) of " +
            where.first + " in " + where.second + " (" + std::to_string(tally.count) + " times)";
  }
  return Conflict("residue gate refused " + what + ": " + list + " [" +
                  std::to_string(files.size()) +
                  " file(s) hold originals]; the snapshot was not published and older snapshots "
                  "keep serving. Make the masking complete (docs/masking.md), or turn the gate "
                  "off with global.residueGate: false");
}

MaskingResidue::MaskingResidue(ResidueOptions options, SqlConnect connect,
                               std::vector<std::string> databases,
                               std::function<void(const std::string&)> progress)
    : options_(options),
      connect_(std::move(connect)),
      databases_(std::move(databases)),
      progress_(std::move(progress)) {
  if (!progress_) progress_ = [](const std::string&) {};
}

Status MaskingResidue::BeforeMasking() {
  auto start = std::chrono::steady_clock::now();
  columns_.clear();
  for (const auto& db : databases_) {
    DBLAB_ASSIGN_OR_RETURN(std::unique_ptr<SqlSession> session, connect_(db));
    DBLAB_TRY(Sample(db, *session));
  }
  size_t values = 0;
  for (const auto& column : columns_) values += column.values.size();
  progress_("residue: sampled " + std::to_string(values) + " values of " +
            std::to_string(columns_.size()) + " text columns in " +
            std::to_string(SecondsSince(start)) + " s");
  return OkStatus();
}

Status MaskingResidue::Sample(const std::string& database, SqlSession& session) {
  // Text-like columns of ordinary tables (partitions are tables; their parent has no rows).
  DBLAB_ASSIGN_OR_RETURN(
      PgRows columns,
      session.Query("SELECT n.nspname, c.relname, a.attname, c.reltuples::bigint "
                    "FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
                    "AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' "
                    "AND (t.typcategory = 'S' OR t.typname = 'json') ORDER BY 1, 2, 3"));
  std::string prefix = std::to_string(options_.prefix_chars);
  for (const auto& row : columns) {
    SampledColumn column{database, row[0], row[1], row[2], {}, {}};
    std::string value = "left(" + QuoteSqlIdentifier(column.column) + "::text, " + prefix + ")";
    auto sampled = session.Query(
        "SELECT DISTINCT v FROM (SELECT " + value + " AS v FROM ONLY " + QualifiedTable(column) +
        BlockSample(ParseInt64(row[3]).value_or(-1), options_.block_sample_rows) +
        " WHERE octet_length(" + value + ") >= " + std::to_string(options_.min_value_bytes) +
        " ORDER BY random() LIMIT " + std::to_string(4 * options_.values_per_column) +
        ") AS s LIMIT " + std::to_string(options_.values_per_column));
    if (!sampled.ok()) return sampled.error().Wrap("residue: sample " + column.Name());
    for (const auto& value_row : *sampled) column.values.push_back(value_row[0]);
    if (!column.values.empty()) columns_.push_back(std::move(column));
  }
  return OkStatus();
}

Status MaskingResidue::FindReplaced(SampledColumn& column, SqlSession& session) {
  column.replaced.clear();
  DBLAB_ASSIGN_OR_RETURN(
      PgRows exists,
      session.Query("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(" +
                    QuoteSqlLiteral(QualifiedTable(column)) + ") AND attname = " +
                    QuoteSqlLiteral(column.column) + " AND NOT attisdropped)"));
  if (exists.empty() || exists[0][0] != "t") {
    column.replaced = column.values;  // dropped or renamed: nothing of it is live any more
    return OkStatus();
  }
  std::string value = "left(" + QuoteSqlIdentifier(column.column) + "::text, " +
                      std::to_string(options_.prefix_chars) + ")";
  std::string list;
  for (const auto& sampled : column.values)
    list += (list.empty() ? "" : ",") + QuoteSqlLiteral(sampled);
  auto live = session.Query("SELECT DISTINCT " + value + " FROM ONLY " + QualifiedTable(column) +
                            " WHERE " + value + " = ANY (ARRAY[" + list + "]::text[])");
  if (!live.ok()) return live.error().Wrap("residue: look up " + column.Name());
  std::set<std::string> present;
  for (const auto& row : *live) present.insert(row[0]);
  for (const auto& sampled : column.values) {
    if (!present.count(sampled)) column.replaced.push_back(sampled);
  }
  return OkStatus();
}

Status MaskingResidue::AfterMasking() {
  auto start = std::chrono::steady_clock::now();
  rewritten_.clear();
  for (const auto& db : databases_) {
    DBLAB_ASSIGN_OR_RETURN(std::unique_ptr<SqlSession> session, connect_(db));
    for (auto& column : columns_) {
      if (column.database == db) DBLAB_TRY(FindReplaced(column, *session));
    }
    DBLAB_TRY(Scrub(db, *session));
  }
  size_t replaced = 0, columns = 0;
  for (const auto& column : columns_) {
    replaced += column.replaced.size();
    columns += column.replaced.empty() ? 0 : 1;
  }
  progress_("residue: masking replaced " + std::to_string(replaced) + " sampled values in " +
            std::to_string(columns) + " columns; rewrote " + std::to_string(rewritten_.size()) +
            " tables in " + std::to_string(SecondsSince(start)) + " s");
  return OkStatus();
}

Status MaskingResidue::Scrub(const std::string& database, SqlSession& session) {
  // The tables masking changed: those where sampled values disappeared, and (for values the
  // sample missed, and non-text columns) every table that saw an UPDATE or DELETE since the
  // server started. Counters of ended sessions are flushed at their exit.
  std::set<std::string> tables;
  for (const auto& column : columns_) {
    if (column.database == database && !column.replaced.empty()) {
      DBLAB_ASSIGN_OR_RETURN(
          PgRows found, session.Query("SELECT to_regclass(" +
                                      QuoteSqlLiteral(QualifiedTable(column)) + ") IS NOT NULL"));
      if (!found.empty() && found[0][0] == "t") tables.insert(QualifiedTable(column));
    }
  }
  DBLAB_ASSIGN_OR_RETURN(PgRows updated,
                         session.Query("SELECT schemaname, relname FROM pg_stat_user_tables "
                                       "WHERE n_tup_upd + n_tup_del > 0 OR n_dead_tup > 0"));
  for (const auto& row : updated)
    tables.insert(QuoteSqlIdentifier(row[0]) + "." + QuoteSqlIdentifier(row[1]));
  for (const auto& table : tables) {
    progress_("residue: rewriting " + table + " in " + database);
    std::string oid = QuoteSqlLiteral(table) + "::regclass";
    // Statistics gathered before masking hold originals (MCV lists, histograms): drop them
    // first, so a table ANALYZE finds empty keeps none.
    auto dropped = session.Query(
        "DELETE FROM pg_catalog.pg_statistic WHERE starelid = " + oid +
        " OR starelid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = " + oid +
        "); DELETE FROM pg_catalog.pg_statistic_ext_data WHERE stxoid IN (SELECT oid FROM "
        "pg_catalog.pg_statistic_ext WHERE stxrelid = " +
        oid + ")");
    if (!dropped.ok()) return dropped.error().Wrap("residue: drop old statistics of " + table);
    auto rewritten = session.Query("VACUUM (FULL, ANALYZE) " + table);
    if (!rewritten.ok()) return rewritten.error().Wrap("residue: VACUUM FULL " + table);
    rewritten_.push_back(database + ":" + table);
  }
  if (!tables.empty()) {
    // ANALYZE and the DELETEs above left the old statistics rows dead in these catalogs.
    for (const char* catalog : {"pg_catalog.pg_statistic", "pg_catalog.pg_statistic_ext_data"}) {
      auto rewritten = session.Query(std::string("VACUUM FULL ") + catalog);
      if (!rewritten.ok())
        return rewritten.error().Wrap(std::string("residue: VACUUM FULL ") + catalog);
    }
  }
  auto checkpoint = session.Query("CHECKPOINT");
  if (!checkpoint.ok()) return checkpoint.error().Wrap("residue: CHECKPOINT");
  return OkStatus();
}

Status MaskingResidue::AfterCleanStop(const std::string& data_dir) {
  progress_("residue: a fresh WAL (only the shutdown checkpoint) and no temporary files or logs");
  // After a clean shutdown every change is in the data files, so the old WAL (records and
  // full-page images of the originals, recycled segments included) can go.
  if (Status reset = KeepOnlyShutdownCheckpoint(data_dir); !reset.ok()) {
    return reset.error().Wrap("residue: a fresh WAL for " + data_dir);
  }
  RemoveTemporaryFilesAndLogs(data_dir);
  return OkStatus();
}

Status MaskingResidue::Gate(const std::string& dir, const std::string& what) {
  if (!options_.gate) return OkStatus();
  auto start = std::chrono::steady_clock::now();
  NeedleScanner scanner(ReplacedNeedles(columns_));
  if (scanner.needles().empty()) {
    progress_("residue gate: masking replaced no sampled value; nothing to look for");
    return OkStatus();
  }
  DBLAB_ASSIGN_OR_RETURN(TreeScan scan, ScanTree(scanner, dir));
  double seconds = SecondsSince(start);
  progress_("residue gate: looked for " + std::to_string(scanner.needles().size()) +
            " originals in " + std::to_string(scan.files) + " files (" +
            std::to_string(scan.bytes >> 20) + " MiB) in " + std::to_string(seconds) +
            " s: " + std::to_string(scan.hits.size()) + " hits");
  Status verdict = ResidueVerdict(columns_, scanner, scan, what);
  if (!verdict.ok()) spdlog::error("{}", verdict.error().message);
  return verdict;
}

std::map<std::string, std::string> ResidueServerSettings() {
  return {{"autovacuum", "off"},
          {"log_min_error_statement", "panic"},
          {"log_error_verbosity", "terse"}};
}

void RemoveTemporaryFilesAndLogs(const std::string& data_dir) {
  std::error_code ignored;
  for (const char* dir : {"log", "pg_log", "pg_stat_tmp"}) {
    for (const auto& entry : fs::directory_iterator(data_dir + "/" + dir, ignored)) {
      fs::remove_all(entry.path(), ignored);
    }
  }
  // base/pgsql_tmp and each tablespace's pgsql_tmp (pg_tblspc/<oid>/<version>/pgsql_tmp).
  for (const auto& entry :
       fs::recursive_directory_iterator(data_dir, fs::directory_options::none, ignored)) {
    if (entry.is_directory(ignored) &&
        entry.path().filename().string().rfind("pgsql_tmp", 0) == 0) {
      for (const auto& file : fs::directory_iterator(entry.path(), ignored)) {
        fs::remove_all(file.path(), ignored);
      }
    }
  }
}

}  // namespace dblab
