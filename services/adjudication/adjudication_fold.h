#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "libs/domain/state.h"
#include "libs/events/topics.h"
#include "libs/processor/processor.h"
#include "libs/runtime/metrics.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "services/adjudication/plans.h"

namespace claims::adjudication {

inline constexpr const char* kInputTopic = events::kIntakeTopic;
using events::kDecisionsTopic;
inline constexpr char kMembersCf[] = "members";         // member id -> MemberState
inline constexpr char kPlanHashesCf[] = "plan_hashes";  // plan id -> SHA-256 first used

std::vector<std::string> AdjudicationColumnFamilies();

// One partition's fold: decode each input event, apply the engine under the plan it names, and
// publish the decision or rejection to adjudication.decisions.v1 with the member's sequence
// number. Member states are cached and written back to the store at the end of each batch.
//
// An undecodable event is rejected (MALFORMED_INPUT), so one bad record cannot stop a partition.
// A plan the event names that is not loaded, or a plan file whose SHA-256 differs from the one
// this partition already decided under, stalls the partition with FAILED_PRECONDITION: deciding
// under the wrong rules is worse than deciding late.
// Decisions and rejections published, by outcome, reason and rejection code (live folds only:
// a restore republishes nothing, so it counts nothing).
class DecisionMetrics {
 public:
  static Result<std::unique_ptr<DecisionMetrics>> Register(runtime::MetricsRegistry& registry);
  void Count(const domain::Output& output);

 private:
  DecisionMetrics() = default;
  runtime::CounterFamily* decisions_ = nullptr;   // {coverage, outcome}
  runtime::CounterFamily* reasons_ = nullptr;     // {reason}
  runtime::CounterFamily* rejections_ = nullptr;  // {code}
};

class AdjudicationFold : public processor::PartitionFold {
 public:
  // `partition_in_store`: whether the store holds an offset of this partition. When it does
  // not, no state of the partition's members can be there either (state and offsets are written
  // together), so a restore from the start of the log skips looking members up.
  AdjudicationFold(const PlanRegistry& plans, store::StateStore& store,
                   bool partition_in_store = true, DecisionMetrics* metrics = nullptr)
      : plans_(plans), store_(store), partition_in_store_(partition_in_store), metrics_(metrics) {}

  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override;
  // Restore: the same state changes, without encoding the decisions nobody will publish.
  Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) override;
  Status Finish(store::WriteBatch& batch) override;

 private:
  struct Cached {
    domain::MemberState state;
    bool dirty = false;  // changed since the last Finish
  };

  // Apply, with outputs encoded only when `outputs` is not null.
  Status Fold(const bus::Message& input, store::WriteBatch& batch,
              std::vector<bus::OutgoingMessage>* outputs);
  Result<domain::MemberState*> State(const std::string& member);
  Result<const domain::Plan*> PlanFor(const std::string& plan_id, const std::string& event_id,
                                      store::WriteBatch& batch);

  const PlanRegistry& plans_;
  store::StateStore& store_;
  const bool partition_in_store_;
  DecisionMetrics* const metrics_;
  mutualaid::events::v1::Envelope envelope_;  // reused: parsing into it saves allocations
  // Looked up only, never iterated (Finish walks dirty_, in the order members first changed), so
  // its hash order cannot leak into what is written; its nodes never move.
  std::unordered_map<std::string, Cached> cache_;
  std::vector<std::unordered_map<std::string, Cached>::value_type*>
      dirty_;                                         // in first-change order
  std::map<std::string, std::string> pinned_hashes_;  // plan id -> sha256 decided under
};

// The processor's factory for AdjudicationFold.
processor::FoldFactory AdjudicationFoldFactory(const PlanRegistry& plans,
                                               DecisionMetrics* metrics = nullptr);

// The output record of one fold output: keyed by member, with the headers consumers rely on
// ("type", "event-id", "trace-id", "member", "sequence").
bus::OutgoingMessage DecisionRecord(const mutualaid::events::v1::Envelope& output);

}  // namespace claims::adjudication
