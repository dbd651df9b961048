#include "services/adjudication/review_model.h"

#include <algorithm>
#include <thread>

#include "libs/domain/codec/event_codec.h"
#include "libs/events/follower.h"
#include "services/adjudication/adjudication_fold.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

Result<StoredDecision> ParseStored(const std::string& claim_id, const std::string& bytes) {
  ev::Envelope envelope;
  StoredDecision out;
  if (!envelope.ParseFromString(bytes) || !out.decision.ParseFromString(envelope.payload())) {
    return DataLoss("stored decision of claim " + claim_id + " is corrupt");
  }
  out.event_id = envelope.event_id();
  out.trace_id = envelope.trace_id();
  return out;
}

bool Matches(const ReferredFilter& filter, const ev::ClaimDecided& d) {
  if (d.outcome() != ev::REFERRED) return false;
  if (filter.coverage.has_value() && d.coverage() != *filter.coverage) return false;
  if (filter.reason.has_value() &&
      std::find(d.reasons().begin(), d.reasons().end(), *filter.reason) == d.reasons().end()) {
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> ReviewColumnFamilies() {
  return {kReviewDecisionsCf, kReviewQueueCf, kReviewRejectionsCf};
}

std::string QueueKey(const std::string& decided_on, const std::string& claim_id) {
  std::string key = decided_on;
  key += '\0';
  key += claim_id;
  return key;
}

// ---- ReviewModel ----

Result<std::optional<StoredDecision>> ReviewModel::Decision(const std::string& claim_id) const {
  Result<std::optional<std::string>> found = store_.Get(kReviewDecisionsCf, claim_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<StoredDecision>();
  Result<StoredDecision> parsed = ParseStored(claim_id, **found);
  if (!parsed.ok()) return parsed.status();
  return std::optional<StoredDecision>(std::move(parsed).value());
}

Result<std::optional<ev::InputRejected>> ReviewModel::ReviewRejection(
    const std::string& event_id) const {
  Result<std::optional<std::string>> found = store_.Get(kReviewRejectionsCf, event_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<ev::InputRejected>();
  ev::Envelope envelope;
  ev::InputRejected rejected;
  if (!envelope.ParseFromString(**found) || !rejected.ParseFromString(envelope.payload())) {
    return DataLoss("stored rejection of review " + event_id + " is corrupt");
  }
  return std::optional<ev::InputRejected>(std::move(rejected));
}

Result<ReferredPage> ReviewModel::ListReferred(const ReferredFilter& filter, size_t page_size,
                                               const std::string& after) const {
  ReferredPage page;
  Status inner;
  // The smallest key after `after` is `after` + '\0'.
  const std::string begin = after.empty() ? std::string() : after + std::string(1, '\0');
  std::string last_key;
  Status scanned = store_.ScanRange(
      kReviewQueueCf, begin, "", [&](std::string_view key, std::string_view claim_id) {
        Result<std::optional<StoredDecision>> d = Decision(std::string(claim_id));
        if (!d.ok()) {
          inner = d.status();
          return false;
        }
        if (!d->has_value() || !Matches(filter, (*d)->decision)) return true;
        if (page.decisions.size() == page_size) {
          page.next_after = last_key;  // one more matches: there is a next page
          return false;
        }
        page.decisions.push_back(std::move(**d));
        last_key = std::string(key);
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!inner.ok()) return inner;
  return page;
}

uint64_t ReviewModel::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t ReviewModel::WaitForChange(uint64_t seen,
                                    std::chrono::steady_clock::time_point until) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_until(lock, until, [&] { return version_ != seen || closed_; });
  return version_;
}

void ReviewModel::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool ReviewModel::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void ReviewModel::NotifyChanged() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++version_;
  }
  changed_.notify_all();
}

// ---- DecisionFollower ----

Status DecisionFollower::Start(std::chrono::milliseconds timeout) {
  return events::AssignFromStore(consumer_, store_, {kDecisionsTopic}, timeout).status();
}

Result<std::optional<StoredDecision>> DecisionFollower::Load(const std::string& claim_id) {
  if (auto it = pending_.find(claim_id); it != pending_.end()) {
    return std::optional<StoredDecision>(it->second);
  }
  return model_.Decision(claim_id);
}

Status DecisionFollower::Apply(const bus::Message& message, store::WriteBatch& batch) {
  ev::Envelope envelope;
  if (!envelope.ParseFromString(message.value)) return ++skipped_, Status::Ok();
  if (envelope.type() == codec::kInputRejected) {
    ev::InputRejected rejected;
    if (!rejected.ParseFromString(envelope.payload())) return ++skipped_, Status::Ok();
    if (rejected.input_type() != codec::kReviewRecorded) return Status::Ok();
    batch.Put(kReviewRejectionsCf, rejected.input_event_id(), message.value);
    return Status::Ok();
  }
  if (envelope.type() != codec::kClaimDecided) return ++skipped_, Status::Ok();
  StoredDecision next;
  if (!next.decision.ParseFromString(envelope.payload()) || next.decision.claim_id().empty()) {
    return ++skipped_, Status::Ok();
  }
  next.event_id = envelope.event_id();
  next.trace_id = envelope.trace_id();
  const ev::ClaimDecided& d = next.decision;
  Result<std::optional<StoredDecision>> previous = Load(d.claim_id());
  if (!previous.ok()) return previous.status();
  if (previous->has_value()) {
    const ev::ClaimDecided& p = (*previous)->decision;
    if (d.revision() <= p.revision()) {  // a repeat or an older decision
      if (duplicates_ != nullptr) duplicates_->Increment();
      return Status::Ok();
    }
    if (p.outcome() == ev::REFERRED)
      batch.Delete(kReviewQueueCf, QueueKey(p.decided_on(), p.claim_id()));
  }
  if (d.outcome() == ev::REFERRED) {
    batch.Put(kReviewQueueCf, QueueKey(d.decided_on(), d.claim_id()), d.claim_id());
  }
  batch.Put(kReviewDecisionsCf, d.claim_id(), message.value);
  pending_[d.claim_id()] = std::move(next);
  return Status::Ok();
}

Result<size_t> DecisionFollower::PollOnce(std::chrono::milliseconds timeout) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, 2000);
  if (!events.ok()) return events.status();
  store::WriteBatch batch;
  pending_.clear();
  std::map<int32_t, int64_t> next;
  size_t consumed = 0;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
    if (e.message.topic != kDecisionsTopic) continue;
    if (Status s = Apply(e.message, batch); !s.ok()) {
      pending_.clear();
      return s;
    }
    next[e.message.partition] = e.message.offset + 1;
    ++consumed;
  }
  pending_.clear();
  if (consumed == 0) return consumed;
  for (const auto& [partition, offset] : next) batch.SetOffset(kDecisionsTopic, partition, offset);
  if (Status s = store_.Write(batch); !s.ok()) return s;
  model_.NotifyChanged();
  return consumed;
}

Status DecisionFollower::Run(const std::atomic<bool>& stop) {
  return events::RunFollower(stop, *this);
}

}  // namespace claims::adjudication
