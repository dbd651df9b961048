#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include "libs/bus/partitioner.h"
#include "libs/processor/processor.h"

// Which member states of the store belong to the partitions of intake.events.v1 this replica
// holds now. The store keeps the states of partitions it held before (a partition that comes back
// resumes from them), so the report needs both: the partitions held, and each member's partition.
namespace claims::adjudication {

// Every event of intake.events.v1 is keyed by its member id, so KafkaPartitionOf(member id) is
// the partition whose fold owns the member's state.
using bus::KafkaPartitionOf;

// The partitions whose fold is open in this process: from the moment the processor opens a
// partition's fold (assignment, or a restore after a reset) until it drops it (revocation, a
// reset, shutdown). A partition stalled after a reset is not held until its fold reopens.
// Thread-safe: the processor's thread opens and drops folds, any thread reads.
class HeldPartitions {
 public:
  struct Snapshot {
    std::vector<int32_t> partitions;  // ascending
    uint64_t version = 0;             // changes whenever a fold opens or is dropped
  };
  Snapshot Get() const;

  // `inner`, with every fold it opens tracked here. This object must outlive the processor.
  processor::FoldFactory Track(processor::FoldFactory inner);

 private:
  class TrackedFold;
  void Opened(int32_t partition);
  void Dropped(int32_t partition);

  mutable std::mutex mu_;
  std::map<int32_t, int> open_;  // partition -> folds open (1; briefly 2 while one replaces one)
  uint64_t version_ = 0;
};

}  // namespace claims::adjudication
