#include "config/dle_sections.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/ascii.h"
#include "config/webhook_hook.h"
#include "postgres/binaries.h"
#include "scheduler/cron.h"

namespace dblab {
namespace {

// ^[a-z_][a-z0-9_.]*$ : what postgres accepts as a (custom) setting name, lowercase.
bool IsSettingName(const std::string& name) {
  if (name.empty() || !(IsLowerAlpha(name[0]) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLowerAlpha(c) || IsDigit(c) || c == '_' || c == '.'; });
}

// ^[a-zA-Z0-9_.-]+$ and not "." or "..": safe as one path component.
bool IsSimpleName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; });
}

// A relative path made of simple names ("data", "data/pgdata").
bool IsRelativeSubPath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (!IsSimpleName(part)) return false;
  }
  return true;
}

bool IsAbsoluteClean(const std::string& path) {
  if (path.empty() || path.front() != '/' || HasControlBreak(path)) return false;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") return false;
  }
  return true;
}

// useradd's default NAME_REGEX: ^[a-z_][a-z0-9_-]*[$]?$, at most 32 characters.
bool IsOsUserName(const std::string& name) {
  if (name.empty() || name.size() > 32 || !(IsLowerAlpha(name[0]) || name[0] == '_')) return false;
  for (size_t i = 1; i < name.size(); ++i) {
    char c = name[i];
    bool last = i + 1 == name.size();
    if (!(IsLowerAlpha(c) || IsDigit(c) || c == '_' || c == '-' || (last && c == '$'))) {
      return false;
    }
  }
  return true;
}

// listen_addresses: host names, IPv4/IPv6 addresses, '*', separated by commas and spaces.
bool IsListenAddressList(const std::string& text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return IsAlnum(c) || c == '.' || c == ':' || c == ',' || c == ' ' || c == '*' || c == '-' ||
           c == '_' || c == '%';
  });
}

constexpr std::string_view kDockerOnly = "Docker-only";
constexpr std::string_view kDockerNote = "dblab runs postgres directly";
constexpr std::string_view kNotImplemented = "not implemented yet";

// Postgres settings (every `configs:` mapping): name -> value, numbers and strings kept as
// written.
Status ReadSettings(YamlReader& r, YamlMapping& m, std::string_view key,
                    std::map<std::string, std::string>* out) {
  DBLAB_ASSIGN_OR_RETURN(YamlMapping settings, r.Sub(m, key));
  for (const YamlEntry& entry : settings.entries()) {
    std::string path = JoinKeyPath(settings.path(), entry.key);
    if (!IsSettingName(entry.key)) {
      return r.Fail(path, "not a postgres setting name (lowercase letters, digits, '_' and '.')",
                    entry.key_node);
    }
    if (entry.value.IsNull()) continue;  // empty = keep postgres' default
    if (!entry.value.IsScalar()) {
      return r.Fail(path, "a setting value must be a number or a string", entry.value);
    }
    std::string value = r.Expand(entry.value.Scalar());
    if (HasControlBreak(value)) {
      return r.Fail(path, "a setting value must not contain newlines or NUL", entry.value);
    }
    (*out)[entry.key] = std::move(value);
  }
  return OkStatus();
}

// The PostgreSQL major a database image's tag names ("extended-postgres:17-0.6.2"): logical
// clones run it. The web UI's image is no database.
void NoteImage(YamlReader& r, const YamlEntry& entry, const std::string& path, int* image_major) {
  if (!entry.value.IsScalar() || path.rfind("embeddedUI", 0) == 0) return;
  int major = ImageTagMajor(r.Expand(entry.value.Scalar()));
  if (major == 0) return;
  if (*image_major != 0 && *image_major != major) {
    r.Warn(entry, "dockerImage " + path + " names PostgreSQL " + std::to_string(major) +
                      ", an earlier one " + std::to_string(*image_major) + "; using " +
                      std::to_string(*image_major));
    return;
  }
  *image_major = major;
}

// ---- Sections ---------------------------------------------------------------------------------

Status ReadServer(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  DBLAB_TRY(r.String(m, "verificationToken", &c.verification_token));
  DBLAB_TRY(r.String(m, "host", &c.host));
  DBLAB_TRY(r.Int(m, "port", 1, 65535, &c.port));
  DBLAB_TRY(r.String(m, "uiDir", &c.ui_dir));
  if (c.host.empty() || HasControlBreak(c.host))
    return r.Fail("server.host", "must be a host name");
  if (!c.ui_dir.empty() && !IsAbsoluteClean(c.ui_dir)) {
    return r.Fail("server.uiDir", "must be an absolute path, got '" + c.ui_dir + "'");
  }
  r.FinishSection(m, {{"disableConfigModification", kNotImplemented}});
  return OkStatus();
}

Status ReadEmbeddedUi(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  DBLAB_TRY(r.Bool(m, "enabled", &c.ui_enabled));
  constexpr std::string_view kServedByApi = "the engine serves the UI on server.host:server.port";
  r.FinishSection(m, {{"host", kServedByApi}, {"port", kServedByApi}});
  return OkStatus();
}

Status ReadGlobal(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  std::string engine = "postgres";
  DBLAB_TRY(r.String(m, "engine", &engine));
  if (engine != "postgres") {
    return r.Fail("global.engine", "only 'postgres' is supported, got '" + engine + "'");
  }
  DBLAB_TRY(r.Bool(m, "debug", &c.debug));
  DBLAB_TRY(r.String(m, "stateDir", &c.state_dir));
  DBLAB_TRY(r.Bool(m, "residueGate", &c.residue_gate));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping database, r.Sub(m, "database"));
  DBLAB_TRY(r.String(database, "username", &c.database_username));
  DBLAB_TRY(r.String(database, "dbname", &c.database_dbname));
  for (auto [path, value] : {std::pair{"global.database.username", &c.database_username},
                             std::pair{"global.database.dbname", &c.database_dbname}}) {
    if (value->empty() || value->size() > 63 || HasControlBreak(*value)) {
      return r.Fail(path, "must be a postgres name of 1 to 63 bytes");
    }
  }
  if (!c.state_dir.empty() && !IsAbsoluteClean(c.state_dir)) {
    return r.Fail("global.stateDir", "must be an absolute path, got '" + c.state_dir + "'");
  }
  r.FinishSection(database);
  r.FinishSection(m);
  return OkStatus();
}

Status ReadPoolManager(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  DBLAB_TRY(r.String(m, "mountDir", &c.mount_dir));
  DBLAB_TRY(r.String(m, "dataSubDir", &c.data_sub_dir));
  DBLAB_TRY(r.String(m, "clonesMountSubDir", &c.clones_mount_sub_dir));
  DBLAB_TRY(r.String(m, "socketSubDir", &c.socket_sub_dir));
  DBLAB_TRY(r.String(m, "selectedPool", &c.selected_pool));
  DBLAB_TRY(r.String(m, "backend", &c.pool_backend));
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> image_size, r.Scalar(m, "imageSize"));

  if (!IsAbsoluteClean(c.mount_dir)) {
    return r.Fail("poolManager.mountDir",
                  "must be an absolute path without '..', got '" + c.mount_dir + "'");
  }
  while (c.mount_dir.size() > 1 && c.mount_dir.back() == '/') c.mount_dir.pop_back();
  for (auto [path, value] : {std::pair{"poolManager.dataSubDir", &c.data_sub_dir},
                             std::pair{"poolManager.clonesMountSubDir", &c.clones_mount_sub_dir},
                             std::pair{"poolManager.socketSubDir", &c.socket_sub_dir}}) {
    if (!IsRelativeSubPath(*value)) {
      return r.Fail(path,
                    "must be a relative path of names made of letters, digits, '_', '.' "
                    "and '-', got '" +
                        *value + "'");
    }
  }
  if (!c.selected_pool.empty() && !IsSimpleName(c.selected_pool)) {
    return r.Fail("poolManager.selectedPool",
                  "must match ^[a-zA-Z0-9_.-]+$, got '" + c.selected_pool + "'");
  }
  static const std::set<std::string> kBackends = {"btrfs", "zfs", "reflink", "overlay", "copy"};
  if (!kBackends.contains(c.pool_backend)) {
    return r.Fail(
        "poolManager.backend",
        "must be one of btrfs, zfs, reflink, overlay, copy; got '" + c.pool_backend + "'");
  }
  if (image_size) {
    Result<int64_t> bytes = ParseByteSize(*image_size);
    if (!bytes.ok()) return r.Fail("poolManager.imageSize", bytes.error().message);
    if (*bytes <= 0) return r.Fail("poolManager.imageSize", "must be greater than 0");
    c.pool_image_size_bytes = *bytes;
  }
  r.FinishSection(m, {{"observerSubDir", "observation artifacts are kept in memory"},
                      {"preSnapshotSuffix", "dblab takes no preliminary snapshots"}});
  return OkStatus();
}

// Memory and CPU limits of every clone server: our keys provision.cloneMemoryLimit and
// provision.cloneCpuLimit, or DLE's Docker limits `containerConfig: {memory: 1g, cpus: 2}`,
// which mean the same for a clone; its other Docker options are reported as ignored.
Status ReadCloneLimits(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> memory, r.Scalar(m, "cloneMemoryLimit"));
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> cpus, r.Scalar(m, "cloneCpuLimit"));
  std::string memory_key = "provision.cloneMemoryLimit", cpus_key = "provision.cloneCpuLimit";
  DBLAB_ASSIGN_OR_RETURN(YamlMapping docker, r.Sub(m, "containerConfig"));
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> docker_memory, r.Scalar(docker, "memory"));
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> docker_cpus, r.Scalar(docker, "cpus"));
  if (!docker.Unused().empty()) {  // e.g. shm-size: one line for the section, as before
    for (const YamlEntry& entry : m.entries()) {
      if (entry.key == "containerConfig") r.Ignore(entry, docker.path(), kDockerNote, kDockerOnly);
    }
  }
  if (!memory && docker_memory) {
    memory = docker_memory;
    memory_key = docker.path() + ".memory";
  }
  if (!cpus && docker_cpus) {
    cpus = docker_cpus;
    cpus_key = docker.path() + ".cpus";
  }
  if (memory) {
    Result<int64_t> bytes = ParseByteSize(*memory);
    if (!bytes.ok()) return r.Fail(memory_key, bytes.error().message);
    if (*bytes < (int64_t{64} << 20)) {
      return r.Fail(memory_key, "must be at least 64MiB (postgres needs that much to start)");
    }
    c.clone_memory_limit_bytes = *bytes;
  }
  if (cpus) {
    char* end = nullptr;
    double value = std::strtod(cpus->c_str(), &end);
    if (cpus->empty() || end == nullptr || *end != '\0' || !(value >= 0.01 && value <= 1024)) {
      return r.Fail(cpus_key,
                    "must be a number of CPUs between 0.01 and 1024, got '" + *cpus + "'");
    }
    c.clone_cpu_limit = value;
  }
  return OkStatus();
}

Status ReadProvision(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  DBLAB_ASSIGN_OR_RETURN(YamlMapping ports, r.Sub(m, "portPool"));
  DBLAB_TRY(r.Int(ports, "from", 1024, 65535, &c.port_pool.from));
  DBLAB_TRY(r.Int(ports, "to", 1024, 65535, &c.port_pool.to));
  if (c.port_pool.from > c.port_pool.to) {
    return r.Fail("provision.portPool.from",
                  "must be <= provision.portPool.to (" + std::to_string(c.port_pool.to) + ")");
  }
  r.FinishSection(ports);
  DBLAB_TRY(r.Bool(m, "keepUserPasswords", &c.keep_user_passwords));
  DBLAB_TRY(r.String(m, "cloneAccessAddresses", &c.clone_access_addresses));
  if (!IsListenAddressList(c.clone_access_addresses)) {
    return r.Fail("provision.cloneAccessAddresses",
                  "must be a comma-separated list of addresses or host names, got '" +
                      c.clone_access_addresses + "'");
  }
  DBLAB_TRY(r.String(m, "osUser", &c.os_user));
  if (!IsOsUserName(c.os_user)) {
    return r.Fail("provision.osUser",
                  "must be an OS user name (^[a-z_][a-z0-9_-]*$, at most 32 characters), got '" +
                      c.os_user + "'");
  }
  DBLAB_TRY(r.String(m, "pgBinDir", &c.pg_bin_dir));
  if (!c.pg_bin_dir.empty() && !IsAbsoluteClean(c.pg_bin_dir)) {
    return r.Fail("provision.pgBinDir", "must be an absolute path, got '" + c.pg_bin_dir + "'");
  }
  DBLAB_TRY(r.Int(m, "minPasswordStrength", 0, 4, &c.min_password_strength));
  DBLAB_TRY(r.Int(m, "warmPool", 0, 50, &c.warm_pool_size));
  DBLAB_TRY(r.String(m, "cloneWalDir", &c.clone_wal_dir));
  if (c.clone_wal_dir != "auto" && c.clone_wal_dir != "off" && !IsAbsoluteClean(c.clone_wal_dir)) {
    return r.Fail("provision.cloneWalDir",
                  "must be \"auto\", \"off\" or an absolute path, got '" + c.clone_wal_dir + "'");
  }
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> wal_max, r.Scalar(m, "cloneWalMaxSize"));
  if (wal_max) {
    Result<int64_t> bytes = ParseByteSize(*wal_max);
    if (!bytes.ok()) return r.Fail("provision.cloneWalMaxSize", bytes.error().message);
    if (*bytes != 0 && *bytes < (int64_t{256} << 20)) {
      return r.Fail("provision.cloneWalMaxSize",
                    "must be 0 (no limit) or at least 256MiB (a busy clone keeps up to "
                    "max_wal_size of WAL, 1GB by default)");
    }
    c.clone_wal_max_bytes = *bytes;
  }
  DBLAB_TRY(ReadCloneLimits(r, m, c));
  // Settings merged into provision (e.g. `<<: *db_configs`) are clone settings too, and more
  // specific than databaseConfigs: they win.
  DBLAB_TRY(ReadSettings(r, m, "configs", &c.clone_configs));
  r.FinishSection(m, {{"useSudo", "dblab-engine runs as root and calls no sudo"}});
  return OkStatus();
}

Status ReadCloning(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  constexpr int64_t kMax = int64_t{1} << 40;
  DBLAB_TRY(r.String(m, "accessHost", &c.access_host));
  DBLAB_TRY(r.Int(m, "maxIdleMinutes", 0, kMax, &c.max_idle_minutes));
  DBLAB_TRY(
      r.Int(m, "protectionLeaseDurationMinutes", 0, kMax, &c.protection_lease_duration_minutes));
  DBLAB_TRY(r.Int(m, "protectionMaxDurationMinutes", 0, kMax, &c.protection_max_duration_minutes));
  if (c.access_host.empty() || HasControlBreak(c.access_host)) {
    return r.Fail("cloning.accessHost", "must be a host name or address");
  }
  if (c.protection_max_duration_minutes > 0 &&
      c.protection_lease_duration_minutes > c.protection_max_duration_minutes) {
    return r.Fail("cloning.protectionLeaseDurationMinutes",
                  "must be <= cloning.protectionMaxDurationMinutes (" +
                      std::to_string(c.protection_max_duration_minutes) + ") unless that is 0");
  }
  r.FinishSection(
      m, {{"protectionExpiryWarningMinutes", "dblab sends no clone_protection_expiring webhook"}});
  return OkStatus();
}

Status ReadQueryPreprocessing(YamlReader& r, YamlMapping& m, QueryPreprocessing& q) {
  DBLAB_TRY(r.String(m, "queryPath", &q.query_path));
  DBLAB_TRY(r.String(m, "inline", &q.inline_sql));
  DBLAB_TRY(r.Int(m, "maxParallelWorkers", 1, 128, &q.max_parallel_workers));
  r.FinishSection(m);
  return OkStatus();
}

Status CheckDumpLocation(YamlReader& r, const std::string& path, const std::string& location) {
  if (!location.empty() && !IsAbsoluteClean(location)) {
    return r.Fail(path, "must be an absolute path without '..', got '" + location + "'");
  }
  return OkStatus();
}

// `databases:` as DLE writes it (a mapping of names to per-database options) or a plain list.
// Per-database options that would change what is dumped or restored are refused, not ignored:
// dumping a table the user meant to exclude would be worse than stopping.
Status ReadDatabases(YamlReader& r, YamlMapping& m, std::vector<std::string>* out,
                     std::initializer_list<std::string_view> harmless) {
  std::string path = JoinKeyPath(m.path(), "databases");
  auto check_name = [&](const std::string& name, const YAML::Node& node) -> Status {
    if (name.empty() || name.size() > 63 || HasControlBreak(name)) {
      return r.Fail(path, "'" + name + "' is not a database name (1 to 63 bytes)", node);
    }
    out->push_back(name);
    return OkStatus();
  };
  const YamlEntry* probe = nullptr;
  for (const YamlEntry& entry : m.entries()) {
    if (entry.key == "databases") probe = &entry;
  }
  if (probe != nullptr && probe->value.IsSequence()) {
    DBLAB_TRY(r.StringList(m, "databases", out));
    std::vector<std::string> names = std::move(*out);
    out->clear();
    for (const std::string& name : names) DBLAB_TRY(check_name(name, probe->value));
    return OkStatus();
  }
  DBLAB_ASSIGN_OR_RETURN(YamlMapping databases, r.Sub(m, "databases"));
  for (const YamlEntry& entry : databases.entries()) {
    DBLAB_TRY(check_name(entry.key, entry.key_node));
    DBLAB_ASSIGN_OR_RETURN(YamlMapping options, r.Map(entry.value, JoinKeyPath(path, entry.key)));
    for (const YamlEntry& option : options.entries()) {
      if (option.value.IsNull()) continue;
      bool is_harmless = std::find(harmless.begin(), harmless.end(), option.key) != harmless.end();
      if (!is_harmless) {
        return r.Fail(JoinKeyPath(options.path(), option.key),
                      "per-database options are not implemented yet; remove it to use whole "
                      "databases",
                      option.key_node);
      }
    }
  }
  return OkStatus();
}

Status ReadLogicalDump(YamlReader& r, YamlMapping& m, LogicalDumpOptions& o) {
  DBLAB_ASSIGN_OR_RETURN(YamlMapping source, r.Sub(m, "source"));
  std::string type = "remote";
  DBLAB_TRY(r.String(source, "type", &type));
  if (type != "remote" && type != "local") {
    return r.Fail(source.path() + ".type",
                  "'" + type + "' is not supported; use 'remote' (or 'local')");
  }
  DBLAB_TRY(r.String(source, "connectionString", &o.source.connection_string));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping connection, r.Sub(source, "connection"));
  DBLAB_TRY(r.String(connection, "host", &o.source.host));
  DBLAB_TRY(r.Int(connection, "port", 1, 65535, &o.source.port));
  DBLAB_TRY(r.String(connection, "dbname", &o.source.dbname));
  DBLAB_TRY(r.String(connection, "username", &o.source.username));
  DBLAB_TRY(r.String(connection, "password", &o.source.password));
  if (std::optional<std::string> pgpassword = r.variables()("PGPASSWORD");
      pgpassword && !pgpassword->empty()) {
    o.source.password = *pgpassword;
  }
  r.FinishSection(connection);
  r.FinishSection(source, {{"rdsIam", "RDS IAM authentication is not implemented yet"}});

  DBLAB_TRY(ReadDatabases(r, m, &o.databases, {}));
  DBLAB_TRY(r.Int(m, "parallelJobs", 1, 128, &o.parallel_jobs));
  DBLAB_TRY(r.StringList(m, "customOptions", &o.custom_options));
  DBLAB_TRY(r.String(m, "dumpLocation", &o.dump_location));
  DBLAB_TRY(CheckDumpLocation(r, m.path() + ".dumpLocation", o.dump_location));

  DBLAB_ASSIGN_OR_RETURN(YamlMapping immediate, r.Sub(m, "immediateRestore"));
  bool immediate_enabled = false;
  DBLAB_TRY(r.Bool(immediate, "enabled", &immediate_enabled));
  if (immediate_enabled) {
    return r.Fail(immediate.path() + ".enabled",
                  "immediate restore is not implemented yet; set it to false and add "
                  "logicalRestore to retrieval.jobs");
  }
  for (const YamlEntry* entry : immediate.Unused()) {
    r.Ignore(*entry, JoinKeyPath(immediate.path(), entry->key), kNotImplemented);
  }
  r.FinishSection(m, {{"configs", "pg_dump needs no local postgres settings"}});
  return OkStatus();
}

Status ReadLogicalRestore(YamlReader& r, YamlMapping& m, LogicalRestoreOptions& o) {
  DBLAB_TRY(r.Int(m, "parallelJobs", 1, 128, &o.parallel_jobs));
  DBLAB_TRY(r.StringList(m, "customOptions", &o.custom_options));
  DBLAB_TRY(r.String(m, "dumpLocation", &o.dump_location));
  DBLAB_TRY(CheckDumpLocation(r, m.path() + ".dumpLocation", o.dump_location));
  DBLAB_TRY(ReadDatabases(r, m, &o.databases, {"format"}));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping query, r.Sub(m, "queryPreprocessing"));
  DBLAB_TRY(ReadQueryPreprocessing(r, query, o.query_preprocessing));
  DBLAB_TRY(ReadSettings(r, m, "configs", &o.configs));
  r.FinishSection(m, {{"skipPolicies", kNotImplemented}});
  return OkStatus();
}

Status ReadLogicalSnapshot(YamlReader& r, YamlMapping& m, LogicalSnapshotOptions& o) {
  DBLAB_TRY(r.String(m, "preprocessingScript", &o.preprocessing_script));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping patching, r.Sub(m, "dataPatching"));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping query, r.Sub(patching, "queryPreprocessing"));
  DBLAB_TRY(ReadQueryPreprocessing(r, query, o.data_patching));
  r.FinishSection(patching);
  DBLAB_TRY(ReadSettings(r, m, "configs", &o.configs));
  r.FinishSection(m, {{"databaseRename", kNotImplemented}});
  return OkStatus();
}

// Checked with the parser the engine's scheduler uses later, so a timetable that passes here
// cannot fail (or abort) at start.
Status CheckTimetable(YamlReader& r, const std::string& path, const std::string& timetable) {
  if (timetable.empty()) return OkStatus();
  auto schedule = CronSchedule::Parse(timetable);
  if (!schedule.ok()) return r.Fail(path, schedule.error().message);
  return OkStatus();
}

// `envs:` of a physical job: environment variable names to values.
Status ReadEnvs(YamlReader& r, YamlMapping& m, std::map<std::string, std::string>* out) {
  static const std::regex kName("^[A-Za-z_][A-Za-z0-9_]*$");
  DBLAB_ASSIGN_OR_RETURN(YamlMapping envs, r.Sub(m, "envs"));
  for (const YamlEntry& entry : envs.entries()) {
    std::string path = JoinKeyPath(envs.path(), entry.key);
    if (!std::regex_match(entry.key, kName)) {
      return r.Fail(path, "not an environment variable name", entry.key_node);
    }
    std::string value;
    DBLAB_TRY(r.String(envs, entry.key, &value));
    if (HasControlBreak(value)) return r.Fail(path, "must be a single line", entry.value);
    (*out)[entry.key] = value;
  }
  return OkStatus();
}

Status ReadPhysicalRestore(YamlReader& r, YamlMapping& m, PhysicalRestoreOptions& o) {
  std::string tool = "customTool";
  DBLAB_TRY(r.String(m, "tool", &tool));
  if (tool != "customTool") {
    return r.Fail(m.path() + ".tool", "'" + tool +
                                          "' is not implemented yet; use customTool (with "
                                          "customTool.command, e.g. a wal-g or pgbackrest "
                                          "restore, or empty for pg_basebackup)");
  }
  DBLAB_ASSIGN_OR_RETURN(YamlMapping custom, r.Sub(m, "customTool"));
  DBLAB_TRY(r.String(custom, "command", &o.command));
  DBLAB_TRY(r.String(custom, "restore_command", &o.restore_command));
  if (HasControlBreak(o.command) || HasControlBreak(o.restore_command)) {
    return r.Fail(custom.path(), "command and restore_command must be single lines");
  }
  r.FinishSection(custom);
  DBLAB_ASSIGN_OR_RETURN(YamlMapping sync, r.Sub(m, "sync"));
  DBLAB_TRY(r.Bool(sync, "enabled", &o.sync_enabled));
  DBLAB_TRY(ReadSettings(r, sync, "configs", &o.sync_configs));
  r.FinishSection(sync, {{"healthCheck", "dblab watches the replica's process, not by polling"},
                         {"recovery", "recovery.conf options are for PostgreSQL 11 and older"}});
  DBLAB_TRY(ReadEnvs(r, m, &o.envs));
  r.FinishSection(m, {{"walg", "tool walg is not implemented yet (use customTool)"},
                      {"pgbackrest", "tool pgbackrest is not implemented yet (use customTool)"}});
  return OkStatus();
}

Status ReadPhysicalSnapshot(YamlReader& r, YamlMapping& m, PhysicalSnapshotOptions& o) {
  DBLAB_TRY(r.Bool(m, "skipStartSnapshot", &o.skip_start_snapshot));
  DBLAB_TRY(ReadSettings(r, m, "configs", &o.configs));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping promotion, r.Sub(m, "promotion"));
  bool promote = true;
  DBLAB_TRY(r.Bool(promotion, "enabled", &promote));
  if (!promote) {
    return r.Fail(promotion.path() + ".enabled",
                  "must be true: dblab always promotes a copy of the replica, masks it and stops "
                  "it cleanly before offering it as a snapshot");
  }
  DBLAB_ASSIGN_OR_RETURN(YamlMapping query, r.Sub(promotion, "queryPreprocessing"));
  DBLAB_TRY(ReadQueryPreprocessing(r, query, o.query_preprocessing));
  DBLAB_TRY(ReadSettings(r, promotion, "configs", &o.configs));
  r.FinishSection(promotion,
                  {{"healthCheck", "dblab waits for the promoted server's own ready state"},
                   {"recovery", "recovery.conf options are for PostgreSQL 11 and older"}});
  DBLAB_TRY(r.String(m, "preprocessingScript", &o.preprocessing_script));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping scheduler, r.Sub(m, "scheduler"));
  DBLAB_ASSIGN_OR_RETURN(YamlMapping snapshot, r.Sub(scheduler, "snapshot"));
  DBLAB_TRY(r.String(snapshot, "timetable", &o.snapshot_timetable));
  DBLAB_TRY(CheckTimetable(r, snapshot.path() + ".timetable", o.snapshot_timetable));
  r.FinishSection(snapshot);
  DBLAB_ASSIGN_OR_RETURN(YamlMapping retention, r.Sub(scheduler, "retention"));
  DBLAB_TRY(r.Int(retention, "limit", 0, 1000, &o.retention_limit));
  r.FinishSection(retention, {{"timetable", "retention is applied after each new snapshot"}});
  r.FinishSection(scheduler);
  r.FinishSection(m, {{"databaseRename", kNotImplemented},
                      {"envs", "the preprocessing script gets PGHOST, PGPORT, PGUSER, PGDATA"}});
  return OkStatus();
}

Status ReadRetrieval(YamlReader& r, YamlMapping& m, RetrievalConfig& c) {
  DBLAB_ASSIGN_OR_RETURN(YamlMapping refresh, r.Sub(m, "refresh"));
  DBLAB_TRY(r.String(refresh, "timetable", &c.refresh_timetable));
  DBLAB_TRY(r.Bool(refresh, "skipStartRefresh", &c.skip_start_refresh));
  DBLAB_TRY(CheckTimetable(r, "retrieval.refresh.timetable", c.refresh_timetable));
  r.FinishSection(refresh);

  DBLAB_TRY(r.StringList(m, "jobs", &c.jobs));
  static const std::set<std::string> kLogical = {"logicalDump", "logicalRestore",
                                                 "logicalSnapshot"};
  static const std::set<std::string> kPhysical = {"physicalRestore", "physicalSnapshot"};
  std::set<std::string> seen;
  std::string first_physical;
  bool any_logical = false;
  for (const std::string& job : c.jobs) {
    if (!kLogical.contains(job) && !kPhysical.contains(job)) {
      return r.Fail("retrieval.jobs", "unknown job '" + job +
                                          "'; expected logicalDump, logicalRestore, "
                                          "logicalSnapshot, physicalRestore or physicalSnapshot");
    }
    if (!seen.insert(job).second)
      return r.Fail("retrieval.jobs", "job '" + job + "' is listed twice");
    if (kPhysical.contains(job) && first_physical.empty()) first_physical = job;
    any_logical = any_logical || kLogical.contains(job);
  }
  if (any_logical && !first_physical.empty()) {
    return r.Fail("retrieval.jobs", "logical and physical jobs cannot be combined (" +
                                        first_physical + " with logical jobs); pick one method");
  }

  DBLAB_ASSIGN_OR_RETURN(YamlMapping spec, r.Sub(m, "spec"));
  struct Job {
    std::string_view name;
    std::function<Status(YamlMapping&)> read;
  };
  const Job jobs[] = {
      {"logicalDump", [&](YamlMapping& o) { return ReadLogicalDump(r, o, c.logical_dump); }},
      {"logicalRestore",
       [&](YamlMapping& o) { return ReadLogicalRestore(r, o, c.logical_restore); }},
      {"logicalSnapshot",
       [&](YamlMapping& o) { return ReadLogicalSnapshot(r, o, c.logical_snapshot); }},
      {"physicalRestore",
       [&](YamlMapping& o) { return ReadPhysicalRestore(r, o, c.physical_restore); }},
      {"physicalSnapshot",
       [&](YamlMapping& o) { return ReadPhysicalSnapshot(r, o, c.physical_snapshot); }},
  };
  for (const Job& job : jobs) {
    // Only the chosen method's specs are read; the other's are reported as ignored.
    bool physical_job = job.name.starts_with("physical");
    if (physical_job != !first_physical.empty()) continue;
    DBLAB_ASSIGN_OR_RETURN(YamlMapping job_spec, r.Sub(spec, job.name));
    DBLAB_ASSIGN_OR_RETURN(YamlMapping options, r.Sub(job_spec, "options"));
    DBLAB_TRY(job.read(options));
    r.FinishSection(job_spec);
  }
  constexpr std::string_view kPhysicalNote = "retrieval.jobs are logical";
  constexpr std::string_view kLogicalNote = "retrieval.jobs are physical";
  r.FinishSection(spec, {{"physicalRestore", kPhysicalNote},
                         {"physicalSnapshot", kPhysicalNote},
                         {"logicalDump", kLogicalNote},
                         {"logicalRestore", kLogicalNote},
                         {"logicalSnapshot", kLogicalNote}});
  r.FinishSection(m);
  return OkStatus();
}

// `masking:`: rules: [{column: schema.table.column, function: name, args: [...], database: db,
// seed: column}], anonymizerLabels, keyFile. Every rule is checked here, so a typo in a function
// name or its arguments stops the engine at start instead of leaving a column unmasked.
Status ReadMasking(YamlReader& r, YamlMapping& m, MaskingConfig& c) {
  DBLAB_TRY(r.Bool(m, "anonymizerLabels", &c.anonymizer_labels));
  DBLAB_TRY(r.String(m, "keyFile", &c.key_file));
  if (!c.key_file.empty() && !IsAbsoluteClean(c.key_file)) {
    return r.Fail("masking.keyFile", "must be an absolute path, got '" + c.key_file + "'");
  }
  const YamlEntry* rules = m.Take("rules");
  if (rules != nullptr && !rules->value.IsNull()) {
    if (!rules->value.IsSequence()) {
      return r.Fail("masking.rules", "expected a list of rules (- column: ..., function: ...)",
                    rules->value);
    }
    int index = 0;
    for (const YAML::Node& item : rules->value) {
      std::string path = "masking.rules[" + std::to_string(index++) + "]";
      DBLAB_ASSIGN_OR_RETURN(YamlMapping rule_map, r.Map(item, path));
      MaskingRule rule;
      std::string column, function;
      for (const YamlEntry& entry : rule_map.entries()) {
        if (entry.key == "function" && entry.value.IsNull() && entry.value.Tag() != "!") {
          return r.Fail(path + ".function",
                        "is empty; for the null function write it in quotes: function: \"null\"",
                        entry.value);
        }
      }
      DBLAB_TRY(r.String(rule_map, "column", &column));
      DBLAB_TRY(r.String(rule_map, "function", &function));
      DBLAB_TRY(r.String(rule_map, "database", &rule.database));
      DBLAB_TRY(r.String(rule_map, "seed", &rule.seed_column));
      if (column.empty()) {
        return r.Fail(path + ".column", "is required ([schema.]table.column)", item);
      }
      std::optional<MaskFunction> known = MaskFunctionFromName(function);
      if (!known) {
        return r.Fail(path + ".function",
                      (function.empty() ? std::string("is required")
                                        : "unknown masking function '" + function + "'") +
                          "; expected one of " + MaskFunctionNames(),
                      item);
      }
      rule.function = *known;
      rule.origin = path + " (" + column + ")";
      Status parsed = ParseColumnPath(column, path + ".column", &rule);
      if (!parsed.ok()) return r.Fail("", parsed.error().message, item);
      if (!rule.database.empty() && (rule.database.size() > 63 || HasControlBreak(rule.database))) {
        return r.Fail(path + ".database", "must be a database name of 1 to 63 bytes", item);
      }
      if (!rule.seed_column.empty() &&
          (rule.seed_column.size() > 63 || HasControlBreak(rule.seed_column))) {
        return r.Fail(path + ".seed", "must be a column name of the same table", item);
      }
      if (const YamlEntry* args = rule_map.Take("args"); args != nullptr && !args->value.IsNull()) {
        if (!args->value.IsSequence()) {
          return r.Fail(path + ".args", "expected a list (args: [2, \"XXXX\", 2])", args->value);
        }
        for (const YAML::Node& arg : args->value) {
          if (!arg.IsScalar()) return r.Fail(path + ".args", "items must be single values", arg);
          rule.args.push_back(r.Expand(arg.Scalar()));
        }
      }
      Status checked = CheckMaskArguments(rule.function, rule.args, path);
      if (!checked.ok()) return r.Fail("", checked.error().message, item);
      for (const MaskingRule& other : c.rules) {
        if (other.database == rule.database && other.schema == rule.schema &&
            other.table == rule.table && other.column == rule.column) {
          return r.Fail(path + ".column", "masks the same column as " + other.origin, item);
        }
      }
      r.FinishSection(rule_map);
      c.rules.push_back(std::move(rule));
    }
  }
  r.FinishSection(m);
  return OkStatus();
}

// webhooks.hooks: DLE's list of {url, secret, trigger}.
Status ReadWebhooks(YamlReader& r, YamlMapping& m, EngineConfig& c) {
  if (const YamlEntry* hooks = m.Take("hooks"); hooks != nullptr && !hooks->value.IsNull()) {
    if (!hooks->value.IsSequence()) {
      return r.Fail("webhooks.hooks", "expected a list of hooks (- url: ...)", hooks->value);
    }
    int index = 0;
    for (const YAML::Node& item : hooks->value) {
      std::string path = "webhooks.hooks[" + std::to_string(index++) + "]";
      DBLAB_ASSIGN_OR_RETURN(YamlMapping hook_map, r.Map(item, path));
      WebhookHook hook;
      DBLAB_TRY(r.String(hook_map, "url", &hook.url));
      DBLAB_TRY(r.String(hook_map, "secret", &hook.secret));
      DBLAB_TRY(r.StringList(hook_map, "trigger", &hook.triggers));
      Status valid = ValidateWebhookHook(hook, path);
      if (!valid.ok()) return r.Fail("", valid.error().message, item);
      r.FinishSection(hook_map);
      c.webhooks.push_back(std::move(hook));
    }
  }
  r.FinishSection(m);
  return OkStatus();
}

}  // namespace

YamlReaderOptions DleReaderOptions(int* image_major) {
  YamlReaderOptions options;
  options.ignored_anywhere = {{"dockerImage", kDockerNote, kDockerOnly},
                              {"containerConfig", kDockerNote, kDockerOnly}};
  options.on_ignored = [image_major](YamlReader& r, const YamlEntry& entry,
                                     const std::string& path) {
    if (entry.key == "dockerImage") NoteImage(r, entry, path, image_major);
  };
  return options;
}

Status ReadDleSections(YamlReader& r, YamlMapping& root, EngineConfig* config) {
  EngineConfig& c = *config;
  struct Section {
    std::string_view name;
    std::function<Status(YamlMapping&)> read;
  };
  const Section sections[] = {
      {"server", [&](YamlMapping& m) { return ReadServer(r, m, c); }},
      {"embeddedUI", [&](YamlMapping& m) { return ReadEmbeddedUi(r, m, c); }},
      {"global", [&](YamlMapping& m) { return ReadGlobal(r, m, c); }},
      {"poolManager", [&](YamlMapping& m) { return ReadPoolManager(r, m, c); }},
      {"databaseConfigs",
       [&](YamlMapping& m) -> Status {
         DBLAB_TRY(ReadSettings(r, m, "configs", &c.clone_configs));
         r.FinishSection(m);
         return OkStatus();
       }},
      // After databaseConfigs so that provision-level settings win.
      {"provision", [&](YamlMapping& m) { return ReadProvision(r, m, c); }},
      {"cloning", [&](YamlMapping& m) { return ReadCloning(r, m, c); }},
      {"retrieval", [&](YamlMapping& m) { return ReadRetrieval(r, m, c.retrieval); }},
      {"masking", [&](YamlMapping& m) { return ReadMasking(r, m, c.retrieval.masking); }},
      {"webhooks", [&](YamlMapping& m) { return ReadWebhooks(r, m, c); }},
  };
  for (const Section& section : sections) {
    DBLAB_ASSIGN_OR_RETURN(YamlMapping map, r.Sub(root, section.name));
    DBLAB_TRY(section.read(map));
  }

  static constexpr IgnoredKey kIgnored[] = {
      {"databaseContainer", kDockerNote, kDockerOnly},
      {"retention", "automatic deletion of unused snapshots and branches is not implemented yet"},
      {"diagnostic", "dblab keeps no separate diagnostic logs"},
      {"observer", "observation sessions take their settings from each request"},
      {"estimator", "the estimator is not implemented"},
      {"platform", "the Postgres.ai Platform integration is not implemented"},
  };
  for (const YamlEntry* entry : root.Unused()) {
    auto rule = std::find_if(std::begin(kIgnored), std::end(kIgnored),
                             [&](const IgnoredKey& s) { return s.key == entry->key; });
    if (rule != std::end(kIgnored)) {
      r.IgnoreSection(*entry, rule->note, rule->qualifier);
    } else {
      r.Warn(*entry, "unknown top-level key " + entry->key + " (ignored)");
    }
  }

  if (c.state_dir.empty()) c.state_dir = (c.mount_dir == "/" ? "" : c.mount_dir) + "/.dblab-engine";
  if (c.retrieval.masking.key_file.empty()) {
    c.retrieval.masking.key_file = c.state_dir + "/masking.key";
  }
  if (c.port >= c.port_pool.from && c.port <= c.port_pool.to) {
    return r.Fail("server.port", std::to_string(c.port) + " is inside provision.portPool (" +
                                     std::to_string(c.port_pool.from) + "-" +
                                     std::to_string(c.port_pool.to) + ")");
  }
  if (c.verification_token.empty()) {
    r.WarnUnplaced(
        "server.verificationToken is empty: the API accepts requests without a token (set it, "
        "e.g. verificationToken: \"${DBLAB_VERIFICATION_TOKEN}\")");
  }
  return OkStatus();
}

}  // namespace dblab
