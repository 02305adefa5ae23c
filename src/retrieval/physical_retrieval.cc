#include "retrieval/physical_retrieval.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/numbers.h"
#include "masking/residue.h"
#include "masking/rules_apply.h"
#include "platform/files.h"
#include "platform/posix_process.h"
#include "postgres/pq.h"

namespace dblab {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPromotePrefix = "promote-";  // temporary clone being prepared
constexpr const char* kReplicaPrefix = "replica_";  // internal snapshot of the replica

std::string Env(const std::map<std::string, std::string>& envs, const std::string& name,
                const std::string& fallback = "") {
  auto it = envs.find(name);
  return it == envs.end() || it->second.empty() ? fallback : it->second;
}

// Where the source is, from physicalRestore's envs (libpq's defaults otherwise).
struct SourceEndpoint {
  std::string host, port, user, password;
};
SourceEndpoint EndpointOf(const std::map<std::string, std::string>& envs) {
  return {Env(envs, "PGHOST", "127.0.0.1"), Env(envs, "PGPORT", "5432"),
          Env(envs, "PGUSER", "postgres"), Env(envs, "PGPASSWORD")};
}

// pgpass fields escape ':' and '\'.
std::string PassfileField(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// What a copy of the source must not keep: recovery signal files, and the source's connection
// settings a tool may have written (pg_basebackup -R writes its password).
void ForgetTheSource(const std::string& data_dir) {
  unlink((data_dir + "/standby.signal").c_str());
  unlink((data_dir + "/recovery.signal").c_str());
  std::string auto_conf = data_dir + "/postgresql.auto.conf";
  std::ifstream in(auto_conf);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::ofstream(auto_conf, std::ios::trunc) << WithoutReplicationSettings(text.str());
}

}  // namespace

Result<std::vector<std::string>> SplitCommandLine(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  auto refuse = [&](const std::string& what) {
    return BadRequest("customTool.command is run without a shell, so " + what +
                      " cannot work; put the commands in a script and name the script");
  };
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      size_t end = command.find('\'', i + 1);
      if (end == std::string::npos) return BadRequest("customTool.command: unbalanced ' quote");
      word += command.substr(i + 1, end - i - 1);
      in_word = true;
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < command.size() && command[j] != '"'; ++j) {
        if (command[j] == '\\' && j + 1 < command.size() &&
            std::string("\"\\$`").find(command[j + 1]) != std::string::npos) {
          ++j;
        } else if (command[j] == '$' || command[j] == '`') {
          return refuse("variables and command substitution");
        }
        word += command[j];
      }
      if (j >= command.size()) return BadRequest("customTool.command: unbalanced \" quote");
      in_word = true;
      i = j;
    } else if (c == '\\') {
      if (i + 1 < command.size()) word += command[++i];
      in_word = true;
    } else if (std::string("|&;<>`$()").find(c) != std::string::npos) {
      return refuse(std::string("'") + c + "'");
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return BadRequest("customTool.command is empty");
  return words;
}

std::string WithoutReplicationSettings(const std::string& auto_conf) {
  std::istringstream in(auto_conf);
  std::string out, line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    std::string trimmed = start == std::string::npos ? "" : line.substr(start);
    bool drop = false;
    for (const char* key : {"primary_conninfo", "primary_slot_name", "restore_command"}) {
      std::string k = key;
      if (trimmed.compare(0, k.size(), k) == 0 &&
          (trimmed.size() == k.size() ||
           std::string(" \t=").find(trimmed[k.size()]) != std::string::npos)) {
        drop = true;
      }
    }
    if (!drop) out += line + "\n";
  }
  return out;
}

PhysicalRetrieval::PhysicalRetrieval(PhysicalRetrievalOptions options, PoolBackend& pool,
                                     PostgresControl& postgres, ProcessRunner& runner,
                                     StateStore& state, Progress progress)
    : options_(std::move(options)),
      pool_(pool),
      postgres_(postgres),
      runner_(runner),
      state_(state),
      progress_(std::move(progress)) {}

bool PhysicalRetrieval::HasCopy() const {
  return access((pool_.MainDataPath() + "/PG_VERSION").c_str(), F_OK) == 0;
}

Result<std::string> PhysicalRetrieval::BinDir() {
  DBLAB_ASSIGN_OR_RETURN(int major, DataDirMajorVersion(pool_.MainDataPath()));
  return FindPostgresBinDir(major, options_.pg_bin_dir);
}

Result<int> PhysicalRetrieval::SourceMajor() {
  const auto& envs = options_.retrieval.physical_restore.envs;
  SourceEndpoint source = EndpointOf(envs);
  std::vector<std::pair<std::string, std::string>> params = {
      {"host", source.host},     {"port", source.port},
      {"user", source.user},     {"dbname", Env(envs, "PGDATABASE", "postgres")},
      {"connect_timeout", "10"}, {"application_name", kRetrievalApplicationName}};
  if (!source.password.empty()) params.push_back({"password", source.password});
  auto connection = PgConnection::Connect(BuildConninfo(params));
  if (!connection.ok()) {
    return Unavailable("cannot connect to the source " + source.user + "@" + source.host + ":" +
                       source.port + ": " + connection.error().message +
                       " (check retrieval.spec.physicalRestore.options.envs)");
  }
  return PQserverVersion(connection->raw()) / 10000;
}

Status PhysicalRetrieval::WritePassfile() {
  SourceEndpoint source = EndpointOf(options_.retrieval.physical_restore.envs);
  std::string path = options_.state_dir + "/source.pgpass";
  if (source.password.empty()) {
    unlink(path.c_str());
    return OkStatus();
  }
  DBLAB_ASSIGN_OR_RETURN(OsUser user, LookupOsUser(options_.os_user));
  std::string line = PassfileField(source.host) + ":" + PassfileField(source.port) +
                     ":*:" + PassfileField(source.user) + ":" + PassfileField(source.password) +
                     "\n";
  DBLAB_TRY(WriteFileAtomically(path, line, 0600));
  if (chown(path.c_str(), user.uid, user.gid) != 0) {
    return Internal("cannot give " + path + " to " + options_.os_user + ": " + strerror(errno));
  }
  return OkStatus();
}

std::string PhysicalRetrieval::PrimaryConninfo() const {
  SourceEndpoint source = EndpointOf(options_.retrieval.physical_restore.envs);
  std::vector<std::pair<std::string, std::string>> params = {{"host", source.host},
                                                             {"port", source.port},
                                                             {"user", source.user},
                                                             {"application_name", "dblab_sync"}};
  // The password is read from a file only the OS user can read: never on a command line.
  if (!source.password.empty()) {
    params.push_back({"passfile", options_.state_dir + "/source.pgpass"});
  }
  return BuildConninfo(params);
}

Status PhysicalRetrieval::Copy() {
  const auto& restore = options_.retrieval.physical_restore;
  std::string data = pool_.MainDataPath();
  DBLAB_TRY(postgres_.Stop(data, std::chrono::seconds(60)));
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(data, error)) {
    fs::remove_all(entry.path(), error);
    if (error) return Internal("cannot clear main data " + data + ": " + error.message());
  }
  if (error) return Internal("cannot read main data " + data + ": " + error.message());
  std::vector<std::string> argv;
  RunOptions run;
  run.user = options_.os_user;
  run.cancel = options_.cancel;
  run.env = restore.envs;
  run.on_stderr_line = [this](const std::string& line) {
    if (!line.empty()) progress_("copying the source: " + line);
  };
  if (restore.command.empty()) {
    argv = {"pg_basebackup",     "--pgdata=" + data, "--wal-method=stream",
            "--checkpoint=fast", "--no-password",    "--progress"};
  } else {
    DBLAB_ASSIGN_OR_RETURN(argv, SplitCommandLine(restore.command));
  }
  // pg_basebackup refuses servers newer than itself: a PostgreSQL client program named without
  // a directory (DLE's customTool runs "pg_basebackup ...") is one of the source's major or newer.
  if (IsPostgresClientProgram(argv.front())) {
    DBLAB_ASSIGN_OR_RETURN(int major, SourceMajor());
    DBLAB_ASSIGN_OR_RETURN(ProgramsDir client,
                           FindProgramsAtLeast(major, {argv.front()}, SearchPathOf(options_)));
    progress_("the source runs PostgreSQL " + std::to_string(major) + "; " + argv.front() + " " +
              std::to_string(client.major) + " from " + client.dir);
    argv.front() = client.dir + "/" + argv.front();
  }
  progress_("copying the source: " + argv.front());
  auto result = RunChecked(runner_, argv, run);
  if (!result.ok()) return result.error().Wrap("physicalRestore (" + argv.front() + ")");
  if (!HasCopy()) {
    return BadRequest("physicalRestore: " + argv.front() + " finished but " + data +
                      " holds no PostgreSQL data directory (its -D must be main data: " + data +
                      ")");
  }
  // The replica gets its connection on the command line, never from main data.
  ForgetTheSource(data);
  return OkStatus();
}

ServerSpec PhysicalRetrieval::StandbySpec(
    const std::string& data_dir, int port, const std::string& bin_dir, const std::string& log_name,
    const std::map<std::string, std::string>& settings) const {
  ServerSpec spec;
  spec.bin_dir = bin_dir;
  spec.data_dir = data_dir;
  spec.port = port;
  spec.socket_dir = ServerSocketDir(options_.socket_dir, port);
  spec.hba_file = options_.hba_file;
  spec.log_file = options_.log_dir + "/" + log_name;
  spec.os_user = options_.os_user;
  spec.standby = true;
  spec.settings = settings;
  spec.settings.erase("shared_preload_libraries");
  spec.settings["hot_standby"] = "on";
  spec.settings["archive_mode"] = "off";
  return spec;
}

Status PhysicalRetrieval::EnsureReplica() {
  const auto& restore = options_.retrieval.physical_restore;
  std::string data = pool_.MainDataPath();
  if (!restore.sync_enabled || !HasCopy()) return OkStatus();
  if (PostgresControl::RunningPid(data)) return OkStatus();
  DBLAB_TRY(WritePassfile());
  DBLAB_ASSIGN_OR_RETURN(std::string bin_dir, BinDir());
  DBLAB_ASSIGN_OR_RETURN(int port, PickFreePort());
  ServerSpec spec = StandbySpec(data, port, bin_dir, "replica.log", restore.sync_configs);
  spec.settings["primary_conninfo"] = PrimaryConninfo();
  spec.settings["restore_command"] = restore.restore_command;
  // The walreceiver reads the source's password; no clone's sandbox has this file.
  spec.readable_paths.push_back(options_.state_dir + "/source.pgpass");
  progress_("starting the replica on main data (port " + std::to_string(port) + ")");
  auto started = postgres_.Start(spec);
  if (!started.ok()) return started.error().Wrap("start the replica");
  return OkStatus();
}

void PhysicalRetrieval::RemoveLeftovers() {
  if (auto clones = pool_.ListClones(); clones.ok()) {
    for (const auto& name : *clones) {
      if (name.rfind(kPromotePrefix, 0) != 0) continue;
      (void)postgres_.Stop(pool_.ClonePath(name), std::chrono::milliseconds(0));
      (void)pool_.DestroyClone(name);
    }
  }
  if (auto snapshots = pool_.ListSnapshots(); snapshots.ok()) {
    for (const auto& name : *snapshots) {
      if (name.rfind(kReplicaPrefix, 0) == 0) (void)pool_.DestroySnapshot(name);
    }
  }
}

Result<std::optional<Snapshot>> PhysicalRetrieval::Run() {
  DBLAB_TRY(Copy());
  DBLAB_TRY(EnsureReplica());
  if (options_.retrieval.physical_snapshot.skip_start_snapshot) {
    return std::optional<Snapshot>();
  }
  DBLAB_ASSIGN_OR_RETURN(Snapshot snapshot, TakeSnapshot());
  return std::optional<Snapshot>(snapshot);
}

Status PhysicalRetrieval::PromoteAndPrepare(const std::string& clone, const std::string& bin_dir,
                                            std::unique_ptr<MaskingResidue>& residue,
                                            bool& scan_residue) {
  const auto& snap = options_.retrieval.physical_snapshot;
  std::string path = pool_.ClonePath(clone);
  DBLAB_ASSIGN_OR_RETURN(int port, PickFreePort());
  // A standby with no source: it replays the copy's WAL to a consistent state, then is promoted.
  ServerSpec spec = StandbySpec(path, port, bin_dir, "promote.log", snap.configs);
  spec.settings["primary_conninfo"] = "";
  spec.settings["restore_command"] = "";
  for (const auto& [key, value] : ResidueServerSettings()) spec.settings[key] = value;
  progress_("promoting a copy of the replica");
  DBLAB_TRY(postgres_.Start(spec));
  auto work = [&]() -> Status {
    auto admin = PgConnection::Connect(AdminConninfo(ServerSocketDir(options_.socket_dir, port),
                                                     port, options_.superuser, "postgres"));
    if (!admin.ok()) return admin.error().Wrap("connect to the promoted copy");
    DBLAB_ASSIGN_OR_RETURN(PgRows promoted, admin->Query("SELECT pg_promote(true, 600)"));
    if (promoted.empty() || promoted[0][0] != "t") {
      return Internal("the copy of the replica was not promoted within 600 s; see " +
                      spec.log_file);
    }
    // Preprocessing runs in global.database.dbname (SQL files may \connect to others).
    std::vector<std::string> databases = {options_.dbname};
    DBLAB_ASSIGN_OR_RETURN(int major, DataDirMajorVersion(path));
    DBLAB_ASSIGN_OR_RETURN(std::string psql_dir, FindPsqlDir(major, options_));
    PreparationServer server{.runner = runner_,
                             .bin_dir = bin_dir,
                             .client_bin_dir = psql_dir,
                             .socket_dir = ServerSocketDir(options_.socket_dir, port),
                             .port = port,
                             .superuser = options_.superuser,
                             .data_dir = path,
                             .cancel = options_.cancel,
                             .progress = progress_};
    // The residue cleanup covers every database (SQL files may \connect to others).
    DBLAB_ASSIGN_OR_RETURN(PgRows all, admin->Query("SELECT datname FROM pg_database WHERE "
                                                    "datallowconn ORDER BY datname"));
    std::vector<std::string> every_database;
    for (const auto& row : all) every_database.push_back(row[0]);
    residue = std::make_unique<MaskingResidue>(
        ResidueOptions{.gate = options_.residue_gate},
        ConnectToPreparationServer(server.socket_dir, port, options_.superuser), every_database,
        progress_);
    // Labels live in the copy itself, in the databases masking reads them from.
    DBLAB_ASSIGN_OR_RETURN(PgRows labelled, admin->Query("SELECT datname FROM pg_database WHERE "
                                                         "datallowconn AND NOT datistemplate "
                                                         "ORDER BY datname"));
    std::vector<std::string> label_databases;
    for (const auto& row : labelled) label_databases.push_back(row[0]);
    DBLAB_ASSIGN_OR_RETURN(
        scan_residue, NeedsResidueScan(
                          options_.retrieval.masking, HasQueries(snap.query_preprocessing),
                          !snap.preprocessing_script.empty(), label_databases,
                          [&](const std::string& db) {
                            return PgConnection::Connect(
                                AdminConninfo(server.socket_dir, port, options_.superuser, db));
                          },
                          progress_));
    if (scan_residue) DBLAB_TRY(residue->BeforeMasking());
    DBLAB_TRY(RunQueryPreprocessing(server, snap.query_preprocessing, databases,
                                    "physicalSnapshot.options.promotion"));
    DBLAB_TRY(MaskLocalServer(options_.retrieval.masking, server.socket_dir, port,
                              options_.superuser, {}, nullptr, progress_));
    DBLAB_TRY(
        RunPreprocessingScript(server, snap.preprocessing_script, "physicalSnapshot.options"));
    if (!scan_residue) return OkStatus();
    return residue->AfterMasking();  // ends with a CHECKPOINT
  }();
  progress_("stopping the promoted copy");
  Status stopped = postgres_.Stop(path, std::chrono::seconds(600), /*require_clean=*/true);
  if (!work.ok()) return work;
  return stopped;
}

Result<ReplicaLag> MeasureReplicaLag(SqlSession& replica) {
  // An idle source sends no transactions: the time since the last replayed one is no lag as
  // long as the replica has replayed everything it received.
  DBLAB_ASSIGN_OR_RETURN(
      PgRows rows,
      replica.Query(
          "SELECT pg_catalog.pg_is_in_recovery(), "
          "CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() "
          "THEN 0 ELSE coalesce(extract(epoch FROM now() - "
          "pg_catalog.pg_last_xact_replay_timestamp()), 0) END::float8, "
          "coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), "
          "pg_catalog.pg_last_wal_replay_lsn()), 0)::bigint"));
  if (rows.empty() || rows[0].size() < 3) return Internal("replica lag: no row");
  if (rows[0][0] != "t") return Unavailable("replica lag: the server is not in recovery");
  ReplicaLag lag;
  try {
    lag.seconds = std::max(0.0, std::stod(rows[0][1]));
  } catch (const std::exception&) {
    return Internal("replica lag: \"" + rows[0][1] + "\" is no number of seconds");
  }
  auto bytes = ParseInt64(rows[0][2]);
  if (!bytes) return Internal("replica lag: \"" + rows[0][2] + "\" is no number of bytes");
  lag.bytes = std::max<int64_t>(0, *bytes);
  return lag;
}

Result<ReplicaLag> PhysicalRetrieval::MeasureLag() {
  auto port = PostgresControl::RunningPort(pool_.MainDataPath());
  if (!port) return Unavailable("replica lag: no replica runs on main data");
  DBLAB_ASSIGN_OR_RETURN(PgConnection replica,
                         PgConnection::Connect(AdminConninfo(
                             ServerSocketDir(options_.socket_dir, *port), *port, options_.superuser,
                             "postgres", {{"connect_timeout", "5"}})));
  return MeasureReplicaLag(replica);
}

Result<Snapshot> PhysicalRetrieval::TakeSnapshot() {
  std::string data = pool_.MainDataPath();
  if (!HasCopy()) return Unavailable("main data holds no copy of the source yet");
  DBLAB_ASSIGN_OR_RETURN(std::string bin_dir, BinDir());
  RemoveLeftovers();
  // A clean stop of the replica (a restartpoint) makes main data a consistent image even on
  // backends whose snapshot is a file-by-file copy; it resumes right after.
  // The data is as of the last transaction the replica replayed (DLE's dataStateAt).
  auto data_state_at = std::chrono::system_clock::now();
  if (auto port = PostgresControl::RunningPort(data)) {
    auto replica = PgConnection::Connect(AdminConninfo(ServerSocketDir(options_.socket_dir, *port),
                                                       *port, options_.superuser, "postgres"));
    auto rows = replica.ok() ? replica->Query(
                                   "SELECT coalesce(floor(extract(epoch FROM "
                                   "pg_last_xact_replay_timestamp()) * 1000)::bigint, 0)")
                             : Result<PgRows>(replica.error());
    std::optional<int64_t> replayed_ms;
    if (rows.ok() && !rows->empty() && !(*rows)[0].empty()) replayed_ms = ParseInt64((*rows)[0][0]);
    if (replayed_ms && *replayed_ms != 0) data_state_at = FromMillis(*replayed_ms);
  }
  progress_("pausing the replica for a snapshot");
  DBLAB_TRY(postgres_.Stop(data, std::chrono::seconds(600), /*require_clean=*/true));
  DBLAB_ASSIGN_OR_RETURN(std::string replica_name, NewSnapshotName(pool_, kReplicaPrefix));
  Status snapped = pool_.CreateSnapshot(replica_name);
  if (auto resumed = EnsureReplica(); !resumed.ok()) {
    spdlog::error("physical retrieval: the replica did not resume: {}", resumed.error().message);
  }
  DBLAB_TRY(snapped);
  std::string clone = kPromotePrefix + replica_name.substr(std::string(kReplicaPrefix).size());
  auto cleanup = [&] {
    (void)postgres_.Stop(pool_.ClonePath(clone), std::chrono::milliseconds(0));
    (void)pool_.DestroyClone(clone);
    (void)pool_.DestroySnapshot(replica_name);
  };
  auto created = pool_.CreateClone(replica_name, clone);
  if (!created.ok()) {
    cleanup();
    return created.error().Wrap("clone the replica's snapshot");
  }
  std::unique_ptr<MaskingResidue> residue;
  bool scan_residue = true;
  Status prepared = PromoteAndPrepare(clone, bin_dir, residue, scan_residue);
  ForgetTheSource(pool_.ClonePath(clone));  // preprocessing may have run ALTER SYSTEM too
  if (prepared.ok()) prepared = residue->AfterCleanStop(pool_.ClonePath(clone));
  if (prepared.ok() && scan_residue) {
    prepared = residue->Gate(pool_.ClonePath(clone), "the new snapshot");
  }
  if (!prepared.ok()) {
    cleanup();
    return prepared.error();
  }
  auto name = NewSnapshotName(pool_);
  Status taken = name.ok() ? pool_.CreateSnapshotOfClone(clone, *name) : Status(name.error());
  cleanup();
  if (!taken.ok()) return taken.error().Wrap("snapshot the prepared copy");
  progress_("snapshot " + *name);
  return RecordSnapshot(pool_, state_, *name, data_state_at);
}

}  // namespace dblab
