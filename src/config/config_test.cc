#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace dblab {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A fake environment, so tests neither read nor change the process's.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<EngineConfig> Parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return ParseConfig(yaml, "server.yml", FakeEnv(std::move(env)));
}

// Parses `yaml`, which must be valid, and returns the config.
EngineConfig ParseOk(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  Result<EngineConfig> config = Parse(yaml, std::move(env));
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  return config.ok() ? *config : EngineConfig{};
}

// Parses `yaml`, which must be refused, and returns the error message.
std::string ParseError(const std::string& yaml) {
  Result<EngineConfig> config = Parse(yaml);
  EXPECT_FALSE(config.ok()) << "expected an error for:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.error().code, ErrorCode::kBadRequest);
  return config.error().message;
}

// /work/shared/reference, found from DBLAB_SOURCE_DIR or from this file's location.
std::filesystem::path ReferenceDir() {
  std::vector<std::filesystem::path> candidates;
  if (const char* source = std::getenv("DBLAB_SOURCE_DIR")) {
    candidates.push_back(std::filesystem::path(source) / "../shared/reference");
  }
  candidates.push_back(std::filesystem::path(__FILE__).parent_path() / "../../../shared/reference");
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_directory(candidate)) return candidate;
  }
  return {};
}

// ---- DLE's own example configs -----------------------------------------------------------------

TEST(ConfigReference, LogicalGenericLoadsWithDleMeanings) {
  std::filesystem::path file = ReferenceDir() / "dle-config.logical_generic.yml";
  if (ReferenceDir().empty() || !std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;

  Result<EngineConfig> loaded =
      LoadConfigFile(file.string(), FakeEnv({{"DBLAB_VERIFICATION_TOKEN", "secret-token"}}));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const EngineConfig& c = *loaded;

  EXPECT_EQ(c.verification_token, "secret-token");
  EXPECT_EQ(c.port, 2345);
  EXPECT_TRUE(c.debug);
  EXPECT_TRUE(c.ui_enabled);
  EXPECT_EQ(c.database_username, "postgres");
  EXPECT_EQ(c.mount_dir, "/var/lib/dblab");
  EXPECT_EQ(c.PoolName(), "dblab_pool");  // selectedPool: ""
  EXPECT_EQ(c.PoolPath(), "/var/lib/dblab/dblab_pool");
  EXPECT_EQ(c.state_dir, "/var/lib/dblab/.dblab-engine");
  EXPECT_EQ(c.port_pool.from, 6000);
  EXPECT_EQ(c.port_pool.to, 6099);
  EXPECT_EQ(c.clone_access_addresses, "127.0.0.1");
  EXPECT_EQ(c.access_host, "localhost");
  EXPECT_EQ(c.max_idle_minutes, 120);
  EXPECT_EQ(c.protection_lease_duration_minutes, 1440);
  EXPECT_EQ(c.protection_max_duration_minutes, 10080);
  const std::map<std::string, std::string> db_configs = {
      {"shared_buffers", "1GB"},
      {"shared_preload_libraries", "pg_stat_statements, pg_stat_kcache, auto_explain, logerrors"},
      {"maintenance_work_mem", "500MB"},
      {"work_mem", "100MB"}};
  EXPECT_EQ(c.clone_configs, db_configs);

  const RetrievalConfig& r = c.retrieval;
  EXPECT_THAT(r.jobs, ElementsAre("logicalDump", "logicalRestore", "logicalSnapshot"));
  EXPECT_TRUE(r.enabled());
  EXPECT_EQ(r.refresh_timetable, "0 0 * * 1");
  EXPECT_FALSE(r.skip_start_refresh);
  EXPECT_EQ(r.logical_dump.source.host, "127.0.0.1");  // `host:` is empty: default
  EXPECT_EQ(r.logical_dump.source.port, 5432);
  EXPECT_EQ(r.logical_dump.source.password, "postgres");
  EXPECT_THAT(r.logical_dump.databases, IsEmpty());  // null: all databases
  EXPECT_EQ(r.logical_dump.parallel_jobs, 4);
  EXPECT_THAT(r.logical_dump.custom_options, IsEmpty());
  EXPECT_EQ(c.DumpLocation(), "/var/lib/dblab/dblab_pool/dump");
  EXPECT_EQ(c.RestoreLocation(), "/var/lib/dblab/dblab_pool/dump");
  EXPECT_EQ(r.logical_restore.parallel_jobs, 4);
  EXPECT_THAT(r.logical_restore.custom_options,
              ElementsAre("--no-tablespaces", "--no-privileges", "--no-owner", "--exit-on-error"));
  EXPECT_EQ(r.logical_restore.configs, db_configs);  // second `<<` of the mapping
  EXPECT_EQ(r.logical_restore.query_preprocessing.max_parallel_workers, 2);
  EXPECT_EQ(r.logical_snapshot.configs, db_configs);
  EXPECT_EQ(r.logical_snapshot.data_patching.max_parallel_workers, 2);

  // Each Docker key warns once, where it is written, although anchors copy it to five places.
  EXPECT_THAT(c.warnings, Contains("ignored Docker-only key databaseContainer.dockerImage (dblab "
                                   "runs postgres directly)")
                              .Times(1));
  EXPECT_THAT(c.warnings, Contains(HasSubstr("dockerImage")).Times(2));  // + embeddedUI's
  EXPECT_THAT(c.warnings, Contains(HasSubstr("containerConfig")).Times(1));
  EXPECT_THAT(c.warnings, Contains(HasSubstr("provision.useSudo")));
  EXPECT_THAT(c.warnings, Contains(HasSubstr("platform.url")));
  EXPECT_THAT(c.warnings, Contains(HasSubstr("diagnostic.logsRetentionDays")));
  EXPECT_THAT(c.warnings, Not(Contains(HasSubstr("unknown"))));
  EXPECT_THAT(c.warnings, Not(Contains(HasSubstr("observer ("))));  // `observer:` is empty
}

TEST(ConfigReference, PhysicalGenericLoadsWithItsReplicaAndSnapshotSettings) {
  std::filesystem::path file = ReferenceDir() / "dle-config.physical_generic.yml";
  if (ReferenceDir().empty() || !std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;

  Result<EngineConfig> loaded = LoadConfigFile(file.string(), FakeEnv({}));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const RetrievalConfig& r = loaded->retrieval;
  EXPECT_TRUE(r.physical());
  EXPECT_EQ(r.physical_restore.command,
            "pg_basebackup -X stream -D /var/lib/dblab/dblab_pool/data");
  EXPECT_TRUE(r.physical_restore.sync_enabled);
  EXPECT_EQ(r.physical_restore.sync_configs.at("shared_buffers"), "2GB");
  EXPECT_EQ(r.physical_restore.envs.at("PGHOST"), "source.hostname");
  EXPECT_EQ(r.physical_restore.envs.at("PGPORT"), "5432");
  EXPECT_EQ(r.physical_snapshot.snapshot_timetable, "0 */6 * * *");
  EXPECT_EQ(r.physical_snapshot.retention_limit, 4);
  EXPECT_EQ(r.physical_snapshot.configs.at("shared_buffers"), "2GB");
  EXPECT_EQ(r.physical_snapshot.query_preprocessing.max_parallel_workers, 2);
  EXPECT_THAT(loaded->warnings, Not(Contains(HasSubstr("unknown"))));
  EXPECT_THAT(loaded->warnings,
              Contains(HasSubstr("retrieval.spec.physicalRestore.options.sync.healthCheck")));
}

// ---- Defaults -------------------------------------------------------------------------------

TEST(ConfigDefaults, EmptyFileGivesDefaults) {
  EngineConfig c = ParseOk("");
  EngineConfig d;
  EXPECT_EQ(c.port, 2345);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.mount_dir, d.mount_dir);
  EXPECT_EQ(c.pool_backend, "btrfs");
  EXPECT_EQ(c.pool_image_size_bytes, 20LL << 30);
  EXPECT_EQ(c.os_user, "postgres");
  EXPECT_EQ(c.state_dir, "/var/lib/dblab/.dblab-engine");
  EXPECT_FALSE(c.retrieval.enabled());
  EXPECT_THAT(c.warnings, ElementsAre(HasSubstr("server.verificationToken is empty")));
}

TEST(ConfigDefaults, EmptyValuesMeanDefault) {
  EngineConfig c = ParseOk(R"(
server:
  verificationToken: t
  host:
  port:
poolManager:
  mountDir:
  selectedPool:
provision:
  portPool:
    from:
retrieval:
  jobs:
  spec:
    logicalDump:
      options:
        databases:
        parallelJobs:
        source:
          connection:
            host:
)");
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 2345);
  EXPECT_EQ(c.mount_dir, "/var/lib/dblab");
  EXPECT_EQ(c.port_pool.from, 6000);
  EXPECT_EQ(c.retrieval.logical_dump.parallel_jobs, 2);
  EXPECT_EQ(c.retrieval.logical_dump.source.host, "127.0.0.1");
  EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(ConfigDefaults, TheResidueGateIsOnUnlessTurnedOff) {
  EXPECT_TRUE(ParseOk("server: {verificationToken: t}\n").residue_gate);
  EngineConfig off = ParseOk("server: {verificationToken: t}\nglobal: {residueGate: false}\n");
  EXPECT_FALSE(off.residue_gate);
  EXPECT_THAT(off.warnings, IsEmpty());
}

TEST(ConfigDefaults, OwnKeysAreRead) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t, uiDir: /opt/dblab/ui}
embeddedUI: {enabled: false}
global: {stateDir: /var/lib/dblab-state}
poolManager: {mountDir: /srv/dblab/, backend: zfs, imageSize: 512MiB, selectedPool: pool_2}
provision: {osUser: dblab, pgBinDir: /usr/lib/postgresql/15/bin, minPasswordStrength: 3}
)");
  EXPECT_EQ(c.ui_dir, "/opt/dblab/ui");
  EXPECT_FALSE(c.ui_enabled);
  EXPECT_EQ(c.state_dir, "/var/lib/dblab-state");
  EXPECT_EQ(c.mount_dir, "/srv/dblab");  // trailing slash dropped
  EXPECT_EQ(c.PoolPath(), "/srv/dblab/pool_2");
  EXPECT_EQ(c.pool_backend, "zfs");
  EXPECT_EQ(c.pool_image_size_bytes, 512LL << 20);
  EXPECT_EQ(c.os_user, "dblab");
  EXPECT_EQ(c.pg_bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(c.min_password_strength, 3);
  EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(ConfigDefaults, DatabasesAsDleMappingOrPlainList) {
  EngineConfig mapping = ParseOk(R"(
server: {verificationToken: t}
retrieval:
  spec:
    logicalDump: {options: {databases: {app: , billing: }}}
    logicalRestore: {options: {databases: {app: {format: directory}}, dumpLocation: /dumps}}
)");
  EXPECT_THAT(mapping.retrieval.logical_dump.databases, ElementsAre("app", "billing"));
  EXPECT_THAT(mapping.retrieval.logical_restore.databases, ElementsAre("app"));
  EXPECT_EQ(mapping.RestoreLocation(), "/dumps");

  EngineConfig list = ParseOk(R"(
server: {verificationToken: t}
retrieval: {spec: {logicalDump: {options: {databases: [app, billing]}}}}
)");
  EXPECT_THAT(list.retrieval.logical_dump.databases, ElementsAre("app", "billing"));
}

// ---- `<<` merge keys (yaml-cpp 0.7 leaves them to us) ------------------------------------------
// The merge rules themselves (precedence, nesting, duplicates) are the reader's:
// yaml_reader_test.cc. Here: what they mean for server.yml.

TEST(ConfigMerge, ExplicitKeysWinOverMergedOnes) {
  EngineConfig c = ParseOk(R"(
base: &base {from: 7000, to: 7999}
server: {verificationToken: t}
provision:
  portPool:
    <<: *base
    to: 7010
)");
  EXPECT_EQ(c.port_pool.from, 7000);
  EXPECT_EQ(c.port_pool.to, 7010);
}

TEST(ConfigMerge, MergeIsShallowLikeYaml) {
  // The explicit `configs` replaces the merged one whole; settings are not combined.
  EngineConfig c = ParseOk(R"(
databaseConfigs: &db_configs
  configs: {shared_buffers: 1GB, work_mem: 64MB}
server: {verificationToken: t}
retrieval:
  spec:
    logicalRestore:
      options:
        <<: *db_configs
        configs: {work_mem: 1GB}
)");
  EXPECT_THAT(c.retrieval.logical_restore.configs, ElementsAre(Pair("work_mem", "1GB")));
  EXPECT_EQ(c.clone_configs.size(), 2u);
}

TEST(ConfigMerge, ProvisionConfigsAreCloneSettingsAndWinOverDatabaseConfigs) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
databaseConfigs: {configs: {shared_buffers: 1GB, work_mem: 64MB}}
provision: {configs: {work_mem: 128MB}}
)");
  EXPECT_THAT(c.clone_configs,
              UnorderedElementsAre(Pair("shared_buffers", "1GB"), Pair("work_mem", "128MB")));
}

TEST(ConfigMerge, QuotedMergeKeyIsAnOrdinaryKey) {
  EngineConfig c = ParseOk("server: {verificationToken: t}\nprovision:\n  \"<<\": {from: 7000}\n");
  EXPECT_EQ(c.port_pool.from, 6000);
  EXPECT_THAT(c.warnings, ElementsAre(HasSubstr("unknown key provision.<<")));
}

// ---- Environment ------------------------------------------------------------------------------

TEST(ConfigEnv, ExpandsBracedVariablesInStrings) {
  EngineConfig c = ParseOk(R"(
server:
  verificationToken: "${DBLAB_VERIFICATION_TOKEN}"
cloning:
  accessHost: "${HOST_PREFIX}.example.com"
databaseConfigs:
  configs: {application_name: "${APP}x"}
)",
                           {{"DBLAB_VERIFICATION_TOKEN", "tok"}, {"HOST_PREFIX", "db1"}});
  EXPECT_EQ(c.verification_token, "tok");
  EXPECT_EQ(c.access_host, "db1.example.com");
  EXPECT_EQ(c.clone_configs.at("application_name"), "x");  // unset: empty
}

TEST(ConfigEnv, UnsetVariableIsEmptyAndOtherDollarsStay) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: "${UNSET_VAR}"}
retrieval:
  spec:
    logicalDump:
      options:
        source: {connection: {password: "pa$$word${"}}
)");
  EXPECT_EQ(c.verification_token, "");
  EXPECT_EQ(c.retrieval.logical_dump.source.password, "pa$$word${");
}

TEST(ConfigEnv, PgpasswordWinsOverTheFile) {
  const std::string yaml = R"(
server: {verificationToken: t}
retrieval: {spec: {logicalDump: {options: {source: {connection: {password: from_file}}}}}}
)";
  EXPECT_EQ(ParseOk(yaml, {{"PGPASSWORD", "from_env"}}).retrieval.logical_dump.source.password,
            "from_env");
  EXPECT_EQ(ParseOk(yaml, {{"PGPASSWORD", ""}}).retrieval.logical_dump.source.password,
            "from_file");
  EXPECT_EQ(ParseOk(yaml).retrieval.logical_dump.source.password, "from_file");
}

// ---- Byte sizes ------------------------------------------------------------------------------

TEST(ConfigByteSize, UnitsAreBinaryAndCaseInsensitive) {
  const std::pair<const char*, int64_t> cases[] = {
      {"0", 0},
      {"12345", 12345},
      {"100B", 100},
      {"1K", 1024},
      {"1kb", 1024},
      {"1KiB", 1024},
      {"512MiB", 512LL << 20},
      {"512MB", 512LL << 20},
      {"20GB", 20LL << 30},
      {"20GiB", 20LL << 30},
      {"20g", 20LL << 30},
      {"20 GB", 20LL << 30},
      {"1T", 1LL << 40},
      {"2PiB", 2LL << 50},
      {"1.5G", 3LL << 29},
      {" 7 ", 7},
  };
  for (const auto& [text, bytes] : cases) {
    Result<int64_t> parsed = ParseByteSize(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, bytes) << text;
  }
}

TEST(ConfigByteSize, RefusesWhatIsNotASize) {
  for (const char* text : {"", "GB", "-1G", "1.2.3G", "20XB", "1e9", "20 G B", "9999999999P",
                           "99999999999999999999"}) {
    Result<int64_t> parsed = ParseByteSize(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kBadRequest);
    }
  }
}

TEST(ConfigByteSize, ImageSizeAcceptsPlainBytesAndNamesTheKeyOnError) {
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\npoolManager: {imageSize: 1073741824}\n")
                .pool_image_size_bytes,
            1LL << 30);
  EXPECT_THAT(ParseError("poolManager:\n  imageSize: lots\n"),
              HasSubstr("server.yml: line 2: poolManager.imageSize: 'lots' is not a byte size"));
  EXPECT_THAT(ParseError("poolManager: {imageSize: 0}\n"),
              HasSubstr("poolManager.imageSize: must be greater than 0"));
}

// ---- Validation: every error names its key -------------------------------------------------

struct InvalidCase {
  const char* yaml;
  const char* message;  // expected substring
};

TEST(ConfigValidation, EveryErrorNamesTheKeyPath) {
  const InvalidCase cases[] = {
      {"server: {port: 0}", "server.port: must be between 1 and 65535, got 0"},
      {"server: {port: 70000}", "server.port: must be between 1 and 65535, got 70000"},
      {"server: {port: abc}", "server.port: expected a whole number, got 'abc'"},
      {"server: {port: [1]}", "server.port: expected a single value"},
      {"server: {port: 6050}", "server.port: 6050 is inside provision.portPool (6000-6099)"},
      {"server: {uiDir: ui/dist}", "server.uiDir: must be an absolute path"},
      {"server: []", "server: expected a mapping"},
      {"global: {engine: mysql}", "global.engine: only 'postgres' is supported"},
      {"global: {debug: maybe}", "global.debug: expected true or false, got 'maybe'"},
      {"global: {database: {username: ''}}", "global.database.username: must be a postgres name"},
      {"global: {stateDir: state}", "global.stateDir: must be an absolute path"},
      {"provision: {portPool: {from: 6100, to: 6099}}",
       "provision.portPool.from: must be <= provision.portPool.to (6099)"},
      {"provision: {portPool: {from: 80}}",
       "provision.portPool.from: must be between 1024 and 65535, got 80"},
      {"provision: {portPool: {to: 65536}}",
       "provision.portPool.to: must be between 1024 and 65535, got 65536"},
      {"provision: {osUser: Root}", "provision.osUser: must be an OS user name"},
      {"provision: {osUser: 'a b'}", "provision.osUser: must be an OS user name"},
      {"provision: {osUser: ''}", "provision.osUser: must be an OS user name"},
      {"provision: {pgBinDir: bin}", "provision.pgBinDir: must be an absolute path"},
      {"provision: {minPasswordStrength: 5}", "provision.minPasswordStrength: must be between 0"},
      {"provision: {cloneAccessAddresses: \"a'b\"}", "provision.cloneAccessAddresses: must be"},
      {"provision: {keepUserPasswords: 2}", "provision.keepUserPasswords: expected true or false"},
      {"poolManager: {mountDir: var/lib/dblab}", "poolManager.mountDir: must be an absolute path"},
      {"poolManager: {mountDir: /var/../etc}", "poolManager.mountDir: must be an absolute path"},
      {"poolManager: {selectedPool: 'pool/x'}",
       "poolManager.selectedPool: must match ^[a-zA-Z0-9_.-]+$, got 'pool/x'"},
      {"poolManager: {selectedPool: '..'}", "poolManager.selectedPool: must match"},
      {"poolManager: {dataSubDir: /data}", "poolManager.dataSubDir: must be a relative path"},
      {"poolManager: {clonesMountSubDir: ../x}", "poolManager.clonesMountSubDir: must be"},
      {"poolManager: {socketSubDir: ''}", "poolManager.socketSubDir: must be a relative path"},
      {"poolManager: {backend: lvm}", "poolManager.backend: must be one of btrfs, zfs"},
      {"cloning: {maxIdleMinutes: -1}", "cloning.maxIdleMinutes: must be between 0"},
      {"cloning: {accessHost: ''}", "cloning.accessHost: must be a host name"},
      {"cloning: {protectionLeaseDurationMinutes: 100, protectionMaxDurationMinutes: 50}",
       "cloning.protectionLeaseDurationMinutes: must be <= cloning.protectionMaxDurationMinutes "
       "(50)"},
      {"databaseConfigs: {configs: {Shared_Buffers: 1GB}}",
       "databaseConfigs.configs.Shared_Buffers: not a postgres setting name"},
      {"databaseConfigs: {configs: {'work-mem': 1GB}}",
       "databaseConfigs.configs.work-mem: not a postgres setting name"},
      {"databaseConfigs: {configs: {search_path: \"a\\nb\"}}",
       "databaseConfigs.configs.search_path: a setting value must not contain newlines or NUL"},
      {"databaseConfigs: {configs: {search_path: \"a\\0b\"}}",
       "databaseConfigs.configs.search_path: a setting value must not contain newlines or NUL"},
      {"databaseConfigs: {configs: {work_mem: [1]}}",
       "databaseConfigs.configs.work_mem: a setting value must be a number or a string"},
      {"retrieval: {jobs: [logicalDump, copyEverything]}",
       "retrieval.jobs: unknown job 'copyEverything'"},
      {"retrieval: {jobs: [logicalDump, logicalDump]}",
       "retrieval.jobs: job 'logicalDump' is listed twice"},
      {"retrieval: {jobs: [logicalDump, physicalRestore]}",
       "retrieval.jobs: logical and physical jobs cannot be combined"},
      {"retrieval: {jobs: [physicalRestore], spec: {physicalRestore: {options: {tool: walg}}}}",
       "retrieval.spec.physicalRestore.options.tool: 'walg' is not implemented yet"},
      {"retrieval: {jobs: [physicalSnapshot], spec: {physicalSnapshot: {options: {promotion: "
       "{enabled: false}}}}}",
       "retrieval.spec.physicalSnapshot.options.promotion.enabled: must be true"},
      {"retrieval: {jobs: [physicalSnapshot], spec: {physicalSnapshot: {options: {scheduler: "
       "{snapshot: {timetable: '*/5 *'}}}}}}",
       "retrieval.spec.physicalSnapshot.options.scheduler.snapshot.timetable: timetable \"*/5 *\" "
       "must have 5 fields"},
      {"retrieval: {jobs: [physicalRestore], spec: {physicalRestore: {options: {envs: "
       "{'PG HOST': x}}}}}",
       "retrieval.spec.physicalRestore.options.envs.PG HOST: not an environment variable name"},
      {"retrieval: {jobs: logicalDump}", "retrieval.jobs: expected a list"},
      {"retrieval: {refresh: {timetable: '0 0 *'}}",
       "retrieval.refresh.timetable: timetable \"0 0 *\" must have 5 fields"},
      // Regression (issue 9): passed this check, then aborted the engine in CronSchedule::Parse.
      {"retrieval: {refresh: {timetable: '*/99999999999 * * * *'}}",
       "retrieval.refresh.timetable: timetable \"*/99999999999 * * * *\": invalid minute field"},
      {"retrieval: {jobs: [physicalSnapshot], spec: {physicalSnapshot: {options: {scheduler: "
       "{snapshot: {timetable: '0 25 * * *'}}}}}}",
       "retrieval.spec.physicalSnapshot.options.scheduler.snapshot.timetable: timetable \"0 25 * "
       "* *\": invalid hour field"},
      {"retrieval: {spec: {logicalDump: {options: {parallelJobs: 0}}}}",
       "retrieval.spec.logicalDump.options.parallelJobs: must be between 1 and 128, got 0"},
      {"retrieval: {spec: {logicalRestore: {options: {parallelJobs: 129}}}}",
       "retrieval.spec.logicalRestore.options.parallelJobs: must be between 1 and 128, got 129"},
      {"retrieval: {spec: {logicalRestore: {options: {queryPreprocessing: "
       "{maxParallelWorkers: 0}}}}}",
       "retrieval.spec.logicalRestore.options.queryPreprocessing.maxParallelWorkers: must be "
       "between 1 and 128"},
      {"retrieval: {spec: {logicalDump: {options: {source: {connection: {port: 0}}}}}}",
       "retrieval.spec.logicalDump.options.source.connection.port: must be between 1 and 65535"},
      {"retrieval: {spec: {logicalDump: {options: {source: {type: rdsIam}}}}}",
       "retrieval.spec.logicalDump.options.source.type: 'rdsIam' is not supported"},
      {"retrieval: {spec: {logicalDump: {options: {dumpLocation: dump}}}}",
       "retrieval.spec.logicalDump.options.dumpLocation: must be an absolute path"},
      {"retrieval: {spec: {logicalDump: {options: {customOptions: [\"--a\\nb\"]}}}}",
       "retrieval.spec.logicalDump.options.customOptions: list items must be non-empty "
       "single-line strings"},
      {"retrieval: {spec: {logicalDump: {options: {databases: {app: {tables: [t]}}}}}}",
       "retrieval.spec.logicalDump.options.databases.app.tables: per-database options are not "
       "implemented yet"},
      {"retrieval: {spec: {logicalDump: {options: {immediateRestore: {enabled: true}}}}}",
       "retrieval.spec.logicalDump.options.immediateRestore.enabled: immediate restore is not "
       "implemented yet"},
      {"[1, 2]", "the top level must be a mapping"},
      {"server: {port: 1", "invalid YAML"},
  };
  for (const InvalidCase& c : cases) {
    EXPECT_THAT(ParseError(c.yaml), HasSubstr(c.message)) << c.yaml;
  }
}

TEST(ConfigValidation, ErrorsCarryTheLineOfTheKey) {
  EXPECT_EQ(ParseError("server:\n  verificationToken: t\n\nprovision:\n  portPool:\n"
                       "    from: 6100\n    to: 6099\n"),
            "server.yml: line 6: provision.portPool.from: must be <= provision.portPool.to "
            "(6099)");
}

TEST(ConfigValidation, SettingValuesStayAsWritten) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
databaseConfigs:
  configs:
    max_connections: 200
    random_page_cost: 1.1
    jit: off
    search_path: ""
    pg_stat_statements.track: all
    work_mem:
)");
  EXPECT_THAT(c.clone_configs,
              UnorderedElementsAre(Pair("max_connections", "200"), Pair("random_page_cost", "1.1"),
                                   Pair("jit", "off"), Pair("search_path", ""),
                                   Pair("pg_stat_statements.track", "all")));
}

TEST(ConfigClones, WalMaxSizeDefaultsTo8GiBAndZeroTurnsItOff) {
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\n").clone_wal_max_bytes, int64_t{8} << 30);
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\nprovision: {cloneWalMaxSize: 20GB}\n")
                .clone_wal_max_bytes,
            int64_t{20} << 30);
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\nprovision: {cloneWalMaxSize: 0}\n")
                .clone_wal_max_bytes,
            0);
  EXPECT_THAT(ParseError("server: {verificationToken: t}\nprovision: {cloneWalMaxSize: 1MiB}\n"),
              HasSubstr("provision.cloneWalMaxSize: must be 0 (no limit) or at least 256MiB"));
  EXPECT_THAT(ParseError("server: {verificationToken: t}\nprovision: {cloneWalMaxSize: lots}\n"),
              HasSubstr("provision.cloneWalMaxSize: 'lots' is not a byte size"));
}

TEST(ConfigClones, MemoryAndCpuLimitsFromOurKeysOrDockersContainerConfig) {
  EngineConfig own = ParseOk(R"(
server: {verificationToken: t}
provision: {cloneMemoryLimit: 256MiB, cloneCpuLimit: 1.5}
)");
  EXPECT_EQ(own.clone_memory_limit_bytes, int64_t{256} << 20);
  EXPECT_DOUBLE_EQ(own.clone_cpu_limit, 1.5);
  EngineConfig dle = ParseOk(R"(
server: {verificationToken: t}
databaseContainer: &db
  containerConfig: {memory: 1g, cpus: 2, shm-size: 1gb}
provision:
  <<: *db
)");
  EXPECT_EQ(dle.clone_memory_limit_bytes, int64_t{1} << 30);
  EXPECT_DOUBLE_EQ(dle.clone_cpu_limit, 2);
  EngineConfig none = ParseOk("server: {verificationToken: t}\n");
  EXPECT_EQ(none.clone_memory_limit_bytes, 0);
  EXPECT_EQ(none.clone_cpu_limit, 0);
  EXPECT_THAT(ParseError("server: {verificationToken: t}\nprovision: {cloneMemoryLimit: 1MiB}\n"),
              HasSubstr("provision.cloneMemoryLimit: must be at least 64MiB"));
  EXPECT_THAT(ParseError("server: {verificationToken: t}\nprovision: {cloneCpuLimit: lots}\n"),
              HasSubstr("provision.cloneCpuLimit: must be a number of CPUs"));
  EXPECT_THAT(ParseError("server: {verificationToken: t}\n"
                         "provision: {containerConfig: {memory: huge}}\n"),
              HasSubstr("provision.containerConfig.memory"));
}

// ---- Warnings -----------------------------------------------------------------------------

TEST(ConfigWarnings, DockerOnlyKeysAreAcceptedWithOneLineEach) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
databaseContainer: &db
  dockerImage: postgresai/extended-postgres:16
  containerConfig: {shm-size: 1gb}
embeddedUI: {dockerImage: postgresai/ce-ui:latest, port: 2346}
provision:
  <<: *db
  useSudo: false
retrieval:
  spec:
    logicalDump: {options: {<<: *db}}
    logicalSnapshot: {options: {dataPatching: {<<: *db}}}
)");
  EXPECT_THAT(
      c.warnings,
      ElementsAre(
          "ignored Docker-only key databaseContainer.dockerImage (dblab runs postgres directly)",
          "ignored Docker-only key databaseContainer.containerConfig (dblab runs postgres "
          "directly)",
          "ignored Docker-only key embeddedUI.dockerImage (dblab runs postgres directly)",
          "ignored key embeddedUI.port (the engine serves the UI on server.host:server.port)",
          "ignored key provision.useSudo (dblab-engine runs as root and calls no sudo)"));
  // The database image's tag still says which major clones run (the UI's image is no database).
  EXPECT_EQ(c.retrieval.image_major, 16);
}

TEST(ConfigMajors, NoDatabaseImageTagMeansNoMajorIsNamed) {
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\n"
                    "embeddedUI: {dockerImage: postgresai/ce-ui:4.0}\n")
                .retrieval.image_major,
            0);
  EXPECT_EQ(ParseOk("server: {verificationToken: t}\n"
                    "databaseContainer: {dockerImage: postgresai/extended-postgres:17-0.6.2}\n")
                .retrieval.image_major,
            17);
}

TEST(ConfigWarnings, MergedDockerKeyWarnsOnceEvenWhereItIsOnlyMerged) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
images: &img {dockerImage: x}
provision: {<<: *img}
)");
  EXPECT_THAT(c.warnings, ElementsAre(HasSubstr("unknown top-level key images"),
                                      "ignored Docker-only key provision.dockerImage (dblab runs "
                                      "postgres directly)"));
}

TEST(ConfigWarnings, IgnoredSectionsWarnPerKeyAndEmptyOnesStayQuiet) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
platform: {url: "https://postgres.ai/api/general", enableTelemetry: true}
observer:
webhooks:
estimator: {readRatio: 1}
retention: {unusedSnapshotMinutes: 0}
)");
  EXPECT_THAT(c.warnings, ElementsAre(HasSubstr("ignored key platform.url ("),
                                      HasSubstr("ignored key platform.enableTelemetry ("),
                                      HasSubstr("ignored key estimator.readRatio ("),
                                      HasSubstr("ignored key retention.unusedSnapshotMinutes (")));
}

TEST(ConfigWarnings, UnknownKeysAreReportedWithTheirPath) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t, prot: 2345}
provison: {}
retrieval: {spec: {logicalDump: {options: {paralelJobs: 3}}}}
)");
  EXPECT_THAT(c.warnings,
              ElementsAre(HasSubstr("unknown key server.prot (ignored"),
                          "unknown top-level key provison (ignored)",
                          HasSubstr("unknown key retrieval.spec.logicalDump.options.paralelJobs")));
}

TEST(ConfigWarnings, PhysicalSpecsBesideLogicalJobsAreIgnored) {
  EngineConfig c = ParseOk(R"(
server: {verificationToken: t}
retrieval:
  jobs: [logicalDump]
  spec:
    physicalRestore: {options: {tool: walg}}
)");
  EXPECT_THAT(c.warnings, ElementsAre("ignored key retrieval.spec.physicalRestore "
                                      "(retrieval.jobs are logical)"));
}

// ---- Files ------------------------------------------------------------------------------------

TEST(ConfigFile, MissingFileIsNotFound) {
  Result<EngineConfig> loaded = LoadConfigFile("/nonexistent/dblab/server.yml", FakeEnv({}));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(loaded.error().message, HasSubstr("/nonexistent/dblab/server.yml"));
}

TEST(ConfigFile, SyntaxErrorsNameTheFileAndLine) {
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("dblab_config_test_" + std::to_string(getpid()));
  {
    std::ofstream out(file);
    out << "server:\n  port: 2345\n  host: [unclosed\n";
  }
  Result<EngineConfig> loaded = LoadConfigFile(file.string(), FakeEnv({}));
  std::filesystem::remove(file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kBadRequest);
  EXPECT_THAT(loaded.error().message,
              AllOf(HasSubstr(file.string() + ": line "), HasSubstr("invalid YAML")));
}

}  // namespace
}  // namespace dblab
