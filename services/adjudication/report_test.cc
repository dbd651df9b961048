// The report's reading of adjudication's own state, over RocksDB on disk and the real fold: the
// members of the partitions the processor holds (Kafka's murmur2 partition of each member id),
// the appeals model read from the fold's outputs, exact figures for a small year, stale states
// of partitions no longer held left out, bad requests named field by field, and UNAVAILABLE
// while the report cannot be exact.

#include "services/adjudication/report.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libs/domain/codec/event_codec.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/plans.h"
#include "services/adjudication/report_appeals.h"
#include "services/adjudication/report_partitions.h"
#include "tests/support/temp_dir.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;
using domain::Coverage;
using domain::Occupation;

constexpr int32_t kPartitions = 4;

Date D(const char* text) { return *Date::Parse(text); }

TEST(KafkaPartitionOfTest, IsKafkasMurmur2OfTheKeyMaskedModuloTheCount) {
  // murmur2 of these keys (Kafka's own test vectors, org.apache.kafka.common.utils.UtilsTest).
  const std::map<std::string, int32_t> murmur2 = {{"21", -973932308},
                                                  {"foobar", -790332482},
                                                  {"a-little-bit-long-string", -985981536},
                                                  {"a-little-bit-longer-string", -1486304829},
                                                  {"abc", 479470107}};
  for (const auto& [key, hash] : murmur2) {
    const uint32_t positive = static_cast<uint32_t>(hash) & 0x7fffffff;
    EXPECT_EQ(KafkaPartitionOf(key, 12), static_cast<int32_t>(positive % 12)) << key;
    EXPECT_EQ(KafkaPartitionOf(key, 0x7ffffffe), static_cast<int32_t>(positive % 0x7ffffffe))
        << key;
  }
  EXPECT_EQ(KafkaPartitionOf("anything", 1), 0);
}

class NoopFold : public processor::PartitionFold {
 public:
  Status Apply(const bus::Message&, store::WriteBatch&,
               std::vector<bus::OutgoingMessage>&) override {
    return Status::Ok();
  }
};

TEST(HeldPartitionsTest, APartitionIsHeldWhileAFoldOfItIsOpen) {
  Result<test_support::TempDir> dir = test_support::TempDir::Create("report-held");
  ASSERT_TRUE(dir.ok());
  Result<std::unique_ptr<store::StateStore>> store =
      store::StateStore::Open(dir->File("data"), store::StoreOptions{});
  ASSERT_TRUE(store.ok());
  HeldPartitions held;
  processor::FoldFactory factory =
      held.Track([](int32_t partition,
                    store::StateStore&) -> Result<std::unique_ptr<processor::PartitionFold>> {
        if (partition == 9) return Unavailable("cannot open");
        return std::unique_ptr<processor::PartitionFold>(new NoopFold());
      });
  EXPECT_TRUE(held.Get().partitions.empty());
  auto three = factory(3, **store);
  auto five = factory(5, **store);
  ASSERT_TRUE(three.ok() && five.ok());
  EXPECT_FALSE(factory(9, **store).ok());  // a fold that failed to open holds nothing
  HeldPartitions::Snapshot both = held.Get();
  EXPECT_EQ(both.partitions, (std::vector<int32_t>{3, 5}));
  {
    auto again = factory(3, **store);  // a restore opens the next fold before the last goes
    ASSERT_TRUE(again.ok());
  }
  EXPECT_EQ(held.Get().partitions, (std::vector<int32_t>{3, 5}));
  three->reset();  // revoked
  HeldPartitions::Snapshot one = held.Get();
  EXPECT_EQ(one.partitions, (std::vector<int32_t>{5}));
  EXPECT_NE(one.version, both.version);
  // The tracked fold is the inner fold for everything else.
  store::WriteBatch batch;
  std::vector<bus::OutgoingMessage> outputs;
  EXPECT_TRUE((*five)->Apply(bus::Message{}, batch, outputs).ok());
  EXPECT_TRUE((*five)->ApplySilently(bus::Message{}, batch).ok());
  EXPECT_TRUE((*five)->Finish(batch).ok());
}

ev::Envelope InputEnvelope(const domain::Input& input, const std::string& event_id) {
  return codec::EncodeInput(input, event_id, "six-guarantees-v1");
}

TEST(AppealOfTest, RecordsAcceptedAndRejectedAppealsOnly) {
  domain::Decision appeal;
  appeal.claim = "C1";
  appeal.member = "M1";
  appeal.cause = domain::DecisionCause::kAppeal;
  appeal.outcome = domain::Outcome::kReferred;
  appeal.decided_on = D("2024-05-20");
  const ev::Envelope appeal_input =
      InputEnvelope(domain::AppealInput{"C1", "M1", D("2024-05-20")}, "in-appeal");
  std::optional<AppealRecord> accepted =
      AppealOf(codec::EncodeOutput({appeal, 2}, appeal_input).SerializeAsString());
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, (AppealRecord{"M1", "C1", D("2024-05-20"), true}));

  domain::InputRejection late;
  late.member = "M1";
  late.claim = "C1";
  late.code = domain::Rejection::kAppealLate;
  std::optional<AppealRecord> rejected =
      AppealOf(codec::EncodeOutput({late, 3}, appeal_input).SerializeAsString());
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(*rejected, (AppealRecord{"M1", "C1", D("2024-05-20"), false}));

  // Not appeals: a malformed appeal, a review's rejection, a decision on submission, junk.
  domain::InputRejection malformed = late;
  malformed.code = domain::Rejection::kMalformedInput;
  EXPECT_FALSE(AppealOf(codec::EncodeOutput({malformed, 3}, appeal_input).SerializeAsString()));
  const ev::Envelope review_input = InputEnvelope(
      domain::ReviewInput{"C1", "M1", D("2024-05-21"), domain::ReviewAction::kDeny}, "in-review");
  domain::InputRejection review = late;
  review.code = domain::Rejection::kReviewOfClaimNotReferred;
  EXPECT_FALSE(AppealOf(codec::EncodeOutput({review, 4}, review_input).SerializeAsString()));
  domain::Decision submitted = appeal;
  submitted.cause = domain::DecisionCause::kClaim;
  EXPECT_FALSE(AppealOf(codec::EncodeOutput({submitted, 1}, appeal_input).SerializeAsString()));
  EXPECT_FALSE(AppealOf("not an envelope"));
}

// One replica: the real fold over a store on disk, a fold per partition opened through
// HeldPartitions as the processor opens them, and the appeals model fed with the fold's outputs.
class Replica {
 public:
  void SetUp(const std::string& dir, const PlanRegistry& plans) {
    store::StoreOptions options;
    options.column_families = AdjudicationColumnFamilies();
    for (const std::string& cf : ReportColumnFamilies()) options.column_families.push_back(cf);
    Result<std::unique_ptr<store::StateStore>> opened = store::StateStore::Open(dir, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    appeals_ = std::make_unique<AppealsModel>(*store_);
    handler_ = std::make_unique<ReportHandler>(
        ReportSources{*store_, held_, *appeals_, partitions_, clock_});
    factory_ = held_.Track(AdjudicationFoldFactory(plans));
  }

  // Folds one input into its member's partition, then stages the appeal its output records
  // unless `skip_appeals` (a model that lags).
  void Fold(const domain::Input& input, bool skip_appeals = false) {
    const ev::Envelope e = InputEnvelope(input, "in-" + std::to_string(++events_));
    const int32_t partition = KafkaPartitionOf(e.member_id(), kPartitions);
    auto& fold = folds_[partition];
    if (fold == nullptr) {
      Result<std::unique_ptr<processor::PartitionFold>> opened = factory_(partition, *store_);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      fold = std::move(opened).value();
    }
    bus::Message m;
    m.topic = kInputTopic;
    m.partition = partition;
    m.offset = next_[partition]++;
    m.has_key = true;
    m.key = e.member_id();
    m.value = e.SerializeAsString();
    store::WriteBatch batch;
    std::vector<bus::OutgoingMessage> outputs;
    ASSERT_TRUE(fold->Apply(m, batch, outputs).ok());
    ASSERT_TRUE(fold->Finish(batch).ok());
    batch.SetOffset(kInputTopic, partition, next_[partition]);
    ASSERT_TRUE(store_->Write(batch).ok());
    if (skip_appeals) return;
    store::WriteBatch appeals;
    for (const bus::OutgoingMessage& out : outputs) {
      bus::Message decision;
      decision.topic = kDecisionsTopic;
      decision.value = out.value;
      AppealFollower::Stage(decision, appeals);
    }
    ASSERT_TRUE(store_->Write(appeals).ok());
  }

  // The processor drops the partition's fold (revocation); its states stay in the store.
  void Revoke(int32_t partition) { folds_.erase(partition); }

  ReportHandler& handler() { return *handler_; }
  std::atomic<int32_t>& partitions() { return partitions_; }
  int64_t next_offset(int32_t partition) { return next_[partition]; }

 private:
  std::unique_ptr<store::StateStore> store_;
  HeldPartitions held_;
  std::unique_ptr<AppealsModel> appeals_;
  std::atomic<int32_t> partitions_{kPartitions};
  runtime::FixedBusinessClock clock_{D("2024-04-10")};
  std::unique_ptr<ReportHandler> handler_;
  processor::FoldFactory factory_;
  std::map<int32_t, std::unique_ptr<processor::PartitionFold>> folds_;
  std::map<int32_t, int64_t> next_;
  int events_ = 0;
};

// A member id of `partition`.
std::string MemberOf(int32_t partition) {
  for (int i = 0;; ++i) {
    const std::string id = "member-" + std::to_string(i);
    if (KafkaPartitionOf(id, kPartitions) == partition) return id;
  }
}

class ReportHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<PlanRegistry> plans = PlanRegistry::Load(CLAIMS_PLANS_DIR, "six-guarantees-v1");
    ASSERT_TRUE(plans.ok()) << plans.status().ToString();
    plans_.emplace(std::move(plans).value());
    Result<test_support::TempDir> dir = test_support::TempDir::Create("report-handler");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    replica_.SetUp(dir_->File("data"), *plans_);
  }

  domain::EnrollInput Enroll(const std::string& member, domain::Gender gender,
                             Occupation occupation, int year) {
    return {member, gender, D("1990-05-12"), occupation, year, Date::FromCivil(year, 1, 1)};
  }
  domain::ClaimInput Claim(const std::string& id, const std::string& member, Coverage coverage,
                           const char* incident, const char* date, Fen amount,
                           std::vector<std::string> documents) {
    domain::ClaimInput c;
    c.claim = id;
    c.member = member;
    c.coverage = coverage;
    c.incident_date = D(incident);
    c.date = D(date);
    c.amount = amount;
    c.documents = std::move(documents);
    if (coverage == Coverage::kFemaleSpecificDisease) c.condition_code = "FD01";
    return c;
  }

  // A small year over three partitions: m1 (renewal, courier) is approved with a condolence
  // and appeals that approval (rejected); m2 (new, truck driver) is referred, then denied by a
  // review; m3 (new, OTHER) is denied in her waiting period and appeals (accepted,
  // REFERRED since 2024-03-01). m1 also has a 2023 claim, outside the year.
  void FoldYear(bool skip_appeals = false) {
    replica_.Fold(Enroll(m1_, domain::Gender::kFemale, Occupation::kCourier, 2023));
    replica_.Fold(Claim("C4", m1_, Coverage::kAccidentalInjury, "2023-06-01", "2023-06-10", 50000,
                        {"MEDICAL_RECEIPTS"}));
    replica_.Fold(Enroll(m1_, domain::Gender::kFemale, Occupation::kCourier, 2024));
    replica_.Fold(Enroll(m2_, domain::Gender::kMale, Occupation::kTruckDriver, 2024));
    replica_.Fold(Enroll(m3_, domain::Gender::kFemale, Occupation::kOther, 2024));
    replica_.Fold(Claim("C1", m1_, Coverage::kAccidentalInjury, "2024-03-10", "2024-03-20", 400000,
                        {"MEDICAL_RECEIPTS"}));
    replica_.Fold(
        Claim("C2", m2_, Coverage::kAccidentalInjury, "2024-03-12", "2024-03-22", 100000, {}));
    replica_.Fold(Claim("C3", m3_, Coverage::kFemaleSpecificDisease, "2024-02-01", "2024-02-10", 0,
                        {"DIAGNOSIS_REPORT"}));
    replica_.Fold(domain::AppealInput{"C3", m3_, D("2024-03-01")}, skip_appeals);
    replica_.Fold(domain::AppealInput{"C1", m1_, D("2024-04-01")}, skip_appeals);
    replica_.Fold(domain::ReviewInput{"C2", m2_, D("2024-04-05"), domain::ReviewAction::kDeny});
  }

  report_api::GetPlanYearFiguresRequest Request(int year, const std::string& as_of = "") {
    report_api::GetPlanYearFiguresRequest r;
    r.set_plan_year(year);
    r.set_as_of(as_of);
    return r;
  }

  std::optional<PlanRegistry> plans_;
  std::optional<test_support::TempDir> dir_;
  Replica replica_;
  const std::string m1_ = MemberOf(0), m2_ = MemberOf(1), m3_ = MemberOf(2);
};

TEST_F(ReportHandlerTest, FiguresOfASmallYearAreExact) {
  FoldYear();
  Result<report_api::GetPlanYearFiguresResponse> r =
      replica_.handler().Figures(Request(2024, "2024-04-30"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan_year(), 2024);
  EXPECT_EQ(r->as_of(), "2024-04-30");
  EXPECT_EQ(r->partition_count(), kPartitions);
  ASSERT_EQ(r->partitions_size(), 3);  // partition 3 has no member: its fold never opened
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r->partitions(i).partition(), i);
    EXPECT_EQ(r->partitions(i).next_offset(), replica_.next_offset(i));
    EXPECT_EQ(r->partitions(i).next_offset_at_end(), replica_.next_offset(i));
  }
  EXPECT_EQ(r->members_enrolled(), 3);
  EXPECT_EQ(r->members_renewal(), 1);
  ASSERT_EQ(r->members_by_occupation_size(), 3);
  EXPECT_EQ(r->members_by_occupation(0).occupation(), ev::COURIER);
  EXPECT_EQ(r->members_by_occupation(1).occupation(), ev::TRUCK_DRIVER);
  EXPECT_EQ(r->members_by_occupation(2).occupation(), ev::OTHER);
  std::map<std::string, int64_t> claims;
  for (const report_api::ClaimCount& c : r->claims()) {
    claims[ev::Coverage_Name(c.coverage()) + "/" + ev::Outcome_Name(c.outcome())] = c.claims();
  }
  EXPECT_EQ(claims, (std::map<std::string, int64_t>{{"FEMALE_SPECIFIC_DISEASE/REFERRED", 1},
                                                    {"ACCIDENTAL_INJURY/APPROVED", 1},
                                                    {"ACCIDENTAL_INJURY/DENIED", 1}}));
  EXPECT_EQ(r->approved_fen(), 351000);  // floor((400,000 - 10,000) * 90 / 100)
  EXPECT_EQ(r->condolence_count(), 1);
  EXPECT_EQ(r->condolence_fen(), 50000);
  EXPECT_EQ(r->appeals_received(), 2);  // C3's (accepted, still REFERRED) and C1's (rejected)
  EXPECT_EQ(r->appeals_closed(), 1);
  EXPECT_EQ(r->referrals_open(), 1);
  EXPECT_EQ(r->oldest_referred_on(), "2024-03-01");  // the appeal's date, not the claim's
  EXPECT_EQ(r->oldest_referral_age_days(), 60);

  // 2023: m1's first year; as of the business date by default.
  Result<report_api::GetPlanYearFiguresResponse> y2023 = replica_.handler().Figures(Request(2023));
  ASSERT_TRUE(y2023.ok()) << y2023.status().ToString();
  EXPECT_EQ(y2023->as_of(), "2024-04-10");
  EXPECT_EQ(y2023->members_enrolled(), 1);
  EXPECT_EQ(y2023->members_renewal(), 0);
  EXPECT_EQ(y2023->approved_fen(), 36000);
  EXPECT_EQ(y2023->appeals_received(), 0);
  EXPECT_EQ(y2023->referrals_open(), 0);
  EXPECT_EQ(y2023->oldest_referred_on(), "");
}

TEST_F(ReportHandlerTest, StatesOfAPartitionNoLongerHeldAreLeftOut) {
  FoldYear();
  replica_.Revoke(2);  // m3's partition went to another replica; her state stays in the store
  Result<report_api::GetPlanYearFiguresResponse> r =
      replica_.handler().Figures(Request(2024, "2024-04-30"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->partitions_size(), 2);
  EXPECT_EQ(r->partitions(1).partition(), 1);
  EXPECT_EQ(r->members_enrolled(), 2);
  EXPECT_EQ(r->appeals_received(), 1);  // C1's rejected appeal only
  EXPECT_EQ(r->appeals_closed(), 1);
  EXPECT_EQ(r->referrals_open(), 0);
  EXPECT_EQ(r->oldest_referred_on(), "");
}

TEST_F(ReportHandlerTest, UnavailableWhileTheReportCannotBeExact) {
  FoldYear(/*skip_appeals=*/true);
  Result<report_api::GetPlanYearFiguresResponse> r = replica_.handler().Figures(Request(2024));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("the appeal of claim C3 is not yet read"), std::string::npos)
      << r.status().ToString();
  replica_.partitions() = 0;
  r = replica_.handler().Figures(Request(2024));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("partition count"), std::string::npos);
}

TEST_F(ReportHandlerTest, BadRequestsNameEveryField) {
  Result<report_api::GetPlanYearFiguresResponse> r =
      replica_.handler().Figures(Request(1999, "2024-13-01"));
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(r.status().violations().size(), 2u);
  EXPECT_EQ(r.status().violations()[0].field, "plan_year");
  EXPECT_EQ(r.status().violations()[1].field, "as_of");

  report_api::SumPaidClaimsRequest paid;
  paid.set_plan_year(2024);
  paid.add_claims()->set_claim_id("C1");
  report_api::PaidClaim* negative = paid.add_claims();
  negative->set_claim_id("C2");
  negative->set_member_id(m2_);
  negative->set_benefit_fen(-1);
  Result<report_api::SumPaidClaimsResponse> s = replica_.handler().SumPaid(paid);
  ASSERT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(s.status().violations().size(), 2u);
  EXPECT_EQ(s.status().violations()[0].field, "claims[0].member_id");
  EXPECT_EQ(s.status().violations()[1].field, "claims[1].benefit_fen");
}

TEST_F(ReportHandlerTest, SumsThePaidMoneyOfTheYearsClaimsOfHeldMembers) {
  FoldYear();
  auto claim = [](const std::string& id, const std::string& member, Fen benefit, Fen condolence) {
    report_api::PaidClaim c;
    c.set_claim_id(id);
    c.set_member_id(member);
    c.set_benefit_fen(benefit);
    c.set_condolence_fen(condolence);
    return c;
  };
  report_api::SumPaidClaimsRequest request;
  request.set_plan_year(2024);
  *request.add_claims() = claim("C1", m1_, 351000, 50000);
  *request.add_claims() = claim("C4", m1_, 36000, 0);         // a 2023 claim
  *request.add_claims() = claim("C9", MemberOf(3), 1000, 0);  // partition 3: not held
  Result<report_api::SumPaidClaimsResponse> r = replica_.handler().SumPaid(request);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->claims_matched(), 1);
  EXPECT_EQ(r->benefit_fen(), 351000);
  EXPECT_EQ(r->condolence_fen(), 50000);
  EXPECT_EQ(r->partition_count(), kPartitions);
  EXPECT_EQ(std::vector<int32_t>(r->partitions().begin(), r->partitions().end()),
            (std::vector<int32_t>{0, 1, 2}));
  // A paid claim a held member's state does not know (yet): UNAVAILABLE, retry.
  *request.add_claims() = claim("C7", m2_, 1000, 0);
  r = replica_.handler().SumPaid(request);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("claim C7"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace claims::adjudication
