#pragma once

#include <memory>
#include <string>

#include "libs/base/status.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"

namespace claims::store {

// RocksDB's figures of a process's stores in Prometheus form (StateStore::Stats), sampled at
// every scrape by a collector of the registry, never on a hot path. Each store is labelled
// `store` (the name given to Watch); per column family (`store`, `column_family`):
//   claims_store_live_sst_bytes              table files of the current version
//   claims_store_sst_bytes                   every table file, obsolete ones not yet deleted too
//   claims_store_estimated_live_data_bytes   the data itself, as compaction would leave it
//   claims_store_memtable_bytes              memtables, active and not yet flushed
//   claims_store_immutable_memtables         memtables waiting for a flush
//   claims_store_estimated_keys
//   claims_store_pending_compaction_bytes    what compaction has to rewrite
//   claims_store_level0_files
// per store (`store`):
//   claims_store_block_cache_capacity_bytes, claims_store_block_cache_usage_bytes,
//   claims_store_block_cache_pinned_bytes
//   claims_store_write_stopped               1 while RocksDB stops writes (a write stall)
//   claims_store_delayed_write_rate_bytes_per_second   the rate writes are slowed to, else 0
//   claims_store_running_compactions, claims_store_running_flushes
//   claims_store_background_errors_total     flush or compaction errors since the store opened
//   claims_store_stats_failures_total        scrapes that could not read the store (closed)
//
// Thread-safe. Register once per registry; the collector keeps what it needs alive, so this
// object may go before the registry.
class StoreMetrics {
 public:
  static Result<std::unique_ptr<StoreMetrics>> Register(runtime::MetricsRegistry& registry);

  ~StoreMetrics();
  StoreMetrics(const StoreMetrics&) = delete;
  StoreMetrics& operator=(const StoreMetrics&) = delete;

  // Samples `store` as store=`name` at every scrape from now on. `store` must outlive every
  // later scrape of the registry (stop the metrics server before closing it). Watching a second
  // store under the same name is a programmer error: their series would mix.
  void Watch(std::string name, const StateStore& store);

 private:
  struct Shared;
  explicit StoreMetrics(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace claims::store
