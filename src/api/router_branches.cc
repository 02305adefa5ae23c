// DLE 4's branch and snapshot routes: GET /branches, POST /branch, PATCH and DELETE
// /branch/{name}, GET /branch/{name}/log, POST /branch/snapshot, GET /branch/snapshot/{id},
// GET /snapshots[?branch=], GET, PATCH and DELETE /snapshot/{id}, POST /snapshot/clone.
// Shapes follow DLE's Go models (pkg/models: BranchView, SnapshotDetails, Snapshot).
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "api/router.h"
#include "api/router_ops.h"
#include "branching/history.h"
#include "common/time.h"

namespace dblab {
namespace {

// DLE sends a branch's and a commit's dataStateAt in its ZFS property format.
std::string CompactTime(TimePoint time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &utc);
  return text;
}

ApiResponse Reply(int status, const Json& json) {
  return ApiResponse{status, "application/json", json.dump(), ""};
}

Json BranchToJson(const Branch& branch, const std::vector<Snapshot>& snapshots) {
  const Snapshot* head = FindSnapshotById(snapshots, branch.head_snapshot_id);
  Json json{{"name", branch.name},
            {"parent", branch.parent.empty() ? "-" : branch.parent},
            {"dataStateAt", head ? CompactTime(head->data_state_at) : ""},
            {"snapshotID", branch.head_snapshot_id},
            {"dataset", head ? head->pool : ""},
            {"numSnapshots", BranchLog(snapshots, branch.head_snapshot_id).size()},
            {"protected", branch.is_protected}};
  if (branch.protected_till) json["protectedTill"] = FormatRfc3339(*branch.protected_till);
  if (branch.delete_at) json["deleteAt"] = FormatRfc3339(*branch.delete_at);
  return json;
}

Json SnapshotDetailsToJson(const Snapshot& snapshot, const std::vector<Snapshot>& snapshots,
                           const std::vector<Branch>& branches) {
  Json child = Json::array(), heads = Json::array(), roots = Json::array();
  for (const auto& other : snapshots) {
    if (other.parent_id == snapshot.id) child.push_back(other.id);
  }
  for (const auto& branch : branches) {
    if (branch.head_snapshot_id == snapshot.id) heads.push_back(branch.name);
    if (branch.base_snapshot_id == snapshot.id) roots.push_back(branch.name);
  }
  return Json{{"id", snapshot.id},
              {"parent", snapshot.parent_id.empty() ? "-" : snapshot.parent_id},
              {"child", child},
              {"branch", heads},
              {"root", roots},
              {"dataStateAt", CompactTime(snapshot.data_state_at)},
              {"message", snapshot.message},
              {"dataset", snapshot.pool},
              {"clones", snapshot.clones}};
}

// {"cloneID": "...", "message": "..."}, the body of POST /branch/snapshot and /snapshot/clone.
Result<std::pair<std::string, std::string>> ParseCommitRequest(const std::string& body) {
  Json json = Json::parse(body, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (key != "cloneID" && key != "message") {
      return BadRequest("unknown field \"" + key + "\"; expected cloneID, message");
    }
  }
  if (!json.contains("cloneID") || !json["cloneID"].is_string() ||
      !IsValidCloneId(json["cloneID"].get<std::string>())) {
    return BadRequest("cloneID is required: the id of the clone to snapshot");
  }
  if (json.contains("message") && !json["message"].is_string()) {
    return BadRequest("message must be a string");
  }
  return std::pair{json["cloneID"].get<std::string>(), json.value("message", std::string())};
}

Result<CreateBranchRequest> ParseCreateBranchRequest(const std::string& body) {
  Json json = Json::parse(body, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object");
  CreateBranchRequest request;
  for (const auto& [key, value] : json.items()) {
    std::string* field = key == "branchName"   ? &request.name
                         : key == "baseBranch" ? &request.base_branch
                         : key == "snapshotID" ? &request.snapshot_id
                                               : nullptr;
    if (field == nullptr) {
      return BadRequest("unknown field \"" + key +
                        "\"; expected branchName, baseBranch, snapshotID");
    }
    if (!value.is_string()) return BadRequest("field \"" + key + "\" must be a string");
    *field = value.get<std::string>();
  }
  if (request.name.empty()) return BadRequest("branchName is required: the new branch's name");
  if (auto invalid = ValidateBranchName(request.name); !invalid.ok()) return invalid.error();
  if (!request.base_branch.empty() && !IsValidBranchName(request.base_branch)) {
    return BadRequest("baseBranch: " + ValidateBranchName(request.base_branch).error().message);
  }
  return request;
}

}  // namespace

std::optional<ApiResponse> Router::HandleBranchApi(
    const ApiRequest& request, const std::vector<std::string_view>& segments) const {
  size_t count = segments.size();
  auto first = count > 0 ? segments[0] : std::string_view();
  std::string_view route, allow, raw;
  if (count == 1 && first == "branches") {
    route = "branches", allow = "GET";
  } else if (count == 1 && first == "branch") {
    route = "branch", allow = "POST";
  } else if (count == 1 && first == "snapshots") {
    route = "snapshots", allow = "GET";
  } else if (count == 2 && first == "branch" && segments[1] == "snapshot") {
    route = "branch/snapshot", allow = "POST";
  } else if (count == 3 && first == "branch" && segments[1] == "snapshot") {
    route = "branch/snapshot/{id}", allow = "GET", raw = segments[2];
  } else if (count == 2 && first == "branch") {
    route = "branch/{name}", allow = "PATCH, DELETE", raw = segments[1];
  } else if (count == 3 && first == "branch" && segments[2] == "log") {
    route = "branch/{name}/log", allow = "GET", raw = segments[1];
  } else if (count == 2 && first == "snapshot" && segments[1] == "clone") {
    route = "snapshot/clone", allow = "POST";
  } else if (count == 2 && first == "snapshot") {
    route = "snapshot/{id}", allow = "GET, PATCH, DELETE", raw = segments[1];
  } else {
    return std::nullopt;
  }
  const std::string& method = request.method;
  if (!MethodAllowed(allow, method)) {
    ApiResponse response = Reply(
        405,
        Json{{"code", "METHOD_NOT_ALLOWED"},
             {"message", fmt::format("/{} does not accept {}; use {}", route, method, allow)}});
    response.allow = std::string(allow);
    return response;
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ErrorResponse(Error{ErrorCode::kTooLarge,
                               fmt::format("request body over {} bytes", options_.max_body_bytes)});
  }
  std::string id;
  if (!raw.empty()) {
    auto decoded = PercentDecode(raw);
    bool is_branch = route.starts_with("branch/{name}");
    if (!decoded || (is_branch ? !IsValidBranchName(*decoded) : !IsValidSnapshotId(*decoded))) {
      return ErrorResponse(is_branch ? ValidateBranchName(decoded.value_or("")).error()
                                     : BadRequest("invalid snapshot id: it must look like "
                                                  "<pool>@<name>, e.g. dblab_pool@snapshot_1"));
    }
    id = std::move(*decoded);
  }

  if (route == "branches") {
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    Json json = Json::array();
    for (const auto& branch : engine_.ListBranches()) {
      json.push_back(BranchToJson(branch, snapshots));
    }
    return Reply(200, json);
  }
  if (route == "branch") {
    auto parsed = ParseCreateBranchRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto branch = engine_.CreateBranch(*parsed);
    if (!branch) return ErrorResponse(branch.error());
    return Reply(200, Json{{"name", branch->name}});
  }
  if (route == "snapshots") {
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    auto filter = QueryParam(request.target, "branch");
    const Branch* branch = nullptr;
    std::vector<Branch> branches;
    if (filter && !filter->empty()) {
      branches = engine_.ListBranches();
      branch = FindBranch(branches, *filter);
      if (branch == nullptr) {
        return ErrorResponse(NotFound("branch \"" + *filter + "\" not found; see dblab branch"));
      }
    }
    Json json = Json::array();
    for (const auto& snapshot : snapshots) {
      if (branch && snapshot.branch != branch->name && snapshot.id != branch->head_snapshot_id) {
        continue;
      }
      json.push_back(SnapshotToJson(snapshot));
    }
    return Reply(200, json);
  }
  if (route == "branch/snapshot" || route == "snapshot/clone") {
    auto parsed = ParseCommitRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto snapshot = engine_.CommitClone(parsed->first, parsed->second);
    if (!snapshot) return ErrorResponse(snapshot.error());
    if (route == "snapshot/clone") return Reply(200, SnapshotToJson(*snapshot));
    return Reply(200, Json{{"snapshotID", snapshot->id}});
  }
  if (route == "branch/snapshot/{id}") {
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    const Snapshot* snapshot = FindSnapshotById(snapshots, id);
    if (snapshot == nullptr) {
      return ErrorResponse(NotFound("snapshot " + id + " not found; see dblab snapshot list"));
    }
    return Reply(200, SnapshotDetailsToJson(*snapshot, snapshots, engine_.ListBranches()));
  }
  if (route == "branch/{name}/log") {
    std::vector<Branch> branches = engine_.ListBranches();
    const Branch* branch = FindBranch(branches, id);
    if (branch == nullptr) {
      return ErrorResponse(NotFound("branch \"" + id + "\" not found; see dblab branch"));
    }
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    Json json = Json::array();
    for (const auto& snapshot : BranchLog(snapshots, branch->head_snapshot_id)) {
      json.push_back(SnapshotDetailsToJson(snapshot, snapshots, branches));
    }
    return Reply(200, json);
  }
  if (route == "branch/{name}") {
    if (method == "DELETE") {
      Status deleted = engine_.DeleteBranch(id);
      if (!deleted) return ErrorResponse(deleted.error());
      return Reply(200, Json{{"status", "OK"}, {"message", "Deleted branch"}});
    }
    auto parsed = ParseUpdateProtectionRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto branch = engine_.UpdateBranch(id, *parsed);
    if (!branch) return ErrorResponse(branch.error());
    return Reply(200, BranchToJson(*branch, engine_.ListSnapshots()));
  }
  // route == "snapshot/{id}"
  if (method == "GET") {
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    const Snapshot* snapshot = FindSnapshotById(snapshots, id);
    if (snapshot == nullptr) {
      return ErrorResponse(NotFound("snapshot " + id + " not found; see dblab snapshot list"));
    }
    return Reply(200, SnapshotToJson(*snapshot));
  }
  if (method == "PATCH") {
    auto parsed = ParseUpdateProtectionRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto snapshot = engine_.UpdateSnapshot(id, *parsed);
    if (!snapshot) return ErrorResponse(snapshot.error());
    return Reply(200, SnapshotToJson(*snapshot));
  }
  if (QueryParam(request.target, "force").value_or("") == "true") {
    return ErrorResponse(
        BadRequest("force=true is not supported: destroy the clones of snapshot " + id + " first"));
  }
  Status status = engine_.DeleteSnapshot(id);
  if (!status) return ErrorResponse(status.error());
  return Reply(200, Json{{"status", "OK"}, {"message", "Deleted snapshot " + id}});
}

}  // namespace dblab
