// claims_demo: loads a generated demo year into a running local cluster through the public gRPC
// APIs (intake as a partner, adjudication's review API as a reviewer, payout as an operator), then
// prints a short summary. Every wait is bounded by --timeout.

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "libs/base/money.h"
#include "libs/iso20022/iso20022.h"
#include "mutualaid/adjudication/v1/review.grpc.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "tools/demo/demo_year.h"

namespace claims::demo {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace in = ::mutualaid::intake::v1;
namespace rv = ::mutualaid::adjudication::v1;
namespace po = ::mutualaid::payout::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;  // gRPC deadlines take system_clock time points

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;

struct Options {
  std::string intake;
  std::string adjudication;
  std::string payout;
  std::string out_dir;
  std::string partner = "P-DEMO";
  DemoShape shape;
  int timeout_s = 300;
};

// The run's one deadline: every wait and every retry loop stops at it.
class Deadline {
 public:
  explicit Deadline(seconds budget) : end_(Clock::now() + budget) {}
  bool Passed() const { return Clock::now() >= end_; }
  // A call's own deadline: `cap` from now, but never past the run's.
  Clock::time_point CallDeadline(milliseconds cap) const {
    return std::min(end_, Clock::now() + cap);
  }

 private:
  Clock::time_point end_;
};

class Failure {
 public:
  // Prints what failed and returns the exit code.
  static int Report(const std::string& what, const grpc::Status& s) {
    std::fprintf(stderr, "claims_demo: %s: %s (gRPC code %d)\n", what.c_str(),
                 s.error_message().c_str(), static_cast<int>(s.error_code()));
    return kExitFailed;
  }
  static int Report(const std::string& what) {
    std::fprintf(stderr, "claims_demo: %s\n", what.c_str());
    return kExitFailed;
  }
};

std::unique_ptr<grpc::ClientContext> Context(const Deadline& deadline, const std::string& principal,
                                             milliseconds cap = seconds(35)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("x-claims-principal", principal);
  context->set_deadline(deadline.CallDeadline(cap));
  return context;
}

// Runs `call` again while it answers UNAVAILABLE (nothing recorded; the same idempotency key is
// safe to resend), at most 100 times and never past the deadline.
template <typename Call>
grpc::Status Retrying(const Deadline& deadline, Call&& call) {
  for (int attempt = 1;; ++attempt) {
    grpc::Status s = call();
    if (s.ok() || s.error_code() != grpc::StatusCode::UNAVAILABLE || attempt >= 100 ||
        deadline.Passed()) {
      return s;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
}

// Polls `done` every 250 ms until it answers true, at most 2,000 times and never past the
// deadline. False when it never did.
template <typename Done>
bool WaitUntil(const Deadline& deadline, Done&& done) {
  for (int poll = 0; poll < 2000 && !deadline.Passed(); ++poll) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(250));
  }
  return false;
}

const char* OutcomeName(ev::Outcome o) { return ev::Outcome_Name(o).c_str(); }

class Loader {
 public:
  Loader(const Options& options, const Deadline& deadline)
      : options_(options),
        deadline_(deadline),
        partner_("partner:" + options.partner),
        intake_(in::IntakeService::NewStub(
            grpc::CreateChannel(options.intake, grpc::InsecureChannelCredentials()))),
        review_(rv::ReviewService::NewStub(
            grpc::CreateChannel(options.adjudication, grpc::InsecureChannelCredentials()))) {
    if (!options.payout.empty()) {
      payout_ = po::PayoutService::NewStub(
          grpc::CreateChannel(options.payout, grpc::InsecureChannelCredentials()));
    }
  }

  int Run() {
    year_ = GenerateDemoYear(options_.shape);
    if (int rc = Enroll(); rc != kExitOk) return rc;
    if (int rc = SubmitClaims(); rc != kExitOk) return rc;
    if (!WaitForDecisions()) return Failure::Report("claims were not all decided in time");
    first_ = claims_;
    if (int rc = ReviewSome(); rc != kExitOk) return rc;
    if (int rc = AppealOne(); rc != kExitOk) return rc;
    if (!WaitForDecisions()) return Failure::Report("reviews and the appeal did not show in time");
    if (payout_ != nullptr) {
      if (int rc = PayOut(); rc != kExitOk) return rc;
    }
    PrintSummary();
    return kExitOk;
  }

 private:
  // BulkEnroll, resending from `resend_from` when the server stopped (at most 10 streams).
  int Enroll() {
    int from = 0;
    const int total = static_cast<int>(year_.enrollments.size());
    for (int stream = 0; stream < 10 && from < total; ++stream) {
      auto context = Context(deadline_, partner_, seconds(120));
      in::BulkEnrollResponse response;
      std::unique_ptr<grpc::ClientWriter<in::EnrollMemberRequest>> writer =
          intake_->BulkEnroll(context.get(), &response);
      for (int i = from; i < total; ++i) {
        if (!writer->Write(year_.enrollments[i])) break;
      }
      writer->WritesDone();
      grpc::Status s = writer->Finish();
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE && !deadline_.Passed()) {
        std::this_thread::sleep_for(milliseconds(500));
        continue;
      }
      if (!s.ok()) return Failure::Report("BulkEnroll", s);
      if (response.refused() > 0) {
        const auto& first = response.refusals(0);
        return Failure::Report("BulkEnroll refused " + std::to_string(response.refused()) +
                               " records; the first, record " + std::to_string(first.index()) +
                               ": " + first.message());
      }
      if (!response.stopped()) {
        from = total;
        break;
      }
      from = from + response.resend_from();
    }
    if (from < total) return Failure::Report("BulkEnroll did not finish");
    enrolled_ = total;

    // BulkEnroll returns no member ids: the same record through EnrollMember answers its id.
    std::set<int> claimants;
    for (const PlannedClaim& c : year_.claims) claimants.insert(c.member_index);
    for (int index : claimants) {
      in::EnrollMemberResponse response;
      grpc::Status s = Retrying(deadline_, [&] {
        auto context = Context(deadline_, partner_);
        return intake_->EnrollMember(context.get(), year_.enrollments[index], &response);
      });
      if (!s.ok()) return Failure::Report("EnrollMember", s);
      member_ids_[index] = response.member_id();
    }
    return kExitOk;
  }

  int SubmitClaims() {
    for (PlannedClaim& c : year_.claims) {
      c.request.set_member_id(member_ids_.at(c.member_index));
      in::SubmitClaimResponse response;
      grpc::Status s = Retrying(deadline_, [&] {
        auto context = Context(deadline_, partner_);
        return intake_->SubmitClaim(context.get(), c.request, &response);
      });
      if (!s.ok()) return Failure::Report("SubmitClaim " + c.request.idempotency_key(), s);
      claim_ids_.push_back(response.claim_id());
    }
    return kExitOk;
  }

  // Reads every claim of the partner into claims_. False on a failed call.
  bool ReadClaims() {
    std::map<std::string, in::Claim> seen;
    std::string token;
    for (int page = 0; page < 1000; ++page) {
      in::ListClaimsRequest request;
      request.set_page_size(500);
      request.set_page_token(token);
      in::ListClaimsResponse response;
      auto context = Context(deadline_, partner_, seconds(10));
      if (!intake_->ListClaims(context.get(), request, &response).ok()) return false;
      for (const in::Claim& c : response.claims()) seen[c.claim_id()] = c;
      token = response.next_page_token();
      if (token.empty()) {
        claims_ = std::move(seen);
        return true;
      }
    }
    return false;
  }

  // Until intake shows a decision on every claim, at least at the revision each review or
  // appeal led to.
  bool WaitForDecisions() {
    return WaitUntil(deadline_, [&] {
      if (!ReadClaims()) return false;
      for (const std::string& id : claim_ids_) {
        auto it = claims_.find(id);
        if (it == claims_.end() || it->second.outcome() == ev::OUTCOME_UNSPECIFIED) return false;
        auto wanted = min_revision_.find(id);
        if (wanted != min_revision_.end() && it->second.revision() < wanted->second) return false;
      }
      return true;
    });
  }

  // Of the REFERRED claims, oldest first: approves every third, denies the next, leaves the
  // third open.
  int ReviewSome() {
    std::vector<rv::Decision> referred;
    std::string token;
    for (int page = 0; page < 1000; ++page) {
      rv::ListReferredRequest request;
      request.set_page_size(500);
      request.set_page_token(token);
      rv::ListReferredResponse response;
      grpc::Status s = Retrying(deadline_, [&] {
        auto context = Context(deadline_, kReviewer, seconds(10));
        return review_->ListReferred(context.get(), request, &response);
      });
      if (!s.ok()) return Failure::Report("ListReferred", s);
      referred.insert(referred.end(), response.decisions().begin(), response.decisions().end());
      token = response.next_page_token();
      if (token.empty()) break;
    }
    for (size_t i = 0; i < referred.size(); ++i) {
      if (i % 3 == 2) continue;
      rv::ReviewClaimRequest request;
      request.set_claim_id(referred[i].claim_id());
      request.set_action(i % 3 == 0 ? rv::APPROVE : rv::DENY);
      request.set_note("demo review");
      request.set_revision(referred[i].revision());
      rv::ReviewClaimResponse response;
      grpc::Status s = Retrying(deadline_, [&] {
        auto context = Context(deadline_, kReviewer);
        return review_->ReviewClaim(context.get(), request, &response);
      });
      if (!s.ok()) return Failure::Report("ReviewClaim " + request.claim_id(), s);
      ++(request.action() == rv::APPROVE ? reviews_approved_ : reviews_denied_);
      min_revision_[request.claim_id()] = response.decision().revision();
    }
    reviews_open_ = static_cast<int>(referred.size()) - reviews_approved_ - reviews_denied_;
    return kExitOk;
  }

  // Appeals the first claim (in submission order) denied for a condition the plan does not list,
  // or else the first denied one.
  int AppealOne() {
    std::string chosen;
    for (size_t i = 0; i < claim_ids_.size() && chosen.empty(); ++i) {
      const in::Claim& c = claims_.at(claim_ids_[i]);
      if (c.outcome() == ev::DENIED && c.reasons_size() == 1 &&
          c.reasons(0) == ev::CONDITION_NOT_COVERED) {
        chosen = c.claim_id();
      }
    }
    for (size_t i = 0; i < claim_ids_.size() && chosen.empty(); ++i) {
      if (claims_.at(claim_ids_[i]).outcome() == ev::DENIED) chosen = claim_ids_[i];
    }
    if (chosen.empty()) return Failure::Report("no DENIED claim to appeal");
    in::AppealClaimRequest request;
    request.set_idempotency_key("demo-" + std::to_string(options_.shape.plan_year) + "-appeal-1");
    request.set_claim_id(chosen);
    request.set_reason("The condition was diagnosed under another name; see the attached report.");
    in::AppealClaimResponse response;
    grpc::Status s = Retrying(deadline_, [&] {
      auto context = Context(deadline_, partner_);
      return intake_->AppealClaim(context.get(), request, &response);
    });
    if (!s.ok()) return Failure::Report("AppealClaim " + chosen, s);
    appealed_ = chosen;
    min_revision_[chosen] = claims_.at(chosen).revision() + 1;
    return kExitOk;
  }

  // Every payment of the partner's claims, by payment id. False on a failed call.
  bool ReadPayments(std::vector<po::Payment>& out) {
    out.clear();
    std::string token;
    for (int page = 0; page < 1000; ++page) {
      po::ListPaymentsRequest request;
      request.set_page_size(500);
      request.set_page_token(token);
      po::ListPaymentsResponse response;
      auto context = Context(deadline_, kOperator, seconds(10));
      if (!payout_->ListPayments(context.get(), request, &response).ok()) return false;
      out.insert(out.end(), response.payments().begin(), response.payments().end());
      token = response.next_page_token();
      if (token.empty()) return true;
    }
    return false;
  }

  // Waits for the payments of every approval, batches them, and imports the bank's simulated
  // pain.002: every payment settled but the last one in the file, rejected.
  int PayOut() {
    size_t due = 0;
    for (const auto& [id, c] : claims_) {
      if (c.outcome() != ev::APPROVED) continue;
      due += (c.payable_fen() > 0 ? 1 : 0) + (c.condolence_fen() > 0 ? 1 : 0);
    }
    std::vector<po::Payment> payments;
    if (!WaitUntil(deadline_, [&] { return ReadPayments(payments) && payments.size() >= due; })) {
      return Failure::Report("payout did not instruct the " + std::to_string(due) +
                             " payments due in time (saw " + std::to_string(payments.size()) + ")");
    }
    instructed_ = payments.size();

    const std::string y = std::to_string(options_.shape.plan_year);
    po::CreateBatchRequest create;
    create.set_idempotency_key("demo-" + y + "-batch-1");
    po::Batch batch;
    grpc::Status s = Retrying(deadline_, [&] {
      auto context = Context(deadline_, kOperator);
      return payout_->CreateBatch(context.get(), create, &batch);
    });
    if (!s.ok()) return Failure::Report("CreateBatch", s);
    po::GetBatchRequest get;
    get.set_batch_id(batch.batch_id());
    get.set_include_payments(true);
    s = Retrying(deadline_, [&] {
      auto context = Context(deadline_, kOperator);
      return payout_->GetBatch(context.get(), get, &batch);
    });
    if (!s.ok()) return Failure::Report("GetBatch " + get.batch_id(), s);
    if (batch.payments_size() == 0) return Failure::Report("the batch has no payments");

    iso20022::StatusReport report;
    report.message_id = "DEMO-PSR-" + y + "-1";
    report.original_message_id = batch.batch_id();
    for (int i = 0; i < batch.payments_size(); ++i) {
      const po::Payment& p = batch.payments(i);
      iso20022::TransactionStatus& t = report.transactions.emplace_back();
      t.original_end_to_end_id = p.payment_id();
      t.original_amount_fen = p.amount_fen();
      if (i + 1 == batch.payments_size()) {
        t.status = "RJCT";
        t.reason_code = "AC04";
        t.reason_text = "Closed account number (simulated bank)";
      } else {
        t.status = "ACSC";
      }
    }
    const std::string xml = iso20022::WritePain002(
        report, DemoBusinessDate(options_.shape.plan_year).ToString() + "T18:00:00");
    if (!options_.out_dir.empty()) {
      const std::string path = options_.out_dir + "/pain002-" + batch.batch_id() + ".xml";
      std::ofstream(path, std::ios::binary) << xml;
      pain002_path_ = path;
    }
    po::ImportStatusReportRequest import;
    import.set_idempotency_key("demo-" + y + "-psr-1");
    import.set_xml(xml);
    po::ImportStatusReportResponse imported;
    s = Retrying(deadline_, [&] {
      auto context = Context(deadline_, kOperator);
      return payout_->ImportStatusReport(context.get(), import, &imported);
    });
    if (!s.ok()) return Failure::Report("ImportStatusReport", s);
    batch_id_ = batch.batch_id();
    batch_count_ = batch.number_of_transactions();
    batch_sum_ = batch.control_sum_fen();

    const auto settled_and_failed = [&] {
      if (!ReadPayments(payments)) return false;
      settled_ = failed_ = 0;
      for (const po::Payment& p : payments) {
        if (p.batch_id() != batch_id_) continue;
        settled_ += p.status() == po::SETTLED;
        failed_ += p.status() == po::FAILED;
      }
      return settled_ + failed_ == static_cast<size_t>(batch.payments_size());
    };
    if (!WaitUntil(deadline_, settled_and_failed)) {
      return Failure::Report("the status report's effects did not show in time");
    }
    po::LedgerBalance balance;
    auto context = Context(deadline_, kOperator, seconds(10));
    if (payout_->GetLedgerBalance(context.get(), po::GetLedgerBalanceRequest(), &balance).ok()) {
      ledger_ = balance.balanced() ? "balanced" : "NOT balanced";
    }
    return kExitOk;
  }

  void PrintSummary() const {
    const DemoShape& shape = options_.shape;
    std::printf("== demo year %d: seed %llu, business date %s ==\n", shape.plan_year,
                static_cast<unsigned long long>(shape.seed),
                DemoBusinessDate(shape.plan_year).ToString().c_str());
    std::map<int, int> by_occupation;
    for (const auto& e : year_.enrollments) ++by_occupation[e.occupation()];
    std::printf("members enrolled: %d (", enrolled_);
    for (auto it = by_occupation.begin(); it != by_occupation.end(); ++it) {
      std::printf("%s%s %d", it == by_occupation.begin() ? "" : ", ",
                  ev::Occupation_Name(static_cast<ev::Occupation>(it->first)).c_str(), it->second);
    }
    std::printf(")\n");

    int as_planned = 0;
    for (size_t i = 0; i < year_.claims.size(); ++i) {
      const PlannedClaim& c = year_.claims[i];
      const in::Claim& first = first_.at(claim_ids_[i]);
      if (first.outcome() == c.expected) {
        ++as_planned;
      } else if (static_cast<int>(i) - as_planned < 5) {
        std::printf("  unplanned: %s (%s): expected %s, decided %s\n", first.claim_id().c_str(),
                    c.scenario.c_str(), OutcomeName(c.expected), OutcomeName(first.outcome()));
      }
    }
    std::printf("claims submitted: %zu; first decisions as planned: %d of %zu\n", claim_ids_.size(),
                as_planned, claim_ids_.size());
    std::printf("reviews: %d approved, %d denied, %d left open; appeal: claim %s now %s\n",
                reviews_approved_, reviews_denied_, reviews_open_, appealed_.c_str(),
                OutcomeName(claims_.at(appealed_).outcome()));

    std::map<int, std::map<int, int>> table;
    std::map<int, int> outcomes;
    Fen approved = 0, condolence = 0;
    int condolences = 0;
    for (const std::string& id : claim_ids_) {
      const in::Claim& c = claims_.at(id);
      ++table[c.coverage()][c.outcome()];
      ++outcomes[c.outcome()];
      if (c.outcome() == ev::APPROVED) {
        approved += c.payable_fen();
        condolence += c.condolence_fen();
        condolences += c.condolence_fen() > 0;
      }
    }
    std::printf("%-26s %9s %7s %9s\n", "claims by coverage", "APPROVED", "DENIED", "REFERRED");
    for (const auto& [coverage, row] : table) {
      auto count = [&](ev::Outcome o) {
        auto it = row.find(o);
        return it == row.end() ? 0 : it->second;
      };
      std::printf("  %-24s %9d %7d %9d\n",
                  ev::Coverage_Name(static_cast<ev::Coverage>(coverage)).c_str(),
                  count(ev::APPROVED), count(ev::DENIED), count(ev::REFERRED));
    }
    std::printf("outcomes: APPROVED=%d DENIED=%d REFERRED=%d\n", outcomes[ev::APPROVED],
                outcomes[ev::DENIED], outcomes[ev::REFERRED]);
    std::printf("approved: %s yuan benefits, %d condolences (%s yuan)\n",
                FormatYuan(approved).c_str(), condolences, FormatYuan(condolence).c_str());
    if (payout_ == nullptr) {
      std::printf("payments: skipped (no payout service)\n");
      return;
    }
    std::printf(
        "payments: %zu instructed; batch %s: %lld payments, %s yuan; bank report: %zu settled, "
        "%zu failed; ledger %s\n",
        instructed_, batch_id_.c_str(), static_cast<long long>(batch_count_),
        FormatYuan(batch_sum_).c_str(), settled_, failed_, ledger_.c_str());
    if (!pain002_path_.empty()) std::printf("bank status report: %s\n", pain002_path_.c_str());
  }

  static constexpr const char* kReviewer = "reviewer:demo-reviewer";
  static constexpr const char* kOperator = "operator:demo-operator";

  const Options& options_;
  const Deadline& deadline_;
  const std::string partner_;
  std::unique_ptr<in::IntakeService::Stub> intake_;
  std::unique_ptr<rv::ReviewService::Stub> review_;
  std::unique_ptr<po::PayoutService::Stub> payout_;

  DemoYear year_;
  int enrolled_ = 0;
  std::map<int, std::string> member_ids_;         // by member index
  std::vector<std::string> claim_ids_;            // in submission order
  std::map<std::string, in::Claim> claims_;       // intake's view, by claim id
  std::map<std::string, in::Claim> first_;        // the first decisions
  std::map<std::string, uint32_t> min_revision_;  // after reviews and the appeal
  int reviews_approved_ = 0, reviews_denied_ = 0, reviews_open_ = 0;
  std::string appealed_;
  size_t instructed_ = 0, settled_ = 0, failed_ = 0;
  std::string batch_id_, ledger_ = "unknown", pain002_path_;
  int64_t batch_count_ = 0;
  Fen batch_sum_ = 0;
};

}  // namespace
}  // namespace claims::demo

int main(int argc, char** argv) {
  claims::demo::Options options;
  CLI::App app{
      "Loads a generated demo year into a running local cluster (--insecure-dev services): "
      "enrollments, claims over all six coverages, reviews, an appeal, a payment batch and the "
      "bank's status report; prints a summary. Deterministic for a given seed."};
  app.add_option("--intake", options.intake, "Intake gRPC address, host:port")->required();
  app.add_option("--adjudication", options.adjudication, "Adjudication gRPC address, host:port")
      ->required();
  app.add_option("--payout", options.payout, "Payout gRPC address; without it nothing is paid");
  app.add_option("--partner", options.partner, "Partner id the members are enrolled by")
      ->capture_default_str();
  app.add_option("--members", options.shape.members, "Members to enroll")
      ->check(CLI::Range(400, 4000))
      ->capture_default_str();
  app.add_option("--year", options.shape.plan_year,
                 "Plan year (the services' --business-date must be December 15 of it)")
      ->check(CLI::Range(2000, 2100))
      ->capture_default_str();
  app.add_option("--seed", options.shape.seed, "Seed of the generated year")->capture_default_str();
  app.add_option("--out-dir", options.out_dir, "Folder for the simulated bank's pain.002 file")
      ->check(CLI::ExistingDirectory);
  app.add_option("--timeout", options.timeout_s, "Seconds the whole load may take")
      ->check(CLI::Range(10, 3600))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help answers 0; bad usage 2, as every tool of the repository.
    return app.exit(e) == 0 ? 0 : 2;
  }

  const claims::demo::Deadline deadline{std::chrono::seconds(options.timeout_s)};
  return claims::demo::Loader(options, deadline).Run();
}
