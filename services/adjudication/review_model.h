#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/bus/message.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/common.pb.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"

// The reviewers' read model: every claim's current decision and the queue of REFERRED claims,
// built from adjudication.decisions.v1. Separate column families from the fold's, in the same
// store; the fold never reads them.
namespace claims::adjudication {

// claim id -> the Envelope of the claim's latest ClaimDecided (highest revision seen).
inline constexpr char kReviewDecisionsCf[] = "review_decisions";
// QueueKey(decided_on, claim id) -> claim id, for each claim whose latest decision is REFERRED.
inline constexpr char kReviewQueueCf[] = "review_queue";
// input event id -> the Envelope of the InputRejected that answered a ReviewRecorded input, so
// that a reviewer waiting for a decision learns that the review changed nothing.
inline constexpr char kReviewRejectionsCf[] = "review_rejections";

// The column families of the read model; main.cc opens them with the fold's.
std::vector<std::string> ReviewColumnFamilies();

// The queue order: decided_on ("YYYY-MM-DD", so bytewise = chronological), then claim id.
std::string QueueKey(const std::string& decided_on, const std::string& claim_id);

// A claim's current decision as the read model holds it.
struct StoredDecision {
  mutualaid::events::v1::ClaimDecided decision;
  std::string event_id;  // of the ClaimDecided envelope
  std::string trace_id;  // of the ClaimDecided envelope: the claim's trace
};

// Which REFERRED claims to list; an unset field does not filter.
struct ReferredFilter {
  std::optional<mutualaid::events::v1::Coverage> coverage = std::nullopt;
  std::optional<mutualaid::events::v1::Reason> reason = std::nullopt;  // listed in its reasons
};

struct ReferredPage {
  std::vector<StoredDecision> decisions;  // in queue order
  // The queue key of the last decision returned when more matching ones follow; "" otherwise.
  std::string next_after;
};

// Reads the model and tells waiters when it changed. Thread-safe: any thread may read while the
// follower writes (each follower batch is one atomic store write). Reads see the store as of
// the latest batch written; what they return may be a moment behind the topic.
class ReviewModel {
 public:
  explicit ReviewModel(store::StateStore& store) : store_(store) {}

  // The claim's current decision; nullopt when no ClaimDecided of it was seen. DATA_LOSS when the
  // stored record does not parse.
  Result<std::optional<StoredDecision>> Decision(const std::string& claim_id) const;

  // The rejection that answered the review input `event_id`, if one was seen.
  Result<std::optional<mutualaid::events::v1::InputRejected>> ReviewRejection(
      const std::string& event_id) const;

  // Up to `page_size` (>= 1) REFERRED claims matching `filter`, in queue order, starting after
  // queue key `after` ("" = from the start). A queued claim whose decision is no longer REFERRED
  // (the queue and the decisions are read at slightly different moments) is skipped.
  Result<ReferredPage> ListReferred(const ReferredFilter& filter, size_t page_size,
                                    const std::string& after) const;

  // A counter that grows after every batch the follower wrote.
  uint64_t version() const;
  // Waits until version() differs from `seen`, `until` passes or the model is closed; returns
  // the version then.
  uint64_t WaitForChange(uint64_t seen, std::chrono::steady_clock::time_point until) const;
  // Called by the follower after each batch it wrote; wakes every waiter.
  void NotifyChanged();
  // At shutdown: wakes every waiter for good; closed() is true from then on.
  void Close();
  bool closed() const;

 private:
  store::StateStore& store_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  uint64_t version_ = 0;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
};

// Follows adjudication.decisions.v1 into the read model, on every replica: no consumer group;
// every partition is assigned from the offset stored with the model (the store's offsets of
// this topic, which the fold, consuming intake.events.v1, never touches), so a restart neither
// skips nor re-applies anything, and state and offsets are one atomic batch. Applying is
// idempotent anyway: a decision replaces the stored one only when its revision is newer, so a
// re-published decision (same revision) or an older one changes nothing.
//
// Records that are not decisions or review rejections, or that do not parse, are skipped and
// counted: the read model must not stop for a record it cannot show. Each decision dropped as no
// newer than the one held also counts in `duplicates` (optional).
//
// Not thread-safe: one thread runs it. Readers use ReviewModel.
class DecisionFollower {
 public:
  DecisionFollower(store::StateStore& store, bus::Consumer& consumer, ReviewModel& model,
                   runtime::Counter* duplicates = nullptr)
      : store_(store), consumer_(consumer), model_(model), duplicates_(duplicates) {}

  // Assigns every partition of the topic from the stored offsets (the start when none).
  Status Start(std::chrono::milliseconds timeout);
  // Applies what arrives within `timeout` as one store batch with the offsets; returns how many
  // records were consumed.
  Result<size_t> PollOnce(std::chrono::milliseconds timeout);
  // Polls until `stop`. Errors are retried after a pause (from the stored offsets), except a
  // fatal consumer error (ABORTED), which is returned.
  Status Run(const std::atomic<bool>& stop);

  // Stages one record into `batch` (exposed for tests). Records of one batch see each other.
  Status Apply(const bus::Message& message, store::WriteBatch& batch);
  // Forgets what Apply staged (call after the batch was written or dropped).
  void ClearPending() { pending_.clear(); }

  uint64_t skipped() const { return skipped_; }

 private:
  Result<std::optional<StoredDecision>> Load(const std::string& claim_id);

  store::StateStore& store_;
  bus::Consumer& consumer_;
  ReviewModel& model_;
  runtime::Counter* const duplicates_;
  uint64_t skipped_ = 0;
  // Decisions staged by the batch being built: claim id -> latest (nullopt never stored).
  std::map<std::string, StoredDecision> pending_;
};

}  // namespace claims::adjudication
