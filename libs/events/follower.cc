#include "libs/events/follower.h"

namespace claims::events {

Result<std::vector<bus::TopicPartitionOffset>> AssignFromStore(
    bus::Consumer& consumer, const store::StateStore& store, const std::vector<std::string>& topics,
    std::chrono::milliseconds timeout) {
  std::vector<bus::TopicPartitionOffset> assignment;
  for (const std::string& topic : topics) {
    Result<int32_t> partitions = consumer.PartitionCount(topic, timeout);
    if (!partitions.ok()) return partitions.status();
    for (int32_t p = 0; p < *partitions; ++p) {
      Result<std::optional<int64_t>> stored = store.ReadOffset(topic, p);
      if (!stored.ok()) return stored.status();
      assignment.push_back({topic, p, stored->value_or(bus::Consumer::kBeginning)});
    }
  }
  if (Status s = consumer.Assign(assignment); !s.ok()) return s;
  return assignment;
}

}  // namespace claims::events
