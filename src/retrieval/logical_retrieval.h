// Logical retrieval: pg_dump (directory format, parallel) from the source, pg_restore into main
// data with a temporary server, preprocessing (SQL files in name order, inline SQL, a script),
// clean shutdown, then a read-only snapshot. A snapshot is recorded only after every step has
// succeeded, so no clone can be made from data that was not preprocessed (masked).
// Not thread-safe: one retrieval at a time (the engine guarantees it).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "domain/model.h"
#include "platform/process.h"
#include "postgres/server.h"
#include "retrieval/preparation.h"
#include "state/state_store.h"
#include "storage/backend.h"

namespace dblab {

struct LogicalRetrievalOptions : RetrievalEnvironment {
  std::string dump_dir;
};

class LogicalRetrieval {
 public:
  using Progress = std::function<void(const std::string&)>;

  LogicalRetrieval(LogicalRetrievalOptions options, PoolBackend& pool, PostgresControl& postgres,
                   ProcessRunner& runner, StateStore& state, Progress progress);

  // Runs dump, restore, preprocessing (masking), the residue cleanup and gate
  // (masking/residue.h) and snapshot. Returns the new snapshot. The dump is deleted right after
  // the restore. On failure main data is left stopped (and emptied once the restore has begun:
  // it may hold unmasked values) and existing snapshots are untouched.
  Result<Snapshot> Run();

 private:
  struct SourceInfo {
    int major = 0;
    std::vector<std::pair<std::string, std::string>> databases;  // name, encoding
  };
  Result<SourceInfo> InspectSource();
  // The programs of each step for a source of `source_major` (docs/postgres-majors.md).
  struct Programs {
    int server_major = 0;    // main data and clones: the dockerImage tag's major, else the source's
    std::string server_dir;  // postgres, initdb of server_major
    std::string client_dir;  // pg_dump, pg_restore, psql of server_major or newer
  };
  Result<Programs> ChoosePrograms(int source_major) const;
  std::string SourcePassword() const;  // source.password, else the connection string's
  std::string SourceDatabase() const;  // the database to connect to first
  std::vector<std::pair<std::string, std::string>> SourceConninfo(const std::string& db,
                                                                  bool with_password = true) const;
  Status Dump(const SourceInfo& source, const std::string& bin_dir);
  Status InitMainData(const std::string& bin_dir);
  static void ClearDirectory(const std::string& dir);  // its contents; errors logged
  Status Restore(const SourceInfo& source, const std::string& bin_dir, int port);
  PreparationServer Server(const std::string& bin_dir, int port) const;

  LogicalRetrievalOptions options_;
  PoolBackend& pool_;
  PostgresControl& postgres_;
  ProcessRunner& runner_;
  StateStore& state_;
  Progress progress_;
};

// pg_restore 17 and newer start every session with SET transaction_timeout, which a server of
// 16 or older does not know: it reports the error and goes on. True when that is all that failed.
bool OnlyNewerSettingsFailed(const RunResult& result);

// The restore list (`pg_restore -l`) without PostgreSQL Anonymizer's extension: its
// `CREATE EXTENSION anon`, the comment on it and whatever the dump holds in its schema `anon`
// (e.g. its configuration tables' data). dblab installs no `anon` in main data or clones, where
// those entries would fail the restore; it reads anon's masking labels from the source and
// applies them itself. `removed` counts the entries taken out.
std::string WithoutAnonymizerExtension(const std::string& toc, int* removed);

}  // namespace dblab
