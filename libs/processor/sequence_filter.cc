#include "libs/processor/sequence_filter.h"

namespace claims::processor {

SequenceFilter::Verdict SequenceFilter::Offer(const std::string& member, uint64_t sequence) {
  auto [it, inserted] = last_.try_emplace(member, 0);
  if (sequence <= it->second) {
    ++duplicates_;
    return Verdict::kDuplicate;
  }
  const bool gap = sequence != it->second + 1;
  it->second = sequence;
  if (gap) {
    ++gaps_;
    return Verdict::kAfterGap;
  }
  return Verdict::kNew;
}

std::optional<uint64_t> SequenceFilter::Last(const std::string& member) const {
  auto it = last_.find(member);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

void SequenceFilter::Seed(const std::string& member, uint64_t last_sequence) {
  last_[member] = last_sequence;
}

}  // namespace claims::processor
