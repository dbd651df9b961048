// The review API as reviewers use it: the adjudication binary around the dev broker, a claim
// REFERRED by the engine, listed in the queue, approved over gRPC as the calling reviewer, the
// review recorded in intake.events.v1 and the resulting decision answered; the roles and the
// field-level errors at the wire.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"
#include "mutualaid/adjudication/v1/review.grpc.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace api = ::mutualaid::adjudication::v1;
namespace ev = ::mutualaid::events::v1;

constexpr char kInput[] = "intake.events.v1";
constexpr char kPlanId[] = "six-guarantees-v1";
constexpr char kMember[] = "member-0001";
constexpr char kClaim[] = "C-REVIEW-1";

std::vector<std::string> Fields(const grpc::Status& status) {
  std::vector<std::string> out;
  const Status ours = rpc::FromGrpc(status);
  for (const FieldViolation& v : ours.violations()) out.push_back(v.field);
  return out;
}

class ReviewE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(test_support::DevBroker::Start()).value();
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("review-e2e")).value());
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
  }

  test_support::ChildProcess StartAdjudication() {
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File("adjudication.out");
    spawn.stderr_path = dir_->File("adjudication.log");
    auto child = test_support::ChildProcess::Spawn(
        {CLAIMS_ADJUDICATION_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(),
         "--plans-dir", CLAIMS_PLANS_DIR, "--data-dir", dir_->File("data"), "--listen",
         "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--insecure-dev", "--session-timeout",
         "6s", "--business-date", "2024-06-01"},
        spawn);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    const std::string port = test_support::WaitForValue(spawn.stdout_path, "grpc-port");
    EXPECT_FALSE(port.empty()) << "adjudication did not start";
    stub_ = api::ReviewService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
    return std::move(child).value();
  }

  // An enrolled member and an ACCIDENTAL_INJURY claim without MEDICAL_RECEIPTS, which the engine
  // refers to review.
  void PublishReferredClaim() {
    domain::EnrollInput enroll;
    enroll.member = kMember;
    enroll.gender = domain::Gender::kFemale;
    enroll.birth_date = *Date::Parse("1990-05-12");
    enroll.occupation = domain::Occupation::kCourier;
    enroll.plan_year = 2024;
    enroll.start_date = *Date::Parse("2024-01-01");
    domain::ClaimInput claim;
    claim.claim = kClaim;
    claim.member = kMember;
    claim.coverage = domain::Coverage::kAccidentalInjury;
    claim.incident_date = *Date::Parse("2024-03-10");
    claim.date = *Date::Parse("2024-03-15");
    claim.amount = 210000;
    std::vector<bus::OutgoingMessage> batch;
    for (const ev::Envelope& e :
         {codec::EncodeInput(enroll, "E1", kPlanId), codec::EncodeInput(claim, "E2", kPlanId)}) {
      bus::OutgoingMessage m;
      m.topic = kInput;
      m.key = e.member_id();
      m.value = e.SerializeAsString();
      batch.push_back(std::move(m));
    }
    for (const bus::Delivery& d : producer_->ProduceAll(batch, 30s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& principal,
                                          std::chrono::seconds deadline = 20s) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!principal.empty()) context->AddMetadata(rpc::kPrincipalHeader, principal);
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    return context;
  }

  // The REFERRED claims, once the queue shows at least one (bounded wait).
  api::ListReferredResponse WaitForReferred() {
    api::ListReferredResponse response;
    const auto until = std::chrono::steady_clock::now() + 30s;
    for (int i = 0; i < 300 && std::chrono::steady_clock::now() < until; ++i) {
      response.Clear();
      grpc::Status s = stub_->ListReferred(As("reviewer:alice").get(), {}, &response);
      if (s.ok() && response.decisions_size() > 0) break;
      std::this_thread::sleep_for(100ms);
    }
    return response;
  }

  // The ReviewRecorded events of intake.events.v1 (bounded wait for at least one).
  std::vector<ev::ReviewRecorded> ReviewEvents() {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    std::vector<bus::TopicPartitionOffset> all;
    for (int p = 0; p < 12; ++p) all.push_back({kInput, p, bus::Consumer::kBeginning});
    EXPECT_TRUE(consumer->Assign(all).ok());
    std::vector<ev::ReviewRecorded> out;
    for (int polls = 0; polls < 100; ++polls) {
      Result<std::vector<bus::ConsumerEvent>> events = consumer->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        ev::Envelope envelope;
        if (!envelope.ParseFromString(e.message.value)) continue;
        if (envelope.type() != codec::kReviewRecorded) continue;
        ev::ReviewRecorded review;
        EXPECT_TRUE(review.ParseFromString(envelope.payload()));
        EXPECT_EQ(envelope.event_id(), "review-" + std::string(kClaim) + "-r1");
        EXPECT_EQ(e.message.key, kMember);
        out.push_back(review);
      }
      if (!out.empty() && polls > 10) break;
    }
    return out;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<api::ReviewService::Stub> stub_;
};

TEST_F(ReviewE2eTest, AReviewerApprovesAReferredClaimAndGetsTheResultingDecision) {
  test_support::ChildProcess adjudication = StartAdjudication();
  PublishReferredClaim();
  const api::ListReferredResponse queue = WaitForReferred();
  ASSERT_EQ(queue.decisions_size(), 1) << "the claim never showed in the queue";
  const api::Decision& referred = queue.decisions(0);
  EXPECT_EQ(referred.claim_id(), kClaim);
  EXPECT_EQ(referred.outcome(), ev::REFERRED);
  EXPECT_EQ(referred.revision(), 1u);
  EXPECT_EQ(referred.member_id(), kMember);
  EXPECT_EQ(referred.coverage(), ev::ACCIDENTAL_INJURY);
  EXPECT_EQ(referred.plan_id(), kPlanId);
  EXPECT_EQ(referred.decided_on(), "2024-03-15");
  EXPECT_GT(referred.payable_fen(), 0);
  EXPECT_GT(referred.trace_size(), 0);
  bool missing_documents = false;
  for (int r : referred.reasons()) missing_documents |= r == ev::MISSING_DOCUMENTS;
  EXPECT_TRUE(missing_documents);

  // Auditors read the queue too; filters apply.
  api::ListReferredRequest other_coverage;
  other_coverage.set_coverage(ev::CRITICAL_ILLNESS);
  api::ListReferredResponse none;
  ASSERT_TRUE(stub_->ListReferred(As("auditor:audit1").get(), other_coverage, &none).ok());
  EXPECT_EQ(none.decisions_size(), 0);

  api::ReviewClaimRequest approve;
  approve.set_claim_id(kClaim);
  approve.set_action(api::APPROVE);
  approve.set_note("receipts seen at the branch");
  api::ReviewClaimResponse reviewed;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub_->ReviewClaim(As("reviewer:alice").get(), approve, &reviewed);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  RecordProperty("review_call_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count()));
  EXPECT_EQ(reviewed.decision().outcome(), ev::APPROVED);
  EXPECT_EQ(reviewed.decision().revision(), 2u);
  EXPECT_EQ(reviewed.decision().payable_fen(), referred.payable_fen()) << "the reserved payable";
  EXPECT_EQ(reviewed.decision().cause_type(), "review");
  EXPECT_EQ(reviewed.review_event_id(), "review-" + std::string(kClaim) + "-r1");
  EXPECT_EQ(reviewed.decision().input_event_id(), reviewed.review_event_id());

  const std::vector<ev::ReviewRecorded> reviews = ReviewEvents();
  ASSERT_EQ(reviews.size(), 1u);
  EXPECT_EQ(reviews[0].reviewer_id(), "alice");
  EXPECT_EQ(reviews[0].claim_id(), kClaim);
  EXPECT_EQ(reviews[0].member_id(), kMember);
  EXPECT_EQ(reviews[0].date(), "2024-06-01");
  EXPECT_EQ(reviews[0].action(), ev::ReviewRecorded::APPROVE);
  EXPECT_EQ(reviews[0].plan_id(), kPlanId);
  EXPECT_EQ(reviews[0].note(), "receipts seen at the branch");

  // The queue is empty now, and the claim cannot be reviewed again.
  api::ListReferredResponse after;
  ASSERT_TRUE(stub_->ListReferred(As("reviewer:alice").get(), {}, &after).ok());
  EXPECT_EQ(after.decisions_size(), 0);
  api::ReviewClaimResponse again;
  EXPECT_EQ(stub_->ReviewClaim(As("reviewer:bob").get(), approve, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  api::GetDecisionRequest get;
  get.set_claim_id(kClaim);
  api::Decision current;
  ASSERT_TRUE(stub_->GetDecision(As("auditor:audit1").get(), get, &current).ok());
  EXPECT_EQ(current.SerializeAsString(), reviewed.decision().SerializeAsString());
  EXPECT_EQ(ReviewEvents().size(), 1u) << "a refused review records nothing";

  EXPECT_EQ(*adjudication.Stop(15s), 0);
}

TEST_F(ReviewE2eTest, RefusesCallersWithoutTheRoleAndBadInputNamingTheFields) {
  test_support::ChildProcess adjudication = StartAdjudication();
  api::ReviewClaimRequest approve;
  approve.set_claim_id(kClaim);
  approve.set_action(api::APPROVE);
  api::ReviewClaimResponse response;
  EXPECT_EQ(stub_->ReviewClaim(As("partner:P1").get(), approve, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->ReviewClaim(As("auditor:audit1").get(), approve, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "auditors change nothing";
  EXPECT_EQ(stub_->ReviewClaim(As("").get(), approve, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  api::ListReferredResponse list;
  EXPECT_EQ(stub_->ListReferred(As("partner:P1").get(), {}, &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->ListReferred(As("").get(), {}, &list).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  api::ReviewClaimRequest bad;
  bad.set_note(std::string(501, 'x'));
  grpc::Status s = stub_->ReviewClaim(As("reviewer:alice").get(), bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(s), (std::vector<std::string>{"claim_id", "action", "note"}));
  api::ReviewClaimRequest gb18030 = approve;
  gb18030.set_note("\xc5\xfa\xd7\xbc");  // 批准 in GB18030: not UTF-8
  s = stub_->ReviewClaim(As("reviewer:alice").get(), gb18030, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(Fields(s), std::vector<std::string>{"note"});
  // A caller the method does not admit learns nothing of its request's content.
  s = stub_->ReviewClaim(As("auditor:audit1").get(), gb18030, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = stub_->ReviewClaim(As("").get(), gb18030, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  api::ListReferredRequest bad_list;
  bad_list.set_page_size(-1);
  bad_list.set_page_token("not a token");
  s = stub_->ListReferred(As("reviewer:alice").get(), bad_list, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(s), (std::vector<std::string>{"page_size", "page_token"}));
  api::Decision decision;
  api::GetDecisionRequest unknown;
  unknown.set_claim_id("C-UNKNOWN");
  EXPECT_EQ(stub_->GetDecision(As("reviewer:alice").get(), unknown, &decision).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->ReviewClaim(As("reviewer:alice").get(), approve, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(*adjudication.Stop(15s), 0);
}

}  // namespace
}  // namespace claims
