#include "retrieval/preparation.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "masking/residue.h"
#include "platform/posix_process.h"
#include "postgres/pq.h"
#include "postgres/server.h"

namespace dblab {

namespace fs = std::filesystem;

Result<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal("socket: " + std::string(strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return Internal("cannot find a free port: " + std::string(strerror(errno)));
  }
  close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

bool HasQueries(const QueryPreprocessing& queries) {
  return !queries.query_path.empty() ||
         queries.inline_sql.find_first_not_of(" \t\r\n") != std::string::npos;
}

Result<bool> NeedsResidueScan(const MaskingConfig& masking, bool sql, bool script,
                              const std::vector<std::string>& label_databases,
                              const ConnectToDatabase& label_source,
                              const std::function<void(const std::string&)>& progress) {
  DataChanges changes{.sql = sql, .script = script, .masking_rules = masking.rules.size()};
  std::optional<std::string> skip = ResidueSkipReason(changes);
  if (skip && masking.anonymizer_labels) {
    changes.labels_checked = true;
    DBLAB_ASSIGN_OR_RETURN(changes.anonymizer_labels,
                           CountAnonymizerLabels(label_databases, label_source));
    skip = ResidueSkipReason(changes);
  }
  if (!skip) return true;
  if (progress) progress("residue: scan skipped: " + *skip);
  return false;
}

Status RunQueryPreprocessing(const PreparationServer& server, const QueryPreprocessing& queries,
                             const std::vector<std::string>& databases, const std::string& stage) {
  std::vector<std::string> files;
  if (!queries.query_path.empty()) {
    std::error_code error;
    // Files in name order; files in subfolders follow their folder's place in that order.
    for (const auto& entry : fs::recursive_directory_iterator(queries.query_path, error)) {
      if (entry.is_regular_file() && entry.path().extension() == ".sql") {
        files.push_back(entry.path().string());
      }
    }
    if (error) {
      return BadRequest(stage + ".queryPreprocessing.queryPath " + queries.query_path + ": " +
                        error.message());
    }
    std::sort(files.begin(), files.end());
  }
  if (files.empty() && queries.inline_sql.empty()) return OkStatus();
  for (const auto& db : databases) {
    auto psql = [&](std::vector<std::string> extra) {
      std::vector<std::string> argv = {
          server.ClientBinDir() + "/psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
          "--dbname=" + BuildConninfo({{"host", server.socket_dir},
                                       {"port", std::to_string(server.port)},
                                       {"user", server.superuser},
                                       {"dbname", db},
                                       {"application_name", kRetrievalApplicationName}})};
      argv.insert(argv.end(), extra.begin(), extra.end());
      return RunChecked(server.runner, argv, {.cancel = server.cancel});
    };
    for (const auto& file : files) {
      server.progress(stage + ": " + file + " on " + db);
      auto result = psql({"--file=" + file});
      if (!result.ok()) return result.error().Wrap(stage + " " + file + " on database " + db);
    }
    if (!queries.inline_sql.empty()) {
      server.progress(stage + ": inline SQL on " + db);
      auto result = psql({"--command=" + queries.inline_sql});
      if (!result.ok()) return result.error().Wrap(stage + " inline SQL on database " + db);
    }
  }
  return OkStatus();
}

PostgresSearchPath SearchPathOf(const RetrievalEnvironment& environment) {
  return PostgresSearchPath{.configured_dir = environment.pg_bin_dir};
}

Result<std::string> FindPsqlDir(int major, const RetrievalEnvironment& environment) {
  auto newer = FindProgramsAtLeast(major, {"psql"}, SearchPathOf(environment));
  if (newer.ok()) return newer->dir;
  for (int older = major - 1; older >= 10; --older) {
    auto dir = FindProgramsOfMajor(older, {"psql"}, SearchPathOf(environment));
    if (dir.ok()) return dir;
  }
  return newer.error();
}

Status RunPreprocessingScript(const PreparationServer& server, const std::string& script,
                              const std::string& stage) {
  if (script.empty()) return OkStatus();
  server.progress("preprocessing script " + script);
  RunOptions run;
  run.cancel = server.cancel;
  run.env = {{"PGHOST", server.socket_dir},
             {"PGPORT", std::to_string(server.port)},
             {"PGUSER", server.superuser},
             {"PGDATA", server.data_dir},
             {"PATH", server.bin_dir + ":" + server.ClientBinDir() + ":" +
                          (getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin")}};
  auto result = RunChecked(server.runner, {script}, run);
  if (!result.ok()) return result.error().Wrap(stage + ".preprocessingScript");
  return OkStatus();
}

Result<std::string> NewSnapshotName(PoolBackend& pool, const std::string& prefix) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &utc);
  DBLAB_ASSIGN_OR_RETURN(auto existing, pool.ListSnapshots());
  std::string name = prefix + stamp;
  for (int suffix = 1; std::find(existing.begin(), existing.end(), name) != existing.end();
       ++suffix) {
    name = prefix + stamp + "_" + std::to_string(suffix);
  }
  return name;
}

Result<Snapshot> RecordSnapshot(PoolBackend& pool, StateStore& state, const std::string& name,
                                TimePoint data_state_at, const Snapshot& lineage) {
  Snapshot snapshot;
  snapshot.branch = lineage.branch;
  snapshot.parent_id = lineage.parent_id;
  snapshot.message = lineage.message;
  snapshot.id = pool.Name() + "@" + name;
  snapshot.pool = pool.Name();
  snapshot.created_at = std::chrono::system_clock::now();
  snapshot.data_state_at = data_state_at;
  // The major its clones will run (PG_VERSION of the data, as every server start reads it).
  if (auto major = DataDirMajorVersion(pool.SnapshotPath(name)); major.ok()) {
    snapshot.pg_major = *major;
  }
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(pool.SnapshotPath(name), error)) {
    if (!entry.is_regular_file(error)) continue;
    // file_size answers uintmax_t(-1) on an error (a file deleted meanwhile): not a size.
    const uintmax_t bytes = entry.file_size(error);
    if (!error) snapshot.logical_size += static_cast<int64_t>(bytes);
  }
  snapshot.physical_size = 0;  // measured later (housekeeping)
  DBLAB_TRY(state.PutSnapshot(snapshot));
  // The store filled in the branch and parent.
  DBLAB_ASSIGN_OR_RETURN(auto recorded, state.ListSnapshots());
  for (const auto& known : recorded) {
    if (known.id == snapshot.id) return known;
  }
  return snapshot;
}

}  // namespace dblab
