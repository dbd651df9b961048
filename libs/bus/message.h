#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "libs/base/status.h"

namespace claims::bus {

// One Kafka record header. Keys repeat (Kafka allows it) and values may hold any bytes. The
// pipeline puts the event type, event id and trace id here for tools that do not parse protobuf.
struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};
using Headers = std::vector<Header>;

// Returns the value of the first header named `key`, or nullptr when there is none. The pointer
// lives as long as `headers`.
const std::string* FindHeader(const Headers& headers, const std::string& key);

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// A partition and an offset in it. Wherever an offset is committed or sought, it is the offset
// of the NEXT record to read (last processed + 1), as in Kafka.
struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  friend auto operator<=>(const TopicPartitionOffset&, const TopicPartitionOffset&) = default;
};

// Lets the partitioner choose the partition from the key.
inline constexpr int32_t kAnyPartition = -1;

// A record to publish. An empty `key` is sent as a null key (a random partition); the pipeline
// always keys by member id so that one member's events stay in one partition, in order.
struct OutgoingMessage {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  int32_t partition = kAnyPartition;
};

// The outcome of publishing one OutgoingMessage. When `status` is ok the record is durable on
// all in-sync replicas (acks=all) at (`partition`, `offset`); otherwise partition and offset are
// -1 unless the broker reported them. See libs/bus/errors.h for what each status code means.
struct Delivery {
  Status status;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// A consumed record. `has_key` tells a null key from an empty one.
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  bool has_key = false;
  std::string key;
  std::string value;
  Headers headers;
  int64_t timestamp_ms = -1;  // -1 when the record carries none
};

}  // namespace claims::bus
