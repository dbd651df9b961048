#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/producer.h"

namespace claims::intake {

// Writes tombstones, records with a null value, to the compacted key topic: Kafka compaction
// then drops every earlier record of those key ids, and every reader of the topic treats the key
// as destroyed. Thread-safe.
class KeyTombstoneWriter {
 public:
  virtual ~KeyTombstoneWriter() = default;
  // One tombstone per key id (the record key), returning once every one is acknowledged on all
  // in-sync replicas. UNAVAILABLE or DEADLINE_EXCEEDED: some may not be written; writing them
  // again is harmless.
  virtual Status Write(const std::string& topic, const std::vector<std::string>& key_ids,
                       std::chrono::milliseconds timeout) = 0;
};

// KeyTombstoneWriter over librdkafka directly, with its own short-lived producer per call
// (erasures are rare). A stopgap: bus::Producer cannot send a null value (an empty `value` is
// sent as an empty, non-null one), so this narrow adapter does it until bus::OutgoingMessage can
// say "null"; then it should become a bus::Producer call. It uses the same settings as the bus
// producer where they matter: acks=all, idempotence, and the murmur2_random partitioner, so a
// tombstone lands in the partition of the records it deletes.
class KafkaKeyTombstoneWriter : public KeyTombstoneWriter {
 public:
  // Uses options.bootstrap_servers, client_id and properties (applied last, as in bus).
  explicit KafkaKeyTombstoneWriter(bus::ProducerOptions options) : options_(std::move(options)) {}
  Status Write(const std::string& topic, const std::vector<std::string>& key_ids,
               std::chrono::milliseconds timeout) override;

 private:
  bus::ProducerOptions options_;
};

}  // namespace claims::intake
