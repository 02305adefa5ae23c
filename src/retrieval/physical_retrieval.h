// Physical retrieval: a physical copy of the source into main data (pg_basebackup, or the
// configured customTool command), kept in sync by a streaming replica running on main data.
// A snapshot is never of the replica itself: the replica is stopped cleanly for a moment, main
// data is snapshotted, the replica resumes; a temporary clone of that snapshot is started,
// promoted, preprocessed (masked), cleaned of what masking replaced (masking/residue.h), stopped
// cleanly, given a fresh WAL and checked by the residue gate, and only that clone becomes the
// snapshot users get. So no clone is ever made from data that was not preprocessed.
// Not thread-safe: one retrieval step at a time (the engine guarantees it).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "domain/model.h"
#include "platform/process.h"
#include "postgres/pq.h"
#include "postgres/server.h"
#include "retrieval/preparation.h"
#include "state/state_store.h"
#include "storage/backend.h"

namespace dblab {

class MaskingResidue;

struct PhysicalRetrievalOptions : RetrievalEnvironment {
  std::string dbname = "postgres";  // global.database.dbname: where preprocessing queries run
  std::string state_dir;            // the source's passfile lives here (0600, the OS user's)
};

class PhysicalRetrieval {
 public:
  using Progress = std::function<void(const std::string&)>;

  PhysicalRetrieval(PhysicalRetrievalOptions options, PoolBackend& pool, PostgresControl& postgres,
                    ProcessRunner& runner, StateStore& state, Progress progress);

  // Full refresh: stops the replica, copies the source into main data anew, starts the replica
  // (sync.enabled) and takes a snapshot (unless skipStartSnapshot).
  Result<std::optional<Snapshot>> Run();

  // A new snapshot from main data as the replica has it now (see the file comment).
  Result<Snapshot> TakeSnapshot();

  // Starts the replica on main data when main data holds a copy and no server runs on it
  // (engine start). No-op with sync disabled.
  Status EnsureReplica();

  // Whether main data holds a copy of the source (PG_VERSION).
  bool HasCopy() const;

  // The running replica's lag (MeasureReplicaLag); kUnavailable when no replica runs.
  Result<ReplicaLag> MeasureLag();

 private:
  Result<std::string> BinDir();  // of main data's major version
  Result<int> SourceMajor();     // connects with envs
  Status Copy();                 // the tool into empty main data
  Status WritePassfile();        // PGPASSWORD -> <state>/source.pgpass, 0600
  std::string PrimaryConninfo() const;
  // Promotes and masks the clone; `residue` is set once created (see masking/residue.h);
  // `scan_residue` false: nothing configured could change the data, so it was not sampled and
  // needs no gate (the fresh WAL is still wanted).
  Status PromoteAndPrepare(const std::string& clone, const std::string& bin_dir,
                           std::unique_ptr<MaskingResidue>& residue, bool& scan_residue);
  // A standby on `data_dir` (no TCP), logging to <log_dir>/<log_name>.
  ServerSpec StandbySpec(const std::string& data_dir, int port, const std::string& bin_dir,
                         const std::string& log_name,
                         const std::map<std::string, std::string>& settings) const;
  void RemoveLeftovers();  // promote-* clones and replica_* snapshots of an interrupted run

  PhysicalRetrievalOptions options_;
  PoolBackend& pool_;
  PostgresControl& postgres_;
  ProcessRunner& runner_;
  StateStore& state_;
  Progress progress_;
};

// Reads a standby's lag over `replica`: seconds since the last replayed transaction committed
// (0 once all received WAL is replayed) and the received-but-unreplayed WAL in bytes.
// kUnavailable when the server is not in recovery.
Result<ReplicaLag> MeasureReplicaLag(SqlSession& replica);

// Splits a command line into arguments like a POSIX shell would for plain words, single and
// double quotes and backslashes, without running one: kBadRequest for unbalanced quotes and for
// shell operators (| & ; < > ` $( ) that only a shell would understand.
Result<std::vector<std::string>> SplitCommandLine(const std::string& command);

// Removes primary_conninfo, primary_slot_name and restore_command lines from a
// postgresql.auto.conf text (a copy must not keep the source's connection or password).
std::string WithoutReplicationSettings(const std::string& auto_conf);

}  // namespace dblab
