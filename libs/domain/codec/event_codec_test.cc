#include "libs/domain/codec/event_codec.h"

#include <gtest/gtest.h>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/fold.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "tests/bench/history.h"

namespace claims::codec {
namespace {

namespace ev = ::mutualaid::events::v1;

ev::Envelope Input(const std::string& id, const std::string& type,
                   const google::protobuf::MessageLite& payload, const std::string& member) {
  ev::Envelope e = Wrap(type, payload);
  e.set_event_id(id);
  e.set_member_id(member);
  e.set_producer("intake");
  e.set_trace_id("t-" + id);
  return e;
}

ev::Envelope Enrollment() {
  ev::MemberEnrolled m;
  m.set_member_id("M1");
  m.set_gender(ev::FEMALE);
  m.set_birth_date("1990-05-12");
  m.set_occupation(ev::COURIER);
  m.set_plan_year(2024);
  m.set_start_date("2024-01-01");
  return Input("E1", kMemberEnrolled, m, "M1");
}

ev::ClaimSubmitted Claim() {
  ev::ClaimSubmitted c;
  c.set_claim_id("C1");
  c.set_member_id("M1");
  c.set_coverage(ev::ACCIDENTAL_INJURY);
  c.set_incident_date("2024-02-15");
  c.set_date("2024-02-20");
  c.set_amount_fen(60000);
  c.add_documents("MEDICAL_RECEIPTS");
  return c;
}

TEST(EventCodecTest, DecodesEveryInputType) {
  Result<domain::Input> enroll = DecodeInput(Enrollment());
  ASSERT_TRUE(enroll.ok()) << enroll.status().ToString();
  const auto& e = std::get<domain::EnrollInput>(*enroll);
  EXPECT_EQ(e.gender, domain::Gender::kFemale);
  EXPECT_EQ(e.occupation, domain::Occupation::kCourier);
  EXPECT_EQ(e.start_date.ToString(), "2024-01-01");

  Result<domain::Input> claim = DecodeInput(Input("E2", kClaimSubmitted, Claim(), "M1"));
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_EQ(std::get<domain::ClaimInput>(*claim).amount, 60000);
  EXPECT_FALSE(std::get<domain::ClaimInput>(*claim).child_birth_date.has_value());

  ev::ReviewRecorded r;
  r.set_claim_id("C1");
  r.set_member_id("M1");
  r.set_date("2024-03-01");
  r.set_action(ev::ReviewRecorded::DENY);
  Result<domain::Input> review = DecodeInput(Input("E3", kReviewRecorded, r, "M1"));
  ASSERT_TRUE(review.ok());
  EXPECT_EQ(std::get<domain::ReviewInput>(*review).action, domain::ReviewAction::kDeny);

  ev::ClaimAppealed a;
  a.set_claim_id("C1");
  a.set_member_id("M1");
  a.set_date("2024-03-05");
  ASSERT_TRUE(DecodeInput(Input("E4", kClaimAppealed, a, "M1")).ok());

  ev::MemberTerminated t;
  t.set_member_id("M1");
  t.set_date("2024-06-30");
  ASSERT_TRUE(DecodeInput(Input("E5", kMemberTerminated, t, "M1")).ok());
}

TEST(EventCodecTest, NamesEveryBadFieldAndChangesNothing) {
  ev::ClaimSubmitted c = Claim();
  c.set_incident_date("2024-02-30");
  c.set_coverage(ev::COVERAGE_UNSPECIFIED);
  c.set_child_birth_date("yesterday");
  Result<domain::Input> claim = DecodeInput(Input("E2", kClaimSubmitted, c, "M1"));
  ASSERT_FALSE(claim.ok());
  EXPECT_EQ(claim.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : claim.status().violations()) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"payload.coverage", "payload.incident_date",
                                              "payload.child_birth_date"}));
}

TEST(EventCodecTest, RefusesATamperedPayload) {
  ev::Envelope e = Input("E2", kClaimSubmitted, Claim(), "M1");
  e.mutable_payload()->back() ^= 1;
  Result<domain::Input> claim = DecodeInput(e);
  ASSERT_FALSE(claim.ok());
  EXPECT_EQ(claim.status().code(), StatusCode::kDataLoss);
}

TEST(EventCodecTest, RefusesUnknownTypesAndMismatchedMembers) {
  ev::Envelope e = Input("E2", "mutualaid.events.v1.Nonsense", Claim(), "M1");
  EXPECT_EQ(DecodeInput(e).status().code(), StatusCode::kInvalidArgument);
  ev::Envelope other = Input("E2", kClaimSubmitted, Claim(), "M2");
  EXPECT_EQ(DecodeInput(other).status().code(), StatusCode::kInvalidArgument);
}

TEST(EventCodecTest, OutputsAreByteIdenticalWhenRedone) {
  Result<domain::Plan> plan = LoadPlanFile(CLAIMS_PLAN_FILE);
  ASSERT_TRUE(plan.ok());
  const ev::Envelope enroll = Enrollment();
  const ev::Envelope claim = Input("E2", kClaimSubmitted, Claim(), "M1");
  std::string first;
  for (int run = 0; run < 2; ++run) {
    domain::Fold fold;
    fold.Apply(*DecodeInput(enroll), *plan);
    const domain::Output out = fold.Apply(*DecodeInput(claim), *plan);
    const ev::Envelope e = EncodeOutput(out, claim);
    EXPECT_EQ(e.event_id(), "E2/out");
    EXPECT_EQ(e.answers_event_id(), "E2");
    EXPECT_EQ(e.sequence(), 1u);
    EXPECT_EQ(e.type(), kClaimDecided);
    ev::ClaimDecided d;
    ASSERT_TRUE(d.ParseFromString(e.payload()));
    EXPECT_EQ(d.outcome(), ev::APPROVED);
    EXPECT_EQ(d.payable_fen(), 45000);
    EXPECT_EQ(d.plan_sha256(), plan->sha256);
    EXPECT_EQ(d.input_sha256(), claim.payload_sha256());
    std::string bytes;
    ASSERT_TRUE(e.SerializeToString(&bytes));
    if (run == 0) first = bytes;
    EXPECT_EQ(bytes, first);
  }
}

TEST(EventCodecTest, EncodedInputsDecodeToTheSameInputs) {
  bench::HistoryShape shape;
  shape.members = 300;
  shape.claims_per_thousand_member_years = 900;
  int n = 0;
  for (const domain::Input& in : bench::GenerateHistory(shape)) {
    const ev::Envelope e = EncodeInput(in, "E" + std::to_string(++n), "six-guarantees-v1");
    Result<domain::Input> back = DecodeInput(e);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_TRUE(*back == in) << n;
    EXPECT_EQ(e.member_id(), domain::MemberOf(in));
  }
  EXPECT_GT(n, 1000);
}

}  // namespace
}  // namespace claims::codec
