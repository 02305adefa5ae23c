// The engine: wires the pool, the state store, clones and retrieval together, and serves them
// to the API through EngineService. Owns a retrieval thread and a housekeeping thread.
// Thread-safe. Clones keep running when the engine stops; Start() re-adopts them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "api/engine_service.h"
#include "cloning/clone_manager.h"
#include "config/config.h"
#include "ops/metrics.h"
#include "ops/observer.h"
#include "ops/webhooks.h"
#include "platform/posix_process.h"
#include "postgres/server.h"
#include "retrieval/physical_retrieval.h"
#include "scheduler/cron.h"
#include "state/state_store.h"
#include "storage/backend.h"

namespace dblab {

struct EngineOptions {
  std::chrono::seconds housekeeping_interval{60};
  // Called after a retrieval attempt ends (tests, the embedded default's hints).
  std::function<void(const Result<Snapshot>&)> on_retrieval_done;
  // The config file (it holds the token and the source's password): masked in every server's
  // sandbox even when it lies in a directory the sandbox shows (e.g. /etc).
  std::string config_path;
};

class Engine : public EngineService {
 public:
  // Mounts/prepares the pool, opens state, reconciles clones, and starts a retrieval in the
  // background when no snapshot exists yet. Errors name what failed and what to do.
  static Result<std::unique_ptr<Engine>> Start(EngineConfig config, EngineOptions options);
  ~Engine() override;  // stops background threads; clones keep running

  InstanceStatus GetStatus() override;
  CloningSettings GetCloningSettings() override;
  std::vector<Snapshot> ListSnapshots() override;
  std::vector<Clone> ListClones() override;
  Result<Clone> GetClone(const std::string& id) override;
  Result<Clone> CreateClone(const CreateCloneRequest& request) override;
  Result<Clone> UpdateClone(const std::string& id, const UpdateCloneRequest& request) override;
  Result<Clone> ResetClone(const std::string& id, const ResetCloneRequest& request) override;
  Status DestroyClone(const std::string& id) override;
  Status FullRefresh() override;
  Result<Snapshot> CreateSnapshot() override;
  Status DeleteSnapshot(const std::string& id) override;
  Result<Snapshot> CreateSnapshotFromClone(const std::string& clone_id) override;
  std::vector<Branch> ListBranches() override;
  Result<Branch> CreateBranch(const CreateBranchRequest& request) override;
  Status DeleteBranch(const std::string& name) override;
  Result<Branch> UpdateBranch(const std::string& name,
                              const UpdateProtectionRequest& request) override;
  Result<Snapshot> CommitClone(const std::string& clone_id, const std::string& message) override;
  Result<Snapshot> UpdateSnapshot(const std::string& id,
                                  const UpdateProtectionRequest& request) override;

  // Operations (engine_ops.cc).
  std::optional<RetrievalActivity> GetRetrievalActivity() override;
  std::string OperationMetricsText() override;
  Result<ObservationSession> StartObservation(const StartObservationRequest& request) override;
  Result<ObservationSession> StopObservation(const std::string& clone_id,
                                             bool overall_error) override;
  Result<ObservationSession> GetObservation(const std::string& clone_id,
                                            uint64_t session_id) override;
  Result<std::string> GetObservationArtifact(const std::string& clone_id, uint64_t session_id,
                                             const std::string& type) override;
  Result<std::string> GetAdminConfig() override;
  Result<std::string> GetAdminConfigYaml() override;
  Result<std::string> SetAdminConfig(const std::string& json) override;
  Result<SourceProbe> TestDbSource(const DbSourceCandidate& candidate) override;

  const EngineConfig& config() const { return config_; }

 private:
  Engine(EngineConfig config, EngineOptions options);
  Status Init();
  void RetrievalLoop();
  void HousekeepingLoop();
  // Deletes the branches and snapshots whose deleteAt has passed; one a clone still uses (or a
  // branch forks off) stays until a later round.
  void DeleteScheduled(TimePoint now);
  void MeasureSnapshots();  // exclusive bytes of each snapshot (tree walk)
  // Pool size/free/used, measured off the request path (on ZFS it forks `zfs get`): at start
  // and every few seconds by its own thread; GET /status reads the last measurement.
  void UsageLoop();
  void MeasureUsage();
  void SetRetrieval(const std::function<void(RetrievalState&)>& change);
  // One retrieval job (full refresh, or a physical snapshot) in the retrieval thread.
  Result<Snapshot> RunRetrieval(bool snapshot_only);
  RetrievalEnvironment RetrievalEnv();
  PhysicalRetrievalOptions PhysicalOptions();
  void ApplyRetention();    // physicalSnapshot retention.limit: oldest unused snapshots go
  void SuperviseReplica();  // starts the physical replica if it does not run; one alert

  // A clone operation ended (CloneManager's worker thread): metrics, webhooks. Quick.
  void OnCloneEvent(const CloneEvent& event);
  void StartOperations();  // webhooks and the observer; in Init, before clones are loaded
  void StopOperations();   // the end of the destructor, once clone work is idle

  EngineConfig config_;
  EngineOptions options_;
  OperationMetrics metrics_;  // thread-safe
  std::unique_ptr<WebhookTransport> webhook_transport_;
  std::unique_ptr<WebhookDispatcher> webhooks_;  // thread-safe; null until StartOperations
  std::unique_ptr<Observer> observer_;           // thread-safe; null until StartOperations
  // POST /admin/config's live changes (mutex_); config_ itself is read without a lock.
  std::optional<std::string> refresh_timetable_override_;
  std::optional<bool> debug_override_;
  bool schedule_changed_ = false;  // mutex_; the retrieval loop recomputes its wake-up time
  PosixProcessRunner runner_;
  std::unique_ptr<PostgresControl> postgres_;
  PgConnector sql_;  // the engine's management sessions (libpq)
  std::unique_ptr<PoolBackend> pool_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<CloneManager> clones_;
  std::string instance_id_;
  TimePoint started_at_;

  std::mutex mutex_;
  std::mutex snapshot_from_clone_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> cancel_retrieval_{false};
  bool refresh_requested_ = false;
  bool refresh_running_ = false;
  RetrievalState retrieval_;
  std::optional<CronSchedule> schedule_;  // retrieval.refresh.timetable
  // physicalSnapshot.options.scheduler.snapshot.timetable
  std::optional<CronSchedule> snapshot_schedule_;
  bool snapshot_requested_ = false;
  bool start_replica_ = false;  // physical: adopt or start the replica when the loop starts
  std::string replica_alert_;   // the alert SuperviseReplica last raised ("" = none)
  // mutex_: where the logical restore's target server listens while it runs (port 0: none).
  std::string restore_target_socket_dir_;
  int restore_target_port_ = 0;
  // POST /snapshot waits for its ticket: tickets up to snapshot_done_ have a result.
  uint64_t snapshot_tickets_ = 0;
  uint64_t snapshot_done_ = 0;
  std::optional<Result<Snapshot>> snapshot_result_;
  std::condition_variable snapshot_finished_;
  std::thread retrieval_thread_;
  std::thread housekeeping_thread_;
  std::thread usage_thread_;
  std::optional<PoolUsage> usage_;  // mutex_
  // Serializes changes of branches and snapshot protection (read-modify-write of the store).
  std::mutex branches_mutex_;
};

}  // namespace dblab
