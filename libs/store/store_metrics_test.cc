#include "libs/store/store_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace claims::store {
namespace {

using ::testing::HasSubstr;

// The value of the sample `series` (name and labels, as exposed) in `exposition`, or nullopt.
std::optional<double> Sample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

class StoreMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.emplace(std::move(test_support::TempDir::Create("store-metrics")).value());
    StoreOptions options;
    options.column_families = {"members"};
    options.block_cache_bytes = 1u << 20;
    Result<std::unique_ptr<StateStore>> store = StateStore::Open(dir_->File("data"), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Result<std::unique_ptr<StoreMetrics>> metrics = StoreMetrics::Register(registry_);
    ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
    metrics_ = std::move(metrics).value();
  }

  std::optional<test_support::TempDir> dir_;
  runtime::MetricsRegistry registry_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<StoreMetrics> metrics_;
};

TEST_F(StoreMetricsTest, SamplesEveryColumnFamilyOfAWatchedStoreAtEachScrape) {
  metrics_->Watch("adjudication", *store_);
  WriteBatch batch;
  for (int i = 0; i < 100; ++i) batch.Put("members", "member-" + std::to_string(i), "state");
  batch.SetOffset("intake.events.v1", 3, 100);
  ASSERT_TRUE(store_->Write(batch).ok());

  const std::string before = registry_.Expose();
  const std::string members = "{store=\"adjudication\",column_family=\"members\"}";
  EXPECT_EQ(Sample(before, "claims_store_estimated_keys" + members), 100) << before;
  EXPECT_EQ(Sample(before, "claims_store_live_sst_bytes" + members), 0);
  EXPECT_GT(Sample(before, "claims_store_memtable_bytes" + members).value_or(0), 0);
  EXPECT_EQ(
      Sample(before,
             "claims_store_estimated_keys{store=\"adjudication\",column_family=\"__offsets\"}"),
      1);
  EXPECT_EQ(Sample(before,
                   "claims_store_estimated_keys{store=\"adjudication\",column_family=\"default\"}"),
            0);
  EXPECT_EQ(Sample(before, "claims_store_block_cache_capacity_bytes{store=\"adjudication\"}"),
            1 << 20);
  EXPECT_EQ(Sample(before, "claims_store_write_stopped{store=\"adjudication\"}"), 0);
  EXPECT_EQ(
      Sample(before, "claims_store_delayed_write_rate_bytes_per_second{store=\"adjudication\"}"),
      0);
  EXPECT_EQ(Sample(before, "claims_store_background_errors_total{store=\"adjudication\"}"), 0);
  EXPECT_EQ(Sample(before, "claims_store_stats_failures_total{store=\"adjudication\"}"), 0);
  EXPECT_THAT(before, HasSubstr("# TYPE claims_store_background_errors_total counter\n"));
  EXPECT_THAT(before, HasSubstr("# TYPE claims_store_live_sst_bytes gauge\n"));

  // A checkpoint flushes the memtables: the keys are now in a table file, and the next scrape
  // says so.
  ASSERT_TRUE(store_->Checkpoint(dir_->File("checkpoint")).ok());
  const std::string after = registry_.Expose();
  EXPECT_GT(Sample(after, "claims_store_live_sst_bytes" + members).value_or(0), 0) << after;
  EXPECT_EQ(Sample(after, "claims_store_sst_bytes" + members),
            Sample(after, "claims_store_live_sst_bytes" + members));
  EXPECT_EQ(Sample(after, "claims_store_estimated_keys" + members), 100);
  EXPECT_EQ(Sample(after, "claims_store_level0_files" + members), 1);
  EXPECT_EQ(Sample(after, "claims_store_immutable_memtables" + members), 0);
}

TEST_F(StoreMetricsTest, CountsAScrapeOfAClosedStoreAsAFailure) {
  metrics_->Watch("desk", *store_);
  ASSERT_TRUE(store_->Close().ok());
  const std::string exposition = registry_.Expose();
  EXPECT_EQ(Sample(exposition, "claims_store_stats_failures_total{store=\"desk\"}"), 1);
  EXPECT_EQ(
      Sample(exposition, "claims_store_estimated_keys{store=\"desk\",column_family=\"members\"}"),
      std::nullopt);
  EXPECT_EQ(store_->Stats().status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreMetricsTest, RegisteringTwiceInOneRegistryIsRefused) {
  Result<std::unique_ptr<StoreMetrics>> again = StoreMetrics::Register(registry_);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace claims::store
