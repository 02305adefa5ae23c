#include "domain/model.h"

namespace dblab {

const char* CloneStatusName(CloneStatus status) {
  switch (status) {
    case CloneStatus::kCreating:
      return "CREATING";
    case CloneStatus::kOk:
      return "OK";
    case CloneStatus::kResetting:
      return "RESETTING";
    case CloneStatus::kDeleting:
      return "DELETING";
    case CloneStatus::kFatal:
      return "FATAL";
    case CloneStatus::kWarning:
      return "WARNING";
  }
  return "FATAL";
}

std::optional<CloneStatus> ParseCloneStatus(const std::string& name) {
  for (auto status : {CloneStatus::kCreating, CloneStatus::kOk, CloneStatus::kResetting,
                      CloneStatus::kDeleting, CloneStatus::kFatal, CloneStatus::kWarning}) {
    if (name == CloneStatusName(status)) return status;
  }
  return std::nullopt;
}

std::string RetrievalAlertLevel(std::string_view type) {
  if (type == kAlertRefreshFailed || type == kAlertReplicaDown) return "error";
  if (type == kAlertRefreshSkipped) return "warning";
  return "unknown";
}

void RetrievalState::AddAlert(std::string_view type, std::string message, TimePoint now) {
  auto it = alerts.find(type);
  if (it == alerts.end()) {
    it = alerts.emplace(std::string(type), RetrievalAlert{RetrievalAlertLevel(type)}).first;
  }
  it->second.message = std::move(message);
  it->second.last_seen = now;
  ++it->second.count;
}

}  // namespace dblab
