// Clone lifecycle: create, reset, destroy, protect, idle cleanup, and reconciliation at start.
// Public methods are thread-safe and return quickly; create/reset/destroy continue on a worker
// thread and move the clone CREATING -> OK|FATAL, RESETTING -> OK|FATAL, DELETING -> gone.
// Every state change is written to the StateStore before and after the work, so a crash at any
// point leaves a record that Reconcile() can finish or roll back. The rules it applies live beside
// it: port_allocator.h (a new clone's port), protection.h, idle_detector.h (idle clones).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cloning/clone_wal.h"
#include "cloning/idle_detector.h"
#include "cloning/port_allocator.h"
#include "cloning/protection.h"
#include "common/result.h"
#include "domain/model.h"
#include "domain/ops_types.h"
#include "platform/cgroup.h"
#include "postgres/pq.h"
#include "postgres/server.h"
#include "state/state_store.h"
#include "storage/backend.h"

namespace dblab {

struct CloningOptions {
  std::string os_user = "postgres";
  std::string superuser = "postgres";  // management role inside the data (initdb -U)
  std::string default_db_name = "postgres";
  int port_from = 6000;
  int port_to = 6099;
  std::string listen_addresses = "127.0.0.1";  // provision.cloneAccessAddresses
  std::string access_host = "127.0.0.1";       // cloning.accessHost, shown to users
  std::string socket_dir;                      // postgres-owned 0700 directory
  std::string hba_file;
  std::string log_dir;  // one <clone>.log per clone
  // Servers are started with `-D <server_link_dir>/<port>`, a symlink to the clone's directory:
  // postgres keeps that path for its control file, so the clone's directory can be renamed
  // under a running server (the warm pool) by pointing the link elsewhere. Root-owned, 0711.
  std::string server_link_dir;
  std::string pg_bin_dir;  // empty: /usr/lib/postgresql/<major>/bin from the data
  std::map<std::string, std::string> settings;  // -c settings for every clone
  int64_t max_idle_minutes = 0;
  int64_t protection_lease_minutes = 1440;
  int64_t protection_max_minutes = 10080;
  int min_password_strength = 0;
  // Clone servers kept started on the latest snapshot, without a user: a create takes one, adds
  // the role and answers at once (provision.warmPool).
  int warm_pool_size = 0;
  // Memory and CPU limits of every clone server (a cgroup per server; none when empty).
  ResourceLimits limits;
  // Where clones keep their WAL, outside the pool (cloning/clone_wal.h); "" = inside.
  std::string wal_dir;
  // A running clone whose WAL directory holds more is stopped (GuardWal); 0 = no limit.
  int64_t wal_max_bytes = int64_t{8} << 30;
  uid_t os_uid = 0;  // owner of the WAL directories: the OS user postgres runs as
  gid_t os_gid = 0;
  // Called on the worker thread when a create, reset or destroy ends (ok or not): webhooks and
  // metrics. Must return quickly (queue the work); empty: nobody listens.
  std::function<void(const CloneEvent&)> on_clone_event;
  // Seams for tests: the wall clock (created_at, protection) and whether a port can be bound
  // (empty: the system clock, and a bind probe on listen_addresses).
  std::function<TimePoint()> now;
  std::function<bool(int port)> port_is_free;
};

class CloneManager {
 public:
  // `servers` starts and stops the clones' servers, `sql` opens the engine's sessions on them.
  CloneManager(CloningOptions options, PoolBackend& pool, ServerControl& servers, StateStore& state,
               SqlConnector& sql);
  ~CloneManager();  // waits for running operations

  // Loads the state store and makes it true again: adopts running clones, restarts dead ones,
  // finishes half-done operations, removes orphan clones (files and servers) of this pool.
  Status Reconcile();

  Result<Clone> Create(const CreateCloneRequest& request);
  Result<Clone> Reset(const std::string& id, const ResetCloneRequest& request);
  Status Destroy(const std::string& id);
  Result<Clone> Update(const std::string& id, const UpdateCloneRequest& request);
  Result<Clone> Get(const std::string& id);
  std::vector<Clone> List();

  // Stops the clones whose WAL outside the pool grows too large, or the largest one when the
  // filesystem holding it runs low (DecideWalStops in clone_wal.h): FATAL, with the reason, until
  // reset or destroyed. Cheap (a few stat calls per clone); the engine calls it every 5 s.
  void GuardWal();

  // Periodic housekeeping: expired protection, dead servers (restarted), idle clones. Called by
  // the engine's timer.
  void Housekeep(TimePoint now);

  // Waits until no operation runs (tests, shutdown).
  void WaitIdle();

  // Latest snapshot id: main's head, or "" when there is none (from the state store).
  std::string LatestSnapshotId();
  // The head snapshot of `branch`, or "" when there is no such branch.
  std::string BranchHead(const std::string& branch);
  // After a commit: the clone stands on the new snapshot (its data is that snapshot's), so a
  // plain reset returns to it and the snapshot lists the clone. kNotFound for an unknown clone.
  Status MoveToSnapshot(const std::string& id, const std::string& snapshot_id);

  // The warm pool: started after Reconcile, refilled in the background, rebuilt when the latest
  // snapshot changes (call SnapshotsChanged), emptied (servers stopped, storage removed) by
  // StopWarmPool. Its thread also ends the engine's sessions CloseSessionLater hands over, so
  // it runs even when warm_pool_size is 0.
  void StartWarmPool();
  void SnapshotsChanged();
  void StopWarmPool();
  int WarmReady();  // warm clones ready to be handed out

  // Makes the pool snapshot `name` of the clone's current data (DLE's POST /branch/snapshot).
  // The clone's user has no password in it (other developers' clones come from it). On btrfs
  // the clone keeps running (a CHECKPOINT, then an atomic snapshot); elsewhere its server is
  // stopped cleanly and started again, which ends its sessions. kConflict unless the clone is
  // OK; resets and destroys of it wait (kConflict) meanwhile.
  Status SnapshotClone(const std::string& id, const std::string& name);

 private:
  Result<Snapshot> FindSnapshot(const std::string& id);
  Result<int> AllocatePort();  // mutex_ held
  void Save(const CloneRecord& record);
  void SaveCurrent(const std::string& id);  // persists clones_[id] as it is now
  void RunAsync(const std::string& id, std::function<void()> work);

  // Worker bodies.
  void DoCreate(const std::string& id, bool restart_only);
  void DoReset(const std::string& id, const std::string& snapshot_id);
  void DoDestroy(const std::string& id);
  Status StartServer(const CloneRecord& record);
  // Points <server_link_dir>/<port> at the clone's directory (atomically replaced).
  Status PointServerLink(int port, const std::string& clone_name);
  void RemoveServerLink(int port, const std::string& clone_name);
  // Creates or updates the clone's role in one round trip. `admin`, when given, is an open
  // superuser connection to the clone's default database (the warm pool keeps one); otherwise
  // the engine connects, and its session ends later (CloseSessionLater), not during the user's
  // first login.
  Status SetUpRole(const CloneRecord& record, SqlSession* admin = nullptr);
  void Fail(const std::string& id, const std::string& message);
  void Notify(const char* type, const Clone& clone, bool ok, double seconds);
  std::string SnapshotDirName(const std::string& snapshot_id) const;
  ServerSpec SpecFor(const CloneRecord& record, const std::string& bin_dir) const;
  // A clone whose server died (killed, crashed, OOM outside its cgroup): shown FATAL, started
  // again, and OK with a message saying so. Resets and destroys wait (kConflict) meanwhile.
  void Revive(const CloneRecord& record);

  CloningOptions options_;
  PoolBackend& pool_;
  ServerControl& postgres_;
  SqlConnector& sql_;
  TimePoint Now() const { return options_.now ? options_.now() : std::chrono::system_clock::now(); }
  StateStore& state_;
  PortAllocator ports_;  // the pool range; reserved_ports_ says which ports clones hold
  ProtectionPolicy protection_policy_;
  IdleDetector idle_detector_;  // housekeeping thread only

  std::mutex persist_mutex_;  // taken before mutex_, never inside it
  std::mutex mutex_;
  std::condition_variable idle_;
  std::map<std::string, CloneRecord> clones_;
  std::set<int> reserved_ports_;
  int running_ops_ = 0;
  std::set<std::string> snapshotting_;  // clones being snapshotted (SnapshotClone)
  std::set<std::string> reviving_;      // clones whose dead server is being restarted
  // Storage of destroyed clones still being deleted: gone from the API, the name not yet free.
  std::set<std::string> releasing_;
  std::condition_variable released_;
  // Waits until a destroyed clone's storage called `name` is deleted (a new clone of that id).
  void WaitReleased(const std::string& name);
  Cgroups cgroups_;
  CloneWal wal_;
  // The pool's CreateClone/DestroyClone plus the clone's WAL outside the pool.
  Result<std::string> CreateStorage(const std::string& snapshot_id, const std::string& name);
  Status DestroyStorage(const std::string& name);
  // A snapshot `name` of the running clone in `storage` whose WAL is outside the pool: the data
  // is caught at one instant, then a temporary copy of it gets the WAL written up to now (which
  // covers every page caught: WAL goes to disk before the data it describes), and that copy
  // becomes the snapshot. The server keeps running.
  Status SnapshotRunningCloneWithWalOutside(const std::string& storage, const std::string& name);
  // kConflict when the clone is being snapshotted or `busy_status` (mutex_ held).
  std::optional<Error> BusyConflict(const std::string& id, const Clone& clone,
                                    bool busy_status) const;

  struct WarmClone {
    std::string name;  // storage name, "warm-<random>"
    std::string snapshot_id;
    int port = 0;
    // Kept open from the warm-up on: the role is made on it without a new backend.
    std::shared_ptr<SqlSession> admin;
  };
  void WarmLoop();
  void DestroyWarm(const WarmClone& warm);
  std::optional<WarmClone> TakeWarm(const std::string& snapshot_id);  // mutex_ held
  Result<Clone> AssignWarm(CloneRecord record, WarmClone warm,
                           std::chrono::steady_clock::time_point request_started);
  std::vector<WarmClone> warm_;
  bool warm_stopping_ = false;
  std::condition_variable warm_wake_;
  // When a warm clone was last taken: the refill waits a moment after it so that starting the
  // next server does not compete for CPU with the user's first connection to the taken one.
  std::chrono::steady_clock::time_point last_warm_take_{};
  // The engine's sessions on clones just handed to a user, closed by the warm loop once their
  // time has come: a backend's exit costs about as much CPU as the user's first login.
  void CloseSessionLater(std::shared_ptr<SqlSession> session);
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<SqlSession>>>
      closing_sessions_;
  std::thread warm_thread_;
};

}  // namespace dblab
