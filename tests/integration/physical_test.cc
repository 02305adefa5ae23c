// Physical retrieval end to end: pg_basebackup from a real source into the btrfs pool, a
// streaming replica kept in sync on main data, snapshots of promoted and masked copies of it,
// clones of them, an engine restart that keeps the replica, and retention.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "engine_fixture.h"
#include "postgres/server.h"

namespace dblab::testing {
namespace {

class PhysicalTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    retrieval_ =
        "global:\n  database:\n    dbname: " + source_.dbname +
        "\n"
        "retrieval:\n  jobs: [physicalRestore, physicalSnapshot]\n  spec:\n"
        "    physicalRestore:\n      options:\n        tool: customTool\n"
        "        envs:\n          PGHOST: 127.0.0.1\n          PGPORT: " +
        std::to_string(source_.port) +
        "\n          PGUSER: postgres\n          PGPASSWORD: " + source_.password +
        "\n        customTool:\n          command: \"\"\n"
        "        sync:\n          enabled: true\n          configs:\n"
        "            shared_buffers: 32MB\n"
        "    physicalSnapshot:\n      options:\n        promotion:\n          enabled: true\n"
        "          queryPreprocessing:\n"
        "            inline: \"UPDATE users SET email = 'user' || id || '@example.com'\"\n"
        "        scheduler:\n          retention:\n            limit: 2\n";
  }

  Result<PgConnection> Source(const std::string& dbname) {
    return PgConnection::Connect(BuildConninfo({{"host", source_.dir + "/run"},
                                                {"port", std::to_string(source_.port)},
                                                {"user", "postgres"},
                                                {"dbname", dbname}}));
  }

  // The replica's walreceiver as the source sees it: "streaming", or "" while there is none.
  std::string ReplicaState(PgConnection& source) {
    return QueryValue(source,
                      "SELECT coalesce((SELECT state FROM pg_stat_replication WHERE "
                      "application_name = 'dblab_sync'), '')");
  }

  // Waits until the replica has replayed everything the source has written so far.
  bool WaitReplayed(PgConnection& source) {
    std::string target = QueryValue(source, "SELECT pg_current_wal_lsn()");
    for (int i = 0; i < 300; ++i) {
      std::string done =
          QueryValue(source, "SELECT coalesce((SELECT replay_lsn >= '" + target +
                                 "'::pg_lsn FROM pg_stat_replication WHERE application_name = "
                                 "'dblab_sync'), false)");
      if (done == "t") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  int CreateClone(const std::string& id) {
    auto clone =
        CliJson({"clone", "create", "--username", "dev", "--password", "dev-pw", "--id", id});
    EXPECT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
    return std::stoi(clone["db"]["port"].get<std::string>());
  }
};

TEST_F(PhysicalTest, AReplicaInSyncGivesMaskedSnapshotsThatSurviveARestart) {
  StartEngineAndWaitForSnapshot();
  auto status = CliJson({"instance", "status"});
  EXPECT_EQ(status["retrieving"]["mode"], "physical") << status.dump(2);
  auto source = Source(source_.dbname);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ(ReplicaState(*source), "streaming") << engine_.Log();

  // A clone of the first snapshot: all rows, personal data masked.
  int first_port = CreateClone("first");
  auto first = ConnectClone(first_port, "dev", "dev-pw", source_.dbname);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(QueryValue(*first, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_EQ(QueryValue(*first, "SELECT count(*) FROM users WHERE email LIKE '%mail.example'"), "0");
  EXPECT_EQ(QueryValue(*first, "SELECT pg_is_in_recovery()"), "f");

  // New rows on the source reach the replica; a snapshot taken now has them, masked too.
  ASSERT_TRUE(source
                  ->Exec("INSERT INTO users SELECT i, 'New ' || i, 'new' || i || "
                         "'@mail.example', '' FROM generate_series(100001, 100010) i")
                  .ok());
  ASSERT_TRUE(WaitReplayed(*source)) << engine_.Log();
  auto started = std::chrono::steady_clock::now();
  auto snapshot = CliJson({"snapshot", "create"});
  ASSERT_TRUE(snapshot.contains("id")) << snapshot.dump(2) << engine_.Log();
  // Not asserted (timings belong in benchmarks): what a snapshot of a small replica costs here.
  std::cout << "[ measure  ] physical snapshot (pause, snapshot, promote, mask, stop, snapshot): "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms\n";
  EXPECT_EQ(CliJson({"snapshot", "list"}).size(), 2u);
  int second_port = CreateClone("second");
  auto second = ConnectClone(second_port, "dev", "dev-pw", source_.dbname);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(QueryValue(*second, "SELECT count(*) FROM users"), std::to_string(users_ + 10));
  EXPECT_EQ(QueryValue(*second, "SELECT count(*) FROM users WHERE email LIKE '%mail.example'"),
            "0");
  EXPECT_EQ(QueryValue(*first, "SELECT count(*) FROM users"), std::to_string(users_));
  EXPECT_EQ(ReplicaState(*source), "streaming");

  // The source's password is in a file only the OS user reads, never in the pool.
  struct stat passfile {};
  ASSERT_EQ(stat((dir_ + "/mnt/.dblab-engine/source.pgpass").c_str(), &passfile), 0);
  EXPECT_EQ(passfile.st_mode & 0777, 0600u);
  auto grep = RunCommand({"grep", "-rl", source_.password, dir_ + "/mnt/dblab_pool"});
  EXPECT_EQ(grep.out, "") << "the source password is stored in the pool";
  // A clone's superuser reaches neither that file, nor the replica (its socket, main data).
  auto replica_port = PostgresControl::RunningPort(dir_ + "/mnt/dblab_pool/data");
  ASSERT_TRUE(replica_port.has_value());
  std::string replica_sockets = dir_ + "/mnt/dblab_pool/sockets/" + std::to_string(*replica_port);
  ASSERT_EQ(access(replica_sockets.c_str(), F_OK), 0);
  for (const std::string& sql :
       {"SELECT pg_read_file('" + dir_ + "/mnt/.dblab-engine/source.pgpass')",
        "SELECT pg_stat_file('" + replica_sockets + "')",
        "SELECT pg_read_binary_file('" + dir_ + "/mnt/dblab_pool/data/PG_VERSION')",
        "COPY (SELECT 1) TO PROGRAM 'psql -h " + replica_sockets + " -p " +
            std::to_string(*replica_port) + " -U postgres -c \"SELECT 1\" postgres'"}) {
    EXPECT_FALSE(second->Exec(sql).ok()) << sql;
  }

  // An engine restart keeps the replica streaming and the clones serving.
  std::string replica_pid = QueryValue(
      *source, "SELECT pid FROM pg_stat_replication WHERE application_name = 'dblab_sync'");
  engine_.Terminate();
  ASSERT_TRUE(StartEngine()) << engine_.Log();
  EXPECT_EQ(CliJson({"clone", "status", "second"})["status"]["code"], "OK");
  EXPECT_EQ(ReplicaState(*source), "streaming");
  EXPECT_EQ(QueryValue(*source,
                       "SELECT pid FROM pg_stat_replication WHERE application_name = "
                       "'dblab_sync'"),
            replica_pid)
      << "the replica was restarted instead of kept";

  // The replica's lag is a Prometheus gauge, measured when the engine checks the replica.
  std::string metrics;
  for (int i = 0; i < 150; ++i) {
    metrics = RunCommand({"curl", "-sS", "--max-time", "10", Url() + "/metrics"}).out;
    if (metrics.find("\ndblab_retrieval_replica_lag_seconds ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("\ndblab_retrieval_replica_lag_seconds "), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ndblab_retrieval_replica_lag_bytes "), std::string::npos) << metrics;

  // A replica that dies is started again: the engine checks every 10 s.
  std::string main_data = dir_ + "/mnt/dblab_pool/data";
  auto replica = PostgresControl::RunningPid(main_data);
  ASSERT_TRUE(replica.has_value());
  ASSERT_EQ(kill(*replica, SIGKILL), 0);
  bool restarted = false;
  for (int i = 0; i < 300 && !restarted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    restarted = ReplicaState(*source) == "streaming" &&
                QueryValue(*source,
                           "SELECT pid FROM pg_stat_replication WHERE "
                           "application_name = 'dblab_sync'") != replica_pid;
  }
  EXPECT_TRUE(restarted) << engine_.Log();

  // Retention (limit 2): the oldest snapshot without clones goes when a third one comes.
  std::string oldest = CliJson({"snapshot", "list"}).back()["id"];
  ASSERT_EQ(Cli({"clone", "destroy", "first"}).exit_code, 0);
  for (int i = 0; i < 100 && CliJson({"clone", "list"}).size() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto third = CliJson({"snapshot", "create"});
  ASSERT_TRUE(third.contains("id")) << third.dump(2) << engine_.Log();
  auto listed = CliJson({"snapshot", "list"});
  ASSERT_EQ(listed.size(), 2u) << listed.dump(2);
  for (const auto& s : listed) EXPECT_NE(s["id"], oldest);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/mnt/dblab_pool/snapshots/" +
                                       oldest.substr(oldest.find('@') + 1)));

  // A snapshot a clone uses cannot be deleted; an unused one can.
  std::string used = CliJson({"clone", "status", "second"})["snapshot"]["id"];
  auto refused = Cli({"snapshot", "delete", used});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is used by clone(s) second"), std::string::npos) << refused.err;
  std::string unused = third["id"];
  ASSERT_NE(unused, used);
  auto deleted = Cli({"snapshot", "delete", unused});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  listed = CliJson({"snapshot", "list"});
  ASSERT_EQ(listed.size(), 1u) << listed.dump(2);
  EXPECT_EQ(listed[0]["id"], used);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/mnt/dblab_pool/snapshots/" +
                                       unused.substr(unused.find('@') + 1)));
  EXPECT_NE(Cli({"snapshot", "delete", "not-a-snapshot-id"}).exit_code, 0);
}

TEST_F(PhysicalTest, ACommandWithAShellPipeIsRefusedWithOneClearLine) {
  const std::string empty_command = "command: \"\"";
  retrieval_.replace(retrieval_.find(empty_command), empty_command.size(),
                     "command: \"pg_basebackup -D /x | tee log\"");
  WriteConfig();
  // The engine refuses to start, with the reason in one line.
  EXPECT_FALSE(StartEngine());
  std::string log = engine_.Log();
  EXPECT_NE(log.find("retrieval.spec.physicalRestore.options: customTool.command is run without "
                     "a shell, so '|' cannot work"),
            std::string::npos)
      << log;
  // Nothing was started on main data.
  auto source = Source(source_.dbname);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(ReplicaState(*source), "");
}

}  // namespace
}  // namespace dblab::testing
