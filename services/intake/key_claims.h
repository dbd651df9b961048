#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/events/topics.h"
#include "libs/store/state_store.h"
#include "services/intake/ports.h"

namespace claims::intake {

using events::kCallsTopic;

// Column family of the key holders this replica has read from the calls log:
// partner \0 idempotency key -> the first call appended under it (IdempotencyRecord).
inline constexpr char kKeyHoldersCf[] = "key_holders";

// KeyClaims over Kafka. The calls log, intake.calls.v1, is keyed by partner \0 idempotency key,
// so every call under a key lands in one partition, in one order that every replica reads the
// same; the topic has one partition (one produce request for a whole group of calls). Each
// replica reads the log in full into kKeyHoldersCf, keeping only the first call of each key,
// with the offset read, in one store write without fsync per read (a write lost in a crash is
// read again from the log, from the offset stored before it).
//
// ClaimAll appends the claims, each naming this replica (IdempotencyRecord.claimed_by), then
// reads the log up to them: every call appended before them, by any replica, is then known, so
// the holder of each key is the first of those. When the log
// had been read to its end and the claims follow it without a gap (no other replica appended
// meanwhile, the usual case), there is nothing else to read: the claims are applied as appended,
// one produce round trip in all. Claims from different threads are taken one batch at a time
// (the reads are this object's alone).
//
// Retention: the topic keeps calls at least as long as intake keeps idempotency records
// (--idempotency-retention-days); PurgeIdempotencyKeys drops old holders with old records.
class KafkaKeyClaims : public KeyClaims {
 public:
  // `replica` names this replica in the log; empty: 96 random bits (a restarted process is
  // another replica).
  KafkaKeyClaims(store::StateStore& store, bus::Producer& producer,
                 std::unique_ptr<bus::Consumer> consumer, std::string topic = kCallsTopic,
                 std::string replica = "");

  // Reads the log from the offsets in the store to its end: the calls appended before this
  // replica came up. Call before serving (ClaimAll reads whatever is left, but a first call
  // would wait for it).
  Status CatchUp(std::chrono::milliseconds timeout);

  std::vector<Result<mutualaid::intake::v1::storage::IdempotencyRecord>> ClaimAll(
      const std::vector<Claim>& claims, std::chrono::milliseconds timeout) override;

  // Reads, every `interval` until `stop`, what other replicas appended while this one claimed
  // nothing, so that the consumer's buffer stays small and a claim after a quiet spell has
  // little to read. Does nothing before CatchUp. Failures are retried on the next round; returns
  // early only with a fatal error (kAborted).
  Status Follow(const std::atomic<bool>& stop,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

  const std::string& replica() const override { return replica_; }

  // Calls read from the log so far, or applied as appended (for tests).
  uint64_t calls_read() const;

 private:
  // Assigns every partition of the topic from the stored offsets, once. Under mu_.
  Status Assign(std::chrono::milliseconds timeout);
  // Makes `call` the holder of `record_key` in `batch` unless the store or the batch
  // (`held_in_batch`: key -> holder) has one already; returns the holder's bytes. Under mu_.
  Result<std::string> Hold(const std::string& record_key, const std::string& call,
                           store::WriteBatch& batch,
                           std::map<std::string, std::string>& held_in_batch);
  // Polls once, waiting at most `wait`, and applies the calls it gets (one store write);
  // returns how many events the poll returned. Under mu_.
  Result<size_t> ReadOnce(std::chrono::milliseconds wait);
  // ReadOnce without waiting, until nothing is left (at most 64 polls). Under mu_.
  Status ReadAvailable();
  // Reads until every partition in `targets` is read up to its offset (exclusive), applying
  // what it reads. DEADLINE_EXCEEDED past `deadline`. Under mu_.
  Status ReadTo(const std::map<int32_t, int64_t>& targets,
                std::chrono::steady_clock::time_point deadline);

  store::StateStore& store_;
  bus::Producer& producer_;
  std::unique_ptr<bus::Consumer> consumer_;
  const std::string topic_;
  const std::string replica_;
  mutable std::mutex mu_;
  bool assigned_ = false;
  std::map<int32_t, int64_t> next_;  // partition -> the next offset to read
  uint64_t calls_read_ = 0;
};

}  // namespace claims::intake
