#include "services/payout/desk.h"

#include <cstdio>
#include <set>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "libs/iso20022/iso20022.h"
#include "services/payout/payout_ids.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;
using Postings = google::protobuf::RepeatedPtrField<ev::LedgerPosting>;

// The largest amount a pain.001 can carry; larger requests are refused.
constexpr int64_t kMaxAmountFen = iso20022::kMaxAmountFen;

bool IsPayableKind(ev::PaymentKind kind) { return kind == ev::BENEFIT || kind == ev::CONDOLENCE; }

std::string CommandType(const api::PayoutCommand& c) {
  switch (c.body_case()) {
    case api::PayoutCommand::kPaymentRequested:
      return "PaymentRequested";
    case api::PayoutCommand::kHoldRequested:
      return "HoldRequested";
    case api::PayoutCommand::kReleaseRequested:
      return "ReleaseRequested";
    case api::PayoutCommand::kBatchRequested:
      return "BatchRequested";
    case api::PayoutCommand::kStatusReportImported:
      return "StatusReportImported";
    case api::PayoutCommand::kReissueRequested:
      return "ReissueRequested";
    case api::PayoutCommand::BODY_NOT_SET:
      break;
  }
  return "";
}

// A refusal: the desk publishes it as CommandRejected and changes nothing else.
struct Refusal {
  std::string status;  // gRPC status name
  std::string code;
  std::string detail;
  std::string payment_id;
  std::string batch_id;
  std::string report_id;
};

Refusal Refuse(std::string status, std::string code, std::string detail) {
  return Refusal{std::move(status), std::move(code), std::move(detail), "", "", ""};
}

}  // namespace

std::vector<std::string> DeskColumnFamilies() {
  return {kDeskPaymentsCf, kDeskClaimsCf,   kDeskReadyCf,  kDeskBatchesCf,     kDeskBatchItemsCf,
          kDeskReportsCf,  kDeskCommandsCf, kDeskLedgerCf, kDeskReportPartsCf, kDeskSequencesCf};
}

std::string ClaimKey(const std::string& claim_id, ev::PaymentKind kind) {
  return claim_id + std::string(1, '\0') + KindName(kind);
}

std::string ItemKey(const std::string& batch_id, uint32_t position) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%010u", position);
  return batch_id + std::string(1, '\0') + digits;
}

// Builds the events answering one command: deterministic ids, per-member sequences, the
// command's business date and trace.
class DeskFold::Emitter {
 public:
  Emitter(DeskFold& fold, const ev::Envelope& command, const api::PayoutCommand& body,
          std::vector<ev::Envelope>& out)
      : fold_(fold), command_(command), body_(body), out_(out) {}

  const std::string& command_id() const { return command_.event_id(); }
  const api::PayoutCommand& body() const { return body_; }

  Status Emit(const std::string& member, const std::string& type,
              const google::protobuf::MessageLite& payload) {
    Result<uint64_t> sequence = fold_.NextSequence(member);
    if (!sequence.ok()) return sequence.status();
    ev::Envelope e = codec::Wrap(type, payload);
    e.set_event_id(OutputEventId(command_.event_id(), index_++));
    e.set_member_id(member);
    e.set_business_date(command_.business_date());
    e.set_producer(kProducer);
    e.set_answers_event_id(command_.event_id());
    e.set_answers_sha256(command_.payload_sha256());
    e.set_sequence(*sequence);
    e.set_trace_id(command_.trace_id());
    out_.push_back(std::move(e));
    return Status::Ok();
  }

  Status Reject(const Refusal& r) {
    ev::CommandRejected m;
    m.set_command_id(command_.event_id());
    m.set_command_type(CommandType(body_));
    m.set_status(r.status);
    m.set_code(r.code);
    m.set_detail(r.detail);
    m.set_payment_id(r.payment_id);
    m.set_batch_id(r.batch_id);
    m.set_report_id(r.report_id);
    return Emit(kDeskKey, kCommandRejectedType, m);
  }

 private:
  DeskFold& fold_;
  const ev::Envelope& command_;
  const api::PayoutCommand& body_;
  std::vector<ev::Envelope>& out_;
  uint64_t index_ = 0;
};

Result<uint64_t> DeskFold::NextSequence(const std::string& member) {
  Result<std::optional<std::string>> last = state_.Get(kDeskSequencesCf, member);
  if (!last.ok()) return last.status();
  const uint64_t next = last->has_value() ? std::stoull(**last) + 1 : 1;
  state_.Put(kDeskSequencesCf, member, std::to_string(next));
  return next;
}

Result<std::optional<api::Payment>> DeskFold::LoadPayment(const std::string& payment_id) const {
  Result<std::optional<std::string>> bytes = state_.Get(kDeskPaymentsCf, payment_id);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<api::Payment>();
  api::Payment p;
  if (!p.ParseFromString(**bytes)) return DataLoss("stored payment " + payment_id + " is corrupt");
  return std::optional<api::Payment>(std::move(p));
}

void DeskFold::StorePayment(const api::Payment& payment) {
  state_.Put(kDeskPaymentsCf, payment.payment_id(), payment.SerializeAsString());
}

Status DeskFold::Post(const std::string& debit, const std::string& credit, int64_t amount_fen,
                      Postings* postings) {
  for (const auto& [account, is_debit] : {std::pair(debit, true), std::pair(credit, false)}) {
    Result<std::optional<std::string>> bytes = state_.Get(kDeskLedgerCf, account);
    if (!bytes.ok()) return bytes.status();
    api::AccountBalance b;
    if (bytes->has_value() && !b.ParseFromString(**bytes)) {
      return DataLoss("stored ledger account " + account + " is corrupt");
    }
    b.set_account(account);
    if (is_debit) {
      b.set_debit_fen(b.debit_fen() + amount_fen);
    } else {
      b.set_credit_fen(b.credit_fen() + amount_fen);
    }
    b.set_balance_fen(b.debit_fen() - b.credit_fen());
    state_.Put(kDeskLedgerCf, account, b.SerializeAsString());
  }
  ev::LedgerPosting* p = postings->Add();
  p->set_debit_account(debit);
  p->set_credit_account(credit);
  p->set_amount_fen(amount_fen);
  return Status::Ok();
}

Status DeskFold::Apply(const bus::Message& input, store::WriteBatch& batch,
                       std::vector<bus::OutgoingMessage>& outputs) {
  (void)batch;
  ev::Envelope command;
  if (!command.ParseFromString(input.value)) command.Clear();
  if (command.event_id().empty()) {
    command.set_event_id("offset-" + std::to_string(input.partition) + "-" +
                         std::to_string(input.offset));
  }
  std::vector<ev::Envelope> out;
  if (Status s = ApplyCommand(command, out); !s.ok()) return s;
  for (const ev::Envelope& e : out) outputs.push_back(events::EnvelopeRecord(kPaymentsTopic, e));
  return Status::Ok();
}

Status DeskFold::ApplySilently(const bus::Message& input, store::WriteBatch& batch) {
  std::vector<bus::OutgoingMessage> discarded;
  silent_ = true;
  const Status s = Apply(input, batch, discarded);
  silent_ = false;
  return s;
}

Status DeskFold::Finish(store::WriteBatch& batch) {
  state_.Flush(batch);
  return Status::Ok();
}

Status DeskFold::ApplyCommand(const ev::Envelope& command, std::vector<ev::Envelope>& out) {
  Result<std::optional<std::string>> seen = state_.Get(kDeskCommandsCf, command.event_id());
  if (!seen.ok()) return seen.status();
  if (seen->has_value()) {  // folded before: changes nothing
    if (duplicates_ != nullptr && !silent_) duplicates_->Increment();
    return Status::Ok();
  }
  state_.Put(kDeskCommandsCf, command.event_id(), "");

  api::PayoutCommand body;
  const bool valid =
      command.type() == kPayoutCommandType &&
      command.payload_sha256() == std::string(crypto::AsBytes(crypto::Sha256(command.payload()))) &&
      body.ParseFromString(command.payload()) &&
      body.body_case() != api::PayoutCommand::BODY_NOT_SET;
  if (!valid) body.Clear();
  Emitter emit(*this, command, body, out);
  if (!valid) {
    return emit.Reject(Refuse(
        "INVALID_ARGUMENT", kMalformedCommand,
        "record " + command.event_id() + " is not a PayoutCommand envelope with a matching hash"));
  }
  switch (body.body_case()) {
    case api::PayoutCommand::kPaymentRequested:
      return Requested(body.payment_requested(), emit);
    case api::PayoutCommand::kHoldRequested:
      return Hold(body.hold_requested(), emit);
    case api::PayoutCommand::kReleaseRequested:
      return Release(body.release_requested(), emit);
    case api::PayoutCommand::kBatchRequested:
      return Batch(body.batch_requested(), emit);
    case api::PayoutCommand::kStatusReportImported:
      return Report(body.status_report_imported(), emit);
    case api::PayoutCommand::kReissueRequested:
      return Reissue(body.reissue_requested(), emit);
    case api::PayoutCommand::BODY_NOT_SET:
      break;
  }
  return Status::Ok();
}

Status DeskFold::Requested(const api::PaymentRequested& r, Emitter& emit) {
  if (r.claim_id().empty() || r.member_id().empty() || !IsPayableKind(r.kind()) ||
      r.amount_fen() <= 0 || r.amount_fen() > kMaxAmountFen) {
    return emit.Reject(Refuse("INVALID_ARGUMENT", kMalformedCommand,
                              "payment request for claim '" + r.claim_id() + "' kind " +
                                  KindName(r.kind()) + " amount " + std::to_string(r.amount_fen()) +
                                  " fen: needs a claim, a member, BENEFIT or CONDOLENCE and an "
                                  "amount of 1 fen or more"));
  }
  const std::string key = ClaimKey(r.claim_id(), r.kind());
  Result<std::optional<std::string>> existing = state_.Get(kDeskClaimsCf, key);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return Status::Ok();  // (claim, kind) instructed before: nothing

  api::Payment p;
  p.set_payment_id(PaymentId(r.claim_id(), r.kind(), 1));
  p.set_claim_id(r.claim_id());
  p.set_member_id(r.member_id());
  p.set_kind(r.kind());
  p.set_amount_fen(r.amount_fen());
  p.set_status(api::INSTRUCTED);
  p.set_issue(1);
  p.set_decision_event_id(r.decision_event_id());
  p.set_approving_input_event_id(r.approving_input_event_id());
  StorePayment(p);
  state_.Put(kDeskClaimsCf, key, p.payment_id());
  state_.Put(kDeskReadyCf, p.payment_id(), "");

  ev::PaymentInstructed m;
  m.set_payment_id(p.payment_id());
  m.set_claim_id(p.claim_id());
  m.set_member_id(p.member_id());
  m.set_kind(p.kind());
  m.set_amount_fen(p.amount_fen());
  m.set_decision_event_id(r.decision_event_id());
  m.set_issue(1);
  m.set_decision_sha256(r.decision_sha256());
  m.set_approving_input_event_id(r.approving_input_event_id());
  if (Status s =
          Post(kFundAccount, PayableAccount(p.member_id()), p.amount_fen(), m.mutable_postings());
      !s.ok()) {
    return s;
  }
  return emit.Emit(p.member_id(), kPaymentInstructedType, m);
}

namespace {

// A hold or a release as published: the payment it concerns, who acted and why.
template <typename Event>
Event OperatorAction(const api::Payment& p, const std::string& operator_id,
                     const std::string& note) {
  Event m;
  m.set_payment_id(p.payment_id());
  m.set_claim_id(p.claim_id());
  m.set_member_id(p.member_id());
  m.set_kind(p.kind());
  m.set_operator_id(operator_id);
  m.set_note(note);
  return m;
}

}  // namespace

Status DeskFold::Hold(const api::HoldRequested& r, Emitter& emit) {
  Result<std::optional<api::Payment>> found = LoadPayment(r.payment_id());
  if (!found.ok()) return found.status();
  Refusal refusal;
  if (!found->has_value()) {
    refusal = Refuse("NOT_FOUND", kPaymentUnknown, "no payment " + r.payment_id());
  } else if ((*found)->status() == api::HELD) {
    refusal =
        Refuse("FAILED_PRECONDITION", kPaymentHeld,
               "payment " + r.payment_id() + " is held already (by " + (*found)->held_by() + ")");
  } else if ((*found)->status() != api::INSTRUCTED) {
    refusal = Refuse(
        "FAILED_PRECONDITION", (*found)->status() == api::BATCHED ? kPaymentBatched : kPaymentFinal,
        "payment " + r.payment_id() + " is " + api::PaymentStatus_Name((*found)->status()) +
            ((*found)->batch_id().empty() ? std::string() : " in batch " + (*found)->batch_id()));
  }
  if (!refusal.code.empty()) {
    refusal.payment_id = r.payment_id();
    return emit.Reject(refusal);
  }
  api::Payment p = std::move(**found);
  p.set_status(api::HELD);
  p.set_held_by(emit.body().operator_id());
  StorePayment(p);
  state_.Delete(kDeskReadyCf, p.payment_id());
  return emit.Emit(p.member_id(), kPaymentHeldType,
                   OperatorAction<ev::PaymentHeld>(p, emit.body().operator_id(), r.note()));
}

Status DeskFold::Release(const api::ReleaseRequested& r, Emitter& emit) {
  Result<std::optional<api::Payment>> found = LoadPayment(r.payment_id());
  if (!found.ok()) return found.status();
  Refusal refusal;
  if (!found->has_value()) {
    refusal = Refuse("NOT_FOUND", kPaymentUnknown, "no payment " + r.payment_id());
  } else if ((*found)->status() != api::HELD) {
    refusal = Refuse("FAILED_PRECONDITION", kPaymentNotHeld,
                     "payment " + r.payment_id() + " is " +
                         api::PaymentStatus_Name((*found)->status()) + ", not HELD");
  }
  if (!refusal.code.empty()) {
    refusal.payment_id = r.payment_id();
    return emit.Reject(refusal);
  }
  api::Payment p = std::move(**found);
  p.set_status(api::INSTRUCTED);
  p.clear_held_by();
  StorePayment(p);
  state_.Put(kDeskReadyCf, p.payment_id(), "");
  return emit.Emit(p.member_id(), kPaymentReleasedType,
                   OperatorAction<ev::PaymentReleased>(p, emit.body().operator_id(), r.note()));
}

Status DeskFold::Batch(const api::BatchRequested& r, Emitter& emit) {
  std::vector<std::string> ready;
  if (Status s = state_.ScanPrefix(kDeskReadyCf, "",
                                   [&](const std::string& key, const std::string&) {
                                     ready.push_back(key);
                                     return true;
                                   });
      !s.ok()) {
    return s;
  }
  const std::string date = emit.body().business_date();
  if (ready.empty()) {
    return emit.Reject(Refuse("FAILED_PRECONDITION", kNoPayments,
                              "no instructed, unheld payment waits for a batch"));
  }
  const std::string batch_id = BatchId(date, emit.command_id());
  int64_t control_sum = 0;
  uint32_t position = 0;
  for (const std::string& payment_id : ready) {
    Result<std::optional<api::Payment>> found = LoadPayment(payment_id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return DataLoss("ready payment " + payment_id + " is not stored");
    api::Payment p = std::move(**found);
    if (control_sum > kMaxAmountFen - p.amount_fen()) break;  // the rest waits for the next batch
    control_sum += p.amount_fen();
    p.set_status(api::BATCHED);
    p.set_batch_id(batch_id);
    StorePayment(p);
    state_.Delete(kDeskReadyCf, payment_id);
    state_.Put(kDeskBatchItemsCf, ItemKey(batch_id, position), payment_id);
    ev::PaymentBatched m;
    m.set_payment_id(p.payment_id());
    m.set_claim_id(p.claim_id());
    m.set_member_id(p.member_id());
    m.set_kind(p.kind());
    m.set_amount_fen(p.amount_fen());
    m.set_batch_id(batch_id);
    m.set_position(position);
    if (Status s = Post(PayableAccount(p.member_id()), kClearingAccount, p.amount_fen(),
                        m.mutable_postings());
        !s.ok()) {
      return s;
    }
    if (Status s = emit.Emit(p.member_id(), kPaymentBatchedType, m); !s.ok()) return s;
    ++position;
  }
  api::Batch b;
  b.set_batch_id(batch_id);
  b.set_number_of_transactions(position);
  b.set_control_sum_fen(control_sum);
  b.set_creation_date(date);
  b.set_requested_execution_date(
      r.requested_execution_date().empty() ? date : r.requested_execution_date());
  state_.Put(kDeskBatchesCf, batch_id, b.SerializeAsString());
  ev::BatchCreated m;
  m.set_batch_id(batch_id);
  m.set_number_of_transactions(b.number_of_transactions());
  m.set_control_sum_fen(control_sum);
  m.set_creation_date(b.creation_date());
  m.set_requested_execution_date(b.requested_execution_date());
  m.set_operator_id(emit.body().operator_id());
  return emit.Emit(kDeskKey, kBatchCreatedType, m);
}

Status DeskFold::Report(const api::StatusReportImported& r, Emitter& emit) {
  if (r.parts() <= 1) return ApplyReport(r, emit);
  if (r.part() < 1 || r.part() > r.parts()) {
    Refusal refusal = Refuse("INVALID_ARGUMENT", kMalformedCommand,
                             "part " + std::to_string(r.part()) + " of " +
                                 std::to_string(r.parts()) + " of report " + r.report_id());
    refusal.report_id = r.report_id();
    return emit.Reject(refusal);
  }
  char part[16];
  std::snprintf(part, sizeof part, "%05u", r.part());
  const std::string prefix = r.report_id() + std::string(1, '\0');
  state_.Put(kDeskReportPartsCf, prefix + part, r.SerializeAsString());
  if (r.part() < r.parts()) return Status::Ok();  // the last part decides
  // The last part: the whole report from its parts, which are then forgotten either way.
  api::StatusReportImported whole = r;
  whole.clear_transactions();
  whole.set_part(0);
  whole.set_parts(0);
  uint32_t found = 0;
  Status inner;
  Status s = state_.ScanPrefix(kDeskReportPartsCf, prefix,
                               [&](const std::string& key, const std::string& value) {
                                 api::StatusReportImported p;
                                 if (!p.ParseFromString(value)) {
                                   inner = DataLoss("stored part " + key + " is corrupt");
                                   return false;
                                 }
                                 if (p.parts() == r.parts() && p.part() == found + 1) {
                                   ++found;
                                   for (const auto& t : p.transactions()) {
                                     *whole.add_transactions() = t;
                                   }
                                 }
                                 state_.Delete(kDeskReportPartsCf, key);
                                 return true;
                               });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  if (found != r.parts()) {
    Refusal refusal =
        Refuse("INVALID_ARGUMENT", kReportIncomplete,
               "report " + r.report_id() + " arrived with " + std::to_string(found) + " of its " +
                   std::to_string(r.parts()) + " parts in order; import it again");
    refusal.report_id = r.report_id();
    refusal.batch_id = r.batch_id();
    return emit.Reject(refusal);
  }
  return ApplyReport(whole, emit);
}

Status DeskFold::ApplyReport(const api::StatusReportImported& r, Emitter& emit) {
  auto refuse = [&](std::string status, std::string code, std::string detail,
                    std::string payment_id = "") {
    Refusal refusal = Refuse(std::move(status), std::move(code), std::move(detail));
    refusal.report_id = r.report_id();
    refusal.batch_id = r.batch_id();
    refusal.payment_id = std::move(payment_id);
    return emit.Reject(refusal);
  };
  if (r.report_id().empty() || r.batch_id().empty()) {
    return refuse("INVALID_ARGUMENT", kMalformedCommand,
                  "a status report needs its MsgId and OrgnlMsgId");
  }
  Result<std::optional<std::string>> imported = state_.Get(kDeskReportsCf, r.report_id());
  if (!imported.ok()) return imported.status();
  if (imported->has_value()) {
    return refuse("ALREADY_EXISTS", kReportDuplicate,
                  "status report " + r.report_id() + " was imported before (batch " + **imported +
                      "); nothing changed");
  }
  Result<std::optional<std::string>> batch_bytes = state_.Get(kDeskBatchesCf, r.batch_id());
  if (!batch_bytes.ok()) return batch_bytes.status();
  if (!batch_bytes->has_value()) {
    return refuse("NOT_FOUND", kBatchUnknown,
                  "status report " + r.report_id() + " answers unknown batch " + r.batch_id());
  }
  api::Batch b;
  if (!b.ParseFromString(**batch_bytes)) return DataLoss("stored batch " + r.batch_id());

  // The transactions to apply: those listed, or with a group status only, every payment of the
  // batch.
  std::vector<api::ReportedTransaction> txs(r.transactions().begin(), r.transactions().end());
  if (txs.empty()) {
    if (Status s = state_.ScanPrefix(kDeskBatchItemsCf, r.batch_id() + std::string(1, '\0'),
                                     [&](const std::string&, const std::string& payment_id) {
                                       api::ReportedTransaction t;
                                       t.set_payment_id(payment_id);
                                       t.set_status(r.group_status());
                                       txs.push_back(std::move(t));
                                       return true;
                                     });
        !s.ok()) {
      return s;
    }
  }
  // Validate everything before changing anything.
  struct Change {
    api::Payment payment;
    iso20022::StatusClass outcome;
    const api::ReportedTransaction* tx;
  };
  std::vector<Change> changes;
  std::set<std::string> listed;
  int64_t pending = 0;
  for (const api::ReportedTransaction& t : txs) {
    if (!listed.insert(t.payment_id()).second) {
      return refuse("INVALID_ARGUMENT", kDuplicateTransaction,
                    "payment " + t.payment_id() + " appears twice in report " + r.report_id(),
                    t.payment_id());
    }
    const iso20022::StatusClass outcome = iso20022::ClassifyStatus(t.status());
    if (outcome == iso20022::StatusClass::kUnknown) {
      return refuse("INVALID_ARGUMENT", kStatusUnknown,
                    "payment " + t.payment_id() + " has unknown status '" + t.status() + "'",
                    t.payment_id());
    }
    Result<std::optional<api::Payment>> found = LoadPayment(t.payment_id());
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return refuse("NOT_FOUND", kPaymentUnknown,
                    "report " + r.report_id() + " names unknown payment " + t.payment_id(),
                    t.payment_id());
    }
    const api::Payment& p = **found;
    if (p.batch_id() != r.batch_id()) {
      return refuse("FAILED_PRECONDITION", kPaymentNotInBatch,
                    "payment " + t.payment_id() + " is not in batch " + r.batch_id() +
                        (p.batch_id().empty() ? "" : " (it is in " + p.batch_id() + ")"),
                    t.payment_id());
    }
    if (t.amount_fen() != 0 && t.amount_fen() != p.amount_fen()) {
      return refuse("FAILED_PRECONDITION", kAmountMismatch,
                    "payment " + t.payment_id() + " was sent for " +
                        std::to_string(p.amount_fen()) + " fen; the report states " +
                        std::to_string(t.amount_fen()) + " fen",
                    t.payment_id());
    }
    if (outcome == iso20022::StatusClass::kPending) {
      ++pending;
      continue;
    }
    const bool settles = outcome == iso20022::StatusClass::kSettled;
    if (p.status() == (settles ? api::SETTLED : api::FAILED)) continue;  // said before
    if (p.status() != api::BATCHED) {
      return refuse("FAILED_PRECONDITION", kPaymentFinal,
                    "payment " + t.payment_id() + " is " + api::PaymentStatus_Name(p.status()) +
                        " already; the report says " + t.status(),
                    t.payment_id());
    }
    changes.push_back({p, outcome, &t});
  }

  ev::StatusReportApplied applied;
  applied.set_report_id(r.report_id());
  applied.set_batch_id(r.batch_id());
  applied.set_pending(pending);
  applied.set_operator_id(emit.body().operator_id());
  for (Change& c : changes) {
    api::Payment& p = c.payment;
    const api::ReportedTransaction& t = *c.tx;
    p.set_bank_status(t.status());
    p.set_status_report_id(r.report_id());
    if (c.outcome == iso20022::StatusClass::kSettled) {
      p.set_status(api::SETTLED);
      ev::PaymentSettled m;
      m.set_payment_id(p.payment_id());
      m.set_claim_id(p.claim_id());
      m.set_member_id(p.member_id());
      m.set_kind(p.kind());
      m.set_amount_fen(p.amount_fen());
      m.set_batch_id(r.batch_id());
      m.set_status_report_id(r.report_id());
      m.set_bank_status(t.status());
      if (Status s = Post(kClearingAccount, kSettledAccount, p.amount_fen(), m.mutable_postings());
          !s.ok()) {
        return s;
      }
      StorePayment(p);
      if (Status s = emit.Emit(p.member_id(), kPaymentSettledType, m); !s.ok()) return s;
      applied.set_settled(applied.settled() + 1);
      applied.set_settled_fen(applied.settled_fen() + p.amount_fen());
    } else {
      p.set_status(api::FAILED);
      p.set_reason_code(t.reason_code());
      p.set_reason_text(t.reason_text());
      ev::PaymentFailed m;
      m.set_payment_id(p.payment_id());
      m.set_claim_id(p.claim_id());
      m.set_member_id(p.member_id());
      m.set_kind(p.kind());
      m.set_amount_fen(p.amount_fen());
      m.set_batch_id(r.batch_id());
      m.set_status_report_id(r.report_id());
      m.set_bank_status(t.status());
      m.set_reason_code(t.reason_code());
      m.set_reason_text(t.reason_text());
      if (Status s = Post(kClearingAccount, PayableAccount(p.member_id()), p.amount_fen(),
                          m.mutable_postings());
          !s.ok()) {
        return s;
      }
      StorePayment(p);
      if (Status s = emit.Emit(p.member_id(), kPaymentFailedType, m); !s.ok()) return s;
      applied.set_failed(applied.failed() + 1);
      applied.set_failed_fen(applied.failed_fen() + p.amount_fen());
    }
  }
  b.add_status_report_ids(r.report_id());
  state_.Put(kDeskBatchesCf, r.batch_id(), b.SerializeAsString());
  state_.Put(kDeskReportsCf, r.report_id(), r.batch_id());
  return emit.Emit(kDeskKey, kStatusReportAppliedType, applied);
}

Status DeskFold::Reissue(const api::ReissueRequested& r, Emitter& emit) {
  Result<std::optional<api::Payment>> found = LoadPayment(r.failed_payment_id());
  if (!found.ok()) return found.status();
  Refusal refusal;
  if (!found->has_value()) {
    refusal = Refuse("NOT_FOUND", kPaymentUnknown, "no payment " + r.failed_payment_id());
  } else if ((*found)->status() != api::FAILED) {
    refusal = Refuse("FAILED_PRECONDITION", kPaymentNotFailed,
                     "payment " + r.failed_payment_id() + " is " +
                         api::PaymentStatus_Name((*found)->status()) +
                         "; only a FAILED payment is re-issued");
  } else if (!(*found)->replaced_by_payment_id().empty()) {
    refusal = Refuse("FAILED_PRECONDITION", kAlreadyReissued,
                     "payment " + r.failed_payment_id() + " was re-issued already as " +
                         (*found)->replaced_by_payment_id());
  } else if (r.payee_enrollment_event_id().empty()) {
    refusal = Refuse("INVALID_ARGUMENT", kMalformedCommand,
                     "a re-issue names the enrollment whose bank card it pays to");
  } else if (r.payee_enrollment_event_id() == (*found)->payee_enrollment_event_id()) {
    refusal = Refuse("FAILED_PRECONDITION", kCardNotCorrected,
                     "payment " + r.failed_payment_id() + " failed paying to enrollment " +
                         r.payee_enrollment_event_id() + "; the card was not corrected since");
  }
  if (!refusal.code.empty()) {
    refusal.payment_id = r.failed_payment_id();
    return emit.Reject(refusal);
  }
  api::Payment failed = std::move(**found);
  api::Payment p;
  p.set_issue(failed.issue() + 1);
  p.set_payment_id(PaymentId(failed.claim_id(), failed.kind(), p.issue()));
  p.set_claim_id(failed.claim_id());
  p.set_member_id(failed.member_id());
  p.set_kind(failed.kind());
  p.set_amount_fen(failed.amount_fen());
  p.set_status(api::INSTRUCTED);
  p.set_replaces_payment_id(failed.payment_id());
  p.set_decision_event_id(failed.decision_event_id());
  p.set_approving_input_event_id(failed.approving_input_event_id());
  p.set_payee_enrollment_event_id(r.payee_enrollment_event_id());
  failed.set_replaced_by_payment_id(p.payment_id());
  StorePayment(failed);
  StorePayment(p);
  state_.Put(kDeskClaimsCf, ClaimKey(p.claim_id(), p.kind()), p.payment_id());
  state_.Put(kDeskReadyCf, p.payment_id(), "");
  // The failure returned the money to the member's payable account: nothing to post.
  ev::PaymentInstructed m;
  m.set_payment_id(p.payment_id());
  m.set_claim_id(p.claim_id());
  m.set_member_id(p.member_id());
  m.set_kind(p.kind());
  m.set_amount_fen(p.amount_fen());
  m.set_decision_event_id(p.decision_event_id());
  m.set_replaces_payment_id(failed.payment_id());
  m.set_issue(p.issue());
  m.set_approving_input_event_id(p.approving_input_event_id());
  m.set_payee_enrollment_event_id(p.payee_enrollment_event_id());
  m.set_operator_id(emit.body().operator_id());
  return emit.Emit(p.member_id(), kPaymentInstructedType, m);
}

processor::FoldFactory DeskFoldFactory(runtime::Counter* duplicates) {
  return
      [duplicates](int32_t,
                   store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new DeskFold(store, duplicates));
      };
}

Result<api::LedgerBalance> ReadLedger(const store::StateStore& store, std::string_view cf) {
  api::LedgerBalance out;
  Status inner;
  Status s = store.ScanPrefix(cf, "", [&](std::string_view key, std::string_view value) {
    api::AccountBalance* b = out.add_accounts();
    if (!b->ParseFromString(std::string(value))) {
      inner = DataLoss("stored ledger account " + std::string(key) + " is corrupt");
      return false;
    }
    out.set_total_debit_fen(out.total_debit_fen() + b->debit_fen());
    out.set_total_credit_fen(out.total_credit_fen() + b->credit_fen());
    return true;
  });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  out.set_balanced(out.total_debit_fen() == out.total_credit_fen());
  return out;
}

Result<api::LedgerBalance> ReadDeskLedger(const store::StateStore& store) {
  return ReadLedger(store, kDeskLedgerCf);
}

}  // namespace claims::payout
