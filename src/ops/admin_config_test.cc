#include "ops/admin_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dblab {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskedConfigYamlTest, MasksEverySecretAndInlinePasswords) {
  auto masked = MaskedConfigYaml(R"(
server:
  verificationToken: "the-token"
retrieval:
  spec:
    logicalDump:
      options:
        source:
          connection: {host: db, password: "pw-1"}
          connectionString: "host=db password='pw 2' user=x"
other:
  uri: "postgresql://u:pw-3@db/app"
  conninfo: "host=db password=pw-4"
webhooks:
  hooks:
    - {url: "http://h", secret: "hook-secret"}
)");
  ASSERT_TRUE(masked.ok());
  for (const char* secret : {"the-token", "pw-1", "pw 2", "pw-3", "pw-4", "hook-secret"}) {
    EXPECT_THAT(*masked, Not(HasSubstr(secret))) << *masked;
  }
  EXPECT_THAT(*masked, HasSubstr("verificationToken: \"****\""));
  EXPECT_THAT(*masked, HasSubstr("postgresql://u:****@db/app"));
  EXPECT_THAT(*masked, HasSubstr("host: db"));
}

TEST(LiveConfigChangeTest, TakesTheLiveKeysAndRefusesOthersByName) {
  auto change = ParseLiveConfigChange(
      R"({"retrieval": {"refresh": {"timetable": "0 3 * * *"}}, "global": {"debug": true}})");
  ASSERT_TRUE(change.ok()) << change.error().message;
  EXPECT_EQ(change->refresh_timetable, "0 3 * * *");
  EXPECT_EQ(change->debug, true);

  auto refused =
      ParseLiveConfigChange(R"({"databaseConfigs": {"configs": {"shared_buffers": "1GB"}}})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_THAT(refused.error().message,
              HasSubstr("databaseConfigs.configs.shared_buffers cannot be changed while"));
  EXPECT_FALSE(ParseLiveConfigChange("[1]").ok());
}

TEST(ProjectedConfigTest, HasDleShapeAndNoPassword) {
  EngineConfig config;
  config.retrieval.jobs = {"logicalDump", "logicalRestore", "logicalSnapshot"};
  config.retrieval.logical_dump.source.password = "never-shown";
  config.retrieval.logical_dump.databases = {"app"};
  config.retrieval.refresh_timetable = "0 1 * * 0";
  std::string text = ProjectedConfigJson(config, std::string("5 4 * * *"));
  EXPECT_THAT(text, Not(HasSubstr("never-shown")));
  auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["retrieval"]["refresh"]["timetable"], "5 4 * * *");
  EXPECT_TRUE(json["retrieval"]["spec"]["logicalDump"]["options"]["databases"].contains("app"));
  EXPECT_EQ(json["retrieval"]["spec"]["logicalDump"]["options"]["source"]["connection"]["port"],
            5432);
}

TEST(DbSourceCandidateTest, AcceptsDleConnectionAndValidates) {
  auto candidate = ParseDbSourceCandidate(
      R"({"host": "db", "port": "5433", "dbname": "app", "username": "u", "password": "p",
          "db_list": ["app"]})");
  ASSERT_TRUE(candidate.ok()) << candidate.error().message;
  EXPECT_EQ(candidate->port, 5433);
  EXPECT_EQ(candidate->db_list, std::vector<std::string>{"app"});
  EXPECT_THAT(
      ParseDbSourceCandidate(R"({"host": "db", "port": "x", "username": "u"})").error().message,
      HasSubstr("port"));
  EXPECT_THAT(ParseDbSourceCandidate(R"({"port": 5432, "username": "u"})").error().message,
              HasSubstr("host is required"));
  EXPECT_THAT(
      ParseDbSourceCandidate(R"({"host": "db", "username": "u", "sslmode": "x"})").error().message,
      HasSubstr("unknown field \"sslmode\""));
}

}  // namespace
}  // namespace dblab
