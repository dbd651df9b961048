#pragma once

#include <cstdint>
#include <string_view>

namespace claims::bus {

// Kafka's murmur2 of `key` (org.apache.kafka.common.utils.Utils.murmur2, seed 0x9747b28c), as a
// signed 32-bit value like Java's.
int32_t Murmur2(std::string_view key);

// The partition of `key` among `partitions` (> 0) as Kafka's Java client and our producers
// (librdkafka's murmur2_random, producer.h) choose it: murmur2(key) & 0x7fffffff modulo the count.
int32_t KafkaPartitionOf(std::string_view key, int32_t partitions);

}  // namespace claims::bus
