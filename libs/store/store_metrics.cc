#include "libs/store/store_metrics.h"

#include <cassert>
#include <mutex>
#include <vector>

namespace claims::store {

struct StoreMetrics::Shared {
  struct ColumnFamilyGauges {
    runtime::GaugeFamily* live_sst = nullptr;
    runtime::GaugeFamily* sst = nullptr;
    runtime::GaugeFamily* live_data = nullptr;
    runtime::GaugeFamily* memtable = nullptr;
    runtime::GaugeFamily* immutable = nullptr;
    runtime::GaugeFamily* keys = nullptr;
    runtime::GaugeFamily* pending_compaction = nullptr;
    runtime::GaugeFamily* level0 = nullptr;
  } cf;
  runtime::GaugeFamily* cache_capacity = nullptr;
  runtime::GaugeFamily* cache_usage = nullptr;
  runtime::GaugeFamily* cache_pinned = nullptr;
  runtime::GaugeFamily* write_stopped = nullptr;
  runtime::GaugeFamily* delayed_rate = nullptr;
  runtime::GaugeFamily* compactions = nullptr;
  runtime::GaugeFamily* flushes = nullptr;
  runtime::CounterFamily* background_errors = nullptr;
  runtime::CounterFamily* failures = nullptr;

  std::mutex mu;
  std::vector<std::pair<std::string, const StateStore*>> watched;  // guarded by mu

  void Collect() {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [name, store] : watched) Sample(name, *store);
  }

  void Sample(const std::string& name, const StateStore& store) {
    Result<StoreStats> stats = store.Stats();
    if (!stats.ok()) {
      failures->WithLabels({name}).Increment();
      return;
    }
    auto set = [&](runtime::GaugeFamily* family, const std::vector<std::string>& labels,
                   uint64_t value) { family->WithLabels(labels).Set(static_cast<double>(value)); };
    for (const ColumnFamilyStats& c : stats->column_families) {
      const std::vector<std::string> labels = {name, c.name};
      set(cf.live_sst, labels, c.live_sst_bytes);
      set(cf.sst, labels, c.sst_bytes);
      set(cf.live_data, labels, c.estimated_live_data_bytes);
      set(cf.memtable, labels, c.memtable_bytes);
      set(cf.immutable, labels, c.immutable_memtables);
      set(cf.keys, labels, c.estimated_keys);
      set(cf.pending_compaction, labels, c.pending_compaction_bytes);
      set(cf.level0, labels, c.level0_files);
    }
    const std::vector<std::string> labels = {name};
    set(cache_capacity, labels, stats->block_cache_capacity_bytes);
    set(cache_usage, labels, stats->block_cache_usage_bytes);
    set(cache_pinned, labels, stats->block_cache_pinned_bytes);
    set(write_stopped, labels, stats->write_stopped ? 1 : 0);
    set(delayed_rate, labels, stats->delayed_write_rate_bytes_per_second);
    set(compactions, labels, stats->running_compactions);
    set(flushes, labels, stats->running_flushes);
    // RocksDB counts its background errors itself; the counter follows that count.
    runtime::Counter& errors = background_errors->WithLabels(labels);
    const double seen = static_cast<double>(stats->background_errors);
    if (seen > errors.value()) errors.Increment(seen - errors.value());
  }
};

Result<std::unique_ptr<StoreMetrics>> StoreMetrics::Register(runtime::MetricsRegistry& registry) {
  auto shared = std::make_shared<Shared>();
  const std::vector<std::string> per_cf = {"store", "column_family"};
  const std::vector<std::string> per_store = {"store"};
  struct GaugeSpec {
    const char* name;
    const char* help;
    const std::vector<std::string>& labels;
    runtime::GaugeFamily** out;
  };
  const GaugeSpec gauges[] = {
      {"claims_store_live_sst_bytes", "RocksDB table files of the current version, in bytes.",
       per_cf, &shared->cf.live_sst},
      {"claims_store_sst_bytes",
       "Every RocksDB table file, obsolete ones not yet deleted included, in bytes.", per_cf,
       &shared->cf.sst},
      {"claims_store_estimated_live_data_bytes",
       "RocksDB's estimate of the live data, as compaction would leave it, in bytes.", per_cf,
       &shared->cf.live_data},
      {"claims_store_memtable_bytes", "RocksDB memtables, active and not yet flushed, in bytes.",
       per_cf, &shared->cf.memtable},
      {"claims_store_immutable_memtables", "RocksDB memtables waiting to be flushed.", per_cf,
       &shared->cf.immutable},
      {"claims_store_estimated_keys", "RocksDB's estimate of the number of keys.", per_cf,
       &shared->cf.keys},
      {"claims_store_pending_compaction_bytes",
       "Bytes RocksDB estimates compaction has to rewrite; writes stall when it grows too large.",
       per_cf, &shared->cf.pending_compaction},
      {"claims_store_level0_files",
       "RocksDB level-0 table files; writes slow down and stop when there are too many.", per_cf,
       &shared->cf.level0},
      {"claims_store_block_cache_capacity_bytes", "Capacity of the store's block cache.", per_store,
       &shared->cache_capacity},
      {"claims_store_block_cache_usage_bytes", "Bytes held in the store's block cache.", per_store,
       &shared->cache_usage},
      {"claims_store_block_cache_pinned_bytes",
       "Bytes of the store's block cache pinned by readers.", per_store, &shared->cache_pinned},
      {"claims_store_write_stopped", "1 while RocksDB stops writes (a write stall), else 0.",
       per_store, &shared->write_stopped},
      {"claims_store_delayed_write_rate_bytes_per_second",
       "The rate RocksDB slows writes to while it delays them; 0 when writes are not delayed.",
       per_store, &shared->delayed_rate},
      {"claims_store_running_compactions", "RocksDB compactions running.", per_store,
       &shared->compactions},
      {"claims_store_running_flushes", "RocksDB memtable flushes running.", per_store,
       &shared->flushes},
  };
  for (const GaugeSpec& g : gauges) {
    Result<runtime::GaugeFamily*> family = registry.AddGauge(g.name, g.help, g.labels);
    if (!family.ok()) return family.status();
    *g.out = *family;
  }
  Result<runtime::CounterFamily*> errors = registry.AddCounter(
      "claims_store_background_errors_total",
      "RocksDB flush and compaction errors since the store was opened.", per_store);
  if (!errors.ok()) return errors.status();
  shared->background_errors = *errors;
  Result<runtime::CounterFamily*> failures =
      registry.AddCounter("claims_store_stats_failures_total",
                          "Scrapes that could not read a store's figures.", per_store);
  if (!failures.ok()) return failures.status();
  shared->failures = *failures;
  registry.AddCollector([shared] { shared->Collect(); });
  return std::unique_ptr<StoreMetrics>(new StoreMetrics(shared));
}

StoreMetrics::~StoreMetrics() = default;

void StoreMetrics::Watch(std::string name, const StateStore& store) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  for (const auto& [watched, unused] : shared_->watched) {
    assert(watched != name && "two stores watched under one name");
    (void)watched;
  }
  // Series that only count up exist from the start, so rate() sees their first increase.
  shared_->background_errors->WithLabels({name});
  shared_->failures->WithLabels({name});
  shared_->watched.emplace_back(std::move(name), &store);
}

}  // namespace claims::store
