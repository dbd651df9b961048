#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libs/base/status.h"
#include "libs/events/event_log.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"
#include "services/intake/ports.h"

namespace claims::intake {

// What one mutating call commits: its idempotency record, its event and the state that goes with
// the event once Kafka has it.
struct Mutation {
  std::string cf;          // of the idempotency record
  std::string record_key;  // partner \0 idempotency key
  // The record without its done mark and without the event's bytes (the committer adds them when
  // it records the mutation pending); as read from the store when `recorded`.
  mutualaid::intake::v1::storage::IdempotencyRecord record;
  mutualaid::events::v1::Envelope event;
  store::WriteBatch state;
  // True when `record` is on disk already, pending with the event's bytes (an earlier attempt
  // recorded it): publish those bytes.
  bool recorded = false;
  // The longest this mutation's event may wait for Kafka.
  std::chrono::milliseconds budget{0};
  // Held until the mutation is through, even when its caller stopped waiting, so that a retry
  // with the same key never runs beside it. May be empty.
  std::shared_ptr<void> held;
};

// The bytes of `record` as recorded pending: not done, with the bytes of `event`, its event that
// Kafka did not acknowledge (a retry with the key publishes them again).
std::string PendingRecord(mutualaid::intake::v1::storage::IdempotencyRecord record,
                          const mutualaid::events::v1::Envelope& event);

// What a call is told when its idempotency key is held by a different request (`holder`).
Status KeyReused(const std::string& key, const std::string& method,
                 const mutualaid::intake::v1::storage::IdempotencyRecord& holder);

// Claims `wanted` in one KeyClaims::ClaimAll, waiting at most `budget`. `refusals` holds, per
// claim, what its call is told unless it may publish: OK when its call holds the key,
// ALREADY_EXISTS (KeyReused) when a different request holds it, and `undecided(k, error)` when the
// claim k was not decided (nothing may be published; a retry with the key claims again). `left`
// is what claiming left of `budget` (at least 1 ms), for publishing the events: claims and events
// share one budget.
struct ClaimedKeys {
  std::vector<Status> refusals;
  std::chrono::milliseconds left{0};
  // Per claim: the very same request holds the key, claimed by another replica, which is
  // publishing it (its refusal is OK).
  std::vector<bool> elsewhere;
};
ClaimedKeys ClaimKeys(KeyClaims& claims, const std::vector<KeyClaims::Claim>& wanted,
                      std::chrono::milliseconds budget,
                      const std::function<Status(size_t, const Status&)>& undecided);

// Whether the store holds `call` done under `record_key` in `cf`: the event of a call left to
// another replica (ClaimedKeys::elsewhere) came back through ClaimFollower.
Result<bool> DoneElsewhere(store::StateStore& store, const std::string& cf,
                           const std::string& record_key,
                           const mutualaid::intake::v1::storage::IdempotencyRecord& call);

// What a call whose deadline passed before its event was recorded is told.
inline constexpr char kCommitTooLate[] =
    "the call's deadline passed before its event was recorded; retry with the same idempotency "
    "key";

// Waits for the value that `start` hands to the callback it is given (called exactly once, on any
// thread), but not past `deadline`: DEADLINE_EXCEEDED then (`late` says what to do about it), and
// the value, when it comes, is dropped. `V` is Status or a Result.
template <typename V, typename Start>
V AwaitCallback(std::chrono::steady_clock::time_point deadline, const std::string& late,
                Start start) {
  struct Outcome {
    std::mutex mu;
    std::condition_variable ready_cv;
    std::optional<V> value;
  };
  auto outcome = std::make_shared<Outcome>();
  start([outcome](V value) {
    {
      std::lock_guard<std::mutex> lock(outcome->mu);
      outcome->value.emplace(std::move(value));
    }
    outcome->ready_cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(outcome->mu);
  auto ready = [&] { return outcome->value.has_value(); };
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    outcome->ready_cv.wait(lock, ready);
  } else if (!outcome->ready_cv.wait_until(lock, deadline, ready)) {
    return V(Status(StatusCode::kDeadlineExceeded, late));
  }
  return std::move(*outcome->value);
}

// Where the committer's time goes, group by group, for ops and benchmarks:
//   claims_intake_commit_stage_seconds{stage}: how long each group spent in each stage, one after
//     the other: "claim" (its keys claimed in the calls log: a Kafka round trip), "publish" (its
//     events acknowledged: a Kafka round trip), "record" (its outcomes written to the store),
//     "answer" (its calls answered: gRPC sends their responses from this thread);
//   claims_intake_commit_group_calls: the calls published together.
// A call waits for its group's four stages, after waiting for the group before it. Calls left to
// another replica and published here after all (see Committer) go as a group without a claim
// stage, so "claim" can count fewer groups than the other stages.
// Thread-safe.
class CommitMetrics {
 public:
  enum class Stage { kClaim, kPublish, kRecord, kAnswer };
  // Registers both families in `registry` (kAlreadyExists if they are there).
  static Result<std::unique_ptr<CommitMetrics>> Register(runtime::MetricsRegistry& registry);

  void Observe(Stage stage, std::chrono::steady_clock::duration took);
  void ObserveGroup(size_t calls) { group_calls_.Observe(static_cast<double>(calls)); }
  const runtime::Histogram& stage(Stage stage) const;
  const runtime::Histogram& group_calls() const { return group_calls_; }

 private:
  CommitMetrics(runtime::HistogramFamily& stages, runtime::Histogram& group_calls);
  std::array<runtime::Histogram*, 4> stages_{};
  runtime::Histogram& group_calls_;
};

// Commits the mutations of concurrent calls together. Publisher threads each take every mutation
// waiting, put their events in flight together (one Kafka round trip for the lot), then record
// the outcome in one store write without fsync, and answer:
//   - an acknowledged event: its done record (the answer, without the event) and its state;
//   - an event Kafka did not acknowledge: its record pending, with the event's bytes, so that a
//     retry with the key publishes those very bytes.
// A call is answered OK only once its event is acknowledged and its done record written.
//
// Before publishing, the group's keys are claimed (KeyClaims, ports.h): a call whose key another
// request holds, on any replica, is answered ALREADY_EXISTS and publishes nothing. A call whose
// very request another replica claimed first (the same request sent to two replicas at once) is
// left to that replica: it waits, polling the store every 5 ms, until that replica's event comes
// back through ClaimFollower as a done record, and is then answered OK with nothing published.
// If the record is not done within half the call's budget (that replica failed or died), the
// call publishes after all, under the same event id, which consumers drop as a repeat; so a
// retry is never refused forever.
//
// Nothing is written before publishing. Kafka (acks=all) is what makes a call durable; the store
// is this replica's copy of what the log holds: every event carries its call (IntakeCall: key,
// request MAC, answer), ClaimFollower turns each into a done record and rebuilds the state, and a
// replica reads the log to its end before it serves (ClaimFollower::CatchUp). So if the process
// or the machine dies with a call's record unwritten:
//   - its event never reached Kafka: the caller had no answer, and a retry publishes anew;
//   - its event reached Kafka (answered or not): the restarted replica learns the call while it
//     catches up, and a retry gets the same answer and publishes nothing.
// Recording every call pending before publishing would only change the second case for a retry
// racing the catch-up: it would republish the same bytes rather than new ones under the same
// event id, which consumers drop as a repeat either way. It would cost a memtable insert of the
// whole event and a thread hand-over per group.
//
// A store that cannot write: once the store failed a write, it refuses every write until
// reopened (StateStore::WriteHealth), and the committer publishes nothing more. So a failing disk
// lets through at most the groups in flight when it failed (published, answered with the store's
// error; the log and ClaimFollower still make them known).
//
// One publisher by default: while it waits for Kafka, every call that comes waits for the next
// group, so groups are as large as the load makes them, and each Kafka round trip, store write
// and wake-up serves that many calls. Measured (intake_bench 64 4, 64 streams, alternating, two
// rounds): 1 publisher, 31 calls per group, 110-116 CPU-us per call, p99 9.0-9.4 ms; 2
// publishers, 16 per group, 122-128 CPU-us per call, p99 10.3-10.9 ms. What bounds a call's
// latency is the wait for Kafka's two round trips (claim, then events), not their requests: with
// 3 partitions instead of 12 (fewer produce requests per group) throughput was the same.
//
// Outcomes: OK once the event is acknowledged and the record done; `publish_failure(status,
// budget)` when Kafka did not acknowledge the event; the store's error when the record could not
// be written (before publishing, nothing was published). Thread-safe.
class Committer {
 public:
  using PublishFailure = std::function<Status(const Status&, std::chrono::milliseconds)>;

  // `metrics`, when set, gets each group's stage times (not owned).
  Committer(store::StateStore& store, events::EventLog& log, KeyClaims& claims,
            PublishFailure publish_failure, size_t max_group = 4096, int publishers = 1,
            CommitMetrics* metrics = nullptr);
  ~Committer();  // commits what was handed over, then stops
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  using Done = std::function<void(Status)>;
  // Hands `mutation` over; `done` is called once with its outcome, on a committer thread, with no
  // lock held and after the mutation's key is released. A mutation a publisher reaches after
  // `deadline` is dropped (DEADLINE_EXCEEDED); one begun goes on to the end. Either way a retry
  // with the same key is safe.
  void CommitAsync(std::shared_ptr<Mutation> mutation,
                   std::chrono::steady_clock::time_point deadline, Done done);
  // CommitAsync, waiting for the outcome, but not past `deadline`: DEADLINE_EXCEEDED then.
  Status Commit(std::shared_ptr<Mutation> mutation, std::chrono::steady_clock::time_point deadline);

  // Store writes that recorded mutations pending (publish failures), that recorded them done,
  // and mutations committed, so far (for tests and benchmarks).
  uint64_t pending_writes() const;
  uint64_t done_writes() const;
  uint64_t mutations() const;

 private:
  struct Ticket {
    std::shared_ptr<Mutation> mutation;
    std::chrono::steady_clock::time_point deadline;
    Done done;
    Status status;
    // Left to another replica (ClaimedKeys::elsewhere): published here if its record is not
    // done by then.
    std::chrono::steady_clock::time_point publish_at;
  };
  using Group = std::vector<std::shared_ptr<Ticket>>;
  void Publish();
  // Publishes `group`, whose calls hold their keys, within `budget`; records the outcomes and
  // answers them.
  void PublishHeld(Group& group, std::chrono::milliseconds budget);
  // Answers the calls left to another replica once their records are done, or publishes them.
  void AwaitElsewhere();
  // Answers `tickets`, whose status is set (under no lock).
  void Finish(const std::vector<std::shared_ptr<Ticket>>& tickets);

  store::StateStore& store_;
  events::EventLog& log_;
  KeyClaims& claims_;
  PublishFailure publish_failure_;
  const size_t max_group_;
  CommitMetrics* const metrics_;
  mutable std::mutex mu_;
  std::condition_variable publisher_wake_;
  std::deque<std::shared_ptr<Ticket>> queue_;  // handed over, not yet taken
  std::condition_variable elsewhere_wake_;
  std::vector<std::shared_ptr<Ticket>> elsewhere_;  // left to another replica (AwaitElsewhere)
  bool stop_ = false;
  bool publishers_done_ = false;
  uint64_t pending_writes_ = 0;
  uint64_t done_writes_ = 0;
  uint64_t mutations_ = 0;
  std::vector<std::thread> publishers_;
  std::thread awaiter_;
};

}  // namespace claims::intake
