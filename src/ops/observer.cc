#include "ops/observer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/time.h"

namespace dblab {
namespace {

using OJson = nlohmann::ordered_json;

constexpr size_t kMaxSessions = 100;
constexpr int64_t kMaxSeconds = int64_t{1} << 31;
constexpr std::streamoff kMaxLogArtifactBytes = 16 << 20;

// Granted locks of the modes that block readers or writers of a relation, with the holder's
// statement and how long its transaction has run (the lock is held at most that long).
constexpr const char* kLockQuery =
    "SELECT l.pid, l.mode, "
    "CASE WHEN l.database = (SELECT oid FROM pg_catalog.pg_database "
    "WHERE datname = pg_catalog.current_database()) THEN l.relation::pg_catalog.regclass::text "
    "ELSE l.relation::text END, "
    "pg_catalog.left(a.query, 2000), "
    "extract(epoch FROM pg_catalog.clock_timestamp() - coalesce(a.xact_start, "
    "a.query_start))::float8 "
    "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid() AND "
    "l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') "
    "AND a.backend_type = 'client backend'";

double ToDouble(const std::string& text) {
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return 0;
  }
}

double Seconds(std::chrono::system_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

OJson LockToJson(const ObservedLock& lock) {
  return OJson{{"pid", lock.pid},
               {"mode", lock.mode},
               {"relation", lock.relation},
               {"held_seconds", lock.held_seconds},
               {"statement", lock.statement},
               {"seen_at", FormatRfc3339(lock.seen_at)}};
}

Result<int64_t> PositiveSeconds(const OJson& config, const char* key, int64_t fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > kMaxSeconds) {
    return BadRequest(std::string("config.") + key + " must be a whole number of seconds");
  }
  int64_t value = it->get<int64_t>();
  return value == 0 ? fallback : value;  // DLE's CLI sends 0 for an unset flag
}

}  // namespace

struct Observer::Running {
  uint64_t session_id = 0;
  std::string clone_id;
  std::string db_name;
  ObservationConfig config;
  std::string log_path;
  std::streamoff log_start = 0;
  bool stop = false;  // Observer::mutex_
  std::condition_variable wake;
  std::thread thread;
  // Sampling results; written by the thread, read after it ends.
  std::map<std::string, ObservedLock> long_locks;  // by pid/mode/relation
  std::vector<ObservationInterval> intervals;
  std::vector<std::string> errors;
  int64_t db_size_bytes = 0;
};

Observer::Observer(Hooks hooks, std::chrono::milliseconds sample_period)
    : hooks_(std::move(hooks)),
      sample_period_(sample_period),
      next_session_id_(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())) {
  if (!hooks_.state_dir.empty()) Load();
}

Observer::~Observer() {
  std::map<std::string, std::shared_ptr<Running>> running;
  {
    std::lock_guard lock(mutex_);
    running.swap(running_);
    for (auto& [id, session] : running) session->stop = true;
  }
  for (auto& [id, session] : running) {
    session->wake.notify_all();
    if (session->thread.joinable()) session->thread.join();
  }
}

Result<ObservationSession> Observer::Start(const StartObservationRequest& request) {
  // Connect first: an unknown or broken clone is refused before a session exists.
  DBLAB_ASSIGN_OR_RETURN(PgConnection probe, hooks_.connect(request.clone_id, request.db_name));
  auto db = probe.Query("SELECT pg_catalog.current_database()");
  auto running = std::make_shared<Running>();
  running->clone_id = request.clone_id;
  running->db_name = db.ok() && !db->empty() ? (*db)[0][0] : request.db_name;
  running->config = request.config;
  running->log_path = hooks_.log_path ? hooks_.log_path(request.clone_id) : "";
  if (!running->log_path.empty()) {
    std::ifstream log(running->log_path, std::ios::binary | std::ios::ate);
    if (log) running->log_start = log.tellg();
  }
  ObservationSession session;
  {
    std::lock_guard lock(mutex_);
    if (running_.contains(request.clone_id)) {
      return Conflict("an observation session already runs on clone " + request.clone_id +
                      "; stop it first (dblab clone stop-observation " + request.clone_id + ")");
    }
    running->session_id = ++next_session_id_;
    session.session_id = running->session_id;
    session.clone_id = request.clone_id;
    session.db_name = running->db_name;
    session.started_at = std::chrono::system_clock::now();
    session.config = request.config;
    session.tags = request.tags;
    sessions_[session.session_id] = session;
    while (sessions_.size() > kMaxSessions) {
      auto oldest = sessions_.begin();
      if (running_.contains(oldest->second.clone_id) &&
          running_[oldest->second.clone_id]->session_id == oldest->first) {
        break;
      }
      log_parts_.erase(oldest->first);
      sessions_.erase(oldest);
    }
    running_[request.clone_id] = running;
    running->thread = std::thread([this, running] { Sample(running); });
  }
  spdlog::info("observation {}: started on clone {} (database {})", session.session_id,
               request.clone_id, session.db_name);
  return session;
}

void Observer::Sample(const std::shared_ptr<Running>& running) {
  const ObservationConfig& config = running->config;
  auto connection = hooks_.connect(running->clone_id, running->db_name);
  auto interval_start = std::chrono::system_clock::now();
  bool interval_warning = false;
  std::string interval_note;
  auto close_interval = [&](TimePoint now) {
    ObservationInterval interval;
    interval.started_at = interval_start;
    interval.duration_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now - interval_start).count();
    interval.warning = interval_warning ? interval_note : "";
    running->intervals.push_back(interval);
    interval_start = now;
    interval_warning = false;
    interval_note.clear();
  };
  auto period = std::min<std::chrono::milliseconds>(
      sample_period_, std::chrono::seconds(std::max<int64_t>(1, config.observation_interval)));
  while (true) {
    {
      std::unique_lock lock(mutex_);
      running->wake.wait_for(lock, period, [&] { return running->stop; });
      if (running->stop) break;
    }
    if (!connection.ok()) {
      connection = hooks_.connect(running->clone_id, running->db_name);
      if (!connection.ok()) {
        if (running->errors.empty() || running->errors.back() != connection.error().message) {
          running->errors.push_back("cannot sample locks: " + connection.error().message);
        }
        continue;
      }
    }
    auto rows = connection->Query(kLockQuery);
    auto now = std::chrono::system_clock::now();
    if (!rows.ok()) {
      running->errors.push_back("cannot sample locks: " + rows.error().message);
      connection = rows.error();
      continue;
    }
    for (const auto& row : *rows) {
      double held = ToDouble(row[4]);
      if (held <= static_cast<double>(config.max_lock_duration)) continue;
      ObservedLock observed{std::atoi(row[0].c_str()), row[1], row[2], row[3], held, now};
      std::string key = row[0] + "/" + row[1] + "/" + row[2];
      auto [it, inserted] = running->long_locks.try_emplace(key, observed);
      if (!inserted && held > it->second.held_seconds) it->second = observed;
      interval_warning = true;
      interval_note = observed.mode + " on " + observed.relation + " held " +
                      std::to_string(static_cast<int64_t>(held)) + " s by: " + observed.statement;
    }
    if (Seconds(now - interval_start) >= static_cast<double>(config.observation_interval)) {
      close_interval(now);
    }
  }
  close_interval(std::chrono::system_clock::now());
  if (connection.ok()) {
    auto size =
        connection->Query("SELECT pg_catalog.pg_database_size(pg_catalog.current_database())");
    if (size.ok() && !size->empty()) running->db_size_bytes = std::atoll((*size)[0][0].c_str());
  }
}

Result<ObservationSession> Observer::Stop(const std::string& clone_id, bool overall_error) {
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(clone_id);
    if (it == running_.end()) {
      return NotFound("no observation session runs on clone " + clone_id +
                      "; start one with dblab clone start-observation " + clone_id);
    }
    running = it->second;
    running_.erase(it);
    running->stop = true;
  }
  running->wake.notify_all();
  running->thread.join();

  std::lock_guard lock(mutex_);
  ObservationSession& session = sessions_[running->session_id];
  session.finished_at = std::chrono::system_clock::now();
  session.intervals = running->intervals;
  session.errors = running->errors;
  if (overall_error) session.errors.push_back("the observed job reported an error");
  session.db_size_bytes = running->db_size_bytes;
  for (const auto& [key, observed] : running->long_locks) session.long_locks.push_back(observed);
  std::sort(
      session.long_locks.begin(), session.long_locks.end(),
      [](const ObservedLock& a, const ObservedLock& b) { return a.held_seconds > b.held_seconds; });
  session.total_duration_seconds = Seconds(*session.finished_at - session.started_at);
  session.warning_intervals = static_cast<int>(
      std::count_if(session.intervals.begin(), session.intervals.end(),
                    [](const ObservationInterval& i) { return !i.warning.empty(); }));
  session.no_long_dangerous_locks = session.long_locks.empty();
  session.session_duration_acceptable =
      session.total_duration_seconds <= static_cast<double>(session.config.max_duration);
  session.overall_success =
      session.no_long_dangerous_locks && session.session_duration_acceptable && !overall_error;
  session.status = session.overall_success ? "passed" : "failed";
  session.artifacts = {"summary", "locks"};
  if (!running->log_path.empty()) session.artifacts.push_back("log");
  // The log part is cut now, while the offsets are known.
  if (!running->log_path.empty()) {
    std::ifstream log(running->log_path, std::ios::binary);
    std::string part;
    if (log) {
      log.seekg(0, std::ios::end);
      std::streamoff end = log.tellg();
      std::streamoff start = std::max(running->log_start, end - kMaxLogArtifactBytes);
      if (end > start) {
        part.resize(static_cast<size_t>(end - start));
        log.seekg(start);
        log.read(part.data(), end - start);
        part.resize(static_cast<size_t>(log.gcount()));
      }
    }
    log_parts_[session.session_id] = std::move(part);
  }
  Persist(session.session_id);
  spdlog::info("observation {}: clone {} {} ({} long dangerous locks, {:.1f} s)",
               session.session_id, clone_id, session.status, session.long_locks.size(),
               session.total_duration_seconds);
  return session;
}

Result<ObservationSession> Observer::Get(const std::string& clone_id, uint64_t session_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || it->second.clone_id != clone_id) {
    return NotFound("no observation session " + std::to_string(session_id) + " of clone " +
                    clone_id);
  }
  return it->second;
}

Result<std::string> Observer::Artifact(const std::string& clone_id, uint64_t session_id,
                                       const std::string& type) {
  DBLAB_ASSIGN_OR_RETURN(ObservationSession session, Get(clone_id, session_id));
  if (!session.finished_at) {
    return Conflict("observation session " + std::to_string(session_id) +
                    " still runs; stop it first");
  }
  if (type == "summary") return ObservationSummaryToJson(session);
  if (type == "locks") {
    OJson locks = OJson::array();
    for (const auto& observed : session.long_locks) locks.push_back(LockToJson(observed));
    return locks.dump(2);
  }
  if (type == "log") {
    std::lock_guard lock(mutex_);
    auto it = log_parts_.find(session_id);
    if (it != log_parts_.end()) return it->second;
    return NotFound("no log was kept for observation session " + std::to_string(session_id));
  }
  return BadRequest("unknown artifact_type \"" + type + "\"; use summary, locks or log");
}

namespace {

constexpr const char* kStateFile = "observations.json";

// Writes `content` to `path` through a temp file, fsync and rename.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot write " + temp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t written = ::write(fd, content.data() + done, content.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      std::string reason = std::strerror(errno);
      ::close(fd);
      return Internal("cannot write " + temp.string() + ": " + reason);
    }
    done += static_cast<size_t>(written);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  std::error_code error;
  if (synced) std::filesystem::rename(temp, path, error);
  if (!synced || error) {
    std::filesystem::remove(temp, error);
    return Internal("cannot write " + path.string());
  }
  return OkStatus();
}

}  // namespace

std::string StoredObservationJson(const ObservationSession& session) {
  OJson json = OJson::parse(ObservationSessionToJson(session));
  json["clone_id"] = session.clone_id;
  json["db_name"] = session.db_name;
  json["db_size_bytes"] = session.db_size_bytes;
  return json.dump();
}

std::optional<ObservationSession> ParseStoredObservation(const nlohmann::json& json) {
  try {
    ObservationSession session;
    session.session_id = json.at("session_id").get<uint64_t>();
    session.clone_id = json.at("clone_id").get<std::string>();
    session.db_name = json.value("db_name", "");
    session.db_size_bytes = json.value("db_size_bytes", int64_t{0});
    auto started = ParseRfc3339(json.at("started_at").get<std::string>());
    if (!started || !json.at("finished_at").is_string()) return std::nullopt;
    session.started_at = *started;
    session.finished_at = ParseRfc3339(json.at("finished_at").get<std::string>());
    if (!session.finished_at) return std::nullopt;
    const auto& config = json.at("config");
    session.config.observation_interval = config.at("observation_interval").get<int64_t>();
    session.config.max_lock_duration = config.at("max_lock_duration").get<int64_t>();
    session.config.max_duration = config.at("max_duration").get<int64_t>();
    session.tags = json.at("tags").get<std::map<std::string, std::string>>();
    session.artifacts = json.at("artifacts").get<std::vector<std::string>>();
    const auto& result = json.at("result");
    session.status = result.at("status").get<std::string>();
    for (const auto& item : result.at("intervals")) {
      ObservationInterval interval;
      interval.started_at = ParseRfc3339(item.at("started_at").get<std::string>()).value();
      interval.duration_seconds = item.at("duration").get<int64_t>();
      interval.warning = item.at("warning").get<std::string>();
      session.intervals.push_back(std::move(interval));
    }
    const auto& summary = result.at("summary");
    session.total_duration_seconds = summary.at("total_duration").get<double>();
    session.warning_intervals = summary.at("warning_intervals").get<int>();
    const auto& checklist = summary.at("checklist");
    session.overall_success = checklist.at("overall_success").get<bool>();
    session.session_duration_acceptable = checklist.at("session_duration_acceptable").get<bool>();
    session.no_long_dangerous_locks = checklist.at("no_long_dangerous_locks").get<bool>();
    for (const auto& item : result.at("long_locks")) {
      ObservedLock lock;
      lock.pid = item.at("pid").get<int>();
      lock.mode = item.at("mode").get<std::string>();
      lock.relation = item.at("relation").get<std::string>();
      lock.statement = item.at("statement").get<std::string>();
      lock.held_seconds = item.at("held_seconds").get<double>();
      lock.seen_at = ParseRfc3339(item.at("seen_at").get<std::string>()).value();
      session.long_locks.push_back(std::move(lock));
    }
    session.errors = result.at("errors").get<std::vector<std::string>>();
    return session;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Observer::Load() {
  std::filesystem::path dir = hooks_.state_dir;
  std::ifstream in(dir / kStateFile, std::ios::binary);
  if (!in) return;  // none yet
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) {
    spdlog::warn("observation: {} is not a JSON array; finished sessions were not restored",
                 (dir / kStateFile).string());
    return;
  }
  size_t skipped = 0;
  for (const auto& item : json) {
    auto session = ParseStoredObservation(item);
    if (!session) {
      ++skipped;
      continue;
    }
    next_session_id_ = std::max(next_session_id_, session->session_id);
    std::ifstream log(dir / (std::to_string(session->session_id) + ".log"), std::ios::binary);
    if (log) {
      log_parts_[session->session_id] =
          std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
    }
    sessions_[session->session_id] = std::move(*session);
  }
  if (skipped > 0) spdlog::warn("observation: {} stored sessions were unreadable", skipped);
}

void Observer::Persist(uint64_t finished_session_id) {
  if (hooks_.state_dir.empty()) return;
  std::filesystem::path dir = hooks_.state_dir;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (auto part = log_parts_.find(finished_session_id); part != log_parts_.end()) {
    Status written =
        WriteFileAtomically(dir / (std::to_string(finished_session_id) + ".log"), part->second);
    if (!written.ok()) spdlog::warn("observation: {}", written.error().message);
  }
  std::string stored = "[";
  for (const auto& [id, session] : sessions_) {
    if (!session.finished_at) continue;
    if (stored.size() > 1) stored += ",";
    stored += StoredObservationJson(session);
  }
  stored += "]";
  Status written = WriteFileAtomically(dir / kStateFile, stored);
  if (!written.ok()) {
    spdlog::warn("observation: {}; finished sessions will not survive a restart",
                 written.error().message);
  }
  // Logs of sessions that fell out of the newest 100.
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const auto& path = entry.path();
    if (path.extension() != ".log") continue;
    try {
      if (!sessions_.contains(std::stoull(path.stem().string()))) {
        std::filesystem::remove(path, error);
      }
    } catch (const std::exception&) {
    }
  }
}

std::string ObservationSessionToJson(const ObservationSession& session) {
  OJson intervals = OJson::array();
  for (const auto& interval : session.intervals) {
    intervals.push_back(OJson{{"started_at", FormatRfc3339(interval.started_at)},
                              {"duration", interval.duration_seconds},
                              {"warning", interval.warning}});
  }
  OJson locks = OJson::array();
  for (const auto& observed : session.long_locks) locks.push_back(LockToJson(observed));
  OJson json{
      {"session_id", session.session_id},
      {"started_at", FormatRfc3339(session.started_at)},
      // DLE's Session: finished_at is a time.Time (its zero value while running), result a
      // pointer with omitempty (absent while running); DLE's Postman schema expects exactly that.
      {"finished_at",
       session.finished_at ? FormatRfc3339(*session.finished_at) : "0001-01-01T00:00:00Z"},
      {"config", OJson{{"observation_interval", session.config.observation_interval},
                       {"max_lock_duration", session.config.max_lock_duration},
                       {"max_duration", session.config.max_duration}}},
      {"tags", session.tags},
      {"artifacts", session.artifacts},
  };
  if (session.finished_at) {
    json["result"] =
        OJson{{"status", session.status},
              {"intervals", intervals},
              {"summary",
               OJson{{"total_duration", session.total_duration_seconds},
                     {"total_intervals", session.intervals.size()},
                     {"warning_intervals", session.warning_intervals},
                     {"checklist",
                      OJson{{"overall_success", session.overall_success},
                            {"session_duration_acceptable", session.session_duration_acceptable},
                            {"no_long_dangerous_locks", session.no_long_dangerous_locks}}}}},
              {"long_locks", locks},
              {"errors", session.errors}};
  }
  return json.dump();
}

std::string ObservationSummaryToJson(const ObservationSession& session) {
  OJson locks = OJson::array();
  for (const auto& observed : session.long_locks) locks.push_back(LockToJson(observed));
  OJson json{
      {"session_id", session.session_id},
      {"clone_id", session.clone_id},
      {"duration",
       OJson{{"total", session.total_duration_seconds},
             {"started_at", FormatRfc3339(session.started_at)},
             {"finished_at",
              session.finished_at ? OJson(FormatRfc3339(*session.finished_at)) : OJson(nullptr)},
             {"max_duration", session.config.max_duration},
             {"acceptable", session.session_duration_acceptable}}},
      {"db_size", OJson{{"database", session.db_name}, {"total_bytes", session.db_size_bytes}}},
      {"locks", OJson{{"max_lock_duration", session.config.max_lock_duration},
                      {"long_dangerous_locks", locks},
                      {"total_intervals", session.intervals.size()},
                      {"warning_intervals", session.warning_intervals}}},
      {"log_errors", OJson{{"count", session.errors.size()}, {"errors", session.errors}}},
      {"artifact_types", session.artifacts},
      {"status", session.status},
  };
  return json.dump();
}

Result<StartObservationRequest> ParseStartObservationRequest(const std::string& body) {
  OJson json = OJson::parse(body, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (key != "clone_id" && key != "config" && key != "tags" && key != "db_name") {
      return BadRequest("unknown field \"" + key + "\"; expected clone_id, config, tags, db_name");
    }
  }
  StartObservationRequest request;
  if (!json.contains("clone_id") || !json["clone_id"].is_string()) {
    return BadRequest("clone_id is required: the clone to observe");
  }
  request.clone_id = json["clone_id"].get<std::string>();
  if (json.contains("db_name") && !json["db_name"].is_null()) {
    if (!json["db_name"].is_string() || json["db_name"].get<std::string>().size() > 63) {
      return BadRequest("db_name must be a database name of at most 63 bytes");
    }
    request.db_name = json["db_name"].get<std::string>();
  }
  if (json.contains("config") && !json["config"].is_null()) {
    const OJson& config = json["config"];
    if (!config.is_object()) return BadRequest("config must be an object");
    for (const auto& [key, value] : config.items()) {
      if (key != "observation_interval" && key != "max_lock_duration" && key != "max_duration") {
        return BadRequest("unknown field config." + key +
                          "; expected observation_interval, max_lock_duration, max_duration");
      }
    }
    ObservationConfig defaults;
    DBLAB_ASSIGN_OR_RETURN(
        request.config.observation_interval,
        PositiveSeconds(config, "observation_interval", defaults.observation_interval));
    DBLAB_ASSIGN_OR_RETURN(
        request.config.max_lock_duration,
        PositiveSeconds(config, "max_lock_duration", defaults.max_lock_duration));
    DBLAB_ASSIGN_OR_RETURN(request.config.max_duration,
                           PositiveSeconds(config, "max_duration", defaults.max_duration));
  }
  if (json.contains("tags") && !json["tags"].is_null()) {
    if (!json["tags"].is_object() || json["tags"].size() > 50) {
      return BadRequest("tags must be an object of at most 50 string values");
    }
    for (const auto& [key, value] : json["tags"].items()) {
      if (!value.is_string() || key.size() > 200 || value.get<std::string>().size() > 1000) {
        return BadRequest("tags." + key.substr(0, 200) + " must be a string of at most 1000 bytes");
      }
      request.tags[key] = value.get<std::string>();
    }
  }
  return request;
}

Result<StopObservationRequest> ParseStopObservationRequest(const std::string& body) {
  OJson json = OJson::parse(body, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object");
  StopObservationRequest request;
  for (const auto& [key, value] : json.items()) {
    if (key == "clone_id" && value.is_string()) {
      request.clone_id = value.get<std::string>();
    } else if (key == "overall_error" && (value.is_boolean() || value.is_null())) {
      request.overall_error = value.is_boolean() && value.get<bool>();
    } else {
      return BadRequest("unexpected field \"" + key +
                        "\"; expected clone_id (string) and overall_error (boolean)");
    }
  }
  if (request.clone_id.empty()) return BadRequest("clone_id is required");
  return request;
}

}  // namespace dblab
