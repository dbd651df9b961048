#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace claims::processor {

// The consuming side of "effectively once": drops outputs already seen, by (member, sequence).
// A member's outputs arrive in sequence order (one partition, idempotent producer), possibly
// more than once after the producing processor restarted; so an output is new exactly when its
// sequence is above the last one accepted for that member.
//
// A value type; not thread-safe. A consumer that keeps state persists Last() per member beside
// that state (in the same store batch) and seeds a new filter from it with Seed().
class SequenceFilter {
 public:
  enum class Verdict {
    kNew,        // the next sequence of the member: process it
    kDuplicate,  // seen already: drop it
    kAfterGap,   // new, but sequences were skipped: an output is missing upstream (alert)
  };

  Verdict Offer(const std::string& member, uint64_t sequence);

  std::optional<uint64_t> Last(const std::string& member) const;
  void Seed(const std::string& member, uint64_t last_sequence);

  uint64_t duplicates() const { return duplicates_; }
  uint64_t gaps() const { return gaps_; }

 private:
  std::map<std::string, uint64_t> last_;
  uint64_t duplicates_ = 0;
  uint64_t gaps_ = 0;
};

}  // namespace claims::processor
