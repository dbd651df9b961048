#include "tools/claimsctl/audit/audit_fold.h"

#include "libs/domain/engine.h"
#include "mutualaid/events/v1/envelope.pb.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

// Distinct plan ids remembered by one fold; a log naming more is looked up each time.
constexpr size_t kPlanCache = 16;

std::string ClaimOf(const domain::Input& input) {
  if (const auto* c = std::get_if<domain::ClaimInput>(&input)) return c->claim;
  if (const auto* r = std::get_if<domain::ReviewInput>(&input)) return r->claim;
  if (const auto* a = std::get_if<domain::AppealInput>(&input)) return a->claim;
  return "";
}

std::string_view OutputMember(const domain::Output& output) {
  if (const auto* d = std::get_if<domain::Decision>(&output.body)) return d->member;
  if (const auto* r = std::get_if<domain::InputRejection>(&output.body)) return r->member;
  return {};
}

}  // namespace

void AuditFold::Read(const RecordView& record, FoldInput& in) {
  in.record = &record;
  in.fast = ReadEnvelope(record.envelope, in.envelope);
  if (in.fast) {
    if (in.envelope.member_id.empty()) in.envelope.member_id = record.key;
    if (in.envelope.event_id.empty()) {
      in.event_id_storage =
          "offset-" + std::to_string(record.partition) + "-" + std::to_string(record.offset);
      in.envelope.event_id = in.event_id_storage;
    }
    in.member = in.envelope.member_id;
    return;
  }
  ev::Envelope envelope;
  const bool parsed =
      envelope.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()));
  in.member_storage =
      parsed && !envelope.member_id().empty() ? envelope.member_id() : std::string(record.key);
  in.member = in.member_storage;
}

const domain::Plan* AuditFold::FindPlan(std::string_view plan_id) {
  for (const auto& [id, plan] : plan_cache_) {
    if (id == plan_id) return plan;
  }
  const domain::Plan* plan = plans_.Find(std::string(plan_id));
  if (plan_cache_.size() < kPlanCache) plan_cache_.emplace_back(std::string(plan_id), plan);
  return plan;
}

void AuditFold::Apply(
    FoldInput& in, FoldStep& step,
    const std::function<domain::MemberState&(std::string_view member)>& state_of) {
  step.data_loss = false;
  step.plan_id.clear();
  step.published.clear();
  step.published_member = {};
  step.output = domain::Output{};
  std::string_view plan_id;
  if (!in.fast || !DecodeInputFast(in.envelope, input_, plan_id)) {
    Slow(in, step, state_of);
    return;
  }
  ++fast_inputs_;
  const EnvelopeView& e = in.envelope;
  step.event_id = e.event_id;
  step.member_id = e.member_id;
  step.payload_sha256 = e.payload_sha256;
  step.payload = e.payload;
  step.claim = ClaimOf(input_);
  step.plan = FindPlan(plan_id);
  if (step.plan == nullptr) {
    step.plan_id = std::string(plan_id);
    return;
  }
  domain::MemberState& state = state_of(in.member);
  std::visit(
      [&](auto& x) {
        if (x.member != in.member) x.member = std::string(in.member);
      },
      input_);
  step.output = domain::Apply(state, input_, *step.plan);
  if (step.output.empty()) return;
  EncodeOutputFast(step.output, e, step.published, step.published_payload_sha256, scratch_);
  step.published_payload_size = scratch_.size();
  step.published_member = OutputMember(step.output);
  if (step.published_member.empty()) step.published_member = e.member_id;
}

void AuditFold::Slow(FoldInput& in, FoldStep& step,
                     const std::function<domain::MemberState&(std::string_view member)>& state_of) {
  ++slow_inputs_;
  RefoldStep& slow = step.slow;
  RefoldRecord(plans_, nullptr, *in.record, slow,
               [&](const std::string& member) -> domain::MemberState& { return state_of(member); });
  const ev::Envelope& e = slow.envelope;
  step.event_id = e.event_id();
  step.member_id = e.member_id();
  step.payload_sha256 = e.payload_sha256();
  step.payload = e.payload();
  step.data_loss = slow.decode_status.code() == StatusCode::kDataLoss;
  step.claim = slow.input ? ClaimOf(*slow.input) : "";
  step.plan = slow.plan;
  step.plan_id = slow.plan_id;
  if (slow.plan == nullptr) return;
  step.output = std::move(slow.output);
  if (!slow.published) return;
  slow.published->SerializeToString(&step.published);
  step.published_payload_size = slow.published->payload().size();
  const std::string& hash = slow.published->payload_sha256();
  if (hash.size() == step.published_payload_sha256.size()) {
    std::copy(hash.begin(), hash.end(), step.published_payload_sha256.begin());
  }
  step.published_member = slow.published->member_id();
}

}  // namespace claims::audit
