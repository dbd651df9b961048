#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "libs/processor/processor.h"
#include "libs/processor/sequence_filter.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/envelope.pb.h"

// The payout instructor: turns approved decisions into payment requests for the desk. Partitioned
// like adjudication.decisions.v1 (scales with the replicas), with its own store
// (<data-dir>/instructor).
namespace claims::payout {

// envelope member id -> last decision sequence folded (decimal): the SequenceFilter's memory.
inline constexpr char kInstructorSeenCf[] = "instructor_seen";
// member id -> last sequence of the PaymentRequested commands published for it (decimal).
inline constexpr char kInstructorSequencesCf[] = "instructor_sequences";

std::vector<std::string> InstructorColumnFamilies();

// Folds one partition of adjudication.decisions.v1. A decision already seen (same member and
// sequence: a redelivery or a re-publication after adjudication restarted) is dropped. For each
// APPROVED ClaimDecided it publishes a PaymentRequested command on payout.commands.v1 for the
// benefit (payable_fen > 0) and for the condolence (condolence_fen > 0), with ids derived from
// the decision's event id, so a replay publishes identical bytes; the desk instructs each
// (claim, kind) once whatever arrives. DENIED and REFERRED decisions, rejections, and records
// that do not parse or whose payload hash does not match publish nothing (counted in skipped()).
// Each repeat dropped while folding live also counts in `duplicates` (optional; a restore's
// silent fold counts nothing, its repeats were counted when they were live).
class InstructorFold : public processor::PartitionFold {
 public:
  explicit InstructorFold(const store::StateStore& store, runtime::Counter* duplicates = nullptr)
      : store_(store), duplicates_(duplicates) {}

  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override;
  Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) override;
  Status Finish(store::WriteBatch& batch) override;

  // Apply's core for tests: the commands to publish for one decision envelope.
  Status ApplyDecision(const mutualaid::events::v1::Envelope& decision,
                       std::vector<mutualaid::events::v1::Envelope>& out);

  uint64_t duplicates() const { return filter_.duplicates(); }
  uint64_t gaps() const { return filter_.gaps(); }
  uint64_t skipped() const { return skipped_; }

 private:
  Status Seed(const std::string& member);
  Result<uint64_t> NextSequence(const std::string& member);

  const store::StateStore& store_;
  runtime::Counter* const duplicates_;
  bool silent_ = false;  // within ApplySilently
  processor::SequenceFilter filter_;
  std::set<std::string> seeded_;
  std::map<std::string, uint64_t> sequences_;  // cache of kInstructorSequencesCf
  std::set<std::string> dirty_seen_;
  std::set<std::string> dirty_sequences_;
  uint64_t skipped_ = 0;
};

// `duplicates` (optional) as InstructorFold's.
processor::FoldFactory InstructorFoldFactory(runtime::Counter* duplicates = nullptr);

}  // namespace claims::payout
