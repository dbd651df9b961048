#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "libs/processor/processor.h"

// A small deterministic fold for testing and measuring the processor: per member (the record
// key), count the records, sum their amounts (the value, in decimal) and number the outputs.
// Each input yields one output "member|sequence|count|sum" with headers "member" and
// "sequence", keyed by member, exactly as the pipeline's services publish.
namespace claims::testing {

inline constexpr char kCountsColumnFamily[] = "counts";

struct Count {
  uint64_t count = 0;
  int64_t sum = 0;
  uint64_t sequence = 0;
};

// The output a fold publishes for a member after applying one more record of `amount`.
std::string OutputValue(const std::string& member, const Count& after);

// The pure fold of `inputs` (member, amount) in log order: every output, by member, in order.
std::map<std::string, std::vector<std::string>> ReferenceOutputs(
    const std::vector<std::pair<std::string, int64_t>>& inputs);

// A FoldFactory whose folds publish to `output_topic`.
processor::FoldFactory CountingFoldFactory(std::string output_topic);

}  // namespace claims::testing
