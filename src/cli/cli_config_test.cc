#include "cli/cli_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace dblab {
namespace {

class CliConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab_cli_config_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static mode_t Mode(const std::filesystem::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 0777;
  }

  std::filesystem::path root_;
};

TEST_F(CliConfigFile, MissingFileIsAnEmptyConfig) {
  auto config = LoadCliConfig(root_ / "nope" / "cli.yml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->current_environment.empty());
  EXPECT_TRUE(config->environments.empty());
}

TEST_F(CliConfigFile, SaveThenLoadRoundTripsWithPrivateModes) {
  CliConfig config;
  config.current_environment = "prod";
  config.environments["prod"] =
      CliEnvironment{"https://dle.example.com", "s3cret", true, "2m", "main", {}};
  config.environments["local"] = CliEnvironment{"http://127.0.0.1:2345", "", false, "", "", {}};
  const auto file = root_ / ".dblab" / "cli" / "cli.yml";

  ASSERT_TRUE(SaveCliConfig(file, config).ok());

  EXPECT_EQ(Mode(file), 0600u);
  EXPECT_EQ(Mode(file.parent_path()), 0700u);
  EXPECT_EQ(Mode(file.parent_path().parent_path()), 0700u);
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  auto loaded = LoadCliConfig(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->current_environment, "prod");
  ASSERT_EQ(loaded->environments.size(), 2u);
  const CliEnvironment& prod = loaded->environments.at("prod");
  EXPECT_EQ(prod.url, "https://dle.example.com");
  EXPECT_EQ(prod.token, "s3cret");
  EXPECT_TRUE(prod.insecure);
  EXPECT_EQ(prod.request_timeout, "2m");
  EXPECT_EQ(prod.current_branch, "main");
  EXPECT_EQ(loaded->environments.at("local").url, "http://127.0.0.1:2345");
}

TEST_F(CliConfigFile, ReadsDleFilesAndKeepsKeysItDoesNotKnow) {
  const auto file = root_ / "cli.yml";
  std::ofstream(file) << "current_environment: dev\n"
                         "settings:\n  tz: UTC\n"
                         "environments:\n"
                         "  dev:\n"
                         "    url: http://10.0.0.1:2345\n"
                         "    token: abc\n"
                         "    insecure: false\n"
                         "    request_timeout: 1m0s\n"
                         "    forwarding:\n      server_url: ssh://user@host:22\n"
                         "    branching:\n      current_branch: main\n";
  auto config = LoadCliConfig(file);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->environments.at("dev").request_timeout, "1m0s");
  config->environments.at("dev").token = "new";

  ASSERT_TRUE(SaveCliConfig(file, *config).ok());

  const YAML::Node saved = YAML::LoadFile(file.string());
  EXPECT_EQ(saved["settings"]["tz"].as<std::string>(), "UTC");
  EXPECT_EQ(saved["environments"]["dev"]["forwarding"]["server_url"].as<std::string>(),
            "ssh://user@host:22");
  EXPECT_EQ(saved["environments"]["dev"]["token"].as<std::string>(), "new");
  EXPECT_EQ(saved["environments"]["dev"]["branching"]["current_branch"].as<std::string>(), "main");
}

TEST_F(CliConfigFile, MalformedFileIsABadRequestNamingTheFile) {
  const auto file = root_ / "cli.yml";
  std::ofstream(file) << "environments: [unclosed\n";
  auto config = LoadCliConfig(file);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(config.error().message.find(file.string()), std::string::npos);
}

TEST_F(CliConfigFile, SaveReplacesALooseModeFileWithA0600One) {
  const auto file = root_ / "cli.yml";
  std::ofstream(file) << "current_environment: x\n";
  ::chmod(file.c_str(), 0644);
  ASSERT_TRUE(SaveCliConfig(file, CliConfig{}).ok());
  EXPECT_EQ(Mode(file), 0600u);
}

TEST(CliConfigPathTest, OverrideDirWinsOverHome) {
  auto with_override = CliConfigPath([](const char* name) -> const char* {
    std::string key = name;
    if (key == "DBLAB_CLI_CONFIG_DIR") return "/tmp/cfg";
    if (key == "HOME") return "/home/u";
    return nullptr;
  });
  ASSERT_TRUE(with_override.ok());
  EXPECT_EQ(with_override->string(), "/tmp/cfg/cli.yml");

  auto from_home = CliConfigPath([](const char* name) -> const char* {
    return std::string(name) == "HOME" ? "/home/u" : nullptr;
  });
  ASSERT_TRUE(from_home.ok());
  EXPECT_EQ(from_home->string(), "/home/u/.dblab/cli/cli.yml");

  auto neither = CliConfigPath([](const char*) -> const char* { return nullptr; });
  EXPECT_FALSE(neither.ok());
}

}  // namespace
}  // namespace dblab
