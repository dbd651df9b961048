#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/money.h"
#include "libs/iso20022/iso20022.h"
#include "libs/iso20022/xml_text.h"

namespace claims::iso20022 {
namespace {

using internal::AppendEscaped;
using internal::CheckText;

constexpr size_t kMaxViolations = 100;
// Output is handed to the stream in chunks of about this size.
constexpr size_t kFlushBytes = 64 * 1024;

// Collects field violations; keeps the first kMaxViolations and counts the rest.
class Violations {
 public:
  void Add(std::string field, std::string description) {
    ++count_;
    if (list_.size() < kMaxViolations) list_.push_back({std::move(field), std::move(description)});
  }
  void CheckText(std::string_view value, size_t max_chars, const std::string& field) {
    if (auto why = internal::CheckText(value, max_chars)) Add(field, *why);
  }
  bool empty() const { return count_ == 0; }

  Status ToStatus() const {
    std::string message = "pain.001: " + list_[0].field + ": " + list_[0].description;
    if (count_ > 1) message += " (and " + std::to_string(count_ - 1) + " more)";
    return InvalidArgument(std::move(message), list_);
  }

 private:
  size_t count_ = 0;
  std::vector<FieldViolation> list_;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsDigit(c); });
}

// The schema's BICFIDec2014Identifier: [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?
bool IsBicfi(std::string_view s) {
  if (s.size() != 8 && s.size() != 11) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool ok = (i == 4 || i == 5) ? IsUpper(s[i]) : (IsUpper(s[i]) || IsDigit(s[i]));
    if (!ok) return false;
  }
  return true;
}

// Two digits at s[at] no greater than `max`.
bool TwoDigits(std::string_view s, size_t at, int max) {
  if (at + 2 > s.size() || !IsDigit(s[at]) || !IsDigit(s[at + 1])) return false;
  return (s[at] - '0') * 10 + (s[at + 1] - '0') <= max;
}

// YYYY-MM-DDThh:mm:ss[.fraction][Z|(+|-)hh:mm], a real calendar day.
bool IsIsoDateTime(std::string_view s) {
  if (s.size() < 19 || !Date::Parse(s.substr(0, 10)) || s[10] != 'T' || !TwoDigits(s, 11, 23) ||
      s[13] != ':' || !TwoDigits(s, 14, 59) || s[16] != ':' || !TwoDigits(s, 17, 59)) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    const size_t digits_from = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == digits_from) return false;
  }
  if (i == s.size()) return true;
  if (s[i] == 'Z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  return s.size() == i + 6 && TwoDigits(s, i + 1, 14) && s[i + 3] == ':' && TwoDigits(s, i + 4, 59);
}

// Ids are matched against the bank's status reports, whose parser trims surrounding whitespace.
std::optional<std::string> IdProblem(std::string_view id) {
  if (auto why = CheckText(id, 35)) return why;
  if (id.front() == ' ' || id.back() == ' ') return "begins or ends with a space";
  return std::nullopt;
}

void CheckBatchFields(const CreditTransferBatch& b, Violations& v) {
  if (auto why = IdProblem(b.message_id)) v.Add("message_id", *why);
  if (!IsIsoDateTime(b.creation_date_time)) {
    v.Add("creation_date_time", "not an ISO date-time YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm]");
  }
  v.CheckText(b.initiating_party_name, 140, "initiating_party_name");
  v.CheckText(b.debtor_name, 140, "debtor_name");
  v.CheckText(b.debtor_account, 34, "debtor_account");
  if (b.debtor_account.find(' ') != std::string::npos) {
    v.Add("debtor_account", "contains a space");
  }
  if (!IsBicfi(b.debtor_agent_bic)) {
    v.Add("debtor_agent_bic",
          "not a BIC (8 or 11 characters: 4 A-Z0-9, 2 A-Z, 2 A-Z0-9, 3 A-Z0-9)");
  }
  const int year = b.requested_execution_date.year();
  if (year < 1 || year > 9999) v.Add("requested_execution_date", "year outside 0001-9999");
  if (b.transfers.empty()) v.Add("transfers", "empty batch: at least one transfer is required");
}

// Field names are built only for violations: this runs for every transfer of every batch.
void CheckTransfer(const CreditTransfer& t, size_t index, Violations& v) {
  auto field = [index](std::string_view name) {
    return "transfers[" + std::to_string(index) + "]." + std::string(name);
  };
  if (auto why = IdProblem(t.end_to_end_id)) v.Add(field("end_to_end_id"), *why);
  if (t.amount_fen <= 0) {
    v.Add(field("amount_fen"), "must be positive (got " + std::to_string(t.amount_fen) + ")");
  } else if (t.amount_fen > kMaxAmountFen) {
    v.Add(field("amount_fen"),
          "more than the schema's 18 digits (got " + std::to_string(t.amount_fen) + ")");
  }
  if (auto why = CheckText(t.creditor_name, 140)) v.Add(field("creditor_name"), *why);
  if (t.creditor_account.empty() || t.creditor_account.size() > 34 ||
      !AllDigits(t.creditor_account)) {
    v.Add(field("creditor_account"), "must be 1-34 digits");
  }
  if (auto why = CheckText(t.remittance, 140)) v.Add(field("remittance"), *why);
}

// Flags every end_to_end_id that repeats an earlier one. Sorts indices, not strings.
void CheckUniqueIds(const std::vector<CreditTransfer>& transfers, Violations& v) {
  std::vector<uint32_t> order(transfers.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int c = transfers[a].end_to_end_id.compare(transfers[b].end_to_end_id);
    return c != 0 ? c < 0 : a < b;
  });
  std::vector<std::pair<uint32_t, uint32_t>> duplicates;  // (later, first)
  for (size_t k = 1; k < order.size(); ++k) {
    const uint32_t first = order[k - 1];
    if (transfers[order[k]].end_to_end_id == transfers[first].end_to_end_id &&
        !transfers[first].end_to_end_id.empty()) {
      // order[k - 1] may itself be a duplicate; name the first of the run.
      const uint32_t run_first =
          duplicates.empty() || duplicates.back().first != first ? first : duplicates.back().second;
      duplicates.push_back({order[k], run_first});
    }
  }
  std::sort(duplicates.begin(), duplicates.end());
  for (const auto& [later, first] : duplicates) {
    v.Add("transfers[" + std::to_string(later) + "].end_to_end_id",
          "duplicate of transfers[" + std::to_string(first) + "]");
  }
}

// Buffers output and hands it to the stream in chunks.
class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) { buf_.reserve(kFlushBytes + 4096); }

  void Raw(std::string_view s) { buf_.append(s); }
  // <name>escaped text</name> on its own line at `indent` levels.
  void Leaf(int indent, std::string_view name, std::string_view text) {
    Indent(indent);
    buf_ += '<';
    buf_.append(name);
    buf_ += '>';
    AppendEscaped(buf_, text);
    buf_ += "</";
    buf_.append(name);
    buf_ += ">\n";
  }
  void Open(int indent, std::string_view name) {
    Indent(indent);
    buf_ += '<';
    buf_.append(name);
    buf_ += ">\n";
  }
  void Close(int indent, std::string_view name) {
    Indent(indent);
    buf_ += "</";
    buf_.append(name);
    buf_ += ">\n";
  }
  void Indent(int indent) { buf_.append(static_cast<size_t>(indent) * 2, ' '); }

  void MaybeFlush() {
    if (buf_.size() >= kFlushBytes) Flush();
  }
  void Flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  std::ostream& out_;
  std::string buf_;
};

// Dbtr/Cdtr party with a name only; account as Id/Othr/Id.
void WriteParty(Writer& w, int indent, std::string_view element, std::string_view name) {
  w.Open(indent, element);
  w.Leaf(indent + 1, "Nm", name);
  w.Close(indent, element);
}
void WriteAccount(Writer& w, int indent, std::string_view element, std::string_view account) {
  w.Open(indent, element);
  w.Open(indent + 1, "Id");
  w.Open(indent + 2, "Othr");
  w.Leaf(indent + 3, "Id", account);
  w.Close(indent + 2, "Othr");
  w.Close(indent + 1, "Id");
  w.Close(indent, element);
}

void WriteTransfer(Writer& w, const CreditTransfer& t) {
  constexpr int kIn = 3;
  w.Open(kIn, "CdtTrfTxInf");
  w.Open(kIn + 1, "PmtId");
  w.Leaf(kIn + 2, "EndToEndId", t.end_to_end_id);
  w.Close(kIn + 1, "PmtId");
  w.Open(kIn + 1, "Amt");
  w.Indent(kIn + 2);
  w.Raw("<InstdAmt Ccy=\"CNY\">");
  w.Raw(FormatYuan(t.amount_fen));
  w.Raw("</InstdAmt>\n");
  w.Close(kIn + 1, "Amt");
  WriteParty(w, kIn + 1, "Cdtr", t.creditor_name);
  WriteAccount(w, kIn + 1, "CdtrAcct", t.creditor_account);
  w.Open(kIn + 1, "RmtInf");
  w.Leaf(kIn + 2, "Ustrd", t.remittance);
  w.Close(kIn + 1, "RmtInf");
  w.Close(kIn, "CdtTrfTxInf");
}

}  // namespace

Result<Pain001Totals> ValidatePain001(const CreditTransferBatch& batch) {
  Violations v;
  CheckBatchFields(batch, v);
  Pain001Totals totals;
  bool sum_exceeded = false;
  for (size_t i = 0; i < batch.transfers.size(); ++i) {
    const CreditTransfer& t = batch.transfers[i];
    CheckTransfer(t, i, v);
    if (sum_exceeded || t.amount_fen <= 0 || t.amount_fen > kMaxAmountFen) continue;
    int64_t sum = 0;
    if (__builtin_add_overflow(totals.control_sum_fen, t.amount_fen, &sum) || sum > kMaxAmountFen) {
      v.Add("transfers[" + std::to_string(i) + "].amount_fen",
            "the batch's control sum exceeds the schema's 18 digits here");
      sum_exceeded = true;
      continue;
    }
    totals.control_sum_fen = sum;
  }
  CheckUniqueIds(batch.transfers, v);
  // Max15NumericText; unreachable in practice, checked all the same.
  if (batch.transfers.size() > 999'999'999'999'999ULL) v.Add("transfers", "too many transfers");
  if (!v.empty()) return v.ToStatus();
  totals.number_of_transactions = static_cast<int64_t>(batch.transfers.size());
  return totals;
}

Status WritePain001(const CreditTransferBatch& batch, std::ostream& out) {
  Result<Pain001Totals> totals = ValidatePain001(batch);
  if (!totals.ok()) return totals.status();
  const std::string count = std::to_string(totals->number_of_transactions);
  const std::string sum = FormatYuan(totals->control_sum_fen);

  Writer w(out);
  w.Raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"");
  w.Raw(kPain001Namespace);
  w.Raw("\">\n");
  w.Open(1, "CstmrCdtTrfInitn");
  w.Open(2, "GrpHdr");
  w.Leaf(3, "MsgId", batch.message_id);
  w.Leaf(3, "CreDtTm", batch.creation_date_time);
  w.Leaf(3, "NbOfTxs", count);
  w.Leaf(3, "CtrlSum", sum);
  WriteParty(w, 3, "InitgPty", batch.initiating_party_name);
  w.Close(2, "GrpHdr");
  w.Open(2, "PmtInf");
  w.Leaf(3, "PmtInfId", batch.message_id);
  w.Leaf(3, "PmtMtd", "TRF");
  w.Leaf(3, "NbOfTxs", count);
  w.Leaf(3, "CtrlSum", sum);
  w.Open(3, "ReqdExctnDt");
  w.Leaf(4, "Dt", batch.requested_execution_date.ToString());
  w.Close(3, "ReqdExctnDt");
  WriteParty(w, 3, "Dbtr", batch.debtor_name);
  WriteAccount(w, 3, "DbtrAcct", batch.debtor_account);
  w.Open(3, "DbtrAgt");
  w.Open(4, "FinInstnId");
  w.Leaf(5, "BICFI", batch.debtor_agent_bic);
  w.Close(4, "FinInstnId");
  w.Close(3, "DbtrAgt");
  w.Leaf(3, "ChrgBr", "SLEV");
  for (const CreditTransfer& t : batch.transfers) {
    WriteTransfer(w, t);
    w.MaybeFlush();
    if (!out) break;
  }
  w.Close(2, "PmtInf");
  w.Close(1, "CstmrCdtTrfInitn");
  w.Raw("</Document>\n");
  w.Flush();
  out.flush();
  if (!out) return DataLoss("pain.001: writing to the output stream failed");
  return Status::Ok();
}

}  // namespace claims::iso20022
