// Engine configuration: DLE-compatible server.yml loading.
//
// Contract: ParseConfig/LoadConfigFile read a DLE-style server.yml (yaml-cpp; `<<` merge keys are
// resolved by config/yaml_reader.h, as Debian's yaml-cpp 0.7 does not), expand `${VAR}` in string
// values from the environment, apply defaults, and validate. They never throw; every invalid
// input is a kBadRequest whose message reads "ORIGIN: line N: key.path: what is wrong". Keys that
// only mean something to DLE's Docker setup (or to features dblab does not have yet) are accepted
// and reported, one human-readable line each, in EngineConfig::warnings. Key-by-key reference:
// docs/config.md. Pure functions of (text, environment): safe to call from any thread as long as
// the environment lookup is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "domain/ops_types.h"
#include "masking/rules.h"

namespace dblab {

struct PortRange {
  int from = 6000;
  int to = 6099;
};

struct QueryPreprocessing {
  std::string query_path;  // directory of *.sql files; empty = none
  std::string inline_sql;  // DLE key `inline`; runs after the files
  int max_parallel_workers = 2;
};

struct SourceConnection {
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string dbname = "postgres";
  std::string username = "postgres";
  std::string password;  // PGPASSWORD from the environment wins over the file
  // DLE 4.2 `source.connectionString` (URI or key=value). When set it wins over the discrete
  // fields above (the password still comes from `password`/PGPASSWORD).
  std::string connection_string;
};

struct LogicalDumpOptions {
  SourceConnection source;
  std::vector<std::string> databases;  // empty = all
  int parallel_jobs = 2;
  std::vector<std::string> custom_options;  // extra pg_dump arguments, one argv entry each
  std::string dump_location;                // empty => <pool>/dump (see EngineConfig::DumpLocation)
};

struct LogicalRestoreOptions {
  int parallel_jobs = 2;
  std::vector<std::string> custom_options;  // extra pg_restore arguments, one argv entry each
  QueryPreprocessing query_preprocessing;
  std::map<std::string, std::string> configs;  // postgres settings while restoring
  std::vector<std::string> databases;          // added: databases to restore; empty = all dumped
  std::string dump_location;  // added: empty => the dump job's (see EngineConfig::RestoreLocation)
};

struct LogicalSnapshotOptions {
  std::string preprocessing_script;
  QueryPreprocessing data_patching;
  std::map<std::string, std::string> configs;  // postgres settings while preparing the snapshot
};

// physicalRestore: a physical copy of the source into main data, then (sync.enabled) a streaming
// replica on it that stays in sync with the source.
struct PhysicalRestoreOptions {
  // customTool.command, split into arguments like a shell would (quotes, backslashes) but run
  // without one. Empty: `pg_basebackup -X stream --checkpoint=fast -D <main data>`, connecting
  // with `envs`. Runs as provision.osUser with `envs` in its environment.
  std::string command;
  std::string restore_command;  // customTool.restore_command: the replica's restore_command
  bool sync_enabled = true;
  std::map<std::string, std::string> sync_configs;  // postgres settings of the replica
  // envs: PGHOST, PGPORT, PGUSER, PGPASSWORD, ... for the tool; the replica connects to the
  // source with PGHOST/PGPORT/PGUSER (and the password through a passfile, never argv).
  std::map<std::string, std::string> envs;
};

// physicalSnapshot: a snapshot of the replica is promoted in a temporary clone, preprocessed
// (masked), stopped cleanly and only then offered as a snapshot.
struct PhysicalSnapshotOptions {
  bool skip_start_snapshot = false;
  QueryPreprocessing query_preprocessing;      // promotion.queryPreprocessing
  std::map<std::string, std::string> configs;  // options.configs + promotion.configs
  std::string preprocessing_script;
  std::string snapshot_timetable;  // scheduler.snapshot.timetable (5-field cron); empty = none
  int retention_limit = 0;         // scheduler.retention.limit; 0 = keep all
};

struct RetrievalConfig {
  std::vector<std::string> jobs;  // validated: one method (logical or physical), no duplicates
  std::string refresh_timetable;  // 5-field cron; empty = no scheduled refresh
  bool skip_start_refresh = false;
  LogicalDumpOptions logical_dump;
  LogicalRestoreOptions logical_restore;
  LogicalSnapshotOptions logical_snapshot;
  PhysicalRestoreOptions physical_restore;
  PhysicalSnapshotOptions physical_snapshot;
  MaskingConfig masking;  // read from the top-level `masking:` key, used by both methods
  // The PostgreSQL major of a DLE `dockerImage` tag (postgresai/extended-postgres:17-0.6.2 ->
  // 17), 0 when none names one: logical retrieval restores into a server of this major.
  int image_major = 0;
  bool enabled() const { return !jobs.empty(); }
  bool physical() const { return HasJob("physicalRestore") || HasJob("physicalSnapshot"); }
  bool HasJob(const std::string& job) const;  // added
};

struct EngineConfig {
  // server
  std::string verification_token;
  std::string host = "127.0.0.1";
  int port = 2345;
  std::string ui_dir;  // own key server.uiDir; empty = <install>/ui/dist auto-detected by engine
  bool ui_enabled = true;  // added: embeddedUI.enabled (false = do not serve the web UI)
  // global
  bool debug = false;
  std::string database_username = "postgres";
  std::string database_dbname = "postgres";
  std::string state_dir;  // own key global.stateDir; filled with "<mountDir>/.dblab-engine"
  // own key global.residueGate: refuse to publish a snapshot that still holds originals of
  // what masking replaced (docs/masking.md)
  bool residue_gate = true;
  // poolManager
  std::string mount_dir = "/var/lib/dblab";  // absolute, without trailing slash
  std::string data_sub_dir = "data";
  std::string clones_mount_sub_dir = "clones";
  std::string socket_sub_dir = "sockets";
  std::string selected_pool;  // "" => "dblab_pool"
  std::string pool_backend =
      "btrfs";  // own key poolManager.backend: btrfs|zfs|reflink|overlay|copy
  int64_t pool_image_size_bytes = 20LL << 30;  // own key poolManager.imageSize ("20GB", bytes)
  // provision
  PortRange port_pool;
  std::string clone_access_addresses = "127.0.0.1";
  std::string os_user = "postgres";  // own key provision.osUser
  bool keep_user_passwords = false;
  std::string pg_bin_dir;         // own key provision.pgBinDir; empty = detect
  int min_password_strength = 0;  // own key provision.minPasswordStrength (0 = accept anything)
  int64_t clone_memory_limit_bytes = 0;  // own key provision.cloneMemoryLimit (0 = none)
  double clone_cpu_limit = 0;            // own key provision.cloneCpuLimit (0 = none)
  int warm_pool_size = 0;  // own key provision.warmPool: clones kept started on the latest snapshot
  // Own key provision.cloneWalDir: where clones keep their WAL. "auto": beside the pool's image
  // when the engine mounts one (<pool>.wal), else inside the clones; "off": inside; or a path.
  std::string clone_wal_dir = "auto";
  int64_t clone_wal_max_bytes = int64_t{8} << 30;    // provision.cloneWalMaxSize; 0 = no limit
  std::map<std::string, std::string> clone_configs;  // databaseConfigs.configs (+ provision)
  // cloning
  std::string access_host = "127.0.0.1";
  int64_t max_idle_minutes = 120;
  int64_t protection_lease_duration_minutes = 1440;
  int64_t protection_max_duration_minutes = 10080;

  RetrievalConfig retrieval;

  // webhooks.hooks (DLE): validated (http(s) URL, known triggers); see docs/webhooks.md.
  std::vector<WebhookHook> webhooks;

  // Human-readable lines in file order, e.g. "ignored Docker-only key
  // databaseContainer.dockerImage (dblab runs postgres directly)". Log them at start.
  std::vector<std::string> warnings;

  std::string PoolName() const;         // selected_pool or "dblab_pool"
  std::string PoolPath() const;         // mount_dir + "/" + PoolName()
  std::string DumpLocation() const;     // added: logical_dump.dump_location or PoolPath()/dump
  std::string RestoreLocation() const;  // added: logical_restore.dump_location or DumpLocation()
};

// Looks up an environment variable; nullopt when unset. Injected so tests stay hermetic.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> ProcessEnvironment(const std::string& name);  // getenv

// Reads and parses `path`. Errors: kNotFound (no such file), kInternal (unreadable),
// kBadRequest ("PATH: line N: key: ...") for invalid content.
Result<EngineConfig> LoadConfigFile(const std::string& path);
Result<EngineConfig> LoadConfigFile(const std::string& path, const EnvLookup& env);

// Parses a server.yml text; `origin` prefixes error messages (usually the file name).
Result<EngineConfig> ParseConfig(const std::string& yaml_text,
                                 const std::string& origin = "<config>");
Result<EngineConfig> ParseConfig(const std::string& yaml_text, const std::string& origin,
                                 const EnvLookup& env);

// "20GB" -> 20 * 1024^3. Units are case-insensitive and always binary: B, K/KB/KiB, M/MB/MiB,
// G/GB/GiB, T/TB/TiB, P/PB/PiB (so GB == GiB, as in postgresql.conf); plain digits are bytes;
// a decimal fraction is allowed ("1.5G", rounded down to whole bytes). Errors: kBadRequest.
Result<int64_t> ParseByteSize(const std::string& text);

}  // namespace dblab
