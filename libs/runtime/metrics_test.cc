#include "libs/runtime/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace claims::runtime {
namespace {

TEST(MetricsTest, ExposesCounterWithLabelsSortedBySeries) {
  MetricsRegistry registry;
  Result<CounterFamily*> claims =
      registry.AddCounter("claims_received_total", "Claims received.", {"service", "outcome"});
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  (*claims)->WithLabels({"intake", "rejected"}).Increment();
  (*claims)->WithLabels({"intake", "accepted"}).Increment(2);
  (*claims)->WithLabels({"intake", "accepted"}).Increment(0.5);
  EXPECT_EQ(registry.Expose(),
            "# HELP claims_received_total Claims received.\n"
            "# TYPE claims_received_total counter\n"
            "claims_received_total{service=\"intake\",outcome=\"accepted\"} 2.5\n"
            "claims_received_total{service=\"intake\",outcome=\"rejected\"} 1\n");
}

TEST(MetricsTest, ExposesGaugeThatGoesUpAndDown) {
  MetricsRegistry registry;
  Result<GaugeFamily*> lag = registry.AddGauge("consumer_lag", "Records behind.", {"partition"});
  ASSERT_TRUE(lag.ok());
  Gauge& p0 = (*lag)->WithLabels({"0"});
  p0.Set(10);
  p0.Decrement(3);
  p0.Increment();
  (*lag)->WithLabels({"1"}).Set(-2.25);
  EXPECT_EQ(registry.Expose(),
            "# HELP consumer_lag Records behind.\n"
            "# TYPE consumer_lag gauge\n"
            "consumer_lag{partition=\"0\"} 8\n"
            "consumer_lag{partition=\"1\"} -2.25\n");
}

TEST(MetricsTest, ExposesHistogramBucketsCumulativelyWithSumAndCount) {
  MetricsRegistry registry;
  Result<HistogramFamily*> latency =
      registry.AddHistogram("rpc_latency_seconds", "RPC latency.", {0.005, 0.1, 1}, {"method"});
  ASSERT_TRUE(latency.ok());
  Histogram& submit = (*latency)->WithLabels({"Submit"});
  submit.Observe(0.001);
  submit.Observe(0.1);  // a bound is inclusive
  submit.Observe(0.5);
  submit.Observe(3);
  (*latency)->WithLabels({"Get"}).Observe(0.25);
  EXPECT_EQ(registry.Expose(),
            "# HELP rpc_latency_seconds RPC latency.\n"
            "# TYPE rpc_latency_seconds histogram\n"
            "rpc_latency_seconds_bucket{method=\"Get\",le=\"0.005\"} 0\n"
            "rpc_latency_seconds_bucket{method=\"Get\",le=\"0.1\"} 0\n"
            "rpc_latency_seconds_bucket{method=\"Get\",le=\"1\"} 1\n"
            "rpc_latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 1\n"
            "rpc_latency_seconds_sum{method=\"Get\"} 0.25\n"
            "rpc_latency_seconds_count{method=\"Get\"} 1\n"
            "rpc_latency_seconds_bucket{method=\"Submit\",le=\"0.005\"} 1\n"
            "rpc_latency_seconds_bucket{method=\"Submit\",le=\"0.1\"} 2\n"
            "rpc_latency_seconds_bucket{method=\"Submit\",le=\"1\"} 3\n"
            "rpc_latency_seconds_bucket{method=\"Submit\",le=\"+Inf\"} 4\n"
            "rpc_latency_seconds_sum{method=\"Submit\"} 3.601\n"
            "rpc_latency_seconds_count{method=\"Submit\"} 4\n");
}

TEST(MetricsTest, ExposesFamiliesSortedByNameAndUnlabeledSeriesAtZero) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddGauge("up", "Whether the service is up.").ok());
  ASSERT_TRUE(registry.AddHistogram("batch_size", "Records per batch.", {10}).ok());
  ASSERT_TRUE(registry.AddCounter("errors_total", "Errors.", {"kind"}).ok());
  EXPECT_EQ(registry.Expose(),
            "# HELP batch_size Records per batch.\n"
            "# TYPE batch_size histogram\n"
            "batch_size_bucket{le=\"10\"} 0\n"
            "batch_size_bucket{le=\"+Inf\"} 0\n"
            "batch_size_sum 0\n"
            "batch_size_count 0\n"
            "# HELP errors_total Errors.\n"
            "# TYPE errors_total counter\n"
            "# HELP up Whether the service is up.\n"
            "# TYPE up gauge\n"
            "up 0\n");
}

TEST(MetricsTest, EscapesHelpAndLabelValues) {
  MetricsRegistry registry;
  Result<CounterFamily*> c =
      registry.AddCounter("weird_total", "Back\\slash and\nnewline \"quoted\".", {"v"});
  ASSERT_TRUE(c.ok());
  (*c)->WithLabels({"a\"b\\c\nd"}).Increment();
  EXPECT_EQ(registry.Expose(),
            "# HELP weird_total Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE weird_total counter\n"
            "weird_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, FormatsSpecialValues) {
  MetricsRegistry registry;
  Result<GaugeFamily*> g = registry.AddGauge("g", "G.", {"k"});
  ASSERT_TRUE(g.ok());
  (*g)->WithLabels({"a"}).Set(std::numeric_limits<double>::infinity());
  (*g)->WithLabels({"b"}).Set(-std::numeric_limits<double>::infinity());
  (*g)->WithLabels({"c"}).Set(std::nan(""));
  (*g)->WithLabels({"d"}).Set(1e21);
  (*g)->WithLabels({"e"}).Set(123456789);
  EXPECT_EQ(registry.Expose(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{k=\"a\"} +Inf\ng{k=\"b\"} -Inf\ng{k=\"c\"} NaN\ng{k=\"d\"} 1e+21\n"
            "g{k=\"e\"} 123456789\n");
}

TEST(MetricsTest, CounterIgnoresNegativeAndNanIncrements) {
  MetricsRegistry registry;
  Counter& c = (*registry.AddCounter("c_total", "C."))->WithLabels({});
  c.Increment(-1);
  c.Increment(std::nan(""));
  c.Increment(2);
  EXPECT_EQ(c.value(), 2);
}

TEST(MetricsTest, RejectsInvalidNamesAndLabels) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.AddCounter("", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("9lives", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("has-dash", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "h", {"bad-label"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "h", {"a:b"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "h", {"__reserved"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "h", {"a", "a"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {1}, {"le"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {1, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {2, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {std::nan("")}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.AddCounter("ns:ok_total", "h", {"_a", "B9"}).ok());
  // Nothing half-registered by the failures: the names are still free.
  EXPECT_TRUE(registry.AddCounter("ok_total", "h").ok());
  EXPECT_TRUE(registry.AddHistogram("h", "h", {1, std::numeric_limits<double>::infinity()}).ok());
}

TEST(MetricsTest, RejectsNamesThatCollideWithExistingSamples) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddHistogram("latency", "L.", {1}).ok());
  EXPECT_EQ(registry.AddCounter("latency", "x").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddCounter("latency_count", "x").status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.AddGauge("queue_sum", "Q.").ok());
  EXPECT_EQ(registry.AddHistogram("queue", "x", {1}).status().code(), StatusCode::kAlreadyExists);
}

TEST(MetricsTest, ExponentialBucketsMultiplyByFactor) {
  Result<std::vector<double>> b = ExponentialBuckets(0.001, 10, 4);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 4u);
  EXPECT_DOUBLE_EQ((*b)[3], 1);
  EXPECT_FALSE(ExponentialBuckets(0, 2, 3).ok());
  EXPECT_FALSE(ExponentialBuckets(1, 1, 3).ok());
  EXPECT_FALSE(ExponentialBuckets(1, 2, 0).ok());
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily* counters = *registry.AddCounter("ops_total", "Ops.", {"t"});
  HistogramFamily* sizes = *registry.AddHistogram("size", "Size.", {1, 10});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Counter& c = counters->WithLabels({"x"});
      Histogram& h = sizes->WithLabels({});
      for (int i = 0; i < 10000; ++i) {
        c.Increment();
        h.Observe(i % 20);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i) registry.Expose();
  });
  for (std::thread& thread : threads) thread.join();
  scraper.join();
  EXPECT_EQ(counters->WithLabels({"x"}).value(), 40000);
  Histogram::Snapshot s = sizes->WithLabels({}).snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{4000, 22000, 40000}));
  EXPECT_EQ(s.sum, 4 * 500 * 190);
}

TEST(MetricsTest, RunsCollectorsBeforeEveryExposition) {
  MetricsRegistry registry;
  GaugeFamily* size = *registry.AddGauge("store_bytes", "Bytes.", {"store"});
  int sampled = 0;
  registry.AddCollector([&] { size->WithLabels({"desk"}).Set(100 * ++sampled); });
  registry.AddCollector([&] { size->WithLabels({"model"}).Set(sampled); });
  EXPECT_EQ(registry.Expose(),
            "# HELP store_bytes Bytes.\n"
            "# TYPE store_bytes gauge\n"
            "store_bytes{store=\"desk\"} 100\n"
            "store_bytes{store=\"model\"} 1\n");
  EXPECT_THAT(registry.Expose(), ::testing::HasSubstr("store_bytes{store=\"desk\"} 200\n"));
  EXPECT_EQ(sampled, 2);
}

TEST(MetricsDeathTest, WrongNumberOfLabelValuesAborts) {
  MetricsRegistry registry;
  CounterFamily* c = *registry.AddCounter("c_total", "C.", {"a", "b"});
  EXPECT_DEATH(c->WithLabels({"only-one"}), "takes 2 label values, got 1");
}

}  // namespace
}  // namespace claims::runtime
