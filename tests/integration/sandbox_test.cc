// What a clone's default user (a superuser, as in DLE) can reach from inside its clone: only its
// own data. Each test is one attack, tried the way a hostile user would (pg_read_binary_file,
// COPY ... PROGRAM, /proc, kill, other sockets), against the real engine, while clone B keeps
// serving unchanged.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engine_fixture.h"
#include "postgres/server.h"

namespace dblab::testing {
namespace {

class SandboxTest : public EngineFixture {
 protected:
  // Clone "a" (the attacker's, a superuser session open on it) and clone "b" (the victim).
  void StartTwoClones() {
    StartEngineAndWaitForSnapshot();
    for (const char* id : {"a", "b"}) {
      auto clone = CliJson({"clone", "create", "--username", std::string("user_") + id,
                            "--password", std::string("pw-") + id + "-1234", "--id", id});
      ASSERT_EQ(clone["status"]["code"], "OK") << clone.dump(2) << engine_.Log();
      ports_[id] = std::stoi(clone["db"]["port"].get<std::string>());
    }
    auto session = ConnectClone(ports_["a"], "user_a", "pw-a-1234", source_.dbname);
    ASSERT_TRUE(session.ok()) << session.error().message;
    attacker_.emplace(std::move(*session));
    b_checksum_ = VictimChecksum();
    ASSERT_FALSE(b_checksum_.empty());
  }

  // Runs `sql` as clone A's superuser; returns the error message, "" if it succeeded.
  std::string Attempt(const std::string& sql) {
    auto result = attacker_->Query(sql);
    return result.ok() ? "" : result.error().message;
  }

  std::string VictimChecksum() {
    auto victim = ConnectClone(ports_["b"], "user_b", "pw-b-1234", source_.dbname);
    if (!victim.ok()) return "";
    return UsersChecksum(*victim);
  }

  void ExpectVictimUnchanged() {
    EXPECT_EQ(VictimChecksum(), b_checksum_) << "clone b must keep serving unchanged";
  }

  std::string Pool() const { return dir_ + "/mnt/dblab_pool"; }

  std::map<std::string, int> ports_;
  std::optional<PgConnection> attacker_;
  std::string b_checksum_;
};

TEST_F(SandboxTest, ReadingAnotherClonesFilesFails) {
  StartTwoClones();
  std::string b = ClonePath("b");
  ASSERT_FALSE(ReadFile(b + "/PG_VERSION").empty());  // it is there, seen from the host
  EXPECT_NE(Attempt("SELECT pg_read_binary_file('" + b + "/global/1260')"), "");
  EXPECT_NE(Attempt("SELECT pg_read_binary_file('" + b + "/PG_VERSION')"), "");
  ASSERT_EQ(Attempt("CREATE TEMP TABLE loot (line text)"), "");
  std::string copied = Attempt("COPY loot FROM PROGRAM 'cat " + b + "/global/1260'");
  EXPECT_NE(copied, "");
  EXPECT_EQ(QueryValue(*attacker_, "SELECT count(*) FROM loot"), "0");
  // Its own files stay readable: the sandbox is not a broken server.
  EXPECT_EQ(Attempt("SELECT pg_read_binary_file('PG_VERSION')"), "");
  ExpectVictimUnchanged();
}

TEST_F(SandboxTest, WritingIntoAnotherCloneFails) {
  StartTwoClones();
  std::string auto_conf = ClonePath("b") + "/postgresql.auto.conf";
  std::string before = ReadFile(auto_conf);
  EXPECT_NE(Attempt("COPY (SELECT 'work_mem = ''1kB''') TO '" + auto_conf + "'"), "");
  EXPECT_NE(Attempt("COPY (SELECT 1) TO PROGRAM 'echo port=1 >> " + auto_conf + "'"), "");
  EXPECT_EQ(ReadFile(auto_conf), before);
  ExpectVictimUnchanged();
}

TEST_F(SandboxTest, MainDataThePoolAndTheEnginesFilesAreInvisible) {
  StartTwoClones();
  for (const std::string& path :
       {Pool() + "/data/PG_VERSION", Pool() + "/snapshots", Pool() + "/clones/b",
        dir_ + "/mnt/.dblab-engine/state.db", dir_ + "/mnt/.dblab-engine/token",
        dir_ + "/mnt/.dblab-engine/logs", config_path_,
        std::string("/etc/ssl/private/ssl-cert-snakeoil.key")}) {
    SCOPED_TRACE(path);
    EXPECT_NE(Attempt("SELECT pg_stat_file('" + path + "')"), "");
    EXPECT_NE(Attempt("SELECT pg_read_binary_file('" + path + "')"), "");
  }
  // Listing shows at most the directories on the way to its own data and socket.
  EXPECT_EQ(QueryValue(*attacker_, "SELECT string_agg(f, ',' ORDER BY f) FROM pg_ls_dir('" +
                                       Pool() + "', true, false) f"),
            "clones,sockets");
  EXPECT_EQ(QueryValue(*attacker_, "SELECT string_agg(f, ',') FROM pg_ls_dir('" + Pool() +
                                       "/clones', true, false) f"),
            "a");
  EXPECT_NE(Attempt("COPY (SELECT 1) TO '" + Pool() + "/data/planted'"), "");
  EXPECT_NE(ReadFile(config_path_).find(kToken), std::string::npos);  // the secret is there
  ExpectVictimUnchanged();
}

TEST_F(SandboxTest, OtherProcessesCannotBeSeenOrSignalled) {
  StartTwoClones();
  auto victim_pid = PostgresControl::RunningPid(ClonePath("b"));
  ASSERT_TRUE(victim_pid.has_value());
  std::string pid = std::to_string(*victim_pid);
  EXPECT_NE(Attempt("SELECT pg_stat_file('/proc/" + pid + "/cmdline')"), "");
  EXPECT_NE(Attempt("COPY (SELECT 1) TO PROGRAM 'kill -KILL " + pid + "'"), "");
  // Every process it can see is one of its own server's.
  ASSERT_EQ(Attempt("CREATE TEMP TABLE seen (line text)"), "");
  ASSERT_EQ(Attempt("COPY seen FROM PROGRAM 'cat /proc/[0-9]*/comm 2>/dev/null; true'"), "");
  EXPECT_EQ(QueryValue(*attacker_,
                       "SELECT count(*) FROM seen WHERE line NOT IN ('postgres', 'dblab-init', "
                       "'sh', 'cat')"),
            "0");
  // Seen from the host, a server's sandbox init is named as what it is: after the engine stops,
  // `ps` and `pgrep dblab-engine` do not take the inits of the clones that keep running for it.
  int inits = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::string proc = entry.path().string();
    if (ReadFile(proc + "/comm") != "dblab-init\n") continue;
    std::string command_line = ReadFile(proc + "/cmdline");
    // An init whose server stopped (an earlier test's) may wait as a zombie for whoever adopted
    // it to reap it; it has no memory left, so no command line, and `ps` shows it <defunct>.
    if (command_line.empty()) continue;
    ++inits;
    EXPECT_EQ(command_line.substr(0, command_line.find('\0')), "dblab-init") << proc;
  }
  EXPECT_GE(inits, 2);
  // Killing everything it may signal stops its own clone only.
  (void)Attempt("COPY (SELECT 1) TO PROGRAM 'kill -KILL -1'");
  ExpectVictimUnchanged();
  EXPECT_TRUE(PostgresControl::RunningPid(ClonePath("b")).has_value());
}

TEST_F(SandboxTest, AnotherServersUnixSocketCannotBeReached) {
  StartTwoClones();
  std::string sockets = Pool() + "/sockets";
  std::string b_socket_dir = sockets + "/" + std::to_string(ports_["b"]);
  ASSERT_EQ(access((b_socket_dir + "/.s.PGSQL." + std::to_string(ports_["b"])).c_str(), F_OK), 0);
  EXPECT_EQ(QueryValue(*attacker_, "SELECT string_agg(f, ',') FROM pg_ls_dir('" + sockets +
                                       "', true, false) f"),
            std::to_string(ports_["a"]));
  EXPECT_NE(Attempt("COPY (SELECT 1) TO PROGRAM 'psql -h " + b_socket_dir + " -p " +
                    std::to_string(ports_["b"]) + " -U postgres -c \"DROP TABLE users\" " +
                    source_.dbname + "'"),
            "");
  ExpectVictimUnchanged();
}

TEST_F(SandboxTest, AKilledServerIsNoticedAndRestarted) {
  engine_args_ = {"--housekeeping-interval", "1"};
  StartTwoClones();
  auto victim_pid = PostgresControl::RunningPid(ClonePath("b"));
  ASSERT_TRUE(victim_pid.has_value());
  ASSERT_EQ(kill(*victim_pid, SIGKILL), 0);
  // Within a few housekeeping intervals the API says so and the clone is back.
  bool told = false;
  std::string message;
  for (int i = 0; i < 100 && !told; ++i) {
    auto clone = CliJson({"clone", "status", "b"});
    message = clone["status"]["message"].get<std::string>();
    told = clone["status"]["code"] == "OK" && message.find("restarted") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(told) << message << engine_.Log();
  auto restarted = PostgresControl::RunningPid(ClonePath("b"));
  ASSERT_TRUE(restarted.has_value());
  EXPECT_NE(*restarted, *victim_pid);
  ExpectVictimUnchanged();
}

TEST_F(SandboxTest, PlantedSqlCannotMakeALaterRestrictedUserASuperuser) {
  StartEngineAndWaitForSnapshot();
  auto planter = CliJson({"clone", "create", "--username", "planter", "--password", "planter-pw-1",
                          "--id", "planter", "--restricted"});
  ASSERT_EQ(planter["status"]["code"], "OK") << planter.dump(2);
  int port = std::stoi(planter["db"]["port"].get<std::string>());
  auto session = ConnectClone(port, "planter", "planter-pw-1", source_.dbname);
  ASSERT_TRUE(session.ok()) << session.error().message;
  // A function shadowing pg_catalog.format for the engine's role setup, first in search_path.
  ASSERT_TRUE(session
                  ->Exec("CREATE FUNCTION public.format(text, name, text) RETURNS text "
                         "LANGUAGE plpgsql AS $$ BEGIN "
                         "EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', $3); "
                         "RETURN pg_catalog.format($1, $2, $3); END $$")
                  .ok());
  ASSERT_TRUE(
      session->Exec("ALTER DATABASE " + source_.dbname + " SET search_path = public, pg_catalog")
          .ok());
  // And settings that would break the engine's next statements in this database.
  ASSERT_TRUE(
      session->Exec("ALTER DATABASE " + source_.dbname + " SET default_transaction_read_only = on")
          .ok());
  std::string committed = Commit({"--clone-id", "planter"});
  ASSERT_FALSE(committed.empty()) << engine_.Log();

  // Every later restricted clone from that snapshot starts normally, without superuser.
  for (const char* id : {"next1", "next2"}) {
    auto next = CliJson({"clone", "create", "--username", std::string("user_") + id, "--password",
                         "next-pw-1234", "--id", id, "--restricted"});
    ASSERT_EQ(next["status"]["code"], "OK") << next.dump(2) << engine_.Log();
    EXPECT_EQ(next["snapshot"]["id"], committed);
    auto user = ConnectClone(std::stoi(next["db"]["port"].get<std::string>()),
                             std::string("user_") + id, "next-pw-1234", source_.dbname);
    ASSERT_TRUE(user.ok()) << user.error().message;
    EXPECT_EQ(QueryValue(*user, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f");
    EXPECT_EQ(QueryValue(*user, "SELECT count(*) > 0 FROM users"), "t");
  }
}

TEST_F(SandboxTest, AMemoryHogIsKilledInsideItsOwnCloneOnly) {
  provision_extra_ = "  cloneMemoryLimit: 256MiB\n";
  StartTwoClones();
  std::string hog = Attempt(
      "SELECT length(repeat('x', 300000000) || repeat('y', 300000000) || "
      "repeat('z', 300000000))");
  EXPECT_NE(hog, "") << "a 900 MB string must not fit in 256 MiB";
  ExpectVictimUnchanged();
  // Clone a recovers by itself (postgres restarts its backends after one was killed).
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    back = ConnectClone(ports_["a"], "user_a", "pw-a-1234", source_.dbname).ok();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(back);
}

}  // namespace
}  // namespace dblab::testing
