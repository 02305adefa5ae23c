#include "branching/history.h"

#include <algorithm>
#include <optional>
#include <set>

namespace dblab {

namespace {

constexpr size_t kMaxBranchNameCharacters = 64;

// Decodes one UTF-8 code point at `at` (advanced past it); nullopt for invalid UTF-8 (overlong
// forms, surrogates, beyond U+10FFFF, truncated sequences).
std::optional<char32_t> NextCodePoint(std::string_view text, size_t& at) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || at + length > text.size()) return std::nullopt;
  char32_t code = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return std::nullopt;
    code = (code << 6) | (byte(at + i) & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return std::nullopt;
  }
  at += length;
  return code;
}

// Outside ASCII a name may hold letters and digits of any script; what is refused is what can
// hide, break a line or a path, or look like a separator: C1 controls, spaces, zero-width and
// direction marks, line and paragraph separators, private use, noncharacters, and slash-like
// characters (U+2044, U+2215, U+29F8, U+FF0F, U+FF3C).
bool AllowedBeyondAscii(char32_t code) {
  if (code <= 0x9F) return false;
  if (code == 0xA0 || code == 0xAD || code == 0x1680 || code == 0x180E) return false;
  if (code >= 0x2000 && code <= 0x200F) return false;
  if (code >= 0x2028 && code <= 0x202F) return false;
  if (code >= 0x205F && code <= 0x206F) return false;
  if (code == 0x2044 || code == 0x2215 || code == 0x29F8) return false;
  if (code == 0x3000 || code == 0xFEFF || code == 0xFF0F || code == 0xFF3C) return false;
  if (code >= 0xFFF0 && code <= 0xFFFF) return false;  // specials, noncharacters
  if (code >= 0xE000 && code <= 0xF8FF) return false;  // private use
  if (code >= 0xFDD0 && code <= 0xFDEF) return false;  // noncharacters
  if ((code & 0xFFFE) == 0xFFFE) return false;         // U+nFFFE, U+nFFFF
  if (code >= 0xE0000) return false;                   // tags, variation selectors, private use
  return true;
}

bool AsciiWordCharacter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool IsValidBranchName(std::string_view name) {
  if (name.empty() || name == "snapshot") return false;
  size_t at = 0, characters = 0;
  while (at < name.size()) {
    auto code = NextCodePoint(name, at);
    if (!code) return false;
    bool allowed = *code < 0x80 ? AsciiWordCharacter(*code) || (*code == '-' && characters > 0)
                                : AllowedBeyondAscii(*code);
    if (!allowed || ++characters > kMaxBranchNameCharacters) return false;
  }
  return true;
}

Status ValidateBranchName(std::string_view name) {
  if (IsValidBranchName(name)) return OkStatus();
  // The name is not echoed: it may hold control characters or invalid UTF-8.
  return BadRequest(
      "invalid branch name: use 1 to 64 letters or digits (of any script), '_' and '-', not "
      "starting with '-'; no spaces, '/', '\\', '.', control, format or private-use characters, "
      "and not \"snapshot\"");
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
                       std::optional<TimePoint>& delete_at, const UpdateProtectionRequest& request,
                       TimePoint now, int64_t max_minutes) {
  const auto& duration = request.protection_duration_minutes;
  if (request.delete_at) {
    if (request.is_protected || duration) {
      return BadRequest(
          "give either \"deleteAt\" or \"protected\" (with \"protectionDurationMinutes\"), "
          "not both: a scheduled deletion clears the protection");
    }
    is_protected = false;
    till.reset();
    delete_at = request.delete_at;
    return OkStatus();
  }
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
  delete_at.reset();
  if (minutes == 0) {
    till.reset();
  } else {
    till = now + std::chrono::minutes(minutes);
  }
  return OkStatus();
}

}  // namespace dblab
