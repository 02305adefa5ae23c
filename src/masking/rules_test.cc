#include "masking/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "masking/rules_key.h"

namespace dblab {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

MaskingRule Label(const std::string& label, const std::string& column = "email") {
  auto parsed = ParseAnonymizerLabel("public", "users", column, label);
  EXPECT_TRUE(parsed.ok()) << label << ": " << parsed.error().message;
  EXPECT_TRUE(parsed.ok() && parsed->has_value()) << label;
  return parsed.ok() && parsed->has_value() ? **parsed : MaskingRule{};
}

std::string LabelError(const std::string& label) {
  auto parsed = ParseAnonymizerLabel("public", "users", "email", label);
  EXPECT_FALSE(parsed.ok()) << label << " was accepted";
  return parsed.ok() ? "" : parsed.error().message;
}

TEST(AnonymizerLabelTest, ReadsTheFunctionsAndValuesAnonDocuments) {
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.fake_email()").function, MaskFunction::kFakeEmail);
  EXPECT_EQ(Label("masked with function anon.fake_first_name()").function,
            MaskFunction::kFakeFirstName);
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.dummy_last_name()").function,
            MaskFunction::kFakeLastName);
  EXPECT_EQ(Label("MASKED WITH VALUE NULL").function, MaskFunction::kNull);

  MaskingRule constant = Label("MASKED WITH VALUE 'CONFIDENTIAL' ");
  EXPECT_EQ(constant.function, MaskFunction::kConstant);
  EXPECT_EQ(constant.args, std::vector<std::string>{"CONFIDENTIAL"});
  EXPECT_EQ(Label("MASKED WITH VALUE 'it''s'").args, std::vector<std::string>{"it's"});
  EXPECT_EQ(Label("MASKED WITH VALUE 0").args, std::vector<std::string>{"0"});

  MaskingRule partial = Label("MASKED WITH FUNCTION anon.partial(email, 2, $$XXXX$$, 2)");
  EXPECT_EQ(partial.function, MaskFunction::kPartial);
  EXPECT_EQ(partial.args, (std::vector<std::string>{"2", "XXXX", "2"}));
  EXPECT_EQ(partial.seed_column, "");
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.partial(users.email,1,'x y',0)").args,
            (std::vector<std::string>{"1", "x y", "0"}));

  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.hash(email)").function, MaskFunction::kHash);
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.partial_email(email)").function,
            MaskFunction::kPartialEmail);

  MaskingRule pseudo = Label("MASKED WITH FUNCTION anon.pseudo_email(users.login, 'salt')");
  EXPECT_EQ(pseudo.function, MaskFunction::kFakeEmail);
  EXPECT_EQ(pseudo.seed_column, "login");

  MaskingRule noise = Label("MASKED WITH FUNCTION anon.noise(salary, 0.2)", "salary");
  EXPECT_EQ(noise.function, MaskFunction::kNoise);
  EXPECT_EQ(noise.args, std::vector<std::string>{"0.2"});
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.dnoise(birth, interval '2 days')", "birth").args,
            std::vector<std::string>{"2 days"});
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.noise(birth, '2 days'::interval)", "birth").args,
            std::vector<std::string>{"2 days"});

  MaskingRule between = Label("MASKED WITH FUNCTION anon.random_int_between(1, 100)", "age");
  EXPECT_EQ(between.function, MaskFunction::kRandomInt);
  EXPECT_EQ(between.args, (std::vector<std::string>{"1", "100"}));
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.random_date_between('1960-01-01'::date, "
                  "'2000-12-31'::date)",
                  "birth")
                .args,
            (std::vector<std::string>{"1960-01-01", "2000-12-31"}));
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.random_phone('+33 6')").args,
            std::vector<std::string>{"+33 6"});
  EXPECT_EQ(Label("MASKED WITH FUNCTION anon.random_zip()").function, MaskFunction::kRandomZip);
  EXPECT_THAT(Label("MASKED WITH FUNCTION anon.fake_email()").origin,
              HasSubstr("public.users.email"));
}

TEST(AnonymizerLabelTest, NotMaskedIsNoRule) {
  auto parsed = ParseAnonymizerLabel("public", "users", "id", " NOT MASKED ");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
}

TEST(AnonymizerLabelTest, RefusesWhatItCannotApplyNamingTheColumnAndLabel) {
  std::string unknown = LabelError("MASKED WITH FUNCTION public.my_mask(email)");
  EXPECT_THAT(unknown, HasSubstr("public.users.email"));
  EXPECT_THAT(unknown, HasSubstr("my_mask"));
  EXPECT_THAT(unknown, HasSubstr("not one dblab implements"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.fake_iban()"), HasSubstr("fake_iban"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION fake_email()"), HasSubstr("not one dblab"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.fake_email("), HasSubstr("argument 1"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.partial(email, 2)"),
              HasSubstr("three arguments"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.partial(orders.email, 2, 'x', 2)"),
              HasSubstr("must be a column of users"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.partial(email, 2, 'x', 2); DROP TABLE x"),
              HasSubstr("unexpected text"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.fake_email(email)"),
              HasSubstr("takes no arguments"));
  EXPECT_THAT(LabelError("MASKED WITH FUNCTION anon.random_int_between(10, 1)"),
              HasSubstr("minimum must be <= maximum"));
  EXPECT_THAT(LabelError("MASKED WITH VALUE upper(email)"), HasSubstr("one literal"));
  EXPECT_THAT(LabelError("MASKED"), HasSubstr("expected MASKED WITH FUNCTION"));
  EXPECT_THAT(LabelError("TABLESAMPLE BERNOULLI(10)"), HasSubstr("anonymizerLabels: false"));
}

TEST(MaskArgumentsTest, ChecksCountsNumbersAndDates) {
  EXPECT_TRUE(CheckMaskArguments(MaskFunction::kPartial, {"2", "XX", "0"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kPartial, {"-1", "XX", "0"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kPartial, {"two", "XX", "0"}, "r").ok());
  EXPECT_TRUE(CheckMaskArguments(MaskFunction::kNoise, {"0.25"}, "r").ok());
  EXPECT_TRUE(CheckMaskArguments(MaskFunction::kNoise, {"3 days"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kNoise, {"'; DROP"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kNoise, {}, "r").ok());
  EXPECT_TRUE(CheckMaskArguments(MaskFunction::kRandomDate, {}, "r").ok());
  EXPECT_FALSE(
      CheckMaskArguments(MaskFunction::kRandomDate, {"2000-13-01", "2001-01-01"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kRandomString, {"33"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kFakeEmail, {"x"}, "r").ok());
  EXPECT_FALSE(CheckMaskArguments(MaskFunction::kConstant, {}, "r").ok());
  auto error = CheckMaskArguments(MaskFunction::kRandomInt, {"1"}, "masking.rules[3]");
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.error().message, StartsWith("masking.rules[3]: random_int_between takes"));
}

TEST(MaskArgumentsTest, ColumnPaths) {
  MaskingRule rule;
  ASSERT_TRUE(ParseColumnPath("users.email", "r", &rule).ok());
  EXPECT_EQ(rule.schema, "public");
  EXPECT_EQ(rule.table, "users");
  EXPECT_EQ(rule.column, "email");
  ASSERT_TRUE(ParseColumnPath("Sales.Users.E-mail", "r", &rule).ok());
  EXPECT_EQ(rule.schema, "Sales");
  EXPECT_EQ(rule.column, "E-mail");
  for (const char* bad : {"users", "a.b.c.d", "a..b", ".a.b", ""}) {
    EXPECT_FALSE(ParseColumnPath(bad, "r", &rule).ok()) << bad;
  }
}

TEST(MaskSqlTest, QuotesEveryIdentifierAndLiteral) {
  EXPECT_EQ(QuoteSqlIdentifier("users"), "\"users\"");
  EXPECT_EQ(QuoteSqlIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteSqlLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteSqlLiteral("a\\b'"), "E'a\\\\b'''");

  MaskingRule rule;
  rule.table = "x\"; DROP TABLE users; --";
  rule.column = "e\"";
  rule.function = MaskFunction::kConstant;
  rule.args = {"'); DROP TABLE users; --"};
  std::string sql = BuildMaskingUpdate("public", rule.table, {{rule, {rule.column}}});
  EXPECT_EQ(sql,
            "UPDATE \"public\".\"x\"\"; DROP TABLE users; --\" AS dblab_row SET \"e\"\"\" = "
            "'''); DROP TABLE users; --'");
}

TEST(MaskSqlTest, DerivedValuesGoThroughTheKeyedDigestOfTheOriginal) {
  MaskingRule rule;
  rule.column = "email";
  rule.function = MaskFunction::kFakeEmail;
  std::string sql = MaskExpression(rule, {"email", ColumnKind::kString, true});
  EXPECT_THAT(sql, StartsWith("(SELECT lower((ARRAY['James',"));
  EXPECT_THAT(sql, HasSubstr("'@' || (ARRAY['example.com','example.net','example.org']"));
  EXPECT_THAT(sql, HasSubstr("FROM (SELECT sha256($2::bytea || sha256($1::bytea || "
                             "convert_to('fake_email:' || (dblab_row.\"email\")::text, "
                             "'UTF8'))) AS dblab_d OFFSET 0) dblab_h)"));

  rule.seed_column = "login";
  sql = MaskExpression(rule, {"email", ColumnKind::kString, false});
  EXPECT_THAT(sql, StartsWith("CASE WHEN dblab_row.\"email\" IS NULL THEN NULL ELSE (SELECT"));
  EXPECT_THAT(sql, HasSubstr("coalesce((dblab_row.\"login\")::text, (dblab_row.\"email\")::text)"));
}

TEST(MaskSqlTest, PartialShowsOnlyPrefixAndSuffixOfLongEnoughValues) {
  MaskingRule rule;
  rule.function = MaskFunction::kPartial;
  rule.args = {"2", "XXXX", "1"};
  EXPECT_EQ(MaskExpression(rule, {"phone", ColumnKind::kString, false}),
            "CASE WHEN length((dblab_row.\"phone\")::text) > 2 + 1 THEN "
            "substr((dblab_row.\"phone\")::text, 1, 2) || 'XXXX' || "
            "substr((dblab_row.\"phone\")::text, length((dblab_row.\"phone\")::text) - 1 + 1) "
            "ELSE 'XXXX' END");
}

TEST(MaskSqlTest, OneUpdatePerTableAndShufflesApart) {
  MaskingRule email{"", "public", "users", "email", MaskFunction::kHash, {}, "", "r0"};
  MaskingRule city{"", "public", "users", "city", MaskFunction::kShuffle, {}, "", "r1"};
  std::string update = BuildMaskingUpdate(
      "public", "users",
      {{email, {"email", ColumnKind::kString}}, {city, {"city", ColumnKind::kString}}});
  EXPECT_THAT(update, StartsWith("UPDATE \"public\".\"users\" AS dblab_row SET \"email\" = "
                                 "(SELECT encode(dblab_h.dblab_d, 'hex') FROM"));
  EXPECT_THAT(update, ::testing::Not(HasSubstr("\"city\"")));
  EXPECT_EQ(BuildMaskingUpdate("public", "users", {{city, {"city", ColumnKind::kString}}}), "");
  std::string shuffle = BuildShuffle("public", "users", "city");
  EXPECT_THAT(shuffle, StartsWith("UPDATE \"public\".\"users\" AS dblab_row SET \"city\" = "));
  EXPECT_THAT(shuffle, HasSubstr("WHERE dblab_row.ctid = dblab_p.id"));
}

TEST(MaskSqlTest, RulesMustFitTheColumnType) {
  MaskingRule rule;
  rule.column = "id";
  rule.origin = "masking.rules[0] (users.id)";
  rule.function = MaskFunction::kFakeEmail;
  auto wrong = CheckRuleFitsColumn(rule, {"id", ColumnKind::kNumeric, true});
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message, HasSubstr("needs a text column; id is numeric"));
  rule.function = MaskFunction::kNull;
  EXPECT_THAT(CheckRuleFitsColumn(rule, {"id", ColumnKind::kNumeric, true}).error().message,
              HasSubstr("NOT NULL"));
  rule.function = MaskFunction::kNoise;
  rule.args = {"0.1"};
  EXPECT_TRUE(CheckRuleFitsColumn(rule, {"id", ColumnKind::kNumeric, true}).ok());
  rule.args = {"1 day"};
  EXPECT_FALSE(CheckRuleFitsColumn(rule, {"id", ColumnKind::kNumeric, true}).ok());
  EXPECT_TRUE(CheckRuleFitsColumn(rule, {"id", ColumnKind::kDateTime, true}).ok());
}

// The SQL computes sha256(outer || sha256(inner || message)): that is HMAC-SHA256 of the key.
TEST(MaskKeyTest, PadsMakeAStandardHmac) {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i * 7 + 3);
  std::string message = "fake_email:person1@mail.example";
  KeyPads pads = PadsOfKey(key);
  auto sha = [](const std::string& data) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
  };
  std::string ours = sha(pads.outer + sha(pads.inner + message));
  unsigned char hmac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), hmac, &length);
  EXPECT_EQ(ours, std::string(reinterpret_cast<char*>(hmac), length));
}

TEST(MaskKeyTest, CreatedOnceReadOnlyByItsOwnerThenReused) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("dblab-key-test-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::string path = dir + "/state/masking.key";
  auto created = LoadOrCreateMaskingKey(path);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->size(), kMaskingKeyBytes);
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto again = LoadOrCreateMaskingKey(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *created);

  chmod(path.c_str(), 0644);
  auto exposed = LoadOrCreateMaskingKey(path);
  ASSERT_FALSE(exposed.ok());
  EXPECT_THAT(exposed.error().message, HasSubstr("chmod 600"));
  chmod(path.c_str(), 0600);
  std::ofstream(path, std::ios::trunc) << "not hex\n";
  auto broken = LoadOrCreateMaskingKey(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("64 lowercase hex digits"));
  std::filesystem::remove_all(dir);
}

TEST(MaskingConfigTest, ReadsRulesAndDefaults) {
  auto config = ParseConfig(R"(
server:
  verificationToken: token
global:
  stateDir: /srv/dblab-state
masking:
  rules:
    - column: public.users.email
      function: fake_email
    - column: users.phone
      function: partial
      args: [2, "XXXX", 2]
    - column: billing.cards.number
      function: hash
      database: shop
    - column: users.login_email
      function: fake_email
      seed: login
)",
                            "server.yml", [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(config.ok()) << config.error().message;
  const MaskingConfig& masking = config->retrieval.masking;
  EXPECT_TRUE(masking.anonymizer_labels);
  EXPECT_EQ(masking.key_file, "/srv/dblab-state/masking.key");
  ASSERT_EQ(masking.rules.size(), 4u);
  EXPECT_EQ(masking.rules[1].schema, "public");
  EXPECT_EQ(masking.rules[1].column, "phone");
  EXPECT_EQ(masking.rules[1].args, (std::vector<std::string>{"2", "XXXX", "2"}));
  EXPECT_EQ(masking.rules[2].database, "shop");
  EXPECT_EQ(masking.rules[2].schema, "billing");
  EXPECT_EQ(masking.rules[3].seed_column, "login");
  EXPECT_EQ(masking.rules[1].origin, "masking.rules[1] (users.phone)");
  EXPECT_TRUE(config->warnings.empty()) << config->warnings.front();
}

TEST(MaskingConfigTest, RefusesUnknownFunctionsBadArgumentsAndDuplicates) {
  auto parse = [](const std::string& rules) {
    return ParseConfig("masking:\n  anonymizerLabels: false\n  rules:\n" + rules, "server.yml",
                       [](const std::string&) { return std::nullopt; });
  };
  auto unknown = parse("    - column: users.email\n      function: fake_emial\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message,
              HasSubstr("server.yml: line 4: masking.rules[0].function: unknown masking "
                        "function 'fake_emial'; expected one of null, constant,"));
  auto arguments = parse("    - column: users.phone\n      function: partial\n      args: [2]\n");
  ASSERT_FALSE(arguments.ok());
  EXPECT_THAT(arguments.error().message, HasSubstr("masking.rules[0]: partial takes three"));
  auto path = parse("    - column: email\n      function: hash\n");
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(path.error().message, HasSubstr("must read [schema.]table.column"));
  auto twice = parse(
      "    - {column: users.email, function: hash}\n"
      "    - {column: public.users.email, function: fake_email}\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("masks the same column as masking.rules[0]"));
  auto bare_null = parse("    - {column: users.notes, function: null}\n");
  ASSERT_FALSE(bare_null.ok());
  EXPECT_THAT(bare_null.error().message, HasSubstr("function: \"null\""));
  EXPECT_TRUE(parse("    - {column: users.notes, function: \"null\"}\n").ok());
  auto typo = parse("    - {column: users.email, function: hash, agrs: [1]}\n");
  ASSERT_TRUE(typo.ok());
  EXPECT_THAT(typo->warnings, ::testing::Contains(HasSubstr("masking.rules[0].agrs")));
  EXPECT_FALSE(typo->retrieval.masking.anonymizer_labels);
}

}  // namespace
}  // namespace dblab
