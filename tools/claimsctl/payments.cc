#include "tools/claimsctl/payments.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "libs/crypto/sha256.h"
#include "libs/iso20022/iso20022.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "tools/claimsctl/table.h"

namespace claims::ctl {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace api = ::mutualaid::payout::v1;

// ListPayments pages are at most this long (payout.proto: 1-500).
constexpr int kMaxPageSize = 500;
// A listing stops after this many pages whatever the tokens say (500 million payments).
constexpr int kMaxPages = 1000000;

Table PaymentTable() {
  Table t;
  t.columns = {"payment_id", "claim_id", "member_id",   "kind",        "amount_fen", "status",
               "issue",      "batch_id", "bank_status", "reason_code", "replaces",   "replaced_by"};
  t.numeric = {false, false, false, false, true, false, true, false, false, false, false, false};
  return t;
}

void AddPayment(Table& t, const api::Payment& p) {
  t.rows.push_back({p.payment_id(), p.claim_id(), p.member_id(), ev::PaymentKind_Name(p.kind()),
                    std::to_string(p.amount_fen()), api::PaymentStatus_Name(p.status()),
                    std::to_string(p.issue()), p.batch_id(), p.bank_status(), p.reason_code(),
                    p.replaces_payment_id(), p.replaced_by_payment_id()});
}

std::string CompactJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

// Pages through ListPayments (pages of `page_size`) until the last page, or until `limit` rows
// (0: no limit), adding the payments `keep` admits to `t`. The call's status.
grpc::Status ListInto(api::PayoutService::Stub& stub, const Connection& c,
                      const api::ListPaymentsRequest& request, int64_t limit, int page_size,
                      Table& t, const std::function<bool(const api::Payment&)>& keep = {}) {
  int64_t rows = 0;
  return ForEachPayment(
      stub, c, request, page_size,
      [&](const api::Payment& p) {
        if (keep && !keep(p)) return true;
        AddPayment(t, p);
        ++rows;
        return limit <= 0 || rows < limit;
      },
      [&] { return limit > 0 ? limit - rows : page_size; });
}

// Reads a whole file into `out`; false (with errno's text in `error`) when it cannot.
bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) {
    *error = "read error";
    return false;
  }
  *out = s.str();
  return true;
}

}  // namespace

grpc::Status ForEachPayment(api::PayoutService::Stub& stub, const Connection& c,
                            api::ListPaymentsRequest request, int page_size,
                            const std::function<bool(const api::Payment&)>& visit,
                            const std::function<int64_t()>& rows_wanted) {
  for (int page = 0; page < kMaxPages; ++page) {
    const int64_t wanted = rows_wanted ? rows_wanted() : page_size;
    request.set_page_size(static_cast<int32_t>(std::clamp<int64_t>(wanted, 1, page_size)));
    api::ListPaymentsResponse response;
    grpc::Status s = stub.ListPayments(NewContext(c).get(), request, &response);
    if (!s.ok()) return s;
    for (const api::Payment& p : response.payments()) {
      if (!visit(p)) return grpc::Status::OK;
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return grpc::Status::OK;
}

void PaymentCommands::Register(CLI::App& app, std::string& output) {
  output_ = &output;
  CLI::App* payments = app.add_subcommand(
      "payments",
      "Payments, bank batches (pain.001) and status reports (pain.002) through payout's API. "
      "Reads admit operators and auditors; hold, release, reissue, batch create and "
      "import-status need the operator role and an idempotency key.");
  payments->require_subcommand(1);
  payments->footer(kExitCodesHelp);
  auto connect = [&](CLI::App* cmd) {
    AddConnection(cmd, payout_, "Payout");
    AddOutput(cmd, output);
  };

  list_ = payments->add_subcommand(
      "list",
      "Payments in payment id order, filtered by member, claim, status or batch; follows the "
      "pages to the end, or to --limit rows.");
  connect(list_);
  list_->add_option("--member", member_, "Only this member's payments (member id)");
  list_->add_option("--claim", claim_, "Only this claim's payments");
  list_->add_option("--status", status_, "Only payments in this status")
      ->check(CLI::IsMember({"INSTRUCTED", "HELD", "BATCHED", "SETTLED", "FAILED"}));
  list_->add_option("--batch", batch_, "Only the payments of this batch");
  list_->add_option("--limit", limit_, "At most this many rows (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  list_->add_option("--page-size", page_size_, "Rows asked for per call")
      ->check(CLI::Range(1, kMaxPageSize))
      ->capture_default_str();

  get_ = payments->add_subcommand("get", "One payment, every field");
  connect(get_);
  get_->add_option("payment_id", id_, "Payment id")->required();

  hold_ = payments->add_subcommand(
      "hold", "Pull an instructed payment out of the next batches (refused once it is batched)");
  release_ = payments->add_subcommand("release", "Put a held payment back");
  for (CLI::App* cmd : {hold_, release_}) {
    connect(cmd);
    cmd->add_option("payment_id", id_, "Payment id")->required();
    cmd->add_option("--idempotency-key", key_, "Key of this action (retry with the same)")
        ->required();
    cmd->add_option("--note", note_, "Operator's note, at most 500 bytes");
  }

  reissue_ = payments->add_subcommand(
      "reissue",
      "Pay a FAILED payment again as a new instruction, to the member's corrected bank card (the "
      "latest enrollment, or --payee-enrollment)");
  connect(reissue_);
  reissue_->add_option("payment_id", id_, "The failed payment's id")->required();
  reissue_->add_option("--idempotency-key", key_, "Key of this re-issue")->required();
  reissue_->add_option("--payee-enrollment", payee_enrollment_,
                       "MemberEnrolled event id of the corrected card (default: the latest)");
  reissue_->add_option("--note", note_, "Operator's note, at most 500 bytes");

  ledger_ = payments->add_subcommand(
      "ledger",
      "The ledger's balances by account, and whether debits equal credits (exit 1 if not)");
  connect(ledger_);

  CLI::App* batch = payments->add_subcommand("batch", "Bank files: pain.001 credit transfers");
  batch->require_subcommand(1);
  batch_create_ = batch->add_subcommand(
      "create",
      "Gather every instructed, unheld, unbatched payment into one pain.001 batch; prints the "
      "batch (id, NbOfTxs, CtrlSum in fen, dates). FAILED_PRECONDITION (exit 1) when there is "
      "none. A retry with the same key answers the same batch.");
  connect(batch_create_);
  batch_create_->add_option("--idempotency-key", key_, "Key of this batch request")->required();
  batch_create_->add_option("--execution-date", execution_date_,
                            "Requested execution date YYYY-MM-DD (default: the business date)");
  batch_get_ = batch->add_subcommand(
      "get", "One batch; with --xml-out its pain.001 file (the same bytes every time)");
  connect(batch_get_);
  batch_get_->add_option("batch_id", id_, "Batch id (the pain.001 MsgId)")->required();
  batch_get_->add_option("--xml-out", xml_out_, "Write the batch's pain.001 XML to this file");

  import_ = payments->add_subcommand(
      "import-status",
      "Apply the bank's pain.002 status report FILE: accepted statuses settle, rejections fail. "
      "The file is checked here first (exit 2 naming its line and element). Prints what was "
      "applied (counts and fen) and the report's payments as they are now. The idempotency key "
      "defaults to the file's SHA-256, so that re-running the same file is answered with the "
      "first import's result.");
  connect(import_);
  import_->add_option("file", report_file_, "pain.002 XML file")->required();
  import_->add_option("--idempotency-key", key_, "Key of this import (default: from the file)");
}

std::optional<int> PaymentCommands::Run() {
  if (list_->parsed()) return List();
  if (get_->parsed()) return Get();
  if (hold_->parsed()) return Hold(true);
  if (release_->parsed()) return Hold(false);
  if (reissue_->parsed()) return Reissue();
  if (ledger_->parsed()) return Ledger();
  if (batch_create_->parsed()) return CreateBatch();
  if (batch_get_->parsed()) return GetBatch();
  if (import_->parsed()) return ImportStatus();
  return std::nullopt;
}

int PaymentCommands::List() {
  api::ListPaymentsRequest r;
  r.set_member_id(member_);
  r.set_claim_id(claim_);
  r.set_batch_id(batch_);
  if (!status_.empty()) {
    api::PaymentStatus status;
    if (!api::PaymentStatus_Parse(status_, &status)) return Usage("--status", status_);
    r.set_status(status);
  }
  auto stub = api::PayoutService::NewStub(OpenChannel(payout_));
  Table t = PaymentTable();
  if (grpc::Status s = ListInto(*stub, payout_, r, limit_, page_size_, t); !s.ok()) {
    return Failed(s);
  }
  t.Print(*output_, std::cout);
  return kExitOk;
}

int PaymentCommands::Get() {
  api::GetPaymentRequest r;
  r.set_payment_id(id_);
  api::Payment payment;
  grpc::Status s = api::PayoutService::NewStub(OpenChannel(payout_))
                       ->GetPayment(NewContext(payout_).get(), r, &payment);
  if (!s.ok()) return Failed(s);
  PrintMessage(payment, *output_);
  return kExitOk;
}

int PaymentCommands::Hold(bool hold) {
  auto stub = api::PayoutService::NewStub(OpenChannel(payout_));
  api::Payment payment;
  grpc::Status s;
  if (hold) {
    api::HoldPaymentRequest r;
    r.set_idempotency_key(key_);
    r.set_payment_id(id_);
    r.set_note(note_);
    s = stub->HoldPayment(NewContext(payout_).get(), r, &payment);
  } else {
    api::ReleasePaymentRequest r;
    r.set_idempotency_key(key_);
    r.set_payment_id(id_);
    r.set_note(note_);
    s = stub->ReleasePayment(NewContext(payout_).get(), r, &payment);
  }
  if (!s.ok()) return Failed(s);
  PrintMessage(payment, *output_);
  return kExitOk;
}

int PaymentCommands::Reissue() {
  api::ReissuePaymentRequest r;
  r.set_idempotency_key(key_);
  r.set_failed_payment_id(id_);
  r.set_payee_enrollment_event_id(payee_enrollment_);
  r.set_note(note_);
  api::Payment payment;
  grpc::Status s = api::PayoutService::NewStub(OpenChannel(payout_))
                       ->ReissuePayment(NewContext(payout_).get(), r, &payment);
  if (!s.ok()) return Failed(s);
  PrintMessage(payment, *output_);
  return kExitOk;
}

int PaymentCommands::Ledger() {
  api::LedgerBalance ledger;
  grpc::Status s = api::PayoutService::NewStub(OpenChannel(payout_))
                       ->GetLedgerBalance(NewContext(payout_).get(), {}, &ledger);
  if (!s.ok()) return Failed(s);
  Table t;
  t.columns = {"account", "debit_fen", "credit_fen", "balance_fen"};
  t.numeric = {false, true, true, true};
  for (const api::AccountBalance& a : ledger.accounts()) {
    t.rows.push_back({a.account(), std::to_string(a.debit_fen()), std::to_string(a.credit_fen()),
                      std::to_string(a.balance_fen())});
  }
  t.rows.push_back({"total", std::to_string(ledger.total_debit_fen()),
                    std::to_string(ledger.total_credit_fen()),
                    std::to_string(ledger.total_debit_fen() - ledger.total_credit_fen())});
  t.Print(*output_, std::cout);
  if (!ledger.balanced()) {
    std::cerr << "claimsctl: the ledger does not balance: debits " << ledger.total_debit_fen()
              << " fen, credits " << ledger.total_credit_fen() << " fen\n";
    return kExitFailures;
  }
  return kExitOk;
}

int PaymentCommands::CreateBatch() {
  api::CreateBatchRequest r;
  r.set_idempotency_key(key_);
  r.set_requested_execution_date(execution_date_);
  api::Batch batch;
  grpc::Status s = api::PayoutService::NewStub(OpenChannel(payout_))
                       ->CreateBatch(NewContext(payout_).get(), r, &batch);
  if (!s.ok()) return Failed(s);
  PrintMessage(batch, *output_);
  return kExitOk;
}

int PaymentCommands::GetBatch() {
  api::GetBatchRequest r;
  r.set_batch_id(id_);
  r.set_include_xml(!xml_out_.empty());
  api::Batch batch;
  grpc::Status s = api::PayoutService::NewStub(OpenChannel(payout_))
                       ->GetBatch(NewContext(payout_).get(), r, &batch);
  if (!s.ok()) return Failed(s);
  if (!xml_out_.empty()) {
    std::ofstream out(xml_out_, std::ios::binary | std::ios::trunc);
    if (!out) return Usage(xml_out_, std::string("cannot write: ") + std::strerror(errno));
    out << batch.xml();
    out.close();
    if (!out) return Usage(xml_out_, "cannot write the whole file");
    std::cerr << "claimsctl: wrote " << batch.xml().size() << " bytes of pain.001 to " << xml_out_
              << "\n";
  }
  batch.clear_xml();
  batch.clear_payments();
  PrintMessage(batch, *output_);
  return kExitOk;
}

int PaymentCommands::ImportStatus() {
  std::string xml;
  std::string error;
  if (!ReadFile(report_file_, &xml, &error)) {
    return Usage(report_file_, "cannot read the status report: " + error);
  }
  if (xml.empty()) return Usage(report_file_, "is empty: expected a pain.002 status report");
  // Checked here first, so that a bad file is named with its line and element without a call.
  Result<iso20022::StatusReport> report = iso20022::ParsePain002(xml);
  if (!report.ok()) {
    std::cerr << "claimsctl: " << report_file_
              << ": not a valid pain.002 status report: " << report.status().message() << "\n";
    for (const FieldViolation& v : report.status().violations()) {
      std::cerr << "  " << report_file_ << ": " << v.field << ": " << v.description << "\n";
    }
    return kExitUsage;
  }
  api::ImportStatusReportRequest r;
  r.set_idempotency_key(key_.empty() ? "pain.002 sha256 " + crypto::Sha256Hex(xml) : key_);
  r.set_xml(std::move(xml));
  auto stub = api::PayoutService::NewStub(OpenChannel(payout_));
  api::ImportStatusReportResponse response;
  grpc::Status s = stub->ImportStatusReport(NewContext(payout_).get(), r, &response);
  if (!s.ok()) return Failed(s, report_file_);
  const ev::StatusReportApplied& applied = response.applied();

  // The report's payments as the read model has them now (the call waited for all of them).
  api::ListPaymentsRequest list;
  list.set_batch_id(applied.batch_id());
  Table t = PaymentTable();
  grpc::Status listed =
      ListInto(*stub, payout_, list, 0, kMaxPageSize, t,
               [&](const api::Payment& p) { return p.status_report_id() == applied.report_id(); });
  if (!listed.ok()) {
    std::cerr << "claimsctl: the report is applied; listing its payments failed: "
              << listed.error_message() << "\n";
  }
  if (*output_ == "json") {
    std::cout << "{\"applied\": " << CompactJson(applied) << ",\n\"payments\": ";
    t.Print("json", std::cout);
    std::cout << "}\n";
    return kExitOk;
  }
  PrintMessage(applied, *output_);
  std::cout << "\n";
  t.Print(*output_, std::cout);
  return kExitOk;
}

}  // namespace claims::ctl
