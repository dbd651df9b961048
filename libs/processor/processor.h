#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/bus/message.h"
#include "libs/bus/producer.h"
#include "libs/processor/processor_metrics.h"
#include "libs/runtime/log.h"
#include "libs/store/state_store.h"

// The one mechanism every stateful service (adjudication, payout) runs: consume a topic, fold
// each partition's records into local state, publish the outputs, and make all of it effectively
// once by determinism (DESIGN.md): publish a batch's outputs and wait for the acks, then write
// state + input offset in one RocksDB batch, then commit the offset to the group. A crash
// anywhere re-publishes identical outputs at worst, which consumers drop by (member, sequence).
namespace claims::processor {

// The service's fold of one partition. Opened on assignment over the state the store holds,
// which reflects every record of the partition before the store's offset.
class PartitionFold {
 public:
  virtual ~PartitionFold() = default;

  // Folds one record. Appends the records to publish to `outputs`, in order, and the state
  // changes to `batch`. Must be deterministic: a function of the record, the store as of this
  // fold's opening, and what this object folded since (it must see its own staged changes,
  // usually through an in-memory cache). If a batch is abandoned, the processor discards this
  // object and opens a new one, so no cache can get ahead of the store.
  // An error stalls the partition: nothing of the batch is published or written, and the
  // partition is retried from the store after a backoff (e.g. an unknown plan version).
  virtual Status Apply(const bus::Message& input, store::WriteBatch& batch,
                       std::vector<bus::OutgoingMessage>& outputs) = 0;

  // Folds one record whose outputs were published before (restore: the silent fold up to the
  // group's committed offset). Must change state exactly as Apply does; a fold may override it
  // to skip encoding outputs nobody will publish. Default: Apply, outputs discarded.
  virtual Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) {
    std::vector<bus::OutgoingMessage> discarded;
    return Apply(input, batch, discarded);
  }

  // Called once after the last record of a batch of this partition, before the offset is set: a
  // fold that keeps changed state in memory stages it into `batch` here. An error stalls the
  // partition as Apply's does. Default: nothing to add.
  virtual Status Finish(store::WriteBatch& batch) {
    (void)batch;
    return Status::Ok();
  }
};

// Opens the fold of `partition` over `store`. Called on assignment and after every reset.
using FoldFactory =
    std::function<Result<std::unique_ptr<PartitionFold>>(int32_t partition, store::StateStore&)>;

// Points in the processing of a batch, for crash tests (see ProcessorOptions::test_hook).
enum class Step {
  kFolded,        // outputs computed; nothing published yet
  kPublished,     // every output acknowledged; the store not yet written
  kStoreWritten,  // state + offsets written; the group not yet committed
  kCommitted,     // the group committed
};

struct ProcessorOptions {
  std::string input_topic;
  // A batch closes at this many records or this long after its first record.
  size_t max_batch_records = 1000;
  std::chrono::milliseconds max_batch_time{5};
  // While any partition folds silently (restore), batches may grow to this many records: a
  // silent batch publishes nothing and its store write needs no fsync (a crash only means
  // folding the same records silently again), so fewer, larger batches restore faster.
  size_t max_restore_batch_records = 100000;
  std::chrono::milliseconds max_restore_batch_time{200};
  // How long to wait for the outputs' acks before the batch is abandoned and retried.
  std::chrono::milliseconds publish_timeout{30000};
  // Backoff after a failed batch or a stalled partition: doubles from min to max.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds broker_timeout{10000};  // Committed, Seek, Commit
  // Threads that fold the partitions of one batch side by side (each partition stays on one
  // thread, in offset order). More than 1 only for folds whose partitions share nothing but
  // thread-safe things (the store, read-only plans); 1 folds everything on Run's thread.
  size_t fold_threads = 1;
  // Where to count in Prometheus form (optional; shared by every processor of a process).
  ProcessorMetrics* metrics = nullptr;
  // Where the operational lines go (restores, resets, revocations, failed group commits), as
  // JSON lines with the input topic. Null: a logger of the processor's own, to stderr. Must
  // outlive the processor.
  const runtime::Logger* logger = nullptr;
  // Also one Info line per output once it is acknowledged, "output published", with what its
  // headers "trace-id", "type" and "event-id" say (every envelope record has them, see
  // libs/events/event_log.h), its topic, partition and offset, and "republished": true when it
  // counts as republished (see ProcessorStats). Never the record's key or value.
  bool log_outputs = false;
  // TEST-ONLY: called at each Step of each batch with the number of batches completed before.
  std::function<void(Step, uint64_t batch)> test_hook;
};

// Counters, readable from any thread while Run goes on.
struct ProcessorStats {
  std::atomic<uint64_t> records_folded{0};  // live and silent
  std::atomic<uint64_t> records_silent{0};  // folded without publishing (restore)
  std::atomic<uint64_t> outputs_published{0};
  // Outputs that may have been published before, by an earlier owner of the partition or by
  // this one before a failed batch: those of records that were already in the log when their
  // partition was restored (below its high watermark then) and that the first live batch of the
  // partition after the restore folded. The processor cannot tell which of them really were
  // published before: nothing records how far a crashed owner got past the group's offset. So
  // this counts from above for what a crash or a failed publish leaves (at most that one batch
  // was in flight; records that were only waiting in the log count too), and from below when
  // an owner went several batches past a group offset it failed to commit. Included in
  // outputs_published.
  std::atomic<uint64_t> outputs_republished{0};
  std::atomic<uint64_t> batches_committed{0};
  std::atomic<uint64_t> batches_abandoned{0};  // publish failed or a fold stalled
  std::atomic<uint64_t> partitions_restored{0};
  std::atomic<uint64_t> group_commit_failures{0};
};

// Runs the loop on the calling thread. The consumer must be created for a group and not yet
// subscribed; the processor owns the subscription. Not thread-safe apart from `stats()` and the
// stop flag.
class Processor {
 public:
  Processor(ProcessorOptions options, bus::Consumer& consumer, bus::Producer& producer,
            store::StateStore& store, FoldFactory factory);
  ~Processor();

  // Subscribes and processes until `stop` becomes true; then finishes the batch at hand (its
  // outputs published, state written, offsets committed) and returns Ok. Returns an error only
  // for what a restart must handle: a fatal Kafka error (kAborted) or a failed store write
  // (kDataLoss, kResourceExhausted...). Everything else is retried.
  Status Run(const std::atomic<bool>& stop);

  const ProcessorStats& stats() const { return stats_; }

 private:
  struct Partition;
  Status Restore(int32_t partition);
  bool Restoring() const;
  void UpdatePartitionGauges();
  void Reset(int32_t partition, const Status& why);
  Status ProcessBatch();
  void Backoff();
  // One "output published" line per output (options_.log_outputs).
  void LogOutputs(const std::vector<bus::OutgoingMessage>& outputs,
                  const std::vector<bus::Delivery>& deliveries,
                  const std::vector<bool>& republished) const;

  ProcessorOptions options_;
  std::unique_ptr<runtime::Logger> own_logger_;  // when options_.logger is null
  const runtime::Logger* logger_;
  bus::Consumer& consumer_;
  bus::Producer& producer_;
  store::StateStore& store_;
  FoldFactory factory_;
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  ProcessorStats stats_;
  std::optional<ProcessorMetrics::Series> metrics_;
  uint64_t batches_done_ = 0;
  std::chrono::milliseconds backoff_{0};
};

}  // namespace claims::processor
