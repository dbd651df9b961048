#include "services/intake/claim_follower.h"

#include <map>
#include <thread>

#include "libs/domain/codec/event_codec.h"
#include "libs/events/follower.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"
#include "services/intake/adapters.h"
#include "services/intake/intake.h"
#include "services/intake/vault.h"

namespace claims::intake {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace storage = ::mutualaid::intake::v1::storage;

const char* const kTopics[] = {kIntakeTopic, kDecisionsTopic, kPaymentsTopic, kKeyTopic};

std::string Join(const std::string& a, const std::string& b) {
  std::string out = a;
  out += '\0';
  out += b;
  return out;
}

api::ClaimStatus StatusOf(ev::Outcome outcome) {
  switch (outcome) {
    case ev::APPROVED:
      return api::APPROVED;
    case ev::DENIED:
      return api::DENIED;
    case ev::REFERRED:
      return api::REFERRED;
    default:
      return api::RECEIVED;
  }
}

// PAID once every payment settled, PAYMENT_FAILED while one is failed (and not re-issued),
// else the decision's.
void UpdatePaymentStatus(api::Claim& claim) {
  if (claim.payments_size() == 0 || claim.outcome() != ev::APPROVED) return;
  bool all_settled = true;
  for (const api::Payment& p : claim.payments()) {
    if (!p.replaced_by().empty()) continue;  // its replacement counts instead
    if (p.status() == "FAILED") {
      claim.set_status(api::PAYMENT_FAILED);
      return;
    }
    all_settled = all_settled && p.status() == "SETTLED";
  }
  claim.set_status(all_settled ? api::PAID : api::APPROVED);
}

}  // namespace

Status ClaimFollower::Start(std::chrono::milliseconds timeout) {
  return events::AssignFromStore(consumer_, store_, {std::begin(kTopics), std::end(kTopics)},
                                 timeout)
      .status();
}

Status ClaimFollower::CatchUp(std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  std::vector<std::pair<bus::TopicPartition, int64_t>> targets;  // partition, its high watermark
  for (const char* topic : {kIntakeTopic, kKeyTopic}) {
    Result<int32_t> partitions = consumer_.PartitionCount(topic, timeout);
    if (!partitions.ok()) return partitions.status();
    for (int32_t p = 0; p < *partitions; ++p) {
      bus::TopicPartition partition{topic, p};
      Result<std::pair<int64_t, int64_t>> marks = consumer_.Watermarks(partition, timeout);
      if (!marks.ok()) return marks.status();
      if (marks->second > marks->first) targets.emplace_back(std::move(partition), marks->second);
    }
  }
  for (;;) {
    size_t behind = 0;
    for (const auto& [partition, high] : targets) {
      Result<std::optional<int64_t>> stored =
          store_.ReadOffset(partition.topic, partition.partition);
      if (!stored.ok()) return stored.status();
      if (stored->value_or(0) < high) ++behind;
    }
    if (behind == 0) return Status::Ok();
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status(StatusCode::kDeadlineExceeded,
                    std::to_string(behind) + " partitions of " + kIntakeTopic + " and " +
                        kKeyTopic + " not read to their end within the catch-up timeout");
    }
    if (Result<size_t> polled = PollOnce(std::chrono::milliseconds(100)); !polled.ok()) {
      return polled.status();
    }
  }
}

Status ClaimFollower::ApplyKey(const bus::Message& message, store::WriteBatch& batch) {
  const std::string member = MemberOfKeyId(message.key);
  if (member.empty()) return ++skipped_, Status::Ok();
  const std::string index_key = Join(member, message.key);
  if (!message.value.empty()) {
    batch.Put(kMemberKeyIdsCf, index_key, "");
    return Status::Ok();
  }
  batch.Delete(kMemberKeyIdsCf, index_key);
  destroyed_.push_back(message.key);
  Result<std::optional<std::string>> cached = store_.Get(kMemberKeysCf, member);
  if (!cached.ok()) return cached.status();
  if (cached->has_value() && (*cached)->substr(0, (*cached)->find('\0')) == message.key) {
    batch.Delete(kMemberKeysCf, member);
  }
  return Status::Ok();
}

Status ClaimFollower::LearnCall(const ev::Envelope& envelope, store::WriteBatch& batch) {
  const ev::IntakeCall& call = envelope.intake_call();
  if (call.partner_id().empty() || call.idempotency_key().empty()) return Status::Ok();
  const std::string record_key = Join(call.partner_id(), call.idempotency_key());
  std::optional<std::string> stored;
  if (auto it = learned_.find(record_key); it != learned_.end()) {
    stored = it->second;
  } else {
    Result<std::optional<std::string>> found = store_.Get(kIdempotencyCf, record_key);
    if (!found.ok()) return found.status();
    stored = std::move(found).value();
  }
  storage::IdempotencyRecord record;
  if (stored.has_value()) {
    if (!record.ParseFromString(*stored)) {
      return DataLoss("stored idempotency record of partner " + call.partner_id() + " is corrupt");
    }
    // Done already, or the record of another request under this key (see the header): kept.
    if (record.done() || record.method() != call.method() ||
        record.request_sha256() != call.request_mac()) {
      return Status::Ok();
    }
    record.set_done(true);  // pending here, and its event is in the log
    record.clear_event();
  } else {
    record.set_method(call.method());
    record.set_request_sha256(call.request_mac());
    record.set_response(call.response());
    record.set_done(true);
    record.set_recorded_on(envelope.business_date());
  }
  std::string bytes = record.SerializeAsString();
  batch.Put(kIdempotencyCf, record_key, bytes);
  learned_[record_key] = std::move(bytes);
  return Status::Ok();
}

Status ClaimFollower::Apply(const bus::Message& message, store::WriteBatch& batch) {
  const std::string& topic = message.topic;
  if (topic == kKeyTopic) return ApplyKey(message, batch);
  ev::Envelope envelope;
  if (!envelope.ParseFromString(message.value)) {
    ++skipped_;
    return Status::Ok();
  }
  // Claims touched earlier in this batch are read back from it, not from the store. A claim not
  // followed yet starts from what this replica recorded when it took the submission (its
  // partner, above all), if it did: a decision read before the submission's event then leaves
  // the claim readable by its partner.
  auto load = [&](const std::string& claim_id) -> Result<storage::ClaimRecord> {
    storage::ClaimRecord record;
    if (auto it = pending_.find(claim_id); it != pending_.end()) return it->second;
    Result<std::optional<std::string>> found = store_.Get(kClaimsCf, claim_id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) found = store_.Get(kSubmittedCf, claim_id);
    if (!found.ok()) return found.status();
    if (found->has_value() && !record.ParseFromString(**found)) {
      return DataLoss("stored claim " + claim_id + " is corrupt");
    }
    record.mutable_claim()->set_claim_id(claim_id);
    return record;
  };
  auto save = [&](const storage::ClaimRecord& record) {
    pending_[record.claim().claim_id()] = record;
    batch.Put(kClaimsCf, record.claim().claim_id(), record.SerializeAsString());
    if (!record.partner_id().empty()) {
      batch.Put(kPartnerClaimsCf, Join(record.partner_id(), record.claim().claim_id()), "");
    }
  };

  if (topic == kIntakeTopic && envelope.has_intake_call()) {
    if (Status s = LearnCall(envelope, batch); !s.ok()) return s;
  }
  if (topic == kIntakeTopic && envelope.type() == codec::kMemberEnrolled) {
    ev::MemberEnrolled m;
    if (!m.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
    batch.Put(kMembersCf, Join(m.member_id(), m.partner_id()), "");
  } else if (topic == kIntakeTopic && envelope.type() == codec::kClaimSubmitted) {
    ev::ClaimSubmitted m;
    if (!m.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
    Result<storage::ClaimRecord> record = load(m.claim_id());
    if (!record.ok()) return record.status();
    if (!record->partner_id().empty() && record->partner_id() != m.partner_id()) {
      return Status::Ok();  // a second claim with this id (rejected downstream): keep the first
    }
    record->set_partner_id(m.partner_id());
    api::Claim& c = *record->mutable_claim();
    c.set_member_id(m.member_id());
    c.set_coverage(m.coverage());
    c.set_incident_date(m.incident_date());
    c.set_submitted_on(m.date());
    c.set_amount_fen(m.amount_fen());
    if (c.revision() == 0) c.set_status(api::RECEIVED);
    save(*record);
  } else if (topic == kDecisionsTopic && envelope.type() == codec::kClaimDecided) {
    ev::ClaimDecided d;
    if (!d.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
    Result<storage::ClaimRecord> record = load(d.claim_id());
    if (!record.ok()) return record.status();
    api::Claim& c = *record->mutable_claim();
    if (d.revision() <= c.revision()) {  // a repeat or an older decision
      if (duplicate_decisions_ != nullptr) duplicate_decisions_->Increment();
      return Status::Ok();
    }
    c.set_member_id(d.member_id());
    c.set_coverage(d.coverage());
    c.set_incident_date(d.incident_date());
    c.set_outcome(d.outcome());
    c.clear_reasons();
    for (int r : d.reasons()) c.add_reasons(static_cast<ev::Reason>(r));
    c.set_payable_fen(d.payable_fen());
    c.set_condolence_fen(d.condolence_fen());
    c.clear_trace();
    for (const std::string& line : d.trace()) c.add_trace(line);
    c.set_revision(d.revision());
    c.set_decided_on(d.decided_on());
    c.set_status(StatusOf(d.outcome()));
    UpdatePaymentStatus(c);
    save(*record);
  } else if (topic == kPaymentsTopic) {
    std::string claim_id, payment_id, status, reason, replaces;
    ev::PaymentKind kind = ev::PAYMENT_KIND_UNSPECIFIED;
    int64_t amount = 0;
    if (envelope.type() == "mutualaid.events.v1.PaymentInstructed") {
      ev::PaymentInstructed p;
      if (!p.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
      claim_id = p.claim_id(), payment_id = p.payment_id(), kind = p.kind();
      amount = p.amount_fen(), status = "INSTRUCTED", replaces = p.replaces_payment_id();
    } else if (envelope.type() == "mutualaid.events.v1.PaymentSettled") {
      ev::PaymentSettled p;
      if (!p.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
      claim_id = p.claim_id(), payment_id = p.payment_id(), kind = p.kind();
      amount = p.amount_fen(), status = "SETTLED";
    } else if (envelope.type() == "mutualaid.events.v1.PaymentFailed") {
      ev::PaymentFailed p;
      if (!p.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
      claim_id = p.claim_id(), payment_id = p.payment_id(), kind = p.kind();
      amount = p.amount_fen(), status = "FAILED", reason = p.reason_code();
    } else {
      return Status::Ok();
    }
    Result<storage::ClaimRecord> record = load(claim_id);
    if (!record.ok()) return record.status();
    api::Claim& c = *record->mutable_claim();
    api::Payment* payment = nullptr;
    for (api::Payment& p : *c.mutable_payments()) {
      if (p.payment_id() == payment_id) payment = &p;
    }
    if (payment == nullptr) payment = c.add_payments();
    // A payment moves INSTRUCTED -> SETTLED | FAILED and never back.
    if (payment->status() == "SETTLED" || payment->status() == "FAILED") return Status::Ok();
    if (!replaces.empty()) {  // a re-issue of a failed payment
      for (api::Payment& p : *c.mutable_payments()) {
        if (p.payment_id() == replaces) p.set_replaced_by(payment_id);
      }
    }
    payment->set_payment_id(payment_id);
    payment->set_kind(ev::PaymentKind_Name(kind));
    payment->set_amount_fen(amount);
    payment->set_status(status);
    payment->set_reason(reason);
    UpdatePaymentStatus(c);
    save(*record);
  }
  return Status::Ok();
}

Result<size_t> ClaimFollower::PollOnce(std::chrono::milliseconds timeout) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, 2000);
  if (!events.ok()) return events.status();
  store::WriteBatch batch;
  pending_.clear();
  learned_.clear();
  destroyed_.clear();
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  size_t applied = 0;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
    if (Status s = Apply(e.message, batch); !s.ok()) return s;
    next[{e.message.topic, e.message.partition}] = e.message.offset + 1;
    ++applied;
  }
  for (const auto& [tp, offset] : next) batch.SetOffset(tp.first, tp.second, offset);
  if (Status s = store_.Write(batch); !s.ok()) return s;
  pending_.clear();
  learned_.clear();
  if (key_destroyed_) {
    for (const std::string& key_id : destroyed_) key_destroyed_(key_id);
  }
  return applied;
}

Status ClaimFollower::Run(const std::atomic<bool>& stop) {
  return events::RunFollower(stop, *this);
}

}  // namespace claims::intake
