// Masking without residue. An UPDATE leaves the replaced values behind: dead row versions in
// the heap and TOAST, entries in indexes, full-page images and records in the WAL, old MCV lists
// and histograms in pg_statistic. MaskingResidue runs around the masking steps of a preparation
// server and makes sure none of that reaches a snapshot:
//
//   BeforeMasking()   samples values of every text-like column (the originals to look for;
//                     a table of more than ResidueOptions::block_sample_rows rows by block);
//   AfterMasking()    finds which sampled values masking replaced, rewrites the tables that
//                     changed (VACUUM FULL: heap, TOAST and indexes anew), drops their old
//                     statistics and gathers new ones, rewrites pg_statistic and
//                     pg_statistic_ext_data, CHECKPOINT;
//   (the caller stops the server cleanly)
//   AfterCleanStop()  a fresh WAL on the cleanly stopped data (postgres/wal_reset.h: no old WAL
//                     segment, record or full-page image survives; every major 13-18, no
//                     pg_resetwal needed), removes temporary files and server logs inside PGDATA;
//   Gate()            searches every file of the data directory for the replaced values and
//                     refuses (kConflict, naming table, column, file and count) on any hit.
//
// The retrievals skip BeforeMasking, AfterMasking and Gate when nothing configured can change
// the data (ResidueSkipReason); AfterCleanStop runs either way.
//
// The sample is a subset: the gate proves that none of the sampled originals is stored as plain
// bytes, not that no original is (see docs/masking.md). Not thread-safe; one per preparation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "masking/scan.h"
#include "platform/process.h"
#include "postgres/pq.h"

namespace dblab {

// What a preparation has configured that can change data (and so leave originals behind).
struct DataChanges {
  bool sql = false;              // SQL files or inline SQL (queryPreprocessing, dataPatching)
  bool script = false;           // a preprocessing script
  size_t masking_rules = 0;      // masking.rules
  bool labels_checked = false;   // masking.anonymizerLabels on: the labels were read
  size_t anonymizer_labels = 0;  // PostgreSQL Anonymizer labels found (NOT MASKED ones left out)
};

// Why the residue scan (BeforeMasking, AfterMasking, Gate) can be skipped: nothing configured
// can change the data, so no original can be replaced. nullopt: something can; the scan runs.
// A fresh WAL (AfterCleanStop) is wanted either way.
std::optional<std::string> ResidueSkipReason(const DataChanges& changes);

// SQL on one database of the preparation server (SqlSession, postgres/pq.h: unit tests use a
// scripted fake).
using SqlConnect = std::function<Result<std::unique_ptr<SqlSession>>(const std::string& db)>;

// A SqlConnect to a server's unix socket as `superuser`.
SqlConnect ConnectToPreparationServer(const std::string& socket_dir, int port,
                                      const std::string& superuser);

struct ResidueOptions {
  bool gate = true;             // global.residueGate
  int values_per_column = 100;  // distinct values sampled per column
  int min_value_bytes = 6;      // shorter values would match anywhere by chance
  int prefix_chars = 64;        // a longer value is looked for by its first characters
  // A table with more rows than this (pg_class.reltuples) is sampled by block (BlockSample);
  // 0: every table is read whole.
  int64_t block_sample_rows = 1000000;
};

// The TABLESAMPLE clause that reads about `rows` of a table of `reltuples` rows by whole blocks
// (" TABLESAMPLE SYSTEM (p)"), or "" when the table is not larger than that, its size unknown
// (reltuples -1: never analyzed) or `rows` is 0.
std::string BlockSample(int64_t reltuples, int64_t rows);

// A text-like column and what was sampled from it before masking.
struct SampledColumn {
  std::string database, schema, table, column;
  std::vector<std::string> values;    // before masking
  std::vector<std::string> replaced;  // of those, the ones no live row holds after masking
  std::string Name() const { return schema + "." + table + "." + column; }
};

// The gate's verdict on a scan: OK without hits, else kConflict naming, for each hit, the
// column(s) whose original it is, the file and the count (at most `max_listed` hits listed).
Status ResidueVerdict(const std::vector<SampledColumn>& columns, const NeedleScanner& scanner,
                      const TreeScan& scan, const std::string& what, size_t max_listed = 5);

// The needles for the gate: every replaced value, once.
std::vector<std::string> ReplacedNeedles(const std::vector<SampledColumn>& columns);

class MaskingResidue {
 public:
  MaskingResidue(ResidueOptions options, SqlConnect connect, std::vector<std::string> databases,
                 std::function<void(const std::string&)> progress);

  Status BeforeMasking();
  // Points the steps after BeforeMasking at another server (dblab commit samples the parent
  // snapshot and scrubs a copy of the clone).
  void UseServer(SqlConnect connect) { connect_ = std::move(connect); }
  Status AfterMasking();
  // `data_dir` stopped cleanly (kConflict if not).
  Status AfterCleanStop(const std::string& data_dir);
  // Scans `dir` (the candidate snapshot's files). `what` names it in the refusal.
  Status Gate(const std::string& dir, const std::string& what);

  const std::vector<SampledColumn>& columns() const { return columns_; }
  // Tables rewritten by AfterMasking, as "db:schema.table".
  const std::vector<std::string>& rewritten() const { return rewritten_; }

 private:
  Status Sample(const std::string& database, SqlSession& session);
  Status FindReplaced(SampledColumn& column, SqlSession& session);
  Status Scrub(const std::string& database, SqlSession& session);

  ResidueOptions options_;
  SqlConnect connect_;
  std::vector<std::string> databases_;
  std::function<void(const std::string&)> progress_;
  std::vector<SampledColumn> columns_;
  std::vector<std::string> rewritten_;
};

// Settings a preparation server needs for the cleanup to work and leave no log of values:
// no autovacuum (its snapshot would keep dead rows alive through VACUUM FULL), no statement
// text or DETAIL (a failing UPDATE's text or "Key (email)=(...)" holds values) in its log.
std::map<std::string, std::string> ResidueServerSettings();

// Removes what a stopped server leaves in PGDATA that may hold values: temporary files
// (base/pgsql_tmp*, pg_stat_tmp/*) and the logging collector's logs (log/, pg_log/).
void RemoveTemporaryFilesAndLogs(const std::string& data_dir);

}  // namespace dblab
