#include "tests/integration/counting_fold.h"

#include <charconv>

namespace claims::testing {
namespace {

std::string Encode(const Count& c) {
  return std::to_string(c.count) + "," + std::to_string(c.sum) + "," + std::to_string(c.sequence);
}

bool Decode(const std::string& text, Count& c) {
  return std::sscanf(text.c_str(), "%lu,%ld,%lu", &c.count, &c.sum, &c.sequence) == 3;
}

class CountingFold : public processor::PartitionFold {
 public:
  CountingFold(store::StateStore& store, std::string output_topic)
      : store_(store), output_topic_(std::move(output_topic)) {}

  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override {
    int64_t amount = 0;
    const auto [end, ec] =
        std::from_chars(input.value.data(), input.value.data() + input.value.size(), amount);
    if (ec != std::errc() || end != input.value.data() + input.value.size()) {
      return InvalidArgument("record at offset " + std::to_string(input.offset) +
                             " is not an amount");
    }
    auto it = cache_.find(input.key);
    if (it == cache_.end()) {
      Count c;
      Result<std::optional<std::string>> stored = store_.Get(kCountsColumnFamily, input.key);
      if (!stored.ok()) return stored.status();
      if (stored->has_value() && !Decode(**stored, c)) return DataLoss("bad count " + input.key);
      it = cache_.emplace(input.key, c).first;
    }
    Count& c = it->second;
    c.count += 1;
    c.sum += amount;
    c.sequence += 1;
    batch.Put(kCountsColumnFamily, input.key, Encode(c));
    bus::OutgoingMessage out;
    out.topic = output_topic_;
    out.key = input.key;
    out.value = OutputValue(input.key, c);
    out.headers = {{"member", input.key}, {"sequence", std::to_string(c.sequence)}};
    outputs.push_back(std::move(out));
    return Status::Ok();
  }

 private:
  store::StateStore& store_;
  std::string output_topic_;
  std::map<std::string, Count> cache_;
};

}  // namespace

std::string OutputValue(const std::string& member, const Count& after) {
  return member + "|" + std::to_string(after.sequence) + "|" + std::to_string(after.count) + "|" +
         std::to_string(after.sum);
}

std::map<std::string, std::vector<std::string>> ReferenceOutputs(
    const std::vector<std::pair<std::string, int64_t>>& inputs) {
  std::map<std::string, Count> counts;
  std::map<std::string, std::vector<std::string>> outputs;
  for (const auto& [member, amount] : inputs) {
    Count& c = counts[member];
    c.count += 1;
    c.sum += amount;
    c.sequence += 1;
    outputs[member].push_back(OutputValue(member, c));
  }
  return outputs;
}

processor::FoldFactory CountingFoldFactory(std::string output_topic) {
  return
      [output_topic](
          int32_t, store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new CountingFold(store, output_topic));
      };
}

}  // namespace claims::testing
