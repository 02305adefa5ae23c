#include "retrieval/logical_retrieval.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "masking/residue.h"
#include "masking/rules_apply.h"
#include "platform/files.h"
#include "platform/posix_process.h"
#include "postgres/pq.h"

namespace dblab {

namespace fs = std::filesystem;

LogicalRetrieval::LogicalRetrieval(LogicalRetrievalOptions options, PoolBackend& pool,
                                   PostgresControl& postgres, ProcessRunner& runner,
                                   StateStore& state, Progress progress)
    : options_(std::move(options)),
      pool_(pool),
      postgres_(postgres),
      runner_(runner),
      state_(state),
      progress_(std::move(progress)) {}

std::vector<std::pair<std::string, std::string>> LogicalRetrieval::SourceConninfo(
    const std::string& db, bool with_password) const {
  const SourceConnection& source = options_.retrieval.logical_dump.source;
  std::vector<std::pair<std::string, std::string>> params;
  std::string password = SourcePassword();
  if (!source.connection_string.empty()) {
    // source.connectionString (URI or key=value) is the base; only the database to dump and
    // our own application settings are put on top of it.
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(source.connection_string.c_str(), &error);
    if (error) PQfreemem(error);
    for (PQconninfoOption* option = options; option && option->keyword; ++option) {
      if (!option->val || !*option->val) continue;
      std::string keyword = option->keyword;
      if (keyword == "password" || keyword == "dbname" || keyword == "application_name") continue;
      params.push_back({keyword, option->val});
    }
    PQconninfoFree(options);
  } else {
    params.push_back({"host", source.host});
    params.push_back({"port", std::to_string(source.port)});
    params.push_back({"user", source.username});
  }
  // Programs get the password through PGPASSWORD: an argument is visible to every local user.
  if (with_password && !password.empty()) params.push_back({"password", password});
  params.push_back({"dbname", db.empty() ? SourceDatabase() : db});
  params.push_back({"connect_timeout", "10"});
  params.push_back({"application_name", kRetrievalApplicationName});
  return params;
}

std::string LogicalRetrieval::SourcePassword() const {
  const SourceConnection& source = options_.retrieval.logical_dump.source;
  if (!source.password.empty() || source.connection_string.empty()) return source.password;
  std::string password;
  PQconninfoOption* options = PQconninfoParse(source.connection_string.c_str(), nullptr);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    if (std::string(option->keyword) == "password" && option->val) password = option->val;
  }
  PQconninfoFree(options);
  return password;
}

std::string LogicalRetrieval::SourceDatabase() const {
  const SourceConnection& source = options_.retrieval.logical_dump.source;
  std::string dbname = source.dbname;
  if (source.connection_string.empty()) return dbname;
  PQconninfoOption* options = PQconninfoParse(source.connection_string.c_str(), nullptr);
  for (PQconninfoOption* option = options; option && option->keyword; ++option) {
    if (std::string(option->keyword) == "dbname" && option->val && *option->val) {
      dbname = option->val;
    }
  }
  PQconninfoFree(options);
  return dbname;
}

Result<LogicalRetrieval::SourceInfo> LogicalRetrieval::InspectSource() {
  const SourceConnection& source = options_.retrieval.logical_dump.source;
  auto connection = PgConnection::Connect(BuildConninfo(SourceConninfo("")));
  if (!connection.ok()) {
    return Unavailable("cannot connect to source " + source.username + "@" + source.host + ":" +
                       std::to_string(source.port) + "/" + source.dbname + ": " +
                       connection.error().message +
                       " (check retrieval.spec.logicalDump.options.source.connection and "
                       "PGPASSWORD)");
  }
  SourceInfo info;
  info.major = PQserverVersion(connection->raw()) / 10000;
  DBLAB_ASSIGN_OR_RETURN(PgRows rows,
                         connection->Query("SELECT datname, pg_encoding_to_char(encoding) FROM "
                                           "pg_database WHERE NOT datistemplate AND datallowconn "
                                           "ORDER BY datname"));
  const auto& wanted = options_.retrieval.logical_dump.databases;
  for (const auto& row : rows) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), row[0]) != wanted.end()) {
      info.databases.push_back({row[0], row[1]});
    }
  }
  for (const auto& name : wanted) {
    bool found = std::any_of(info.databases.begin(), info.databases.end(),
                             [&](const auto& db) { return db.first == name; });
    if (!found) {
      return BadRequest("database \"" + name +
                        "\" listed in retrieval.spec.logicalDump.options.databases does not "
                        "exist on the source");
    }
  }
  if (info.databases.empty()) return BadRequest("the source has no database to dump");
  return info;
}

Status LogicalRetrieval::Dump(const SourceInfo& source, const std::string& bin_dir) {
  std::error_code ignored;
  fs::remove_all(options_.dump_dir, ignored);
  fs::create_directories(options_.dump_dir, ignored);
  chmod(options_.dump_dir.c_str(), 0700);
  const auto& dump = options_.retrieval.logical_dump;
  int index = 0;
  for (const auto& [name, encoding] : source.databases) {
    ++index;
    progress_("pg_dump: database " + name + " (" + std::to_string(index) + "/" +
              std::to_string(source.databases.size()) + ")");
    std::vector<std::string> argv = {bin_dir + "/pg_dump", "--format=directory",
                                     "--jobs=" + std::to_string(std::max(1, dump.parallel_jobs)),
                                     "--file=" + options_.dump_dir + "/" + std::to_string(index),
                                     "--dbname=" + BuildConninfo(SourceConninfo(name, false))};
    for (const auto& option : dump.custom_options) argv.push_back(option);
    RunOptions run;
    run.cancel = options_.cancel;
    if (std::string password = SourcePassword(); !password.empty())
      run.env["PGPASSWORD"] = password;
    auto result = RunChecked(runner_, argv, run);
    if (!result.ok()) return result.error().Wrap("dump of database " + name);
  }
  return OkStatus();
}

void LogicalRetrieval::ClearDirectory(const std::string& dir) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) fs::remove_all(entry.path(), error);
  if (error) spdlog::error("logical retrieval: cannot clear {}: {}", dir, error.message());
}

Status LogicalRetrieval::InitMainData(const std::string& bin_dir) {
  std::string data = pool_.MainDataPath();
  DBLAB_TRY(postgres_.Stop(data, std::chrono::seconds(30)));
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(data, error)) {
    fs::remove_all(entry.path(), error);
    if (error) return Internal("cannot clear main data " + data + ": " + error.message());
  }
  if (error) return Internal("cannot read main data " + data + ": " + error.message());
  progress_("initdb: preparing main data");
  auto result =
      RunChecked(runner_,
                 {bin_dir + "/initdb", "--pgdata=" + data, "--username=" + options_.superuser,
                  "--encoding=UTF8", "--locale=C.UTF-8", "--auth=trust", "--no-sync"},
                 {.user = options_.os_user, .cancel = options_.cancel});
  if (!result.ok()) return result.error().Wrap("initdb of main data");
  return OkStatus();
}

bool OnlyNewerSettingsFailed(const RunResult& result) {
  if (result.exit_code != 1) return false;
  std::stringstream lines(result.err);
  std::string line;
  bool any = false;
  while (std::getline(lines, line)) {
    if (line.find("error:") == std::string::npos) continue;
    if (line.find("unrecognized configuration parameter \"transaction_timeout\"") ==
        std::string::npos) {
      return false;
    }
    any = true;
  }
  return any;
}

Status LogicalRetrieval::Restore(const SourceInfo& source, const std::string& bin_dir, int port) {
  const auto& restore = options_.retrieval.logical_restore;
  auto admin = PgConnection::Connect(AdminConninfo(ServerSocketDir(options_.socket_dir, port), port,
                                                   options_.superuser, "postgres"));
  if (!admin.ok()) return admin.error().Wrap("connect to restore server");
  int index = 0;
  for (const auto& [name, encoding] : source.databases) {
    ++index;
    if (!restore.databases.empty() && std::find(restore.databases.begin(), restore.databases.end(),
                                                name) == restore.databases.end()) {
      continue;
    }
    progress_("pg_restore: database " + name + " (" + std::to_string(index) + "/" +
              std::to_string(source.databases.size()) + ")");
    if (name != "postgres") {
      DBLAB_TRY(admin->Exec("CREATE DATABASE " + admin->QuoteIdentifier(name) +
                            " TEMPLATE template0 ENCODING " + admin->QuoteLiteral(encoding)));
    }
    std::vector<std::string> argv = {
        bin_dir + "/pg_restore", "--jobs=" + std::to_string(std::max(1, restore.parallel_jobs)),
        "--dbname=" + BuildConninfo({{"host", ServerSocketDir(options_.socket_dir, port)},
                                     {"port", std::to_string(port)},
                                     {"user", options_.superuser},
                                     {"dbname", name},
                                     {"application_name", kRetrievalApplicationName}})};
    if (restore.custom_options.empty()) {
      for (const char* option : {"--no-owner", "--no-privileges", "--no-tablespaces"}) {
        argv.push_back(option);
      }
    }
    // Security labels need their provider (PostgreSQL Anonymizer's `anon`) loaded to restore;
    // dblab reads anon's labels from the source instead (masking.anonymizerLabels).
    argv.push_back("--no-security-labels");
    for (const auto& option : restore.custom_options) argv.push_back(option);
    std::string dump = options_.dump_dir + "/" + std::to_string(index);
    bool own_list = std::any_of(restore.custom_options.begin(), restore.custom_options.end(),
                                [](const std::string& option) {
                                  return option == "-L" || option.rfind("--use-list", 0) == 0 ||
                                         (option.size() > 2 && option.rfind("-L", 0) == 0);
                                });
    if (!own_list) {
      DBLAB_ASSIGN_OR_RETURN(
          RunResult listed,
          runner_.Run({bin_dir + "/pg_restore", "--list", dump}, {.cancel = options_.cancel}));
      if (listed.exit_code != 0) {
        return Internal("restore of database " + name + ": pg_restore --list failed (exit " +
                        std::to_string(listed.exit_code) + "): " + listed.err.substr(0, 1500));
      }
      int removed = 0;
      std::string toc = WithoutAnonymizerExtension(listed.out, &removed);
      if (removed > 0) {
        std::string list = dump + ".list";
        DBLAB_TRY(WriteFileAtomically(list, toc, 0600));
        argv.push_back("--use-list=" + list);
        spdlog::info(
            "restore of database {}: skipping PostgreSQL Anonymizer's extension anon "
            "({} entries); dblab applies its masking labels itself",
            name, removed);
      }
    }
    argv.push_back(dump);
    DBLAB_ASSIGN_OR_RETURN(RunResult result, runner_.Run(argv, {.cancel = options_.cancel}));
    if (result.exit_code != 0 && !OnlyNewerSettingsFailed(result)) {
      return Internal("restore of database " + name + ": pg_restore failed (exit " +
                      std::to_string(result.exit_code) + "): " +
                      result.err.substr(result.err.size() > 1500 ? result.err.size() - 1500 : 0));
    }
  }
  return OkStatus();
}

PreparationServer LogicalRetrieval::Server(const std::string& bin_dir, int port) const {
  return PreparationServer{.runner = runner_,
                           .bin_dir = bin_dir,
                           .socket_dir = ServerSocketDir(options_.socket_dir, port),
                           .port = port,
                           .superuser = options_.superuser,
                           .data_dir = pool_.MainDataPath(),
                           .cancel = options_.cancel,
                           .progress = progress_};
}

Result<LogicalRetrieval::Programs> LogicalRetrieval::ChoosePrograms(int source_major) const {
  Programs programs;
  int image_major = options_.retrieval.image_major;
  programs.server_major = image_major != 0 ? image_major : source_major;
  if (programs.server_major < source_major) {
    return BadRequest("the config's dockerImage names PostgreSQL " + std::to_string(image_major) +
                      " but the source runs " + std::to_string(source_major) +
                      ": a dump restores only into the same or a newer major; use an image tag "
                      "of " +
                      std::to_string(source_major) + " or newer");
  }
  PostgresSearchPath search = SearchPathOf(options_);
  DBLAB_ASSIGN_OR_RETURN(programs.server_dir, FindProgramsOfMajor(programs.server_major,
                                                                  {"postgres", "initdb"}, search));
  // pg_dump must be at least the source's major, pg_restore at least pg_dump's: one client
  // installation of the oldest major that can do both (and psql for preprocessing).
  DBLAB_ASSIGN_OR_RETURN(
      ProgramsDir client,
      FindProgramsAtLeast(programs.server_major, {"pg_dump", "pg_restore", "psql"}, search));
  programs.client_dir = client.dir;
  progress_("source runs PostgreSQL " + std::to_string(source_major) + "; main data and clones " +
            std::to_string(programs.server_major) + " (" + programs.server_dir +
            "); pg_dump and pg_restore " + std::to_string(client.major) + " (" + client.dir + ")");
  return programs;
}

Result<Snapshot> LogicalRetrieval::Run() {
  auto data_state_at = std::chrono::system_clock::now();
  progress_("connecting to source");
  DBLAB_ASSIGN_OR_RETURN(SourceInfo source, InspectSource());
  DBLAB_ASSIGN_OR_RETURN(Programs programs, ChoosePrograms(source.major));
  const std::string& bin_dir = programs.server_dir;
  DBLAB_TRY(Dump(source, programs.client_dir));
  DBLAB_TRY(InitMainData(bin_dir));
  DBLAB_ASSIGN_OR_RETURN(int port, PickFreePort());
  ServerSpec spec;
  spec.bin_dir = bin_dir;
  spec.data_dir = pool_.MainDataPath();
  spec.port = port;
  spec.socket_dir = ServerSocketDir(options_.socket_dir, port);
  spec.hba_file = options_.hba_file;
  spec.log_file = options_.log_dir + "/retrieval.log";
  spec.os_user = options_.os_user;
  // Durability is pointless while restoring: the result is synced and snapshotted at the end.
  spec.settings = {{"fsync", "off"},
                   {"full_page_writes", "off"},
                   {"synchronous_commit", "off"},
                   {"max_wal_size", "4GB"}};
  for (const auto& [key, value] : options_.retrieval.logical_restore.configs) {
    if (key != "shared_preload_libraries") spec.settings[key] = value;
  }
  for (const auto& [key, value] : ResidueServerSettings()) spec.settings[key] = value;
  progress_("starting restore server");
  DBLAB_TRY(postgres_.Start(spec));
  if (options_.on_restore_target) options_.on_restore_target(spec.socket_dir, port);
  auto stop = [&] {
    if (options_.on_restore_target) options_.on_restore_target("", 0);
    return postgres_.Stop(spec.data_dir, std::chrono::seconds(600), /*require_clean=*/true);
  };
  std::vector<std::string> databases;
  for (const auto& db : source.databases) {
    const auto& only = options_.retrieval.logical_restore.databases;
    if (only.empty() || std::find(only.begin(), only.end(), db.first) != only.end()) {
      databases.push_back(db.first);
    }
  }
  auto cancelled = [&]() -> Status {
    if (options_.cancel && options_.cancel->load()) {
      return Unavailable("retrieval stopped: the engine is shutting down");
    }
    return OkStatus();
  };
  Status work = Restore(source, programs.client_dir, port);
  std::error_code ignored;
  fs::remove_all(options_.dump_dir, ignored);  // the dump holds every original value
  if (work.ok()) work = cancelled();
  PreparationServer server = Server(bin_dir, port);
  server.client_bin_dir = programs.client_dir;
  MaskingResidue residue({.gate = options_.residue_gate},
                         ConnectToPreparationServer(server.socket_dir, port, options_.superuser),
                         databases, progress_);
  // The scan samples every text column; without anything that can change the data, it would
  // read whole tables to find that nothing was replaced.
  bool scan = true;
  if (work.ok()) {
    const auto& restore = options_.retrieval.logical_restore;
    const auto& snapshot = options_.retrieval.logical_snapshot;
    auto needed = NeedsResidueScan(
        options_.retrieval.masking,
        HasQueries(restore.query_preprocessing) || HasQueries(snapshot.data_patching),
        !snapshot.preprocessing_script.empty(), databases,
        [this](const std::string& db) {
          return PgConnection::Connect(BuildConninfo(SourceConninfo(db)));
        },
        progress_);
    if (needed.ok()) {
      scan = *needed;
    } else {
      work = needed.error();
    }
  }
  if (work.ok() && scan) work = residue.BeforeMasking();
  if (work.ok()) {
    work = RunQueryPreprocessing(server, options_.retrieval.logical_restore.query_preprocessing,
                                 databases, "logicalRestore");
  }
  if (work.ok()) {
    work = RunQueryPreprocessing(server, options_.retrieval.logical_snapshot.data_patching,
                                 databases, "logicalSnapshot.dataPatching");
  }
  if (work.ok()) {
    work = MaskLocalServer(
        options_.retrieval.masking, server.socket_dir, port, options_.superuser, databases,
        [this](const std::string& db) {
          return PgConnection::Connect(BuildConninfo(SourceConninfo(db)));
        },
        progress_);
  }
  if (work.ok()) {
    work = RunPreprocessingScript(server, options_.retrieval.logical_snapshot.preprocessing_script,
                                  "logicalSnapshot.options");
  }
  if (work.ok() && scan) work = residue.AfterMasking();
  progress_("stopping restore server");
  Status stopped = stop();
  if (work.ok()) work = stopped;
  if (work.ok()) work = residue.AfterCleanStop(spec.data_dir);
  if (work.ok() && scan) work = residue.Gate(spec.data_dir, "the new snapshot of main data");
  if (!work.ok()) {
    // Main data may hold values masking had not replaced (yet): nothing of it is kept.
    if (stopped.ok()) ClearDirectory(spec.data_dir);
    return work.error();
  }
  sync();  // fsync was off: make the data durable before it becomes a snapshot
  DBLAB_ASSIGN_OR_RETURN(std::string name, NewSnapshotName(pool_));
  progress_("snapshot " + name);
  DBLAB_TRY(pool_.CreateSnapshot(name));
  return RecordSnapshot(pool_, state_, name, data_state_at);
}

std::string WithoutAnonymizerExtension(const std::string& toc, int* removed) {
  // An entry: "<dump id>; <catalog oid> <oid> <description> <namespace> <name> <owner>", the
  // namespace "-" where there is none; "; " starts a comment line.
  std::string kept;
  int count = 0;
  size_t start = 0;
  while (start < toc.size()) {
    size_t end = toc.find('\n', start);
    if (end == std::string::npos) end = toc.size();
    std::string line = toc.substr(start, end - start);
    start = end + 1;
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string word; in >> word;) words.push_back(word);
    bool entry = !words.empty() && words[0].size() > 1 && words[0].back() == ';' &&
                 std::isdigit(static_cast<unsigned char>(words[0][0]));
    bool anon = false;
    if (entry && words.size() >= 6) {
      // The description is one word or one of pg_dump's multi-word ones; the namespace follows.
      static const std::vector<std::vector<std::string>> kLong = {
          {"MATERIALIZED", "VIEW", "DATA"},
          {"SEQUENCE", "OWNED", "BY"},
          {"TABLE", "DATA"},
          {"SEQUENCE", "SET"},
          {"MATERIALIZED", "VIEW"},
          {"FOREIGN", "TABLE"},
          {"DEFAULT", "ACL"},
          {"TEXT", "SEARCH", "CONFIGURATION"},
          {"TEXT", "SEARCH", "DICTIONARY"},
          {"EVENT", "TRIGGER"},
          {"FK", "CONSTRAINT"},
          {"OPERATOR", "CLASS"},
          {"OPERATOR", "FAMILY"}};
      size_t length = 1;
      for (const auto& description : kLong) {
        if (words.size() >= 3 + description.size() + 2 &&
            std::equal(description.begin(), description.end(), words.begin() + 3)) {
          length = description.size();
          break;
        }
      }
      const std::string& namespace_name = words[3 + length];
      if (words[3] == "EXTENSION") {
        anon = namespace_name == "-" && words[5] == "anon";
      } else if (words[3] == "COMMENT") {
        anon = (words.size() >= 7 && words[5] == "EXTENSION" && words[6] == "anon") ||
               namespace_name == "anon";
      } else {
        anon = namespace_name == "anon";
      }
    }
    if (anon) {
      ++count;
      continue;
    }
    kept += line;
    kept += '\n';
  }
  if (removed != nullptr) *removed = count;
  return kept;
}

}  // namespace dblab
