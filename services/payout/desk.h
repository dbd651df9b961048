#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/processor/processor.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/payout/v1/commands.pb.h"
#include "mutualaid/payout/v1/payout.pb.h"
#include "services/payout/staged_state.h"

// The payout desk: the one fold that owns payments, batches and the ledger. It folds
// payout.commands.v1 (one partition, so one total order of every payment's inputs) and publishes
// every payout event on payout.payments.v1. One active owner at a time (its consumer group);
// standbys take over by the processor's restore.
namespace claims::payout {

namespace api = ::mutualaid::payout::v1;

// The desk's state, in its own store (<data-dir>/desk).
inline constexpr char kDeskPaymentsCf[] = "desk_payments";  // payment id -> api::Payment
// ClaimKey(claim id, kind) -> the payment id of the latest issue of (claim, kind).
inline constexpr char kDeskClaimsCf[] = "desk_claims";
// payment id -> "": instructed, not held, not batched: what the next batch takes.
inline constexpr char kDeskReadyCf[] = "desk_ready";
inline constexpr char kDeskBatchesCf[] = "desk_batches";  // batch id -> api::Batch (no payments)
// ItemKey(batch id, position) -> payment id: a batch's payments in file order.
inline constexpr char kDeskBatchItemsCf[] = "desk_batch_items";
inline constexpr char kDeskReportsCf[] = "desk_reports";    // report id -> batch id
inline constexpr char kDeskCommandsCf[] = "desk_commands";  // command id -> "" once folded
inline constexpr char kDeskLedgerCf[] = "desk_ledger";      // account -> api::AccountBalance
// PartKey(report id, part) -> the StatusReportImported part, until the report's last part.
inline constexpr char kDeskReportPartsCf[] = "desk_report_parts";
// envelope member id -> last sequence number published for it (decimal).
inline constexpr char kDeskSequencesCf[] = "desk_sequences";

std::vector<std::string> DeskColumnFamilies();

std::string ClaimKey(const std::string& claim_id, mutualaid::events::v1::PaymentKind kind);
std::string ItemKey(const std::string& batch_id, uint32_t position);

// The desk's refusal codes (CommandRejected.code).
inline constexpr char kMalformedCommand[] = "MALFORMED_COMMAND";
inline constexpr char kPaymentUnknown[] = "PAYMENT_UNKNOWN";
inline constexpr char kPaymentHeld[] = "PAYMENT_HELD";
inline constexpr char kPaymentNotHeld[] = "PAYMENT_NOT_HELD";
inline constexpr char kPaymentBatched[] = "PAYMENT_BATCHED";
inline constexpr char kPaymentFinal[] = "PAYMENT_FINAL";
inline constexpr char kNoPayments[] = "NO_PAYMENTS";
inline constexpr char kReportDuplicate[] = "REPORT_DUPLICATE";
inline constexpr char kBatchUnknown[] = "BATCH_UNKNOWN";
inline constexpr char kPaymentNotInBatch[] = "PAYMENT_NOT_IN_BATCH";
inline constexpr char kAmountMismatch[] = "AMOUNT_MISMATCH";
inline constexpr char kStatusUnknown[] = "STATUS_UNKNOWN";
inline constexpr char kDuplicateTransaction[] = "DUPLICATE_TRANSACTION";
inline constexpr char kPaymentNotFailed[] = "PAYMENT_NOT_FAILED";
inline constexpr char kAlreadyReissued[] = "ALREADY_REISSUED";
inline constexpr char kCardNotCorrected[] = "CARD_NOT_CORRECTED";
inline constexpr char kReportIncomplete[] = "REPORT_INCOMPLETE";

// Folds one command at a time into the desk's state; deterministic (no clock: dates come from
// the commands). Each command either changes state and publishes its events, or changes
// nothing and publishes one CommandRejected; a command id folded before changes nothing and
// publishes nothing. Ledger postings are booked in the same store batch as the input offset
// (the processor writes it), and carried by the events that caused them, so the ledger is also
// derivable from payout.payments.v1. State changes are staged and written at Finish. Each
// command id dropped as folded before, while folding live, also counts in `duplicates`
// (optional; a restore's silent fold counts nothing).
class DeskFold : public processor::PartitionFold {
 public:
  explicit DeskFold(const store::StateStore& store, runtime::Counter* duplicates = nullptr)
      : state_(store), duplicates_(duplicates) {}

  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override;
  Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) override;
  Status Finish(store::WriteBatch& batch) override;

  // Folds one command envelope (Apply's core, for tests); appends the envelopes to publish.
  Status ApplyCommand(const mutualaid::events::v1::Envelope& command,
                      std::vector<mutualaid::events::v1::Envelope>& out);

 private:
  class Emitter;
  Status Requested(const api::PaymentRequested& r, Emitter& emit);
  Status Hold(const api::HoldRequested& r, Emitter& emit);
  Status Release(const api::ReleaseRequested& r, Emitter& emit);
  Status Batch(const api::BatchRequested& r, Emitter& emit);
  Status Report(const api::StatusReportImported& r, Emitter& emit);
  Status ApplyReport(const api::StatusReportImported& r, Emitter& emit);
  Status Reissue(const api::ReissueRequested& r, Emitter& emit);

  Result<std::optional<api::Payment>> LoadPayment(const std::string& payment_id) const;
  void StorePayment(const api::Payment& payment);
  // Books one posting into the ledger and appends it to `postings`.
  Status Post(const std::string& debit, const std::string& credit, int64_t amount_fen,
              google::protobuf::RepeatedPtrField<mutualaid::events::v1::LedgerPosting>* postings);
  Result<uint64_t> NextSequence(const std::string& member);

  StagedState state_;
  runtime::Counter* const duplicates_;
  bool silent_ = false;  // within ApplySilently
};

// `duplicates` (optional) as DeskFold's.
processor::FoldFactory DeskFoldFactory(runtime::Counter* duplicates = nullptr);

// The ledger as stored in `cf` of `store` (one AccountBalance per account, by account name),
// with its totals and whether debits equal credits. DATA_LOSS for a corrupt account.
Result<api::LedgerBalance> ReadLedger(const store::StateStore& store, std::string_view cf);

// The ledger as the desk's store holds it (tests and ops).
Result<api::LedgerBalance> ReadDeskLedger(const store::StateStore& store);

}  // namespace claims::payout
