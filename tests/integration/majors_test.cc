// Every PostgreSQL major from 13 to 18: real sources of each major, logical and physical
// retrieval, clones that run the source's major (or the dockerImage tag's), contrib extensions in
// them, and a warm pool. A major whose programs are not installed is skipped with the reason
// (scripts/install-postgres-majors.sh, run by scripts/install-deps.sh, installs them all).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "engine_fixture.h"
#include "masking/scan.h"
#include "platform/posix_process.h"
#include "postgres/binaries.h"
#include "postgres/server.h"

namespace dblab::testing {
namespace {

// A source like StartSourceDatabase's (password, `users` table, TCP on 127.0.0.1, replication
// allowed) run by the programs in `bin_dir`, on `port` (0: a free one).
SourceDatabase StartSourceOf(const std::string& bin_dir, const std::string& dir, int users,
                             int port = 0) {
  SourceDatabase source;
  source.dir = dir;
  PosixProcessRunner runner;
  PostgresControl postgres(runner);
  auto user = LookupOsUser("postgres");
  EXPECT_TRUE(user.ok());
  std::string data = dir + "/data";
  std::filesystem::create_directories(data);
  std::filesystem::create_directories(dir + "/run");
  EXPECT_EQ(chown(data.c_str(), user->uid, user->gid), 0);
  EXPECT_EQ(chown((dir + "/run").c_str(), user->uid, user->gid), 0);
  chmod(data.c_str(), 0700);
  auto initdb = RunChecked(runner,
                           {bin_dir + "/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                            "--no-sync", "--locale=C.UTF-8"},
                           {.user = "postgres"});
  EXPECT_TRUE(initdb.ok()) << initdb.error().message;
  std::ofstream(dir + "/hba.conf") << "local all all trust\n"
                                   << "host all all 127.0.0.1/32 scram-sha-256\n"
                                   << "host replication all 127.0.0.1/32 scram-sha-256\n";
  chmod((dir + "/hba.conf").c_str(), 0644);
  source.port = port != 0 ? port : FreePort();
  ServerSpec spec{.bin_dir = bin_dir,
                  .data_dir = data,
                  .port = source.port,
                  .listen_addresses = "127.0.0.1",
                  .socket_dir = dir + "/run",
                  .hba_file = dir + "/hba.conf",
                  // 13 still stores md5 passwords by default, which scram-sha-256 refuses.
                  .settings = {{"fsync", "off"}, {"password_encryption", "scram-sha-256"}},
                  .log_file = dir + "/postgres.log"};
  auto started = postgres.Start(spec);
  EXPECT_TRUE(started.ok()) << started.error().message;
  auto connect = [&](const std::string& dbname) {
    return PgConnection::Connect(BuildConninfo({{"host", dir + "/run"},
                                                {"port", std::to_string(source.port)},
                                                {"user", "postgres"},
                                                {"dbname", dbname}}));
  };
  auto admin = connect("postgres");
  EXPECT_TRUE(admin.ok());
  if (!admin.ok()) return source;
  EXPECT_TRUE(admin->Exec("ALTER ROLE postgres PASSWORD '" + source.password + "'").ok());
  EXPECT_TRUE(admin->Exec("CREATE DATABASE " + source.dbname).ok());
  auto app = connect(source.dbname);
  EXPECT_TRUE(app.ok());
  if (!app.ok()) return source;
  auto created = app->Exec(
      "CREATE TABLE users (id bigint PRIMARY KEY, full_name text, email text);"
      "INSERT INTO users SELECT i, 'Person ' || i, 'person' || i || '@mail.example' "
      "FROM generate_series(1, " +
      std::to_string(users) + ") i;");
  EXPECT_TRUE(created.ok()) << created.error().message;
  return source;
}

// Why a source and clones of `major` cannot run here ("" when they can).
std::string MissingPrograms(int major, bool physical) {
  PostgresSearchPath search;
  auto server = FindProgramsOfMajor(major, {"postgres", "initdb"}, search);
  if (!server.ok()) return server.error().message;
  auto client =
      FindProgramsAtLeast(major,
                          physical ? std::vector<std::string>{"pg_basebackup", "psql"}
                                   : std::vector<std::string>{"pg_dump", "pg_restore", "psql"},
                          search);
  if (!client.ok()) return client.error().message;
  return "";
}

class MajorsTest : public EngineFixture {
 protected:
  // Starts a source of `major`; false (the test skips) when its programs are missing.
  bool SetUpSource(int major, bool physical) {
    std::string missing = MissingPrograms(major, physical);
    if (!missing.empty()) {
      skip_reason_ = "PostgreSQL " + std::to_string(major) + " is not installed: " + missing;
      return false;
    }
    // EngineFixture::SetUp with a source of `major`.
    users_ = 300;
    dir_ = MakeTempDir("dblab-majors");
    source_ = StartSourceOf(*FindPostgresBinDir(major), dir_ + "/source", users_);
    api_port_ = FreePort();
    port_from_ = 20000 + static_cast<int>((getpid() * 37 + major) % 400) * 50;
    return true;
  }
  void SetUp() override {}  // each test starts its own source (SetUpSource)
  void TearDown() override {
    if (!dir_.empty()) EngineFixture::TearDown();
  }

  void UseLogicalRetrieval() {
    retrieval_ =
        "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
        "    logicalDump:\n      options:\n        source:\n          connection:\n"
        "            host: 127.0.0.1\n            port: " +
        std::to_string(source_.port) + "\n            dbname: " + source_.dbname +
        "\n            username: postgres\n            password: " + source_.password +
        "\n        databases: [" + source_.dbname + "]\n";
  }

  // DLE's sample physical setup: its customTool names pg_basebackup without a directory.
  void UsePhysicalRetrieval() {
    retrieval_ =
        "global:\n  database:\n    dbname: " + source_.dbname +
        "\nretrieval:\n  jobs: [physicalRestore, physicalSnapshot]\n  spec:\n"
        "    physicalRestore:\n      options:\n        tool: customTool\n"
        "        envs:\n          PGHOST: 127.0.0.1\n          PGPORT: " +
        std::to_string(source_.port) +
        "\n          PGUSER: postgres\n          PGPASSWORD: " + source_.password +
        "\n        customTool:\n          command: \"pg_basebackup -X stream --checkpoint=fast "
        "-D " +
        dir_ +
        "/mnt/dblab_pool/data\"\n"
        "        sync:\n          enabled: true\n"
        "    physicalSnapshot:\n      options:\n        promotion:\n          enabled: true\n";
  }

  // Creates clone `id` and checks what its user sees: the major, the source's rows, contrib.
  int CheckClone(const std::string& id, int major) {
    auto clone =
        CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw-1", "--id", id});
    EXPECT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
    if (clone["status"]["code"] != "OK") return 0;
    int port = std::stoi(clone["db"]["port"].get<std::string>());
    auto connection = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
    EXPECT_TRUE(connection.ok()) << connection.error().message;
    if (!connection.ok()) return port;
    EXPECT_EQ(std::stoi(QueryValue(*connection, "SHOW server_version_num")) / 10000, major);
    EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
    // Contrib of the same major: pgcrypto and pageinspect load in the clone.
    for (const char* extension : {"pgcrypto", "pageinspect", "pg_stat_statements"}) {
      auto created = connection->Exec(std::string("CREATE EXTENSION ") + extension);
      EXPECT_TRUE(created.ok()) << extension << ": " << created.error().message;
    }
    EXPECT_EQ(QueryValue(*connection, "SELECT length(encode(digest('dblab', 'sha256'), 'hex'))"),
              "64");
    EXPECT_EQ(QueryValue(*connection,
                         "SELECT (SELECT count(*) FROM page_header(get_raw_page('users', 0))) "),
              "1");
    return port;
  }

  std::string skip_reason_;
};

class LogicalMajorsTest : public MajorsTest, public ::testing::WithParamInterface<int> {};

TEST_P(LogicalMajorsTest, ClonesRunTheSourcesMajorWithItsRows) {
  int major = GetParam();
  if (!SetUpSource(major, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot();
  CheckClone("logical" + std::to_string(major), major);
}

INSTANTIATE_TEST_SUITE_P(Majors, LogicalMajorsTest, ::testing::Values(13, 16, 17, 18),
                         [](const auto& info) {
                           return "PostgreSQL" + std::to_string(info.param);
                         });

TEST_F(MajorsTest, TheDockerImageTagNamesTheClonesMajor) {
  if (!SetUpSource(16, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  if (std::string missing = MissingPrograms(17, false); !missing.empty()) {
    GTEST_SKIP() << "PostgreSQL 17 is not installed: " << missing;
  }
  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot(
      "databaseContainer:\n  dockerImage: \"postgresai/extended-postgres:17-0.6.2\"\n");
  CheckClone("upgraded", 17);
}

class PhysicalMajorsTest : public MajorsTest, public ::testing::WithParamInterface<int> {};

TEST_P(PhysicalMajorsTest, AReplicaOfTheSourcesMajorGivesClonesOfIt) {
  int major = GetParam();
  if (!SetUpSource(major, /*physical=*/true)) GTEST_SKIP() << skip_reason_;
  UsePhysicalRetrieval();
  StartEngineAndWaitForSnapshot();
  int port = CheckClone("physical" + std::to_string(major), major);
  auto connection = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT pg_is_in_recovery()"), "f");
}

INSTANTIATE_TEST_SUITE_P(Majors, PhysicalMajorsTest, ::testing::Values(13, 17, 18),
                         [](const auto& info) {
                           return "PostgreSQL" + std::to_string(info.param);
                         });

class WarmPoolMajorsTest : public MajorsTest, public ::testing::WithParamInterface<int> {};

TEST_P(WarmPoolMajorsTest, ATakenWarmServerResetsToTheSnapshot) {
  int major = GetParam();
  if (!SetUpSource(major, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  UseLogicalRetrieval();
  provision_extra_ = "  warmPool: 1\n";
  StartEngineAndWaitForSnapshot();
  for (int i = 0; i < 300; ++i) {
    if (CliJson({"instance", "status"})["provisioner"]["warmPool"]["ready"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(CliJson({"instance", "status"})["provisioner"]["warmPool"]["ready"], 1)
      << engine_.Log();
  int port = CheckClone("warm", major);
  auto connection = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  ASSERT_TRUE(connection->Exec("DELETE FROM users").ok());
  EXPECT_EQ(CliJson({"clone", "reset", "warm"})["status"]["code"], "OK") << engine_.Log();
  auto after = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(QueryValue(*after, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_EQ(std::stoi(QueryValue(*after, "SHOW server_version_num")) / 10000, major);
}

INSTANTIATE_TEST_SUITE_P(Majors, WarmPoolMajorsTest, ::testing::Values(17, 18),
                         [](const auto& info) {
                           return "PostgreSQL" + std::to_string(info.param);
                         });

// A masking rule on data of a major with no pg_resetwal installed: the residue cleanup gives it
// a fresh WAL itself (postgres/wal_reset.h), the gate finds no original, the snapshot is published.
class MaskingMajorsTest : public MajorsTest, public ::testing::WithParamInterface<int> {};

TEST_P(MaskingMajorsTest, AMaskedSnapshotIsPublishedWithoutResidue) {
  int major = GetParam();
  if (!SetUpSource(major, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot(
      "global:\n  residueGate: true\n"
      "masking:\n  rules:\n    - {column: public.users.email, function: fake_email}\n");
  std::string log = engine_.Log();
  EXPECT_NE(log.find("residue: a fresh WAL"), std::string::npos) << log;
  EXPECT_NE(log.find("residue gate: looked for"), std::string::npos) << log;

  // No original email in any file of the pool (the snapshot, main data, its WAL).
  std::vector<std::string> originals;
  for (int i = 1; i <= users_; ++i) {
    originals.push_back("person" + std::to_string(i) + "@mail.example");
  }
  NeedleScanner scanner(originals);
  auto scan = ScanTree(scanner, dir_ + "/mnt");
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  std::vector<std::string> found;
  for (const auto& hit : scan->hits) {
    if (hit.file != "dblab_pool.img") found.push_back(hit.file);  // freed blocks of the image
  }
  EXPECT_EQ(found, std::vector<std::string>{});

  auto snapshots = CliJson({"snapshot", "list"});
  ASSERT_EQ(snapshots.size(), 1u) << snapshots.dump(2);
  EXPECT_EQ(snapshots[0]["pgVersion"], major);
  int port = CheckClone("masked" + std::to_string(major), major);
  auto connection = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users WHERE email LIKE '%@mail.example'"),
            "0");
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users WHERE email LIKE '%@%'"),
            std::to_string(users_));
}

INSTANTIATE_TEST_SUITE_P(Majors, MaskingMajorsTest, ::testing::Values(13, 17),
                         [](const auto& info) {
                           return "PostgreSQL" + std::to_string(info.param);
                         });

// dblab commit on a major without pg_resetwal: the scrubbed copy gets its fresh WAL from the
// engine, and the commit is a snapshot of the same major without the values the clone replaced.
TEST_F(MajorsTest, ACommitOnSeventeenScrubsAndKeepsItsMajor) {
  if (!SetUpSource(17, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot();
  int port = CheckClone("dev", 17);
  auto session = ConnectClone(port, "dev", "dev-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(session->Exec("UPDATE users SET email = 'dev' || id || '@example.com'").ok());

  std::string committed = Commit({"--clone-id", "dev", "--message", "masked by hand"});
  ASSERT_FALSE(committed.empty()) << engine_.Log();
  EXPECT_NE(engine_.Log().find("residue: a fresh WAL"), std::string::npos) << engine_.Log();
  auto snapshots = CliJson({"snapshot", "list"});
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[0]["id"], committed);
  EXPECT_EQ(snapshots[0]["pgVersion"], 17);

  auto other = CliJson(
      {"clone", "create", "--username", "other", "--password", "other-pw", "--id", "other"});
  ASSERT_EQ(other["status"]["code"], "OK") << other.dump(2) << engine_.Log();
  auto connection = ConnectClone(std::stoi(other["db"]["port"].get<std::string>()), "other",
                                 "other-pw", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(std::stoi(QueryValue(*connection, "SHOW server_version_num")) / 10000, 17);
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users WHERE email LIKE 'dev%'"),
            std::to_string(users_));
}

// One pool, two majors: the source is upgraded from 16 to 17 (a new server of 17 over the same
// data, on the same port) between two retrievals. Both snapshots stay, each with its major in
// `snapshot list` and `instance status`, and a clone of each runs its own major.
TEST_F(MajorsTest, ASnapshotAfterTheSourcesUpgradeKeepsTheOlderMajorsToo) {
  if (!SetUpSource(16, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  if (std::string missing = MissingPrograms(17, false); !missing.empty()) {
    GTEST_SKIP() << "PostgreSQL 17 is not installed: " << missing;
  }
  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot();
  auto status = CliJson({"instance", "status"});
  EXPECT_EQ(status["pools"][0]["pgVersion"], 16) << status.dump(2);

  // The upgrade: the 16 server stops, a 17 one with the same rows and one more takes its port.
  PosixProcessRunner runner;
  PostgresControl postgres(runner);
  ASSERT_TRUE(postgres.Stop(source_.dir + "/data", std::chrono::seconds(60)).ok());
  SourceDatabase upgraded =
      StartSourceOf(*FindPostgresBinDir(17), dir_ + "/source17", users_ + 1, source_.port);
  ASSERT_EQ(upgraded.port, source_.port);

  auto refresh = Cli({"instance", "full-refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.out << refresh.err;
  nlohmann::json snapshots;
  for (int i = 0; i < 1800; ++i) {
    snapshots = CliJson({"snapshot", "list"});
    if (snapshots.size() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(snapshots.size(), 2u) << snapshots.dump(2) << engine_.Log();
  // Newest first.
  EXPECT_EQ(snapshots[0]["pgVersion"], 17) << snapshots.dump(2);
  EXPECT_EQ(snapshots[1]["pgVersion"], 16) << snapshots.dump(2);

  status = CliJson({"instance", "status"});
  EXPECT_EQ(status["pools"][0]["pgVersion"], 17) << status.dump(2);
  ASSERT_EQ(status["pools"][0]["snapshots"].size(), 2u) << status.dump(2);
  EXPECT_EQ(status["pools"][0]["snapshots"][0]["pgVersion"], 17);
  EXPECT_EQ(status["pools"][0]["snapshots"][1]["pgVersion"], 16);

  for (int index : {0, 1}) {
    int major = index == 0 ? 17 : 16;
    std::string id = "on" + std::to_string(major);
    auto clone = CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw-1", "--id",
                          id, "--snapshot-id", snapshots[index]["id"].get<std::string>()});
    ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
    EXPECT_EQ(clone["snapshot"]["pgVersion"], major);
    auto connection = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev",
                                   "dev-pw-1", source_.dbname);
    ASSERT_TRUE(connection.ok()) << connection.error().message;
    EXPECT_EQ(std::stoi(QueryValue(*connection, "SHOW server_version_num")) / 10000, major);
    EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"),
              std::to_string(major == 17 ? users_ + 1 : users_));
  }
}

}  // namespace
}  // namespace dblab::testing

namespace dblab::testing {
namespace {

// A source with PostgreSQL Anonymizer installed dumps `CREATE EXTENSION anon` (and its config
// tables' data), which main data and clones do not have. A stand-in extension named anon, found
// through PostgreSQL 18's extension_control_path, makes such a source: the restore leaves the
// extension out and the masking label on the source is applied by dblab.
TEST_F(MajorsTest, AnAnonymizerSourcesExtensionIsLeftOutAndItsLabelsApplied) {
  if (!SetUpSource(18, /*physical=*/false)) GTEST_SKIP() << skip_reason_;
  // Inside the source's data directory: the source runs in a sandbox that shows it little else.
  std::string share = dir_ + "/source/data/anon-share";
  std::filesystem::create_directories(share + "/extension");
  std::ofstream(share + "/extension/anon.control")
      << "default_version = '1.0'\nschema = anon\nrelocatable = false\nsuperuser = true\n";
  std::ofstream(share + "/extension/anon--1.0.sql")
      << "CREATE TABLE anon.config (param text PRIMARY KEY, value text);\n"
         "SELECT pg_catalog.pg_extension_config_dump('anon.config', '');\n"
         "INSERT INTO anon.config VALUES ('salt', 'source-salt');\n"
         "CREATE FUNCTION anon.fake_email() RETURNS text LANGUAGE sql AS "
         "$$ SELECT 'fake@anon.example' $$;\n";
  auto postgres_user = LookupOsUser("postgres");
  ASSERT_TRUE(postgres_user.ok());
  for (const char* path :
       {"", "/extension", "/extension/anon.control", "/extension/anon--1.0.sql"}) {
    ASSERT_EQ(chown((share + path).c_str(), postgres_user->uid, postgres_user->gid), 0);
  }
  auto app = PgConnection::Connect(BuildConninfo({{"host", dir_ + "/source/run"},
                                                  {"port", std::to_string(source_.port)},
                                                  {"user", "postgres"},
                                                  {"dbname", source_.dbname}}));
  ASSERT_TRUE(app.ok()) << app.error().message;
  auto installed =
      app->Exec("SET extension_control_path = " + app->QuoteLiteral(share + ":$system") +
                "; CREATE EXTENSION anon");
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  // What `SECURITY LABEL FOR anon ON COLUMN users.email IS '...'` stores.
  auto labelled = app->Exec(
      "INSERT INTO pg_seclabel (objoid, classoid, objsubid, provider, label) SELECT c.oid, "
      "'pg_class'::regclass, a.attnum, 'anon', 'MASKED WITH FUNCTION anon.fake_email()' "
      "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
      "WHERE c.relname = 'users' AND a.attname = 'email'");
  ASSERT_TRUE(labelled.ok()) << labelled.error().message;

  UseLogicalRetrieval();
  StartEngineAndWaitForSnapshot();
  EXPECT_NE(engine_.Log().find("skipping PostgreSQL Anonymizer's extension anon"),
            std::string::npos)
      << engine_.Log();
  auto clone =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw-1", "--id", "anon"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  auto connection = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev",
                                 "dev-pw-1", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM pg_extension WHERE extname = 'anon'"),
            "0");
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_EQ(
      QueryValue(*connection, "SELECT count(*) FROM users WHERE email LIKE 'person%@mail.example'"),
      "0");
}

}  // namespace
}  // namespace dblab::testing
