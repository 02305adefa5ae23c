#include "cloning/protection.h"

#include <chrono>
#include <string>

namespace dblab {

Result<Protection> DecideProtection(const Protection& current, std::optional<bool> is_protected,
                                    std::optional<int64_t> duration_minutes,
                                    const ProtectionPolicy& policy, TimePoint now) {
  if (duration_minutes && *duration_minutes < 0) {
    return BadRequest("protectionDurationMinutes must be >= 0");
  }
  bool protect = is_protected.has_value()       ? *is_protected
                 : duration_minutes.has_value() ? true
                                                : current.is_protected;
  if (!protect) return Protection{};
  int64_t minutes = duration_minutes.value_or(policy.lease_minutes);
  if (policy.max_minutes > 0 && (minutes == 0 || minutes > policy.max_minutes)) {
    if (duration_minutes && *duration_minutes > policy.max_minutes) {
      return BadRequest("protectionDurationMinutes " + std::to_string(*duration_minutes) +
                        " exceeds the maximum of " + std::to_string(policy.max_minutes) +
                        " (cloning.protectionMaxDurationMinutes)");
    }
    minutes = policy.max_minutes;
  }
  Protection decided;
  decided.is_protected = true;
  if (minutes != 0) decided.till = now + std::chrono::minutes(minutes);
  return decided;
}

Result<Protection> ProtectionOnCreate(const CreateCloneRequest& request,
                                      const ProtectionPolicy& policy, TimePoint now) {
  return DecideProtection(Protection{}, request.is_protected, request.protection_duration_minutes,
                          policy, now);
}

Result<Protection> ProtectionOnUpdate(const Protection& current, const UpdateCloneRequest& request,
                                      const ProtectionPolicy& policy, TimePoint now) {
  return DecideProtection(current, request.is_protected, request.protection_duration_minutes,
                          policy, now);
}

bool ProtectionExpired(const Protection& protection, TimePoint now) {
  return protection.is_protected && protection.till && *protection.till <= now;
}

}  // namespace dblab
