// A real engine on a real btrfs loop pool, fed by a real source PostgreSQL, in a temp dir.
// TearDown stops the engine, every clone server and the source, unmounts the pool and removes
// everything, whether or not the test passed.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support.h"

namespace dblab::testing {

class EngineFixture : public ::testing::Test {
 protected:
  static constexpr const char* kToken = "secret-token";

  void SetUp() override;
  void TearDown() override;

  // Writes the DLE-style config for this test's engine; `extra_yaml` is appended verbatim.
  std::string WriteConfig(const std::string& extra_yaml = "");
  // Starts the engine with the config, waits for the first snapshot.
  void StartEngineAndWaitForSnapshot(const std::string& extra_yaml = "");
  bool StartEngine();  // with the config already written
  bool WaitForSnapshot(int seconds = 180);

  // Runs the real CLI with this test's CLI config dir.
  CommandResult Cli(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {});
  // Runs the CLI and parses its stdout as JSON (fails the test if it is not).
  nlohmann::json CliJson(const std::vector<std::string>& args);
  // Runs `dblab commit ARGS` and returns the new snapshot's id from its one line, DLE's
  // "Created new snapshot 'ID'" (fails the test and returns "" otherwise).
  std::string Commit(const std::vector<std::string>& args);
  void InitCli();
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(api_port_); }
  std::string ClonePath(const std::string& id) const {
    return dir_ + "/mnt/dblab_pool/clones/" + id;
  }

  std::string dir_;
  SourceDatabase source_;
  int api_port_ = 0;
  int port_from_ = 0;
  std::string config_path_;
  EngineProcess engine_;
  int users_ = 2000;
  std::string provision_extra_;  // extra lines under provision:, indented by two spaces
  std::string pool_extra_;       // extra lines under poolManager:, indented by two spaces
  std::string retrieval_;        // the whole retrieval: section; empty = logical from source_
  std::vector<std::string> engine_args_;  // extra dblab-engine flags
};

// Checksum of the users table as a clone's user sees it.
std::string UsersChecksum(PgConnection& connection);

}  // namespace dblab::testing
