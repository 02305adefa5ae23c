// DLE 4 branching as pure functions over the state store's snapshots and branches: a branch's
// log, the snapshots only a branch holds, names, and protection of snapshots and branches. No
// I/O; the engine and the API call these with lists they read once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "domain/model.h"

namespace dblab {

// DLE's rule (^[a-zA-Z0-9_][a-zA-Z0-9_-]*$), widened to letters and digits of any script: valid
// UTF-8, 1 to 64 characters, no '-' first, nothing that hides or separates (spaces, controls,
// zero-width and direction marks, '/', '\\', '.', slash look-alikes); "snapshot" is a route
// (/branch/snapshot), not a name. Names are compared byte for byte (no normalization).
bool IsValidBranchName(std::string_view name);
Status ValidateBranchName(std::string_view name);

const Branch* FindBranch(const std::vector<Branch>& branches, std::string_view name);
const Snapshot* FindSnapshotById(const std::vector<Snapshot>& snapshots, std::string_view id);

// The snapshots from `head` back to its root along parent ids, newest first. Stops at an
// unknown id and never loops.
std::vector<Snapshot> BranchLog(const std::vector<Snapshot>& snapshots, const std::string& head);

// The snapshots that go when `branch` is deleted: made on it and not in another branch's log.
std::vector<std::string> SnapshotsOwnedBy(const std::vector<Snapshot>& snapshots,
                                          const std::vector<Branch>& branches,
                                          const std::string& branch);

// The other branches whose log holds a snapshot made on `branch` (they forked off it).
std::vector<std::string> BranchesForkedOff(const std::vector<Snapshot>& snapshots,
                                           const std::vector<Branch>& branches,
                                           const std::string& branch);

// True while protection holds at `now` (protected, and forever or not yet expired).
bool ProtectionHolds(bool is_protected, const std::optional<TimePoint>& till, TimePoint now);

// DLE's UpdateSnapshot / UpdateBranch: `protected` toggles (a duration alone turns it on); a
// duration of 0 or none means forever, unless `max_minutes` > 0 caps it (a larger explicit
// duration is kBadRequest). Protecting clears a scheduled deletion; `deleteAt` schedules one
// and clears protection; both in one request are kBadRequest.
Status ApplyProtection(bool& is_protected, std::optional<TimePoint>& till,
                       std::optional<TimePoint>& delete_at, const UpdateProtectionRequest& request,
                       TimePoint now, int64_t max_minutes);

}  // namespace dblab
