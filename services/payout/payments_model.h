#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/bus/message.h"
#include "libs/processor/sequence_filter.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/payout/v1/payout.pb.h"

// The payout read model: every payment, batch and ledger account as payout.payments.v1 says, on
// every replica (its own store, <data-dir>/model). The API reads it; the desk never does.
namespace claims::payout {

namespace api = ::mutualaid::payout::v1;

inline constexpr char kModelPaymentsCf[] = "model_payments";  // payment id -> api::Payment
inline constexpr char kModelBatchesCf[] = "model_batches";    // batch id -> api::Batch
inline constexpr char kModelItemsCf[] = "model_batch_items";  // ItemKey -> payment id
inline constexpr char kModelReportsCf[] = "model_reports";    // report id -> batch id
inline constexpr char kModelLedgerCf[] = "model_ledger";      // account -> api::AccountBalance
// command id -> the Envelope of the event that answers it (the resulting event or the refusal).
inline constexpr char kModelResultsCf[] = "model_results";
inline constexpr char kModelSeenCf[] = "model_seen";  // envelope member id -> last sequence
// report id -> how many PaymentSettled and PaymentFailed of the report the model applied
// (decimal): they travel on the members' partitions, StatusReportApplied on the desk's.
inline constexpr char kModelReportCountsCf[] = "model_report_counts";

std::vector<std::string> ModelColumnFamilies();

struct PaymentFilter {
  api::PaymentStatus status = api::PAYMENT_STATUS_UNSPECIFIED;  // unspecified: any
  std::string claim_id;
  std::string member_id;
  std::string batch_id;
};

struct PaymentPage {
  std::vector<api::Payment> payments;  // in payment id order
  std::string last_id;                 // when more matching payments follow; "" otherwise
};

// Reads the model and tells waiters when it changed. Thread-safe; reads see the latest batch the
// follower wrote, which may be a moment behind the topic.
class PaymentsModel {
 public:
  explicit PaymentsModel(const store::StateStore& store) : store_(store) {}

  Result<std::optional<api::Payment>> Payment(const std::string& payment_id) const;
  Result<PaymentPage> ListPayments(const PaymentFilter& filter, size_t page_size,
                                   const std::string& after) const;
  // The batch (its status report ids included) and, with `with_payments`, its payments in file
  // order (as many as the model has seen so far).
  Result<std::optional<api::Batch>> Batch(const std::string& batch_id, bool with_payments) const;
  // How many of the batch's payments the model has seen.
  Result<int64_t> BatchItems(const std::string& batch_id) const;
  Result<std::optional<std::string>> ReportBatch(const std::string& report_id) const;
  // How many settlements and failures of report `report_id` the model has applied.
  Result<int64_t> ReportOutcomes(const std::string& report_id) const;
  Result<api::LedgerBalance> Ledger() const;
  // How many payments have each status (for metrics); one scan, nothing kept.
  Result<std::map<api::PaymentStatus, int64_t>> CountByStatus() const;
  // The event that answered command `command_id`, once published.
  Result<std::optional<mutualaid::events::v1::Envelope>> Answer(
      const std::string& command_id) const;

  uint64_t version() const;
  uint64_t WaitForChange(uint64_t seen, std::chrono::steady_clock::time_point until) const;
  void NotifyChanged();
  void Close();
  bool closed() const;

 private:
  const store::StateStore& store_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  uint64_t version_ = 0;
  bool closed_ = false;
};

// Follows every partition of payout.payments.v1 into the model, with no consumer group, from the
// offsets stored with the model (state and offsets in one batch). Repeated events (the desk
// re-publishes identical events after a restart) are dropped by (member, sequence). Records that
// do not parse are skipped and counted. Each repeat dropped also counts in `duplicates`
// (optional). One thread runs it.
class PaymentsFollower {
 public:
  PaymentsFollower(store::StateStore& store, bus::Consumer& consumer, PaymentsModel& model,
                   runtime::Counter* duplicates = nullptr)
      : store_(store), consumer_(consumer), model_(model), duplicates_(duplicates) {}

  Status Start(std::chrono::milliseconds timeout);
  Result<size_t> PollOnce(std::chrono::milliseconds timeout);
  Status Run(const std::atomic<bool>& stop);

  // Stages one event into the pending batch (exposed for tests); Flush writes what is staged.
  Status Apply(const mutualaid::events::v1::Envelope& event);
  Status Flush(store::WriteBatch& batch);

  uint64_t skipped() const { return skipped_; }
  uint64_t duplicates() const { return filter_.duplicates(); }

 private:
  Result<std::optional<std::string>> Get(std::string_view cf, const std::string& key) const;
  void Put(std::string_view cf, const std::string& key, std::string value);
  Result<std::optional<api::Payment>> LoadPayment(const std::string& id) const;
  void StorePayment(const api::Payment& p);
  Status Book(const google::protobuf::RepeatedPtrField<mutualaid::events::v1::LedgerPosting>& ps);

  store::StateStore& store_;
  bus::Consumer& consumer_;
  PaymentsModel& model_;
  runtime::Counter* const duplicates_;
  processor::SequenceFilter filter_;
  std::map<std::string, bool> seeded_;
  std::map<std::pair<std::string, std::string>, std::string> pending_;  // (cf, key) -> value
  uint64_t skipped_ = 0;
};

}  // namespace claims::payout
