// Declarative masking end to end: `masking.rules` in server.yml and PostgreSQL Anonymizer's
// security labels on a real source, applied by the real engine in both retrieval methods, seen
// from inside clones as a developer would see them.
//
// The source has no `anon` provider (Debian's postgresql-15 ships neither the extension nor the
// dummy_seclabel test module), so `SECURITY LABEL FOR anon` cannot run there. The labels are
// written into pg_seclabel directly, as a superuser may: the catalog then holds exactly what
// Anonymizer's SECURITY LABEL would write, pg_dump dumps them as SECURITY LABEL statements, and
// a physical copy carries them, which is all dblab reads.
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "engine_fixture.h"
#include "masking/scan.h"

namespace dblab::testing {
namespace {

class MaskingRulesTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    auto app = Source(source_.dbname);
    ASSERT_TRUE(app.ok()) << app.error().message;
    // Orders reference users by email: joins on the masked emails must still match.
    ASSERT_TRUE(app->Exec("CREATE TABLE orders (id bigint PRIMARY KEY, user_email text NOT NULL, "
                          "customer_phone text, note text);"
                          "INSERT INTO orders SELECT i, 'person' || (i % 500 + 1) || "
                          "'@mail.example', '+1-555-' || i, 'deliver to Person ' || i "
                          "FROM generate_series(1, 1000) i")
                    .ok());
  }

  Result<PgConnection> Source(const std::string& dbname) {
    return PgConnection::Connect(BuildConninfo({{"host", source_.dir + "/run"},
                                                {"port", std::to_string(source_.port)},
                                                {"user", "postgres"},
                                                {"dbname", dbname}}));
  }

  // What `SECURITY LABEL FOR anon ON COLUMN table.column IS 'label'` stores.
  void Label(const std::string& table, const std::string& column, const std::string& label) {
    auto app = Source(source_.dbname);
    ASSERT_TRUE(app.ok());
    auto done = app->Exec(
        "INSERT INTO pg_seclabel (objoid, classoid, objsubid, provider, label) SELECT "
        "c.oid, 'pg_class'::regclass, a.attnum, 'anon', " +
        app->QuoteLiteral(label) +
        " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname = " +
        app->QuoteLiteral(table) + " AND a.attname = " + app->QuoteLiteral(column));
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  void LabelTheSource() {
    Label("users", "full_name", "MASKED WITH FUNCTION anon.fake_last_name()");
    Label("orders", "customer_phone", "MASKED WITH FUNCTION anon.hash(customer_phone)");
    Label("orders", "note", "MASKED WITH VALUE NULL");
    Label("orders", "id", "NOT MASKED");
  }

  std::string LogicalRetrieval() const {
    return "retrieval:\n  jobs: [logicalDump, logicalRestore, logicalSnapshot]\n  spec:\n"
           "    logicalDump:\n      options:\n        source:\n          connection:\n"
           "            host: 127.0.0.1\n            port: " +
           std::to_string(source_.port) + "\n            dbname: " + source_.dbname +
           "\n            username: postgres\n            password: " + source_.password +
           "\n        databases: [" + source_.dbname + "]\n";
  }

  static constexpr const char* kRules =
      "masking:\n  rules:\n"
      "    - {column: public.users.email, function: fake_email}\n"
      "    - {column: orders.user_email, function: fake_email}\n"
      "    - {column: users.phone, function: partial, args: [2, \"XXXX\", 2]}\n";

  Result<PgConnection> NewClone(const std::string& id) {
    auto clone =
        CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", id});
    EXPECT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
    if (clone["status"]["code"] != "OK") return Internal("no clone");
    return ConnectClone(std::stoi(clone["db"]["port"].get<std::string>()), "dev", "dev-pw",
                        source_.dbname);
  }

  // HMAC-SHA256(masking key, "hash:" + original) in hex: what anon.hash() gives in dblab.
  std::string ExpectedHash(const std::string& original) {
    std::string hex = ReadFile(dir_ + "/mnt/.dblab-engine/masking.key");
    std::string key;
    for (size_t i = 0; i + 1 < hex.size() && hex[i] != '\n'; i += 2) {
      key += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    EXPECT_EQ(key.size(), 32u);
    std::string message = "hash:" + original;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    std::string out;
    char byte[3];
    for (unsigned int i = 0; i < length; ++i) {
      snprintf(byte, sizeof byte, "%02x", digest[i]);
      out += byte;
    }
    return out;
  }

  // Every masked column of both tables, row by row.
  static std::string MaskedChecksum(PgConnection& clone) {
    return QueryValue(clone,
                      "SELECT (SELECT md5(string_agg(id || ',' || email || ',' || phone || ',' || "
                      "full_name, ';' ORDER BY id)) FROM users) || '/' || (SELECT "
                      "md5(string_agg(id || ',' || user_email || ',' || customer_phone || ',' || "
                      "coalesce(note, 'NULL'), ';' ORDER BY id)) FROM orders)");
  }

  // Every value of the columns the rules and labels mask, from the source.
  std::vector<std::string> Originals() {
    auto app = Source(source_.dbname);
    EXPECT_TRUE(app.ok());
    if (!app.ok()) return {};
    auto rows = app->Query(
        "SELECT email FROM users UNION ALL SELECT full_name FROM users UNION ALL SELECT phone "
        "FROM users UNION ALL SELECT user_email FROM orders UNION ALL SELECT customer_phone FROM "
        "orders UNION ALL SELECT note FROM orders");
    EXPECT_TRUE(rows.ok());
    std::vector<std::string> originals;
    for (const auto& row : *rows) originals.push_back(row[0]);
    return originals;
  }

  // No original in any file under the pool (the btrfs image's freed blocks aside: they are not
  // the pool's files, docs/masking.md), nor readable by the clone's superuser from the raw
  // relation files (heap, indexes, TOAST) or the WAL.
  void ExpectNoOriginalLeft(PgConnection& clone) {
    std::vector<std::string> originals = Originals();
    ASSERT_EQ(originals.size(), size_t(3 * users_ + 3 * 1000));
    NeedleScanner scanner(originals);
    auto scan = ScanTree(scanner, dir_ + "/mnt");
    ASSERT_TRUE(scan.ok()) << scan.error().message;
    EXPECT_GT(scan->files, 100);
    std::vector<std::string> found;
    for (const auto& hit : scan->hits) {
      if (hit.file == "dblab_pool.img") continue;
      found.push_back(hit.file + ": " + scanner.needles()[hit.needle]);
    }
    EXPECT_EQ(found, std::vector<std::string>{});
    std::string needles;
    for (size_t i = 0; i < originals.size(); i += 37) {
      needles += (needles.empty() ? "" : ",") + clone.QuoteLiteral(originals[i]);
    }
    std::string files =
        "SELECT pg_read_binary_file(pg_relation_filepath(c.oid)) AS f FROM pg_class c WHERE "
        "c.relfilenode <> 0 AND (c.relname IN ('users', 'orders') OR c.oid IN (SELECT indexrelid "
        "FROM pg_index WHERE indrelid IN ('users'::regclass, 'orders'::regclass)) OR c.oid IN "
        "(SELECT reltoastrelid FROM pg_class WHERE relname IN ('users', 'orders'))) "
        "UNION ALL SELECT pg_read_binary_file('pg_wal/' || name) FROM pg_ls_waldir() WHERE name "
        "~ '^[0-9A-F]{24}$'";
    EXPECT_EQ(QueryValue(clone, "SELECT count(*) FROM unnest(ARRAY[" + needles + "]) n, (" + files +
                                    ") x WHERE position(convert_to(n, 'UTF8') IN f) > 0"),
              "0");
  }

  void ExpectMasked(PgConnection& clone) {
    EXPECT_EQ(QueryValue(clone, "SELECT count(*) FROM users"), std::to_string(users_));
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM users WHERE email LIKE '%mail.example' OR "
                         "full_name LIKE 'Person %' OR phone LIKE '+1-555-%'"),
              "0");
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM users WHERE email !~ "
                         "'^[a-z]+\\.[a-z]+\\.[0-9a-f]{10}@example\\.(com|net|org)$'"),
              "0");
    EXPECT_EQ(QueryValue(clone, "SELECT count(DISTINCT email) FROM users"), std::to_string(users_));
    EXPECT_EQ(QueryValue(clone, "SELECT phone FROM users WHERE id = 1234"), "+1XXXX34");
    // The same original email got the same fake one in both tables: every order still joins.
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM orders o JOIN users u ON u.email = "
                         "o.user_email"),
              "1000");
    EXPECT_EQ(QueryValue(clone,
                         "SELECT count(*) FROM orders WHERE note IS NOT NULL OR "
                         "customer_phone LIKE '+1-555-%'"),
              "0");
    EXPECT_EQ(QueryValue(clone, "SELECT customer_phone FROM orders WHERE id = 7"),
              ExpectedHash("+1-555-7"));
  }
};

TEST_F(MaskingRulesTest, RulesAndAnonymizerLabelsMaskLogicalSnapshotsTheSameWayEveryRefresh) {
  LabelTheSource();
  // pg_dump writes the labels; a plain restore would fail on them without the anon provider.
  auto schema =
      RunCommand({"/usr/lib/postgresql/15/bin/pg_dump", "--schema-only", "-h", source_.dir + "/run",
                  "-p", std::to_string(source_.port), "-U", "postgres", source_.dbname});
  ASSERT_EQ(schema.exit_code, 0) << schema.err;
  EXPECT_NE(schema.out.find("SECURITY LABEL FOR anon ON COLUMN public.users.full_name IS "
                            "'MASKED WITH FUNCTION anon.fake_last_name()'"),
            std::string::npos)
      << schema.out;

  retrieval_ = LogicalRetrieval();
  StartEngineAndWaitForSnapshot(kRules);
  struct stat key {};
  ASSERT_EQ(stat((dir_ + "/mnt/.dblab-engine/masking.key").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  EXPECT_EQ(key.st_uid, 0u);

  auto first = NewClone("first");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ExpectMasked(*first);
  EXPECT_EQ(QueryValue(*first, "SELECT count(*) FROM pg_extension WHERE extname = 'anon'"), "0");
  ExpectNoOriginalLeft(*first);
  std::string before = MaskedChecksum(*first);

  // A full refresh masks the new copy with the same key: the same values, row for row.
  ASSERT_EQ(Cli({"instance", "full-refresh"}).exit_code, 0);
  bool refreshed = false;
  for (int i = 0; i < 1800 && !refreshed; ++i) {
    refreshed = CliJson({"snapshot", "list"}).size() == 2;
    if (!refreshed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(refreshed) << engine_.Log();
  auto second = NewClone("second");
  ASSERT_TRUE(second.ok()) << second.error().message;
  ExpectMasked(*second);
  EXPECT_EQ(MaskedChecksum(*second), before);
}

TEST_F(MaskingRulesTest, PhysicalSnapshotsApplyTheLabelsOfTheCopyItself) {
  LabelTheSource();
  retrieval_ = "global:\n  database:\n    dbname: " + source_.dbname +
               "\nretrieval:\n  jobs: [physicalRestore, physicalSnapshot]\n  spec:\n"
               "    physicalRestore:\n      options:\n        envs:\n          PGHOST: 127.0.0.1\n"
               "          PGPORT: " +
               std::to_string(source_.port) +
               "\n          PGUSER: postgres\n          PGPASSWORD: " + source_.password +
               "\n    physicalSnapshot:\n      options:\n        promotion:\n"
               "          enabled: true\n";
  StartEngineAndWaitForSnapshot(kRules);
  auto clone = NewClone("physical");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  ExpectMasked(*clone);
}

TEST_F(MaskingRulesTest, ALabelDblabCannotApplyFailsTheRetrievalAndPublishesNothing) {
  Label("users", "email", "MASKED WITH FUNCTION anon.fake_iban()");
  retrieval_ = LogicalRetrieval();
  WriteConfig();
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  InitCli();
  nlohmann::json status;
  for (int i = 0; i < 1800; ++i) {
    status = CliJson({"instance", "status"});
    if (status["retrieving"]["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status["retrieving"]["status"], "failed") << status.dump(2) << engine_.Log();
  std::string alert = status["retrieving"]["alerts"]["refresh_failed"]["message"];
  EXPECT_NE(alert.find("security label for anon on column public.users.email"), std::string::npos)
      << alert;
  EXPECT_NE(alert.find("anon.fake_iban"), std::string::npos) << alert;
  EXPECT_TRUE(CliJson({"snapshot", "list"}).empty());
}

TEST_F(MaskingRulesTest, ARuleOnAMissingTableFailsTheRetrievalAndAnUnknownFunctionTheStart) {
  retrieval_ = LogicalRetrieval();
  WriteConfig("masking:\n  rules:\n    - {column: public.customers.email, function: hash}\n");
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  InitCli();
  nlohmann::json status;
  for (int i = 0; i < 1800; ++i) {
    status = CliJson({"instance", "status"});
    if (status["retrieving"]["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status["retrieving"]["status"], "failed") << status.dump(2) << engine_.Log();
  std::string alert = status["retrieving"]["alerts"]["refresh_failed"]["message"];
  EXPECT_NE(alert.find("masking.rules[0] (public.customers.email): table public.customers does "
                       "not exist in any retrieved database (app)"),
            std::string::npos)
      << alert;
  EXPECT_TRUE(CliJson({"snapshot", "list"}).empty());
  engine_.Terminate();

  WriteConfig("masking:\n  rules:\n    - {column: users.email, function: fake_mail}\n");
  EXPECT_FALSE(StartEngine());
  EXPECT_NE(engine_.Log().find("unknown masking function 'fake_mail'"), std::string::npos)
      << engine_.Log();
}

}  // namespace
}  // namespace dblab::testing
