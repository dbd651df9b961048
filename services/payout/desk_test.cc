#include "services/payout/desk.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "services/payout/payout_ids.h"
#include "tests/support/temp_dir.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;

// A desk over a real store in a temp dir; every command is folded and written on its own, as the
// processor would with one-record batches.
class DeskHarness {
 public:
  DeskHarness() {
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("desk-test")).value());
    Reopen();
  }

  void Reopen() {
    fold_.reset();
    store_.reset();
    store::StoreOptions options;
    options.column_families = DeskColumnFamilies();
    options.sync_writes = false;
    store_ = std::move(store::StateStore::Open(dir_->File("desk"), options)).value();
    fold_ = std::make_unique<DeskFold>(*store_, &duplicates_);
  }

  // Folds one command and writes the state; returns the events published.
  std::vector<ev::Envelope> Fold(const ev::Envelope& command) {
    std::vector<ev::Envelope> out;
    Status s = fold_->ApplyCommand(command, out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    store::WriteBatch batch;
    EXPECT_TRUE(fold_->Finish(batch).ok());
    EXPECT_TRUE(store_->Write(batch).ok());
    for (const ev::Envelope& e : out) published_.push_back(e);
    return out;
  }

  api::Payment Payment(const std::string& id) {
    Result<std::optional<std::string>> bytes = store_->Get(kDeskPaymentsCf, id);
    api::Payment p;
    if (bytes.ok() && bytes->has_value()) p.ParseFromString(**bytes);
    return p;
  }

  std::vector<api::Payment> Payments() {
    std::vector<api::Payment> out;
    EXPECT_TRUE(store_
                    ->ScanPrefix(kDeskPaymentsCf, "",
                                 [&](std::string_view, std::string_view v) {
                                   out.emplace_back().ParseFromString(std::string(v));
                                   return true;
                                 })
                    .ok());
    return out;
  }

  api::LedgerBalance Ledger() { return std::move(ReadDeskLedger(*store_)).value(); }

  int64_t Balance(const std::string& account) {
    const api::LedgerBalance ledger = Ledger();
    for (const api::AccountBalance& b : ledger.accounts()) {
      if (b.account() == account) return b.balance_fen();
    }
    return 0;
  }

  const std::vector<ev::Envelope>& published() const { return published_; }
  // Command ids dropped as folded before.
  double duplicates() const { return duplicates_.value(); }

 private:
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<DeskFold> fold_;
  std::vector<ev::Envelope> published_;
  runtime::MetricsRegistry registry_;
  runtime::Counter& duplicates_ =
      (*registry_.AddCounter("duplicates_total", "Repeats dropped.", {"topic"}))->WithLabels({"d"});
};

ev::Envelope Command(const std::string& id, const api::PayoutCommand& body) {
  ev::Envelope e = codec::Wrap(kPayoutCommandType, body);
  e.set_event_id(id);
  e.set_business_date(body.business_date());
  e.set_trace_id("t-" + id);
  return e;
}

ev::Envelope Request(const std::string& id, const std::string& claim, const std::string& member,
                     ev::PaymentKind kind, int64_t amount) {
  api::PayoutCommand c;
  c.set_business_date("2026-03-02");
  api::PaymentRequested* r = c.mutable_payment_requested();
  r->set_claim_id(claim);
  r->set_member_id(member);
  r->set_kind(kind);
  r->set_amount_fen(amount);
  r->set_decision_event_id("d-" + claim);
  r->set_approving_input_event_id("in-" + claim);
  return Command(id, c);
}

ev::Envelope Hold(const std::string& id, const std::string& payment) {
  api::PayoutCommand c;
  c.set_operator_id("ops1");
  c.set_business_date("2026-03-02");
  c.mutable_hold_requested()->set_payment_id(payment);
  return Command(id, c);
}

ev::Envelope Release(const std::string& id, const std::string& payment) {
  api::PayoutCommand c;
  c.set_operator_id("ops1");
  c.set_business_date("2026-03-02");
  c.mutable_release_requested()->set_payment_id(payment);
  return Command(id, c);
}

ev::Envelope Batch(const std::string& id) {
  api::PayoutCommand c;
  c.set_operator_id("ops1");
  c.set_business_date("2026-03-03");
  c.mutable_batch_requested()->set_requested_execution_date("2026-03-04");
  return Command(id, c);
}

struct Tx {
  std::string payment;
  std::string status;
  int64_t amount = 0;
};

ev::Envelope Report(const std::string& id, const std::string& report, const std::string& batch,
                    const std::vector<Tx>& txs) {
  api::PayoutCommand c;
  c.set_operator_id("ops1");
  c.set_business_date("2026-03-05");
  api::StatusReportImported* r = c.mutable_status_report_imported();
  r->set_report_id(report);
  r->set_batch_id(batch);
  for (const Tx& t : txs) {
    api::ReportedTransaction* x = r->add_transactions();
    x->set_payment_id(t.payment);
    x->set_status(t.status);
    x->set_amount_fen(t.amount);
    if (t.status == "RJCT") {
      x->set_reason_code("AC04");
      x->set_reason_text("closed account");
    }
  }
  return Command(id, c);
}

ev::Envelope Reissue(const std::string& id, const std::string& failed,
                     const std::string& enrollment) {
  api::PayoutCommand c;
  c.set_operator_id("ops1");
  c.set_business_date("2026-03-06");
  c.mutable_reissue_requested()->set_failed_payment_id(failed);
  c.mutable_reissue_requested()->set_payee_enrollment_event_id(enrollment);
  return Command(id, c);
}

template <typename M>
M Payload(const ev::Envelope& e) {
  M m;
  EXPECT_TRUE(m.ParseFromString(e.payload()));
  return m;
}

std::string RejectionCode(const std::vector<ev::Envelope>& out) {
  if (out.size() != 1 || out[0].type() != kCommandRejectedType) return "";
  return Payload<ev::CommandRejected>(out[0]).code();
}

std::string BatchOf(const std::vector<ev::Envelope>& out) {
  if (out.empty() || out.back().type() != kBatchCreatedType) return "";
  return Payload<ev::BatchCreated>(out.back()).batch_id();
}

TEST(DeskTest, InstructsEachClaimAndKindOnceAndBooksTheLedger) {
  DeskHarness desk;
  std::vector<ev::Envelope> out = desk.Fold(Request("c1", "C-1", "M1", ev::BENEFIT, 50000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), kPaymentInstructedType);
  const ev::PaymentInstructed m = Payload<ev::PaymentInstructed>(out[0]);
  EXPECT_EQ(m.payment_id(), PaymentId("C-1", ev::BENEFIT, 1));
  EXPECT_LE(m.payment_id().size(), 35u);
  EXPECT_EQ(m.amount_fen(), 50000);
  EXPECT_EQ(out[0].member_id(), "M1");
  EXPECT_EQ(out[0].sequence(), 1u);
  EXPECT_EQ(out[0].answers_event_id(), "c1");
  ASSERT_EQ(m.postings_size(), 1);
  EXPECT_EQ(m.postings(0).debit_account(), kFundAccount);
  EXPECT_EQ(m.postings(0).credit_account(), PayableAccount("M1"));

  EXPECT_EQ(desk.Fold(Request("c2", "C-1", "M1", ev::CONDOLENCE, 20000)).size(), 1u);
  // The same command again, and another request for the same (claim, kind): nothing.
  EXPECT_TRUE(desk.Fold(Request("c1", "C-1", "M1", ev::BENEFIT, 50000)).empty());
  EXPECT_TRUE(desk.Fold(Request("c3", "C-1", "M1", ev::BENEFIT, 50000)).empty());
  desk.Reopen();
  EXPECT_TRUE(desk.Fold(Request("c4", "C-1", "M1", ev::BENEFIT, 70000)).empty());
  EXPECT_EQ(desk.duplicates(), 1) << "c1 again; c3 and c4 are new commands that change nothing";

  EXPECT_EQ(desk.Payments().size(), 2u);
  EXPECT_EQ(desk.Balance(kFundAccount), 70000);
  EXPECT_EQ(desk.Balance(PayableAccount("M1")), -70000);
  EXPECT_TRUE(desk.Ledger().balanced());
}

TEST(DeskTest, HeldPaymentsStayOutOfBatchesAndBatchedOnesCannotBeHeld) {
  DeskHarness desk;
  desk.Fold(Request("c1", "C-1", "M1", ev::BENEFIT, 100));
  desk.Fold(Request("c2", "C-2", "M2", ev::BENEFIT, 200));
  const std::string p1 = PaymentId("C-1", ev::BENEFIT, 1);
  const std::string p2 = PaymentId("C-2", ev::BENEFIT, 1);
  ASSERT_EQ(desk.Fold(Hold("h1", p1)).at(0).type(), kPaymentHeldType);
  EXPECT_EQ(RejectionCode(desk.Fold(Hold("h2", p1))), kPaymentHeld);
  EXPECT_EQ(RejectionCode(desk.Fold(Hold("h3", "P-nope"))), kPaymentUnknown);
  EXPECT_EQ(RejectionCode(desk.Fold(Release("r0", p2))), kPaymentNotHeld);

  std::vector<ev::Envelope> out = desk.Fold(Batch("b1"));
  ASSERT_EQ(out.size(), 2u);  // p2 batched, then the batch
  const ev::BatchCreated created = Payload<ev::BatchCreated>(out[1]);
  EXPECT_EQ(created.number_of_transactions(), 1);
  EXPECT_EQ(created.control_sum_fen(), 200);
  EXPECT_EQ(created.creation_date(), "2026-03-03");
  EXPECT_EQ(desk.Payment(p2).status(), api::BATCHED);
  EXPECT_EQ(desk.Payment(p1).status(), api::HELD);
  EXPECT_EQ(RejectionCode(desk.Fold(Hold("h4", p2))), kPaymentBatched);

  // Nothing ready: no batch.
  EXPECT_EQ(RejectionCode(desk.Fold(Batch("b2"))), kNoPayments);
  ASSERT_EQ(desk.Fold(Release("r1", p1)).at(0).type(), kPaymentReleasedType);
  out = desk.Fold(Batch("b3"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Payload<ev::PaymentBatched>(out[0]).payment_id(), p1);
  EXPECT_NE(BatchOf(out), created.batch_id());
  EXPECT_EQ(desk.Balance(kClearingAccount), -300);
  EXPECT_TRUE(desk.Ledger().balanced());
}

TEST(DeskTest, StatusReportsSettleAndFailAndBadReportsChangeNothing) {
  DeskHarness desk;
  desk.Fold(Request("c1", "C-1", "M1", ev::BENEFIT, 100));
  desk.Fold(Request("c2", "C-2", "M2", ev::BENEFIT, 200));
  desk.Fold(Request("c3", "C-3", "M3", ev::BENEFIT, 300));
  const std::string p1 = PaymentId("C-1", ev::BENEFIT, 1);
  const std::string p2 = PaymentId("C-2", ev::BENEFIT, 1);
  const std::string p3 = PaymentId("C-3", ev::BENEFIT, 1);
  const std::string batch = BatchOf(desk.Fold(Batch("b1")));
  ASSERT_FALSE(batch.empty());
  const api::LedgerBalance before = desk.Ledger();

  struct BadCase {
    ev::Envelope command;
    std::string code;
  };
  const BadCase bad[] = {
      {Report("x1", "R-1", "B-unknown", {{p1, "ACSC"}}), kBatchUnknown},
      {Report("x2", "R-1", batch, {{p1, "ACSC"}, {"P-unknown", "ACSC"}}), kPaymentUnknown},
      {Report("x3", "R-1", batch, {{p1, "ACSC"}, {p2, "ACSC", 999}}), kAmountMismatch},
      {Report("x4", "R-1", batch, {{p1, "ACSC"}, {p1, "RJCT"}}), kDuplicateTransaction},
      {Report("x5", "R-1", batch, {{p1, "ZZZZ"}}), kStatusUnknown},
  };
  for (const BadCase& c : bad) {
    EXPECT_EQ(RejectionCode(desk.Fold(c.command)), c.code) << c.command.event_id();
    EXPECT_EQ(desk.Payment(p1).status(), api::BATCHED);
    EXPECT_EQ(desk.Ledger().SerializeAsString(), before.SerializeAsString());
  }

  std::vector<ev::Envelope> out =
      desk.Fold(Report("ok1", "R-1", batch, {{p1, "ACSC", 100}, {p2, "RJCT"}, {p3, "PDNG"}}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].type(), kPaymentSettledType);
  EXPECT_EQ(out[1].type(), kPaymentFailedType);
  EXPECT_EQ(Payload<ev::PaymentFailed>(out[1]).reason_code(), "AC04");
  const ev::StatusReportApplied applied = Payload<ev::StatusReportApplied>(out[2]);
  EXPECT_EQ(applied.settled(), 1);
  EXPECT_EQ(applied.failed(), 1);
  EXPECT_EQ(applied.pending(), 1);
  EXPECT_EQ(desk.Payment(p1).status(), api::SETTLED);
  EXPECT_EQ(desk.Payment(p2).status(), api::FAILED);
  EXPECT_EQ(desk.Payment(p3).status(), api::BATCHED);
  EXPECT_EQ(desk.Balance(kSettledAccount), -100);
  EXPECT_EQ(desk.Balance(PayableAccount("M2")), -200);  // back, waiting for a re-issue
  EXPECT_EQ(desk.Balance(kClearingAccount), -300);

  // The same report again (another command id): refused, nothing changes.
  const api::LedgerBalance after = desk.Ledger();
  EXPECT_EQ(RejectionCode(desk.Fold(Report("ok2", "R-1", batch, {{p3, "ACSC"}}))),
            kReportDuplicate);
  EXPECT_EQ(desk.Payment(p3).status(), api::BATCHED);
  // A settled payment reported rejected later: refused.
  EXPECT_EQ(RejectionCode(desk.Fold(Report("ok3", "R-2", batch, {{p1, "RJCT"}}))), kPaymentFinal);
  EXPECT_EQ(desk.Ledger().SerializeAsString(), after.SerializeAsString());
  EXPECT_TRUE(desk.Ledger().balanced());
}

TEST(DeskTest, AReportInPartsIsAppliedWholeWhenItsLastPartArrivesOrNotAtAll) {
  DeskHarness desk;
  for (int i = 0; i < 4; ++i) {
    desk.Fold(Request("c" + std::to_string(i), "C-" + std::to_string(i), "M1", ev::BENEFIT, 100));
  }
  const std::string batch = BatchOf(desk.Fold(Batch("b1")));
  std::vector<std::string> p;
  for (int i = 0; i < 4; ++i) p.push_back(PaymentId("C-" + std::to_string(i), ev::BENEFIT, 1));
  auto part = [&](const std::string& id, const std::string& report, uint32_t n, uint32_t of,
                  const std::vector<Tx>& txs) {
    ev::Envelope e = Report(id, report, batch, txs);
    api::PayoutCommand c;
    c.ParseFromString(e.payload());
    c.mutable_status_report_imported()->set_part(n);
    c.mutable_status_report_imported()->set_parts(of);
    return Command(id, c);
  };
  // Parts 1 and 3 of 3: part 2 never came. Refused whole; nothing changes.
  EXPECT_TRUE(desk.Fold(part("x1", "R-1", 1, 3, {{p[0], "ACSC"}})).empty());
  EXPECT_EQ(RejectionCode(desk.Fold(part("x3", "R-1", 3, 3, {{p[2], "ACSC"}}))), kReportIncomplete);
  EXPECT_EQ(desk.Payment(p[0]).status(), api::BATCHED);
  // A bad transaction in one part refuses the whole report.
  EXPECT_TRUE(desk.Fold(part("y1", "R-2", 1, 2, {{p[0], "ACSC"}})).empty());
  EXPECT_EQ(RejectionCode(desk.Fold(part("y2", "R-2", 2, 2, {{"P-unknown", "ACSC"}}))),
            kPaymentUnknown);
  EXPECT_EQ(desk.Payment(p[0]).status(), api::BATCHED);
  // All parts: applied once the last one arrives.
  EXPECT_TRUE(desk.Fold(part("z1", "R-3", 1, 2, {{p[0], "ACSC"}, {p[1], "RJCT"}})).empty());
  EXPECT_EQ(desk.Payment(p[0]).status(), api::BATCHED);
  const std::vector<ev::Envelope> out =
      desk.Fold(part("z2", "R-3", 2, 2, {{p[2], "ACSC"}, {p[3], "ACSC"}}));
  ASSERT_EQ(out.size(), 5u);
  const ev::StatusReportApplied applied = Payload<ev::StatusReportApplied>(out.back());
  EXPECT_EQ(applied.settled(), 3);
  EXPECT_EQ(applied.failed(), 1);
  EXPECT_EQ(desk.Payment(p[1]).status(), api::FAILED);
  EXPECT_TRUE(desk.Ledger().balanced());
}

TEST(DeskTest, AFailedPaymentIsReissuedOnceToACorrectedCardAndPaidOnce) {
  DeskHarness desk;
  desk.Fold(Request("c1", "C-1", "M1", ev::BENEFIT, 100));
  const std::string p1 = PaymentId("C-1", ev::BENEFIT, 1);
  EXPECT_EQ(RejectionCode(desk.Fold(Reissue("i0", p1, "E2"))), kPaymentNotFailed);
  const std::string b1 = BatchOf(desk.Fold(Batch("b1")));
  desk.Fold(Report("r1", "R-1", b1, {{p1, "RJCT"}}));

  std::vector<ev::Envelope> out = desk.Fold(Reissue("i1", p1, "E2"));
  ASSERT_EQ(out.size(), 1u);
  const ev::PaymentInstructed again = Payload<ev::PaymentInstructed>(out[0]);
  const std::string p2 = PaymentId("C-1", ev::BENEFIT, 2);
  EXPECT_EQ(again.payment_id(), p2);
  EXPECT_EQ(again.replaces_payment_id(), p1);
  EXPECT_EQ(again.issue(), 2u);
  EXPECT_EQ(again.postings_size(), 0);  // the money is back in payable already
  EXPECT_EQ(RejectionCode(desk.Fold(Reissue("i2", p1, "E3"))), kAlreadyReissued);

  const std::string b2 = BatchOf(desk.Fold(Batch("b2")));
  desk.Fold(Report("r2", "R-2", b2, {{p2, "RJCT"}}));
  // The card of the second issue was not corrected since.
  EXPECT_EQ(RejectionCode(desk.Fold(Reissue("i3", p2, "E2"))), kCardNotCorrected);
  desk.Fold(Reissue("i4", p2, "E3"));
  const std::string p3 = PaymentId("C-1", ev::BENEFIT, 3);
  const std::string b3 = BatchOf(desk.Fold(Batch("b3")));
  desk.Fold(Report("r3", "R-3", b3, {{p3, "ACSC"}}));
  EXPECT_EQ(desk.Payment(p3).status(), api::SETTLED);
  EXPECT_EQ(desk.Balance(kSettledAccount), -100);
  EXPECT_EQ(desk.Balance(kFundAccount), 100);
  EXPECT_EQ(desk.Balance(PayableAccount("M1")), 0);
  EXPECT_EQ(desk.Balance(kClearingAccount), 0);
}

TEST(DeskTest, AMalformedCommandIsRejectedAndChangesNothing) {
  DeskHarness desk;
  ev::Envelope garbage;
  garbage.set_event_id("g1");
  garbage.set_type(kPayoutCommandType);
  garbage.set_payload("not a command");
  EXPECT_EQ(RejectionCode(desk.Fold(garbage)), kMalformedCommand);
  ev::Envelope tampered = Request("c1", "C-1", "M1", ev::BENEFIT, 100);
  tampered.set_payload_sha256(std::string(32, 'x'));
  EXPECT_EQ(RejectionCode(desk.Fold(tampered)), kMalformedCommand);
  EXPECT_EQ(RejectionCode(desk.Fold(Request("c2", "C-1", "M1", ev::BENEFIT, 0))),
            kMalformedCommand);
  EXPECT_TRUE(desk.Payments().empty());
  EXPECT_TRUE(desk.Ledger().accounts().empty());
}

// Random sequences of requests (with repeats), holds, releases, batches, reports (good and bad)
// and re-issues. After every command: the ledger balances; each payment is in at most one batch;
// per (claim, kind) at most one issue is settled and never more than the approved amount; no
// (claim, kind) is both settled and awaiting another issue. Folding the same commands into a
// fresh store publishes identical bytes.
TEST(DeskPropertyTest, LedgerBalancesAndNothingIsPaidTwiceAfterAnySequence) {
  std::map<std::string, int> seen_types;  // over all seeds: the sequences reach every path
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    DeskHarness desk;
    std::vector<ev::Envelope> commands;
    std::map<std::string, int64_t> approved;  // ClaimKey -> amount
    std::vector<std::string> batches;
    int enrollment = 0;
    for (int step = 0; step < 150; ++step) {
      const std::vector<api::Payment> payments = desk.Payments();
      auto any_payment = [&]() -> std::string {
        if (payments.empty() || pick(10) == 0) return "P-unknown";
        return payments[pick(payments.size())].payment_id();
      };
      const std::string id = "cmd-" + std::to_string(step);
      ev::Envelope c;
      switch (pick(7)) {
        case 0:
        case 1: {
          const std::string claim = "C-" + std::to_string(pick(12));
          const ev::PaymentKind kind = pick(2) == 0 ? ev::BENEFIT : ev::CONDOLENCE;
          const int64_t amount = 100 + static_cast<int64_t>(pick(5)) * 100;
          approved.emplace(ClaimKey(claim, kind), amount);
          c = Request(id, claim, "M" + std::to_string(pick(4)), kind,
                      approved.at(ClaimKey(claim, kind)));
          break;
        }
        case 2:
          c = Hold(id, any_payment());
          break;
        case 3:
          c = Release(id, any_payment());
          break;
        case 4:
          c = Batch(id);
          break;
        case 5: {
          std::vector<Tx> txs;
          const char* statuses[] = {"ACSC", "RJCT", "PDNG", "ACCC"};
          for (size_t n = pick(4); n > 0; --n) {
            txs.push_back({any_payment(), statuses[pick(4)], pick(8) == 0 ? 1 : 0});
          }
          const std::string batch =
              batches.empty() || pick(8) == 0 ? "B-unknown" : batches[pick(batches.size())];
          c = Report(id, "R-" + std::to_string(pick(20)), batch, txs);
          break;
        }
        default:
          c = Reissue(id, any_payment(), "E" + std::to_string(++enrollment));
          break;
      }
      if (pick(10) == 0 && !commands.empty()) c = commands[pick(commands.size())];  // repeat
      commands.push_back(c);
      const std::vector<ev::Envelope> out = desk.Fold(c);
      const std::string batch = BatchOf(out);
      if (!batch.empty()) batches.push_back(batch);
      if (pick(25) == 0) desk.Reopen();

      ASSERT_TRUE(desk.Ledger().balanced());
      std::map<std::string, int> settled;      // ClaimKey -> settled issues
      std::map<std::string, int> outstanding;  // ClaimKey -> issues not failed
      for (const api::Payment& p : desk.Payments()) {
        const std::string key = ClaimKey(p.claim_id(), p.kind());
        ASSERT_EQ(p.amount_fen(), approved.at(key));
        if (p.status() == api::SETTLED) ++settled[key];
        if (p.status() != api::FAILED) ++outstanding[key];
        ASSERT_EQ(p.batch_id().empty(), p.status() == api::INSTRUCTED || p.status() == api::HELD);
      }
      for (const auto& [key, n] : settled) ASSERT_EQ(n, 1) << key;
      for (const auto& [key, n] : outstanding) ASSERT_LE(n, 1) << key;
    }
    // Every payment is in exactly the batch its PaymentBatched events name, once.
    std::set<std::string> batched;
    for (const ev::Envelope& e : desk.published()) {
      ++seen_types[e.type()];
      if (e.type() == kPaymentBatchedType) {
        ASSERT_TRUE(batched.insert(Payload<ev::PaymentBatched>(e).payment_id()).second);
      }
    }
    // The ledger re-derived from the published postings equals the desk's.
    std::map<std::string, int64_t> derived;
    for (const ev::Envelope& e : desk.published()) {
      google::protobuf::RepeatedPtrField<ev::LedgerPosting> postings;
      if (e.type() == kPaymentInstructedType)
        postings = Payload<ev::PaymentInstructed>(e).postings();
      if (e.type() == kPaymentBatchedType) postings = Payload<ev::PaymentBatched>(e).postings();
      if (e.type() == kPaymentSettledType) postings = Payload<ev::PaymentSettled>(e).postings();
      if (e.type() == kPaymentFailedType) postings = Payload<ev::PaymentFailed>(e).postings();
      for (const ev::LedgerPosting& p : postings) {
        derived[p.debit_account()] += p.amount_fen();
        derived[p.credit_account()] -= p.amount_fen();
      }
    }
    const api::LedgerBalance final_ledger = desk.Ledger();
    for (const api::AccountBalance& b : final_ledger.accounts()) {
      EXPECT_EQ(derived[b.account()], b.balance_fen()) << b.account();
    }
    // A replay into a fresh desk publishes the same bytes.
    DeskHarness replay;
    for (const ev::Envelope& c : commands) replay.Fold(c);
    ASSERT_EQ(replay.published().size(), desk.published().size());
    for (size_t i = 0; i < desk.published().size(); ++i) {
      ASSERT_EQ(replay.published()[i].SerializeAsString(), desk.published()[i].SerializeAsString());
    }
  }
  for (const char* type : {kPaymentInstructedType, kPaymentHeldType, kPaymentReleasedType,
                           kPaymentBatchedType, kBatchCreatedType, kPaymentSettledType,
                           kPaymentFailedType, kStatusReportAppliedType, kCommandRejectedType}) {
    EXPECT_GT(seen_types[type], 0) << type;
  }
}

}  // namespace
}  // namespace claims::payout
