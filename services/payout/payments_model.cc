#include "services/payout/payments_model.h"

#include <thread>

#include "libs/events/follower.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "services/payout/desk.h"
#include "services/payout/payout_ids.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;

template <typename M>
Result<std::optional<M>> Parsed(Result<std::optional<std::string>> bytes, const std::string& what) {
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<M>();
  M m;
  if (!m.ParseFromString(**bytes)) return DataLoss("stored " + what + " is corrupt");
  return std::optional<M>(std::move(m));
}

bool Matches(const PaymentFilter& f, const api::Payment& p) {
  if (f.status != api::PAYMENT_STATUS_UNSPECIFIED && p.status() != f.status) return false;
  if (!f.claim_id.empty() && p.claim_id() != f.claim_id) return false;
  if (!f.member_id.empty() && p.member_id() != f.member_id) return false;
  if (!f.batch_id.empty() && p.batch_id() != f.batch_id) return false;
  return true;
}

// Event types whose event answers the command that caused it (what an API call waits for).
bool IsAnswer(const std::string& type) {
  return type == kPaymentInstructedType || type == kPaymentHeldType ||
         type == kPaymentReleasedType || type == kBatchCreatedType ||
         type == kStatusReportAppliedType || type == kCommandRejectedType;
}

}  // namespace

std::vector<std::string> ModelColumnFamilies() {
  return {kModelPaymentsCf, kModelBatchesCf, kModelItemsCf, kModelReportsCf,
          kModelLedgerCf,   kModelResultsCf, kModelSeenCf,  kModelReportCountsCf};
}

// ---- PaymentsModel ----

Result<std::optional<api::Payment>> PaymentsModel::Payment(const std::string& payment_id) const {
  return Parsed<api::Payment>(store_.Get(kModelPaymentsCf, payment_id), "payment " + payment_id);
}

Result<PaymentPage> PaymentsModel::ListPayments(const PaymentFilter& filter, size_t page_size,
                                                const std::string& after) const {
  PaymentPage page;
  Status inner;
  const std::string begin = after.empty() ? std::string() : after + std::string(1, '\0');
  Status s = store_.ScanRange(kModelPaymentsCf, begin, "",
                              [&](std::string_view key, std::string_view value) {
                                api::Payment p;
                                if (!p.ParseFromString(std::string(value))) {
                                  inner = DataLoss("stored payment " + std::string(key));
                                  return false;
                                }
                                if (!Matches(filter, p)) return true;
                                if (page.payments.size() == page_size) {
                                  page.last_id = page.payments.back().payment_id();
                                  return false;
                                }
                                page.payments.push_back(std::move(p));
                                return true;
                              });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  return page;
}

Result<std::optional<api::Batch>> PaymentsModel::Batch(const std::string& batch_id,
                                                       bool with_payments) const {
  Result<std::optional<api::Batch>> batch =
      Parsed<api::Batch>(store_.Get(kModelBatchesCf, batch_id), "batch " + batch_id);
  if (!batch.ok() || !batch->has_value() || !with_payments) return batch;
  Status inner;
  Status s = store_.ScanPrefix(kModelItemsCf, batch_id + std::string(1, '\0'),
                               [&](std::string_view, std::string_view payment_id) {
                                 Result<std::optional<api::Payment>> p =
                                     Payment(std::string(payment_id));
                                 if (!p.ok()) {
                                   inner = p.status();
                                   return false;
                                 }
                                 if (p->has_value()) *(*batch)->add_payments() = std::move(**p);
                                 return true;
                               });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  return batch;
}

Result<int64_t> PaymentsModel::BatchItems(const std::string& batch_id) const {
  int64_t n = 0;
  Status s = store_.ScanPrefix(kModelItemsCf, batch_id + std::string(1, '\0'),
                               [&](std::string_view, std::string_view) {
                                 ++n;
                                 return true;
                               });
  if (!s.ok()) return s;
  return n;
}

Result<std::optional<std::string>> PaymentsModel::ReportBatch(const std::string& report_id) const {
  return store_.Get(kModelReportsCf, report_id);
}

Result<int64_t> PaymentsModel::ReportOutcomes(const std::string& report_id) const {
  Result<std::optional<std::string>> count = store_.Get(kModelReportCountsCf, report_id);
  if (!count.ok()) return count.status();
  return count->has_value() ? std::stoll(**count) : int64_t{0};
}

Result<api::LedgerBalance> PaymentsModel::Ledger() const {
  return ReadLedger(store_, kModelLedgerCf);
}

Result<std::map<api::PaymentStatus, int64_t>> PaymentsModel::CountByStatus() const {
  std::map<api::PaymentStatus, int64_t> counts;
  api::Payment p;
  Status s = store_.ScanPrefix(kModelPaymentsCf, "", [&](std::string_view, std::string_view v) {
    if (p.ParseFromString(std::string(v))) ++counts[p.status()];
    return true;
  });
  if (!s.ok()) return s;
  return counts;
}

Result<std::optional<ev::Envelope>> PaymentsModel::Answer(const std::string& command_id) const {
  return Parsed<ev::Envelope>(store_.Get(kModelResultsCf, command_id), "answer of " + command_id);
}

uint64_t PaymentsModel::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t PaymentsModel::WaitForChange(uint64_t seen,
                                      std::chrono::steady_clock::time_point until) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_until(lock, until, [&] { return version_ != seen || closed_; });
  return version_;
}

void PaymentsModel::NotifyChanged() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++version_;
  }
  changed_.notify_all();
}

void PaymentsModel::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool PaymentsModel::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

// ---- PaymentsFollower ----

Status PaymentsFollower::Start(std::chrono::milliseconds timeout) {
  pending_.clear();
  filter_ = processor::SequenceFilter();
  seeded_.clear();
  return events::AssignFromStore(consumer_, store_, {kPaymentsTopic}, timeout).status();
}

Result<std::optional<std::string>> PaymentsFollower::Get(std::string_view cf,
                                                         const std::string& key) const {
  auto it = pending_.find({std::string(cf), key});
  if (it != pending_.end()) return std::optional<std::string>(it->second);
  return store_.Get(cf, key);
}

void PaymentsFollower::Put(std::string_view cf, const std::string& key, std::string value) {
  pending_[{std::string(cf), key}] = std::move(value);
}

Result<std::optional<api::Payment>> PaymentsFollower::LoadPayment(const std::string& id) const {
  return Parsed<api::Payment>(Get(kModelPaymentsCf, id), "payment " + id);
}

void PaymentsFollower::StorePayment(const api::Payment& p) {
  Put(kModelPaymentsCf, p.payment_id(), p.SerializeAsString());
}

Status PaymentsFollower::Book(const google::protobuf::RepeatedPtrField<ev::LedgerPosting>& ps) {
  for (const ev::LedgerPosting& posting : ps) {
    for (const auto& [account, is_debit] :
         {std::pair(posting.debit_account(), true), std::pair(posting.credit_account(), false)}) {
      Result<std::optional<api::AccountBalance>> found =
          Parsed<api::AccountBalance>(Get(kModelLedgerCf, account), "account " + account);
      if (!found.ok()) return found.status();
      api::AccountBalance b = found->value_or(api::AccountBalance());
      b.set_account(account);
      if (is_debit) {
        b.set_debit_fen(b.debit_fen() + posting.amount_fen());
      } else {
        b.set_credit_fen(b.credit_fen() + posting.amount_fen());
      }
      b.set_balance_fen(b.debit_fen() - b.credit_fen());
      Put(kModelLedgerCf, account, b.SerializeAsString());
    }
  }
  return Status::Ok();
}

Status PaymentsFollower::Apply(const ev::Envelope& e) {
  const std::string& member = e.member_id();
  if (!seeded_[member]) {
    Result<std::optional<std::string>> last = Get(kModelSeenCf, member);
    if (!last.ok()) return last.status();
    if (last->has_value()) filter_.Seed(member, std::stoull(**last));
    seeded_[member] = true;
  }
  if (e.sequence() == 0) return Status::Ok();
  if (filter_.Offer(member, e.sequence()) == processor::SequenceFilter::Verdict::kDuplicate) {
    if (duplicates_ != nullptr) duplicates_->Increment();
    return Status::Ok();
  }
  Put(kModelSeenCf, member, std::to_string(e.sequence()));
  if (IsAnswer(e.type()) && !e.answers_event_id().empty()) {
    Put(kModelResultsCf, e.answers_event_id(), e.SerializeAsString());
  }
  const std::string& type = e.type();
  if (type == kPaymentInstructedType) {
    ev::PaymentInstructed m;
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    api::Payment p;
    p.set_payment_id(m.payment_id());
    p.set_claim_id(m.claim_id());
    p.set_member_id(m.member_id());
    p.set_kind(m.kind());
    p.set_amount_fen(m.amount_fen());
    p.set_status(api::INSTRUCTED);
    p.set_issue(m.issue());
    p.set_replaces_payment_id(m.replaces_payment_id());
    p.set_decision_event_id(m.decision_event_id());
    p.set_approving_input_event_id(m.approving_input_event_id());
    p.set_payee_enrollment_event_id(m.payee_enrollment_event_id());
    StorePayment(p);
    if (!m.replaces_payment_id().empty()) {
      Result<std::optional<api::Payment>> old = LoadPayment(m.replaces_payment_id());
      if (!old.ok()) return old.status();
      if (old->has_value()) {
        (*old)->set_replaced_by_payment_id(m.payment_id());
        StorePayment(**old);
      }
    }
    return Book(m.postings());
  }
  if (type == kPaymentHeldType || type == kPaymentReleasedType) {
    ev::PaymentHeld m;  // PaymentReleased has the same fields and numbers
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    Result<std::optional<api::Payment>> p = LoadPayment(m.payment_id());
    if (!p.ok()) return p.status();
    if (!p->has_value()) return ++skipped_, Status::Ok();
    const bool held = type == kPaymentHeldType;
    (*p)->set_status(held ? api::HELD : api::INSTRUCTED);
    (*p)->set_held_by(held ? m.operator_id() : "");
    StorePayment(**p);
    return Status::Ok();
  }
  if (type == kPaymentBatchedType) {
    ev::PaymentBatched m;
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    Result<std::optional<api::Payment>> p = LoadPayment(m.payment_id());
    if (!p.ok()) return p.status();
    if (!p->has_value()) return ++skipped_, Status::Ok();
    (*p)->set_status(api::BATCHED);
    (*p)->set_batch_id(m.batch_id());
    StorePayment(**p);
    Put(kModelItemsCf, ItemKey(m.batch_id(), m.position()), m.payment_id());
    return Book(m.postings());
  }
  if (type == kBatchCreatedType) {
    ev::BatchCreated m;
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    Result<std::optional<api::Batch>> b =
        Parsed<api::Batch>(Get(kModelBatchesCf, m.batch_id()), "batch " + m.batch_id());
    if (!b.ok()) return b.status();
    api::Batch batch = b->value_or(api::Batch());
    batch.set_batch_id(m.batch_id());
    batch.set_number_of_transactions(m.number_of_transactions());
    batch.set_control_sum_fen(m.control_sum_fen());
    batch.set_creation_date(m.creation_date());
    batch.set_requested_execution_date(m.requested_execution_date());
    Put(kModelBatchesCf, m.batch_id(), batch.SerializeAsString());
    return Status::Ok();
  }
  if (type == kPaymentSettledType || type == kPaymentFailedType) {
    ev::PaymentFailed m;  // PaymentSettled's fields are a prefix of PaymentFailed's, same numbers
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    Result<std::optional<api::Payment>> p = LoadPayment(m.payment_id());
    if (!p.ok()) return p.status();
    if (!p->has_value()) return ++skipped_, Status::Ok();
    (*p)->set_status(type == kPaymentSettledType ? api::SETTLED : api::FAILED);
    (*p)->set_bank_status(m.bank_status());
    (*p)->set_status_report_id(m.status_report_id());
    (*p)->set_reason_code(m.reason_code());
    (*p)->set_reason_text(m.reason_text());
    StorePayment(**p);
    Result<std::optional<std::string>> count = Get(kModelReportCountsCf, m.status_report_id());
    if (!count.ok()) return count.status();
    Put(kModelReportCountsCf, m.status_report_id(),
        std::to_string((count->has_value() ? std::stoll(**count) : 0) + 1));
    return Book(m.postings());
  }
  if (type == kStatusReportAppliedType) {
    ev::StatusReportApplied m;
    if (!m.ParseFromString(e.payload())) return ++skipped_, Status::Ok();
    Put(kModelReportsCf, m.report_id(), m.batch_id());
    Result<std::optional<api::Batch>> b =
        Parsed<api::Batch>(Get(kModelBatchesCf, m.batch_id()), "batch " + m.batch_id());
    if (!b.ok()) return b.status();
    api::Batch batch = b->value_or(api::Batch());
    batch.set_batch_id(m.batch_id());
    batch.add_status_report_ids(m.report_id());
    Put(kModelBatchesCf, m.batch_id(), batch.SerializeAsString());
    return Status::Ok();
  }
  if (type != kCommandRejectedType) ++skipped_;
  return Status::Ok();
}

Status PaymentsFollower::Flush(store::WriteBatch& batch) {
  for (const auto& [key, value] : pending_) batch.Put(key.first, key.second, value);
  pending_.clear();
  return Status::Ok();
}

Result<size_t> PaymentsFollower::PollOnce(std::chrono::milliseconds timeout) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, 5000);
  if (!events.ok()) return events.status();
  std::map<int32_t, int64_t> next;
  size_t consumed = 0;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage || e.message.topic != kPaymentsTopic) {
      continue;
    }
    ev::Envelope envelope;
    if (!envelope.ParseFromString(e.message.value)) {
      ++skipped_;
    } else if (Status s = Apply(envelope); !s.ok()) {
      return s;  // the caller re-assigns from the stored offsets (Start), dropping what is staged
    }
    next[e.message.partition] = e.message.offset + 1;
    ++consumed;
  }
  if (consumed == 0) return consumed;
  store::WriteBatch batch;
  if (Status s = Flush(batch); !s.ok()) return s;
  for (const auto& [partition, offset] : next) batch.SetOffset(kPaymentsTopic, partition, offset);
  if (Status s = store_.Write(batch); !s.ok()) return s;
  model_.NotifyChanged();
  return consumed;
}

Status PaymentsFollower::Run(const std::atomic<bool>& stop) {
  return events::RunFollower(stop, *this);
}

}  // namespace claims::payout
