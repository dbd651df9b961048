#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libs/base/money.h"
#include "libs/base/status.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"

// The audit of an export file: re-fold intake.events.v1 with the engine and the plan files,
// compare every published output with the re-derived one, verify hashes and references, the
// payments of every approval, and the ledger derived from the payment events.
namespace claims::audit {

// One thing the log says that does not follow from its inputs and the plans.
struct Divergence {
  std::string claim_id;   // "" when the event names no claim
  std::string member_id;  // "" when unknown
  std::string event_id;   // the recorded event at fault, or the input whose output is missing
  std::string topic;      // where that event is ("" for the file as a whole)
  int32_t partition = -1;
  int64_t offset = -1;
  std::string field;  // e.g. "payable_fen", "envelope.sequence", "payload_sha256"
  std::string recorded;
  std::string expected;

  // "claim C1: field payable_fen: recorded 100, expected 200 (event E at topic/3@17)".
  std::string ToLine() const;
};

// The ledger derived from the payment events (fen). Every instruction books expense against a
// payable to the member; a settlement moves the payable to the bank; a failure reverses it.
struct Ledger {
  Fen instructed = 0;
  Fen settled = 0;
  Fen failed = 0;
  // From the postings payment events carry (payout.payments.v1 LedgerPosting): totals, and the
  // balance (credits - debits) of each kind of account ("fund", "payable", "clearing", ...).
  Fen posted_debits = 0;
  Fen posted_credits = 0;
  std::map<std::string, Fen> balances;
  Fen outstanding() const { return instructed - settled - failed; }
  Fen debits() const { return instructed + settled + failed; }   // expense + payable cleared
  Fen credits() const { return instructed + settled + failed; }  // payable + bank + reversal
};

struct AuditCounts {
  uint64_t records = 0;  // every record of the file
  uint64_t inputs = 0;
  uint64_t outputs = 0;             // records of adjudication.decisions.v1
  uint64_t duplicate_outputs = 0;   // identical repeats dropped
  uint64_t payments = 0;            // records of payout.payments.v1
  uint64_t duplicate_payments = 0;  // identical repeats dropped
  uint64_t other = 0;               // records of other topics or unchecked payment types
  uint64_t decisions_checked = 0;   // expected outputs found and compared
  uint64_t approved_claims = 0;
  uint64_t unpaid_approvals = 0;  // approvals with no instruction yet (see allow_unpaid)
};

struct AuditResult {
  AuditCounts counts;
  Ledger ledger;
  bool ledger_balanced = true;  // every settlement/failure matches its instruction, none twice
  std::string file_sha256;
  std::vector<Divergence> divergences;  // at most AuditOptions::max_divergences
  uint64_t divergence_count = 0;        // all of them, also those not kept
};

struct AuditOptions {
  // When set, the file's SHA-256, size and per-partition ranges are checked against it.
  const Manifest* manifest = nullptr;
  // Called every few thousand records with (pass 1 or 2, bytes read in this pass, file size).
  std::function<void(int pass, uint64_t bytes, uint64_t size, uint64_t records)> progress;
  size_t max_divergences = 100000;
  // An approval with no payment instruction at all is counted in unpaid_approvals instead of
  // being a divergence: for a log taken while payout lags or before it runs. Everything else
  // about payments is still checked.
  bool allow_unpaid = false;
  // Members (and payment events, by the key their repeats are recognised by) are split among
  // this many threads; with more than one, another thread reads the file once per pass for all
  // of them (splitting it into records, routing each to its thread, and hashing it in the first
  // pass). 1 to 16. The result is the same for any number, byte for byte: divergences are listed
  // in (topic, partition, offset, claim, field) order, and max_divergences keeps the first ones
  // in that order.
  int threads = 1;
};

// Audits `reader` from its start (two passes: outputs and payments, then inputs; with
// options.threads > 1, each thread audits its share of the members over one shared read of the
// file per pass, and the payments are checked against the merged decisions). A broken file
// (framing, truncation) is an error naming the byte position; everything else is a Divergence.
Result<AuditResult> Audit(ExportReader& reader, const PlanSet& plans, const AuditOptions& options);

}  // namespace claims::audit
