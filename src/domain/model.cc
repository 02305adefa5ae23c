#include "domain/model.h"

namespace dblab {

const char* CloneStatusName(CloneStatus status) {
  switch (status) {
    case CloneStatus::kCreating: return "CREATING";
    case CloneStatus::kOk: return "OK";
    case CloneStatus::kResetting: return "RESETTING";
    case CloneStatus::kDeleting: return "DELETING";
    case CloneStatus::kFatal: return "FATAL";
    case CloneStatus::kWarning: return "WARNING";
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

}  // namespace dblab
