// The review read model and the review logic over real RocksDB and the dev broker: decisions
// applied by revision, the queue's order, filters and pages, following the topic from stored
// offsets, and ReviewClaim's validation, preconditions, publishing and waiting.

#include "services/adjudication/review.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/review_model.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims::adjudication {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;

struct DecisionSpec {
  std::string claim = "";
  uint32_t revision = 1;
  ev::Outcome outcome = ev::REFERRED;
  std::string decided_on = "2024-03-01";
  ev::Coverage coverage = ev::ACCIDENTAL_INJURY;
  std::vector<ev::Reason> reasons = {ev::MISSING_DOCUMENTS};
  std::string input_event_id = "";
  std::string input_sha256 = "";
  int64_t payable_fen = 120000;
};

ev::Envelope DecisionEnvelope(const DecisionSpec& spec) {
  ev::ClaimDecided d;
  d.set_claim_id(spec.claim);
  d.set_member_id("M-" + spec.claim);
  d.set_coverage(spec.coverage);
  d.set_incident_date("2024-02-01");
  d.set_outcome(spec.outcome);
  d.set_payable_fen(spec.payable_fen);
  for (ev::Reason r : spec.reasons) d.add_reasons(r);
  d.add_trace("step of revision " + std::to_string(spec.revision));
  d.set_revision(spec.revision);
  d.set_decided_on(spec.decided_on);
  d.set_plan_id("six-guarantees-v1");
  d.set_plan_sha256("abc");
  const std::string input = spec.input_event_id.empty()
                                ? "in-" + spec.claim + "-" + std::to_string(spec.revision)
                                : spec.input_event_id;
  d.set_input_event_id(input);
  d.set_input_sha256(spec.input_sha256);
  d.set_cause_type(spec.revision == 1 ? "claim" : "review");
  ev::Envelope e = codec::Wrap(codec::kClaimDecided, d);
  e.set_event_id(input + "/out");
  e.set_member_id(d.member_id());
  e.set_trace_id("trace-" + spec.claim);
  e.set_producer("adjudication");
  return e;
}

ev::Envelope RejectionEnvelope(const std::string& input_event_id, const std::string& input_type,
                               const std::string& input_sha256) {
  ev::InputRejected r;
  r.set_member_id("M-x");
  r.set_input_event_id(input_event_id);
  r.set_input_sha256(input_sha256);
  r.set_input_type(input_type);
  r.set_code("REVIEW_OF_CLAIM_NOT_REFERRED");
  r.set_detail("claim C is not REFERRED");
  ev::Envelope e = codec::Wrap(codec::kInputRejected, r);
  e.set_event_id(input_event_id + "/out");
  return e;
}

bus::Message Record(const ev::Envelope& e, int64_t offset = 0) {
  bus::Message m;
  m.topic = kDecisionsTopic;
  m.offset = offset;
  m.has_key = true;
  m.key = e.member_id();
  m.value = e.SerializeAsString();
  return m;
}

std::vector<std::string> ClaimIds(const ReferredPage& page) {
  std::vector<std::string> out;
  for (const StoredDecision& d : page.decisions) out.push_back(d.decision.claim_id());
  return out;
}

class ReviewModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::DevBrokerOptions broker_options;
    broker_options.brokers = 1;
    broker_options.partitions = 3;
    broker_ = std::move(test_support::DevBroker::Start(broker_options)).value();
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("review-test")).value());
    OpenStore();
  }

  void OpenStore() {
    follower_.reset();
    consumer_.reset();
    model_.reset();
    store_.reset();
    store::StoreOptions options;
    options.column_families = ReviewColumnFamilies();
    store_ = std::move(store::StateStore::Open(dir_->File("data"), options)).value();
    model_ = std::make_unique<ReviewModel>(*store_);
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    consumer_ = std::move(bus::Consumer::Create(co)).value();
    follower_ = std::make_unique<DecisionFollower>(*store_, *consumer_, *model_, &duplicates_);
  }

  // Applies `envelopes` as one batch, as the follower's poll does.
  void Apply(const std::vector<ev::Envelope>& envelopes) {
    store::WriteBatch batch;
    for (const ev::Envelope& e : envelopes) ASSERT_TRUE(follower_->Apply(Record(e), batch).ok());
    ASSERT_TRUE(store_->Write(batch).ok());
    follower_->ClearPending();
    model_->NotifyChanged();
  }

  StoredDecision Current(const std::string& claim) {
    Result<std::optional<StoredDecision>> d = model_->Decision(claim);
    EXPECT_TRUE(d.ok() && d->has_value()) << claim;
    return d.ok() && d->has_value() ? **d : StoredDecision{};
  }

  ReferredPage List(const ReferredFilter& filter = {}, size_t page_size = 100,
                    const std::string& after = "") {
    Result<ReferredPage> page = model_->ListReferred(filter, page_size, after);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : ReferredPage{};
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<ReviewModel> model_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::unique_ptr<DecisionFollower> follower_;
  runtime::MetricsRegistry registry_;
  runtime::Counter& duplicates_ =
      (*registry_.AddCounter("duplicates_total", "Repeats dropped.", {"topic"}))->WithLabels({"d"});
};

TEST_F(ReviewModelTest, KeepsTheNewestRevisionAndIgnoresRepeatsAndOlderOnes) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  EXPECT_EQ(ClaimIds(List()), std::vector<std::string>{"C1"});

  // A re-published revision 1 (here with a different trace) changes nothing.
  ev::Envelope repeat = DecisionEnvelope({.claim = "C1"});
  repeat.set_trace_id("another");
  Apply({repeat});
  EXPECT_EQ(Current("C1").trace_id, "trace-C1");

  Apply({DecisionEnvelope({.claim = "C1", .revision = 2, .outcome = ev::APPROVED})});
  EXPECT_EQ(Current("C1").decision.revision(), 2u);
  EXPECT_EQ(Current("C1").decision.outcome(), ev::APPROVED);
  EXPECT_TRUE(List().decisions.empty()) << "no longer REFERRED, so out of the queue";

  // An older revision arriving late (a replay) does not bring it back.
  Apply({DecisionEnvelope({.claim = "C1"})});
  EXPECT_EQ(Current("C1").decision.revision(), 2u);
  EXPECT_TRUE(List().decisions.empty());
  EXPECT_EQ(follower_->skipped(), 0u);
  EXPECT_EQ(duplicates_.value(), 2) << "the repeat and the older revision";
}

TEST_F(ReviewModelTest, RecordsOfOneBatchSeeEachOther) {
  Apply({DecisionEnvelope({.claim = "C1"}),
         DecisionEnvelope({.claim = "C1", .revision = 2, .outcome = ev::DENIED}),
         DecisionEnvelope({.claim = "C2"})});
  EXPECT_EQ(Current("C1").decision.revision(), 2u);
  EXPECT_EQ(ClaimIds(List()), std::vector<std::string>{"C2"});
}

TEST_F(ReviewModelTest, SkipsWhatItCannotShowWithoutStopping) {
  store::WriteBatch batch;
  bus::Message junk;
  junk.topic = kDecisionsTopic;
  junk.value = "not an envelope";
  ASSERT_TRUE(follower_->Apply(junk, batch).ok());
  EXPECT_EQ(follower_->skipped(), 1u);
  // Rejections are kept only for review inputs.
  Apply({RejectionEnvelope("review-C9-r1", codec::kReviewRecorded, "sha"),
         RejectionEnvelope("in-9", codec::kClaimAppealed, "sha")});
  Result<std::optional<ev::InputRejected>> kept = model_->ReviewRejection("review-C9-r1");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->code(), "REVIEW_OF_CLAIM_NOT_REFERRED");
  EXPECT_FALSE(model_->ReviewRejection("in-9")->has_value());
}

TEST_F(ReviewModelTest, ListsReferredOldestFirstByDecisionDateThenClaimId) {
  Apply({DecisionEnvelope({.claim = "C3", .decided_on = "2024-03-02"}),
         DecisionEnvelope({.claim = "C2", .decided_on = "2024-03-01"}),
         DecisionEnvelope({.claim = "C1", .decided_on = "2024-03-02"}),
         DecisionEnvelope({.claim = "B9", .decided_on = "2024-02-28"}),
         DecisionEnvelope({.claim = "A0", .outcome = ev::APPROVED, .decided_on = "2024-01-01"})});
  EXPECT_EQ(ClaimIds(List()), (std::vector<std::string>{"B9", "C2", "C1", "C3"}));
}

TEST_F(ReviewModelTest, FiltersByCoverageAndByReason) {
  Apply(
      {DecisionEnvelope(
           {.claim = "C1", .coverage = ev::ACCIDENTAL_INJURY, .reasons = {ev::MISSING_DOCUMENTS}}),
       DecisionEnvelope({.claim = "C2",
                         .coverage = ev::CRITICAL_ILLNESS,
                         .reasons = {ev::HIGH_VALUE, ev::LIMIT_APPLIED}}),
       DecisionEnvelope(
           {.claim = "C3", .coverage = ev::ACCIDENTAL_INJURY, .reasons = {ev::HIGH_VALUE}})});
  EXPECT_EQ(ClaimIds(List({.coverage = ev::ACCIDENTAL_INJURY})),
            (std::vector<std::string>{"C1", "C3"}));
  EXPECT_EQ(ClaimIds(List({.reason = ev::HIGH_VALUE})), (std::vector<std::string>{"C2", "C3"}));
  EXPECT_EQ(ClaimIds(List({.coverage = ev::CRITICAL_ILLNESS, .reason = ev::LIMIT_APPLIED})),
            std::vector<std::string>{"C2"});
  EXPECT_TRUE(List({.coverage = ev::CHILD_ACCIDENT}).decisions.empty());
}

TEST_F(ReviewModelTest, PagesThroughTheQueueWithoutGapsOrRepeats) {
  std::vector<ev::Envelope> decisions;
  for (int i = 0; i < 7; ++i) {
    decisions.push_back(
        DecisionEnvelope({.claim = "C" + std::to_string(i),
                          .coverage = i % 2 ? ev::CRITICAL_ILLNESS : ev::ACCIDENTAL_INJURY}));
  }
  Apply(decisions);
  std::vector<std::string> seen;
  std::string after;
  std::vector<size_t> sizes;
  for (int pages = 0; pages < 10; ++pages) {
    ReferredPage page = List({}, 3, after);
    sizes.push_back(page.decisions.size());
    for (const std::string& id : ClaimIds(page)) seen.push_back(id);
    if (page.next_after.empty()) break;
    after = page.next_after;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(seen, (std::vector<std::string>{"C0", "C1", "C2", "C3", "C4", "C5", "C6"}));

  // With a filter matching exactly one page's worth, there is no empty page after it.
  ReferredPage odd = List({.coverage = ev::CRITICAL_ILLNESS}, 3);
  EXPECT_EQ(ClaimIds(odd), (std::vector<std::string>{"C1", "C3", "C5"}));
  EXPECT_TRUE(odd.next_after.empty());
}

TEST_F(ReviewModelTest, FollowsTheTopicAndResumesFromTheStoredOffsets) {
  bus::ProducerOptions po;
  po.bootstrap_servers = broker_->bootstrap_servers();
  auto producer = std::move(bus::Producer::Create(po)).value();
  auto publish = [&](const std::vector<ev::Envelope>& envelopes) {
    std::vector<bus::OutgoingMessage> out;
    for (const ev::Envelope& e : envelopes) out.push_back(DecisionRecord(e));
    for (const bus::Delivery& d : producer->ProduceAll(out, 10s)) ASSERT_TRUE(d.status.ok());
  };
  auto consume = [&](size_t want, std::chrono::milliseconds within) {
    size_t got = 0;
    const auto until = std::chrono::steady_clock::now() + within;
    for (int polls = 0; polls < 200 && std::chrono::steady_clock::now() < until; ++polls) {
      Result<size_t> n = follower_->PollOnce(50ms);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (n.ok()) got += *n;
      if (want > 0 && got >= want) break;
    }
    return got;
  };
  publish({DecisionEnvelope({.claim = "C1"}), DecisionEnvelope({.claim = "C2"}),
           DecisionEnvelope({.claim = "C3"})});
  ASSERT_TRUE(follower_->Start(10s).ok());
  const uint64_t before = model_->version();
  EXPECT_EQ(consume(3, 10s), 3u);
  EXPECT_GT(model_->version(), before) << "waiters are told";
  EXPECT_EQ(List().decisions.size(), 3u);

  OpenStore();  // a restart: the offsets come from the store
  ASSERT_TRUE(follower_->Start(10s).ok());
  EXPECT_EQ(consume(0, 1500ms), 0u) << "nothing is read twice";
  publish({DecisionEnvelope({.claim = "C2", .revision = 2, .outcome = ev::APPROVED})});
  EXPECT_EQ(consume(1, 10s), 1u);
  EXPECT_EQ(ClaimIds(List()), (std::vector<std::string>{"C1", "C3"}));
}

// ---- ReviewHandler ----

// A ReviewLog that records appends and lets the test answer them as the fold would.
class FakeReviewLog : public ReviewLog {
 public:
  Status Append(const ev::Envelope& event, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu);
    appended.push_back(event);
    if (!status.ok()) return status;
    if (on_append) on_append(event);
    return Status::Ok();
  }
  std::mutex mu;
  std::vector<ev::Envelope> appended;
  Status status;
  std::function<void(const ev::Envelope&)> on_append;
};

class ReviewHandlerTest : public ReviewModelTest {
 protected:
  void SetUp() override {
    ReviewModelTest::SetUp();
    handler_ = std::make_unique<ReviewHandler>(options_, *model_, log_, clock_);
  }
  void TearDown() override {
    if (fold_.joinable()) fold_.join();
  }

  // Answers each review as the fold would, a moment later on another thread: revision + 1,
  // APPROVED or DENIED, naming the review as its input.
  void DecideReviews() {
    log_.on_append = [this](const ev::Envelope& event) {
      ev::ReviewRecorded review;
      ASSERT_TRUE(review.ParseFromString(event.payload()));
      const StoredDecision current = Current(review.claim_id());
      if (fold_.joinable()) fold_.join();
      fold_ = std::thread([this, event, review, current] {
        std::this_thread::sleep_for(50ms);
        const bool approve = review.action() == ev::ReviewRecorded::APPROVE;
        Apply({DecisionEnvelope({.claim = review.claim_id(),
                                 .revision = current.decision.revision() + 1,
                                 .outcome = approve ? ev::APPROVED : ev::DENIED,
                                 .decided_on = review.date(),
                                 .reasons = {},
                                 .input_event_id = event.event_id(),
                                 .input_sha256 = event.payload_sha256(),
                                 .payable_fen = approve ? current.decision.payable_fen() : 0})});
      });
    };
  }

  api::ReviewClaimRequest Approve(const std::string& claim, const std::string& note = "ok") {
    api::ReviewClaimRequest r;
    r.set_claim_id(claim);
    r.set_action(api::APPROVE);
    r.set_note(note);
    return r;
  }

  static std::vector<std::string> Fields(const Status& s) {
    std::vector<std::string> out;
    for (const FieldViolation& v : s.violations()) out.push_back(v.field);
    return out;
  }

  ReviewOptions options_{.publish_timeout = 2s, .max_wait = 5s};
  FakeReviewLog log_;
  FixedBusinessClock clock_{*Date::Parse("2024-06-01")};
  std::unique_ptr<ReviewHandler> handler_;
  std::thread fold_;
};

TEST_F(ReviewHandlerTest, RefusesBadInputNamingEveryFieldAndRecordsNothing) {
  api::ReviewClaimRequest bad;
  bad.set_note(std::string(501, 'x'));
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", bad);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Fields(r.status()), (std::vector<std::string>{"claim_id", "action", "note"}));

  api::ReviewClaimRequest not_utf8 = Approve("C1", std::string("caf\xc3", 4));
  EXPECT_EQ(Fields(handler_->ReviewClaim("alice", not_utf8).status()),
            std::vector<std::string>{"note"});
  api::ReviewClaimRequest unknown_action = Approve("C1");
  unknown_action.set_action(static_cast<api::ReviewAction>(7));
  EXPECT_EQ(Fields(handler_->ReviewClaim("alice", unknown_action).status()),
            std::vector<std::string>{"action"});
  EXPECT_TRUE(handler_->ReviewClaim("alice", Approve("C1", "最多五百字节")).status().code() ==
              StatusCode::kNotFound);

  api::ListReferredRequest list;
  list.set_page_size(501);
  list.set_page_token("zz");
  list.set_coverage(static_cast<ev::Coverage>(99));
  list.set_reason(static_cast<ev::Reason>(99));
  EXPECT_EQ(Fields(handler_->ListReferred(list).status()),
            (std::vector<std::string>{"coverage", "reason", "page_size", "page_token"}));
  EXPECT_EQ(Fields(handler_->GetDecision({}).status()), std::vector<std::string>{"claim_id"});
  EXPECT_TRUE(log_.appended.empty());
}

TEST_F(ReviewHandlerTest, ReviewsOnlyReferredClaims) {
  Apply({DecisionEnvelope({.claim = "C1", .outcome = ev::APPROVED})});
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1"));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("not REFERRED"), std::string::npos) << r.status().message();
  EXPECT_EQ(handler_->ReviewClaim("alice", Approve("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(log_.appended.empty());
}

TEST_F(ReviewHandlerTest, RecordsTheReviewAndAnswersWithTheDecisionItLedTo) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  DecideReviews();
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1", "receipts ok"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->decision().outcome(), ev::APPROVED);
  EXPECT_EQ(r->decision().revision(), 2u);
  EXPECT_EQ(r->decision().payable_fen(), 120000);
  EXPECT_EQ(r->review_event_id(), ReviewEventId("C1", 1));

  ASSERT_EQ(log_.appended.size(), 1u);
  const ev::Envelope& event = log_.appended[0];
  EXPECT_EQ(event.type(), codec::kReviewRecorded);
  EXPECT_EQ(event.event_id(), "review-C1-r1");
  EXPECT_EQ(event.member_id(), "M-C1");
  EXPECT_EQ(event.business_date(), "2024-06-01");
  EXPECT_EQ(event.trace_id(), "trace-C1");
  ev::ReviewRecorded review;
  ASSERT_TRUE(review.ParseFromString(event.payload()));
  EXPECT_EQ(review.claim_id(), "C1");
  EXPECT_EQ(review.member_id(), "M-C1");
  EXPECT_EQ(review.date(), "2024-06-01");
  EXPECT_EQ(review.action(), ev::ReviewRecorded::APPROVE);
  EXPECT_EQ(review.reviewer_id(), "alice");
  EXPECT_EQ(review.note(), "receipts ok");
  EXPECT_EQ(review.plan_id(), "six-guarantees-v1");
  // What the fold will read decodes as a valid input.
  EXPECT_TRUE(codec::DecodeInput(event).ok());

  // Again: the claim is no longer REFERRED.
  EXPECT_EQ(handler_->ReviewClaim("alice", Approve("C1", "receipts ok")).status().code(),
            StatusCode::kFailedPrecondition);
  // A retry naming the reviewed revision gets the first answer, and records nothing new.
  api::ReviewClaimRequest retry = Approve("C1", "receipts ok");
  retry.set_revision(1);
  Result<api::ReviewClaimResponse> again = handler_->ReviewClaim("alice", retry);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->SerializeAsString(), r->SerializeAsString());
  // ... but not for another reviewer or another note.
  EXPECT_EQ(handler_->ReviewClaim("bob", retry).status().code(), StatusCode::kFailedPrecondition);
  retry.set_note("changed my mind");
  EXPECT_EQ(handler_->ReviewClaim("alice", retry).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(log_.appended.size(), 1u);
}

TEST_F(ReviewHandlerTest, AnswersDeadlineExceededNamingTheEventWhenNoDecisionFollows) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  const auto start = std::chrono::steady_clock::now();
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1"), start + 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("recorded as event review-C1-r1"), std::string::npos);
  EXPECT_NE(r.status().message().find("not yet published"), std::string::npos);
  EXPECT_EQ(log_.appended.size(), 1u);
}

TEST_F(ReviewHandlerTest, EndsTheWaitWhenTheCallIsCancelledOrTheModelCloses) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  Result<api::ReviewClaimResponse> cancelled =
      handler_->ReviewClaim("alice", Approve("C1"), kNoDeadline, [] { return true; });
  EXPECT_EQ(cancelled.status().code(), StatusCode::kUnavailable);
  model_->Close();
  EXPECT_EQ(handler_->ReviewClaim("alice", Approve("C1")).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(ReviewHandlerTest, ReportsAReviewTheFoldRejected) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  log_.on_append = [this](const ev::Envelope& event) {
    Apply({RejectionEnvelope(event.event_id(), codec::kReviewRecorded, event.payload_sha256())});
  };
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1"));
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("REVIEW_OF_CLAIM_NOT_REFERRED"), std::string::npos);
}

TEST_F(ReviewHandlerTest, AReviewOvertakenByAnotherOneChangedNothing) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  // Another reviewer's review of the same revision was decided first (same event id, other
  // payload).
  log_.on_append = [this](const ev::Envelope& event) {
    Apply({DecisionEnvelope({.claim = "C1",
                             .revision = 2,
                             .outcome = ev::DENIED,
                             .input_event_id = event.event_id(),
                             .input_sha256 = "other"})});
  };
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1"));
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("changed nothing"), std::string::npos);
}

TEST_F(ReviewHandlerTest, UnavailableWhenTheLogDoesNotAcknowledge) {
  Apply({DecisionEnvelope({.claim = "C1"})});
  log_.status = Unavailable("all brokers down");
  Result<api::ReviewClaimResponse> r = handler_->ReviewClaim("alice", Approve("C1"));
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("review-C1-r1"), std::string::npos);
}

TEST_F(ReviewHandlerTest, ListsAndPagesWithOpaqueTokens) {
  for (int i = 0; i < 5; ++i) Apply({DecisionEnvelope({.claim = "C" + std::to_string(i)})});
  api::ListReferredRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int pages = 0; pages < 5; ++pages) {
    Result<api::ListReferredResponse> page = handler_->ListReferred(request);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const api::Decision& d : page->decisions()) seen.push_back(d.claim_id());
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"C0", "C1", "C2", "C3", "C4"}));
  api::GetDecisionRequest get;
  get.set_claim_id("C3");
  Result<api::Decision> d = handler_->GetDecision(get);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->outcome(), ev::REFERRED);
  EXPECT_EQ(d->member_id(), "M-C3");
  EXPECT_EQ(d->trace_size(), 1);
  EXPECT_EQ(d->event_id(), "in-C3-1/out");
}

}  // namespace
}  // namespace claims::adjudication
