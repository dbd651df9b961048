#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/message.h"
#include "libs/runtime/log.h"

namespace claims::bus {

// How to reach the cluster and tune the consumer. The consumer always sets
// partition.assignment.strategy=cooperative-sticky, enable.auto.commit=false,
// enable.auto.offset.store=false, isolation.level=read_committed and auto.offset.reset=earliest
// (a group with no committed offset reads a partition from its start, which is how a processor
// with no local state rebuilds it).
struct ConsumerOptions {
  std::string bootstrap_servers;
  std::string group_id;  // required by Subscribe; unused by Assign
  std::string client_id = "claims";
  // The group evicts a member silent for this long. The dev broker makes a member joining a
  // non-empty group wait about session_timeout_ms - 1 s, so tests use 6000 (the minimum).
  int session_timeout_ms = 10000;
  // How long Close lets a member that is joining the group finish joining, so that it can be
  // destroyed (librdkafka before 2.3 aborts otherwise; see consumer.cc). A member still joining
  // after that leaves the group and its handle is kept until the process exits. -1: the
  // session timeout.
  int close_join_wait_ms = -1;
  // How long Close waits, after that, for librdkafka to finish leaving the group. librdkafka 2.0
  // can wait forever there (a rebalance arriving while it closes: librdkafka issue 4527). A
  // member not closed in time keeps its handle until the process exits, and Close returns
  // kDeadlineExceeded: shutdown goes on, and the member leaves the group when the process exits
  // (or is evicted before).
  int close_timeout_ms = 10000;
  // How long the broker holds a fetch with no data. The dev broker needs 1-5 ms to keep
  // latency low; on a real cluster 100-500 ms is kinder to the brokers.
  int fetch_wait_max_ms = 5;
  // Copy each record's headers into Message::headers. A consumer that reads only keys and
  // values (a fold over envelopes) turns this off: headers cost several allocations a record.
  bool read_headers = true;
  // Any librdkafka property, applied LAST, so it overrides everything above.
  std::map<std::string, std::string> properties;
  // Where librdkafka's own log lines go, as ProducerOptions::logger. Must outlive the consumer.
  const runtime::Logger* logger = nullptr;
};

// One thing that happened, in the order it happened.
struct ConsumerEvent {
  enum class Kind {
    kMessage,   // `message` is the next record of its partition
    kAssigned,  // `partitions` are now ours (added to what we had: cooperative rebalancing)
    kRevoked,   // `partitions` are no longer ours; `lost` if they were taken without a handover
    kError,     // `error` is informational and non-fatal; the consumer recovers by itself
  };
  Kind kind = Kind::kMessage;
  Message message;
  std::vector<TopicPartition> partitions;
  bool lost = false;
  Status error;
};

// Reads records as a member of a consumer group (Subscribe) or from explicit partitions with no
// group (Assign, for replay and audit). Offsets are committed only by Commit, never
// automatically, and only explicit offsets are committed.
//
// Not thread-safe: one thread owns a Consumer and makes every call. Rebalances happen inside
// Poll and are reported by it, so the owner sees them in order with the records.
class Consumer {
 public:
  // kInvalidArgument for a bad property.
  static Result<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options);

  // Leaves the group (Close) if still in it.
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Joins the group for `topics`. Assignments arrive later through Poll.
  Status Subscribe(const std::vector<std::string>& topics);

  // Reads exactly these partitions from these offsets, outside any group; replaces any earlier
  // Assign. Offsets may also be kBeginning or kEnd.
  static constexpr int64_t kBeginning = -2;
  static constexpr int64_t kEnd = -1;
  Status Assign(const std::vector<TopicPartitionOffset>& partitions);

  // Waits up to `timeout` for something to happen, then returns it and whatever else is
  // already available, at most `max_events`, in order. An empty vector means nothing happened.
  // By the time a kRevoked event is returned those partitions are already gone: records of them
  // are no longer returned and committing their offsets may fail with kFailedPrecondition. By
  // the time kAssigned is returned the partitions are fetching from their committed offset (or
  // the start); Seek to start elsewhere. Only a fatal error (kAborted) is returned as a Status.
  Result<std::vector<ConsumerEvent>> Poll(std::chrono::milliseconds timeout,
                                          size_t max_events = 1000);

  // Commits, synchronously, the offset of the NEXT record to read for each partition.
  // kFailedPrecondition without a group_id.
  Status Commit(const std::vector<TopicPartitionOffset>& offsets,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The group's committed offset (next record to read) of `partition`, or nullopt if none.
  Result<std::optional<int64_t>> Committed(const TopicPartition& partition,
                                           std::chrono::milliseconds timeout);

  // Moves an assigned partition so the next record returned for it is at `offset`. Records of
  // it already fetched but not yet returned are discarded.
  Status Seek(const TopicPartitionOffset& position, std::chrono::milliseconds timeout);

  // The partitions currently assigned to this consumer, sorted.
  Result<std::vector<TopicPartition>> Assignment();

  // The log's first offset and the offset the next record will get (low, high).
  Result<std::pair<int64_t, int64_t>> Watermarks(const TopicPartition& partition,
                                                 std::chrono::milliseconds timeout);

  // The high watermark as of the last fetch of `partition` (no broker call; for lag metrics).
  // NOT_FOUND until a fetch of the partition returned one.
  Result<int64_t> CachedHighWatermark(const TopicPartition& partition);

  // How many partitions `topic` has, from the cluster's metadata.
  Result<int32_t> PartitionCount(const std::string& topic, std::chrono::milliseconds timeout);

  // The group's rebalance protocol: "NONE" until the coordinator answered this member's first
  // JoinGroup, then "COOPERATIVE" (or "EAGER" if the properties chose an eager assignor).
  std::string RebalanceProtocol() const;

  // Leaves the group, revoking everything (no event is returned for that), within about
  // close_join_wait_ms + close_timeout_ms. Idempotent: a later Close answers as the first did. The
  // Consumer accepts no other call afterwards.
  Status Close();

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  Status CloseOnce();
  std::unique_ptr<Impl> impl_;
};

}  // namespace claims::bus
