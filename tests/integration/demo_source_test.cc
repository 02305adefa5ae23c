// The embedded default's demo source, for real (initdb, postgres 15, generated data): no trust
// authentication anywhere, and its password in no argv (issue 10: a clone running as the same
// OS user reached the unmasked demo data as superuser through the socket).
#include "engine/demo_source.h"

#include <gtest/gtest.h>

#include <mutex>

#include "platform/posix_process.h"
#include "postgres/pq.h"
#include "postgres/server.h"
#include "support.h"

namespace dblab::testing {
namespace {

// Runs for real and keeps every argv and environment it was given.
class RecordingRunner : public ProcessRunner {
 public:
  Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions& options) override {
    Record(argv, options.env);
    return real_.Run(argv, options);
  }
  Result<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                              const SpawnOptions& options) override {
    Record(argv, options.env);
    return real_.SpawnDetached(argv, options);
  }
  std::vector<std::vector<std::string>> argvs;
  std::vector<std::map<std::string, std::string>> envs;

 private:
  void Record(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    std::lock_guard lock(mutex_);
    argvs.push_back(argv);
    envs.push_back(env);
  }
  std::mutex mutex_;
  PosixProcessRunner real_;
};

class DemoSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("dblab-demo-source"); }
  void TearDown() override {
    PosixProcessRunner runner;
    PostgresControl postgres(runner);
    (void)StopDemoSource(postgres, dir_ + "/demo");
    CleanupTree(dir_);  // stops anything left below it by PID
  }
  std::string dir_;
};

TEST_F(DemoSourceTest, NeedsThePasswordOnTheSocketAndNeverPutsItInAnArgv) {
  // Given a fresh demo source,
  RecordingRunner runner;
  PostgresControl postgres(runner);
  DemoSourceOptions options{.dir = dir_ + "/demo", .users = 100, .pgbench_scale = 0};
  auto source = EnsureDemoSource(runner, postgres, options);
  ASSERT_TRUE(source.ok()) << source.error().message;
  ASSERT_GE(source->password.size(), 32u);
  std::string socket_dir = options.dir + "/run";

  // then its superuser cannot connect over the socket without the password (trust is gone),
  auto without = PgConnection::Connect(BuildConninfo({{"host", socket_dir},
                                                      {"port", std::to_string(source->port)},
                                                      {"user", "postgres"},
                                                      {"dbname", "demo"},
                                                      {"passfile", dir_ + "/no-passfile"}}));
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.error().message.find("password"), std::string::npos) << without.error().message;
  EXPECT_EQ(ReadFile(options.dir + "/pg_hba.conf").find("trust"), std::string::npos);
  // and with it, on the socket and on 127.0.0.1, the generated data is there.
  for (const char* host : {socket_dir.c_str(), "127.0.0.1"}) {
    auto with = PgConnection::Connect(BuildConninfo({{"host", host},
                                                     {"port", std::to_string(source->port)},
                                                     {"user", "postgres"},
                                                     {"dbname", "demo"},
                                                     {"password", source->password}}));
    ASSERT_TRUE(with.ok()) << host << ": " << with.error().message;
    auto rows = with->Query("SELECT count(*) FROM users");
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ((*rows)[0][0], "100");
  }
  // The password reached no program's argv; psql got it through a passfile.
  bool psql_had_passfile = false;
  for (size_t i = 0; i < runner.argvs.size(); ++i) {
    for (const auto& arg : runner.argvs[i]) {
      EXPECT_EQ(arg.find(source->password), std::string::npos) << arg;
    }
    if (runner.argvs[i][0].ends_with("/psql"))
      psql_had_passfile = runner.envs[i].count("PGPASSFILE");
  }
  EXPECT_TRUE(psql_had_passfile);

  // A second start (the engine restarted) reuses the password and still refuses trust.
  ASSERT_TRUE(StopDemoSource(postgres, options.dir).ok());
  auto again = EnsureDemoSource(runner, postgres, options);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->password, source->password);
}

}  // namespace
}  // namespace dblab::testing
