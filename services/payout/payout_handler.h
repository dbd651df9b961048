#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "libs/base/status.h"
#include "libs/events/event_log.h"
#include "libs/runtime/business_clock.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/payout/v1/commands.pb.h"
#include "mutualaid/payout/v1/payout.pb.h"
#include "services/payout/payee_directory.h"
#include "services/payout/payments_model.h"

namespace claims::payout {

// When a call must be answered by, on the steady clock; kNoDeadline when the caller set none.
using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

struct HandlerOptions {
  // The longest a call waits for Kafka's acknowledgement of its command.
  std::chrono::milliseconds publish_timeout{10000};
  // The longest a mutating call waits in all (publish + the desk's answer).
  std::chrono::milliseconds max_wait{30000};
  // A status report travels to the desk in records of at most this many transactions (each well
  // below the broker's 1 MB message limit).
  size_t report_part_transactions = 5000;
};

// The fund's side of every bank file (configuration).
struct BankFileOptions {
  std::string initiating_party_name = "Mutual-Aid Center";
  std::string debtor_name = "Six Guarantees Mutual-Aid Fund";
  std::string debtor_account = "6222000000000000001";
  std::string debtor_agent_bic = "ICBKCNBJXXX";
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;
inline constexpr size_t kMaxNoteBytes = 500;
inline constexpr size_t kMaxKeyBytes = 128;
// A pain.002 larger than this is refused.
inline constexpr size_t kMaxReportTransactions = 1000000;

// The operator- and auditor-facing logic of payout.proto: validation, queries over the read
// model, and operator actions recorded as commands in payout.commands.v1 and answered with the
// desk's resulting event. No gRPC here (PayoutService adapts it and checks roles). Thread-safe.
class PayoutHandler {
 public:
  // `payees` may be null (no master key configured): bank files cannot be rendered then, and a
  // re-issue must name its enrollment.
  PayoutHandler(HandlerOptions options, const PaymentsModel& model, events::EventLog& commands,
                const runtime::BusinessClock& clock, const PayeeDirectory* payees = nullptr,
                BankFileOptions bank = {})
      : options_(options),
        model_(model),
        commands_(commands),
        clock_(clock),
        payees_(payees),
        bank_(std::move(bank)) {}

  // The pain.001 file of `batch` (with its payments, in file order): deterministic.
  Result<std::string> RenderBatch(const api::Batch& batch) const;

  using Cancelled = std::function<bool()>;

  Result<api::Payment> GetPayment(const api::GetPaymentRequest& request) const;
  Result<api::ListPaymentsResponse> ListPayments(const api::ListPaymentsRequest& request) const;
  Result<api::Batch> GetBatch(const api::GetBatchRequest& request) const;
  Result<api::LedgerBalance> GetLedgerBalance() const;

  Result<api::Payment> HoldPayment(const std::string& operator_id,
                                   const api::HoldPaymentRequest& request, Deadline deadline,
                                   const Cancelled& cancelled = {}) const;
  Result<api::Payment> ReleasePayment(const std::string& operator_id,
                                      const api::ReleasePaymentRequest& request, Deadline deadline,
                                      const Cancelled& cancelled = {}) const;
  Result<api::Payment> ReissuePayment(const std::string& operator_id,
                                      const api::ReissuePaymentRequest& request, Deadline deadline,
                                      const Cancelled& cancelled = {}) const;
  Result<api::Batch> CreateBatch(const std::string& operator_id,
                                 const api::CreateBatchRequest& request, Deadline deadline,
                                 const Cancelled& cancelled = {}) const;
  Result<api::ImportStatusReportResponse> ImportStatusReport(
      const std::string& operator_id, const api::ImportStatusReportRequest& request,
      Deadline deadline, const Cancelled& cancelled = {}) const;

 private:
  // The command envelope of `body` with the id derived from (operator, call, key).
  mutualaid::events::v1::Envelope CommandOf(const std::string& operator_id, const char* call,
                                            const std::string& key, api::PayoutCommand body) const;
  // Records `command` (unless it was folded already) and waits for the desk's answer: the
  // resulting event, or the refusal as a Status.
  Result<mutualaid::events::v1::Envelope> Submit(const mutualaid::events::v1::Envelope& command,
                                                 Deadline deadline,
                                                 const Cancelled& cancelled) const;
  // The payment the answer to a payment command names, as the model has it now.
  Result<api::Payment> PaymentAnswer(const mutualaid::events::v1::Envelope& answer,
                                     const std::string& payment_id) const;

  HandlerOptions options_;
  const PaymentsModel& model_;
  events::EventLog& commands_;
  const runtime::BusinessClock& clock_;
  const PayeeDirectory* payees_;
  BankFileOptions bank_;
};

}  // namespace claims::payout
