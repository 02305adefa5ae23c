#include "engine/engine.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "branching/history.h"
#include "cloning/validation.h"
#include "common/thread_guard.h"
#include "common/time.h"
#include "common/version.h"
#include "platform/files.h"
#include "retrieval/logical_retrieval.h"
#include "retrieval/residue_commit.h"
#include "scheduler/cron.h"
#include "storage/factory.h"

namespace dblab {

namespace fs = std::filesystem;

namespace {

// Settings every clone gets unless the configuration says otherwise: small enough that an idle
// clone costs little memory, and no fsync of all files if recovery ever runs.
const std::map<std::string, std::string> kCloneDefaults = {
    {"shared_buffers", "32MB"},
    {"max_connections", "100"},
    {"recovery_init_sync_method", "syncfs"},
    {"ssl", "off"},
    {"log_connections", "on"},  // idle detection sees connections that came and went
};

}  // namespace

Engine::Engine(EngineConfig config, EngineOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

Result<std::unique_ptr<Engine>> Engine::Start(EngineConfig config, EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(std::move(config), std::move(options)));
  DBLAB_TRY(engine->Init());
  return engine;
}

Status Engine::Init() {
  started_at_ = std::chrono::system_clock::now();
  if (const auto& command = config_.retrieval.physical_restore.command;
      config_.retrieval.physical() && !command.empty()) {
    if (auto split = SplitCommandLine(command); !split.ok()) {
      return split.error().Wrap("retrieval.spec.physicalRestore.options");
    }
  }
  for (const auto& warning : config_.warnings) spdlog::warn("config: {}", warning);
  DBLAB_ASSIGN_OR_RETURN(OsUser os_user, LookupOsUser(config_.os_user));

  std::error_code error;
  fs::create_directories(config_.state_dir, error);
  if (error)
    return Internal("cannot create state dir " + config_.state_dir + ": " + error.message());
  chmod(config_.state_dir.c_str(), 0711);
  std::string log_dir = config_.state_dir + "/logs";
  fs::create_directories(log_dir, error);
  chmod(log_dir.c_str(), 0700);

  PoolSpec spec;
  spec.mode = config_.pool_backend;
  spec.pool_name = config_.PoolName();
  spec.pool_path = config_.PoolPath();
  spec.image_path = config_.PoolPath() + ".img";
  spec.image_size_bytes = config_.pool_image_size_bytes;
  spec.data_owner_uid = os_user.uid;
  spec.data_owner_gid = os_user.gid;
  DBLAB_ASSIGN_OR_RETURN(pool_, MakePoolBackend(spec, runner_));
  spdlog::info("pool {} ({}) at {}", pool_->Name(), pool_->Mode(), config_.PoolPath());

  DBLAB_ASSIGN_OR_RETURN(state_, StateStore::Open(config_.state_dir + "/state.db"));
  DBLAB_ASSIGN_OR_RETURN(auto instance_id, state_->GetMeta("instance_id"));
  if (!instance_id) {
    instance_id = GenerateId(20);
    DBLAB_TRY(state_->PutMeta("instance_id", *instance_id));
  }
  instance_id_ = *instance_id;

  // Unix sockets of every server we start: only root and the postgres user can reach them, which
  // is what makes trust authentication on them safe.
  std::string socket_dir = config_.PoolPath() + "/" + config_.socket_sub_dir;
  fs::create_directories(socket_dir, error);
  if (chown(socket_dir.c_str(), os_user.uid, os_user.gid) != 0 ||
      chmod(socket_dir.c_str(), 0700) != 0) {
    return Internal("cannot prepare socket dir " + socket_dir + ": " + strerror(errno));
  }
  // Local connections: only root (the engine and the tools it runs) may connect, and only as
  // the management superuser. Not trust: a clone's superuser runs programs as the postgres OS
  // user and could otherwise reach every other clone and the restore server through the socket.
  std::string hba_file = config_.state_dir + "/pg_hba.conf";
  DBLAB_TRY(WriteFileAtomically(hba_file,
                                "# Written by dblab-engine; clones and retrieval use it.\n"
                                "local all all peer map=dblab\n"
                                "host all all 0.0.0.0/0 scram-sha-256\n"
                                "host all all ::/0 scram-sha-256\n",
                                0644));
  DBLAB_TRY(WriteFileAtomically(config_.state_dir + "/pg_ident.conf",
                                "# Written by dblab-engine: OS user root may connect as the "
                                "management role.\ndblab root " +
                                    config_.database_username + "\n",
                                0644));

  SandboxDefaults sandbox;
  if (!options_.config_path.empty()) sandbox.hidden_paths.push_back(options_.config_path);
  postgres_ = std::make_unique<PostgresControl>(runner_, sandbox);
  // A restore server left by an engine that was killed mid-retrieval holds unmasked data: stop it.
  // (In physical mode the server on main data is the replica: it keeps running.)
  if (!config_.retrieval.physical() && PostgresControl::RunningPid(pool_->MainDataPath())) {
    spdlog::warn("stopping a retrieval server left running on {}", pool_->MainDataPath());
    DBLAB_TRY(postgres_->Stop(pool_->MainDataPath(), std::chrono::seconds(30)));
  }
  CloningOptions cloning;
  cloning.os_user = config_.os_user;
  cloning.superuser = config_.database_username;
  cloning.default_db_name = config_.database_dbname;
  if (config_.retrieval.logical_dump.databases.size() == 1) {
    cloning.default_db_name = config_.retrieval.logical_dump.databases.front();
  }
  cloning.port_from = config_.port_pool.from;
  cloning.port_to = config_.port_pool.to;
  cloning.listen_addresses = config_.clone_access_addresses;
  cloning.access_host = config_.access_host;
  cloning.socket_dir = socket_dir;
  cloning.hba_file = hba_file;
  cloning.log_dir = log_dir;
  cloning.server_link_dir = config_.state_dir + "/servers";
  fs::create_directories(cloning.server_link_dir, error);
  if (error) {
    return Internal("cannot create " + cloning.server_link_dir + ": " + error.message());
  }
  chmod(cloning.server_link_dir.c_str(), 0711);
  cloning.pg_bin_dir = config_.pg_bin_dir;
  cloning.settings = kCloneDefaults;
  for (const auto& [key, value] : config_.clone_configs) cloning.settings[key] = value;
  cloning.max_idle_minutes = config_.max_idle_minutes;
  cloning.protection_lease_minutes = config_.protection_lease_duration_minutes;
  cloning.protection_max_minutes = config_.protection_max_duration_minutes;
  cloning.min_password_strength = config_.min_password_strength;
  cloning.warm_pool_size = config_.warm_pool_size;
  cloning.limits = {.memory_bytes = config_.clone_memory_limit_bytes,
                    .cpus = config_.clone_cpu_limit};
  // Clones' WAL outside a pool that lives in an image (cloning/clone_wal.h): on the filesystem
  // that holds the image, commits cost what they cost on the host.
  cloning.wal_dir = config_.clone_wal_dir == "off" ? "" : config_.clone_wal_dir;
  if (config_.clone_wal_dir == "auto") {
    cloning.wal_dir =
        fs::is_regular_file(spec.image_path, error) ? config_.PoolPath() + ".wal" : "";
  }
  if (!cloning.wal_dir.empty()) spdlog::info("clones keep their WAL in {}", cloning.wal_dir);
  cloning.wal_max_bytes = config_.clone_wal_max_bytes;
  cloning.os_uid = os_user.uid;
  cloning.os_gid = os_user.gid;
  StartOperations();  // before any clone worker can publish an event
  cloning.on_clone_event = [this](const CloneEvent& event) { OnCloneEvent(event); };
  clones_ = std::make_unique<CloneManager>(cloning, *pool_, *postgres_, *state_, sql_);
  DBLAB_TRY(clones_->Reconcile());
  RemoveCommitLeftovers(*pool_);  // unpublished snapshots of an interrupted dblab commit
  clones_->StartWarmPool();

  auto snapshots = state_->ListSnapshots();
  {
    std::lock_guard lock(mutex_);
    retrieval_.mode = !config_.retrieval.enabled()   ? "unknown"
                      : config_.retrieval.physical() ? "physical"
                                                     : "logical";
    retrieval_.status = snapshots.ok() && !snapshots->empty() ? "finished" : "pending";
    if (snapshots.ok() && !snapshots->empty())
      retrieval_.last_refresh = snapshots->back().created_at;
    // A refresh at start only when there is nothing to clone yet: existing snapshots stay valid
    // across restarts (use POST /full-refresh or the timetable for new data).
    refresh_requested_ = config_.retrieval.enabled() && snapshots.ok() && snapshots->empty();
    start_replica_ = config_.retrieval.physical() && !refresh_requested_;
  }
  if (!config_.retrieval.physical_snapshot.snapshot_timetable.empty() &&
      config_.retrieval.physical()) {
    auto schedule = CronSchedule::Parse(config_.retrieval.physical_snapshot.snapshot_timetable);
    if (!schedule.ok()) {
      return schedule.error().Wrap("physicalSnapshot.options.scheduler.snapshot.timetable");
    }
    snapshot_schedule_ = *schedule;
  }
  if (!config_.retrieval.refresh_timetable.empty()) {
    auto schedule = CronSchedule::Parse(config_.retrieval.refresh_timetable);
    if (!schedule.ok()) return schedule.error().Wrap("retrieval.refresh.timetable");
    schedule_ = *schedule;
  }
  retrieval_thread_ = std::thread([this] {
    if (!RunCatchingExceptions("retrieval", [this] { RetrievalLoop(); })) {
      spdlog::error("retrieval: stopped; no refresh or new snapshot until the engine restarts");
    }
  });
  housekeeping_thread_ = std::thread([this] { HousekeepingLoop(); });
  MeasureUsage();
  usage_thread_ = std::thread([this] { UsageLoop(); });
  return OkStatus();
}

Engine::~Engine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cancel_retrieval_ = true;  // a dump or restore in progress stops now, not in hours
  wake_.notify_all();
  snapshot_finished_.notify_all();
  if (housekeeping_thread_.joinable()) housekeeping_thread_.join();
  if (usage_thread_.joinable()) usage_thread_.join();
  if (retrieval_thread_.joinable()) retrieval_thread_.join();
  if (clones_) {
    clones_->StopWarmPool();  // warm servers have no user yet: nothing is lost
    clones_->WaitIdle();
  }
  StopOperations();  // after the clone workers: they publish webhook events until idle
}

void Engine::SetRetrieval(const std::function<void(RetrievalState&)>& change) {
  std::lock_guard lock(mutex_);
  change(retrieval_);
}

RetrievalEnvironment Engine::RetrievalEnv() {
  RetrievalEnvironment env;
  env.retrieval = config_.retrieval;
  env.os_user = config_.os_user;
  env.superuser = config_.database_username;
  env.socket_dir = config_.PoolPath() + "/" + config_.socket_sub_dir;
  env.hba_file = config_.state_dir + "/pg_hba.conf";
  env.log_dir = config_.state_dir + "/logs";
  env.pg_bin_dir = config_.pg_bin_dir;
  env.residue_gate = config_.residue_gate;
  env.cancel = &cancel_retrieval_;
  return env;
}

PhysicalRetrievalOptions Engine::PhysicalOptions() {
  PhysicalRetrievalOptions options{RetrievalEnv()};
  options.dbname = config_.database_dbname;
  options.state_dir = config_.state_dir;
  return options;
}

Result<Snapshot> Engine::RunRetrieval(bool snapshot_only) {
  auto progress = [this](const std::string& step) {
    spdlog::info("retrieval: {}", step);
    SetRetrieval([&](RetrievalState& state) { state.progress = step; });
  };
  if (config_.retrieval.physical()) {
    PhysicalRetrieval retrieval(PhysicalOptions(), *pool_, *postgres_, runner_, *state_, progress);
    if (snapshot_only) return retrieval.TakeSnapshot();
    DBLAB_ASSIGN_OR_RETURN(std::optional<Snapshot> snapshot, retrieval.Run());
    if (!snapshot) {
      return Unavailable(
          "the source was copied and the replica started; no snapshot was taken "
          "(physicalSnapshot.options.skipStartSnapshot)");
    }
    return *snapshot;
  }
  LogicalRetrievalOptions options{RetrievalEnv()};
  options.dump_dir = config_.DumpLocation();
  options.on_restore_target = [this](const std::string& socket_dir, int port) {
    std::lock_guard lock(mutex_);
    restore_target_socket_dir_ = socket_dir;
    restore_target_port_ = port;
  };
  LogicalRetrieval retrieval(options, *pool_, *postgres_, runner_, *state_, progress);
  return retrieval.Run();
}

// How often the retrieval thread checks that the physical replica still runs.
constexpr auto kReplicaCheckInterval = std::chrono::seconds(10);

void Engine::SuperviseReplica() {
  PhysicalRetrieval retrieval(PhysicalOptions(), *pool_, *postgres_, runner_, *state_,
                              [](const std::string& step) { spdlog::info("retrieval: {}", step); });
  auto started = retrieval.EnsureReplica();
  std::optional<ReplicaLag> lag;
  if (started.ok()) {
    auto measured = retrieval.MeasureLag();
    if (measured.ok()) {
      lag = *measured;
    } else {
      spdlog::debug("physical retrieval: {}", measured.error().message);
    }
  }
  std::lock_guard lock(mutex_);
  retrieval_.replica_lag = lag;
  std::string alert = started.ok() ? "" : "the replica does not run: " + started.error().message;
  if (alert == replica_alert_) return;  // reported once, not every check
  if (!alert.empty()) {
    spdlog::error("physical retrieval: {}", alert);
    retrieval_.AddAlert(kAlertReplicaDown, alert, std::chrono::system_clock::now());
  } else {
    spdlog::info("physical retrieval: the replica runs again");
    retrieval_.alerts.erase(std::string(kAlertReplicaDown));
  }
  replica_alert_ = alert;
}

void Engine::RetrievalLoop() {
  bool supervise = config_.retrieval.physical() && config_.retrieval.physical_restore.sync_enabled;
  if (start_replica_) SuperviseReplica();
  while (true) {
    bool snapshot_only = false;
    uint64_t covered_tickets = 0;
    {
      std::unique_lock lock(mutex_);
      auto pending = [this] {
        return stopping_ || refresh_requested_ || snapshot_requested_ || schedule_changed_;
      };
      // retrieval.refresh.timetable: a full refresh at each scheduled time;
      // physicalSnapshot's scheduler.snapshot.timetable: a new snapshot from the replica.
      auto now = std::chrono::system_clock::now();
      auto next = schedule_ ? schedule_->Next(now) : std::nullopt;
      auto next_snapshot = snapshot_schedule_ ? snapshot_schedule_->Next(now) : std::nullopt;
      retrieval_.next_refresh = next;
      std::optional<TimePoint> wake_at = next;
      if (next_snapshot && (!wake_at || *next_snapshot < *wake_at)) wake_at = next_snapshot;
      bool check_replica = false;
      if (supervise && !refresh_running_ && (!wake_at || *wake_at > now + kReplicaCheckInterval)) {
        wake_at = now + kReplicaCheckInterval;
        check_replica = true;
      }
      if (wake_at) {
        if (!wake_.wait_until(lock, *wake_at, pending)) {
          if (check_replica) {
            lock.unlock();
            SuperviseReplica();
            continue;
          }
          if (next && *next <= *wake_at) {
            spdlog::info("retrieval: scheduled full refresh ({})",
                         config_.retrieval.refresh_timetable);
            refresh_requested_ = true;
          } else {
            spdlog::info("retrieval: scheduled snapshot ({})",
                         config_.retrieval.physical_snapshot.snapshot_timetable);
            snapshot_requested_ = true;
          }
        }
      } else {
        wake_.wait(lock, pending);
      }
      if (stopping_) return;
      if (!refresh_requested_ && !snapshot_requested_) {
        schedule_changed_ = false;  // POST /admin/config changed the timetable
        continue;
      }
      snapshot_only = !refresh_requested_;
      refresh_requested_ = false;
      snapshot_requested_ = false;
      covered_tickets = snapshot_tickets_;
      refresh_running_ = true;
      retrieval_.status = snapshot_only ? "snapshotting" : "refreshing";
      retrieval_.progress = "starting";
      retrieval_.replica_lag.reset();  // the replica pauses or is rebuilt; measured again after
    }
    spdlog::info("retrieval: {} started", snapshot_only ? "snapshot" : "full refresh");
    auto retrieval_started = std::chrono::steady_clock::now();
    auto result = RunRetrieval(snapshot_only);
    metrics_.RetrievalFinished(
        result.ok(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - retrieval_started)
            .count());
    SetRetrieval([&](RetrievalState& state) {
      state.progress.clear();
      if (result.ok()) {
        state.status = "finished";
        state.last_refresh = std::chrono::system_clock::now();
        state.alerts.clear();
        replica_alert_.clear();  // under mutex_ (SetRetrieval holds it)
      } else {
        state.status = "failed";
        state.AddAlert(kAlertRefreshFailed, result.error().message,
                       std::chrono::system_clock::now());
      }
    });
    if (result.ok()) {
      spdlog::info("retrieval: snapshot {} is ready", result->id);
      if (config_.retrieval.physical()) ApplyRetention();
      clones_->SnapshotsChanged();
    } else {
      spdlog::error("retrieval failed: {}", result.error().message);
    }
    {
      std::lock_guard lock(mutex_);
      refresh_running_ = false;
      snapshot_done_ = covered_tickets;
      snapshot_result_ = result;
    }
    snapshot_finished_.notify_all();
    if (options_.on_retrieval_done) options_.on_retrieval_done(result);
  }
}

void Engine::ApplyRetention() {
  int limit = config_.retrieval.physical_snapshot.retention_limit;
  if (limit <= 0) return;
  auto snapshots = state_->ListSnapshots();  // oldest first
  if (!snapshots.ok()) return;
  auto clones = clones_->List();
  auto branches = state_->ListBranches();
  if (!branches.ok()) return;
  // Retention counts and removes main's snapshots; other branches' history and protected
  // snapshots stay.
  std::set<std::string> kept;
  for (const auto& branch : *branches) {
    if (branch.name == kMainBranch) {
      kept.insert(branch.head_snapshot_id);
      continue;
    }
    for (const auto& snapshot : BranchLog(*snapshots, branch.head_snapshot_id)) {
      kept.insert(snapshot.id);
    }
  }
  auto now = std::chrono::system_clock::now();
  std::erase_if(*snapshots, [](const Snapshot& s) { return s.branch != kMainBranch; });
  int excess = static_cast<int>(snapshots->size()) - limit;
  for (size_t i = 0; excess > 0 && i + 1 < snapshots->size(); ++i) {
    const Snapshot& snapshot = (*snapshots)[i];
    bool used = std::any_of(clones.begin(), clones.end(),
                            [&](const Clone& c) { return c.snapshot_id == snapshot.id; });
    if (used) continue;  // a clone may still be reset to it
    if (kept.count(snapshot.id)) continue;
    if (ProtectionHolds(snapshot.is_protected, snapshot.protected_till, now)) {
      spdlog::info("retention: keeping protected snapshot {}", snapshot.id);
      continue;
    }
    std::string name = snapshot.id.substr(snapshot.id.find('@') + 1);
    if (auto destroyed = pool_->DestroySnapshot(name);
        !destroyed.ok() && destroyed.error().code != ErrorCode::kNotFound) {
      spdlog::warn("retention: keeping snapshot {}: {}", snapshot.id, destroyed.error().message);
      continue;
    }
    (void)state_->DeleteSnapshot(snapshot.id);
    spdlog::info("retention: removed snapshot {} (limit {})", snapshot.id, limit);
    --excess;
  }
}

void Engine::DeleteScheduled(TimePoint now) {
  // As DELETE would: refused while clones use it (or branches fork off it), then tried again
  // at the next round.
  auto delete_if_due = [&](const char* kind, const std::string& name,
                           const std::optional<TimePoint>& at, const auto& remove) {
    if (!at || *at > now) return;
    if (Status deleted = remove(name); deleted.ok()) {
      spdlog::info("{} {}: deleted as scheduled (deleteAt {})", kind, name, FormatRfc3339(*at));
    } else {
      spdlog::info("{} {}: its deleteAt has passed, kept for now: {}", kind, name,
                   deleted.error().message);
    }
  };
  if (auto branches = state_->ListBranches(); branches.ok()) {
    for (const auto& branch : *branches) {
      delete_if_due("branch", branch.name, branch.delete_at,
                    [this](const std::string& name) { return DeleteBranch(name); });
    }
  }
  if (auto snapshots = state_->ListSnapshots(); snapshots.ok()) {
    for (const auto& snapshot : *snapshots) {
      delete_if_due("snapshot", snapshot.id, snapshot.delete_at,
                    [this](const std::string& id) { return DeleteSnapshot(id); });
    }
  }
}

void Engine::HousekeepingLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.housekeeping_interval, [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    RunCatchingExceptions("housekeeping", [this] {
      clones_->Housekeep(std::chrono::system_clock::now());
      DeleteScheduled(std::chrono::system_clock::now());
      MeasureSnapshots();
    });
    lock.lock();
  }
}

void Engine::UsageLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    MeasureUsage();
    RunCatchingExceptions("WAL guard", [this] { clones_->GuardWal(); });
    lock.lock();
  }
}

void Engine::MeasureUsage() {
  auto measured = pool_->Usage();
  if (!measured.ok()) return;  // keep the last good one
  PoolUsage usage;
  usage.size = measured->size;
  usage.free = measured->free;
  usage.used = measured->used;
  std::lock_guard lock(mutex_);
  usage_ = usage;
}

void Engine::MeasureSnapshots() {
  auto snapshots = state_->ListSnapshots();
  if (!snapshots.ok()) return;
  for (auto& snapshot : *snapshots) {
    std::string name = snapshot.id.substr(snapshot.id.find('@') + 1);
    auto exclusive = pool_->SnapshotOwnBytes(name);
    if (exclusive.ok() && *exclusive != snapshot.physical_size) {
      snapshot.physical_size = *exclusive;
      (void)state_->SetSnapshotPhysicalSize(snapshot.id, *exclusive);
    }
    // Snapshots recorded before the state store kept majors (schema 3).
    if (snapshot.pg_major == 0) {
      if (auto major = DataDirMajorVersion(pool_->SnapshotPath(name)); major.ok()) {
        (void)state_->SetSnapshotPgMajor(snapshot.id, *major);
      }
    }
  }
}

CloningSettings Engine::GetCloningSettings() {
  return CloningSettings{config_.max_idle_minutes, config_.protection_lease_duration_minutes,
                         config_.protection_max_duration_minutes};
}

InstanceStatus Engine::GetStatus() {
  InstanceStatus status;
  status.version = kVersion;
  status.instance_id = instance_id_;
  status.started_at = started_at_;
  status.clones = clones_->List();
  {
    std::lock_guard lock(mutex_);
    status.retrieval = retrieval_;
  }
  PoolUsage usage;
  {
    std::lock_guard lock(mutex_);
    if (usage_) usage = *usage_;
  }
  usage.name = pool_->Name();
  usage.mode = pool_->Mode();
  if (auto major = DataDirMajorVersion(pool_->MainDataPath()); major.ok()) usage.pg_major = *major;
  auto snapshots = ListSnapshots();  // newest first
  if (!snapshots.empty()) usage.data_size = snapshots.front().logical_size;
  for (const auto& snapshot : snapshots) usage.used_by_snapshots += snapshot.physical_size;
  for (const auto& clone : status.clones) usage.used_by_clones += clone.diff_size;
  status.pools.push_back(usage);
  if (webhooks_) status.webhooks = webhooks_->GetState();
  double total = 0;
  int counted = 0;
  for (const auto& clone : status.clones) {
    if (clone.cloning_time_seconds > 0) {
      total += clone.cloning_time_seconds;
      ++counted;
    }
  }
  status.expected_cloning_time_seconds = counted ? total / counted : 0;
  status.protection_lease_duration_minutes = config_.protection_lease_duration_minutes;
  status.protection_max_duration_minutes = config_.protection_max_duration_minutes;
  status.max_idle_minutes = config_.max_idle_minutes;
  status.warm_pool_size = config_.warm_pool_size;
  status.warm_pool_ready = clones_->WarmReady();
  if (status.retrieval.status == "failed") {
    status.status_code = "WARNING";
    auto failed = status.retrieval.alerts.find(kAlertRefreshFailed);
    status.status_message = "Data retrieval failed";
    if (failed != status.retrieval.alerts.end()) {
      status.status_message += ": " + failed->second.message;
    }
  } else if (snapshots.empty()) {
    status.status_code = "WARNING";
    status.status_message = "No snapshot yet: data retrieval is " + status.retrieval.status;
  }
  return status;
}

std::vector<Snapshot> Engine::ListSnapshots() {
  auto snapshots = state_->ListSnapshots();
  if (!snapshots.ok()) return {};
  auto clones = clones_->List();
  for (auto& snapshot : *snapshots) {
    snapshot.clones.clear();
    for (const auto& clone : clones) {
      if (clone.snapshot_id == snapshot.id) snapshot.clones.push_back(clone.id);
    }
    snapshot.num_clones = static_cast<int>(snapshot.clones.size());
  }
  // Newest first, as DLE lists them.
  std::reverse(snapshots->begin(), snapshots->end());
  return *snapshots;
}

std::vector<Clone> Engine::ListClones() { return clones_->List(); }
Result<Clone> Engine::GetClone(const std::string& id) { return clones_->Get(id); }
Result<Clone> Engine::CreateClone(const CreateCloneRequest& request) {
  return clones_->Create(request);
}
Result<Clone> Engine::UpdateClone(const std::string& id, const UpdateCloneRequest& request) {
  return clones_->Update(id, request);
}
Result<Clone> Engine::ResetClone(const std::string& id, const ResetCloneRequest& request) {
  return clones_->Reset(id, request);
}
Status Engine::DestroyClone(const std::string& id) { return clones_->Destroy(id); }

Result<Snapshot> Engine::CreateSnapshot() {
  if (!config_.retrieval.physical()) {
    return BadRequest(
        "snapshots are taken by retrieval: in logical mode new data comes with a full refresh "
        "(POST /full-refresh, dblab instance full-refresh)");
  }
  std::unique_lock lock(mutex_);
  if (refresh_running_ || refresh_requested_ || snapshot_requested_) {
    return Conflict("a refresh or a snapshot is already running; try again when it is done");
  }
  uint64_t ticket = ++snapshot_tickets_;
  snapshot_requested_ = true;
  wake_.notify_all();
  snapshot_finished_.wait(lock, [&] { return stopping_ || snapshot_done_ >= ticket; });
  if (snapshot_done_ < ticket) return Unavailable("the engine is stopping");
  return *snapshot_result_;
}

Result<Snapshot> Engine::CreateSnapshotFromClone(const std::string& clone_id) {
  return CommitClone(clone_id, "");
}

Result<Snapshot> Engine::CommitClone(const std::string& clone_id, const std::string& message) {
  std::lock_guard serial(snapshot_from_clone_mutex_);  // one at a time: names are by the second
  DBLAB_ASSIGN_OR_RETURN(std::string name, NewSnapshotName(*pool_));
  std::string parent;
  Snapshot lineage;
  lineage.message = message;
  for (const auto& clone : clones_->List()) {
    if (clone.id != clone_id) continue;
    parent = clone.snapshot_id.substr(clone.snapshot_id.find('@') + 1);
    // DLE 4: the commit goes on the clone's branch, after its head.
    lineage.branch = clone.branch.empty() ? std::string(kMainBranch) : clone.branch;
    lineage.parent_id = clones_->BranchHead(lineage.branch);
    if (lineage.parent_id.empty()) {
      return BadRequest(
          "branch \"" + lineage.branch + "\" of clone " + clone_id +
          " no longer exists; create it again (dblab branch) or commit another clone");
    }
  }
  // The clone as its user left it holds what the user's masking replaced: that snapshot is
  // never published, a scrubbed copy of it is (retrieval/residue_commit.h).
  std::string raw = std::string(kCommitScrubPrefix) + "raw-" + name;
  DBLAB_TRY(clones_->SnapshotClone(clone_id, raw));
  CommitScrubber scrubber{*pool_, *postgres_, runner_};
  scrubber.socket_dir = config_.PoolPath() + "/" + config_.socket_sub_dir;
  scrubber.hba_file = config_.state_dir + "/pg_hba.conf";
  scrubber.log_dir = config_.state_dir + "/logs";
  scrubber.os_user = config_.os_user;
  scrubber.superuser = config_.database_username;
  scrubber.pg_bin_dir = config_.pg_bin_dir;
  scrubber.gate = config_.residue_gate;
  scrubber.progress = [&](const std::string& step) {
    spdlog::info("clone {}: {}", clone_id, step);
  };
  Status scrubbed = parent.empty() ? Status(NotFound("clone \"" + clone_id + "\" not found"))
                                   : scrubber.Scrub(parent, raw, name);
  (void)pool_->DestroySnapshot(raw);
  if (!scrubbed.ok()) return scrubbed.error().Wrap("commit of clone " + clone_id);
  auto snapshot = RecordSnapshot(*pool_, *state_, name, std::chrono::system_clock::now(), lineage);
  if (!snapshot.ok()) {
    (void)pool_->DestroySnapshot(name);
    return snapshot.error();
  }
  if (Status moved = clones_->MoveToSnapshot(clone_id, snapshot->id); !moved.ok()) {
    spdlog::warn("clone {}: committed as {}, but {}", clone_id, snapshot->id,
                 moved.error().message);
  }
  spdlog::info("clone {}: committed as {} on branch {}", clone_id, snapshot->id, snapshot->branch);
  clones_->SnapshotsChanged();  // main's head may have moved: the warm pool follows it
  return *snapshot;
}

Status Engine::DeleteSnapshot(const std::string& id) {
  auto snapshots = state_->ListSnapshots();
  if (!snapshots.ok()) return snapshots.error();
  bool known = std::any_of(snapshots->begin(), snapshots->end(),
                           [&](const Snapshot& s) { return s.id == id; });
  if (!known) return NotFound("snapshot " + id + " not found; see dblab snapshot list");
  for (const auto& snapshot : *snapshots) {
    if (snapshot.id == id && ProtectionHolds(snapshot.is_protected, snapshot.protected_till,
                                             std::chrono::system_clock::now())) {
      return BadRequest("snapshot " + id + " is protected; remove the protection first (PATCH " +
                        "/snapshot/{id} with \"protected\": false)");
    }
  }
  std::vector<std::string> users;
  for (const auto& clone : clones_->List()) {
    if (clone.snapshot_id == id) users.push_back(clone.id);
  }
  if (!users.empty()) {
    std::string list;
    for (const auto& user : users) list += (list.empty() ? "" : ", ") + user;
    return Conflict("snapshot " + id + " is used by clone(s) " + list +
                    "; destroy them or reset them to another snapshot first");
  }
  std::string name = id.substr(id.find('@') + 1);
  if (auto destroyed = pool_->DestroySnapshot(name);
      !destroyed.ok() && destroyed.error().code != ErrorCode::kNotFound) {
    return destroyed.error().Wrap("delete snapshot " + id);
  }
  DBLAB_TRY(state_->DeleteSnapshot(id));
  spdlog::info("snapshot {}: deleted", id);
  clones_->SnapshotsChanged();  // the warm pool follows the latest snapshot
  return OkStatus();
}

Status Engine::FullRefresh() {
  if (!config_.retrieval.enabled()) {
    return BadRequest("no retrieval jobs are configured (retrieval.jobs)");
  }
  {
    std::lock_guard lock(mutex_);
    if (refresh_running_ || refresh_requested_) {
      // DLE raises refresh_skipped when a refresh is asked for while one runs.
      std::string message = "a full refresh is already running";
      retrieval_.AddAlert(kAlertRefreshSkipped, message, std::chrono::system_clock::now());
      return Conflict(message);
    }
    refresh_requested_ = true;
  }
  wake_.notify_all();
  return OkStatus();
}

// --- DLE 4 branches ---

std::vector<Branch> Engine::ListBranches() {
  auto branches = state_->ListBranches();
  return branches.ok() ? *branches : std::vector<Branch>{};
}

Result<Branch> Engine::CreateBranch(const CreateBranchRequest& request) {
  DBLAB_TRY(ValidateBranchName(request.name));
  if (request.base_branch.empty() && request.snapshot_id.empty()) {
    return BadRequest("either baseBranch or snapshotID must be given");
  }
  std::lock_guard lock(branches_mutex_);
  DBLAB_ASSIGN_OR_RETURN(auto branches, state_->ListBranches());
  DBLAB_ASSIGN_OR_RETURN(auto snapshots, state_->ListSnapshots());
  if (FindBranch(branches, request.name)) {
    return Conflict("branch \"" + request.name + "\" already exists");
  }
  Branch branch;
  branch.name = request.name;
  branch.created_at = std::chrono::system_clock::now();
  // DLE's web UI sends both: the snapshot is where the branch starts, the base its parent.
  if (!request.base_branch.empty()) {
    const Branch* base = FindBranch(branches, request.base_branch);
    if (!base) return NotFound("base branch \"" + request.base_branch + "\" not found");
    branch.parent = base->name;
    branch.head_snapshot_id = base->head_snapshot_id;
  }
  if (!request.snapshot_id.empty()) {
    const Snapshot* base = FindSnapshotById(snapshots, request.snapshot_id);
    if (!base) {
      return NotFound("snapshot " + request.snapshot_id + " not found; see dblab snapshot list");
    }
    if (branch.parent.empty()) {
      branch.parent = base->branch.empty() ? std::string(kMainBranch) : base->branch;
    }
    branch.head_snapshot_id = base->id;
  }
  branch.base_snapshot_id = branch.head_snapshot_id;
  DBLAB_TRY(state_->PutBranch(branch));
  spdlog::info("branch {}: created at {} (from {})", branch.name, branch.head_snapshot_id,
               branch.parent);
  return branch;
}

Status Engine::DeleteBranch(const std::string& name) {
  DBLAB_TRY(ValidateBranchName(name));
  std::lock_guard lock(branches_mutex_);
  DBLAB_ASSIGN_OR_RETURN(auto branches, state_->ListBranches());
  DBLAB_ASSIGN_OR_RETURN(auto snapshots, state_->ListSnapshots());
  const Branch* branch = FindBranch(branches, name);
  if (!branch) return NotFound("branch \"" + name + "\" not found; see dblab branch");
  if (name == kMainBranch) return BadRequest("branch main cannot be deleted");
  if (ProtectionHolds(branch->is_protected, branch->protected_till,
                      std::chrono::system_clock::now())) {
    return BadRequest("branch \"" + name + "\" is protected; remove the protection first " +
                      "(PATCH /branch/" + name + " with \"protected\": false)");
  }
  std::vector<std::string> owned = SnapshotsOwnedBy(snapshots, branches, name);
  std::string users;
  for (const auto& clone : clones_->List()) {
    bool on_owned = std::find(owned.begin(), owned.end(), clone.snapshot_id) != owned.end();
    if (clone.branch == name || on_owned) users += (users.empty() ? "" : ", ") + clone.id;
  }
  if (!users.empty()) {
    return BadRequest("cannot delete branch \"" + name + "\": clone(s) " + users +
                      " use it; destroy them first");
  }
  auto forked = BranchesForkedOff(snapshots, branches, name);
  if (!forked.empty()) {
    std::string list;
    for (const auto& other : forked) list += (list.empty() ? "" : ", ") + other;
    return BadRequest("cannot delete branch \"" + name + "\": branch(es) " + list +
                      " forked off it; delete them first");
  }
  for (const auto& id : owned) {
    std::string snapshot_name = id.substr(id.find('@') + 1);
    if (auto destroyed = pool_->DestroySnapshot(snapshot_name);
        !destroyed.ok() && destroyed.error().code != ErrorCode::kNotFound) {
      return destroyed.error().Wrap("delete branch " + name + ": snapshot " + id);
    }
  }
  DBLAB_TRY(state_->DeleteBranch(name, owned));
  spdlog::info("branch {}: deleted with {} snapshot(s)", name, owned.size());
  return OkStatus();
}

Result<Branch> Engine::UpdateBranch(const std::string& name,
                                    const UpdateProtectionRequest& request) {
  DBLAB_TRY(ValidateBranchName(name));
  std::lock_guard lock(branches_mutex_);
  DBLAB_ASSIGN_OR_RETURN(auto branches, state_->ListBranches());
  const Branch* found = FindBranch(branches, name);
  if (!found) return NotFound("branch \"" + name + "\" not found; see dblab branch");
  Branch branch = *found;
  if (request.delete_at && name == kMainBranch) {
    return BadRequest("branch main cannot be deleted, so its deletion cannot be scheduled");
  }
  DBLAB_TRY(ApplyProtection(branch.is_protected, branch.protected_till, branch.delete_at, request,
                            std::chrono::system_clock::now(),
                            config_.protection_max_duration_minutes));
  DBLAB_TRY(state_->PutBranch(branch));
  return branch;
}

Result<Snapshot> Engine::UpdateSnapshot(const std::string& id,
                                        const UpdateProtectionRequest& request) {
  std::lock_guard lock(branches_mutex_);
  DBLAB_ASSIGN_OR_RETURN(auto snapshots, state_->ListSnapshots());
  const Snapshot* found = FindSnapshotById(snapshots, id);
  if (!found) return NotFound("snapshot " + id + " not found; see dblab snapshot list");
  Snapshot snapshot = *found;
  DBLAB_TRY(ApplyProtection(snapshot.is_protected, snapshot.protected_till, snapshot.delete_at,
                            request, std::chrono::system_clock::now(),
                            config_.protection_max_duration_minutes));
  DBLAB_TRY(state_->SetSnapshotProtection(id, snapshot.is_protected, snapshot.protected_till,
                                          snapshot.delete_at));
  for (const auto& clone : clones_->List()) {
    if (clone.snapshot_id == id) snapshot.clones.push_back(clone.id);
  }
  snapshot.num_clones = static_cast<int>(snapshot.clones.size());
  return snapshot;
}

}  // namespace dblab
