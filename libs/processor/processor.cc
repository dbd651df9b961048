#include "libs/processor/processor.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include "libs/base/parallel.h"

namespace claims::processor {
namespace {

using Clock = std::chrono::steady_clock;

// Below this many records a batch folds on the calling thread: starting threads would cost more.
constexpr size_t kMinRecordsToFoldInParallel = 2000;

// Log lines name topics, partitions, offsets, statuses and the ids in output headers; never a
// record's key or value.
std::string HeaderOr(const bus::Headers& headers, const std::string& key) {
  const std::string* value = bus::FindHeader(headers, key);
  return value == nullptr ? std::string() : *value;
}

}  // namespace

struct Processor::Partition {
  std::unique_ptr<PartitionFold> fold;
  int64_t next_offset = 0;   // offset of the next record to fold
  int64_t silent_until = 0;  // records before this offset fold without publishing
  // Until the first live batch after the restore is done: the log end at the restore. Live
  // records before it may have been folded and published before (ProcessorStats::
  // outputs_republished). 0 afterwards.
  int64_t republish_until = 0;
  std::vector<bus::Message> pending;
  // Records of this partition still in the current Poll result were fetched before the Seek
  // that Restore made; they are dropped.
  bool drop_rest_of_poll = false;
  bool stalled = false;
  Clock::time_point retry_at;
  std::chrono::milliseconds backoff{0};
};

Processor::Processor(ProcessorOptions options, bus::Consumer& consumer, bus::Producer& producer,
                     store::StateStore& store, FoldFactory factory)
    : options_(std::move(options)),
      own_logger_(options_.logger == nullptr ? std::make_unique<runtime::Logger>("processor")
                                             : nullptr),
      logger_(options_.logger != nullptr ? options_.logger : own_logger_.get()),
      consumer_(consumer),
      producer_(producer),
      store_(store),
      factory_(std::move(factory)) {
  if (options_.metrics != nullptr) metrics_ = options_.metrics->ForTopic(options_.input_topic);
}

void Processor::UpdatePartitionGauges() {
  if (!metrics_) return;
  size_t stalled = 0;
  for (const auto& [p, part] : partitions_) stalled += part->stalled ? 1 : 0;
  metrics_->partitions_assigned->Set(static_cast<double>(partitions_.size()));
  metrics_->partitions_stalled->Set(static_cast<double>(stalled));
}

Processor::~Processor() = default;

void Processor::Reset(int32_t partition, const Status& why) {
  Partition& part = *partitions_[partition];
  part.fold.reset();
  part.pending.clear();
  part.stalled = true;
  part.backoff = std::clamp(part.backoff * 2, options_.min_backoff, options_.max_backoff);
  part.retry_at = Clock::now() + part.backoff;
  UpdatePartitionGauges();
  logger_->Warn("partition reset; it restores from the store after a backoff",
                {{"topic", options_.input_topic},
                 {"partition", partition},
                 {"retry_in_ms", static_cast<int64_t>(part.backoff.count())},
                 {"status", why}});
}

Status Processor::Restore(int32_t partition) {
  auto& slot = partitions_[partition];
  const std::chrono::milliseconds previous_backoff = slot ? slot->backoff : options_.min_backoff;
  slot = std::make_unique<Partition>();
  slot->backoff = previous_backoff;
  Partition& part = *slot;

  Result<std::optional<int64_t>> stored = store_.ReadOffset(options_.input_topic, partition);
  if (!stored.ok()) return stored.status();  // the store itself failed: a restart must handle it
  Result<std::optional<int64_t>> committed =
      consumer_.Committed({options_.input_topic, partition}, options_.broker_timeout);
  if (!committed.ok()) {
    Reset(partition, committed.status());
    return Status::Ok();
  }
  Result<std::unique_ptr<PartitionFold>> fold = factory_(partition, store_);
  if (!fold.ok()) {
    Reset(partition, fold.status());
    return Status::Ok();
  }
  part.fold = std::move(fold).value();
  part.next_offset = stored->value_or(0);
  part.silent_until = std::max(part.next_offset, committed->value_or(0));
  const Status seek =
      consumer_.Seek({options_.input_topic, partition, part.next_offset}, options_.broker_timeout);
  if (!seek.ok()) {
    Reset(partition, seek);
    return Status::Ok();
  }
  part.drop_rest_of_poll = true;
  // Records already in the log may have been folded and published by an earlier owner (or by
  // this one before a failed batch). When the log end cannot be read (soon: this only counts),
  // every record of the first live batch counts.
  Result<std::pair<int64_t, int64_t>> marks =
      consumer_.Watermarks({options_.input_topic, partition},
                           std::min(options_.broker_timeout, std::chrono::milliseconds(1000)));
  part.republish_until = marks.ok() ? marks->second : std::numeric_limits<int64_t>::max();
  stats_.partitions_restored++;
  if (metrics_) metrics_->partitions_restored->Increment();
  UpdatePartitionGauges();
  logger_->Info("partition restored",
                {{"topic", options_.input_topic},
                 {"partition", partition},
                 {"offset", part.next_offset},
                 {"group_offset", committed->has_value() ? **committed : int64_t{-1}},
                 {"silent_records", part.silent_until - part.next_offset},
                 {"log_end", marks.ok() ? marks->second : int64_t{-1}}});
  return Status::Ok();
}

void Processor::Backoff() {
  backoff_ = std::clamp(backoff_ * 2, options_.min_backoff, options_.max_backoff);
  std::this_thread::sleep_for(backoff_);
}

Status Processor::ProcessBatch() {
  const Clock::time_point batch_start = Clock::now();
  store::WriteBatch all;
  std::vector<bus::OutgoingMessage> outputs;
  std::vector<bool> republished;  // per output
  std::vector<bus::TopicPartitionOffset> commits;
  std::vector<Partition*> live;  // partitions with live records in this batch
  uint64_t folded = 0;
  uint64_t silent = 0;
  // Fold each partition's records into its own batch. Partitions are independent (one fold
  // object each, each in offset order), so with fold_threads > 1 they fold side by side; the
  // results are then taken in partition order, so the outputs and the store write are the same
  // whatever the threads did.
  struct Work {
    int32_t partition;
    Partition* part;
    store::WriteBatch batch;
    std::vector<bus::OutgoingMessage> outs;
    std::vector<bool> republished;  // per output of `outs`
    Status status;
    uint64_t silent = 0;
  };
  std::vector<Work> work;
  size_t records = 0;
  for (auto& [p, part] : partitions_) {
    if (part->stalled || part->pending.empty()) continue;
    work.push_back(Work{p, part.get(), {}, {}, {}, Status::Ok(), 0});
    records += part->pending.size();
  }
  auto fold = [](Work& w) {
    Partition& part = *w.part;
    for (const bus::Message& m : part.pending) {
      if (m.offset < part.silent_until) {
        w.status = part.fold->ApplySilently(m, w.batch);
        ++w.silent;
      } else {
        w.status = part.fold->Apply(m, w.batch, w.outs);
        w.republished.resize(w.outs.size(), m.offset < part.republish_until);
      }
      if (!w.status.ok()) return;
    }
    w.status = part.fold->Finish(w.batch);
  };
  ForEachIndex(work.size(), records >= kMinRecordsToFoldInParallel ? options_.fold_threads : 1,
               [&](size_t i) { fold(work[i]); });
  for (Work& w : work) {
    Partition& part = *w.part;
    if (!w.status.ok()) {
      Reset(w.partition, w.status);
      stats_.batches_abandoned++;
      if (metrics_) metrics_->batches_abandoned->Increment();
      continue;
    }
    const int64_t next = part.pending.back().offset + 1;
    w.batch.SetOffset(options_.input_topic, w.partition, next);
    all.Append(w.batch);
    outputs.insert(outputs.end(), std::make_move_iterator(w.outs.begin()),
                   std::make_move_iterator(w.outs.end()));
    republished.insert(republished.end(), w.republished.begin(), w.republished.end());
    commits.push_back({options_.input_topic, w.partition, next});
    if (w.silent < part.pending.size()) live.push_back(&part);
    folded += part.pending.size();
    silent += w.silent;
    part.pending.clear();
  }
  if (commits.empty()) return Status::Ok();
  if (options_.test_hook) options_.test_hook(Step::kFolded, batches_done_);

  std::vector<bus::Delivery> deliveries;
  if (!outputs.empty()) {
    deliveries = producer_.ProduceAll(outputs, options_.publish_timeout);
    Status failed;
    for (const bus::Delivery& d : deliveries) {
      if (!d.status.ok()) {
        failed = d.status;
        break;
      }
    }
    if (!failed.ok()) {
      const Status fatal = producer_.FatalError();
      if (!fatal.ok()) return fatal;
      // Nothing is written: the store still reflects the offsets before this batch, so every
      // partition of it folds again from there (and re-publishes identical outputs).
      for (const bus::TopicPartitionOffset& c : commits) Reset(c.partition, failed);
      stats_.batches_abandoned++;
      if (metrics_) metrics_->batches_abandoned->Increment();
      Backoff();
      return Status::Ok();
    }
    if (options_.log_outputs) LogOutputs(outputs, deliveries, republished);
  }
  if (options_.test_hook) options_.test_hook(Step::kPublished, batches_done_);

  // A batch folded entirely in silence published nothing: if it is lost in a crash, the same
  // records fold silently again. Only batches that published need the fsync.
  const Status written =
      store_.Write(all, silent == folded ? store::Durability::kNoSync : store::Durability::kSync);
  if (!written.ok()) return written;
  if (options_.test_hook) options_.test_hook(Step::kStoreWritten, batches_done_);

  // The store's offset is what this replica resumes from; the group's offset only tells a new
  // owner how far it may fold silently. A failed commit (a rebalance under way) loses nothing:
  // at worst a new owner re-publishes outputs that consumers drop.
  // A batch folded entirely in silence is behind the group's offsets already: nothing to commit.
  const Status committed =
      silent == folded ? Status::Ok() : consumer_.Commit(commits, options_.broker_timeout);
  if (!committed.ok()) {
    stats_.group_commit_failures++;
    if (metrics_) metrics_->group_commit_failures->Increment();
    logger_->Warn("group commit failed; the state is safe in the store",
                  {{"topic", options_.input_topic}, {"status", committed}});
  }
  if (options_.test_hook) options_.test_hook(Step::kCommitted, batches_done_);

  // The first live batch after each restore is done: later outputs are new.
  for (Partition* part : live) part->republish_until = 0;
  const auto again =
      static_cast<uint64_t>(std::count(republished.begin(), republished.end(), true));
  stats_.records_folded += folded;
  stats_.records_silent += silent;
  stats_.outputs_published += outputs.size();
  stats_.outputs_republished += again;
  stats_.batches_committed++;
  if (metrics_) {
    metrics_->records_live->Increment(static_cast<double>(folded - silent));
    metrics_->records_silent->Increment(static_cast<double>(silent));
    metrics_->outputs_published->Increment(static_cast<double>(outputs.size()));
    metrics_->outputs_republished->Increment(static_cast<double>(again));
    metrics_->batches_committed->Increment();
    metrics_->batch_seconds->Observe(
        std::chrono::duration<double>(Clock::now() - batch_start).count());
    for (const bus::TopicPartitionOffset& c : commits) {
      Result<int64_t> high = consumer_.CachedHighWatermark({c.topic, c.partition});
      if (high.ok()) {
        options_.metrics->Lag(c.topic, c.partition)
            .Set(static_cast<double>(std::max<int64_t>(0, *high - c.offset)));
      }
    }
  }
  ++batches_done_;
  backoff_ = std::chrono::milliseconds(0);
  return Status::Ok();
}

void Processor::LogOutputs(const std::vector<bus::OutgoingMessage>& outputs,
                           const std::vector<bus::Delivery>& deliveries,
                           const std::vector<bool>& republished) const {
  if (!logger_->Enabled(runtime::LogLevel::kInfo)) return;
  for (size_t i = 0; i < outputs.size() && i < deliveries.size(); ++i) {
    const bus::OutgoingMessage& o = outputs[i];
    logger_->Info("output published", {{"trace_id", HeaderOr(o.headers, "trace-id")},
                                       {"type", HeaderOr(o.headers, "type")},
                                       {"event_id", HeaderOr(o.headers, "event-id")},
                                       {"topic", o.topic},
                                       {"partition", deliveries[i].partition},
                                       {"offset", deliveries[i].offset},
                                       {"republished", static_cast<bool>(republished[i])}});
  }
}

bool Processor::Restoring() const {
  for (const auto& [p, part] : partitions_) {
    if (!part->stalled && part->next_offset < part->silent_until) return true;
  }
  return false;
}

Status Processor::Run(const std::atomic<bool>& stop) {
  Status s = consumer_.Subscribe({options_.input_topic});
  if (!s.ok()) return s;
  size_t pending = 0;
  Clock::time_point batch_deadline;
  const std::chrono::milliseconds idle_poll = std::chrono::milliseconds(50);

  while (true) {
    const bool stopping = stop.load();
    if (!stopping) {
      std::chrono::milliseconds timeout = idle_poll;
      if (pending > 0) {
        timeout = std::max(
            std::chrono::milliseconds(0),
            std::chrono::duration_cast<std::chrono::milliseconds>(batch_deadline - Clock::now()));
      }
      const size_t room = Restoring() && options_.max_restore_batch_records > pending
                              ? options_.max_restore_batch_records - pending
                              : options_.max_batch_records;
      Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, room);
      if (!events.ok()) return events.status();  // fatal
      for (bus::ConsumerEvent& e : *events) {
        switch (e.kind) {
          case bus::ConsumerEvent::Kind::kAssigned:
            for (const bus::TopicPartition& tp : e.partitions) {
              if (tp.topic != options_.input_topic) continue;
              s = Restore(tp.partition);
              if (!s.ok()) return s;
            }
            break;
          case bus::ConsumerEvent::Kind::kRevoked:
            for (const bus::TopicPartition& tp : e.partitions) {
              auto it = partitions_.find(tp.partition);
              if (it == partitions_.end()) continue;
              // Unfolded records are left to the next owner, which folds them the same way.
              pending -= it->second->pending.size();
              partitions_.erase(it);
              if (options_.metrics != nullptr) {
                options_.metrics->Lag(options_.input_topic, tp.partition).Set(0);
              }
              UpdatePartitionGauges();
              logger_->Info(e.lost ? "partition lost" : "partition revoked",
                            {{"topic", options_.input_topic}, {"partition", tp.partition}});
            }
            break;
          case bus::ConsumerEvent::Kind::kError:
            logger_->Warn("consumer error", {{"topic", options_.input_topic}, {"status", e.error}});
            break;
          case bus::ConsumerEvent::Kind::kMessage: {
            auto it = partitions_.find(e.message.partition);
            if (it == partitions_.end()) break;
            Partition& part = *it->second;
            if (part.stalled || part.drop_rest_of_poll) break;
            if (e.message.offset < part.next_offset) break;  // already folded
            if (pending == 0) {
              batch_deadline = Clock::now() + (e.message.offset < part.silent_until
                                                   ? options_.max_restore_batch_time
                                                   : options_.max_batch_time);
            }
            part.next_offset = e.message.offset + 1;
            part.pending.push_back(std::move(e.message));
            ++pending;
            break;
          }
        }
      }
      for (auto& [p, part] : partitions_) part->drop_rest_of_poll = false;
    }
    // Retry stalled partitions whose backoff has passed.
    const Clock::time_point now = Clock::now();
    for (auto& [p, part] : partitions_) {
      if (part->stalled && now >= part->retry_at && !stopping) {
        s = Restore(p);
        if (!s.ok()) return s;
      }
    }
    const size_t batch_limit =
        Restoring() ? std::max(options_.max_restore_batch_records, options_.max_batch_records)
                    : options_.max_batch_records;
    if (pending > 0 && (stopping || pending >= batch_limit || Clock::now() >= batch_deadline)) {
      s = ProcessBatch();
      if (!s.ok()) return s;
      pending = 0;
      for (auto& [p, part] : partitions_) pending += part->pending.size();
    }
    if (stopping && pending == 0) break;
    if (stopping) {
      // Stalled partitions keep their records pending; they are not ours to finish now.
      size_t unstalled = 0;
      for (auto& [p, part] : partitions_) unstalled += part->stalled ? 0 : part->pending.size();
      if (unstalled == 0) break;
    }
  }
  return consumer_.Close();
}

}  // namespace claims::processor
