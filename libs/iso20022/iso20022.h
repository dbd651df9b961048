#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"

// ISO 20022 messages between the fund and its bank: pain.001.001.09 customer credit transfer
// initiation (what we send) and pain.002 customer payment status report (what the bank answers).
// Pure: no I/O besides the stream given, no clock, no randomness. Same input, same bytes.
// Thread-safe: the functions share no state.
namespace claims::iso20022 {

// The largest amount the schema can carry (ActiveOrHistoricCurrencyAndAmount and DecimalNumber:
// 18 digits in all): 9999999999999999.99 yuan. A transfer and a batch's control sum must not
// exceed it.
inline constexpr int64_t kMaxAmountFen = 999'999'999'999'999'999;

inline constexpr std::string_view kPain001Namespace =
    "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
// The namespace WritePain002 writes.
inline constexpr std::string_view kPain002Namespace =
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10";

// One credit transfer: one payment of payout.
// Text fields are UTF-8 without control characters, not blank; lengths count characters (code
// points), as the schema does. Ids (end_to_end_id, message_id) do not begin or end with a space.
struct CreditTransfer {
  std::string end_to_end_id;     // = payment id; 1-35 characters; unique within the batch
  int64_t amount_fen = 0;        // 1..kMaxAmountFen; written as CNY with two decimals
  std::string creditor_name;     // the payee's name (UTF-8), 1-140 characters
  std::string creditor_account;  // the payee's bank card / account number: 1-34 ASCII digits
  std::string remittance;        // unstructured remittance text, e.g. "claim C-... BENEFIT";
                                 // 1-140 characters
};

// A whole pain.001 file: one group header, one payment information block with the fund as
// debtor, one transaction per payment. The PmtInf block's PmtInfId is the message_id.
struct CreditTransferBatch {
  std::string message_id;                 // MsgId (and PmtInfId), 1-35 characters; = batch id
  std::string creation_date_time;         // ISODateTime, e.g. "2026-03-02T00:00:00"; from the
                                          // business date, never the wall clock. Accepted:
                                          // YYYY-MM-DDThh:mm:ss[.fraction][Z|(+|-)hh:mm]
  std::string initiating_party_name;      // the mutual-aid center, 1-140 characters
  std::string debtor_name;                // the plan fund's account holder, 1-140 characters
  std::string debtor_account;             // the fund's account number, 1-34 characters, no spaces
  std::string debtor_agent_bic;           // the fund's bank (BICFI: 8 or 11 characters, A-Z 0-9)
  Date requested_execution_date;          // years 0001-9999
  std::vector<CreditTransfer> transfers;  // in the order they appear in the file; at least one
};

// The file's totals as the group header (and the PmtInf block) state them.
struct Pain001Totals {
  int64_t number_of_transactions = 0;
  int64_t control_sum_fen = 0;
};

// Checks that the batch can be written, and computes its totals. INVALID_ARGUMENT naming every
// bad field ("transfers[3].creditor_name", "message_id"; at most 100 of them in violations(),
// the first also in the message) when an input cannot be represented: empty, blank or too
// long text, invalid UTF-8, control characters, an account that is not digits, a bad BIC or
// date-time, a non-positive or too large amount, a duplicate end_to_end_id, a control sum
// over kMaxAmountFen (overflow-checked), an empty batch.
Result<Pain001Totals> ValidatePain001(const CreditTransferBatch& batch);

// Validates as above, then writes the pain.001.001.09 XML document (UTF-8, two-space
// indentation, "\n" line ends). Nothing is written when the batch is invalid. Streams: memory
// stays proportional to one transaction, not to the file (besides 4 bytes per transfer for the
// duplicate check); output reaches `out` in chunks of about 64 KB. kDataLoss if the stream fails.
Status WritePain001(const CreditTransferBatch& batch, std::ostream& out);

// One transaction's status in a pain.002 report.
struct TransactionStatus {
  std::string original_end_to_end_id;  // the payment id
  std::string status;                  // ACSC, ACCP, ACSP, ACWC, PDNG, RJCT, ...
  std::string reason_code;             // e.g. AC04, with RJCT: the first StsRsnInf/Rsn/Cd
                                       // (or Rsn/Prtry when the bank gives no code)
  std::string reason_text;             // AddtlInf, if any; several are joined by " "
  // OrgnlTxRef/Amt/InstdAmt when the bank repeats it (CNY only, exact, at most two decimals,
  // never zero), so payout can detect an amount that differs from what it sent.
  std::optional<int64_t> original_amount_fen;

  friend bool operator==(const TransactionStatus&, const TransactionStatus&) = default;
};

// A pain.002 payment status report.
struct StatusReport {
  std::string message_id;           // the report's MsgId
  std::string original_message_id;  // the pain.001 MsgId it answers
  std::string group_status;         // OrgnlGrpInfAndSts/GrpSts, may be empty
  // Every TxInfAndSts of every OrgnlPmtInfAndSts, in document order. May be empty only when
  // group_status is set: a bank that rejects (or accepts) a whole file may say so only at
  // group level; applying that to the file's payments is the caller's decision.
  std::vector<TransactionStatus> transactions;

  friend bool operator==(const StatusReport&, const StatusReport&) = default;
};

// Parses a pain.002 (namespaces pain.002.001.10, .001.09 and .001.03 accepted: the elements
// read here sit at the same paths in all three). Malformed or truncated XML, a wrong document
// type or namespace, a missing required element (MsgId, OrgnlMsgId, OrgnlEndToEndId, TxSts),
// a status code that is not 1-4 letters or digits, a bad amount, the same OrgnlEndToEndId
// twice, a report with neither transactions nor group status: INVALID_ARGUMENT with the line
// and the element path, e.g. "pain.002: line 14: /Document/CstmrPmtStsRpt[1]/
// OrgnlPmtInfAndSts[1]/TxInfAndSts[3]/TxSts: missing" (one violation: field = the path,
// description = "line 14: missing"; for malformed XML the path is the parser's stack of open
// elements, without indices). Never touches the network: no DTD at all (a DOCTYPE is refused
// before parsing, so no entity is ever declared or expanded), no external entities. UTF-8
// only. Never crashes; memory stays proportional to one transaction besides the result.
// Line numbers are exact past 65535 too (libxml2's BIG_LINES).
Result<StatusReport> ParsePain002(std::string_view xml);

// Writes a pain.002.001.10 for tests, the demo and the simulated bank. Values are escaped;
// empty reason fields and group status are left out. Values ParsePain002 refuses (control
// characters, an empty status...) give a document it refuses.
std::string WritePain002(const StatusReport& report, std::string_view creation_date_time);

// Whether a transaction status settles or fails; anything else changes nothing yet.
//   kSettled: ACSC (settlement completed, debtor account debited), ACCC (creditor credited).
//   kFailed:  RJCT (rejected), CANC (cancelled).
//   kPending: ACCP, ACTC, ACSP, ACWC, ACWP, PDNG, RCVD, PRES, BLCK: accepted or received only;
//             the money has not moved yet and may still be rejected.
//   kUnknown: anything else (exact, upper-case match).
enum class StatusClass { kSettled, kFailed, kPending, kUnknown };
StatusClass ClassifyStatus(std::string_view status);

}  // namespace claims::iso20022
