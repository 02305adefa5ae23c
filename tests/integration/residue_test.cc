// Masking without residue, end to end: a source with personal data in a heap, a unique index and
// a TOASTed column is masked by each masking step; then not one original value is stored
// anywhere the engine keeps (pool, dump location, logs) nor readable from inside a clone by a
// superuser (raw relation files, pageinspect, WAL, pg_statistic), and the residue gate refuses a
// snapshot where masking left originals behind while older snapshots keep serving.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "engine_fixture.h"
#include "masking/scan.h"

namespace dblab::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kCustomers = 300;
// What masks the customers (and the fixture's users): every personal value is replaced.
constexpr const char* kMaskingSql =
    "ANALYZE customers; "  // statistics of the originals, which must not survive
    "UPDATE customers SET email = 'masked' || id || '@example.com', notes = md5(notes); "
    "UPDATE users SET email = 'user' || id || '@example.com'";

class ResidueTest : public EngineFixture {
 protected:
  void SetUp() override {
    // DBLAB_RESIDUE_USERS=200000 measures the cost on more data (see docs/masking.md).
    if (const char* users = getenv("DBLAB_RESIDUE_USERS")) users_ = std::max(1, atoi(users));
    EngineFixture::SetUp();
    auto source = Source();
    ASSERT_TRUE(source.ok()) << source.error().message;
    // notes: random hex over 2 kB, stored out of line and uncompressed (EXTERNAL), in chunks.
    auto created = source->Exec(
        "CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE, notes text); "
        "ALTER TABLE customers ALTER notes SET STORAGE EXTERNAL; "
        "INSERT INTO customers SELECT i, 'c' || i || '.' || md5('e' || i) || '@pii.example', "
        "(SELECT string_agg(md5(i || 'n' || j), '') FROM generate_series(1, 80) j) "
        "FROM generate_series(1, " +
        std::to_string(kCustomers) + ") i");
    ASSERT_TRUE(created.ok()) << created.error().message;
    // The originals to look for: whole emails, and pieces of every TOAST chunk of the notes.
    auto rows = source->Query(
        "SELECT email FROM customers UNION ALL "
        "SELECT substr(notes, p, 48) FROM customers, (VALUES (1), (1000), (2100)) AS at(p) "
        "UNION ALL SELECT email FROM users");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    for (const auto& row : *rows) originals_.push_back(row[0]);
    ASSERT_EQ(originals_.size(), size_t(4 * kCustomers + users_));
  }

  Result<PgConnection> Source() {
    return PgConnection::Connect(BuildConninfo({{"host", source_.dir + "/run"},
                                                {"port", std::to_string(source_.port)},
                                                {"user", "postgres"},
                                                {"dbname", source_.dbname}}));
  }

  std::string LogicalRetrieval(const std::string& sql) {
    return "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
           "    logicalDump:\n      options:\n        source:\n          connection:\n"
           "            host: 127.0.0.1\n            port: " +
           std::to_string(source_.port) + "\n            dbname: " + source_.dbname +
           "\n            username: postgres\n            password: " + source_.password +
           "\n        databases: [" + source_.dbname +
           "]\n    logicalSnapshot:\n      options:\n        dataPatching:\n"
           "          queryPreprocessing:\n            inline: \"" +
           sql + "\"\n";
  }

  // Every file of the engine's (pool, dump location, state and logs) and the engine's log:
  // "file: needle" for each original found, except under `except` (relative to mnt/).
  std::vector<std::string> OriginalsOnDisk(const std::string& except = "") {
    NeedleScanner scanner(originals_);
    std::vector<std::string> found;
    auto scan = ScanTree(scanner, dir_ + "/mnt");
    EXPECT_TRUE(scan.ok()) << scan.error().message;
    if (scan.ok()) {
      EXPECT_GT(scan->files, 100);
      for (const auto& hit : scan->hits) {
        if (!except.empty() && StartsWith(hit.file, except)) continue;
        // The loop device's backing file: freed filesystem blocks are not the pool's files
        // (docs/masking.md).
        if (hit.file.find('/') == std::string::npos && hit.file.size() > 4 &&
            hit.file.compare(hit.file.size() - 4, 4, ".img") == 0) {
          continue;
        }
        found.push_back(hit.file + ": " + scanner.needles()[hit.needle]);
      }
    }
    auto log = scanner.ScanFile(dir_ + "/engine.log");
    for (size_t i = 0; log.ok() && i < log->size(); ++i) {
      if ((*log)[i] > 0) found.push_back("engine.log: " + scanner.needles()[i]);
    }
    return found;
  }

  // From inside a clone, as a superuser: how many of (a sample of) `values` are in the raw
  // files of the relations, in the heap tuples of customers (dead ones too), in the WAL.
  std::map<std::string, std::string> ReadableFromClone(PgConnection& clone,
                                                       const std::vector<std::string>& values) {
    std::string needles;
    size_t step = std::max<size_t>(25, values.size() / 128);  // position() is a plain search
    for (size_t i = 0; i < values.size(); i += step) {
      needles += (needles.empty() ? "" : ",") + clone.QuoteLiteral(values[i]);
    }
    std::string array = "ARRAY[" + needles + "]";
    EXPECT_TRUE(clone.Exec("CREATE EXTENSION IF NOT EXISTS pageinspect").ok());
    std::map<std::string, std::string> found;
    found["relation files"] = QueryValue(
        clone, "SELECT count(*) FROM unnest(" + array +
                   ") n, "
                   "(SELECT pg_read_binary_file(pg_relation_filepath(r)) AS f FROM "
                   "unnest(ARRAY['customers', 'customers_email_key', 'users', "
                   "(SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = "
                   "'customers'), (SELECT (SELECT indexrelid FROM pg_index WHERE indrelid = "
                   "reltoastrelid)::regclass::text FROM pg_class WHERE relname = 'customers')]"
                   "::regclass[]) r) AS files WHERE position(convert_to(n, 'UTF8') IN f) > 0");
    found["heap tuples"] = QueryValue(
        clone,
        "SELECT count(*) FROM unnest(" + array +
            ") n, "
            "generate_series(0, pg_relation_size('customers') / 8192 - 1) b, "
            "heap_page_items(get_raw_page('customers', b::int)) t "
            "WHERE t.t_data IS NOT NULL AND position(convert_to(n, 'UTF8') IN t.t_data) > 0");
    found["wal"] = QueryValue(
        clone, "SELECT count(*) FROM unnest(" + array +
                   ") n, "
                   "(SELECT pg_read_binary_file('pg_wal/' || name) AS f FROM pg_ls_waldir() "
                   "WHERE name ~ '^[0-9A-F]{24}$') AS wal "
                   "WHERE position(convert_to(n, 'UTF8') IN f) > 0");
    return found;
  }

  void ExpectNoOriginalReadableFromClone(PgConnection& clone) {
    ExpectNoneReadableFromClone(clone, originals_);
  }
  void ExpectNoneReadableFromClone(PgConnection& clone, const std::vector<std::string>& values) {
    std::map<std::string, std::string> none = {
        {"relation files", "0"}, {"heap tuples", "0"}, {"wal", "0"}};
    EXPECT_EQ(ReadableFromClone(clone, values), none);
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM generate_series(0, "
                         "pg_relation_size('customers') / 8192 - 1) b, "
                         "heap_page_items(get_raw_page('customers', b::int))"),
              std::to_string(kCustomers))
        << "dead row versions are left in the heap";
    // Statistics are of the masked data: present, and without an original.
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) > 0 FROM pg_statistic WHERE starelid = "
                         "'customers'::regclass"),
              "t");
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM pg_statistic WHERE concat(stavalues1, "
                         "stavalues2, stavalues3, stavalues4, stavalues5) LIKE "
                         "'%@pii.example%' OR concat(stavalues1, stavalues2, stavalues3, "
                         "stavalues4, stavalues5) LIKE '%@mail.example%'"),
              "0");
  }

  nlohmann::json WaitForRetrievalStatus(const std::string& wanted, int seconds = 240) {
    nlohmann::json status;
    for (int i = 0; i < seconds * 5; ++i) {
      auto result = Cli({"instance", "status"});
      status = nlohmann::json::parse(result.out, nullptr, false);
      if (!status.is_discarded() && status["retrieving"].value("status", "") == wanted) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return status;
  }

  std::vector<std::string> originals_;
};

TEST_F(ResidueTest, LogicalDataPatchingLeavesNoOriginalValueAnywhere) {
  retrieval_ = LogicalRetrieval(kMaskingSql);
  auto started = std::chrono::steady_clock::now();
  StartEngineAndWaitForSnapshot();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string log = engine_.Log();
  auto gate_line = log.find("residue gate: looked for");
  ASSERT_NE(gate_line, std::string::npos) << log;
  std::cout << "[ residue ] retrieval with cleanup and gate: " << seconds << " s\n";
  for (const char* step : {"residue: sampled", "residue: masking replaced", "residue gate:"}) {
    for (size_t at = log.find(step); at != std::string::npos; at = log.find(step, at + 1)) {
      std::cout << "[ residue ]   " << log.substr(at, log.find('\n', at) - at) << "\n";
    }
  }

  EXPECT_EQ(OriginalsOnDisk(), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(dir_ + "/mnt/dblab_pool/dump")) << "the dump is kept";

  auto clone =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "dev"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  auto session = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev", "dev-pw",
                              source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(QueryValue(*session,
                       "SELECT count(*) FROM customers WHERE email LIKE "
                       "'masked%@example.com' AND length(notes) = 32"),
            std::to_string(kCustomers));
  ExpectNoOriginalReadableFromClone(*session);
}

TEST_F(ResidueTest, NothingThatCanChangeDataSkipsTheScanButNotTheFreshWal) {
  // No SQL, no script, no masking.rules, no Anonymizer label on the source: nothing to sample.
  retrieval_ = LogicalRetrieval("");
  StartEngineAndWaitForSnapshot();
  std::string log = engine_.Log();
  EXPECT_NE(log.find("residue: scan skipped: nothing configured can change the data"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("no PostgreSQL Anonymizer labels on the source"), std::string::npos) << log;
  EXPECT_EQ(log.find("residue: sampled"), std::string::npos) << log;
  EXPECT_EQ(log.find("residue gate:"), std::string::npos) << log;
  EXPECT_NE(log.find("residue: a fresh WAL"), std::string::npos) << log;
  auto clone =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "dev"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  auto session = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev", "dev-pw",
                              source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(QueryValue(*session, "SELECT count(*) FROM customers WHERE email LIKE '%@pii.example'"),
            std::to_string(kCustomers));
}

TEST_F(ResidueTest, TheGateRefusesASnapshotWithOriginalsAndOlderSnapshotsKeepServing) {
  // Masking that copies the originals into a file inside the data directory, once the source
  // has a table leak_switch.
  retrieval_ = LogicalRetrieval(
      std::string("DO $$ BEGIN IF EXISTS (SELECT FROM pg_tables WHERE tablename = "
                  "'leak_switch') THEN EXECUTE format('COPY (SELECT email FROM customers) TO %L', "
                  "current_setting('data_directory') || '/leaked.csv'); END IF; END $$; ") +
      kMaskingSql);
  StartEngineAndWaitForSnapshot();
  auto keeper =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "keeper"});
  ASSERT_EQ(keeper["status"]["code"], "OK") << keeper.dump(2);
  int keeper_port = std::stoi(keeper["db"]["port"].get<std::string>());
  auto snapshots_before = CliJson({"snapshot", "list"});
  ASSERT_EQ(snapshots_before.size(), 1u);

  auto source = Source();
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(source->Exec("CREATE TABLE leak_switch ()").ok());
  ASSERT_EQ(Cli({"instance", "full-refresh"}).exit_code, 0);
  auto status = WaitForRetrievalStatus("failed");
  ASSERT_EQ(status["retrieving"].value("status", ""), "failed") << status.dump(2) << engine_.Log();
  std::string alerts = status["retrieving"]["alerts"].dump();
  EXPECT_NE(alerts.find("residue gate refused"), std::string::npos) << alerts;
  EXPECT_NE(alerts.find("public.customers.email in leaked.csv ("), std::string::npos) << alerts;
  EXPECT_NE(engine_.Log().find("leaked.csv"), std::string::npos);

  // Not published; the older snapshot and its clone keep serving; nothing of the refused
  // data stays (main data is emptied).
  auto snapshots_after = CliJson({"snapshot", "list"});
  ASSERT_EQ(snapshots_after.size(), 1u) << snapshots_after.dump(2);
  EXPECT_EQ(snapshots_after[0]["id"], snapshots_before[0]["id"]);
  auto session = ConnectClone(keeper_port, "dev", "dev-pw", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(QueryValue(*session, "SELECT count(*) FROM customers"), std::to_string(kCustomers));
  EXPECT_EQ(OriginalsOnDisk(), std::vector<std::string>{});
}

TEST_F(ResidueTest, PhysicalPromotionSqlLeavesNoOriginalValueInTheSnapshot) {
  retrieval_ =
      "global:\n  database:\n    dbname: " + source_.dbname +
      "\nretrieval:\n  jobs: [physicalRestore, physicalSnapshot]\n  spec:\n"
      "    physicalRestore:\n      options:\n        tool: customTool\n"
      "        envs:\n          PGHOST: 127.0.0.1\n          PGPORT: " +
      std::to_string(source_.port) +
      "\n          PGUSER: postgres\n          PGPASSWORD: " + source_.password +
      "\n        customTool:\n          command: \"\"\n"
      "        sync:\n          enabled: true\n"
      "    physicalSnapshot:\n      options:\n        promotion:\n          enabled: true\n"
      "          queryPreprocessing:\n            inline: \"" +
      std::string(kMaskingSql) + "\"\n";
  // Dead row versions on the source itself: an earlier email of every customer.
  auto source = Source();
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(source
                  ->Exec("UPDATE customers SET email = email || '.old'; "
                         "UPDATE customers SET email = left(email, -4); ANALYZE customers")
                  .ok());
  StartEngineAndWaitForSnapshot();
  // Main data is the unmasked replica by design: everything else is clean.
  EXPECT_EQ(OriginalsOnDisk("dblab_pool/data/"), std::vector<std::string>{});
  auto clone =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "dev"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  auto session = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev", "dev-pw",
                              source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ExpectNoOriginalReadableFromClone(*session);
}

TEST_F(ResidueTest, ACommitAfterAMaskingUpdateInACloneKeepsNoValueTheUpdateReplaced) {
  // The snapshot masks emails only; a developer masks the notes (TOASTed) and the emails again
  // in a clone and commits.
  retrieval_ = LogicalRetrieval(
      "UPDATE customers SET email = 'masked' || id || '@example.com'; "
      "UPDATE users SET email = 'user' || id || '@example.com'");
  StartEngineAndWaitForSnapshot();
  auto dev =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "dev"});
  ASSERT_EQ(dev["status"]["code"], "OK") << dev.dump(2);
  auto session = ConnectClone(std::stoi(dev["db"]["port"].get<std::string>()), "dev", "dev-pw",
                              source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  std::vector<std::string> replaced;  // what the clone's UPDATE replaces
  auto rows = session->Query(
      "SELECT email FROM customers UNION ALL SELECT substr(notes, p, 48) FROM customers, "
      "(VALUES (1), (1000), (2100)) AS at(p)");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  for (const auto& row : *rows) replaced.push_back(row[0]);
  ASSERT_TRUE(session
                  ->Exec("ANALYZE customers; UPDATE customers SET email = 'again' || id || "
                         "'@other.example', notes = md5(notes)")
                  .ok());
  // The check sees what an UPDATE leaves behind: in the clone itself the values are there.
  auto in_dev = ReadableFromClone(*session, replaced);
  EXPECT_GT(std::stoi(in_dev["relation files"]) + std::stoi(in_dev["heap tuples"]) +
                std::stoi(in_dev["wal"]),
            0);
  std::cout << "[ residue ] in the clone before the commit: " << in_dev["relation files"]
            << " in relation files, " << in_dev["heap tuples"] << " in heap tuples, "
            << in_dev["wal"] << " in the WAL\n";

  auto started = std::chrono::steady_clock::now();
  std::string committed = Commit({"--clone-id", "dev", "--message", "masked notes"});
  ASSERT_FALSE(committed.empty()) << engine_.Log();
  std::cout << "[ residue ] commit with scrub and gate: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
  std::string id = committed;
  std::string snapshot_dir = dir_ + "/mnt/dblab_pool/snapshots/" + id.substr(id.find('@') + 1);
  NeedleScanner scanner(replaced);
  auto scan = ScanTree(scanner, snapshot_dir);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_GT(scan->files, 100);
  for (const auto& hit : scan->hits) {
    ADD_FAILURE() << "original in the commit: " << hit.file << ": "
                  << scanner.needles()[hit.needle];
  }
  // The clone kept its data and serves; a clone of the commit has none of the replaced values.
  EXPECT_EQ(QueryValue(*session, "SELECT count(*) FROM customers WHERE email LIKE 'again%'"),
            std::to_string(kCustomers));
  auto other = CliJson(
      {"clone", "create", "--username", "other", "--password", "other-pw", "--id", "other"});
  ASSERT_EQ(other["status"]["code"], "OK") << other.dump(2) << engine_.Log();
  EXPECT_EQ(other["snapshot"]["id"], id);
  auto reader = ConnectClone(std::stoi(other["db"]["port"].get<std::string>()), "other", "other-pw",
                             source_.dbname);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(QueryValue(*reader, "SELECT count(*) FROM customers WHERE email LIKE 'again%'"),
            std::to_string(kCustomers));
  ExpectNoneReadableFromClone(*reader, replaced);
  EXPECT_EQ(QueryValue(*reader,
                       "SELECT count(*) FROM pg_statistic WHERE concat(stavalues1, "
                       "stavalues2, stavalues3, stavalues4, stavalues5) ~ "
                       "'masked[0-9]+@example'"),
            "0")
      << "statistics the clone gathered before its masking UPDATE";
}

// The same masking on the other backends: nothing under the pool has an original, and a clone's
// superuser reads none from its files or WAL.
class ResidueBackendTest : public ResidueTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "zfs") {
      std::string unusable = EnsureZfsRunning();
      if (!unusable.empty()) GTEST_FAIL() << unusable;
      zpool_ = UniqueZpoolName();
      pool_extra_ = "  selectedPool: " + zpool_ + "\n";
    }
    pool_extra_ += "  backend: " + GetParam() + "\n";
    ResidueTest::SetUp();
  }
  void TearDown() override {
    ResidueTest::TearDown();
    if (!zpool_.empty()) RunCommand({"zpool", "destroy", "-f", zpool_});
  }
  std::string zpool_;
};

TEST_P(ResidueBackendTest, LogicalDataPatchingLeavesNoOriginalValueOnThisBackend) {
  retrieval_ = LogicalRetrieval(kMaskingSql);
  StartEngineAndWaitForSnapshot();
  auto status = CliJson({"instance", "status"});
  ASSERT_EQ(status["pools"][0]["mode"], GetParam()) << status.dump(2);
  EXPECT_NE(engine_.Log().find("residue gate: looked for"), std::string::npos) << engine_.Log();
  EXPECT_EQ(OriginalsOnDisk(), std::vector<std::string>{});
  auto clone =
      CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", "dev"});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  auto session = ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev", "dev-pw",
                              source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ExpectNoOriginalReadableFromClone(*session);
}

INSTANTIATE_TEST_SUITE_P(Storage, ResidueBackendTest,
                         ::testing::Values("zfs", "reflink", "overlay"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dblab::testing
