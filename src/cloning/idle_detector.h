// Idle clones (cloning.maxIdleMinutes): a clone is idle when, for that long, no client session
// was at work, none started, and its server logged no connection by a user other than the
// engine. When the engine cannot tell (no connection to the clone, no answer), the clone is
// not idle: a clone is never destroyed on doubt.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ios>
#include <map>
#include <optional>
#include <string>

#include "domain/model.h"
#include "postgres/pq.h"

namespace dblab {

// What pg_stat_activity says of a clone's client sessions (the engine's own left out).
struct SessionActivity {
  int64_t busy = 0;          // sessions not idle: running a statement or inside a transaction
  TimePoint newest_start{};  // start of the newest session; the epoch when there is none
};

// The query for SessionActivity, and its answer read; nullopt when the answer is not one row of
// two integers.
extern const char kSessionActivityQuery[];
std::optional<SessionActivity> ParseSessionActivity(const PgRows& rows);

struct IdleCheck {
  bool idle = false;
  // The clone's last activity as the check saw it: `now` when it found activity, else the last
  // activity known before; empty when it could not tell.
  std::optional<TimePoint> activity;
};

// The rule, on activity already read. Activity since `last_activity` (a busy session, a session
// started after it, or `logged_connection()`, asked last and only when the sessions show none)
// makes `now` the last activity; otherwise the clone is idle once `max_idle` has passed since
// `last_activity`.
IdleCheck DecideIdle(const SessionActivity& sessions, TimePoint last_activity,
                     const std::function<bool()>& logged_connection, TimePoint now,
                     std::chrono::minutes max_idle);

// Checks clones through the engine's SQL sessions and the clones' server logs
// (<log_dir>/<clone id>.log, written with log_connections=on). It remembers how far it has read
// each log, so a connection counts once, even one that came and went between two checks.
// Not thread-safe: one caller (the housekeeping thread).
class IdleDetector {
 public:
  // `socket_root` and `superuser` reach a clone's server as the engine; connections logged for
  // `superuser` are the engine's own and do not count.
  IdleDetector(SqlConnector& sql, std::string socket_root, std::string superuser,
               std::string log_dir, int64_t max_idle_minutes);

  IdleCheck Check(const Clone& clone, TimePoint now);

  // True when the clone's log has a connection by a user other than the engine since the last
  // call for this clone. A log shorter than where reading stopped was replaced (a reset): it is
  // read from its start. No log: false.
  bool NewUserConnections(const std::string& clone_id);

 private:
  SqlConnector& sql_;
  std::string socket_root_;
  std::string superuser_;
  std::string log_dir_;
  std::chrono::minutes max_idle_;
  std::map<std::string, std::streamoff> log_offsets_;
};

}  // namespace dblab
