#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "libs/base/date.h"
#include "libs/base/status.h"
#include "libs/bus/producer.h"
#include "libs/events/event_log.h"
#include "libs/runtime/business_clock.h"
#include "mutualaid/adjudication/v1/review.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "services/adjudication/review_model.h"

namespace claims::adjudication {

namespace api = ::mutualaid::adjudication::v1;

// When a call must be answered by, on the steady clock; kNoDeadline when the caller set none.
using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// Where reviews are recorded: intake.events.v1, the system of record. Appending the same event
// again is safe for the fold: a second review of a claim no longer REFERRED is rejected,
// changing nothing.
using ReviewLog = events::EventLog;
using KafkaReviewLog = events::KafkaEventLog;

using runtime::BusinessClock;
using runtime::FixedBusinessClock;
using runtime::SystemBusinessClock;

struct ReviewOptions {
  // The longest ReviewClaim waits for Kafka's acknowledgement of the review.
  std::chrono::milliseconds publish_timeout{10000};
  // The longest ReviewClaim waits in all (publish + decision), whatever the caller's deadline.
  std::chrono::milliseconds max_wait{30000};
};

inline constexpr size_t kMaxNoteBytes = 500;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// The id of the review of `revision` of `claim_id`: deterministic, so that a retried review is
// the same event, and two reviews of the same revision are recognisably one review (the fold
// decides on the first and rejects the rest).
std::string ReviewEventId(const std::string& claim_id, uint32_t revision);

// The reviewer-facing logic of the review API (review.proto): validation, the queue and decision
// queries over the read model, and reviews recorded into the log. No gRPC here (ReviewService
// adapts it; it also checks the caller's role). Thread-safe: calls may run concurrently.
//
// Statuses: INVALID_ARGUMENT naming every bad field (claim_id, action, note, page_size,
// page_token, coverage, reason), with nothing recorded; NOT_FOUND for a claim without a decision;
// the rest as documented on ReviewService in review.proto.
class ReviewHandler {
 public:
  ReviewHandler(ReviewOptions options, const ReviewModel& model, ReviewLog& log,
                const BusinessClock& clock)
      : options_(options), model_(model), log_(log), clock_(clock) {}

  Result<api::ListReferredResponse> ListReferred(const api::ListReferredRequest& request) const;
  Result<api::Decision> GetDecision(const api::GetDecisionRequest& request) const;

  // Records `reviewer_id`'s review (the caller's authenticated id, never the request's) and
  // waits, until shortly (100 ms) before `deadline` and at most options.max_wait, for the
  // decision it leads to, so that a DEADLINE_EXCEEDED naming the event reaches the caller. The wait
  // also ends, with UNAVAILABLE naming the recorded event, when `cancelled` returns true (checked a
  // few times a second; may be empty) or the model is closed at shutdown.
  Result<api::ReviewClaimResponse> ReviewClaim(const std::string& reviewer_id,
                                               const api::ReviewClaimRequest& request,
                                               Deadline deadline = kNoDeadline,
                                               const std::function<bool()>& cancelled = {}) const;

 private:
  // The ReviewRecorded event `reviewer_id` records for `request` on the claim at `current`,
  // reviewing revision `reviewed`.
  mutualaid::events::v1::Envelope ReviewEvent(const std::string& reviewer_id,
                                              const api::ReviewClaimRequest& request,
                                              const StoredDecision& current,
                                              uint32_t reviewed) const;

  ReviewOptions options_;
  const ReviewModel& model_;
  ReviewLog& log_;
  const BusinessClock& clock_;
};

// The API's view of a stored decision.
api::Decision ToApi(const StoredDecision& stored);

}  // namespace claims::adjudication
