#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/message.h"
#include "libs/runtime/log.h"

namespace claims::bus {

// How to reach the cluster and tune the producer. The producer always sets acks=all,
// enable.idempotence=true and partitioner=murmur2_random (the Java client's partitioner: a
// keyed record goes to murmur2(key) % partitions, the same partition any Java-compatible client
// picks, so one member's events stay in one partition, in order, as long as the partition count
// does not change; a null key goes to a random partition).
struct ProducerOptions {
  std::string bootstrap_servers;  // "host:port,host:port"
  std::string client_id = "claims";
  // How long a record may wait to be batched with others. Small, because intake answers its
  // caller only after the record is acknowledged.
  int linger_ms = 5;
  // How long librdkafka keeps retrying a record before its Delivery fails with
  // kDeadlineExceeded.
  int message_timeout_ms = 300000;
  // How long Produce waits for room when the local queue is full before kResourceExhausted.
  int enqueue_timeout_ms = 10000;
  // How long the destructor waits for outstanding deliveries before purging them.
  int close_timeout_ms = 10000;
  // Any librdkafka property ("security.protocol", "sasl.mechanisms", "batch.size", ...), applied
  // LAST, so it overrides everything above, including the defaults named in this comment.
  std::map<std::string, std::string> properties;
  // Where librdkafka's own log lines go (a broker unreachable, authentication failed...): JSON
  // lines "kafka: <facility>" with the client id and librdkafka's text, at the level of their
  // severity. Null: librdkafka prints them to stderr in its own format. Must outlive the
  // producer.
  const runtime::Logger* logger = nullptr;
};

// Publishes records to Kafka with an idempotent producer: retries never duplicate or reorder
// records within a partition. Every accepted record gets exactly one Delivery.
//
// Thread-safe: any thread may call Produce, ProduceAll and Flush concurrently. Delivery
// callbacks run on the producer's own delivery thread (or, for records still outstanding at
// destruction, on the destroying thread); they must be quick and must not call back into this
// Producer.
class Producer {
 public:
  using DeliveryCallback = std::function<void(const Delivery&)>;

  // Connects lazily: an unreachable cluster is not an error here; records wait for it.
  // kInvalidArgument for a bad property.
  static Result<std::unique_ptr<Producer>> Create(const ProducerOptions& options);

  // Waits up to close_timeout_ms for outstanding deliveries, then purges the rest (their
  // callbacks report kUnavailable: outcome unknown). Every callback has run when it returns.
  ~Producer();

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues `message`. On Ok, `on_delivery` runs exactly once later with the outcome. On error
  // (bad message, queue full past enqueue_timeout_ms, fatal producer) nothing was enqueued and
  // `on_delivery` never runs.
  Status Produce(const OutgoingMessage& message, DeliveryCallback on_delivery);

  // Publishes `messages` and waits until each has an outcome or `timeout` passes. Returns one
  // Delivery per message, in the same order. A message not acknowledged in time reports
  // kDeadlineExceeded (outcome unknown); one that could not be enqueued reports why.
  std::vector<Delivery> ProduceAll(const std::vector<OutgoingMessage>& messages,
                                   std::chrono::milliseconds timeout);

  // Waits until every record enqueued so far has its outcome (callbacks have run).
  // kDeadlineExceeded if some are still outstanding after `timeout`.
  Status Flush(std::chrono::milliseconds timeout);

  // Records enqueued whose callback has not run yet.
  size_t Outstanding() const;

  // Fetches the metadata of `topics` now, so that the first record to each does not wait for it
  // (on a fresh producer that wait can reach a second). kDeadlineExceeded or kUnavailable when
  // the cluster does not answer within `timeout`; the producer works either way.
  Status WarmUp(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);

  // kAborted with the reason once the producer hit a fatal error (see libs/bus/errors.h); Ok
  // otherwise. A fatal producer fails every later Produce; destroy it.
  Status FatalError() const;

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace claims::bus
