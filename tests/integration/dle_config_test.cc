// DLE users switch by pointing dblab-engine at their existing server.yml: the reference config
// from Database Lab Engine (anchors, two `<<` merge keys in one mapping, Docker-only keys, the
// token from ${DBLAB_VERIFICATION_TOKEN}, PGPASSWORD) must drive a working engine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

void ReplaceOnce(std::string& text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "reference config changed: " << from;
  text.replace(at, from.size(), to);
}

class DleConfigTest : public EngineFixture {};

TEST_F(DleConfigTest, ReferenceLogicalConfigRunsTheScenario) {
  std::string reference = SourceDir() + "/../shared/reference/dle-config.logical_generic.yml";
  if (!std::filesystem::exists(reference)) GTEST_SKIP() << "no " << reference;
  std::ifstream in(reference);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string yaml = buffer.str();
  // Only what any user edits: paths, ports and the source's address.
  for (size_t at; (at = yaml.find("/var/lib/dblab")) != std::string::npos;) {
    yaml.replace(at, 14, dir_ + "/mnt");
  }
  ReplaceOnce(yaml, "port: 2345 #", "port: " + std::to_string(api_port_) + " #");
  ReplaceOnce(yaml, "from: 6000 #", "from: " + std::to_string(port_from_) + " #");
  ReplaceOnce(yaml, "to: 6099 #", "to: " + std::to_string(port_from_ + 40) + " #");
  ReplaceOnce(
      yaml, "            host:\n            port: 5432\n",
      "            host: 127.0.0.1\n            port: " + std::to_string(source_.port) + "\n");
  config_path_ = dir_ + "/server.yml";
  std::ofstream(config_path_) << yaml;

  // The token comes from the environment, the source password from PGPASSWORD (the file says
  // "postgres", which is wrong for this source).
  ASSERT_TRUE(
      engine_.Start(config_path_, api_port_, dir_ + "/engine.log", {},
                    {{"DBLAB_VERIFICATION_TOKEN", kToken}, {"PGPASSWORD", source_.password}}))
      << engine_.Log();
  InitCli();
  ASSERT_TRUE(WaitForSnapshot()) << engine_.Log();
  std::string log = engine_.Log();
  EXPECT_NE(log.find("dockerImage"), std::string::npos) << "Docker-only keys are reported";

  auto clone = CliJson({"clone", "create", "--username", "jworks", "--password", "rocks", "--id",
                        "testclone", "--db-name", source_.dbname});
  ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
  int port = std::stoi(clone["db"]["port"].get<std::string>());
  auto connection = ConnectClone(port, "jworks", "rocks", source_.dbname);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(QueryValue(*connection, "SELECT count(*) FROM users"), std::to_string(users_));
  // databaseConfigs.configs from the file reach the clone (1GB shared_buffers in the reference).
  EXPECT_EQ(QueryValue(*connection, "SHOW shared_buffers"), "1GB");
  EXPECT_EQ(Cli({"clone", "destroy", "testclone"}).exit_code, 0);
}

}  // namespace
}  // namespace dblab::testing
