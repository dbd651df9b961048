#include "services/payout/payout_handler.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "libs/base/date.h"
#include "libs/base/text.h"
#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/iso20022/iso20022.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "services/payout/payout_ids.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;

constexpr auto kCancelCheck = std::chrono::milliseconds(200);
constexpr auto kAnswerMargin = std::chrono::milliseconds(100);
constexpr size_t kMaxIdBytes = 128;

Status DeadlineExceeded(std::string message) {
  return Status(StatusCode::kDeadlineExceeded, std::move(message));
}

void CheckKey(const std::string& key, std::vector<FieldViolation>& bad) {
  if (key.empty()) {
    bad.push_back({"idempotency_key", "is required"});
  } else if (key.size() > kMaxKeyBytes || !IsValidUtf8(key)) {
    bad.push_back({"idempotency_key", "must be 1-128 bytes of UTF-8"});
  }
}

void CheckId(const char* field, const std::string& id, std::vector<FieldViolation>& bad) {
  if (id.empty()) {
    bad.push_back({field, "is required"});
  } else if (id.size() > kMaxIdBytes || !IsValidUtf8(id)) {
    bad.push_back({field, "must be 1-128 bytes of UTF-8"});
  }
}

void CheckNote(const std::string& note, std::vector<FieldViolation>& bad) {
  if (note.size() > kMaxNoteBytes) {
    bad.push_back({"note", "must be at most 500 bytes"});
  } else if (!IsValidUtf8(note)) {
    bad.push_back({"note", "is not valid UTF-8 text"});
  }
}

Status StatusOfName(const std::string& name, std::string message) {
  if (name == "NOT_FOUND") return NotFound(std::move(message));
  if (name == "ALREADY_EXISTS") return AlreadyExists(std::move(message));
  if (name == "INVALID_ARGUMENT") return InvalidArgument(std::move(message));
  return FailedPrecondition(std::move(message));
}

std::string Hex(std::string_view bytes) { return crypto::ToHex(bytes); }

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

// ---- Reads ----

Result<api::Payment> PayoutHandler::GetPayment(const api::GetPaymentRequest& request) const {
  std::vector<FieldViolation> bad;
  CheckId("payment_id", request.payment_id(), bad);
  if (!bad.empty()) return InvalidArgument("the request is invalid", std::move(bad));
  Result<std::optional<api::Payment>> p = model_.Payment(request.payment_id());
  if (!p.ok()) return p.status();
  if (!p->has_value()) return NotFound("no payment " + request.payment_id());
  return std::move(**p);
}

Result<api::ListPaymentsResponse> PayoutHandler::ListPayments(
    const api::ListPaymentsRequest& request) const {
  std::vector<FieldViolation> bad;
  if (!api::PaymentStatus_IsValid(request.status())) {
    bad.push_back({"status", "is not a known payment status"});
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    bad.push_back({"page_size", "must be 1-500 (0 for the default, 50)"});
  }
  std::string after;
  if (!request.page_token().empty()) {
    std::optional<std::string> id = Unhex(request.page_token());
    if (!id.has_value() || id->empty()) {
      bad.push_back({"page_token", "is not a token of a previous ListPayments response"});
    } else {
      after = *id;
    }
  }
  if (!bad.empty()) return InvalidArgument("the listing request is invalid", std::move(bad));
  PaymentFilter filter;
  filter.status = request.status();
  filter.claim_id = request.claim_id();
  filter.member_id = request.member_id();
  filter.batch_id = request.batch_id();
  const size_t page_size =
      static_cast<size_t>(request.page_size() == 0 ? kDefaultPageSize : request.page_size());
  Result<PaymentPage> page = model_.ListPayments(filter, page_size, after);
  if (!page.ok()) return page.status();
  api::ListPaymentsResponse out;
  for (api::Payment& p : page->payments) *out.add_payments() = std::move(p);
  if (!page->last_id.empty()) out.set_next_page_token(Hex(page->last_id));
  return out;
}

Result<api::Batch> PayoutHandler::GetBatch(const api::GetBatchRequest& request) const {
  std::vector<FieldViolation> bad;
  CheckId("batch_id", request.batch_id(), bad);
  if (!bad.empty()) return InvalidArgument("the request is invalid", std::move(bad));
  const bool with_payments = request.include_payments() || request.include_xml();
  Result<std::optional<api::Batch>> b = model_.Batch(request.batch_id(), with_payments);
  if (!b.ok()) return b.status();
  if (!b->has_value()) return NotFound("no batch " + request.batch_id());
  api::Batch batch = std::move(**b);
  if (with_payments && batch.payments_size() != batch.number_of_transactions()) {
    return Unavailable("batch " + request.batch_id() + " is not complete in the read model yet (" +
                       std::to_string(batch.payments_size()) + " of " +
                       std::to_string(batch.number_of_transactions()) + " payments); retry");
  }
  if (request.include_xml()) {
    Result<std::string> xml = RenderBatch(batch);
    if (!xml.ok()) return xml.status();
    batch.set_xml(std::move(xml).value());
  }
  if (!request.include_payments()) batch.clear_payments();
  return batch;
}

Result<std::string> PayoutHandler::RenderBatch(const api::Batch& batch) const {
  if (payees_ == nullptr) {
    return FailedPrecondition("bank files need the master key (--master-key-file) to open payees");
  }
  std::optional<Date> execution = Date::Parse(batch.requested_execution_date());
  if (!execution.has_value()) {
    return DataLoss("batch " + batch.batch_id() + " has no valid requested execution date");
  }
  iso20022::CreditTransferBatch file;
  file.message_id = batch.batch_id();
  file.creation_date_time = batch.creation_date() + "T00:00:00";
  file.initiating_party_name = bank_.initiating_party_name;
  file.debtor_name = bank_.debtor_name;
  file.debtor_account = bank_.debtor_account;
  file.debtor_agent_bic = bank_.debtor_agent_bic;
  file.requested_execution_date = *execution;
  file.transfers.reserve(static_cast<size_t>(batch.payments_size()));
  for (const api::Payment& p : batch.payments()) {
    Result<std::string> enrollment = payees_->PinnedEnrollment(p);
    if (!enrollment.ok()) return enrollment.status();
    Result<Payee> payee = payees_->Open(*enrollment);
    if (!payee.ok()) {
      return Status(payee.status().code(),
                    "payment " + p.payment_id() + ": " + payee.status().message());
    }
    iso20022::CreditTransfer& t = file.transfers.emplace_back();
    t.end_to_end_id = p.payment_id();
    t.amount_fen = p.amount_fen();
    t.creditor_name = std::move(payee->name);
    t.creditor_account = std::move(payee->account);
    t.remittance = "claim " + p.claim_id() + " " + KindName(p.kind());
  }
  std::ostringstream out;
  if (Status s = iso20022::WritePain001(file, out); !s.ok()) return s;
  return out.str();
}

Result<api::LedgerBalance> PayoutHandler::GetLedgerBalance() const { return model_.Ledger(); }

// ---- Commands ----

ev::Envelope PayoutHandler::CommandOf(const std::string& operator_id, const char* call,
                                      const std::string& key, api::PayoutCommand body) const {
  body.set_operator_id(operator_id);
  body.set_business_date(clock_.Today().ToString());
  ev::Envelope e = codec::Wrap(kPayoutCommandType, body);
  e.set_event_id(OperatorCommandId(operator_id, call, key));
  e.set_member_id(kDeskKey);
  e.set_business_date(body.business_date());
  e.set_producer(kProducer);
  e.set_trace_id(e.event_id());
  return e;
}

Result<ev::Envelope> PayoutHandler::Submit(const ev::Envelope& command, Deadline deadline,
                                           const Cancelled& cancelled) const {
  const std::string& id = command.event_id();
  auto answered = [&](const ev::Envelope& answer) -> Result<ev::Envelope> {
    if (answer.answers_sha256() != command.payload_sha256()) {
      return AlreadyExists("the idempotency key was used for a different request (command " + id +
                           "); use a new key");
    }
    if (answer.type() == kCommandRejectedType) {
      ev::CommandRejected r;
      if (!r.ParseFromString(answer.payload())) return DataLoss("answer of " + id + " is corrupt");
      return StatusOfName(r.status(), "refused by the payout desk (" + r.code() + "): " +
                                          r.detail() + "; nothing changed (command " + id + ")");
    }
    return answer;
  };
  Result<std::optional<ev::Envelope>> known = model_.Answer(id);
  if (!known.ok()) return known.status();
  if (known->has_value()) return answered(**known);

  const auto start = std::chrono::steady_clock::now();
  const Deadline answer_by = deadline - start > kAnswerMargin ? deadline - kAnswerMargin : start;
  const Deadline until = std::min(answer_by, start + options_.max_wait);
  if (until <= start) return DeadlineExceeded("the call's deadline passed before the command");
  const auto publish_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::min<std::chrono::steady_clock::duration>(options_.publish_timeout, until - start));
  if (publish_ms.count() <= 0) return DeadlineExceeded("no time left to record the command");
  if (Status s = commands_.Append(command, publish_ms); !s.ok()) {
    const StatusCode code =
        s.code() == StatusCode::kDeadlineExceeded ? s.code() : StatusCode::kUnavailable;
    return Status(code, "command " + id + " may not be recorded: " + s.message() +
                            "; retry with the same idempotency key");
  }
  for (;;) {
    const uint64_t seen = model_.version();
    Result<std::optional<ev::Envelope>> answer = model_.Answer(id);
    if (!answer.ok()) return answer.status();
    if (answer->has_value()) return answered(**answer);
    if (model_.closed() || (cancelled && cancelled())) {
      return Unavailable("command " + id +
                         " is recorded; the wait for its answer was cut short (shutdown or "
                         "cancellation): retry with the same idempotency key to learn it");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) {
      return DeadlineExceeded("command " + id +
                              " is recorded; the payout desk has not answered yet: retry with "
                              "the same idempotency key to learn the outcome");
    }
    model_.WaitForChange(seen, std::min(until, now + kCancelCheck));
  }
}

Result<api::Payment> PayoutHandler::PaymentAnswer(const ev::Envelope& answer,
                                                  const std::string& payment_id) const {
  (void)answer;
  // The answer and the payment's change are written by the same model batch.
  Result<std::optional<api::Payment>> p = model_.Payment(payment_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return Internal("payment " + payment_id + " is answered but not stored");
  return std::move(**p);
}

Result<api::Payment> PayoutHandler::HoldPayment(const std::string& operator_id,
                                                const api::HoldPaymentRequest& request,
                                                Deadline deadline,
                                                const Cancelled& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckKey(request.idempotency_key(), bad);
  CheckId("payment_id", request.payment_id(), bad);
  CheckNote(request.note(), bad);
  if (!bad.empty()) return InvalidArgument("the hold is invalid", std::move(bad));
  api::PayoutCommand body;
  body.mutable_hold_requested()->set_payment_id(request.payment_id());
  body.mutable_hold_requested()->set_note(request.note());
  const ev::Envelope command = CommandOf(operator_id, "hold", request.idempotency_key(), body);
  Result<std::optional<ev::Envelope>> known = model_.Answer(command.event_id());
  if (!known.ok()) return known.status();
  if (!known->has_value()) {
    // Refused before recording when the model proves it: a batched payment never comes back.
    Result<std::optional<api::Payment>> p = model_.Payment(request.payment_id());
    if (!p.ok()) return p.status();
    if (p->has_value() && (*p)->status() != api::INSTRUCTED && (*p)->status() != api::HELD) {
      return FailedPrecondition("payment " + request.payment_id() + " is " +
                                api::PaymentStatus_Name((*p)->status()) +
                                ((*p)->batch_id().empty() ? "" : " in batch " + (*p)->batch_id()) +
                                ": only an instructed payment not yet batched can be held");
    }
  }
  Result<ev::Envelope> answer = Submit(command, deadline, cancelled);
  if (!answer.ok()) return answer.status();
  return PaymentAnswer(*answer, request.payment_id());
}

Result<api::Payment> PayoutHandler::ReleasePayment(const std::string& operator_id,
                                                   const api::ReleasePaymentRequest& request,
                                                   Deadline deadline,
                                                   const Cancelled& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckKey(request.idempotency_key(), bad);
  CheckId("payment_id", request.payment_id(), bad);
  CheckNote(request.note(), bad);
  if (!bad.empty()) return InvalidArgument("the release is invalid", std::move(bad));
  api::PayoutCommand body;
  body.mutable_release_requested()->set_payment_id(request.payment_id());
  body.mutable_release_requested()->set_note(request.note());
  Result<ev::Envelope> answer = Submit(
      CommandOf(operator_id, "release", request.idempotency_key(), body), deadline, cancelled);
  if (!answer.ok()) return answer.status();
  return PaymentAnswer(*answer, request.payment_id());
}

Result<api::Payment> PayoutHandler::ReissuePayment(const std::string& operator_id,
                                                   const api::ReissuePaymentRequest& request,
                                                   Deadline deadline,
                                                   const Cancelled& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckKey(request.idempotency_key(), bad);
  CheckId("failed_payment_id", request.failed_payment_id(), bad);
  if (!request.payee_enrollment_event_id().empty()) {
    CheckId("payee_enrollment_event_id", request.payee_enrollment_event_id(), bad);
  } else if (payees_ == nullptr) {
    bad.push_back({"payee_enrollment_event_id",
                   "is required: this replica has no payee directory (no master key)"});
  }
  CheckNote(request.note(), bad);
  if (!bad.empty()) return InvalidArgument("the re-issue is invalid", std::move(bad));
  std::string enrollment = request.payee_enrollment_event_id();
  // A retry is answered from the first attempt's result, whatever the directory says now.
  Result<std::optional<ev::Envelope>> known =
      model_.Answer(OperatorCommandId(operator_id, "reissue", request.idempotency_key()));
  if (!known.ok()) return known.status();
  if (known->has_value()) {
    ev::PaymentInstructed first;
    if ((**known).type() == kPaymentInstructedType && first.ParseFromString((**known).payload())) {
      enrollment = first.payee_enrollment_event_id();
    }
  }
  if (payees_ != nullptr && !known->has_value()) {
    // Resolve the payee now: the member's latest enrollment, which must differ from the one the
    // failed payment paid to (a corrected card is a new enrollment record).
    Result<std::optional<api::Payment>> failed = model_.Payment(request.failed_payment_id());
    if (!failed.ok()) return failed.status();
    if (!failed->has_value()) return NotFound("no payment " + request.failed_payment_id());
    if (enrollment.empty()) {
      Result<std::string> latest = payees_->LatestEnrollment((*failed)->member_id());
      if (!latest.ok()) return latest.status();
      enrollment = *latest;
    }
    Result<std::string> paid_to = payees_->PinnedEnrollment(**failed);
    if (!paid_to.ok()) return paid_to.status();
    if (*paid_to == enrollment) {
      return FailedPrecondition("payment " + request.failed_payment_id() +
                                " failed paying to enrollment " + enrollment +
                                ", still the member's latest: the bank card was not corrected");
    }
  }
  api::PayoutCommand body;
  api::ReissueRequested* r = body.mutable_reissue_requested();
  r->set_failed_payment_id(request.failed_payment_id());
  r->set_payee_enrollment_event_id(enrollment);
  r->set_note(request.note());
  Result<ev::Envelope> answer = Submit(
      CommandOf(operator_id, "reissue", request.idempotency_key(), body), deadline, cancelled);
  if (!answer.ok()) return answer.status();
  ev::PaymentInstructed m;
  if (answer->type() != kPaymentInstructedType || !m.ParseFromString(answer->payload())) {
    return Internal("the answer to a re-issue is not a PaymentInstructed");
  }
  return PaymentAnswer(*answer, m.payment_id());
}

Result<api::Batch> PayoutHandler::CreateBatch(const std::string& operator_id,
                                              const api::CreateBatchRequest& request,
                                              Deadline deadline, const Cancelled& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckKey(request.idempotency_key(), bad);
  if (!request.requested_execution_date().empty() &&
      !Date::Parse(request.requested_execution_date()).has_value()) {
    bad.push_back({"requested_execution_date", "must be a date YYYY-MM-DD"});
  }
  if (!bad.empty()) return InvalidArgument("the batch request is invalid", std::move(bad));
  api::PayoutCommand body;
  body.mutable_batch_requested()->set_requested_execution_date(request.requested_execution_date());
  Result<ev::Envelope> answer =
      Submit(CommandOf(operator_id, "batch", request.idempotency_key(), body), deadline, cancelled);
  if (!answer.ok()) return answer.status();
  ev::BatchCreated created;
  if (answer->type() != kBatchCreatedType || !created.ParseFromString(answer->payload())) {
    return Internal("the answer to a batch request is not a BatchCreated");
  }
  // The batch's PaymentBatched events travel on the members' partitions: wait (bounded) until
  // the model has them all, so that the batch returned is complete.
  const Deadline until = std::min(deadline, std::chrono::steady_clock::now() + options_.max_wait);
  for (;;) {
    const uint64_t seen = model_.version();
    Result<int64_t> items = model_.BatchItems(created.batch_id());
    if (!items.ok()) return items.status();
    if (*items >= created.number_of_transactions()) break;
    if (model_.closed() || std::chrono::steady_clock::now() >= until) {
      return DeadlineExceeded("batch " + created.batch_id() + " is created; " +
                              std::to_string(*items) + " of its " +
                              std::to_string(created.number_of_transactions()) +
                              " payments are in the read model so far: GetBatch shows it whole "
                              "once they all are");
    }
    model_.WaitForChange(seen, std::min(until, std::chrono::steady_clock::now() + kCancelCheck));
  }
  Result<std::optional<api::Batch>> b = model_.Batch(created.batch_id(), false);
  if (!b.ok()) return b.status();
  if (!b->has_value()) return Internal("batch " + created.batch_id() + " answered, not stored");
  return std::move(**b);
}

Result<api::ImportStatusReportResponse> PayoutHandler::ImportStatusReport(
    const std::string& operator_id, const api::ImportStatusReportRequest& request,
    Deadline deadline, const Cancelled& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckKey(request.idempotency_key(), bad);
  if (request.xml().empty()) bad.push_back({"xml", "is required: the pain.002 file"});
  if (!bad.empty()) return InvalidArgument("the import is invalid", std::move(bad));
  Result<iso20022::StatusReport> report = iso20022::ParsePain002(request.xml());
  if (!report.ok()) {
    std::vector<FieldViolation> where;
    for (const FieldViolation& v : report.status().violations()) {
      where.push_back({"xml: " + v.field, v.description});
    }
    if (where.empty()) where.push_back({"xml", report.status().message()});
    return InvalidArgument("the pain.002 file is not valid: " + report.status().message(),
                           std::move(where));
  }
  if (report->transactions.size() > kMaxReportTransactions) {
    return InvalidArgument(
        "the report has " + std::to_string(report->transactions.size()) + " transactions",
        {{"xml", "at most 1,000,000 transactions per status report"}});
  }
  Result<std::optional<std::string>> imported = model_.ReportBatch(report->message_id);
  if (!imported.ok()) return imported.status();
  // The parsed report, in parts of at most report_part_transactions (one record each, below the
  // broker's message size); the desk applies it whole when the last part arrives.
  const size_t per_part = std::max<size_t>(1, options_.report_part_transactions);
  const size_t total = report->transactions.size();
  const uint32_t parts =
      total <= per_part ? 1 : static_cast<uint32_t>((total + per_part - 1) / per_part);
  std::vector<ev::Envelope> commands;
  for (uint32_t part = 1; part <= parts; ++part) {
    api::PayoutCommand body;
    api::StatusReportImported* r = body.mutable_status_report_imported();
    r->set_report_id(report->message_id);
    r->set_batch_id(report->original_message_id);
    r->set_group_status(report->group_status);
    r->set_report_sha256(std::string(crypto::AsBytes(crypto::Sha256(request.xml()))));
    if (parts > 1) {
      r->set_part(part);
      r->set_parts(parts);
    }
    const size_t from = (part - 1) * per_part;
    for (size_t i = from; i < std::min(total, from + per_part); ++i) {
      const iso20022::TransactionStatus& t = report->transactions[i];
      api::ReportedTransaction* x = r->add_transactions();
      x->set_payment_id(t.original_end_to_end_id);
      x->set_status(t.status);
      x->set_reason_code(t.reason_code);
      x->set_reason_text(t.reason_text);
      x->set_amount_fen(t.original_amount_fen.value_or(0));
    }
    const std::string key = parts == 1 ? request.idempotency_key()
                                       : request.idempotency_key() + "\npart " +
                                             std::to_string(part) + "/" + std::to_string(parts);
    commands.push_back(CommandOf(operator_id, "import", key, std::move(body)));
  }
  const ev::Envelope command = commands.back();  // the last part: the desk answers it
  Result<std::optional<ev::Envelope>> known = model_.Answer(command.event_id());
  if (!known.ok()) return known.status();
  if (!known->has_value() && imported->has_value()) {
    return AlreadyExists("status report " + report->message_id + " was imported before (batch " +
                         **imported + "); nothing changed");
  }
  if (!known->has_value() && parts > 1) {
    commands.pop_back();
    // In order, one after the other: the desk must see the parts before the last one.
    for (const ev::Envelope& part : commands) {
      if (Status st = commands_.Append(part, options_.publish_timeout); !st.ok()) {
        return Unavailable("status report " + report->message_id +
                           " could not be recorded in full: " + st.message() +
                           "; retry with the same idempotency key");
      }
    }
  }
  Result<ev::Envelope> answer = Submit(command, deadline, cancelled);
  if (!answer.ok()) return answer.status();
  api::ImportStatusReportResponse out;
  if (answer->type() != kStatusReportAppliedType ||
      !out.mutable_applied()->ParseFromString(answer->payload())) {
    return Internal("the answer to a status report is not a StatusReportApplied");
  }
  // The settlements and failures travel on the members' partitions: wait (bounded) until the
  // model has them all, so that what the caller reads next reflects the whole report.
  const int64_t outcomes = out.applied().settled() + out.applied().failed();
  const Deadline until = std::min(deadline, std::chrono::steady_clock::now() + options_.max_wait);
  for (;;) {
    const uint64_t seen = model_.version();
    Result<int64_t> applied = model_.ReportOutcomes(out.applied().report_id());
    if (!applied.ok()) return applied.status();
    if (*applied >= outcomes) break;
    if (model_.closed() || std::chrono::steady_clock::now() >= until) {
      return DeadlineExceeded("status report " + out.applied().report_id() + " is applied; " +
                              std::to_string(*applied) + " of its " + std::to_string(outcomes) +
                              " settlements and failures are in the read model so far");
    }
    model_.WaitForChange(seen, std::min(until, std::chrono::steady_clock::now() + kCancelCheck));
  }
  return out;
}

}  // namespace claims::payout
