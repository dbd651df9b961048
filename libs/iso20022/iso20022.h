#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"

// ISO 20022 messages between the fund and its bank: pain.001.001.09 customer credit transfer
// initiation (what we send) and pain.002 customer payment status report (what the bank answers).
// Pure: no I/O besides the stream given, no clock, no randomness. Same input, same bytes.
namespace claims::iso20022 {

// One credit transfer: one payment of payout.
struct CreditTransfer {
  std::string end_to_end_id;     // = payment id; at most 35 characters
  int64_t amount_fen = 0;        // > 0; written as CNY with two decimals
  std::string creditor_name;     // the payee's name (UTF-8)
  std::string creditor_account;  // the payee's bank card / account number (digits)
  std::string remittance;        // unstructured remittance text, e.g. "claim C-... BENEFIT"
};

// A whole pain.001 file: one group header, one payment information block with the fund as
// debtor, one transaction per payment.
struct CreditTransferBatch {
  std::string message_id;             // MsgId, at most 35 characters; = batch id
  std::string creation_date_time;     // ISODateTime, e.g. "2026-03-02T00:00:00"; from the
                                      // business date, never the wall clock
  std::string initiating_party_name;  // the mutual-aid center
  std::string debtor_name;            // the plan fund's account holder
  std::string debtor_account;         // the fund's account number
  std::string debtor_agent_bic;       // the fund's bank (BICFI)
  Date requested_execution_date;
  std::vector<CreditTransfer> transfers;  // in the order they appear in the file
};

// Writes the pain.001.001.09 XML document. INVALID_ARGUMENT naming the transfer index and field
// when an input cannot be represented (empty or too long ids, non-positive amounts, ...).
// Streams: memory stays proportional to one transaction, not to the file.
Status WritePain001(const CreditTransferBatch& batch, std::ostream& out);

// The file's totals as the group header states them.
struct Pain001Totals {
  int64_t number_of_transactions = 0;
  int64_t control_sum_fen = 0;
};

// One transaction's status in a pain.002 report.
struct TransactionStatus {
  std::string original_end_to_end_id;  // the payment id
  std::string status;                  // ACSC, ACCP, ACSP, ACWC, PDNG, RJCT, ...
  std::string reason_code;             // e.g. AC04, with RJCT
  std::string reason_text;             // AddtlInf, if any
};

// A pain.002 payment status report.
struct StatusReport {
  std::string message_id;           // the report's MsgId
  std::string original_message_id;  // the pain.001 MsgId it answers
  std::string group_status;         // OrgnlGrpInfAndSts/GrpSts, may be empty
  std::vector<TransactionStatus> transactions;
};

// Parses a pain.002 (versions 001.001.10 and 001.001.09 namespaces accepted). Malformed or
// truncated XML, a wrong document type, missing required elements: INVALID_ARGUMENT with the
// line and the element path. Never touches the network (no external entities, no DTD).
Result<StatusReport> ParsePain002(std::string_view xml);

// Writes a pain.002 for tests, the demo and the simulated bank.
std::string WritePain002(const StatusReport& report, std::string_view creation_date_time);

// Whether a transaction status settles (e.g. ACSC, ACCP) or fails (RJCT);
// anything else (PDNG...) changes nothing yet.
enum class StatusClass { kSettled, kFailed, kPending, kUnknown };
StatusClass ClassifyStatus(std::string_view status);

}  // namespace claims::iso20022
