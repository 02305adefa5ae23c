// The Engine's operations features: metrics fed by clone events and retrievals, webhooks, the
// retrieval's live activity, the migration observer and the admin config endpoints.
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/engine.h"
#include "ops/admin_config.h"
#include "ops/observer.h"
#include "ops/source_probe.h"
#include "retrieval/preparation.h"

namespace dblab {

void Engine::StartOperations() {
  webhook_transport_ = std::make_unique<CurlWebhookTransport>();
  webhooks_ = std::make_unique<WebhookDispatcher>(
      config_.webhooks, WebhookOptions{}, *webhook_transport_,
      [this](bool delivered) { metrics_.WebhookDelivery(delivered); });
  if (!config_.webhooks.empty()) {
    spdlog::info("webhooks: {} hook(s) configured", config_.webhooks.size());
  }
  Observer::Hooks hooks;
  hooks.connect = [this](const std::string& clone_id,
                         const std::string& db_name) -> Result<PgConnection> {
    DBLAB_ASSIGN_OR_RETURN(Clone clone, clones_->Get(clone_id));
    if (clone.status != CloneStatus::kOk) {
      return Conflict("clone " + clone_id + " is " + CloneStatusName(clone.status) +
                      ", not OK; wait until it is ready");
    }
    std::string database = !db_name.empty()            ? db_name
                           : !clone.db.db_name.empty() ? clone.db.db_name
                                                       : config_.database_dbname;
    return PgConnection::Connect(AdminConninfo(
        ServerSocketDir(config_.PoolPath() + "/" + config_.socket_sub_dir, clone.db.port),
        clone.db.port, config_.database_username, database,
        {{"application_name", "dblab-observer"}, {"connect_timeout", "5"}}));
  };
  hooks.log_path = [this](const std::string& clone_id) {
    return config_.state_dir + "/logs/" + clone_id + ".log";
  };
  hooks.state_dir = config_.state_dir + "/observations";
  observer_ = std::make_unique<Observer>(std::move(hooks));
}

void Engine::StopOperations() {
  observer_.reset();
  webhooks_.reset();  // waits for deliveries in flight (each bounded by its timeout)
}

void Engine::OnCloneEvent(const CloneEvent& event) {
  static const std::map<std::string, std::string> kOperations = {
      {"clone_create", "create"}, {"clone_reset", "reset"}, {"clone_delete", "destroy"}};
  if (auto it = kOperations.find(event.type); it != kOperations.end()) {
    metrics_.CloneOperationFinished(it->second, event.ok, event.seconds);
  }
  if (!event.ok || !webhooks_ || webhooks_->hook_count() == 0) return;
  // DLE's CloneEvent payload.
  nlohmann::ordered_json payload{{"event_type", event.type}, {"entity_id", event.clone.id}};
  if (!event.clone.db.host.empty()) payload["host"] = event.clone.db.host;
  if (event.clone.db.port > 0) payload["port"] = event.clone.db.port;
  if (!event.clone.db.username.empty()) payload["username"] = event.clone.db.username;
  if (!event.clone.db.db_name.empty()) payload["dbname"] = event.clone.db.db_name;
  webhooks_->Publish(event.type, payload.dump());
}

std::string Engine::OperationMetricsText() { return metrics_.Render(); }

std::optional<RetrievalActivity> Engine::GetRetrievalActivity() {
  ConnParams target;
  {
    std::lock_guard lock(mutex_);
    if (retrieval_.status != "refreshing" || config_.retrieval.physical()) return std::nullopt;
    if (restore_target_port_ > 0) {
      // The restore server on main data listens on its unix socket only; the engine reaches it
      // there as the superuser, as the restore itself does.
      target = {{"host", restore_target_socket_dir_},
                {"port", std::to_string(restore_target_port_)},
                {"user", config_.database_username},
                {"dbname", "postgres"},
                {"connect_timeout", "5"},
                {"application_name", "dblab-engine"}};
    }
  }
  RetrievalActivity activity;
  // The dump's sessions on the source (until the dump ends), and pg_restore's and
  // preprocessing's on the restore target (while it runs).
  auto source = QuerySessions(SourceConnectionParams(config_.retrieval.logical_dump.source, ""),
                              kRetrievalApplicationName);
  if (source.ok()) {
    activity.source = std::move(*source);
  } else {
    spdlog::debug("retrieval activity: source: {}", source.error().message);
  }
  if (!target.empty()) {
    auto sessions = QuerySessions(target, kRetrievalApplicationName);
    if (sessions.ok()) {
      activity.target = std::move(*sessions);
    } else {
      spdlog::debug("retrieval activity: restore target: {}", sessions.error().message);
    }
  }
  return activity;
}

Result<ObservationSession> Engine::StartObservation(const StartObservationRequest& request) {
  return observer_->Start(request);
}

Result<ObservationSession> Engine::StopObservation(const std::string& clone_id,
                                                   bool overall_error) {
  return observer_->Stop(clone_id, overall_error);
}

Result<ObservationSession> Engine::GetObservation(const std::string& clone_id,
                                                  uint64_t session_id) {
  return observer_->Get(clone_id, session_id);
}

Result<std::string> Engine::GetObservationArtifact(const std::string& clone_id, uint64_t session_id,
                                                   const std::string& type) {
  return observer_->Artifact(clone_id, session_id, type);
}

Result<std::string> Engine::GetAdminConfig() {
  std::lock_guard lock(mutex_);
  return ProjectedConfigJson(config_, refresh_timetable_override_, debug_override_);
}

Result<std::string> Engine::GetAdminConfigYaml() {
  if (options_.config_path.empty()) {
    return Unavailable("the engine was started without a config file");
  }
  std::ifstream in(options_.config_path);
  if (!in) return Internal("cannot read the config file; see the engine log");
  std::stringstream text;
  text << in.rdbuf();
  return MaskedConfigYaml(text.str());
}

Result<std::string> Engine::SetAdminConfig(const std::string& json) {
  DBLAB_ASSIGN_OR_RETURN(LiveConfigChange change, ParseLiveConfigChange(json));
  std::optional<CronSchedule> schedule;
  if (change.refresh_timetable && !change.refresh_timetable->empty()) {
    auto parsed = CronSchedule::Parse(*change.refresh_timetable);
    if (!parsed.ok()) return parsed.error().Wrap("retrieval.refresh.timetable");
    schedule = *parsed;
  }
  {
    std::lock_guard lock(mutex_);
    if (change.refresh_timetable) {
      if (!config_.retrieval.enabled()) {
        return BadRequest(
            "retrieval.refresh.timetable: this engine has no retrieval jobs to schedule");
      }
      refresh_timetable_override_ = *change.refresh_timetable;
      schedule_ = schedule;
      schedule_changed_ = true;
      spdlog::info("admin: retrieval.refresh.timetable set to \"{}\"", *change.refresh_timetable);
    }
    if (change.debug) {
      debug_override_ = *change.debug;
      spdlog::set_level(*change.debug ? spdlog::level::debug : spdlog::level::info);
      spdlog::info("admin: global.debug set to {}", *change.debug);
    }
  }
  wake_.notify_all();  // the retrieval loop picks up the new timetable
  return GetAdminConfig();
}

Result<SourceProbe> Engine::TestDbSource(const DbSourceCandidate& candidate) {
  DBLAB_TRY(ValidateDbSourceCandidate(candidate));
  ConnParams params = {{"host", candidate.host},
                       {"port", std::to_string(candidate.port)},
                       {"user", candidate.username},
                       {"dbname", candidate.dbname.empty() ? "postgres" : candidate.dbname},
                       {"connect_timeout", "5"},
                       {"application_name", "dblab-engine"}};
  if (!candidate.password.empty()) params.push_back({"password", candidate.password});
  return ProbeSource(params, candidate.db_list);
}

}  // namespace dblab
