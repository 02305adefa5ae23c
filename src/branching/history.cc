#include "branching/history.h"

#include <algorithm>
#include <set>

namespace dblab {

namespace {
constexpr size_t kMaxBranchNameLength = 64;
}  // namespace

bool IsValidBranchName(std::string_view name) {
  if (name.empty() || name.size() > kMaxBranchNameLength || name == "snapshot") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Status ValidateBranchName(std::string_view name) {
  if (IsValidBranchName(name)) return OkStatus();
  return BadRequest("invalid branch name \"" + std::string(name.substr(0, 80)) +
                    "\": use letters, digits, '_' and '-' (at most 64 characters; not "
                    "\"snapshot\")");
}

const Branch* FindBranch(const std::vector<Branch>& branches, std::string_view name) {
  for (const auto& branch : branches) {
    if (branch.name == name) return &branch;
  }
  return nullptr;
}

const Snapshot* FindSnapshotById(const std::vector<Snapshot>& snapshots, std::string_view id) {
  for (const auto& snapshot : snapshots) {
    if (snapshot.id == id) return &snapshot;
  }
  return nullptr;
}

std::vector<Snapshot> BranchLog(const std::vector<Snapshot>& snapshots, const std::string& head) {
  std::vector<Snapshot> log;
  std::set<std::string> seen;
  const Snapshot* current = FindSnapshotById(snapshots, head);
  while (current != nullptr && seen.insert(current->id).second) {
    log.push_back(*current);
    current =
        current->parent_id.empty() ? nullptr : FindSnapshotById(snapshots, current->parent_id);
  }
  return log;
}

namespace {
std::set<std::string> IdsInOtherLogs(const std::vector<Snapshot>& snapshots,
                                     const std::vector<Branch>& branches,
                                     const std::string& branch) {
  std::set<std::string> ids;
  for (const auto& other : branches) {
    if (other.name == branch) continue;
    for (const auto& snapshot : BranchLog(snapshots, other.head_snapshot_id)) {
      ids.insert(snapshot.id);
    }
  }
  return ids;
}
}  // namespace

std::vector<std::string> SnapshotsOwnedBy(const std::vector<Snapshot>& snapshots,
                                          const std::vector<Branch>& branches,
                                          const std::string& branch) {
  std::set<std::string> shared = IdsInOtherLogs(snapshots, branches, branch);
  std::vector<std::string> owned;
  for (const auto& snapshot : snapshots) {
    if (snapshot.branch == branch && !shared.count(snapshot.id)) owned.push_back(snapshot.id);
  }
  return owned;
}

std::vector<std::string> BranchesForkedOff(const std::vector<Snapshot>& snapshots,
                                           const std::vector<Branch>& branches,
                                           const std::string& branch) {
  std::vector<std::string> forked;
  for (const auto& other : branches) {
    if (other.name == branch) continue;
    for (const auto& snapshot : BranchLog(snapshots, other.head_snapshot_id)) {
      if (snapshot.branch == branch) {
        forked.push_back(other.name);
        break;
      }
    }
  }
  return forked;
}

bool ProtectionHolds(bool is_protected, const std::optional<TimePoint>& till, TimePoint now) {
  return is_protected && (!till || *till > now);
}

Status ApplyProtection(bool& is_protected, std::optional<TimePoint>& till,
                       const UpdateProtectionRequest& request, TimePoint now, int64_t max_minutes) {
  const auto& duration = request.protection_duration_minutes;
  if (duration && *duration < 0) return BadRequest("protectionDurationMinutes must be >= 0");
  bool protect = request.is_protected.value_or(duration.has_value() ? true : is_protected);
  if (!protect) {
    if (duration) {
      return BadRequest(
          "protectionDurationMinutes needs \"protected\": true (or no \"protected\")");
    }
    is_protected = false;
    till.reset();
    return OkStatus();
  }
  int64_t minutes = duration.value_or(0);
  if (max_minutes > 0 && minutes > max_minutes) {
    return BadRequest("protectionDurationMinutes " + std::to_string(minutes) +
                      " exceeds the maximum of " + std::to_string(max_minutes) +
                      " (cloning.protectionMaxDurationMinutes)");
  }
  if (max_minutes > 0 && minutes == 0) minutes = max_minutes;
  is_protected = true;
  if (minutes == 0) {
    till.reset();
  } else {
    till = now + std::chrono::minutes(minutes);
  }
  return OkStatus();
}

}  // namespace dblab
