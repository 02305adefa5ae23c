#include "cloning/clone_manager.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cloning/validation.h"
#include "common/thread_guard.h"
#include "common/time.h"
#include "postgres/pq.h"

namespace dblab {

namespace {

using Clock = std::chrono::system_clock;

// The test seam when given, else a bind on the clone's addresses.
PortAllocator::Probe PortProbe(const CloningOptions& options) {
  if (options.port_is_free) return options.port_is_free;
  return [addresses = options.listen_addresses](int port) { return PortIsFree(port, addresses); };
}

bool IsBusy(CloneStatus status) {
  return status == CloneStatus::kCreating || status == CloneStatus::kResetting ||
         status == CloneStatus::kDeleting;
}

}  // namespace

CloneManager::CloneManager(CloningOptions options, PoolBackend& pool, ServerControl& servers,
                           StateStore& state, SqlConnector& sql)
    : options_(std::move(options)),
      pool_(pool),
      postgres_(servers),
      sql_(sql),
      state_(state),
      ports_(options_.port_from, options_.port_to, PortProbe(options_)),
      protection_policy_{options_.protection_lease_minutes, options_.protection_max_minutes},
      idle_detector_(sql_, options_.socket_dir, options_.superuser, options_.log_dir,
                     options_.max_idle_minutes),
      wal_(options_.wal_dir, options_.os_uid, options_.os_gid) {}

Result<std::string> CloneManager::CreateStorage(const std::string& snapshot_id,
                                                const std::string& name) {
  DBLAB_ASSIGN_OR_RETURN(std::string path, pool_.CreateClone(SnapshotDirName(snapshot_id), name));
  if (auto moved = wal_.Externalize(path, name); !moved.ok()) {
    (void)pool_.DestroyClone(name);
    return moved.error();
  }
  return path;
}

Status CloneManager::DestroyStorage(const std::string& name) {
  DBLAB_TRY(pool_.DestroyClone(name));
  return wal_.Remove(name);
}

Status CloneManager::SnapshotRunningCloneWithWalOutside(const std::string& storage,
                                                        const std::string& name) {
  std::string data = name + "-data", whole = name + "-whole";
  DBLAB_TRY(pool_.CreateSnapshotOfClone(storage, data));
  Status done = [&]() -> Status {
    DBLAB_ASSIGN_OR_RETURN(std::string path, pool_.CreateClone(data, whole));
    Result<bool> inside = wal_.Internalize(path, storage);
    Status status = inside.ok() ? pool_.CreateSnapshotOfClone(whole, name) : inside.error();
    (void)pool_.DestroyClone(whole);
    return status;
  }();
  (void)pool_.DestroySnapshot(data);
  return done;
}

CloneManager::~CloneManager() {
  StopWarmPool();
  WaitIdle();
}

void CloneManager::WaitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ops_ == 0; });
}

void CloneManager::RunAsync(const std::string& id, std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    ++running_ops_;
  }
  std::thread([this, id, work = std::move(work)] {
    if (!RunCatchingExceptions("clone " + id, work)) {
      Fail(id, "internal error while working on the clone; see the engine log");
    }
    std::lock_guard lock(mutex_);
    if (--running_ops_ == 0) {
      idle_.notify_all();
      warm_wake_.notify_all();  // a refill may have waited for this
    }
  }).detach();
}

void CloneManager::SaveCurrent(const std::string& id) {
  // One writer at a time, and it writes the newest in-memory state: two threads saving copies
  // taken at different moments can never leave the older one on disk.
  std::lock_guard persist(persist_mutex_);
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return;  // destroyed meanwhile: nothing to resurrect
    record = it->second;
  }
  Save(record);
}

void CloneManager::Save(const CloneRecord& record) {
  auto status = state_.PutClone(record);
  if (!status.ok()) spdlog::error("clone {}: {}", record.clone.id, status.error().message);
}

std::string CloneManager::SnapshotDirName(const std::string& snapshot_id) const {
  auto at = snapshot_id.find('@');
  return at == std::string::npos ? snapshot_id : snapshot_id.substr(at + 1);
}

std::string CloneManager::LatestSnapshotId() {
  // DLE 4: the latest is main's head (commits on other branches are not); before branches
  // existed, the newest snapshot.
  if (std::string head = BranchHead(std::string(kMainBranch)); !head.empty()) return head;
  auto snapshots = state_.ListSnapshots();
  if (!snapshots.ok() || snapshots->empty()) return "";
  auto latest = std::max_element(
      snapshots->begin(), snapshots->end(), [](const Snapshot& a, const Snapshot& b) {
        return std::tie(a.data_state_at, a.created_at) < std::tie(b.data_state_at, b.created_at);
      });
  return latest->id;
}

std::string CloneManager::BranchHead(const std::string& branch) {
  auto branches = state_.ListBranches();
  if (!branches.ok()) return "";
  for (const auto& known : *branches) {
    if (known.name == branch) return known.head_snapshot_id;
  }
  return "";
}

Status CloneManager::MoveToSnapshot(const std::string& id, const std::string& snapshot_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
    it->second.clone.snapshot_id = snapshot_id;
  }
  SaveCurrent(id);
  return OkStatus();
}

Result<Snapshot> CloneManager::FindSnapshot(const std::string& id) {
  DBLAB_ASSIGN_OR_RETURN(auto snapshots, state_.ListSnapshots());
  for (auto& snapshot : snapshots) {
    if (snapshot.id == id) return snapshot;
  }
  return NotFound("snapshot \"" + id + "\" not found; list snapshots with `dblab snapshot list`");
}

Result<int> CloneManager::AllocatePort() {
  // Caller holds mutex_.
  return ports_.Allocate(reserved_ports_, clones_.size());
}

Result<Clone> CloneManager::Create(const CreateCloneRequest& request) {
  auto request_started = std::chrono::steady_clock::now();
  CreateCloneRequest req = request;
  if (req.id.empty()) req.id = GenerateId();
  DBLAB_TRY(ValidateCloneId(req.id));
  DBLAB_TRY(ValidateUsername(req.username, options_.superuser));
  DBLAB_TRY(ValidatePassword(req.password, options_.min_password_strength));
  if (!req.db_name.empty()) DBLAB_TRY(ValidateDatabaseName(req.db_name));
  std::string snapshot_id = req.snapshot_id;
  if (!req.branch.empty()) {
    // DLE 4: a clone of a branch starts from its head, unless a snapshot is named.
    std::string head = BranchHead(req.branch);
    if (head.empty()) {
      return NotFound("branch \"" + req.branch + "\" not found; see dblab branch");
    }
    if (snapshot_id.empty()) snapshot_id = head;
  }
  if (snapshot_id.empty()) snapshot_id = LatestSnapshotId();
  if (snapshot_id.empty()) {
    return Unavailable(
        "no snapshot is ready yet: data retrieval has not finished; see `dblab instance status`");
  }
  DBLAB_ASSIGN_OR_RETURN(Snapshot source, FindSnapshot(snapshot_id));
  if (req.branch.empty()) {
    // Commits from this clone go to the branch of the snapshot it starts from.
    req.branch = source.branch.empty() || BranchHead(source.branch).empty()
                     ? std::string(kMainBranch)
                     : source.branch;
  }
  DBLAB_ASSIGN_OR_RETURN(std::string verifier, ScramVerifier(req.username, req.password));

  CloneRecord record;
  Clone& clone = record.clone;
  clone.id = req.id;
  clone.snapshot_id = snapshot_id;
  clone.branch = req.branch;
  clone.status = CloneStatus::kCreating;
  clone.status_message = "Clone is being created";
  clone.created_at = Now();
  clone.db.username = req.username;
  clone.db.db_name = req.db_name.empty() ? options_.default_db_name : req.db_name;
  clone.db.restricted = req.restricted;
  clone.db.host = options_.access_host;
  record.password_verifier = verifier;
  DBLAB_ASSIGN_OR_RETURN(Protection protection,
                         ProtectionOnCreate(req, protection_policy_, clone.created_at));
  protection.ApplyTo(clone);
  std::optional<WarmClone> warm;
  {
    std::lock_guard lock(mutex_);
    if (clones_.count(clone.id)) {
      return Conflict("clone \"" + clone.id + "\" already exists; choose another id");
    }
    warm = TakeWarm(snapshot_id);
    if (warm) {
      clone.db.port = warm->port;
      record.storage_name = warm->name;
    } else {
      DBLAB_ASSIGN_OR_RETURN(clone.db.port, AllocatePort());
      reserved_ports_.insert(clone.db.port);
    }
    clones_[clone.id] = record;
  }
  // A warm clone is ready within this request and saved once, when it is; should the engine die
  // before, its storage has no record and the next start removes it as an orphan.
  if (warm) return AssignWarm(std::move(record), *warm, request_started);
  SaveCurrent(record.clone.id);
  spdlog::info("clone {}: creating from snapshot {} on port {}", clone.id, snapshot_id,
               clone.db.port);
  RunAsync(clone.id, [this, id = clone.id] { DoCreate(id, false); });
  return clone;
}

Result<Clone> CloneManager::Get(const std::string& id) {
  DBLAB_TRY(ValidateCloneId(id));
  std::lock_guard lock(mutex_);
  auto it = clones_.find(id);
  if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
  return it->second.clone;
}

std::vector<Clone> CloneManager::List() {
  std::lock_guard lock(mutex_);
  std::vector<Clone> out;
  for (const auto& [id, record] : clones_) out.push_back(record.clone);
  std::sort(out.begin(), out.end(),
            [](const Clone& a, const Clone& b) { return a.created_at < b.created_at; });
  return out;
}

Result<Clone> CloneManager::Update(const std::string& id, const UpdateCloneRequest& request) {
  DBLAB_TRY(ValidateCloneId(id));
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
    if (it->second.clone.status == CloneStatus::kDeleting) {
      return Conflict("clone \"" + id + "\" is being deleted");
    }
    DBLAB_ASSIGN_OR_RETURN(
        Protection protection,
        ProtectionOnUpdate(Protection::Of(it->second.clone), request, protection_policy_, Now()));
    protection.ApplyTo(it->second.clone);
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  return record.clone;
}

Result<Clone> CloneManager::Reset(const std::string& id, const ResetCloneRequest& request) {
  DBLAB_TRY(ValidateCloneId(id));
  if (request.latest && !request.snapshot_id.empty()) {
    return BadRequest("give either snapshotID or latest, not both");
  }
  std::string snapshot_id = request.snapshot_id;
  if (request.latest) {
    // DLE 4: the latest of the clone's own branch.
    std::string branch;
    {
      std::lock_guard lock(mutex_);
      if (auto it = clones_.find(id); it != clones_.end()) branch = it->second.clone.branch;
    }
    snapshot_id = branch.empty() ? "" : BranchHead(branch);
    if (snapshot_id.empty()) snapshot_id = LatestSnapshotId();
    if (snapshot_id.empty()) return Unavailable("no snapshot is available");
  }
  if (!snapshot_id.empty()) DBLAB_TRY(FindSnapshot(snapshot_id));
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
    Clone& clone = it->second.clone;
    if (auto busy = BusyConflict(id, clone, IsBusy(clone.status))) return *busy;
    if (snapshot_id.empty()) snapshot_id = clone.snapshot_id;
    // The target is part of the durable record: a reset redone after a crash goes to it.
    clone.snapshot_id = snapshot_id;
    clone.status = CloneStatus::kResetting;
    clone.status_message = "Clone is being reset";
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  spdlog::info("clone {}: resetting to snapshot {}", id, snapshot_id);
  RunAsync(id, [this, id, snapshot_id] { DoReset(id, snapshot_id); });
  return record.clone;
}

Status CloneManager::Destroy(const std::string& id) {
  DBLAB_TRY(ValidateCloneId(id));
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
    Clone& clone = it->second.clone;
    if (clone.is_protected && clone.status != CloneStatus::kFatal) {
      return Conflict("clone \"" + id +
                      "\" is protected; remove protection first (dblab clone update " + id +
                      " --protected false)");
    }
    if (auto busy = BusyConflict(id, clone, IsBusy(clone.status))) return *busy;
    clone.status = CloneStatus::kDeleting;
    clone.status_message = "Clone is being deleted";
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  spdlog::info("clone {}: destroying", id);
  RunAsync(id, [this, id] { DoDestroy(id); });
  return OkStatus();
}

std::optional<Error> CloneManager::BusyConflict(const std::string& id, const Clone& clone,
                                                bool busy_status) const {
  if (snapshotting_.count(id)) {
    return Conflict("clone \"" + id + "\" is being snapshotted; wait until it is done");
  }
  if (reviving_.count(id)) {
    return Conflict("clone \"" + id + "\" is being restarted after its server died; try again");
  }
  if (!busy_status) return std::nullopt;
  return Conflict("clone \"" + id + "\" is " + CloneStatusName(clone.status) +
                  "; wait until it is OK");
}

Status CloneManager::SnapshotClone(const std::string& id, const std::string& name) {
  DBLAB_TRY(ValidateCloneId(id));
  if (!pool_.CanSnapshotClones()) {
    return Unavailable("the " + pool_.Mode() +
                       " backend cannot snapshot a clone yet (btrfs, reflink, overlay and copy "
                       "can)");
  }
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone \"" + id + "\" not found");
    const Clone& clone = it->second.clone;
    if (auto busy = BusyConflict(id, clone, clone.status != CloneStatus::kOk)) return *busy;
    snapshotting_.insert(id);
    record = it->second;
  }
  const Clone& clone = record.clone;
  std::string data_dir = pool_.ClonePath(record.StorageName());
  auto admin_conninfo =
      AdminConninfo(ServerSocketDir(options_.socket_dir, clone.db.port), clone.db.port,
                    options_.superuser, clone.db.db_name, {{"application_name", "dblab-engine"}});
  bool password_cleared = false;  // the user is locked out until the password is back
  bool snapshot_made = false;
  auto restore_password = [&](SqlSession& admin) {
    Status restored = admin.Exec("ALTER ROLE " + admin.QuoteIdentifier(clone.db.username) +
                                 " PASSWORD " + admin.QuoteLiteral(record.password_verifier));
    if (restored.ok()) password_cleared = false;
    return restored;
  };
  auto work = [&]() -> Status {
    std::unique_ptr<SqlSession> admin;
    {
      auto connected = sql_.Connect(admin_conninfo);
      if (!connected.ok()) return connected.error();
      admin = std::move(*connected);
    }
    std::string role = admin->QuoteIdentifier(clone.db.username);
    // The clone user's password stays out of the snapshot; the user is back in right after.
    DBLAB_TRY(admin->Exec("ALTER ROLE " + role + " PASSWORD NULL"));
    password_cleared = true;
    Status taken = admin->Exec("CHECKPOINT");
    if (taken.ok() && pool_.SnapshotOfCloneIsAtomic()) {
      // The password comes back only after the WAL is copied: replaying it must not restore it.
      taken = wal_.IsOutside(data_dir)
                  ? SnapshotRunningCloneWithWalOutside(record.StorageName(), name)
                  : pool_.CreateSnapshotOfClone(record.StorageName(), name);
      snapshot_made = taken.ok();
      Status restored = restore_password(*admin);
      return taken.ok() ? restored : taken;
    }
    if (taken.ok()) {
      admin.reset();  // the server stops next
      taken = postgres_.Stop(data_dir, std::chrono::seconds(60), /*require_clean=*/true);
      Result<bool> inside = false;
      if (taken.ok()) inside = wal_.Internalize(data_dir, record.StorageName());
      if (!inside.ok()) taken = inside.error();
      if (taken.ok()) {
        taken = pool_.CreateSnapshotOfClone(record.StorageName(), name);
        snapshot_made = taken.ok();
      }
      if (inside.ok() && *inside) {
        Status relinked = wal_.Relink(data_dir, record.StorageName());
        if (taken.ok()) taken = relinked;
      }
      // (A stop that failed may have left the server running: then it just goes on.)
      Status started = postgres_.Pid(data_dir) ? OkStatus() : StartServer(record);
      if (!started.ok()) {
        Fail(id, "postgres did not start again after a snapshot: " + started.error().message);
        return taken.ok() ? started : taken;
      }
      auto again = sql_.Connect(admin_conninfo);
      if (!again.ok()) return again.error();
      admin = std::move(*again);
    }
    Status restored = restore_password(*admin);
    return taken.ok() ? restored : taken;
  };
  Status result = work();
  // A failed step must not lock the user out of a running clone: one more try on a new
  // connection, else the clone says why and how to get back in.
  if (password_cleared && postgres_.Pid(data_dir)) {
    auto again = sql_.Connect(admin_conninfo);
    Status restored = again.ok() ? restore_password(**again) : Status(again.error());
    if (!restored.ok()) {
      Fail(id, "its user's password could not be restored after a snapshot (" +
                   restored.error().message + "); reset the clone to log in again");
    }
  }
  // A failed snapshot of a clone leaves no snapshot behind.
  if (!result.ok() && snapshot_made) {
    if (Status destroyed = pool_.DestroySnapshot(name); !destroyed.ok()) {
      spdlog::error("clone {}: cannot remove snapshot {} of a failed snapshot: {}", id, name,
                    destroyed.error().message);
    }
  }
  {
    std::lock_guard lock(mutex_);
    snapshotting_.erase(id);
  }
  if (!result.ok()) return result.error().Wrap("snapshot of clone " + id);
  spdlog::info("clone {}: snapshot {} taken", id, name);
  return OkStatus();
}

void CloneManager::Fail(const std::string& id, const std::string& message) {
  spdlog::error("clone {}: {}", id, message);
  CloneRecord record;
  CloneStatus before = CloneStatus::kOk;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return;
    before = it->second.clone.status;
    it->second.clone.status = CloneStatus::kFatal;
    it->second.clone.status_message = message;
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  if (before == CloneStatus::kCreating) Notify("clone_create", record.clone, false, 0);
  if (before == CloneStatus::kResetting) Notify("clone_reset", record.clone, false, 0);
  if (before == CloneStatus::kDeleting) Notify("clone_delete", record.clone, false, 0);
}

void CloneManager::Notify(const char* type, const Clone& clone, bool ok, double seconds) {
  if (options_.on_clone_event) options_.on_clone_event(CloneEvent{type, clone, ok, seconds});
}

ServerSpec CloneManager::SpecFor(const CloneRecord& record, const std::string& bin_dir) const {
  ServerSpec spec;
  spec.bin_dir = bin_dir;
  spec.data_dir = options_.server_link_dir + "/" + std::to_string(record.clone.db.port);
  spec.port = record.clone.db.port;
  spec.listen_addresses = options_.listen_addresses;
  spec.socket_dir = ServerSocketDir(options_.socket_dir, record.clone.db.port);
  spec.hba_file = options_.hba_file;
  spec.settings = options_.settings;
  spec.log_file = options_.log_dir + "/" + record.clone.id + ".log";
  spec.os_user = options_.os_user;
  // A clone made before its WAL moved out has none there (its pg_wal is inside).
  if (std::string wal = wal_.Dir(record.StorageName());
      wal_.enabled() && access(wal.c_str(), F_OK) == 0) {
    spec.writable_paths.push_back(wal);
  }
  return spec;
}

Status CloneManager::PointServerLink(int port, const std::string& clone_name) {
  std::string link = options_.server_link_dir + "/" + std::to_string(port);
  std::string temp = link + ".tmp-" + GenerateId(8);
  if (symlink(pool_.ClonePath(clone_name).c_str(), temp.c_str()) != 0 ||
      rename(temp.c_str(), link.c_str()) != 0) {
    std::string error = std::strerror(errno);
    unlink(temp.c_str());
    return Internal("cannot point " + link + " at clone " + clone_name + ": " + error);
  }
  return OkStatus();
}

void CloneManager::RemoveServerLink(int port, const std::string& clone_name) {
  std::string link = options_.server_link_dir + "/" + std::to_string(port);
  std::error_code error;
  if (std::filesystem::read_symlink(link, error) == pool_.ClonePath(clone_name)) {
    unlink(link.c_str());
  }
}

Status CloneManager::StartServer(const CloneRecord& record) {
  std::string data_dir = pool_.ClonePath(record.StorageName());
  DBLAB_TRY(PointServerLink(record.clone.db.port, record.StorageName()));
  DBLAB_ASSIGN_OR_RETURN(int major, DataDirMajorVersion(data_dir));
  DBLAB_ASSIGN_OR_RETURN(std::string bin_dir, FindPostgresBinDir(major, options_.pg_bin_dir));
  ServerSpec spec = SpecFor(record, bin_dir);
  if (options_.limits.any()) {
    auto procs = cgroups_.Prepare("port-" + std::to_string(spec.port), options_.limits);
    if (!procs.ok()) return procs.error().Wrap("memory/CPU limits of clone " + record.clone.id);
    spec.cgroup_procs_files = std::move(*procs);
  }
  auto pid = postgres_.Start(spec);
  if (!pid.ok()) return pid.error();
  return OkStatus();
}

Status CloneManager::SetUpRole(const CloneRecord& record, SqlSession* admin) {
  const Clone& clone = record.clone;
  std::shared_ptr<SqlSession> own;
  if (admin == nullptr || clone.db.db_name != options_.default_db_name) {
    // Connect to the clone's own database: the first connection to a database after a start
    // builds its relation cache files, so the user's first query then finds them ready.
    auto connected = sql_.Connect(AdminConninfo(ServerSocketDir(options_.socket_dir, clone.db.port),
                                                clone.db.port, options_.superuser, clone.db.db_name,
                                                {{"application_name", "dblab-engine"}}));
    if (!connected.ok()) {
      if (connected.error().message.find("does not exist") != std::string::npos) {
        return BadRequest("database \"" + clone.db.db_name + "\" does not exist in snapshot " +
                          clone.snapshot_id);
      }
      return connected.error();
    }
    own = std::shared_ptr<SqlSession>(std::move(*connected));
    admin = own.get();
  }
  std::string role = admin->QuoteIdentifier(clone.db.username);
  std::string attributes = clone.db.restricted ? " LOGIN NOSUPERUSER" : " LOGIN SUPERUSER";
  std::string password = " PASSWORD " + admin->QuoteLiteral(record.password_verifier);
  std::string ownership;
  if (clone.db.restricted) {
    // An ordinary role that owns the database and everything in its user schemas. Everything
    // is schema-qualified (and the session's search_path is pinned, see AdminConninfo): the
    // previous owner of this database may have planted functions for this very code.
    std::string role_literal = admin->QuoteLiteral(clone.db.username);
    ownership =
        "; ALTER DATABASE " + admin->QuoteIdentifier(clone.db.db_name) + " OWNER TO " + role +
        "; DO $dblab$ DECLARE r record; BEGIN "
        "FOR r IN SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT IN "
        "('pg_catalog','information_schema') AND nspname NOT LIKE 'pg\\_%' LOOP "
        "EXECUTE pg_catalog.format('ALTER SCHEMA %I OWNER TO %I', r.nspname, " +
        role_literal +
        "); END LOOP; "
        "FOR r IN SELECT c.oid::pg_catalog.regclass AS name FROM pg_catalog.pg_class c JOIN "
        "pg_catalog.pg_namespace n ON "
        "n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','f','S') AND n.nspname NOT IN "
        "('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS "
        "(SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.classid = "
        "'pg_catalog.pg_class'::pg_catalog.regclass "
        "AND d.deptype IN ('a','i')) LOOP "
        "EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', r.name, " +
        role_literal +
        "); END LOOP; "
        "FOR r IN SELECT p.oid::pg_catalog.regprocedure AS name FROM pg_catalog.pg_proc p JOIN "
        "pg_catalog.pg_namespace n ON "
        "n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND "
        "n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE "
        "d.objid = "
        "p.oid AND d.deptype = 'e') LOOP "
        "EXECUTE pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', r.name, " +
        role_literal +
        "); END LOOP; "
        "END $dblab$";
  }
  // One round trip, one transaction. Its commit does not wait for the WAL flush (an fsync of
  // 10-20 ms on a loop image, a third of the engine's own share of a create): the WAL writer
  // flushes it within a fraction of a second, and a server that dies before that is restarted
  // by the engine (housekeeping or the next start), which sets the role up again (Revive,
  // DoCreate with restart_only). The user's own transactions keep the clone's settings.
  const std::string no_flush_wait = "SET LOCAL synchronous_commit TO off; ";
  Status created =
      admin->Exec(no_flush_wait + "CREATE ROLE " + role + attributes + password + ownership);
  if (!created.ok() && admin->last_sqlstate() == "42710") {
    // duplicate_object: the snapshot (or an earlier life of this clone) already has the role;
    // it gets the clone's password.
    created = admin->Exec(no_flush_wait + "ALTER ROLE " + role + attributes + password + ownership);
  }
  CloseSessionLater(std::move(own));
  return created;
}

void CloneManager::DoCreate(const std::string& id, bool restart_only) {
  auto started = std::chrono::steady_clock::now();
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) {
      spdlog::warn("clone {}: gone before its worker ran; nothing to do", id);
      return;
    }
    record = it->second;
  }
  std::string data_dir = pool_.ClonePath(record.StorageName());
  if (!restart_only) {
    WaitReleased(id);  // a destroyed clone of the same id may still be freeing its storage
    // Anything left by an interrupted earlier attempt goes first.
    (void)postgres_.Stop(data_dir, std::chrono::seconds(10));
    if (auto status = DestroyStorage(record.StorageName()); !status.ok()) {
      return Fail(id, "cannot clean up earlier attempt: " + status.error().message);
    }
    if (!record.storage_name.empty()) {
      record.storage_name.clear();
      data_dir = pool_.ClonePath(id);
      std::lock_guard lock(mutex_);
      if (auto it = clones_.find(id); it != clones_.end()) it->second.storage_name.clear();
    }
    auto path = CreateStorage(record.clone.snapshot_id, id);
    if (!path.ok()) return Fail(id, "cannot create clone storage: " + path.error().message);
  }
  auto storage_done = std::chrono::steady_clock::now();
  if (auto status = StartServer(record); !status.ok()) {
    (void)postgres_.Stop(data_dir, std::chrono::seconds(10));
    return Fail(id, "postgres did not start: " + status.error().message);
  }
  auto server_ready = std::chrono::steady_clock::now();
  // After a restart too: the role's commit may not have reached the disk before the server died.
  if (auto status = SetUpRole(record); !status.ok()) {
    (void)postgres_.Stop(data_dir, std::chrono::seconds(10));
    return Fail(id,
                "cannot set up user " + record.clone.db.username + ": " + status.error().message);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return;
    it->second.clone.status = CloneStatus::kOk;
    it->second.clone.status_message = "Clone is ready to accept Postgres connections.";
    if (!restart_only) it->second.clone.cloning_time_seconds = seconds;
    it->second.clone.last_activity_at = Now();
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  auto ms = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  spdlog::info(
      "clone {}: ready on port {} in {:.3f} s (storage {} ms, postgres start {} ms, "
      "user {} ms)",
      id, record.clone.db.port, seconds, ms(storage_done - started),
      ms(server_ready - storage_done), ms(std::chrono::steady_clock::now() - server_ready));
  if (!restart_only) Notify("clone_create", record.clone, true, seconds);
}

void CloneManager::DoReset(const std::string& id, const std::string& snapshot_id) {
  auto started = std::chrono::steady_clock::now();
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) {
      spdlog::warn("clone {}: gone before its worker ran; nothing to do", id);
      return;
    }
    record = it->second;
  }
  std::string data_dir = pool_.ClonePath(record.StorageName());
  // The clone's data is thrown away: an immediate stop is safe and faster than a fast one.
  if (auto status = postgres_.Stop(data_dir, std::chrono::milliseconds(0)); !status.ok()) {
    return Fail(id, "cannot stop clone for reset: " + status.error().message);
  }
  // The old files move aside and are deleted once the clone is back: deleting a large
  // subvolume is not on the path the developer waits for.
  std::string trash = "trash-" + GenerateId(12);
  if (auto status = pool_.RenameClone(record.StorageName(), trash); !status.ok()) {
    if (status.error().code != ErrorCode::kNotFound) {
      return Fail(id, "cannot move old clone data aside: " + status.error().message);
    }
    trash.clear();
  }
  auto remove_trash = [&] {
    if (trash.empty()) return;
    if (auto status = pool_.DestroyClone(trash); !status.ok()) {
      spdlog::error("clone {}: cannot remove old data {}: {}", id, trash, status.error().message);
    }
  };
  // The new storage is named like the clone (a warm pool clone's first reset ends its name).
  std::string old_storage = record.StorageName();
  record.clone.snapshot_id = snapshot_id;
  record.storage_name.clear();
  {
    std::lock_guard lock(mutex_);
    if (auto it = clones_.find(id); it != clones_.end()) {
      it->second.clone.snapshot_id = snapshot_id;
      it->second.storage_name.clear();
    }
  }
  SaveCurrent(record.clone.id);
  if (old_storage != id) WaitReleased(id);  // a warm clone's first reset takes the id's name
  auto path = CreateStorage(snapshot_id, id);
  if (old_storage != id) (void)wal_.Remove(old_storage);  // a warm clone's first reset
  if (!path.ok()) {
    remove_trash();
    return Fail(id, "cannot create clone storage: " + path.error().message);
  }
  if (auto status = StartServer(record); !status.ok()) {
    remove_trash();
    return Fail(id, "postgres did not start after reset: " + status.error().message);
  }
  if (auto status = SetUpRole(record); !status.ok()) {
    remove_trash();
    return Fail(id, "cannot set up user after reset: " + status.error().message);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) {
      spdlog::warn("clone {}: destroyed during its reset", id);
      return;
    }
    auto& clone = it->second.clone;
    clone.status = CloneStatus::kOk;
    clone.status_message = "Clone is ready to accept Postgres connections.";
    clone.last_activity_at = Now();
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  spdlog::info("clone {}: reset to {} in {:.3f} s", id, snapshot_id, seconds);
  Notify("clone_reset", record.clone, true, seconds);
  remove_trash();
}

void CloneManager::DoDestroy(const std::string& id) {
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return;
    record = it->second;
  }
  auto started = std::chrono::steady_clock::now();
  std::string data_dir = pool_.ClonePath(record.StorageName());
  if (auto status = postgres_.Stop(data_dir, std::chrono::milliseconds(0)); !status.ok()) {
    return Fail(id, "cannot stop clone: " + status.error().message);
  }
  auto stopped = std::chrono::steady_clock::now();
  RemoveServerLink(record.clone.db.port, record.StorageName());
  cgroups_.Remove("port-" + std::to_string(record.clone.db.port));
  unlink((options_.log_dir + "/" + id + ".log").c_str());
  // The clone is gone for its user once its server is stopped and its record deleted: freeing
  // its space takes longer the more it holds (on btrfs even a rename waits for the transaction
  // that drops an earlier subvolume), so it happens after. Should the engine die first, its
  // storage has no record and the next start removes it as an orphan.
  std::string storage = record.StorageName();
  {
    std::lock_guard persist(persist_mutex_);
    if (auto status = state_.DeleteClone(id); !status.ok()) {
      spdlog::error("clone {}: {}", id, status.error().message);
      return;
    }
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it != clones_.end()) {
      reserved_ports_.erase(it->second.clone.db.port);
      clones_.erase(it);
    }
    releasing_.insert(storage);
  }
  auto ms = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  spdlog::info("clone {}: destroyed in {} ms (server stop {} ms)", id,
               ms(std::chrono::steady_clock::now() - started), ms(stopped - started));
  Notify("clone_delete", record.clone, true, 0);
  auto freeing = std::chrono::steady_clock::now();
  if (auto status = DestroyStorage(storage);
      !status.ok() && status.error().code != ErrorCode::kNotFound) {
    spdlog::error("clone {}: cannot remove its data {}: {}", id, storage, status.error().message);
  } else {
    spdlog::debug("clone {}: data removed in {} ms", id,
                  ms(std::chrono::steady_clock::now() - freeing));
  }
  std::lock_guard lock(mutex_);
  releasing_.erase(storage);
  released_.notify_all();
}

void CloneManager::WaitReleased(const std::string& name) {
  std::unique_lock lock(mutex_);
  released_.wait(lock, [&] { return releasing_.count(name) == 0; });
}

Status CloneManager::Reconcile() {
  DBLAB_ASSIGN_OR_RETURN(auto records, state_.ListClones());
  {
    std::lock_guard lock(mutex_);
    for (auto& record : records) {
      if (record.clone.db.port > 0) reserved_ports_.insert(record.clone.db.port);
      record.clone.db.host = options_.access_host;
      clones_[record.clone.id] = record;
    }
  }
  // Orphans: clone storage that no record owns (e.g. the engine died between creating the
  // storage and writing the record is impossible by ordering, but a deleted record's files are
  // not). Stop any server on them, then remove them.
  DBLAB_ASSIGN_OR_RETURN(auto on_disk, pool_.ListClones());
  for (const auto& name : on_disk) {
    bool known = std::any_of(records.begin(), records.end(), [&](const CloneRecord& record) {
      return record.StorageName() == name;
    });
    if (known) continue;
    spdlog::warn("removing orphan clone storage {}", name);
    (void)postgres_.Stop(pool_.ClonePath(name), std::chrono::milliseconds(0));
    if (auto status = DestroyStorage(name); !status.ok()) {
      spdlog::error("cannot remove orphan clone {}: {}", name, status.error().message);
    }
  }
  {
    std::vector<std::string> keep;
    for (const auto& record : records) keep.push_back(record.StorageName());
    wal_.RemoveOrphans(keep);
  }
  for (const auto& record : records) {
    const std::string& id = record.clone.id;
    std::string data_dir = pool_.ClonePath(record.StorageName());
    bool has_storage =
        std::find(on_disk.begin(), on_disk.end(), record.StorageName()) != on_disk.end();
    switch (record.clone.status) {
      case CloneStatus::kDeleting:
        spdlog::info("clone {}: finishing interrupted destroy", id);
        RunAsync(id, [this, id] { DoDestroy(id); });
        break;
      case CloneStatus::kCreating:
        spdlog::info("clone {}: redoing interrupted create", id);
        RunAsync(id, [this, id] { DoCreate(id, false); });
        break;
      case CloneStatus::kResetting: {
        spdlog::info("clone {}: redoing interrupted reset", id);
        std::string snapshot = record.clone.snapshot_id;
        RunAsync(id, [this, id, snapshot] { DoReset(id, snapshot); });
        break;
      }
      case CloneStatus::kOk:
      case CloneStatus::kWarning:
        if (postgres_.Pid(data_dir)) {
          spdlog::info("clone {}: adopted running server on port {}", id, record.clone.db.port);
        } else if (has_storage) {
          spdlog::warn("clone {}: server was not running; restarting it", id);
          {
            std::lock_guard lock(mutex_);
            clones_[id].clone.status = CloneStatus::kCreating;
            clones_[id].clone.status_message = "Restarting clone server";
          }
          RunAsync(id, [this, id] { DoCreate(id, true); });
        } else {
          Fail(id, "clone data is missing from the pool; destroy this clone");
        }
        break;
      case CloneStatus::kFatal:
        break;
    }
  }
  return OkStatus();
}

std::optional<CloneManager::WarmClone> CloneManager::TakeWarm(const std::string& snapshot_id) {
  for (auto it = warm_.begin(); it != warm_.end(); ++it) {
    if (it->snapshot_id == snapshot_id) {
      WarmClone warm = *it;
      warm_.erase(it);
      last_warm_take_ = std::chrono::steady_clock::now();
      warm_wake_.notify_all();
      return warm;
    }
  }
  return std::nullopt;
}

Result<Clone> CloneManager::AssignWarm(CloneRecord record, WarmClone warm,
                                       std::chrono::steady_clock::time_point request_started) {
  auto started = std::chrono::steady_clock::now();
  const std::string& id = record.clone.id;
  // The server keeps its storage and its name (record.storage_name): renaming a subvolume
  // under a running server makes its next commit pay for a full filesystem transaction, and a
  // ZFS dataset cannot be renamed while mounted. Only the log file takes the clone's name.
  rename((options_.log_dir + "/" + warm.name + ".log").c_str(),
         (options_.log_dir + "/" + id + ".log").c_str());
  auto renamed_at = std::chrono::steady_clock::now();
  auto role_status = SetUpRole(record, warm.admin.get());
  // The engine's session ends a moment later, not now: a backend's exit costs as much CPU as
  // the user's first connection, which comes next (kWarmRefillDelay).
  CloseSessionLater(std::move(warm.admin));
  auto role_done = std::chrono::steady_clock::now();
  if (!role_status.ok()) {
    (void)postgres_.Stop(pool_.ClonePath(record.StorageName()), std::chrono::seconds(10));
    Fail(id, "cannot set up user " + record.clone.db.username + ": " + role_status.error().message);
    return Get(id);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started).count();
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return NotFound("clone " + id + " was destroyed while being created");
    auto& clone = it->second.clone;
    clone.status = CloneStatus::kOk;
    clone.status_message = "Clone is ready to accept Postgres connections.";
    clone.cloning_time_seconds = seconds;
    clone.last_activity_at = Now();
    record = it->second;
  }
  SaveCurrent(record.clone.id);
  auto ms = [](auto duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
  };
  spdlog::info(
      "clone {}: ready on port {} in {:.1f} ms from the request (warm pool; request "
      "checks {:.1f} ms, log {:.1f} ms, user {:.1f} ms, state {:.1f} ms)",
      id, record.clone.db.port, ms(std::chrono::steady_clock::now() - request_started),
      ms(started - request_started), ms(renamed_at - started), ms(role_done - renamed_at),
      ms(std::chrono::steady_clock::now() - role_done));
  Notify("clone_create", record.clone, true, seconds);
  return record.clone;
}

// Long enough for a user's first connection to a clone just taken; short enough that a pool of
// two or more does not run dry under a test suite creating clones one after another.
// (The wait ends early on a notify; the loop then checks again.)
constexpr auto kWarmRefillDelay = std::chrono::milliseconds(300);

void CloneManager::CloseSessionLater(std::shared_ptr<SqlSession> session) {
  if (!session) return;
  {
    std::lock_guard lock(mutex_);
    closing_sessions_.emplace_back(std::chrono::steady_clock::now() + kWarmRefillDelay,
                                   std::move(session));
  }
  warm_wake_.notify_all();  // the loop learns when to close it
}

void CloneManager::DestroyWarm(const WarmClone& warm) {
  (void)postgres_.Stop(pool_.ClonePath(warm.name), std::chrono::milliseconds(0));
  if (warm.port > 0) RemoveServerLink(warm.port, warm.name);
  if (auto status = DestroyStorage(warm.name); !status.ok()) {
    spdlog::error("warm pool: cannot remove {}: {}", warm.name, status.error().message);
  }
  unlink((options_.log_dir + "/" + warm.name + ".log").c_str());
  std::lock_guard lock(mutex_);
  if (warm.port > 0) reserved_ports_.erase(warm.port);
}

void CloneManager::StartWarmPool() {
  warm_thread_ = std::thread([this] {
    if (!RunCatchingExceptions("warm pool", [this] { WarmLoop(); })) {
      spdlog::error("warm pool: stopped; clones are created cold until the engine restarts");
    }
  });
}

void CloneManager::SnapshotsChanged() { warm_wake_.notify_all(); }

int CloneManager::WarmReady() {
  std::lock_guard lock(mutex_);
  return static_cast<int>(warm_.size());
}

void CloneManager::StopWarmPool() {
  {
    std::lock_guard lock(mutex_);
    warm_stopping_ = true;
  }
  warm_wake_.notify_all();
  if (warm_thread_.joinable()) warm_thread_.join();
  std::vector<WarmClone> remaining;
  decltype(closing_sessions_) sessions;
  {
    std::lock_guard lock(mutex_);
    remaining.swap(warm_);
    sessions.swap(closing_sessions_);
  }
  sessions.clear();
  for (const auto& warm : remaining) DestroyWarm(warm);
}

void CloneManager::WarmLoop() {
  while (true) {
    std::string latest = LatestSnapshotId();
    std::vector<WarmClone> stale;
    std::vector<std::shared_ptr<SqlSession>> to_close;  // closed when this iteration ends
    bool need_more = false;
    WarmClone next;
    {
      std::unique_lock lock(mutex_);
      if (warm_stopping_) return;
      auto now = std::chrono::steady_clock::now();
      auto next_close = now + std::chrono::seconds(5);
      std::erase_if(closing_sessions_, [&](auto& entry) {
        if (entry.first > now) {
          next_close = std::min(next_close, entry.first);
          return false;
        }
        to_close.push_back(std::move(entry.second));
        return true;
      });
      for (auto it = warm_.begin(); it != warm_.end();) {
        if (it->snapshot_id != latest) {
          stale.push_back(*it);
          it = warm_.erase(it);
        } else {
          ++it;
        }
      }
      need_more = !latest.empty() && warm_.size() < static_cast<size_t>(options_.warm_pool_size);
      // Refilling is background work: while the pool still has a server to hand out, it
      // yields to creates, resets and destroys in flight and to a clone just taken.
      auto quiet_until = last_warm_take_ + kWarmRefillDelay;
      if (need_more && !warm_.empty() && (now < quiet_until || running_ops_ > 0)) {
        warm_wake_.wait_until(lock, std::max(quiet_until, now + std::chrono::milliseconds(100)));
        continue;
      }
      if (need_more) {
        auto port = AllocatePort();
        if (port.ok()) {
          next = WarmClone{"warm-" + GenerateId(12), latest, *port};
          reserved_ports_.insert(*port);
        } else {
          need_more = false;
        }
      }
      if (!need_more && stale.empty()) {
        warm_wake_.wait_until(lock, next_close);
        continue;
      }
    }
    for (const auto& warm : stale) DestroyWarm(warm);
    if (!need_more) continue;
    CloneRecord record;
    record.clone.id = next.name;
    record.clone.db.port = next.port;
    auto path = CreateStorage(latest, next.name);
    Status started = path.ok() ? StartServer(record) : Status(path.error());
    if (!started.ok()) {
      spdlog::error("warm pool: {}", started.error().message);
      DestroyWarm(next);
      std::unique_lock lock(mutex_);
      warm_wake_.wait_for(lock, std::chrono::seconds(10), [this] { return warm_stopping_; });
      continue;
    }
    // Connecting builds the default database's relation cache files now, not on the user's
    // first query; the connection stays open so that taking the clone needs no new backend.
    auto admin = sql_.Connect(AdminConninfo(ServerSocketDir(options_.socket_dir, next.port),
                                            next.port, options_.superuser, options_.default_db_name,
                                            {{"application_name", "dblab-engine"}}));
    if (admin.ok()) {
      next.admin = std::shared_ptr<SqlSession>(std::move(*admin));
      // Rehearse the role setup: it loads the role catalogs into this session and makes the
      // first durable commit of the clone, which pays for copying the WAL and catalog blocks
      // shared with the snapshot, so the user's create commits quicker.
      (void)next.admin->Exec("CREATE ROLE dblab_warm_up NOLOGIN; DROP ROLE dblab_warm_up");
    }
    std::lock_guard lock(mutex_);
    warm_.push_back(next);
  }
}

void CloneManager::Housekeep(TimePoint now) {
  std::vector<CloneRecord> snapshot;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, record] : clones_) snapshot.push_back(record);
  }
  for (auto& record : snapshot) {
    Clone& clone = record.clone;
    if (ProtectionExpired(Protection::Of(clone), now)) {
      spdlog::info("clone {}: protection expired", clone.id);
      UpdateCloneRequest unprotect;
      unprotect.is_protected = false;
      (void)Update(clone.id, unprotect);
      clone.is_protected = false;
    }
    if (clone.status != CloneStatus::kOk) continue;
    if (!postgres_.Pid(pool_.ClonePath(record.StorageName()))) {
      Revive(record);
      continue;
    }
    // What the clone has written since its snapshot (a tree walk: here, never on a request).
    if (auto diff = pool_.CloneOwnBytes(record.StorageName()); diff.ok()) {
      std::lock_guard lock(mutex_);
      if (auto it = clones_.find(clone.id); it != clones_.end()) it->second.clone.diff_size = *diff;
    }
    if (options_.max_idle_minutes <= 0) continue;
    IdleCheck check = idle_detector_.Check(clone, now);
    bool idle = check.idle;
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      auto it = clones_.find(clone.id);
      if (it == clones_.end()) continue;
      if (check.activity && it->second.clone.last_activity_at != *check.activity) {
        it->second.clone.last_activity_at = *check.activity;
        record = it->second;
        changed = true;
      }
      if (it->second.clone.is_protected) idle = false;
    }
    if (changed) SaveCurrent(record.clone.id);
    if (idle) {
      spdlog::info("clone {}: idle for more than {} minutes; destroying", clone.id,
                   options_.max_idle_minutes);
      (void)Destroy(clone.id);
    }
  }
}

void CloneManager::GuardWal() {
  if (!wal_.enabled()) return;
  std::vector<WalHolder> holders;
  std::map<std::string, std::string> storage;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, record] : clones_) {
      if (record.clone.status != CloneStatus::kOk || snapshotting_.count(id) != 0) continue;
      storage[id] = record.StorageName();
    }
  }
  for (const auto& [id, name] : storage) holders.push_back({id, wal_.Bytes(name)});
  WalGuardLimits limits;
  limits.max_per_clone = options_.wal_max_bytes;
  if (auto space = wal_.FilesystemSpace(); space.ok()) {
    limits.fs_size = space->first;
    limits.fs_free = space->second;
  }
  for (const auto& stop : DecideWalStops(holders, limits)) {
    {
      std::lock_guard lock(mutex_);
      auto it = clones_.find(stop.clone_id);
      // Only a clone still running as measured: a reset or destroy since then frees it anyway.
      if (it == clones_.end() || it->second.clone.status != CloneStatus::kOk ||
          it->second.StorageName() != storage[stop.clone_id] || reviving_.count(stop.clone_id)) {
        continue;
      }
      reviving_.insert(stop.clone_id);  // busy: a reset or destroy waits for the stop
    }
    // FATAL first, so the liveness check does not restart the server stopped next.
    Fail(stop.clone_id, "stopped: " + stop.reason + "; reset or destroy the clone");
    Status stopped =
        postgres_.Stop(pool_.ClonePath(storage[stop.clone_id]), std::chrono::milliseconds(0));
    if (!stopped.ok()) {
      spdlog::error("clone {}: cannot stop its server: {}", stop.clone_id, stopped.error().message);
    }
    std::lock_guard lock(mutex_);
    reviving_.erase(stop.clone_id);
  }
}

void CloneManager::Revive(const CloneRecord& seen) {
  const std::string& id = seen.clone.id;
  CloneRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = clones_.find(id);
    if (it == clones_.end() || it->second.clone.status != CloneStatus::kOk ||
        snapshotting_.count(id) || reviving_.count(id)) {
      return;  // something else is changing it
    }
    reviving_.insert(id);
    record = it->second;
  }
  // Checked again under the busy mark: a stop by a reset or destroy would have changed the status.
  if (postgres_.Pid(pool_.ClonePath(record.StorageName()))) {
    std::lock_guard lock(mutex_);
    reviving_.erase(id);
    return;
  }
  Fail(id, "its postgres server is not running (it died or was killed); restarting it");
  Status started = StartServer(record);
  if (started.ok()) {
    // Its role may have been committed without the WAL reaching the disk (SetUpRole).
    if (Status role = SetUpRole(record); !role.ok()) {
      started = role.error().Wrap("restarted, but its user cannot be set up");
    }
  }
  {
    std::lock_guard lock(mutex_);
    reviving_.erase(id);
    auto it = clones_.find(id);
    if (it == clones_.end()) return;
    if (started.ok()) {
      it->second.clone.status = CloneStatus::kOk;
      it->second.clone.status_message = "restarted at " +
                                        FormatRfc3339(std::chrono::system_clock::now()) +
                                        " after its server had stopped";
    } else {
      it->second.clone.status_message =
          "its postgres server died and could not be restarted: " + started.error().message;
    }
  }
  if (started.ok()) {
    spdlog::warn("clone {}: its server had stopped; restarted", id);
  } else {
    spdlog::error("clone {}: restart after its server died failed: {}", id,
                  started.error().message);
  }
  SaveCurrent(id);
}

}  // namespace dblab
