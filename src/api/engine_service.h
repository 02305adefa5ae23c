// What the REST API needs from the engine. Implemented by engine/ (real) and by fakes in tests.
// All methods are thread-safe and return quickly: long work (create, reset, destroy) starts in
// the background and the returned Clone shows CREATING / RESETTING / DELETING.
#pragma once

#include <vector>

#include "common/result.h"
#include "domain/model.h"
#include "domain/ops_types.h"

namespace dblab {

class EngineService {
 public:
  virtual ~EngineService() = default;

  virtual InstanceStatus GetStatus() = 0;
  // Cheap (no storage or clone scan): for the metadata of each clone's JSON.
  virtual CloningSettings GetCloningSettings() = 0;
  virtual std::vector<Snapshot> ListSnapshots() = 0;
  virtual std::vector<Clone> ListClones() = 0;
  virtual Result<Clone> GetClone(const std::string& id) = 0;
  // Validates the request (kBadRequest), refuses duplicates (kConflict), then starts creation.
  virtual Result<Clone> CreateClone(const CreateCloneRequest& request) = 0;
  virtual Result<Clone> UpdateClone(const std::string& id, const UpdateCloneRequest& request) = 0;
  virtual Result<Clone> ResetClone(const std::string& id, const ResetCloneRequest& request) = 0;
  // kConflict when protected (unless FATAL); starts deletion.
  virtual Status DestroyClone(const std::string& id) = 0;
  // Starts a full refresh (retrieval) in the background; kConflict if one is running.
  virtual Status FullRefresh() = 0;
  // Takes a snapshot now and returns it once recorded (seconds: physical retrieval promotes and
  // prepares a copy of the replica). kBadRequest in logical mode (new data comes with a full
  // refresh), kConflict while a refresh or another snapshot runs.
  virtual Result<Snapshot> CreateSnapshot() = 0;
  // A snapshot of a clone's current data (DLE's POST /branch/snapshot); it becomes the latest.
  // kNotFound for an unknown clone, kConflict unless it is OK.
  virtual Result<Snapshot> CreateSnapshotFromClone(const std::string& clone_id) = 0;
  // Removes a snapshot. kNotFound if unknown; kConflict while clones use it.
  virtual Status DeleteSnapshot(const std::string& id) = 0;

  // --- DLE 4 branches (branching/). Snapshots from ListSnapshots carry their branch, parent,
  // message, protection and clones.
  virtual std::vector<Branch> ListBranches() = 0;
  // From the snapshot if given (the base branch then only names the parent), else from the base
  // branch's head. kBadRequest for an invalid name or neither base; kConflict if the name
  // exists; kNotFound for an unknown base.
  virtual Result<Branch> CreateBranch(const CreateBranchRequest& request) = 0;
  // Removes the branch and the snapshots only it holds. kNotFound if unknown; kBadRequest for
  // main, a protected branch, one that clones use, or one other branches forked off.
  virtual Status DeleteBranch(const std::string& name) = 0;
  virtual Result<Branch> UpdateBranch(const std::string& name,
                                      const UpdateProtectionRequest& request) = 0;
  // A commit (DLE's POST /branch/snapshot): a snapshot of the clone's data on the clone's branch,
  // with the message; its parent is the branch's head, which then moves to it, and the clone
  // now stands on it. Errors as CreateSnapshotFromClone.
  virtual Result<Snapshot> CommitClone(const std::string& clone_id, const std::string& message) = 0;
  // Protection of a snapshot (kNotFound if unknown). Protected snapshots are kept by retention
  // and refused by DeleteSnapshot.
  virtual Result<Snapshot> UpdateSnapshot(const std::string& id,
                                          const UpdateProtectionRequest& request) = 0;

  // --- Operating the instance (issue 14). A default means "not available here". ---
  // Sessions on the source and the restore target while a refresh runs; nullopt otherwise.
  virtual std::optional<RetrievalActivity> GetRetrievalActivity() { return std::nullopt; }
  // Prometheus text of what the engine counts itself (operation durations, retrievals,
  // webhooks); GET /metrics adds the gauges read from GetStatus() and the API's request counts.
  virtual std::string OperationMetricsText() { return ""; }

  // Observation of a migration in a clone (DLE's /observation/*). Start: kNotFound for an
  // unknown clone, kConflict when one runs on it already. Stop: finishes the clone's running
  // session and returns its result. Artifact: "summary", "log", "locks" as text.
  virtual Result<ObservationSession> StartObservation(const StartObservationRequest& request) {
    (void)request;
    return Unavailable("observation is not available in this engine");
  }
  virtual Result<ObservationSession> StopObservation(const std::string& clone_id,
                                                     bool overall_error) {
    (void)clone_id, (void)overall_error;
    return Unavailable("observation is not available in this engine");
  }
  virtual Result<ObservationSession> GetObservation(const std::string& clone_id,
                                                    uint64_t session_id) {
    (void)clone_id, (void)session_id;
    return Unavailable("observation is not available in this engine");
  }
  virtual Result<std::string> GetObservationArtifact(const std::string& clone_id,
                                                     uint64_t session_id, const std::string& type) {
    (void)clone_id, (void)session_id, (void)type;
    return Unavailable("observation is not available in this engine");
  }

  // Admin (DLE's /admin/*). Config documents are JSON or YAML text with every secret masked.
  // SetAdminConfig applies a projected config (JSON) where it is safe live, else kBadRequest
  // naming the key. TestDbSource connects once and forgets the password.
  virtual Result<std::string> GetAdminConfig() {
    return Unavailable("configuration via the API is not available in this engine");
  }
  virtual Result<std::string> GetAdminConfigYaml() {
    return Unavailable("configuration via the API is not available in this engine");
  }
  virtual Result<std::string> SetAdminConfig(const std::string& json) {
    (void)json;
    return Unavailable("configuration via the API is not available in this engine");
  }
  virtual Result<SourceProbe> TestDbSource(const DbSourceCandidate& candidate) {
    (void)candidate;
    return Unavailable("source tests are not available in this engine");
  }
};

}  // namespace dblab
