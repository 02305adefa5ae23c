// In-memory EngineService for tests of the API (and of anything else that needs an engine).
// Thread-safe: every method takes the mutex, so a real HttpServer can call it from its threads.
// Set the public state before handing the fake to a server, or under `mutex` afterwards.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/engine_service.h"

namespace dblab {

class FakeEngineService : public EngineService {
 public:
  std::mutex mutex;
  InstanceStatus status;            // clones are filled in from `clones` by GetStatus()
  std::vector<Snapshot> snapshots;  // the last one counts as the latest
  std::map<std::string, Clone> clones;
  std::optional<Error> fail_with;  // when set, every Result/Status call returns this error
  std::vector<std::string> calls;  // "CreateClone(x)", "DestroyClone(x)", ... in call order
  CreateCloneRequest last_create;
  ResetCloneRequest last_reset;
  UpdateCloneRequest last_update;

  InstanceStatus GetStatus() override {
    std::lock_guard lock(mutex);
    calls.push_back("GetStatus()");
    InstanceStatus result = status;
    result.clones.clear();
    for (const auto& [id, clone] : clones) result.clones.push_back(clone);
    return result;
  }

  CloningSettings GetCloningSettings() override {
    std::lock_guard lock(mutex);
    calls.push_back("GetCloningSettings()");
    return CloningSettings{status.max_idle_minutes, status.protection_lease_duration_minutes,
                           status.protection_max_duration_minutes};
  }

  std::vector<Snapshot> ListSnapshots() override {
    std::lock_guard lock(mutex);
    calls.push_back("ListSnapshots()");
    return snapshots;
  }

  std::vector<Clone> ListClones() override {
    std::lock_guard lock(mutex);
    calls.push_back("ListClones()");
    std::vector<Clone> result;
    for (const auto& [id, clone] : clones) result.push_back(clone);
    return result;
  }

  Result<Clone> GetClone(const std::string& id) override {
    std::lock_guard lock(mutex);
    calls.push_back("GetClone(" + id + ")");
    if (fail_with) return *fail_with;
    auto it = clones.find(id);
    if (it == clones.end()) return NotFound("clone " + id + " not found");
    return it->second;
  }

  std::function<void()> before_create;  // runs first in CreateClone, outside `mutex`

  Result<Clone> CreateClone(const CreateCloneRequest& request) override {
    if (before_create) before_create();
    std::lock_guard lock(mutex);
    calls.push_back("CreateClone(" + request.id + ")");
    last_create = request;
    if (fail_with) return *fail_with;
    std::string id = request.id.empty() ? "clone-" + std::to_string(clones.size() + 1) : request.id;
    if (clones.count(id)) return Conflict("clone " + id + " already exists");
    Clone clone;
    clone.id = id;
    clone.snapshot_id = !request.snapshot_id.empty() ? request.snapshot_id
                        : snapshots.empty()          ? ""
                                                     : snapshots.back().id;
    clone.branch = request.branch.empty() ? "main" : request.branch;
    clone.status = CloneStatus::kCreating;
    clone.is_protected = request.is_protected.value_or(false);
    clone.db.username = request.username;
    clone.db.db_name = request.db_name.empty() ? "postgres" : request.db_name;
    clone.db.restricted = request.restricted;
    clone.db.host = "127.0.0.1";
    clones[id] = clone;
    return clone;
  }

  Result<Clone> UpdateClone(const std::string& id, const UpdateCloneRequest& request) override {
    std::lock_guard lock(mutex);
    calls.push_back("UpdateClone(" + id + ")");
    last_update = request;
    if (fail_with) return *fail_with;
    auto it = clones.find(id);
    if (it == clones.end()) return NotFound("clone " + id + " not found");
    if (request.is_protected) it->second.is_protected = *request.is_protected;
    return it->second;
  }

  Result<Clone> ResetClone(const std::string& id, const ResetCloneRequest& request) override {
    std::lock_guard lock(mutex);
    calls.push_back("ResetClone(" + id + ")");
    last_reset = request;
    if (fail_with) return *fail_with;
    auto it = clones.find(id);
    if (it == clones.end()) return NotFound("clone " + id + " not found");
    if (!request.snapshot_id.empty()) it->second.snapshot_id = request.snapshot_id;
    if (request.latest && !snapshots.empty()) it->second.snapshot_id = snapshots.back().id;
    it->second.status = CloneStatus::kResetting;
    return it->second;
  }

  Status DestroyClone(const std::string& id) override {
    std::lock_guard lock(mutex);
    calls.push_back("DestroyClone(" + id + ")");
    if (fail_with) return *fail_with;
    auto it = clones.find(id);
    if (it == clones.end()) return NotFound("clone " + id + " not found");
    if (it->second.is_protected && it->second.status != CloneStatus::kFatal) {
      return Conflict("clone " + id + " is protected; unprotect it first");
    }
    it->second.status = CloneStatus::kDeleting;
    return OkStatus();
  }

  Result<Snapshot> CreateSnapshot() override {
    std::lock_guard lock(mutex);
    calls.push_back("CreateSnapshot()");
    if (fail_with) return *fail_with;
    Snapshot snapshot;
    snapshot.id = "dblab_pool@snapshot_" + std::to_string(snapshots.size() + 1);
    snapshot.pool = "dblab_pool";
    snapshots.push_back(snapshot);
    return snapshot;
  }

  Result<Snapshot> CreateSnapshotFromClone(const std::string& clone_id) override {
    std::lock_guard lock(mutex);
    calls.push_back("CreateSnapshotFromClone(" + clone_id + ")");
    if (fail_with) return *fail_with;
    if (!clones.count(clone_id)) return NotFound("clone " + clone_id + " not found");
    Snapshot snapshot;
    snapshot.id = "dblab_pool@snapshot_" + std::to_string(snapshots.size() + 1);
    snapshot.pool = "dblab_pool";
    snapshots.push_back(snapshot);
    return snapshot;
  }

  Status DeleteSnapshot(const std::string& id) override {
    std::lock_guard lock(mutex);
    calls.push_back("DeleteSnapshot(" + id + ")");
    if (fail_with) return *fail_with;
    auto it = std::find_if(snapshots.begin(), snapshots.end(),
                           [&](const Snapshot& s) { return s.id == id; });
    if (it == snapshots.end()) return NotFound("snapshot " + id + " not found");
    snapshots.erase(it);
    return OkStatus();
  }

  Status FullRefresh() override {
    std::lock_guard lock(mutex);
    calls.push_back("FullRefresh()");
    if (fail_with) return *fail_with;
    return OkStatus();
  }

  // --- branches: a plain list; the fake records calls and keeps heads, no storage.
  std::vector<Branch> branches;
  std::string last_commit_message;
  UpdateProtectionRequest last_protection;

  std::vector<Branch> ListBranches() override {
    std::lock_guard lock(mutex);
    calls.push_back("ListBranches()");
    return branches;
  }

  Result<Branch> CreateBranch(const CreateBranchRequest& request) override {
    std::lock_guard lock(mutex);
    calls.push_back("CreateBranch(" + request.name + ")");
    if (fail_with) return *fail_with;
    Branch branch;
    branch.name = request.name;
    branch.parent = request.base_branch.empty() ? "-" : request.base_branch;
    branch.head_snapshot_id = request.snapshot_id;
    for (const auto& base : branches) {
      if (base.name == request.base_branch) branch.head_snapshot_id = base.head_snapshot_id;
    }
    branch.base_snapshot_id = branch.head_snapshot_id;
    branches.push_back(branch);
    return branch;
  }

  Status DeleteBranch(const std::string& name) override {
    std::lock_guard lock(mutex);
    calls.push_back("DeleteBranch(" + name + ")");
    if (fail_with) return *fail_with;
    auto erased = std::erase_if(branches, [&](const Branch& b) { return b.name == name; });
    if (erased == 0) return NotFound("branch " + name + " not found");
    return OkStatus();
  }

  Result<Branch> UpdateBranch(const std::string& name,
                              const UpdateProtectionRequest& request) override {
    std::lock_guard lock(mutex);
    calls.push_back("UpdateBranch(" + name + ")");
    if (fail_with) return *fail_with;
    last_protection = request;
    for (auto& branch : branches) {
      if (branch.name != name) continue;
      if (request.is_protected) branch.is_protected = *request.is_protected;
      if (request.delete_at) branch.delete_at = request.delete_at;
      return branch;
    }
    return NotFound("branch " + name + " not found");
  }

  Result<Snapshot> CommitClone(const std::string& clone_id, const std::string& message) override {
    std::lock_guard lock(mutex);
    calls.push_back("CommitClone(" + clone_id + ")");
    if (fail_with) return *fail_with;
    auto clone = clones.find(clone_id);
    if (clone == clones.end()) return NotFound("clone " + clone_id + " not found");
    last_commit_message = message;
    Snapshot snapshot;
    snapshot.id = "dblab_pool@snapshot_" + std::to_string(snapshots.size() + 1);
    snapshot.pool = "dblab_pool";
    snapshot.branch = clone->second.branch.empty() ? "main" : clone->second.branch;
    snapshot.parent_id = clone->second.snapshot_id;
    snapshot.message = message;
    snapshots.push_back(snapshot);
    clone->second.snapshot_id = snapshot.id;
    for (auto& branch : branches) {
      if (branch.name == snapshot.branch) branch.head_snapshot_id = snapshot.id;
    }
    return snapshot;
  }

  Result<Snapshot> UpdateSnapshot(const std::string& id,
                                  const UpdateProtectionRequest& request) override {
    std::lock_guard lock(mutex);
    calls.push_back("UpdateSnapshot(" + id + ")");
    if (fail_with) return *fail_with;
    last_protection = request;
    for (auto& snapshot : snapshots) {
      if (snapshot.id != id) continue;
      if (request.is_protected) snapshot.is_protected = *request.is_protected;
      if (request.delete_at) snapshot.delete_at = request.delete_at;
      return snapshot;
    }
    return NotFound("snapshot " + id + " not found");
  }

  // True when any recorded call starts with `prefix`, e.g. "CreateClone(".
  bool Called(const std::string& prefix) {
    std::lock_guard lock(mutex);
    for (const auto& call : calls) {
      if (call.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
};

}  // namespace dblab
