#include "tools/claimsctl/client.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "libs/rpc/status_mapping.h"
#include "mutualaid/adjudication/v1/review.grpc.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "tools/claimsctl/progress.h"
#include "tools/claimsctl/table.h"

namespace claims::ctl {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace in = ::mutualaid::intake::v1;
namespace rv = ::mutualaid::adjudication::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A claim that will not change any more: the watch ends there.
bool IsFinal(const in::Claim& claim) {
  return claim.status() == in::PAID || claim.status() == in::PAYMENT_FAILED ||
         claim.status() == in::DENIED;
}

}  // namespace

void AddConnection(CLI::App* cmd, Connection& c, const std::string& service) {
  cmd->add_option("--target", c.target, service + " address, host:port")->required();
  AddCredentials(cmd, c);
}

void AddCredentials(CLI::App* cmd, Connection& c) {
  cmd->add_flag("--insecure-dev", c.insecure_dev, "Plaintext, caller named by --principal (dev)");
  cmd->add_option("--principal", c.principal, "Caller in dev mode, e.g. partner:P-0001");
  cmd->add_option("--tls-ca", c.tls_ca, "CA certificate (PEM) that signed the server");
  cmd->add_option("--tls-cert", c.tls_cert, "Client certificate (PEM): names the caller");
  cmd->add_option("--tls-key", c.tls_key, "Client private key (PEM)");
  cmd->add_option("--timeout", c.timeout_s, "Seconds to wait for an answer")->capture_default_str();
  cmd->footer(kExitCodesHelp);
}

void AddOutput(CLI::App* cmd, std::string& output) {
  cmd->add_option("--output,-o", output, "Output format")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
}

std::shared_ptr<grpc::Channel> OpenChannel(const Connection& c) {
  if (c.insecure_dev) return grpc::CreateChannel(c.target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  if (!c.tls_ca.empty()) ssl.pem_root_certs = ReadAll(c.tls_ca);
  if (!c.tls_cert.empty()) ssl.pem_cert_chain = ReadAll(c.tls_cert);
  if (!c.tls_key.empty()) ssl.pem_private_key = ReadAll(c.tls_key);
  return grpc::CreateChannel(c.target, grpc::SslCredentials(ssl));
}

std::unique_ptr<grpc::ClientContext> NewContext(const Connection& c) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (c.insecure_dev && !c.principal.empty()) {
    context->AddMetadata("x-claims-principal", c.principal);
  }
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(c.timeout_s));
  return context;
}

int Failed(const grpc::Status& status, const std::string& what) {
  const claims::Status ours = rpc::FromGrpc(status);
  std::cerr << "claimsctl: " << (what.empty() ? "" : what + ": ") << StatusCodeName(ours.code())
            << ": " << ours.message() << "\n";
  for (const FieldViolation& v : ours.violations()) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return kExitUsage;
    default:
      return kExitFailures;
  }
}

int Usage(const std::string& field, const std::string& what) {
  std::cerr << "claimsctl: " << field << ": " << what << "\n";
  return kExitUsage;
}

void PrintMessage(const google::protobuf::Message& m, const std::string& output) {
  if (output == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(m, &json, options);
    std::cout << json;
    return;
  }
  Table t;
  t.columns = {"field", "value"};
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        std::string v;
        if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
          v = r->GetRepeatedMessage(m, f, j).ShortDebugString();
        } else {
          google::protobuf::TextFormat::PrintFieldValueToString(m, f, j, &v);
        }
        t.rows.push_back({f->name() + "[" + std::to_string(j) + "]", v});
      }
    } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(m, f)) t.rows.push_back({f->name(), r->GetMessage(m, f).ShortDebugString()});
    } else {
      std::string v;
      google::protobuf::TextFormat::PrintFieldValueToString(m, f, -1, &v);
      t.rows.push_back({f->name(), v});
    }
  }
  t.Print(output, std::cout);
}

namespace {

// Splits one CSV line (RFC 4180 quotes); false on an unterminated quote.
bool SplitCsv(const std::string& line, std::vector<std::string>* cells) {
  cells->assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells->back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells->back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells->emplace_back();
    } else if (c != '\r') {
      cells->back() += c;
    }
  }
  return !quoted;
}

constexpr const char* kCsvColumns[] = {
    "idempotency_key",  "resident_id_number", "name",      "phone",
    "gender",           "occupation",         "plan_year", "start_date",
    "bank_card_number", "bank_name"};

struct Reject {
  int line;
  std::string field;
  std::string description;
};

}  // namespace

void ClientCommands::Register(CLI::App& app, CLI::App& claim, std::string& output) {
  output_ = &output;
  auto add_output = [&](CLI::App* cmd) { AddOutput(cmd, output); };
  enroll_ = app.add_subcommand(
      "enroll",
      "Enroll one member (flags) or many from a CSV file (--csv; header: idempotency_key,"
      "resident_id_number,name,phone,gender,occupation,plan_year,start_date,bank_card_number,"
      "bank_name) through intake's BulkEnroll, with a progress bar and a reject list naming line "
      "and field. Exit 1 when any record was refused.");
  AddConnection(enroll_, intake_, "Intake");
  add_output(enroll_);
  enroll_->add_option("--csv", csv_, "CSV file of members")->check(CLI::ExistingFile);
  enroll_->add_option("--idempotency-key", key_, "Key of this enrollment (retry with the same)");
  enroll_->add_option("--resident-id", resident_id_, "18-character resident ID number");
  enroll_->add_option("--name", name_, "Name");
  enroll_->add_option("--phone", phone_, "Phone (11 digits)");
  enroll_->add_option("--gender", gender_, "MALE or FEMALE");
  enroll_->add_option("--occupation", occupation_,
                      "COURIER, FOOD_DELIVERY, TRUCK_DRIVER, RIDE_HAILING or OTHER");
  enroll_->add_option("--plan-year", plan_year_, "Plan year");
  enroll_->add_option("--start-date", start_date_, "YYYY-MM-DD within the plan year");
  enroll_->add_option("--bank-card", card_, "Payee card number");
  enroll_->add_option("--bank-name", bank_, "Payee bank");

  submit_ = claim.add_subcommand("submit", "Submit a claim for a member");
  AddConnection(submit_, intake_, "Intake");
  add_output(submit_);
  submit_->add_option("--idempotency-key", key_, "Key of this submission")->required();
  submit_->add_option("--member", member_, "Member id (pseudonym)")->required();
  submit_->add_option("--coverage", coverage_, "e.g. ACCIDENTAL_INJURY")->required();
  submit_->add_option("--incident-date", incident_date_, "YYYY-MM-DD")->required();
  submit_->add_option("--amount-fen", amount_fen_, "Expenses or loss, fen");
  submit_->add_option("--condition-code", condition_, "CI01-CI28, FD01-FD07");
  submit_->add_option("--cause", cause_, "Household property loss: FIRE, WATER, ...");
  submit_->add_option("--child-id", child_id_, "Child accident: the child's id");
  submit_->add_option("--child-birth-date", child_birth_date_, "Child accident: YYYY-MM-DD");
  submit_->add_option("--document", documents_, "Document type supplied (repeat)");
  submit_->add_option("--medical-detail", detail_, "Free text, sealed; no rule reads it");

  status_ = claim.add_subcommand("status", "A claim's status, decision and payments");
  AddConnection(status_, intake_, "Intake");
  add_output(status_);
  status_->add_option("claim_id", claim_id_, "Claim id")->required();

  watch_ = claim.add_subcommand(
      "watch",
      "Print a claim each time it changes until it is final (PAID or PAYMENT_FAILED): exit 0; "
      "exit 3 when --timeout (or the service going away) ends the watch first. With -o json, "
      "one JSON object a line.");
  AddConnection(watch_, intake_, "Intake");
  add_output(watch_);
  watch_->add_option("claim_id", claim_id_, "Claim id")->required();

  appeal_ = claim.add_subcommand("appeal", "Appeal a DENIED claim");
  AddConnection(appeal_, intake_, "Intake");
  add_output(appeal_);
  appeal_->add_option("claim_id", claim_id_, "Claim id")->required();
  appeal_->add_option("--idempotency-key", key_, "Key of this appeal")->required();
  appeal_->add_option("--reason", reason_, "Free text, at most 500 characters");

  CLI::App* review = app.add_subcommand("review", "The reviewers' queue and decisions");
  review->require_subcommand(1);
  queue_ = review->add_subcommand("queue", "REFERRED claims waiting for a reviewer");
  AddConnection(queue_, review_, "Adjudication review API");
  add_output(queue_);
  queue_->add_option("--coverage", coverage_, "Only this coverage");
  for (auto [cmd, name] : {std::pair{&approve_, "approve"}, std::pair{&deny_, "deny"}}) {
    *cmd = review->add_subcommand(name, std::string(name) + " a REFERRED claim");
    AddConnection(*cmd, review_, "Adjudication review API");
    add_output(*cmd);
    (*cmd)->add_option("claim_id", claim_id_, "Claim id")->required();
    (*cmd)->add_option("--revision", revision_, "The revision reviewed (refused if it moved on)");
    (*cmd)->add_option("--note", note_, "Reviewer's note, no personal data");
  }
}

std::optional<int> ClientCommands::Run() {
  if (enroll_->parsed()) return Enroll();
  if (submit_->parsed()) return Submit();
  if (status_->parsed()) return Status(false);
  if (watch_->parsed()) return Status(true);
  if (appeal_->parsed()) return Appeal();
  if (queue_->parsed()) return Queue();
  if (approve_->parsed()) return Review(true);
  if (deny_->parsed()) return Review(false);
  return std::nullopt;
}

int ClientCommands::Enroll() {
  auto stub = in::IntakeService::NewStub(OpenChannel(intake_));
  std::vector<in::EnrollMemberRequest> requests;
  std::vector<int> lines;  // CSV line of each request
  std::vector<Reject> rejects;
  auto fill = [&](in::EnrollMemberRequest& r, const std::vector<std::string>& v, int line) {
    r.set_idempotency_key(v[0]);
    r.set_resident_id_number(v[1]);
    r.set_name(v[2]);
    r.set_phone(v[3]);
    ev::Gender g;
    if (!ev::Gender_Parse(v[4], &g) || g == ev::GENDER_UNSPECIFIED) {
      rejects.push_back({line, "gender", "'" + v[4] + "' is not MALE or FEMALE"});
      return false;
    }
    r.set_gender(g);
    ev::Occupation o;
    if (!ev::Occupation_Parse(v[5], &o) || o == ev::OCCUPATION_UNSPECIFIED) {
      rejects.push_back({line, "occupation", "'" + v[5] + "' is not an occupation group"});
      return false;
    }
    r.set_occupation(o);
    char* end = nullptr;
    const long year = std::strtol(v[6].c_str(), &end, 10);
    if (v[6].empty() || *end != '\0') {
      rejects.push_back({line, "plan_year", "'" + v[6] + "' is not a year"});
      return false;
    }
    r.set_plan_year(static_cast<int32_t>(year));
    r.set_start_date(v[7]);
    r.set_bank_card_number(v[8]);
    r.set_bank_name(v[9]);
    return true;
  };
  if (csv_.empty()) {
    in::EnrollMemberRequest r;
    if (key_.empty()) return Usage("--idempotency-key", "required without --csv");
    if (!fill(r,
              {key_, resident_id_, name_, phone_, gender_, occupation_, std::to_string(plan_year_),
               start_date_, card_, bank_},
              0)) {
      return Usage("--" + rejects[0].field, rejects[0].description);
    }
    in::EnrollMemberResponse response;
    grpc::Status s = stub->EnrollMember(NewContext(intake_).get(), r, &response);
    if (!s.ok()) return Failed(s);
    PrintMessage(response, *output_);
    return kExitOk;
  }
  std::ifstream file(csv_);
  std::string text;
  std::vector<std::string> cells;
  int line_no = 0;
  while (std::getline(file, text)) {
    ++line_no;
    if (line_no == 1) {
      if (!SplitCsv(text, &cells) || cells.size() != std::size(kCsvColumns)) {
        return Usage(csv_ + ":1", "the header must name the 10 columns idempotency_key,...");
      }
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] != kCsvColumns[i]) {
          return Usage(csv_ + ":1", "column " + std::to_string(i + 1) + " must be " +
                                        kCsvColumns[i] + ", not '" + cells[i] + "'");
        }
      }
      continue;
    }
    if (text.empty()) continue;
    if (!SplitCsv(text, &cells) || cells.size() != std::size(kCsvColumns)) {
      rejects.push_back({line_no, "line", "expected 10 comma-separated fields"});
      continue;
    }
    in::EnrollMemberRequest r;
    if (fill(r, cells, line_no)) {
      requests.push_back(std::move(r));
      lines.push_back(line_no);
    }
  }
  in::BulkEnrollResponse response;
  if (!requests.empty()) {
    auto context = NewContext(intake_);
    auto writer = stub->BulkEnroll(context.get(), &response);
    ProgressBar bar("enroll");
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!writer->Write(requests[i])) break;
      bar.Update(i + 1, requests.size(), i + 1);
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return Failed(s);
    for (const auto& refusal : response.refusals()) {
      const int line = refusal.index() >= 0 && refusal.index() < static_cast<int>(lines.size())
                           ? lines[refusal.index()]
                           : -1;
      if (refusal.violations().empty()) rejects.push_back({line, "record", refusal.message()});
      for (const auto& v : refusal.violations()) {
        rejects.push_back({line, v.field(), v.description()});
      }
    }
  }
  std::sort(rejects.begin(), rejects.end(),
            [](const Reject& a, const Reject& b) { return a.line < b.line; });
  Table t;
  t.columns = {"line", "field", "problem"};
  t.numeric = {true, false, false};
  for (const Reject& r : rejects) {
    t.rows.push_back({std::to_string(r.line), r.field, r.description});
  }
  if (!rejects.empty()) t.Print(*output_, std::cout);
  std::cerr << "enroll: " << response.accepted() << " accepted, " << rejects.size()
            << " problems in " << (line_no > 0 ? line_no - 1 : 0) << " records\n";
  if (response.stopped()) {
    std::cerr << "enroll: stopped (" << response.stop_reason() << "); resend from line "
              << (response.resend_from() < static_cast<int>(lines.size())
                      ? lines[response.resend_from()]
                      : line_no)
              << " with the same keys\n";
    return kExitUnavailable;
  }
  return rejects.empty() ? kExitOk : kExitFailures;
}

int ClientCommands::Submit() {
  in::SubmitClaimRequest r;
  r.set_idempotency_key(key_);
  r.set_member_id(member_);
  ev::Coverage coverage;
  if (!ev::Coverage_Parse(coverage_, &coverage) || coverage == ev::COVERAGE_UNSPECIFIED) {
    return Usage("--coverage", "'" + coverage_ + "' is not one of the six coverages");
  }
  r.set_coverage(coverage);
  r.set_incident_date(incident_date_);
  r.set_amount_fen(amount_fen_);
  r.set_condition_code(condition_);
  r.set_cause(cause_);
  r.set_child_id(child_id_);
  r.set_child_birth_date(child_birth_date_);
  for (const std::string& d : documents_) r.add_documents(d);
  r.set_medical_detail(detail_);
  in::SubmitClaimResponse response;
  grpc::Status s = in::IntakeService::NewStub(OpenChannel(intake_))
                       ->SubmitClaim(NewContext(intake_).get(), r, &response);
  if (!s.ok()) return Failed(s);
  PrintMessage(response, *output_);
  return kExitOk;
}

int ClientCommands::Status(bool watch) {
  auto stub = in::IntakeService::NewStub(OpenChannel(intake_));
  if (!watch) {
    in::GetClaimRequest r;
    r.set_claim_id(claim_id_);
    in::Claim claim;
    grpc::Status s = stub->GetClaim(NewContext(intake_).get(), r, &claim);
    if (!s.ok()) return Failed(s);
    PrintMessage(claim, *output_);
    return kExitOk;
  }
  in::WatchClaimRequest r;
  r.set_claim_id(claim_id_);
  auto context = NewContext(intake_);
  auto reader = stub->WatchClaim(context.get(), r);
  in::Claim claim;
  bool seen = false;
  for (int updates = 0; updates < 100000 && reader->Read(&claim); ++updates) {
    seen = true;
    if (*output_ == "json") {
      // One object a line (JSON lines), so that a script can read each update as it comes.
      std::string json;
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(claim, &json, options);
      std::cout << json << "\n";
    } else {
      PrintMessage(claim, *output_);
    }
    std::cout.flush();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) return Failed(s);
  // The server ends the stream once the claim is final; --timeout (or a server going away)
  // ends it before: retry later.
  if (s.ok() && seen && IsFinal(claim)) return kExitOk;
  std::cerr << "claimsctl: claim " << claim_id_ << " is "
            << (seen ? in::ClaimStatus_Name(claim.status()) : std::string("unknown"))
            << ", not final, when the watch ended"
            << (s.ok() ? std::string() : " (--timeout " + std::to_string(intake_.timeout_s) + " s)")
            << "\n";
  return kExitUnavailable;
}

int ClientCommands::Appeal() {
  in::AppealClaimRequest r;
  r.set_idempotency_key(key_);
  r.set_claim_id(claim_id_);
  r.set_reason(reason_);
  in::AppealClaimResponse response;
  grpc::Status s = in::IntakeService::NewStub(OpenChannel(intake_))
                       ->AppealClaim(NewContext(intake_).get(), r, &response);
  if (!s.ok()) return Failed(s);
  PrintMessage(response, *output_);
  return kExitOk;
}

int ClientCommands::Queue() {
  auto stub = rv::ReviewService::NewStub(OpenChannel(review_));
  rv::ListReferredRequest r;
  if (!coverage_.empty()) {
    ev::Coverage coverage;
    if (!ev::Coverage_Parse(coverage_, &coverage)) {
      return Usage("--coverage", "'" + coverage_ + "' is not one of the six coverages");
    }
    r.set_coverage(coverage);
  }
  r.set_page_size(500);
  Table t;
  t.columns = {"claim_id", "coverage", "payable_fen", "revision", "decided_on", "reasons"};
  t.numeric = {false, false, true, true, false, false};
  for (int page = 0; page < 10000; ++page) {
    rv::ListReferredResponse response;
    grpc::Status s = stub->ListReferred(NewContext(review_).get(), r, &response);
    if (!s.ok()) return Failed(s);
    for (const rv::Decision& d : response.decisions()) {
      std::string reasons;
      for (int reason : d.reasons()) {
        reasons += (reasons.empty() ? "" : " ") + ev::Reason_Name(static_cast<ev::Reason>(reason));
      }
      t.rows.push_back({d.claim_id(), ev::Coverage_Name(d.coverage()),
                        std::to_string(d.payable_fen()), std::to_string(d.revision()),
                        d.decided_on(), reasons});
    }
    if (response.next_page_token().empty()) break;
    r.set_page_token(response.next_page_token());
  }
  t.Print(*output_, std::cout);
  return kExitOk;
}

int ClientCommands::Review(bool approve) {
  rv::ReviewClaimRequest r;
  r.set_claim_id(claim_id_);
  r.set_action(approve ? rv::APPROVE : rv::DENY);
  r.set_note(note_);
  r.set_revision(revision_);
  rv::ReviewClaimResponse response;
  grpc::Status s = rv::ReviewService::NewStub(OpenChannel(review_))
                       ->ReviewClaim(NewContext(review_).get(), r, &response);
  if (!s.ok()) return Failed(s);
  PrintMessage(response, *output_);
  return kExitOk;
}

}  // namespace claims::ctl
