// CloneManager on fakes (storage/fake_pool.h, postgres/fake_server_control.h,
// postgres/fake_sql.h, a settable clock and port probe): the lifecycle's rules without root,
// PostgreSQL or real time. The same flows run end to end in tests/integration.
#include "cloning/clone_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "postgres/fake_server_control.h"
#include "postgres/fake_sql.h"
#include "storage/fake_pool.h"

namespace dblab {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;

constexpr const char* kSnapshot = "fake_pool@snap1";

class CloneManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dblab-clone-manager-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    pool_ = std::make_unique<FakePool>(dir_ + "/pool");
    // A snapshot whose data says PostgreSQL 15, and programs of 15 where the options point.
    std::ofstream(pool_->MainDataPath() + "/PG_VERSION") << "15\n";
    ASSERT_TRUE(pool_->CreateSnapshot("snap1").ok());
    fs::create_directories(dir_ + "/bin");
    for (const char* program : {"postgres", "initdb"}) {
      std::string path = dir_ + "/bin/" + program;
      std::ofstream(path) << "#!/bin/sh\necho '" << program << " (PostgreSQL) 15.14'\n";
      chmod(path.c_str(), 0755);
    }
    for (const char* sub : {"/sockets", "/links", "/logs"}) fs::create_directories(dir_ + sub);
    auto state = StateStore::Open(dir_ + "/state.db");
    ASSERT_TRUE(state.ok()) << state.error().message;
    state_ = std::move(*state);
    Snapshot snapshot;
    snapshot.id = kSnapshot;
    snapshot.pool = "fake_pool";
    snapshot.created_at = now_;
    snapshot.data_state_at = now_;
    ASSERT_TRUE(state_->PutSnapshot(snapshot).ok());

    options_.port_from = 6000;
    options_.port_to = 6002;
    options_.socket_dir = dir_ + "/sockets";
    options_.server_link_dir = dir_ + "/links";
    options_.log_dir = dir_ + "/logs";
    options_.pg_bin_dir = dir_ + "/bin";
    options_.protection_lease_minutes = 60;
    options_.protection_max_minutes = 600;
    options_.now = [this] { return now_; };
    options_.port_is_free = [this](int port) { return busy_ports_.count(port) == 0; };
  }
  void TearDown() override {
    manager_.reset();
    fs::remove_all(dir_);
  }

  CloneManager& Manager() {
    if (!manager_) {
      manager_ = std::make_unique<CloneManager>(options_, *pool_, servers_, *state_, sql_);
    }
    return *manager_;
  }
  Result<Clone> CreateAndWait(const std::string& id, CreateCloneRequest request = {}) {
    request.id = id;
    if (request.username.empty()) request.username = "dev";
    if (request.password.empty()) request.password = "secret-pw-1";
    auto created = Manager().Create(request);
    Manager().WaitIdle();
    if (!created.ok()) return created;
    return Manager().Get(id);
  }
  // Fault injection in leveldb's style: every pool operation, server start and stop and SQL
  // statement of the fakes is a step, and the fail_at-th one fails. on_sql sees each statement
  // that ran.
  struct Faults {
    std::atomic<int> steps{0};
    std::atomic<int> fail_at{0};
    std::mutex mutex;
    std::string failed;  // what the failed step was
    std::function<void(const std::string& sql)> on_sql;
    std::string Describe(int k) {
      std::lock_guard lock(mutex);
      return "fault at step " + std::to_string(k) + ": " + failed;
    }
  };
  void InjectFaults(Faults& faults) {
    auto step = [&faults](const std::string& what) -> dblab::Status {
      if (++faults.steps != faults.fail_at) return OkStatus();
      std::lock_guard lock(faults.mutex);
      faults.failed = what;
      return Internal("injected fault (" + what + ")");
    };
    pool_->fault = [step](const std::string& op, const std::string& name) {
      return step("pool " + op + " " + name);
    };
    servers_.start_fault = [step](const ServerSpec& spec) {
      return step("start " + spec.data_dir);
    };
    servers_.stop_fault = [step](const std::string& dir) { return step("stop " + dir); };
    sql_.query_fault = [step, &faults](const std::string& sql) -> dblab::Status {
      DBLAB_TRY(step("sql " + sql.substr(0, 40)));
      if (faults.on_sql) faults.on_sql(sql);
      return OkStatus();
    };
  }
  void ClearFaults() {
    pool_->fault = nullptr;
    servers_.start_fault = nullptr;
    servers_.stop_fault = nullptr;
    sql_.query_fault = nullptr;
  }
  std::string Status(const std::string& id) {
    auto clone = Manager().Get(id);
    return clone.ok() ? std::string(CloneStatusName(clone->status)) : "gone";
  }

  std::string dir_;
  TimePoint now_ = std::chrono::system_clock::time_point(std::chrono::hours(500000));
  std::set<int> busy_ports_;
  CloningOptions options_;
  std::unique_ptr<FakePool> pool_;
  std::unique_ptr<StateStore> state_;
  FakeServerControl servers_;
  FakeSqlConnector sql_;
  std::unique_ptr<CloneManager> manager_;
};

TEST_F(CloneManagerTest, CreateStartsAServerOnTheClonesDataAndCreatesItsRole) {
  auto clone = CreateAndWait("c1");
  ASSERT_TRUE(clone.ok()) << clone.error().message;
  EXPECT_EQ(std::string(CloneStatusName(clone->status)), "OK") << clone->status_message;
  EXPECT_EQ(clone->db.port, 6000);
  EXPECT_EQ(clone->snapshot_id, kSnapshot);
  auto spec = servers_.Running(pool_->ClonePath("c1"));
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->port, 6000);
  EXPECT_EQ(spec->bin_dir, dir_ + "/bin");
  auto roles = sql_.StatementsWith("CREATE ROLE \"dev\" LOGIN SUPERUSER PASSWORD 'SCRAM-SHA-256$");
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(roles[0].sql.find("secret-pw-1"), std::string::npos) << "only the verifier is sent";
  // The record is in the state store, without the password.
  auto records = state_->ListClones();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].clone.id, "c1");
}

TEST_F(CloneManagerTest, AnExistingRoleInTheSnapshotGetsTheNewPassword) {
  sql_.answers.push_back({"SET LOCAL synchronous_commit TO off; CREATE ROLE",
                          {{}, "role \"dev\" already exists", "42710"}});
  auto clone = CreateAndWait("c1");
  ASSERT_TRUE(clone.ok());
  EXPECT_EQ(std::string(CloneStatusName(clone->status)), "OK") << clone->status_message;
  EXPECT_EQ(sql_.StatementsWith("ALTER ROLE \"dev\" LOGIN SUPERUSER PASSWORD").size(), 1u);
}

TEST_F(CloneManagerTest, PortsAreTakenInOrderSkippingBusyOnesUntilThePoolIsExhausted) {
  busy_ports_ = {6001};  // another program listens there
  auto a = CreateAndWait("a");
  auto b = CreateAndWait("b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->db.port, 6000);
  EXPECT_EQ(b->db.port, 6002);
  auto c = Manager().Create({.id = "c", .username = "dev", .password = "secret-pw-1"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message.find("port pool 6000-6002 exhausted"), std::string::npos)
      << c.error().message;
  EXPECT_EQ(Status("c"), "gone");  // nothing half-made
  // A destroyed clone's port is free again.
  ASSERT_TRUE(Manager().Destroy("a").ok());
  Manager().WaitIdle();
  auto d = CreateAndWait("d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->db.port, 6000);
}

TEST_F(CloneManagerTest, ProtectionHasALeaseACapAndExpires) {
  // Protected without a duration: the lease (60 minutes here).
  auto leased = CreateAndWait("leased", {.is_protected = true});
  ASSERT_TRUE(leased.ok());
  EXPECT_TRUE(leased->is_protected);
  ASSERT_TRUE(leased->protected_till.has_value());
  EXPECT_EQ(*leased->protected_till, now_ + minutes(60));
  // "Forever" (0) is capped at the maximum; more than the maximum is refused.
  auto forever = CreateAndWait("forever", {.is_protected = true, .protection_duration_minutes = 0});
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(*forever->protected_till, now_ + minutes(600));
  auto too_long = Manager().Create({.id = "long",
                                    .username = "dev",
                                    .password = "secret-pw-1",
                                    .is_protected = true,
                                    .protection_duration_minutes = 601});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(too_long.error().message.find("exceeds the maximum of 600"), std::string::npos);
  auto negative = Manager().Update("leased", {.protection_duration_minutes = -1});
  EXPECT_FALSE(negative.ok());

  // A protected clone cannot be destroyed; once the lease ends, housekeeping lifts it.
  auto refused = Manager().Destroy("leased");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  Manager().Housekeep(now_ + minutes(59));
  EXPECT_TRUE(Manager().Get("leased")->is_protected);
  Manager().Housekeep(now_ + minutes(60));
  EXPECT_FALSE(Manager().Get("leased")->is_protected);
  EXPECT_TRUE(Manager().Get("forever")->is_protected);
  ASSERT_TRUE(Manager().Destroy("leased").ok());
  Manager().WaitIdle();
  EXPECT_EQ(Status("leased"), "gone");
}

TEST_F(CloneManagerTest, ADeadServerIsRestartedByHousekeepingAndAFailedStartIsFatal) {
  ASSERT_TRUE(CreateAndWait("c1").ok());
  servers_.Kill(pool_->ClonePath("c1"));
  Manager().Housekeep(now_);
  auto clone = Manager().Get("c1");
  EXPECT_EQ(std::string(CloneStatusName(clone->status)), "OK");
  EXPECT_NE(clone->status_message.find("restarted at"), std::string::npos) << clone->status_message;
  EXPECT_TRUE(servers_.Pid(pool_->ClonePath("c1")).has_value());
  // The role's commit does not wait for the WAL flush, so a restart sets the role up again: the
  // user can log in even if the server died before the flush.
  auto roles = sql_.StatementsWith("CREATE ROLE \"dev\" LOGIN SUPERUSER PASSWORD");
  ASSERT_EQ(roles.size(), 2u);
  EXPECT_EQ(roles[0].sql.rfind("SET LOCAL synchronous_commit TO off; ", 0), 0u) << roles[0].sql;

  servers_.Kill(pool_->ClonePath("c1"));
  servers_.start_fault = [](const ServerSpec&) -> dblab::Status {
    return Internal("could not bind");
  };
  Manager().Housekeep(now_);
  clone = Manager().Get("c1");
  EXPECT_EQ(std::string(CloneStatusName(clone->status)), "FATAL");
  EXPECT_NE(clone->status_message.find("could not be restarted: could not bind"), std::string::npos)
      << clone->status_message;
  // FATAL stays FATAL: housekeeping does not retry forever.
  servers_.start_fault = nullptr;
  Manager().Housekeep(now_);
  EXPECT_EQ(Status("c1"), "FATAL");
}

TEST_F(CloneManagerTest, ReconcileAdoptsRestartsRedoesAndRemovesOrphans) {
  options_.port_to = 6009;
  ASSERT_TRUE(CreateAndWait("running").ok());
  ASSERT_TRUE(CreateAndWait("stopped").ok());
  ASSERT_TRUE(CreateAndWait("lost").ok());
  manager_.reset();  // the engine stops; servers keep running
  servers_.Kill(pool_->ClonePath("stopped"));
  servers_.Kill(pool_->ClonePath("lost"));
  ASSERT_TRUE(pool_->DestroyClone("lost").ok());
  // Storage no record owns (a destroy interrupted after its record was deleted).
  ASSERT_TRUE(pool_->CreateClone("snap1", "orphan").ok());
  // A create interrupted before its server started.
  CloneRecord creating;
  creating.clone.id = "half";
  creating.clone.snapshot_id = kSnapshot;
  creating.clone.status = CloneStatus::kCreating;
  creating.clone.db.username = "dev";
  creating.clone.db.db_name = "postgres";
  creating.clone.db.port = 6003;
  creating.clone.created_at = now_;
  creating.password_verifier = "SCRAM-SHA-256$4096:x";
  ASSERT_TRUE(state_->PutClone(creating).ok());
  int starts_before = static_cast<int>(servers_.Started().size());

  ASSERT_TRUE(Manager().Reconcile().ok());
  Manager().WaitIdle();
  EXPECT_EQ(Status("running"), "OK");
  EXPECT_EQ(Status("stopped"), "OK");
  EXPECT_EQ(Status("lost"), "FATAL");
  EXPECT_NE(Manager().Get("lost")->status_message.find("missing from the pool"), std::string::npos);
  EXPECT_EQ(Status("half"), "OK");
  EXPECT_FALSE(fs::exists(pool_->ClonePath("orphan")));
  // Started again: "stopped" (restart only) and "half" (a whole create); "running" adopted.
  auto started = servers_.Started();
  std::set<int> ports;
  for (size_t i = starts_before; i < started.size(); ++i) ports.insert(started[i].port);
  auto stopped_port = Manager().Get("stopped")->db.port;
  EXPECT_EQ(ports, (std::set<int>{stopped_port, 6003}));
}

TEST_F(CloneManagerTest, DestroyLeavesTheApiFirstAndTheIdCanBeUsedAgainAtOnce) {
  ASSERT_TRUE(CreateAndWait("c1").ok());
  // Deleting the clone's storage hangs until the test lets it go on.
  std::mutex gate;
  gate.lock();
  std::atomic<bool> waiting{false};
  pool_->fault = [&](const std::string& op, const std::string& name) -> dblab::Status {
    if (op == "DestroyClone" && name == "c1" && !waiting.exchange(true)) {
      std::lock_guard wait(gate);
    }
    return OkStatus();
  };
  ASSERT_TRUE(Manager().Destroy("c1").ok());
  for (int i = 0; i < 500 && !waiting; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(waiting);
  // Gone for the user and its server stopped while its data is still being deleted.
  EXPECT_EQ(Status("c1"), "gone");
  EXPECT_FALSE(servers_.Pid(pool_->ClonePath("c1")).has_value());
  auto records = state_->ListClones();
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
  // The same id again: accepted now, made once the old storage is gone.
  auto again = Manager().Create({.id = "c1", .username = "dev", .password = "secret-pw-2"});
  ASSERT_TRUE(again.ok()) << again.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Status("c1"), "CREATING");
  gate.unlock();
  Manager().WaitIdle();
  EXPECT_EQ(Status("c1"), "OK") << Manager().Get("c1")->status_message;
  EXPECT_TRUE(fs::exists(pool_->ClonePath("c1")));
}

TEST_F(CloneManagerTest, AFailedStorageStepFailsTheCloneAndLeavesNothingRunning) {
  pool_->fault = [](const std::string& op, const std::string&) -> dblab::Status {
    if (op == "CreateClone") return Internal("disk full");
    return OkStatus();
  };
  auto clone = CreateAndWait("c1");
  ASSERT_TRUE(clone.ok());
  EXPECT_EQ(std::string(CloneStatusName(clone->status)), "FATAL");
  EXPECT_NE(clone->status_message.find("disk full"), std::string::npos) << clone->status_message;
  EXPECT_EQ(servers_.RunningCount(), 0);
  // Destroying the failed clone works and frees its port.
  pool_->fault = nullptr;
  ASSERT_TRUE(Manager().Destroy("c1").ok());
  Manager().WaitIdle();
  EXPECT_EQ(Status("c1"), "gone");
  EXPECT_EQ(CreateAndWait("c2")->db.port, 6000);
}

TEST_F(CloneManagerTest, ResetGoesBackToTheSnapshotOnTheSamePort) {
  auto clone = CreateAndWait("c1");
  ASSERT_TRUE(clone.ok());
  std::ofstream(pool_->ClonePath("c1") + "/written-by-user") << "x";
  auto reset = Manager().Reset("c1", {});
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  Manager().WaitIdle();
  auto after = Manager().Get("c1");
  EXPECT_EQ(std::string(CloneStatusName(after->status)), "OK") << after->status_message;
  EXPECT_EQ(after->db.port, clone->db.port);
  EXPECT_FALSE(fs::exists(pool_->ClonePath("c1") + "/written-by-user"));
  EXPECT_TRUE(servers_.Pid(pool_->ClonePath("c1")).has_value());
  // The old data was moved aside and deleted: only the clone's own directory is left.
  auto clones = pool_->ListClones();
  ASSERT_TRUE(clones.ok());
  EXPECT_EQ(*clones, std::vector<std::string>{"c1"});
}

TEST_F(CloneManagerTest, AnIdleCloneIsDestroyedOnlyAfterMaxIdleMinutesWithoutActivity) {
  options_.max_idle_minutes = 120;
  options_.port_to = 6009;
  const std::string activity_query = "SELECT count(*) FILTER (WHERE state IS DISTINCT FROM";
  auto sessions = [&](const std::string& busy, TimePoint newest) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(newest.time_since_epoch());
    sql_.answers = {{activity_query, {{{busy, std::to_string(ms.count())}}, "", ""}}};
  };
  sessions("0", TimePoint{});
  ASSERT_TRUE(CreateAndWait("quiet").ok());
  ASSERT_TRUE(CreateAndWait("used").ok());  // as quiet: both destroyed at 120
  ASSERT_TRUE(CreateAndWait("kept", {.is_protected = true, .protection_duration_minutes = 0}).ok());
  auto housekeep = [&](minutes at) {
    Manager().Housekeep(now_ + at);
    Manager().WaitIdle();
  };
  housekeep(minutes(119));
  EXPECT_EQ(Status("quiet"), "OK");
  housekeep(minutes(120));
  EXPECT_EQ(Status("quiet"), "gone");
  EXPECT_EQ(Status("used"), "gone");
  // A protected clone is never destroyed for being idle.
  EXPECT_EQ(Status("kept"), "OK");

  // A running query is activity: idle time starts again then.
  ASSERT_TRUE(CreateAndWait("busy").ok());  // created at now_
  sessions("1", TimePoint{});
  housekeep(minutes(100));
  sessions("0", TimePoint{});
  housekeep(minutes(219));
  EXPECT_EQ(Status("busy"), "OK");
  housekeep(minutes(220));
  EXPECT_EQ(Status("busy"), "gone");

  // A session that started since the last look (even one that is over) is activity, and so is
  // a connection in the clone's log by a user other than the engine.
  ASSERT_TRUE(CreateAndWait("new-session").ok());  // created at now_
  ASSERT_TRUE(CreateAndWait("logged").ok());
  sessions("0", now_ + minutes(100));
  Manager().Housekeep(now_ + minutes(110));  // both see a session newer than their creation
  sessions("0", TimePoint{});
  std::ofstream(dir_ + "/logs/logged.log")
      << "2026-12-02 LOG:  connection authorized: user=postgres database=postgres\n"
      << "2026-12-02 LOG:  connection authorized: user=dev database=postgres\n";
  housekeep(minutes(200));  // "logged" sees the dev connection: activity at 200
  housekeep(minutes(230));
  EXPECT_EQ(Status("new-session"), "gone") << "activity at 110, idle 120 at 230";
  EXPECT_EQ(Status("logged"), "OK") << "activity at 200";
  housekeep(minutes(320));
  EXPECT_EQ(Status("logged"), "gone");

  // When the engine cannot tell (no connection, no answer), it never destroys.
  ASSERT_TRUE(CreateAndWait("unknown").ok());
  sql_.connect_fault = [](const std::string&) -> dblab::Status { return Internal("refused"); };
  housekeep(minutes(10000));
  EXPECT_EQ(Status("unknown"), "OK");
  sql_.connect_fault = nullptr;
  sql_.answers = {{activity_query, {{}, "canceling statement", "57014"}}};
  housekeep(minutes(10000));
  EXPECT_EQ(Status("unknown"), "OK");
}

TEST_F(CloneManagerTest, AFaultAtAnyStepOfCreateResetOrDestroyLeavesNothingBehind) {
  // Every pool operation, server start and stop and SQL statement is a step; run the whole
  // create-reset-destroy once to count them, then once per step with that step failing.
  Faults faults;
  InjectFaults(faults);
  auto scenario = [&] {
    auto created = Manager().Create({.id = "c1", .username = "dev", .password = "secret-pw-1"});
    Manager().WaitIdle();
    if (created.ok()) {
      (void)Manager().Reset("c1", {});
      Manager().WaitIdle();
    }
    (void)Manager().Destroy("c1");
    Manager().WaitIdle();
  };
  scenario();
  const int total = faults.steps;
  ASSERT_GE(total, 6);
  EXPECT_EQ(Status("c1"), "gone");
  for (int k = 1; k <= total; ++k) {
    faults.steps = 0;
    faults.fail_at = k;
    scenario();
    faults.fail_at = 0;
    std::string what = faults.Describe(k);
    // Whatever failed, the user can destroy what is left ...
    if (Status("c1") != "gone") {
      auto destroyed = Manager().Destroy("c1");
      EXPECT_TRUE(destroyed.ok()) << what << ": " << destroyed.error().message;
      Manager().WaitIdle();
    }
    EXPECT_EQ(Status("c1"), "gone") << what;
    EXPECT_EQ(servers_.RunningCount(), 0) << what << ": a server left running";
    // ... and the engine's next start removes storage a failed deletion left.
    manager_.reset();
    ASSERT_TRUE(Manager().Reconcile().ok()) << what;
    Manager().WaitIdle();
    auto clones = pool_->ListClones();
    ASSERT_TRUE(clones.ok());
    EXPECT_TRUE(clones->empty()) << what << ": storage left: " << (*clones)[0];
    auto records = state_->ListClones();
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records->empty()) << what << ": a record left";
  }
  ClearFaults();
  // After all that, a clone is made as on the first day, on the first port.
  auto again = CreateAndWait("c2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Status("c2"), "OK");
  EXPECT_EQ(again->db.port, 6000);
}

TEST_F(CloneManagerTest, AFaultAtAnyStepOfASnapshotOfACloneLeavesNoSnapshotAndTheUserLoggedIn) {
  for (bool atomic : {false, true}) {
    pool_->atomic_snapshot_of_clone = atomic;
    std::string mode = atomic ? "atomic snapshot: " : "snapshot of the stopped server: ";
    ASSERT_TRUE(CreateAndWait("c1").ok());
    Faults faults;
    std::mutex mutex;
    std::string password;  // the last password statement that took effect
    faults.on_sql = [&](const std::string& sql) {
      if (sql.rfind("ALTER ROLE \"dev\" PASSWORD", 0) != 0) return;
      std::lock_guard lock(mutex);
      password = sql;
    };
    InjectFaults(faults);
    auto snapshots = [&] {
      auto names = pool_->ListSnapshots();
      return names.ok() ? names->size() : size_t{0};
    };
    const size_t before = snapshots();
    ASSERT_TRUE(Manager().SnapshotClone("c1", "counted").ok());
    const int total = faults.steps;
    ASSERT_GE(total, 3);
    ASSERT_TRUE(pool_->DestroySnapshot("counted").ok());  // (fail_at 0: no step fails)
    for (int k = 1; k <= total; ++k) {
      faults.steps = 0;
      faults.fail_at = k;
      std::string name = "s" + std::to_string(k);
      dblab::Status taken = Manager().SnapshotClone("c1", name);
      faults.fail_at = 0;
      std::string what = mode + faults.Describe(k);
      if (!taken.ok()) {
        EXPECT_EQ(snapshots(), before) << what << ": a failed snapshot left " << name;
      } else {
        ASSERT_TRUE(pool_->DestroySnapshot(name).ok()) << what;
      }
      // The clone is either usable (running, its user's password back) or says why not.
      auto clone = Manager().Get("c1");
      ASSERT_TRUE(clone.ok()) << what;
      if (clone->status == CloneStatus::kOk) {
        EXPECT_TRUE(servers_.Pid(pool_->ClonePath("c1")).has_value()) << what;
        std::lock_guard lock(mutex);
        EXPECT_NE(password.find("SCRAM-SHA-256$"), std::string::npos)
            << what << ": the user is locked out by " << password;
      } else {
        EXPECT_FALSE(clone->status_message.empty()) << what;
        // The way back the message gives: a reset.
        EXPECT_TRUE(Manager().Reset("c1", {}).ok()) << what;
        Manager().WaitIdle();
        EXPECT_EQ(Status("c1"), "OK") << what;
      }
    }
    ClearFaults();
    ASSERT_TRUE(Manager().Destroy("c1").ok());
    Manager().WaitIdle();
  }
}

}  // namespace
}  // namespace dblab
