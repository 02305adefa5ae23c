// Clone protection (DLE's `protected` and `protectionDurationMinutes`): a protected clone is
// never destroyed, by a user or for being idle, until its protection ends. These are the rules
// alone, pure functions of the request, the configured lease and maximum, and the time;
// CloneManager applies them and lifts expired protection in its housekeeping.
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.h"
#include "domain/model.h"

namespace dblab {

struct ProtectionPolicy {
  // cloning.protectionLeaseDurationMinutes: how long `protected` without a duration holds.
  int64_t lease_minutes = 1440;
  // cloning.protectionMaxDurationMinutes: the longest protection; 0 = no maximum (then a
  // duration of 0 is forever).
  int64_t max_minutes = 10080;
};

struct Protection {
  bool is_protected = false;
  std::optional<TimePoint> till;  // empty + protected = forever

  static Protection Of(const Clone& clone) { return {clone.is_protected, clone.protected_till}; }
  void ApplyTo(Clone& clone) const {
    clone.is_protected = is_protected;
    clone.protected_till = till;
  }
};

// What a request makes of `current` at `now`:
// - `protected` given: on or off as it says; not given: a duration turns it on, and without a
//   duration the clone stays as it is (a protected clone's lease then starts again at `now`);
// - protected with no duration: the lease; a duration of 0 (forever) or over the maximum is
//   the maximum, except that an explicit duration over it is kBadRequest naming the maximum;
// - a negative duration is kBadRequest, even in a request that turns protection off.
Result<Protection> DecideProtection(const Protection& current, std::optional<bool> is_protected,
                                    std::optional<int64_t> duration_minutes,
                                    const ProtectionPolicy& policy, TimePoint now);

// A new clone starts unprotected; the request's fields then apply as in DecideProtection.
Result<Protection> ProtectionOnCreate(const CreateCloneRequest& request,
                                      const ProtectionPolicy& policy, TimePoint now);
// A clone's update (PATCH): DecideProtection from the clone's current protection.
Result<Protection> ProtectionOnUpdate(const Protection& current, const UpdateCloneRequest& request,
                                      const ProtectionPolicy& policy, TimePoint now);

// True when a protection with an end has reached it at `now` (forever never expires).
bool ProtectionExpired(const Protection& protection, TimePoint now);

}  // namespace dblab
