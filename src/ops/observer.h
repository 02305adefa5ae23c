// Observation of a migration running in a clone (DLE's /observation/* and CI checker): while a
// session runs, a thread samples the clone's pg_locks through a management connection and
// records every dangerous lock (Share, ShareRowExclusive, Exclusive, AccessExclusive on a
// relation) held longer than max_lock_duration, with the statement of the session holding it.
// Stop() ends the session and grades it: no long dangerous locks, duration within
// max_duration, no error reported by the caller. The newest 100 sessions are kept; finished
// ones survive an engine restart when Hooks::state_dir is set (running ones end with the engine).
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "domain/ops_types.h"
#include "postgres/pq.h"

namespace dblab {

class Observer {
 public:
  struct Hooks {
    // A management connection to `db_name` ("" = the clone's database) of the clone; kNotFound
    // for an unknown clone, kConflict unless the clone is OK.
    std::function<Result<PgConnection>(const std::string& clone_id, const std::string& db_name)>
        connect;
    // The clone's postgres log file ("" when unknown): the "log" artifact is its part written
    // during the session.
    std::function<std::string(const std::string& clone_id)> log_path;
    // Where finished sessions are kept across engine restarts (observations.json and one
    // <session>.log each, written to a temp file and renamed); "" keeps them in memory only.
    std::string state_dir;
  };
  // `sample_period` caps the time between samples (at most observation_interval).
  explicit Observer(Hooks hooks,
                    std::chrono::milliseconds sample_period = std::chrono::milliseconds(500));
  ~Observer();  // ends running sessions' sampling

  Result<ObservationSession> Start(const StartObservationRequest& request);
  // Finishes the clone's running session; kNotFound when none runs.
  Result<ObservationSession> Stop(const std::string& clone_id, bool overall_error);
  Result<ObservationSession> Get(const std::string& clone_id, uint64_t session_id);
  // "summary" (JSON), "locks" (JSON), "log" (text). kBadRequest for another type.
  Result<std::string> Artifact(const std::string& clone_id, uint64_t session_id,
                               const std::string& type);

 private:
  struct Running;
  void Sample(const std::shared_ptr<Running>& running);
  void Load();                                 // from hooks_.state_dir; in the constructor
  void Persist(uint64_t finished_session_id);  // under mutex_; failures are logged

  Hooks hooks_;
  std::chrono::milliseconds sample_period_;
  std::mutex mutex_;
  uint64_t next_session_id_;
  std::map<uint64_t, ObservationSession> sessions_;          // finished and running
  std::map<std::string, std::shared_ptr<Running>> running_;  // by clone id
  std::map<uint64_t, std::string> log_parts_;                // the "log" artifact by session
};

// DLE's ObservationSession JSON (session_id, started_at, finished_at, config, tags, artifacts,
// result{status, intervals, summary{total_duration, total_intervals, warning_intervals,
// checklist}}) plus dblab's "long_locks" and "errors" in the result.
std::string ObservationSessionToJson(const ObservationSession& session);
// DLE's ObservationSummaryArtifact: session_id, clone_id, duration, db_size, locks,
// log_errors, artifact_types.
std::string ObservationSummaryToJson(const ObservationSession& session);

// Every field of a session, for the observer's state file, and back (nullopt when malformed).
std::string StoredObservationJson(const ObservationSession& session);
std::optional<ObservationSession> ParseStoredObservation(const nlohmann::json& json);

// Strict parsers of the request bodies (kBadRequest naming the field).
Result<StartObservationRequest> ParseStartObservationRequest(const std::string& body);
struct StopObservationRequest {
  std::string clone_id;
  bool overall_error = false;
};
Result<StopObservationRequest> ParseStopObservationRequest(const std::string& body);

}  // namespace dblab
