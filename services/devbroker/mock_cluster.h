#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/status.h"

namespace claims::devbroker {

// librdkafka's mock Kafka cluster, listening on 127.0.0.1, with fault injection. The brokers run
// on librdkafka's own thread; every method only sends it a command.
//
// Thread-safe. Data lives in memory only, and each partition keeps only about its last 5 MB (at
// most 100000 produce batches): older records vanish silently.
class MockCluster {
 public:
  // Starts `brokers` brokers with ids 1..brokers. With `tcp_nodelay`, sets TCP_NODELAY on their
  // listening sockets (the mock never does, which stalls small request/response pairs ~40 ms on
  // delayed ACKs; Linux hands the option down to accepted connections).
  static Result<std::unique_ptr<MockCluster>> Start(int brokers, bool tcp_nodelay);
  ~MockCluster();

  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:PORT,..." one per broker.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int broker_count() const { return broker_count_; }
  bool tcp_nodelay() const { return tcp_nodelay_; }

  // Creates `topic`; kAlreadyExists if it exists.
  Status CreateTopic(const std::string& topic, int partitions);

  // Sets TCP_NODELAY on every socket of this process bound to a broker port. Returns how many
  // of them were listening sockets (normally broker_count()).
  Result<int> ApplyTcpNoDelay();

  // Takes broker `id` down (disconnects clients, refuses new connections; no leader change) or
  // back up. kNotFound for an unknown id.
  Status SetBrokerUp(int id, bool up);
  // Brokers currently down, ascending.
  std::vector<int> DownBrokers() const;

  // Delays every response of broker `id` by `ms` milliseconds.
  Status SetRtt(int id, int ms);

  // Fails the next `count` requests with `api_key` (any broker) with `error_code`.
  Status PushRequestErrors(int16_t api_key, int count, int error_code);
  Status ClearRequestErrors(int16_t api_key);

  // Moves the leadership of a partition to broker `id`.
  Status SetLeader(const std::string& topic, int32_t partition, int id);

  // Partition count of every topic the cluster knows, by name.
  Result<std::map<std::string, int>> PartitionCounts(std::chrono::milliseconds timeout);

  struct PartitionInfo {
    int32_t partition = 0;
    int32_t leader = -1;
    int64_t high_watermark = -1;  // -1 when unknown (its leader is down)
  };
  // Leader and high watermark of each partition of `topic`, by partition.
  Result<std::vector<PartitionInfo>> DescribeTopic(const std::string& topic,
                                                   std::chrono::milliseconds timeout);

  // A Kafka error code from its librdkafka name ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT";
  // case-insensitive) or its number. kInvalidArgument when unknown.
  static Result<int> ErrorCodeByName(std::string_view name);
  // A Kafka protocol API key from its name ("Produce", "OffsetCommit"; case-insensitive) or
  // its number.
  static Result<int16_t> ApiKeyByName(std::string_view name);
  // The librdkafka name of an error code.
  static std::string ErrorName(int error_code);

  struct Handles;

 private:
  MockCluster() = default;

  Status CheckBroker(int id) const;

  std::unique_ptr<Handles> handles_;
  std::string bootstrap_servers_;
  int broker_count_ = 0;
  bool tcp_nodelay_ = true;
};

}  // namespace claims::devbroker
