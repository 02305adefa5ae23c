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

}  // namespace dblab
