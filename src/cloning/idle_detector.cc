#include "cloning/idle_detector.h"

#include <fstream>
#include <utility>

#include "common/numbers.h"
#include "postgres/server.h"

namespace dblab {

const char kSessionActivityQuery[] =
    "SELECT count(*) FILTER (WHERE state IS DISTINCT FROM 'idle'), "
    "COALESCE(EXTRACT(EPOCH FROM max(backend_start)) * 1000, 0)::bigint "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() AND application_name <> 'dblab-engine'";

std::optional<SessionActivity> ParseSessionActivity(const PgRows& rows) {
  if (rows.empty() || rows[0].size() != 2) return std::nullopt;
  std::optional<int64_t> busy = ParseInt64(rows[0][0]);
  std::optional<int64_t> newest_ms = busy ? ParseInt64(rows[0][1]) : std::nullopt;
  if (!busy || !newest_ms) return std::nullopt;
  return SessionActivity{*busy, TimePoint(std::chrono::milliseconds(*newest_ms))};
}

IdleCheck DecideIdle(const SessionActivity& sessions, TimePoint last_activity,
                     const std::function<bool()>& logged_connection, TimePoint now,
                     std::chrono::minutes max_idle) {
  if (sessions.busy > 0 || sessions.newest_start > last_activity || logged_connection()) {
    return {false, now};
  }
  return {now - last_activity >= max_idle, last_activity};
}

IdleDetector::IdleDetector(SqlConnector& sql, std::string socket_root, std::string superuser,
                           std::string log_dir, int64_t max_idle_minutes)
    : sql_(sql),
      socket_root_(std::move(socket_root)),
      superuser_(std::move(superuser)),
      log_dir_(std::move(log_dir)),
      max_idle_(max_idle_minutes) {}

IdleCheck IdleDetector::Check(const Clone& clone, TimePoint now) {
  auto conninfo =
      AdminConninfo(ServerSocketDir(socket_root_, clone.db.port), clone.db.port, superuser_,
                    "postgres", {{"application_name", "dblab-engine"}, {"connect_timeout", "5"}});
  auto connection = sql_.Connect(conninfo);
  if (!connection.ok()) return {};  // cannot tell: never delete on doubt
  // Activity: a non-idle session, or a session that started since we last looked.
  auto rows = (*connection)->Query(kSessionActivityQuery);
  if (!rows.ok()) return {};
  std::optional<SessionActivity> sessions = ParseSessionActivity(*rows);
  if (!sessions) return {};  // cannot tell: never delete on doubt
  TimePoint last = clone.last_activity_at.value_or(clone.created_at);
  return DecideIdle(
      *sessions, last, [&] { return NewUserConnections(clone.id); }, now, max_idle_);
}

bool IdleDetector::NewUserConnections(const std::string& clone_id) {
  // Clones log every connection (log_connections=on). A connection by anyone but the engine
  // since the last look is activity, even when it came and went between two checks.
  std::string path = log_dir_ + "/" + clone_id + ".log";
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff& offset = log_offsets_[clone_id];
  if (size < offset) offset = 0;  // the log was replaced (reset)
  in.seekg(offset);
  std::string line;
  bool found = false;
  const std::string marker = "connection authorized: user=";
  while (std::getline(in, line)) {
    auto at = line.find(marker);
    if (at == std::string::npos) continue;
    std::string user = line.substr(at + marker.size());
    user = user.substr(0, user.find(' '));
    if (user != superuser_) found = true;
  }
  offset = size;
  return found;
}

}  // namespace dblab
