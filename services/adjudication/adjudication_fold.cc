#include "services/adjudication/adjudication_fold.h"

#include "libs/domain/codec/event_codec.h"
#include "libs/domain/codec/state_codec.h"
#include "libs/domain/engine.h"
#include "libs/events/event_log.h"
#include "mutualaid/events/v1/intake.pb.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

}  // namespace

Result<std::unique_ptr<DecisionMetrics>> DecisionMetrics::Register(
    runtime::MetricsRegistry& registry) {
  std::unique_ptr<DecisionMetrics> m(new DecisionMetrics());
  Result<runtime::CounterFamily*> decisions = registry.AddCounter(
      "claims_adjudication_decisions_total",
      "Claim decisions published, by coverage and outcome (a review or an appeal decides again).",
      {"coverage", "outcome"});
  if (!decisions.ok()) return decisions.status();
  Result<runtime::CounterFamily*> reasons = registry.AddCounter(
      "claims_adjudication_decision_reasons_total",
      "Reasons given by the decisions published, one count per reason.", {"reason"});
  if (!reasons.ok()) return reasons.status();
  Result<runtime::CounterFamily*> rejections = registry.AddCounter(
      "claims_adjudication_inputs_rejected_total",
      "Inputs that changed nothing (InputRejected published), by code.", {"code"});
  if (!rejections.ok()) return rejections.status();
  m->decisions_ = *decisions;
  m->reasons_ = *reasons;
  m->rejections_ = *rejections;
  return m;
}

void DecisionMetrics::Count(const domain::Output& output) {
  if (const auto* d = std::get_if<domain::Decision>(&output.body)) {
    decisions_->WithLabels({domain::Name(d->coverage), domain::Name(d->outcome)}).Increment();
    for (domain::Reason r : d->reasons) reasons_->WithLabels({domain::Name(r)}).Increment();
  } else if (const auto* r = std::get_if<domain::InputRejection>(&output.body)) {
    rejections_->WithLabels({domain::Name(r->code)}).Increment();
  }
}

std::vector<std::string> AdjudicationColumnFamilies() { return {kMembersCf, kPlanHashesCf}; }

bus::OutgoingMessage DecisionRecord(const ev::Envelope& output) {
  return events::EnvelopeRecord(kDecisionsTopic, output);
}

Result<domain::MemberState*> AdjudicationFold::State(const std::string& member) {
  auto it = cache_.find(member);
  if (it == cache_.end()) {
    Cached cached;
    cached.state.id = member;
    if (partition_in_store_) {
      Result<std::optional<std::string>> stored = store_.Get(kMembersCf, member);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        Result<domain::MemberState> decoded = codec::DecodeMemberState(**stored);
        if (!decoded.ok()) return decoded.status();
        cached.state = std::move(decoded).value();
      }
    }
    it = cache_.emplace(member, std::move(cached)).first;
  }
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_.push_back(&*it);
  }
  return &it->second.state;
}

Result<const domain::Plan*> AdjudicationFold::PlanFor(const std::string& plan_id,
                                                      const std::string& event_id,
                                                      store::WriteBatch& batch) {
  const domain::Plan* plan = plans_.Find(plan_id);
  if (plan == nullptr) {
    return FailedPrecondition("event " + event_id + " names plan '" + plan_id +
                              "', which is not loaded; add its file to the plans directory");
  }
  auto pinned = pinned_hashes_.find(plan->id);
  if (pinned == pinned_hashes_.end()) {
    Result<std::optional<std::string>> stored = store_.Get(kPlanHashesCf, plan->id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) batch.Put(kPlanHashesCf, plan->id, plan->sha256);
    pinned = pinned_hashes_.emplace(plan->id, stored->value_or(plan->sha256)).first;
  }
  if (pinned->second != plan->sha256) {
    return FailedPrecondition("plan file of " + plan->id +
                              " changed: decisions so far used sha256 " + pinned->second +
                              ", the loaded file has " + plan->sha256 +
                              "; plan files are immutable, publish a new plan id instead");
  }
  return plan;
}

Status AdjudicationFold::Apply(const bus::Message& input, store::WriteBatch& batch,
                               std::vector<bus::OutgoingMessage>& outputs) {
  return Fold(input, batch, &outputs);
}

Status AdjudicationFold::ApplySilently(const bus::Message& input, store::WriteBatch& batch) {
  return Fold(input, batch, nullptr);
}

Status AdjudicationFold::Fold(const bus::Message& input, store::WriteBatch& batch,
                              std::vector<bus::OutgoingMessage>* outputs) {
  ev::Envelope& envelope = envelope_;
  const bool parsed = envelope.ParseFromString(input.value);
  if (!parsed) envelope.Clear();
  // A record that is not even an envelope still belongs to the member its key names.
  if (envelope.member_id().empty()) envelope.set_member_id(input.key);
  if (envelope.event_id().empty()) {
    envelope.set_event_id("offset-" + std::to_string(input.partition) + "-" +
                          std::to_string(input.offset));
  }
  std::string plan_id;  // the plan the input names; "" (the default plan) when none
  Result<domain::Input> decoded =
      parsed ? codec::DecodeInput(envelope, &plan_id)
             : Result<domain::Input>(InvalidArgument("the record is not an event envelope"));
  if (!decoded.ok()) plan_id.clear();
  Result<const domain::Plan*> plan = PlanFor(plan_id, envelope.event_id(), batch);
  if (!plan.ok()) return plan.status();

  std::string member = decoded.ok() ? domain::MemberOf(*decoded) : "";
  if (member.empty()) member = envelope.member_id();
  Result<domain::MemberState*> state = State(member);
  if (!state.ok()) return state.status();
  domain::Output output;
  if (decoded.ok()) {
    domain::Input& routed = *decoded;
    std::visit([&](auto& in) { in.member = member; }, routed);
    output = domain::Apply(**state, routed, **plan);
  } else {
    output = domain::RejectInput(**state, domain::Rejection::kMalformedInput, "",
                                 decoded.status().ToString(), **plan);
  }
  if (outputs != nullptr && !output.empty()) {
    outputs->push_back(DecisionRecord(codec::EncodeOutput(output, envelope)));
    if (metrics_ != nullptr) metrics_->Count(output);
  }
  return Status::Ok();
}

Status AdjudicationFold::Finish(store::WriteBatch& batch) {
  for (auto* entry : dirty_) {
    batch.Put(kMembersCf, entry->first, codec::EncodeMemberState(entry->second.state));
    entry->second.dirty = false;
  }
  dirty_.clear();
  return Status::Ok();
}

processor::FoldFactory AdjudicationFoldFactory(const PlanRegistry& plans,
                                               DecisionMetrics* metrics) {
  return [&plans, metrics](
             int32_t partition,
             store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
    Result<std::optional<int64_t>> offset = store.ReadOffset(kInputTopic, partition);
    if (!offset.ok()) return offset.status();
    return std::unique_ptr<processor::PartitionFold>(
        new AdjudicationFold(plans, store, offset->has_value(), metrics));
  };
}

}  // namespace claims::adjudication
