// Steps both retrieval methods share: preprocessing (SQL files and inline SQL, a script) on a
// temporary server, and turning prepared data into a recorded snapshot.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "domain/model.h"
#include "masking/rules_apply.h"
#include "platform/process.h"
#include "postgres/binaries.h"
#include "state/state_store.h"
#include "storage/backend.h"

namespace dblab {

// The application_name of every session retrieval opens on the source and on the restore
// target (GET /instance/retrieval's activity lists the sessions of that name).
inline constexpr char kRetrievalApplicationName[] = "dblab-retrieval";

// What every retrieval method runs with (filled by the engine from its config).
struct RetrievalEnvironment {
  RetrievalConfig retrieval;
  std::string os_user = "postgres";
  std::string superuser = "postgres";
  std::string socket_dir;
  std::string hba_file;
  std::string log_dir;
  std::string pg_bin_dir;    // provision.pgBinDir: searched first (postgres/binaries.h)
  bool residue_gate = true;  // global.residueGate (masking/residue.h)
  // Set by the engine on shutdown: the running step's program is killed, no further step runs,
  // and temporary servers are stopped. Must outlive the retrieval.
  const std::atomic<bool>* cancel = nullptr;
  // Told where the logical restore's target server listens (its socket dir and port) once it
  // runs, and ("", 0) just before it stops, so the engine can list its sessions. Called on the
  // retrieval's thread; may be empty.
  std::function<void(const std::string& socket_dir, int port)> on_restore_target;
};

// A temporary server being prepared, reached through its unix socket as the superuser.
struct PreparationServer {
  ProcessRunner& runner;
  std::string bin_dir;         // the server's programs (postgres, initdb)
  std::string client_bin_dir;  // psql, pg_dump, ...; empty: bin_dir (the npm servers have none)
  std::string socket_dir;
  int port = 0;
  std::string superuser;
  std::string data_dir;  // PGDATA for scripts
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> progress;
  const std::string& ClientBinDir() const {
    return client_bin_dir.empty() ? bin_dir : client_bin_dir;
  }
};

// Runs the *.sql files under queries.query_path (name order), then queries.inline_sql, with
// psql (ON_ERROR_STOP) on each database. `stage` names the config section in messages.
Status RunQueryPreprocessing(const PreparationServer& server, const QueryPreprocessing& queries,
                             const std::vector<std::string>& databases, const std::string& stage);

// Runs `script` (no shell) with PGHOST, PGPORT, PGUSER, PGDATA and the server's and client
// binaries first in PATH. Empty script: nothing.
Status RunPreprocessingScript(const PreparationServer& server, const std::string& script,
                              const std::string& stage);

// Whether `queries` has anything to run (a queryPath or inline SQL; a queryPath without *.sql
// files counts: what it holds may change before the run).
bool HasQueries(const QueryPreprocessing& queries);

// Whether a preparation needs the residue scan (masking/residue.h: BeforeMasking, AfterMasking,
// Gate): `sql` and `script` say whether SQL preprocessing or a script is configured; with
// masking.anonymizerLabels the labels of `label_databases` are counted through `label_source`
// (read once, before the sample). When nothing can change the data, logs why the scan is skipped
// and returns false.
Result<bool> NeedsResidueScan(const MaskingConfig& masking, bool sql, bool script,
                              const std::vector<std::string>& label_databases,
                              const ConnectToDatabase& label_source,
                              const std::function<void(const std::string&)>& progress);

// A snapshot name from the current UTC time ("snapshot_YYYYMMDDHHMMSS", suffixed if taken).
Result<std::string> NewSnapshotName(PoolBackend& pool, const std::string& prefix = "snapshot_");

// Measures snapshot `name` (logical size) and records it in the state store. `lineage` gives
// its branch, parent and message (a commit); by default it lands on main (StateStore).
Result<Snapshot> RecordSnapshot(PoolBackend& pool, StateStore& state, const std::string& name,
                                TimePoint data_state_at, const Snapshot& lineage = {});

// Where PostgreSQL programs are looked for under this environment (provision.pgBinDir first).
PostgresSearchPath SearchPathOf(const RetrievalEnvironment& environment);
// The directory of psql to prepare a server of `major` (psql of any major since 10 talks to
// it; the same major or a newer one is preferred).
Result<std::string> FindPsqlDir(int major, const RetrievalEnvironment& environment);

// A free TCP port on 127.0.0.1 chosen by the kernel (for temporary servers).
Result<int> PickFreePort();

}  // namespace dblab
