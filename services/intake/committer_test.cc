// The committer's pipeline over a real RocksDB store and an event log held in memory whose
// acknowledgements the test releases (Kafka itself is exercised by intake_test and the e2e
// tests, through Intake).

#include "services/intake/committer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "libs/store/disk_faults.h"
#include "tests/support/temp_dir.h"

namespace claims::intake {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;
namespace storage = ::mutualaid::intake::v1::storage;
using Clock = std::chrono::steady_clock;

constexpr char kRecords[] = "records";
constexpr char kState[] = "state";

// An event log that records what it is given and acknowledges only while open; while closed it
// holds every append until opened or until the append's timeout. `fail` refuses appends.
class GatedLog : public events::EventLog {
 public:
  Status Append(const ev::Envelope& event, std::chrono::milliseconds timeout) override {
    return AppendAll({event}, timeout)[0];
  }
  std::vector<Status> AppendAll(const std::vector<ev::Envelope>& events,
                                std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++appends_;
    timeouts_.push_back(timeout);
    entered_.notify_all();
    if (!opened_.wait_for(lock, timeout, [&] { return open_; })) {
      return std::vector<Status>(events.size(), Status(StatusCode::kDeadlineExceeded, "held"));
    }
    if (fail_) return std::vector<Status>(events.size(), Unavailable("broker down"));
    for (const ev::Envelope& e : events) ids_.push_back(e.event_id());
    return std::vector<Status>(events.size(), Status::Ok());
  }
  void Open(bool open) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = open;
    }
    opened_.notify_all();
  }
  void Fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }
  // Waits until `n` appends have begun (at most `timeout`).
  bool WaitForAppends(int n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    return entered_.wait_for(lock, timeout, [&] { return appends_ >= n; });
  }
  int appends() {
    std::lock_guard<std::mutex> lock(mu_);
    return appends_;
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  // The timeout each append was given.
  std::vector<std::chrono::milliseconds> timeouts() {
    std::lock_guard<std::mutex> lock(mu_);
    return timeouts_;
  }

 private:
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> timeouts_;
  std::condition_variable opened_;
  std::condition_variable entered_;
  bool open_ = true;
  bool fail_ = false;
  int appends_ = 0;
  std::vector<std::string> ids_;
};

// Key claims decided in memory, as one shared calls log would decide them: the first call
// claimed under a key holds it. `Fail` makes every claim fail.
class MemoryKeyClaims : public KeyClaims {
 public:
  std::vector<Result<storage::IdempotencyRecord>> ClaimAll(const std::vector<Claim>& claims,
                                                           std::chrono::milliseconds) override {
    std::this_thread::sleep_for(delay_);  // a slow calls log; set before the committer starts
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Result<storage::IdempotencyRecord>> out;
    for (const Claim& c : claims) {
      ++claimed_;
      if (fail_) {
        out.push_back(Unavailable("calls log down"));
        continue;
      }
      storage::IdempotencyRecord call = c.call;
      call.set_claimed_by(replica_);
      out.push_back(holders_.emplace(c.record_key, std::move(call)).first->second);
    }
    return out;
  }
  void Hold(const std::string& record_key, storage::IdempotencyRecord call) {
    std::lock_guard<std::mutex> lock(mu_);
    holders_[record_key] = std::move(call);
  }
  void Fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }
  int claimed() {
    std::lock_guard<std::mutex> lock(mu_);
    return claimed_;
  }
  // Each ClaimAll takes `delay` first. Set before any claim.
  void Delay(std::chrono::milliseconds delay) { delay_ = delay; }
  const std::string& replica() const override { return replica_; }

 private:
  const std::string replica_ = "this-replica";
  std::chrono::milliseconds delay_{0};
  std::mutex mu_;
  std::map<std::string, storage::IdempotencyRecord> holders_;
  bool fail_ = false;
  int claimed_ = 0;
};

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<test_support::TempDir> dir = test_support::TempDir::Create("committer-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<test_support::TempDir>(std::move(dir).value());
    store::StoreOptions options;
    options.column_families = {kRecords, kState};
    Result<std::unique_ptr<store::StateStore>> store =
        store::StateStore::Open(dir_->File("store"), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  std::unique_ptr<Committer> NewCommitter(int publishers = 1, CommitMetrics* metrics = nullptr) {
    return std::make_unique<Committer>(
        *store_, log_, claims_,
        [](const Status& s, std::chrono::milliseconds) {
          return Unavailable("not recorded: " + s.message());
        },
        4096, publishers, metrics);
  }

  // Commits call 0 on the returned thread and, once its event waits in Kafka (the log is
  // closed), hands the others over, their outcomes landing in `results` (one per call).
  std::thread FirstAloneThenTheRest(Committer& committer, std::vector<Status>& results) {
    std::thread first([&] { results[0] = committer.Commit(MutationFor(0), Clock::now() + 20s); });
    EXPECT_TRUE(log_.WaitForAppends(1));
    for (size_t i = 1; i < results.size(); ++i) {
      committer.CommitAsync(MutationFor(static_cast<int>(i)), Clock::now() + 20s,
                            [&results, i](Status st) { results[i] = std::move(st); });
    }
    return first;
  }

  static std::shared_ptr<Mutation> MutationFor(int i) {
    auto m = std::make_shared<Mutation>();
    m->cf = kRecords;
    m->record_key = "key-" + std::to_string(i);
    m->record.set_method("SubmitClaim");
    m->record.set_request_sha256("mac-" + std::to_string(i));
    m->record.set_response("answer-" + std::to_string(i));
    m->event.set_event_id("in-" + std::to_string(i));
    m->record.set_event(m->event.SerializeAsString());
    m->state.Put(kState, "claim-" + std::to_string(i), "RECEIVED");
    m->budget = 5000ms;
    return m;
  }

  // The stored record of key-i: absent, pending (with its event) or done (without).
  std::optional<storage::IdempotencyRecord> Record(int i) {
    Result<std::optional<std::string>> found = store_->Get(kRecords, "key-" + std::to_string(i));
    EXPECT_TRUE(found.ok());
    if (!found.ok() || !found->has_value()) return std::nullopt;
    storage::IdempotencyRecord r;
    EXPECT_TRUE(r.ParseFromString(**found));
    return r;
  }
  bool HasState(int i) {
    Result<std::optional<std::string>> found = store_->Get(kState, "claim-" + std::to_string(i));
    return found.ok() && found->has_value();
  }

  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<store::StateStore> store_;
  GatedLog log_;
  MemoryKeyClaims claims_;
};

TEST_F(CommitterTest, ConcurrentCallsShareStoreWritesAndEachEndsDoneWithItsState) {
  auto committer = NewCommitter(2);  // two groups in Kafka at once
  log_.Open(false);  // the first group waits in Kafka while the others queue behind it
  constexpr int kCalls = 48;
  std::vector<Status> results(kCalls, Status(StatusCode::kInternal, "not run"));
  std::vector<std::thread> calls;
  calls.emplace_back([&] { results[0] = committer->Commit(MutationFor(0), Clock::now() + 20s); });
  ASSERT_TRUE(log_.WaitForAppends(1));
  for (int i = 1; i < kCalls; ++i) {
    calls.emplace_back(
        [&, i] { results[i] = committer->Commit(MutationFor(i), Clock::now() + 20s); });
  }
  // Both publishers wait for Kafka now (the second with whatever calls it took): nothing is
  // recorded before Kafka answers.
  ASSERT_TRUE(log_.WaitForAppends(2));
  for (int i = 0; i < kCalls; ++i) EXPECT_FALSE(Record(i).has_value()) << i;
  EXPECT_FALSE(HasState(0));
  const uint64_t done = committer->done_writes();
  log_.Open(true);
  for (std::thread& t : calls) t.join();

  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
    std::optional<storage::IdempotencyRecord> r = Record(i);
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_TRUE(r->done()) << i;
    EXPECT_TRUE(r->event().empty()) << i;  // published: the event's bytes are not kept
    EXPECT_EQ(r->response(), "answer-" + std::to_string(i));
    EXPECT_TRUE(HasState(i)) << i;
  }
  EXPECT_EQ(log_.ids().size(), static_cast<size_t>(kCalls));  // each event once
  EXPECT_EQ(committer->mutations(), static_cast<uint64_t>(kCalls));
  // The 48 calls went to Kafka in a few groups, each recorded done in one store write; nothing
  // was recorded pending.
  EXPECT_EQ(committer->pending_writes(), 0u);
  EXPECT_EQ(done, 0u);
  EXPECT_GE(committer->done_writes(), 2u);
  EXPECT_LE(committer->done_writes(), 8u);
}

TEST_F(CommitterTest, EachGroupsStagesAreTimedWhereTheyHappen) {
  runtime::MetricsRegistry registry;
  Result<std::unique_ptr<CommitMetrics>> metrics = CommitMetrics::Register(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(CommitMetrics::Register(registry).status().code(), StatusCode::kAlreadyExists);
  claims_.Delay(30ms);  // each claim takes 30 ms
  auto committer = NewCommitter(1, metrics->get());
  log_.Open(false);
  constexpr int kCalls = 10;
  std::vector<Status> results(kCalls, Status(StatusCode::kInternal, "not run"));
  std::thread first = FirstAloneThenTheRest(*committer, results);
  std::this_thread::sleep_for(100ms);  // the first group's events wait that long for Kafka
  log_.Open(true);
  first.join();
  committer.reset();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  }

  // Two groups (the first call, then the nine others), each through the four stages.
  const CommitMetrics& m = **metrics;
  const runtime::Histogram::Snapshot groups = m.group_calls().snapshot();
  EXPECT_EQ(groups.count, 2u);
  EXPECT_EQ(groups.sum, static_cast<double>(kCalls));
  for (CommitMetrics::Stage stage :
       {CommitMetrics::Stage::kClaim, CommitMetrics::Stage::kPublish, CommitMetrics::Stage::kRecord,
        CommitMetrics::Stage::kAnswer}) {
    EXPECT_EQ(m.stage(stage).snapshot().count, 2u) << static_cast<int>(stage);
  }
  // The claims' delay shows in the claim stage, Kafka's wait in the publish stage, and neither
  // anywhere else.
  const double claim = m.stage(CommitMetrics::Stage::kClaim).snapshot().sum;
  const double publish = m.stage(CommitMetrics::Stage::kPublish).snapshot().sum;
  const double rest = m.stage(CommitMetrics::Stage::kRecord).snapshot().sum +
                      m.stage(CommitMetrics::Stage::kAnswer).snapshot().sum;
  EXPECT_GE(claim, 0.060);
  EXPECT_GE(publish, 0.100);
  EXPECT_LT(rest, 0.100);  // two store writes and ten callbacks: no Kafka wait in there
  const std::string exposed = registry.Expose();
  EXPECT_NE(exposed.find("claims_intake_commit_stage_seconds_count{stage=\"claim\"} 2"),
            std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("claims_intake_commit_group_calls_sum 10"), std::string::npos) << exposed;
}

TEST_F(CommitterTest, OnePublisherSendsEveryCallThatCameDuringARoundTripInTheNextGroup) {
  auto committer = NewCommitter();  // the default: one publisher
  log_.Open(false);
  constexpr int kCalls = 40;
  std::vector<Status> results(kCalls, Status(StatusCode::kInternal, "not run"));
  std::thread first = FirstAloneThenTheRest(*committer, results);
  EXPECT_FALSE(log_.WaitForAppends(2, 200ms));  // nothing else goes while the first group waits
  log_.Open(true);
  first.join();
  committer.reset();  // waits for everything handed over
  for (int i = 0; i < kCalls; ++i)
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  EXPECT_EQ(log_.ids().size(), static_cast<size_t>(kCalls));
  EXPECT_EQ(log_.appends(), 2);  // the first call alone, then the 39 others together
}

TEST_F(CommitterTest, ACallWhoseKeyADifferentRequestHoldsIsRefusedAndPublishesNothing) {
  auto committer = NewCommitter();
  // key-2 is held by another request (made on another replica); key-3 by this very request,
  // claimed by this replica (an earlier attempt).
  storage::IdempotencyRecord other = MutationFor(2)->record;
  other.set_request_sha256("another-mac");
  claims_.Hold("key-2", other);
  storage::IdempotencyRecord mine = MutationFor(3)->record;
  mine.set_claimed_by(claims_.replica());
  claims_.Hold("key-3", mine);
  std::vector<Status> results(4);
  std::vector<std::thread> calls;
  for (int i = 1; i <= 3; ++i) {
    calls.emplace_back(
        [&, i] { results[i] = committer->Commit(MutationFor(i), Clock::now() + 10s); });
  }
  for (std::thread& t : calls) t.join();
  EXPECT_TRUE(results[1].ok()) << results[1].ToString();
  EXPECT_TRUE(results[3].ok()) << results[3].ToString();
  EXPECT_EQ(results[2].code(), StatusCode::kAlreadyExists) << results[2].ToString();
  EXPECT_NE(results[2].message().find("'key-2'"), std::string::npos) << results[2].message();
  EXPECT_FALSE(Record(2).has_value());
  EXPECT_FALSE(HasState(2));
  std::vector<std::string> ids = log_.ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"in-1", "in-3"}));
}

TEST_F(CommitterTest, ARequestAnotherReplicaClaimedFirstIsAnsweredOnceItsRecordIsDone) {
  auto committer = NewCommitter();
  // The same request reached another replica too, which claimed the key first.
  storage::IdempotencyRecord there = MutationFor(4)->record;
  there.set_claimed_by("other-replica");
  claims_.Hold("key-4", there);
  std::optional<Status> result;
  std::mutex mu;
  committer->CommitAsync(MutationFor(4), Clock::now() + 10s, [&](Status s) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(s);
  });
  std::this_thread::sleep_for(200ms);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_FALSE(result.has_value()) << "answered before the other replica's event came back";
  }
  EXPECT_EQ(log_.appends(), 0);
  // The other replica's event comes back through ClaimFollower: a done record of the request.
  storage::IdempotencyRecord done = MutationFor(4)->record;
  done.set_done(true);
  done.clear_event();
  store::WriteBatch batch;
  batch.Put(kRecords, "key-4", done.SerializeAsString());
  ASSERT_TRUE(store_->Write(batch, store::Durability::kNoSync).ok());
  committer.reset();  // waits for the answer
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(log_.appends(), 0) << "published although the other replica had";
  EXPECT_TRUE(log_.ids().empty());
}

TEST_F(CommitterTest, ARequestAnotherReplicaClaimedFirstIsPublishedHereIfItsRecordStaysUndone) {
  auto committer = NewCommitter();
  storage::IdempotencyRecord there = MutationFor(5)->record;
  there.set_claimed_by("other-replica");  // which then failed, or died, before publishing
  claims_.Hold("key-5", there);
  std::shared_ptr<Mutation> m = MutationFor(5);
  m->budget = 400ms;
  const auto began = Clock::now();
  const Status s = committer->Commit(m, Clock::now() + 10s);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_GE(Clock::now() - began, 200ms);  // it waited half its budget for the other replica
  EXPECT_EQ(log_.ids(), std::vector<std::string>{"in-5"});
  ASSERT_TRUE(Record(5).has_value());
  EXPECT_TRUE(Record(5)->done());
  EXPECT_TRUE(HasState(5));
}

TEST_F(CommitterTest, AClaimThatFailsPublishesAndRecordsNothingAndARetryGoesThrough) {
  auto committer = NewCommitter();
  claims_.Fail(true);
  const Status s = committer->Commit(MutationFor(1), Clock::now() + 10s);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("calls log down"), std::string::npos) << s.message();
  EXPECT_FALSE(Record(1).has_value());
  EXPECT_TRUE(log_.ids().empty());
  claims_.Fail(false);
  ASSERT_TRUE(committer->Commit(MutationFor(1), Clock::now() + 10s).ok());
  EXPECT_TRUE(Record(1)->done());
  EXPECT_EQ(log_.ids(), std::vector<std::string>{"in-1"});
}

TEST_F(CommitterTest, ClaimsAndEventsShareTheCallsBudget) {
  claims_.Delay(300ms);
  auto committer = NewCommitter();
  std::shared_ptr<Mutation> m = MutationFor(1);
  m->budget = 1000ms;
  ASSERT_TRUE(committer->Commit(m, Clock::now() + 10s).ok());
  // The event got what the 300 ms of claiming left of the call's 1000 ms.
  const std::vector<std::chrono::milliseconds> timeouts = log_.timeouts();
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_LE(timeouts[0], 700ms);
  EXPECT_GT(timeouts[0], 0ms);
}

TEST_F(CommitterTest, AnUnacknowledgedEventLeavesItsRecordPendingWithTheEventAndNoState) {
  auto committer = NewCommitter();
  log_.Fail(true);
  const Status s = committer->Commit(MutationFor(1), Clock::now() + 10s);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("broker down"), std::string::npos) << s.message();
  std::optional<storage::IdempotencyRecord> r = Record(1);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->done());
  EXPECT_EQ(r->event(), MutationFor(1)->event.SerializeAsString());  // a retry sends these bytes
  EXPECT_EQ(r->response(), "answer-1");
  EXPECT_FALSE(HasState(1));
  EXPECT_EQ(committer->pending_writes(), 1u);
  EXPECT_EQ(committer->done_writes(), 0u);

  // The retry: recorded already, so only published (its key was claimed the first time), then
  // done.
  log_.Fail(false);
  std::shared_ptr<Mutation> retry = MutationFor(1);
  retry->recorded = true;
  retry->record = *r;
  const int claimed = claims_.claimed();
  ASSERT_TRUE(committer->Commit(retry, Clock::now() + 10s).ok());
  EXPECT_EQ(claims_.claimed(), claimed);
  EXPECT_TRUE(Record(1)->done());
  EXPECT_TRUE(HasState(1));
  EXPECT_EQ(log_.ids(), std::vector<std::string>{"in-1"});
}

TEST_F(CommitterTest, ACallThatStopsWaitingIsDroppedOrCarriedThroughNeverHalfWay) {
  auto committer = NewCommitter();
  for (int i = 0; i < 20; ++i) {
    std::shared_ptr<Mutation> late = MutationFor(i);
    auto key = std::make_shared<int>(0);
    std::weak_ptr<void> held = key;
    late->held = std::move(key);
    const Status s = committer->Commit(std::move(late), Clock::now());  // deadline already here
    EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
    EXPECT_NE(s.message().find("retry with the same idempotency key"), std::string::npos);
    // Dropped before a publisher took it (nothing recorded, key free at once), or taken and
    // carried through to the end (done, with its state) before its key is released.
    const auto until = Clock::now() + 10s;
    while (!held.expired() && Clock::now() < until) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(held.expired()) << i;
    std::optional<storage::IdempotencyRecord> r = Record(i);
    if (r.has_value()) {
      EXPECT_TRUE(r->done()) << i;
      EXPECT_TRUE(HasState(i)) << i;
    } else {
      EXPECT_FALSE(HasState(i)) << i;
    }
  }
}

TEST_F(CommitterTest, CommitAsyncAnswersEachCallOnceOnACommitterThreadAfterKafkaAnswered) {
  auto committer = NewCommitter();
  log_.Open(false);  // Kafka holds every append until opened
  std::mutex mu;
  std::condition_variable answered_cv;
  std::map<int, std::vector<Status>> answers;  // by call: every outcome it was given
  std::set<std::thread::id> threads;
  auto reply_for = [&](int i) {
    return [&, i](Status s) {
      {
        std::lock_guard<std::mutex> lock(mu);
        answers[i].push_back(std::move(s));
        threads.insert(std::this_thread::get_id());
      }
      answered_cv.notify_all();
    };
  };
  // Late already: dropped by the publisher that takes it, without being recorded or published.
  committer->CommitAsync(MutationFor(8), Clock::now() - 1ms, reply_for(8));
  for (int i = 0; i < 8; ++i)
    committer->CommitAsync(MutationFor(i), Clock::now() + 20s, reply_for(i));
  ASSERT_TRUE(log_.WaitForAppends(1));
  {
    std::unique_lock<std::mutex> lock(mu);
    // Nothing but the late call is answered while Kafka holds the events.
    EXPECT_TRUE(answered_cv.wait_for(lock, 10s, [&] { return answers.count(8) == 1; }));
    EXPECT_EQ(answers.size(), 1u);
  }
  log_.Open(true);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(answered_cv.wait_for(lock, 10s, [&] { return answers.size() == 9; }));
  }
  std::this_thread::sleep_for(50ms);  // a second answer to any call would show by now
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(answers[i].size(), 1u) << i;
    EXPECT_TRUE(answers[i][0].ok()) << i << ": " << answers[i][0].ToString();
    ASSERT_TRUE(Record(i).has_value()) << i;
    EXPECT_TRUE(Record(i)->done()) << i;
    EXPECT_TRUE(HasState(i)) << i;
  }
  ASSERT_EQ(answers[8].size(), 1u);
  EXPECT_EQ(answers[8][0].code(), StatusCode::kDeadlineExceeded) << answers[8][0].ToString();
  EXPECT_FALSE(Record(8).has_value());
  EXPECT_FALSE(HasState(8));
  const std::vector<std::string> ids = log_.ids();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "in-8"), 0);
  EXPECT_EQ(ids.size(), 8u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);  // never on the caller's thread
}

TEST_F(CommitterTest, AStoreThatCannotWriteStopsPublishingAfterTheGroupInFlight) {
  auto faults = std::make_shared<store::DiskFaults>();
  store_.reset();
  store::StoreOptions options;
  options.column_families = {kRecords, kState};
  options.test_disk_faults = faults;
  Result<std::unique_ptr<store::StateStore>> store =
      store::StateStore::Open(dir_->File("faulty"), options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
  auto committer = NewCommitter();
  faults->SetDiskFull(true);
  // The disk fails under a call in flight: its event is in Kafka, but it is not answered OK.
  const Status first = committer->Commit(MutationFor(1), Clock::now() + 10s);
  EXPECT_FALSE(first.ok());
  EXPECT_NE(first.code(), StatusCode::kDeadlineExceeded) << first.ToString();
  EXPECT_EQ(log_.ids(), std::vector<std::string>{"in-1"});
  // From then on the store refuses every write: nothing is published.
  for (int i = 2; i <= 3; ++i) {
    const Status s = committer->Commit(MutationFor(i), Clock::now() + 10s);
    EXPECT_FALSE(s.ok()) << i;
    EXPECT_NE(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  }
  EXPECT_EQ(log_.ids(), std::vector<std::string>{"in-1"});
  EXPECT_EQ(committer->pending_writes(), 0u);
  committer.reset();
  store_.reset();
  faults->SetDiskFull(false);
  store = store::StateStore::Open(dir_->File("faulty"), options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_FALSE(Record(i).has_value()) << i;
    EXPECT_FALSE(HasState(i)) << i;
  }
  // A store that writes again: calls go through, and nothing is recorded before publishing.
  committer = NewCommitter();
  ASSERT_TRUE(committer->Commit(MutationFor(4), Clock::now() + 10s).ok());
  EXPECT_TRUE(Record(4)->done());
  EXPECT_EQ(committer->pending_writes(), 0u);
}

TEST_F(CommitterTest, StoppingCommitsEverythingHandedOver) {
  auto committer = NewCommitter();
  std::vector<std::thread> calls;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    calls.emplace_back([&, i] {
      if (committer->Commit(MutationFor(i), Clock::now() + 20s).ok()) ++ok;
    });
  }
  for (std::thread& t : calls) t.join();
  committer.reset();
  EXPECT_EQ(ok.load(), 16);
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(Record(i)->done()) << i;
}

}  // namespace
}  // namespace claims::intake
