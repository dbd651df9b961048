#include "services/payout/instructor.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/payout/v1/commands.pb.h"
#include "services/payout/payout_ids.h"
#include "tests/support/temp_dir.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace api = ::mutualaid::payout::v1;

class InstructorHarness {
 public:
  InstructorHarness() {
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("instructor-test")).value());
    Reopen();
  }

  void Reopen() {
    fold_.reset();
    store_.reset();
    store::StoreOptions options;
    options.column_families = InstructorColumnFamilies();
    options.sync_writes = false;
    store_ = std::move(store::StateStore::Open(dir_->File("instructor"), options)).value();
    fold_ = std::make_unique<InstructorFold>(*store_, &duplicates_);
  }

  // As the processor folds a restore's record: nothing published.
  void FoldSilently(const ev::Envelope& decision) {
    bus::Message m;
    m.value = decision.SerializeAsString();
    store::WriteBatch batch;
    EXPECT_TRUE(fold_->ApplySilently(m, batch).ok());
    EXPECT_TRUE(fold_->Finish(batch).ok());
    EXPECT_TRUE(store_->Write(batch).ok());
  }

  double duplicates() const { return duplicates_.value(); }

  std::vector<ev::Envelope> Fold(const ev::Envelope& decision) {
    std::vector<ev::Envelope> out;
    Status s = fold_->ApplyDecision(decision, out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    store::WriteBatch batch;
    EXPECT_TRUE(fold_->Finish(batch).ok());
    EXPECT_TRUE(store_->Write(batch).ok());
    return out;
  }

 private:
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<InstructorFold> fold_;
  runtime::MetricsRegistry registry_;
  runtime::Counter& duplicates_ =
      (*registry_.AddCounter("duplicates_total", "Repeats dropped.", {"topic"}))->WithLabels({"d"});
};

ev::Envelope Decision(const std::string& claim, const std::string& member, uint64_t sequence,
                      ev::Outcome outcome, int64_t payable, int64_t condolence,
                      uint32_t revision = 1) {
  ev::ClaimDecided d;
  d.set_claim_id(claim);
  d.set_member_id(member);
  d.set_outcome(outcome);
  d.set_payable_fen(payable);
  d.set_condolence_fen(condolence);
  d.set_revision(revision);
  d.set_decided_on("2026-03-02");
  d.set_input_event_id("in-" + claim + "-" + std::to_string(revision));
  ev::Envelope e = codec::Wrap(codec::kClaimDecided, d);
  e.set_event_id("dec-" + claim + "-" + std::to_string(revision));
  e.set_member_id(member);
  e.set_sequence(sequence);
  e.set_trace_id("trace-" + claim);
  return e;
}

api::PaymentRequested Requested(const ev::Envelope& e) {
  api::PayoutCommand c;
  EXPECT_EQ(e.type(), kPayoutCommandType);
  EXPECT_TRUE(c.ParseFromString(e.payload()));
  return c.payment_requested();
}

TEST(InstructorTest, AnApprovalRequestsTheBenefitAndTheCondolence) {
  InstructorHarness instructor;
  const ev::Envelope d = Decision("C-1", "M1", 1, ev::APPROVED, 50000, 20000);
  std::vector<ev::Envelope> out = instructor.Fold(d);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Requested(out[0]).kind(), ev::BENEFIT);
  EXPECT_EQ(Requested(out[0]).amount_fen(), 50000);
  EXPECT_EQ(Requested(out[1]).kind(), ev::CONDOLENCE);
  EXPECT_EQ(Requested(out[1]).amount_fen(), 20000);
  EXPECT_EQ(Requested(out[0]).approving_input_event_id(), "in-C-1-1");
  EXPECT_EQ(out[0].event_id(), RequestCommandId(d.event_id(), ev::BENEFIT));
  EXPECT_EQ(out[0].answers_event_id(), d.event_id());
  EXPECT_EQ(out[0].answers_sha256(), d.payload_sha256());
  EXPECT_EQ(out[0].sequence(), 1u);
  EXPECT_EQ(out[1].sequence(), 2u);
  // No condolence: the benefit only.
  EXPECT_EQ(instructor.Fold(Decision("C-2", "M1", 2, ev::APPROVED, 100, 0)).size(), 1u);
}

TEST(InstructorTest, RedeliveredDecisionsRequestNothing) {
  InstructorHarness instructor;
  const ev::Envelope d = Decision("C-1", "M1", 1, ev::APPROVED, 50000, 0);
  EXPECT_EQ(instructor.Fold(d).size(), 1u);
  EXPECT_TRUE(instructor.Fold(d).empty());
  instructor.Reopen();  // the filter's memory is in the store
  EXPECT_TRUE(instructor.Fold(d).empty());
  EXPECT_EQ(instructor.Fold(Decision("C-2", "M1", 2, ev::APPROVED, 10, 0)).size(), 1u);
  EXPECT_EQ(instructor.duplicates(), 2);
  // A restore's silent fold drops repeats too, but they were counted when they were live.
  instructor.FoldSilently(d);
  EXPECT_EQ(instructor.duplicates(), 2);
}

TEST(InstructorTest, DeniedAndReferredPayNothingUntilAReviewApproves) {
  InstructorHarness instructor;
  EXPECT_TRUE(instructor.Fold(Decision("C-1", "M1", 1, ev::DENIED, 0, 0)).empty());
  EXPECT_TRUE(instructor.Fold(Decision("C-2", "M1", 2, ev::REFERRED, 90000, 0)).empty());
  std::vector<ev::Envelope> out =
      instructor.Fold(Decision("C-2", "M1", 3, ev::APPROVED, 90000, 0, /*revision=*/2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Requested(out[0]).claim_id(), "C-2");
  EXPECT_EQ(Requested(out[0]).decision_event_id(), "dec-C-2-2");
  ev::Envelope rejected = codec::Wrap(codec::kInputRejected, ev::InputRejected());
  rejected.set_member_id("M1");
  rejected.set_sequence(4);
  EXPECT_TRUE(instructor.Fold(rejected).empty());
}

TEST(InstructorTest, AReplayPublishesIdenticalBytes) {
  std::vector<ev::Envelope> decisions;
  for (int i = 0; i < 20; ++i) {
    decisions.push_back(Decision("C-" + std::to_string(i), "M" + std::to_string(i % 3),
                                 static_cast<uint64_t>(i / 3 + 1), ev::APPROVED, 100 + i, i % 2));
  }
  InstructorHarness first, second;
  std::vector<std::string> a, b;
  for (const ev::Envelope& d : decisions) {
    for (const ev::Envelope& e : first.Fold(d)) a.push_back(e.SerializeAsString());
    for (const ev::Envelope& e : second.Fold(d)) b.push_back(e.SerializeAsString());
  }
  EXPECT_EQ(a.size(), 30u);
  EXPECT_EQ(a, b);
}

TEST(InstructorTest, ADecisionWhosePayloadDoesNotMatchItsHashPaysNothing) {
  InstructorHarness instructor;
  ev::Envelope d = Decision("C-1", "M1", 1, ev::APPROVED, 50000, 0);
  d.set_payload_sha256(std::string(32, 'x'));
  EXPECT_TRUE(instructor.Fold(d).empty());
}

}  // namespace
}  // namespace claims::payout
