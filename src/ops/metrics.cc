#include "ops/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace dblab {
namespace {

constexpr std::array<double, 12> kDurationBounds = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                    5,    10,  30,   60,  120, 300};

std::string Number(double value) { return fmt::format("{}", value); }

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (!segment.empty()) segments.push_back(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), bucket_counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(double value) {
  std::lock_guard lock(mutex_);
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++bucket_counts_[bucket];
  ++count_;
  sum_ += value;
}

std::string Histogram::Render(const std::string& name, const std::string& help) const {
  std::lock_guard lock(mutex_);
  std::string out;
  Header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += bucket_counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, Number(bounds_[i]), cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, Number(sum_), name, count_);
  return out;
}

OperationMetrics::OperationMetrics()
    : create_seconds_({kDurationBounds.begin(), kDurationBounds.end()}),
      reset_seconds_({kDurationBounds.begin(), kDurationBounds.end()}) {}

void OperationMetrics::CloneOperationFinished(const std::string& operation, bool ok,
                                              double seconds) {
  if (ok && operation == "create") create_seconds_.Observe(seconds);
  if (ok && operation == "reset") reset_seconds_.Observe(seconds);
  std::lock_guard lock(mutex_);
  ++clone_operations_[{operation, ok ? "ok" : "failed"}];
}

void OperationMetrics::RetrievalFinished(bool ok, double seconds) {
  std::lock_guard lock(mutex_);
  ++retrievals_[ok ? "ok" : "failed"];
  last_retrieval_seconds_ = seconds;
}

void OperationMetrics::WebhookDelivery(bool delivered) {
  std::lock_guard lock(mutex_);
  ++(delivered ? webhooks_delivered_ : webhooks_failed_);
}

std::string OperationMetrics::Render() const {
  std::string out;
  out += create_seconds_.Render("dblab_clone_create_duration_seconds",
                                "Time from a create request to a clone that accepts connections.");
  out += reset_seconds_.Render("dblab_clone_reset_duration_seconds",
                               "Time from a reset request to a clone that accepts connections.");
  std::lock_guard lock(mutex_);
  Header(out, "dblab_clone_operations_total", "counter",
         "Finished clone operations by operation (create, reset, destroy) and result.");
  for (const char* operation : {"create", "reset", "destroy"}) {
    for (const char* result : {"ok", "failed"}) {
      auto it = clone_operations_.find({operation, result});
      out += fmt::format("dblab_clone_operations_total{{operation=\"{}\",result=\"{}\"}} {}\n",
                         operation, result, it == clone_operations_.end() ? 0 : it->second);
    }
  }
  Header(out, "dblab_retrieval_runs_total", "counter",
         "Finished retrieval runs (full refreshes and snapshots) by result.");
  for (const char* result : {"ok", "failed"}) {
    auto it = retrievals_.find(result);
    out += fmt::format("dblab_retrieval_runs_total{{result=\"{}\"}} {}\n", result,
                       it == retrievals_.end() ? 0 : it->second);
  }
  if (last_retrieval_seconds_ >= 0) {
    Header(out, "dblab_retrieval_last_duration_seconds", "gauge",
           "Duration of the last finished retrieval run.");
    out +=
        fmt::format("dblab_retrieval_last_duration_seconds {}\n", Number(last_retrieval_seconds_));
  }
  Header(out, "dblab_webhook_deliveries_total", "counter",
         "Webhook deliveries by result (failed: all retries used up).");
  out += fmt::format("dblab_webhook_deliveries_total{{result=\"delivered\"}} {}\n",
                     webhooks_delivered_);
  out += fmt::format("dblab_webhook_deliveries_total{{result=\"failed\"}} {}\n", webhooks_failed_);
  return out;
}

std::string RenderInstanceMetrics(const InstanceStatus& status,
                                  const std::vector<Snapshot>& snapshots, TimePoint now) {
  std::string out;
  Header(out, "dblab_info", "gauge", "Engine version and instance id (value always 1).");
  out += fmt::format("dblab_info{{version=\"{}\",instance_id=\"{}\"}} 1\n",
                     EscapeLabelValue(status.version), EscapeLabelValue(status.instance_id));
  Header(out, "dblab_instance_up_seconds", "gauge", "Seconds since the engine started.");
  out += fmt::format(
      "dblab_instance_up_seconds {}\n",
      std::chrono::duration_cast<std::chrono::seconds>(now - status.started_at).count());

  Header(out, "dblab_clones", "gauge", "Clones by status.");
  for (CloneStatus clone_status :
       {CloneStatus::kCreating, CloneStatus::kOk, CloneStatus::kResetting, CloneStatus::kDeleting,
        CloneStatus::kFatal, CloneStatus::kWarning}) {
    auto count = std::count_if(status.clones.begin(), status.clones.end(),
                               [&](const Clone& clone) { return clone.status == clone_status; });
    out += fmt::format("dblab_clones{{status=\"{}\"}} {}\n", CloneStatusName(clone_status), count);
  }
  Header(out, "dblab_warm_pool_ready", "gauge", "Warm clones ready to be handed out.");
  out += fmt::format("dblab_warm_pool_ready {}\n", status.warm_pool_ready);

  struct PoolGauge {
    const char* name;
    const char* help;
    int64_t PoolUsage::*field;
  };
  for (const PoolGauge& gauge :
       {PoolGauge{"dblab_pool_size_bytes", "Size of the pool's filesystem.", &PoolUsage::size},
        PoolGauge{"dblab_pool_used_bytes", "Bytes used in the pool's filesystem.",
                  &PoolUsage::used},
        PoolGauge{"dblab_pool_free_bytes", "Bytes free in the pool's filesystem.",
                  &PoolUsage::free}}) {
    Header(out, gauge.name, "gauge", gauge.help);
    for (const PoolUsage& pool : status.pools) {
      out +=
          fmt::format("{}{{pool=\"{}\",mode=\"{}\"}} {}\n", gauge.name, EscapeLabelValue(pool.name),
                      EscapeLabelValue(pool.mode), pool.*(gauge.field));
    }
  }

  Header(out, "dblab_snapshots", "gauge", "Snapshots clones can be made from.");
  out += fmt::format("dblab_snapshots {}\n", snapshots.size());
  if (!snapshots.empty()) {
    auto newest = std::max_element(
        snapshots.begin(), snapshots.end(),
        [](const Snapshot& a, const Snapshot& b) { return a.created_at < b.created_at; });
    auto seconds = [&](TimePoint then) {
      return std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
    };
    Header(out, "dblab_snapshot_newest_age_seconds", "gauge",
           "Seconds since the newest snapshot was taken.");
    out += fmt::format("dblab_snapshot_newest_age_seconds {}\n", seconds(newest->created_at));
    Header(out, "dblab_snapshot_newest_data_age_seconds", "gauge",
           "Seconds since the newest snapshot's data left the source (its dataStateAt).");
    out +=
        fmt::format("dblab_snapshot_newest_data_age_seconds {}\n", seconds(newest->data_state_at));
  }

  const RetrievalState& retrieval = status.retrieval;
  Header(out, "dblab_retrieval_status", "gauge",
         "Retrieval status: 1 for the current one, 0 for the others.");
  for (const char* name : {"pending", "refreshing", "snapshotting", "finished", "failed"}) {
    out += fmt::format("dblab_retrieval_status{{mode=\"{}\",status=\"{}\"}} {}\n",
                       EscapeLabelValue(retrieval.mode), name, retrieval.status == name ? 1 : 0);
  }
  Header(out, "dblab_retrieval_alerts", "gauge",
         "Retrieval alert types raised since the last successful refresh.");
  out += fmt::format("dblab_retrieval_alerts {}\n", retrieval.alerts.size());
  if (retrieval.replica_lag) {
    Header(out, "dblab_retrieval_replica_lag_seconds", "gauge",
           "Physical mode: seconds the replica's replay is behind the source (0 when it has "
           "replayed all WAL it received).");
    out += fmt::format("dblab_retrieval_replica_lag_seconds {}\n", retrieval.replica_lag->seconds);
    Header(out, "dblab_retrieval_replica_lag_bytes", "gauge",
           "Physical mode: WAL bytes the replica received but has not replayed yet.");
    out += fmt::format("dblab_retrieval_replica_lag_bytes {}\n", retrieval.replica_lag->bytes);
  }
  if (retrieval.last_refresh) {
    Header(out, "dblab_retrieval_last_refresh_timestamp_seconds", "gauge",
           "Unix time of the last successful refresh or snapshot.");
    out += fmt::format(
        "dblab_retrieval_last_refresh_timestamp_seconds {}\n",
        std::chrono::duration_cast<std::chrono::seconds>(retrieval.last_refresh->time_since_epoch())
            .count());
  }
  return out;
}

std::string ApiRouteLabel(std::string_view path) {
  if (path == "/api" || path.starts_with("/api/")) path.remove_prefix(4);
  auto segments = Segments(path);
  if (segments.empty()) return "other";
  std::string_view first = segments[0];
  static constexpr std::array<std::string_view, 9> kSingle = {
      "healthz",  "status",       "snapshots", "clones", "clone",
      "snapshot", "full-refresh", "branches",  "metrics"};
  if (segments.size() == 1) {
    for (auto name : kSingle) {
      if (first == name) return "/" + std::string(name);
    }
    if (first == "branch") return "/branch";
    return "other";
  }
  if (first == "clone" && segments.size() == 2) return "/clone/{id}";
  if (first == "clone" && segments.size() == 3 && segments[2] == "reset")
    return "/clone/{id}/reset";
  if (first == "snapshot" && segments.size() == 2) return "/snapshot/{id}";
  if (first == "instance" && segments.size() == 2 &&
      (segments[1] == "retrieval" || segments[1] == "logs")) {
    return "/instance/" + std::string(segments[1]);
  }
  if (first == "admin" && segments.size() == 2) {
    for (std::string_view name : {"config", "config.yaml", "test-db-source", "ws-auth"}) {
      if (segments[1] == name) return "/admin/" + std::string(name);
    }
    return "other";
  }
  if (first == "observation" && segments.size() == 2 &&
      (segments[1] == "start" || segments[1] == "stop" || segments[1] == "download")) {
    return "/observation/" + std::string(segments[1]);
  }
  if (first == "observation" && segments.size() == 4 && segments[1] == "summary") {
    return "/observation/summary/{clone}/{session}";
  }
  if (first == "branch") return "/branch/...";
  return "other";
}

void RequestMetrics::Record(std::string_view path, std::string_view method, int status) {
  std::string route = ApiRouteLabel(path);
  std::string known_method;
  for (std::string_view name : {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"}) {
    if (method == name) known_method = name;
  }
  if (known_method.empty()) known_method = "other";
  std::lock_guard lock(mutex_);
  ++counts_[{route, known_method, status}];
}

std::string RequestMetrics::Render() const {
  std::string out;
  Header(out, "dblab_api_requests_total", "counter",
         "API requests by route template, method and HTTP status code.");
  std::lock_guard lock(mutex_);
  for (const auto& [key, count] : counts_) {
    const auto& [route, method, code] = key;
    out += fmt::format("dblab_api_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
                       EscapeLabelValue(route), method, code, count);
  }
  return out;
}

}  // namespace dblab
