#include "tools/claimsctl/audit/refold.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "libs/domain/codec/event_codec.h"
#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/engine.h"
#include "mutualaid/events/v1/intake.pb.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

}  // namespace

Result<PlanSet> PlanSet::Load(const std::string& dir, const std::string& default_plan_id) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".textproto") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) return NotFound("cannot read the plans directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  PlanSet set;
  for (const std::string& file : files) {
    Result<domain::Plan> plan = codec::LoadPlanFile(file);
    if (!plan.ok()) return plan.status();
    const std::string id = plan->id;
    if (!set.plans_.emplace(id, std::move(plan).value()).second) {
      return InvalidArgument("two plan files define plan " + id, {{file, "duplicate plan_id"}});
    }
  }
  if (set.plans_.count(default_plan_id) == 0) {
    return NotFound("the default plan " + default_plan_id + " is not in " + dir);
  }
  set.default_id_ = default_plan_id;
  return set;
}

PlanSet PlanSet::Of(std::map<std::string, domain::Plan> plans, std::string default_plan_id) {
  PlanSet set;
  set.plans_ = std::move(plans);
  set.default_id_ = std::move(default_plan_id);
  return set;
}

const domain::Plan* PlanSet::Find(const std::string& plan_id) const {
  auto it = plans_.find(plan_id.empty() ? default_id_ : plan_id);
  return it == plans_.end() ? nullptr : &it->second;
}

void RefoldRecord(const PlanSet& plans, const domain::Plan* override_plan, const RecordView& record,
                  RefoldStep& step,
                  const std::function<domain::MemberState&(const std::string& member)>& state_of) {
  ev::Envelope& envelope = step.envelope;
  step.envelope_parsed =
      envelope.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()));
  if (!step.envelope_parsed) envelope.Clear();
  if (envelope.member_id().empty()) envelope.set_member_id(std::string(record.key));
  if (envelope.event_id().empty()) {
    envelope.set_event_id("offset-" + std::to_string(record.partition) + "-" +
                          std::to_string(record.offset));
  }
  step.input.reset();
  step.published.reset();
  step.output = domain::Output{};
  step.plan_id.clear();
  Result<domain::Input> decoded =
      step.envelope_parsed
          ? codec::DecodeInput(envelope, &step.plan_id)
          : Result<domain::Input>(InvalidArgument("the record is not an event envelope"));
  step.decode_status = decoded.status();
  if (!decoded.ok()) step.plan_id.clear();
  step.plan = override_plan != nullptr ? override_plan : plans.Find(step.plan_id);
  if (step.plan == nullptr) return;

  std::string member = decoded.ok() ? domain::MemberOf(*decoded) : "";
  if (member.empty()) member = envelope.member_id();
  domain::MemberState& state = state_of(member);
  if (decoded.ok()) {
    step.input = std::move(decoded).value();
    std::visit([&](auto& in) { in.member = member; }, *step.input);
    step.output = domain::Apply(state, *step.input, *step.plan);
  } else {
    step.output = domain::RejectInput(state, domain::Rejection::kMalformedInput, "",
                                      step.decode_status.ToString(), *step.plan);
  }
  if (!step.output.empty()) step.published = codec::EncodeOutput(step.output, envelope);
}

void Refolder::Apply(const RecordView& record, RefoldStep& step) {
  RefoldRecord(plans_, override_, record, step,
               [&](const std::string& member) -> domain::MemberState& {
                 auto it = members_.find(member);
                 if (it == members_.end()) {
                   it = members_.emplace(member, domain::MemberState{}).first;
                   it->second.id = member;
                 }
                 return it->second;
               });
}

}  // namespace claims::audit
