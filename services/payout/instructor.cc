#include "services/payout/instructor.h"

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/payout/v1/commands.pb.h"
#include "services/payout/payout_ids.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace api = ::mutualaid::payout::v1;

Result<std::optional<uint64_t>> ReadCounter(const store::StateStore& store, std::string_view cf,
                                            const std::string& key) {
  Result<std::optional<std::string>> bytes = store.Get(cf, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(std::stoull(**bytes));
}

}  // namespace

std::vector<std::string> InstructorColumnFamilies() {
  return {kInstructorSeenCf, kInstructorSequencesCf};
}

Status InstructorFold::Seed(const std::string& member) {
  if (!seeded_.insert(member).second) return Status::Ok();
  Result<std::optional<uint64_t>> last = ReadCounter(store_, kInstructorSeenCf, member);
  if (!last.ok()) {
    seeded_.erase(member);
    return last.status();
  }
  if (last->has_value()) filter_.Seed(member, **last);
  return Status::Ok();
}

Result<uint64_t> InstructorFold::NextSequence(const std::string& member) {
  auto it = sequences_.find(member);
  if (it == sequences_.end()) {
    Result<std::optional<uint64_t>> last = ReadCounter(store_, kInstructorSequencesCf, member);
    if (!last.ok()) return last.status();
    it = sequences_.emplace(member, last->value_or(0)).first;
  }
  dirty_sequences_.insert(member);
  return ++it->second;
}

Status InstructorFold::Apply(const bus::Message& input, store::WriteBatch& batch,
                             std::vector<bus::OutgoingMessage>& outputs) {
  (void)batch;
  ev::Envelope decision;
  if (!decision.ParseFromString(input.value)) {
    ++skipped_;
    return Status::Ok();
  }
  std::vector<ev::Envelope> out;
  if (Status s = ApplyDecision(decision, out); !s.ok()) return s;
  for (const ev::Envelope& e : out) {
    outputs.push_back(events::EnvelopeRecord(kPayoutCommandsTopic, e));
  }
  return Status::Ok();
}

Status InstructorFold::ApplySilently(const bus::Message& input, store::WriteBatch& batch) {
  std::vector<bus::OutgoingMessage> discarded;
  silent_ = true;
  const Status s = Apply(input, batch, discarded);
  silent_ = false;
  return s;
}

Status InstructorFold::ApplyDecision(const ev::Envelope& decision, std::vector<ev::Envelope>& out) {
  if (decision.type() != codec::kClaimDecided) return Status::Ok();  // rejections pay nothing
  const std::string& member = decision.member_id();
  if (decision.sequence() > 0) {
    if (Status s = Seed(member); !s.ok()) return s;
    if (filter_.Offer(member, decision.sequence()) ==
        processor::SequenceFilter::Verdict::kDuplicate) {
      if (duplicates_ != nullptr && !silent_) duplicates_->Increment();
      return Status::Ok();
    }
    dirty_seen_.insert(member);
  }
  ev::ClaimDecided d;
  if (decision.payload_sha256() !=
          std::string(crypto::AsBytes(crypto::Sha256(decision.payload()))) ||
      !d.ParseFromString(decision.payload()) || d.claim_id().empty()) {
    ++skipped_;
    return Status::Ok();
  }
  if (d.outcome() != ev::APPROVED) return Status::Ok();
  const std::pair<ev::PaymentKind, int64_t> kinds[] = {{ev::BENEFIT, d.payable_fen()},
                                                       {ev::CONDOLENCE, d.condolence_fen()}};
  for (const auto& [kind, amount] : kinds) {
    if (amount <= 0) continue;
    api::PayoutCommand c;
    c.set_business_date(d.decided_on());
    api::PaymentRequested* r = c.mutable_payment_requested();
    r->set_claim_id(d.claim_id());
    r->set_member_id(d.member_id().empty() ? member : d.member_id());
    r->set_kind(kind);
    r->set_amount_fen(amount);
    r->set_decision_event_id(decision.event_id());
    r->set_decision_sha256(decision.payload_sha256());
    r->set_approving_input_event_id(d.input_event_id());
    r->set_decided_on(d.decided_on());
    Result<uint64_t> sequence = NextSequence(r->member_id());
    if (!sequence.ok()) return sequence.status();
    ev::Envelope e = codec::Wrap(kPayoutCommandType, c);
    e.set_event_id(RequestCommandId(decision.event_id(), kind));
    e.set_member_id(r->member_id());
    e.set_business_date(d.decided_on());
    e.set_producer(kProducer);
    e.set_answers_event_id(decision.event_id());
    e.set_answers_sha256(decision.payload_sha256());
    e.set_sequence(*sequence);
    e.set_trace_id(decision.trace_id());
    out.push_back(std::move(e));
  }
  return Status::Ok();
}

Status InstructorFold::Finish(store::WriteBatch& batch) {
  for (const std::string& member : dirty_seen_) {
    std::optional<uint64_t> last = filter_.Last(member);
    if (last.has_value()) batch.Put(kInstructorSeenCf, member, std::to_string(*last));
  }
  for (const std::string& member : dirty_sequences_) {
    batch.Put(kInstructorSequencesCf, member, std::to_string(sequences_.at(member)));
  }
  dirty_seen_.clear();
  dirty_sequences_.clear();
  return Status::Ok();
}

processor::FoldFactory InstructorFoldFactory(runtime::Counter* duplicates) {
  return
      [duplicates](int32_t,
                   store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new InstructorFold(store, duplicates));
      };
}

}  // namespace claims::payout
