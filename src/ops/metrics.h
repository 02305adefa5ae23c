// Prometheus metrics of the engine (text exposition format 0.0.4, written here: the format is
// a few lines of text and Debian 12 packages no C++ client library). Names are documented in
// docs/metrics.md. Every class is thread-safe; Render* functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "domain/model.h"

namespace dblab {

// Escapes a label value: backslash, double quote and newline, as the format requires.
std::string EscapeLabelValue(std::string_view value);

// A cumulative histogram with fixed upper bounds (Prometheus semantics: bucket le="x" counts
// observations <= x; +Inf counts all).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // "# HELP/# TYPE" and the _bucket/_sum/_count lines of metric `name`.
  std::string Render(const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<uint64_t> bucket_counts_;  // not cumulative: per bucket
  uint64_t count_ = 0;
  double sum_ = 0;
};

// What the engine counts as work finishes: clone operations, retrievals, webhook deliveries.
class OperationMetrics {
 public:
  OperationMetrics();
  // `operation`: "create", "reset" or "destroy". Durations of successful creates and resets go
  // into their histograms.
  void CloneOperationFinished(const std::string& operation, bool ok, double seconds);
  void RetrievalFinished(bool ok, double seconds);
  void WebhookDelivery(bool delivered);
  std::string Render() const;

 private:
  Histogram create_seconds_;
  Histogram reset_seconds_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, uint64_t> clone_operations_;  // (op, result)
  std::map<std::string, uint64_t> retrievals_;                                // result
  double last_retrieval_seconds_ = -1;                                        // -1: none yet
  uint64_t webhooks_delivered_ = 0;
  uint64_t webhooks_failed_ = 0;
};

// Gauges read from the instance's status: clones by status, pool size/used/free, snapshot count
// and ages, retrieval status, warm pool, engine info. `now` for the ages.
std::string RenderInstanceMetrics(const InstanceStatus& status,
                                  const std::vector<Snapshot>& snapshots, TimePoint now);

// API requests by route template ("clone/{id}"), method and status code.
class RequestMetrics {
 public:
  void Record(std::string_view path, std::string_view method, int status);
  std::string Render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> counts_;
};

// The route template of an API path, so that ids never become label values: "/api/clone/x" ->
// "/clone/{id}"; paths that are no API route -> "other".
std::string ApiRouteLabel(std::string_view path);

}  // namespace dblab
