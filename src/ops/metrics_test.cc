#include "ops/metrics.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(HistogramTest, BucketsAreCumulativeWithSumAndCount) {
  Histogram histogram({0.5, 1, 2});
  histogram.Observe(0.2);
  histogram.Observe(0.5);
  histogram.Observe(1.5);
  histogram.Observe(9);
  std::string text = histogram.Render("x_seconds", "help text");
  EXPECT_EQ(text,
            "# HELP x_seconds help text\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.5\"} 2\nx_seconds_bucket{le=\"1\"} 2\n"
            "x_seconds_bucket{le=\"2\"} 3\nx_seconds_bucket{le=\"+Inf\"} 4\n"
            "x_seconds_sum 11.2\nx_seconds_count 4\n");
}

TEST(OperationMetricsTest, CountsOperationsAndObservesSuccessfulDurations) {
  OperationMetrics metrics;
  metrics.CloneOperationFinished("create", true, 0.3);
  metrics.CloneOperationFinished("create", false, 5);
  metrics.CloneOperationFinished("reset", true, 0.2);
  metrics.RetrievalFinished(true, 12.5);
  metrics.WebhookDelivery(false);
  std::string text = metrics.Render();
  EXPECT_NE(text.find("dblab_clone_create_duration_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("dblab_clone_reset_duration_seconds_bucket{le=\"0.25\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dblab_clone_operations_total{operation=\"create\",result=\"failed\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dblab_retrieval_last_duration_seconds 12.5\n"), std::string::npos);
  EXPECT_NE(text.find("dblab_webhook_deliveries_total{result=\"failed\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsTest, RouteLabelsAreTemplates) {
  EXPECT_EQ(ApiRouteLabel("/api/clone/abc"), "/clone/{id}");
  EXPECT_EQ(ApiRouteLabel("/clone/abc/reset"), "/clone/{id}/reset");
  EXPECT_EQ(ApiRouteLabel("/api/observation/summary/c/1"),
            "/observation/summary/{clone}/{session}");
  EXPECT_EQ(ApiRouteLabel("/assets/index.js"), "other");
  EXPECT_EQ(ApiRouteLabel("/healthz"), "/healthz");
}

TEST(MetricsTest, InstanceGaugesShowEveryCloneStatusAndRetrievalStatus) {
  InstanceStatus status;
  status.version = "v1";
  status.retrieval.status = "finished";
  Clone clone;
  clone.status = CloneStatus::kFatal;
  status.clones.push_back(clone);
  std::string text = RenderInstanceMetrics(status, {}, TimePoint{});
  EXPECT_NE(text.find("dblab_clones{status=\"FATAL\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("dblab_clones{status=\"OK\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("dblab_retrieval_status{mode=\"logical\",status=\"finished\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dblab_snapshots 0\n"), std::string::npos);
  EXPECT_EQ(text.find("dblab_retrieval_replica_lag"), std::string::npos);  // no replica
}

TEST(MetricsTest, ReplicaLagIsShownWhileAReplicaRuns) {
  InstanceStatus status;
  status.retrieval.mode = "physical";
  status.retrieval.replica_lag = ReplicaLag{.seconds = 2.5, .bytes = 16384};
  std::string text = RenderInstanceMetrics(status, {}, TimePoint{});
  EXPECT_NE(text.find("# TYPE dblab_retrieval_replica_lag_seconds gauge\n"
                      "dblab_retrieval_replica_lag_seconds 2.5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE dblab_retrieval_replica_lag_bytes gauge\n"
                      "dblab_retrieval_replica_lag_bytes 16384\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace dblab
