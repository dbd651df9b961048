#include "services/adjudication/review.h"

#include <algorithm>

#include "libs/base/text.h"
#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/intake.pb.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

constexpr size_t kMaxClaimIdBytes = 128;
// How often a waiting review checks whether its call was cancelled.
constexpr auto kCancelCheck = std::chrono::milliseconds(200);
// How long before the caller's deadline a review answers.
constexpr auto kAnswerMargin = std::chrono::milliseconds(100);

void CheckClaimId(const std::string& claim_id, std::vector<FieldViolation>& bad) {
  if (claim_id.empty()) {
    bad.push_back({"claim_id", "is required"});
  } else if (claim_id.size() > kMaxClaimIdBytes) {
    bad.push_back({"claim_id", "must be at most 128 bytes"});
  }
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    out += kDigits[(static_cast<unsigned char>(c) >> 4) & 0xf];
    out += kDigits[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// What a ListReferred page token holds: the queue key of the last decision of the page before.
std::optional<std::string> QueueKeyOfToken(const std::string& token) {
  std::optional<std::string> key = Unhex(token);
  if (!key.has_value() || key->find('\0') == std::string::npos) return std::nullopt;
  return key;
}

api::ReviewClaimResponse Answer(const StoredDecision& decision, const std::string& event_id) {
  api::ReviewClaimResponse out;
  *out.mutable_decision() = ToApi(decision);
  out.set_review_event_id(event_id);
  return out;
}

std::string Describe(const ev::ClaimDecided& d) {
  return ev::Outcome_Name(d.outcome()) + " at revision " + std::to_string(d.revision()) +
         " (cause " + (d.cause_type().empty() ? "claim" : d.cause_type()) + ", input event " +
         d.input_event_id() + ")";
}

Status DeadlineExceeded(std::string message) {
  return Status(StatusCode::kDeadlineExceeded, std::move(message));
}

}  // namespace

std::string ReviewEventId(const std::string& claim_id, uint32_t revision) {
  return "review-" + claim_id + "-r" + std::to_string(revision);
}

api::Decision ToApi(const StoredDecision& stored) {
  const ev::ClaimDecided& d = stored.decision;
  api::Decision out;
  out.set_claim_id(d.claim_id());
  out.set_member_id(d.member_id());
  out.set_coverage(d.coverage());
  out.set_incident_date(d.incident_date());
  out.set_outcome(d.outcome());
  out.set_payable_fen(d.payable_fen());
  out.set_condolence_fen(d.condolence_fen());
  for (int r : d.reasons()) out.add_reasons(static_cast<ev::Reason>(r));
  for (const std::string& line : d.trace()) out.add_trace(line);
  out.set_revision(d.revision());
  out.set_decided_on(d.decided_on());
  out.set_plan_id(d.plan_id());
  out.set_plan_sha256(d.plan_sha256());
  out.set_cause_type(d.cause_type());
  out.set_input_event_id(d.input_event_id());
  out.set_event_id(stored.event_id);
  return out;
}

Result<api::ListReferredResponse> ReviewHandler::ListReferred(
    const api::ListReferredRequest& request) const {
  std::vector<FieldViolation> bad;
  ReferredFilter filter;
  if (!ev::Coverage_IsValid(request.coverage())) {
    bad.push_back({"coverage", "is not a known coverage"});
  } else if (request.coverage() != ev::COVERAGE_UNSPECIFIED) {
    filter.coverage = request.coverage();
  }
  if (!ev::Reason_IsValid(request.reason())) {
    bad.push_back({"reason", "is not a known reason"});
  } else if (request.reason() != ev::REASON_UNSPECIFIED) {
    filter.reason = request.reason();
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    bad.push_back({"page_size", "must be 1-500 (0 for the default, 50)"});
  }
  std::string after;
  if (!request.page_token().empty()) {
    std::optional<std::string> key = QueueKeyOfToken(request.page_token());
    if (!key.has_value()) {
      bad.push_back({"page_token", "is not a token of a previous ListReferred response"});
    } else {
      after = *key;
    }
  }
  if (!bad.empty()) return InvalidArgument("the listing request is invalid", std::move(bad));
  const size_t page_size =
      static_cast<size_t>(request.page_size() == 0 ? kDefaultPageSize : request.page_size());
  Result<ReferredPage> page = model_.ListReferred(filter, page_size, after);
  if (!page.ok()) return page.status();
  api::ListReferredResponse out;
  for (const StoredDecision& d : page->decisions) *out.add_decisions() = ToApi(d);
  if (!page->next_after.empty()) out.set_next_page_token(Hex(page->next_after));
  return out;
}

Result<api::Decision> ReviewHandler::GetDecision(const api::GetDecisionRequest& request) const {
  std::vector<FieldViolation> bad;
  CheckClaimId(request.claim_id(), bad);
  if (!bad.empty()) return InvalidArgument("the request is invalid", std::move(bad));
  Result<std::optional<StoredDecision>> found = model_.Decision(request.claim_id());
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NotFound("no decision on claim " + request.claim_id());
  return ToApi(**found);
}

ev::Envelope ReviewHandler::ReviewEvent(const std::string& reviewer_id,
                                        const api::ReviewClaimRequest& request,
                                        const StoredDecision& current, uint32_t reviewed) const {
  const ev::ClaimDecided& d = current.decision;
  const std::string date = clock_.Today().ToString();
  ev::ReviewRecorded m;
  m.set_claim_id(d.claim_id());
  m.set_member_id(d.member_id());
  m.set_date(date);
  m.set_action(request.action() == api::APPROVE ? ev::ReviewRecorded::APPROVE
                                                : ev::ReviewRecorded::DENY);
  m.set_reviewer_id(reviewer_id);
  m.set_note(request.note());
  m.set_plan_id(d.plan_id());
  ev::Envelope e = codec::Wrap(codec::kReviewRecorded, m);
  e.set_event_id(ReviewEventId(d.claim_id(), reviewed));
  e.set_member_id(d.member_id());
  e.set_business_date(date);
  e.set_producer("adjudication");
  // The review joins the claim's trace.
  e.set_trace_id(current.trace_id.empty() ? e.event_id() : current.trace_id);
  return e;
}

Result<api::ReviewClaimResponse> ReviewHandler::ReviewClaim(
    const std::string& reviewer_id, const api::ReviewClaimRequest& request, Deadline deadline,
    const std::function<bool()>& cancelled) const {
  std::vector<FieldViolation> bad;
  CheckClaimId(request.claim_id(), bad);
  if (request.action() != api::APPROVE && request.action() != api::DENY) {
    bad.push_back({"action", "must be APPROVE or DENY"});
  }
  if (request.note().size() > kMaxNoteBytes) {
    bad.push_back({"note", "must be at most 500 bytes"});
  } else if (!IsValidUtf8(request.note())) {
    bad.push_back({"note", "is not valid UTF-8 text"});
  }
  if (!bad.empty()) return InvalidArgument("the review is invalid", std::move(bad));
  if (reviewer_id.empty()) return Unauthenticated("the reviewer has no id");

  // Answer a little before the caller's deadline, so that our status (naming the recorded
  // event) reaches it rather than its own DEADLINE_EXCEEDED.
  const auto start = std::chrono::steady_clock::now();
  const Deadline answer_by = deadline - start > kAnswerMargin ? deadline - kAnswerMargin : start;
  const Deadline until = std::min(answer_by, start + options_.max_wait);
  if (until <= start) return DeadlineExceeded("the call's deadline passed before the review");

  const std::string& claim_id = request.claim_id();
  Result<std::optional<StoredDecision>> current = model_.Decision(claim_id);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return NotFound("no decision on claim " + claim_id);
  const ev::ClaimDecided& d = (*current)->decision;
  if (request.revision() != 0 && request.revision() != d.revision()) {
    // A retry of this very review, recorded and decided already: the same answer again.
    if (d.revision() == request.revision() + 1 &&
        d.input_event_id() == ReviewEventId(claim_id, request.revision())) {
      const ev::Envelope again = ReviewEvent(reviewer_id, request, **current, request.revision());
      if (again.payload_sha256() == d.input_sha256()) return Answer(**current, again.event_id());
    }
    return FailedPrecondition("claim " + claim_id + " is " + Describe(d) + ", not at revision " +
                              std::to_string(request.revision()) + "; look at it again");
  }
  if (d.outcome() != ev::REFERRED) {
    return FailedPrecondition("claim " + claim_id + " is " + Describe(d) +
                              ", not REFERRED: only referred claims are reviewed");
  }
  const uint32_t reviewed = d.revision();
  const ev::Envelope event = ReviewEvent(reviewer_id, request, **current, reviewed);

  const auto publish_budget = std::min<std::chrono::steady_clock::duration>(
      options_.publish_timeout, until - std::chrono::steady_clock::now());
  const auto publish_ms = std::chrono::duration_cast<std::chrono::milliseconds>(publish_budget);
  if (publish_ms.count() <= 0) return DeadlineExceeded("no time left to record the review");
  if (Status s = log_.Append(event, publish_ms); !s.ok()) {
    const StatusCode code =
        s.code() == StatusCode::kDeadlineExceeded ? s.code() : StatusCode::kUnavailable;
    return Status(code, "the review of claim " + claim_id + " (event " + event.event_id() +
                            ") may not be recorded: " + s.message() +
                            "; retry: a retry records the same event");
  }

  // Wait for the decision the review leads to. The version is read before the model, so that
  // a change between the read and the wait is not missed.
  for (;;) {
    const uint64_t seen = model_.version();
    Result<std::optional<StoredDecision>> now = model_.Decision(claim_id);
    if (!now.ok()) return now.status();
    if (now->has_value() && (*now)->decision.revision() > reviewed) {
      const ev::ClaimDecided& after = (*now)->decision;
      if (after.input_event_id() == event.event_id() &&
          after.input_sha256() == event.payload_sha256()) {
        return Answer(**now, event.event_id());
      }
      return FailedPrecondition("the review was recorded as event " + event.event_id() +
                                " but changed nothing: claim " + claim_id + " is now " +
                                Describe(after));
    }
    Result<std::optional<ev::InputRejected>> rejected = model_.ReviewRejection(event.event_id());
    if (!rejected.ok()) return rejected.status();
    if (rejected->has_value() && (*rejected)->input_sha256() == event.payload_sha256()) {
      return FailedPrecondition("the review recorded as event " + event.event_id() +
                                " was rejected (" + (*rejected)->code() +
                                "): " + (*rejected)->detail());
    }
    if (model_.closed() || (cancelled && cancelled())) {
      return Unavailable("the review was recorded as event " + event.event_id() +
                         "; the wait for its decision was cut short (shutdown or cancellation): "
                         "GetDecision of claim " +
                         claim_id + " shows it once it is published");
    }
    const auto now_time = std::chrono::steady_clock::now();
    if (now_time >= until) {
      return DeadlineExceeded("the review was recorded as event " + event.event_id() +
                              "; the decision is not yet published: GetDecision of claim " +
                              claim_id + " shows it once it is");
    }
    model_.WaitForChange(seen, std::min(until, now_time + kCancelCheck));
  }
}

}  // namespace claims::adjudication
