#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "libs/base/status.h"
#include "libs/domain/plan.h"
#include "libs/domain/state.h"
#include "libs/domain/types.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "tools/claimsctl/audit/export_file.h"

// The adjudication fold re-done from the record of its inputs, for the audit, the report, the
// what-if and the generator. It decodes, picks the plan, routes to the member and applies the
// engine exactly as services/adjudication's AdjudicationFold does, so its outputs are what
// adjudication must have published, byte for byte.
namespace claims::audit {

// The plan versions of a plans directory (*.textproto), by plan id. Immutable after Load.
class PlanSet {
 public:
  // INVALID_ARGUMENT naming the file, line and field of an invalid plan or a duplicate plan id;
  // NOT_FOUND when the directory cannot be read or `default_plan_id` is not in it.
  static Result<PlanSet> Load(const std::string& dir, const std::string& default_plan_id);
  // A set of the given plans (tests, the what-if).
  static PlanSet Of(std::map<std::string, domain::Plan> plans, std::string default_plan_id);

  // The plan an event names; the default plan when it names none; nullptr when unknown.
  const domain::Plan* Find(const std::string& plan_id) const;
  const std::map<std::string, domain::Plan>& plans() const { return plans_; }

 private:
  std::map<std::string, domain::Plan> plans_;
  std::string default_id_;
};

inline constexpr char kDefaultPlanId[] = "six-guarantees-v1";

// What one input event gave on re-folding.
struct RefoldStep {
  mutualaid::events::v1::Envelope envelope;  // as adjudication saw it (ids filled in)
  bool envelope_parsed = false;
  Status decode_status;                // why the input is malformed, if it is
  std::optional<domain::Input> input;  // the decoded input, routed to its member
  std::string plan_id;                 // the plan the event names ("" for none)
  const domain::Plan* plan = nullptr;  // nullptr: the named plan is not loaded
  domain::Output output;               // empty when nothing is published
  std::optional<mutualaid::events::v1::Envelope> published;  // what adjudication publishes
};

// Folds one record of intake.events.v1 exactly as adjudication does: decodes it with the codec,
// picks the plan (`override_plan` when set, else the one the event names), and applies it to the
// state `state_of(member)` returns (created empty, with its id, on first use). When the event
// names a plan that is not loaded, step.plan is nullptr and nothing changes.
void RefoldRecord(const PlanSet& plans, const domain::Plan* override_plan, const RecordView& record,
                  RefoldStep& step,
                  const std::function<domain::MemberState&(const std::string& member)>& state_of);

// Per-member states of the fold. Deterministic; not thread-safe.
class Refolder {
 public:
  // `override_plan`, when set, decides every input instead of the plan it names (what-if).
  explicit Refolder(const PlanSet& plans, const domain::Plan* override_plan = nullptr)
      : plans_(plans), override_(override_plan) {}

  // Folds one record of intake.events.v1. When the event names a plan that is not loaded,
  // step.plan is nullptr and nothing changes (adjudication stalls on such an event).
  void Apply(const RecordView& record, RefoldStep& step);

  const std::map<std::string, domain::MemberState>& members() const { return members_; }

 private:
  const PlanSet& plans_;
  const domain::Plan* override_;
  std::map<std::string, domain::MemberState> members_;
};

}  // namespace claims::audit
