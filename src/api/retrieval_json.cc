#include "api/retrieval_json.h"

#include "common/time.h"

namespace dblab {
namespace {

Json TimeOrNull(const std::optional<TimePoint>& time) {
  return time ? Json(FormatRfc3339(*time)) : Json(nullptr);
}

Json EventsToJson(const std::vector<PgActivityEvent>& events) {
  Json json = Json::array();
  for (const auto& event : events) {
    json.push_back(Json{{"user", event.user},
                        {"query", event.query},
                        {"duration", event.duration_seconds},
                        {"waitEventType", event.wait_event_type},
                        {"waitEvent", event.wait_event}});
  }
  return json;
}

}  // namespace

Json RetrievalToJson(const RetrievalState& state,
                     const std::optional<RetrievalActivity>& activity) {
  Json current_job = nullptr;
  if (state.status == "refreshing" || state.status == "snapshotting") {
    current_job = Json{{"kind", state.status == "refreshing" ? "fullRefresh" : "snapshot"},
                       {"progress", state.progress}};
  }
  Json activity_json = nullptr;
  if (activity) {
    activity_json = Json{{"source", EventsToJson(activity->source)},
                         {"target", EventsToJson(activity->target)}};
  }
  return Json{{"mode", state.mode},
              {"status", state.status},
              {"lastRefresh", TimeOrNull(state.last_refresh)},
              {"nextRefresh", TimeOrNull(state.next_refresh)},
              {"alerts", RetrievalAlertsToJson(state.alerts)},
              {"activity", activity_json},
              {"currentJob", current_job}};
}

}  // namespace dblab
