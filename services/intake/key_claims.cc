#include "services/intake/key_claims.h"

#include <algorithm>
#include <utility>

namespace claims::intake {

namespace storage = ::mutualaid::intake::v1::storage;

KafkaKeyClaims::KafkaKeyClaims(store::StateStore& store, bus::Producer& producer,
                               std::unique_ptr<bus::Consumer> consumer, std::string topic)
    : store_(store), producer_(producer), consumer_(std::move(consumer)), topic_(std::move(topic)) {}

uint64_t KafkaKeyClaims::calls_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_read_;
}

Status KafkaKeyClaims::Assign(std::chrono::milliseconds timeout) {
  if (assigned_) return Status::Ok();
  Result<int32_t> partitions = consumer_->PartitionCount(topic_, timeout);
  if (!partitions.ok()) return partitions.status();
  std::vector<bus::TopicPartitionOffset> assignment;
  for (int32_t p = 0; p < *partitions; ++p) {
    Result<std::optional<int64_t>> stored = store_.ReadOffset(topic_, p);
    if (!stored.ok()) return stored.status();
    assignment.push_back({topic_, p, stored->value_or(bus::Consumer::kBeginning)});
    next_[p] = stored->value_or(0);
  }
  if (Status s = consumer_->Assign(assignment); !s.ok()) return s;
  assigned_ = true;
  return Status::Ok();
}

Status KafkaKeyClaims::CatchUp(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Assign(timeout); !s.ok()) return s;
  std::map<int32_t, int64_t> ends;
  for (const auto& [partition, next] : next_) {
    Result<std::pair<int64_t, int64_t>> marks =
        consumer_->Watermarks({topic_, partition}, timeout);
    if (!marks.ok()) return marks.status();
    if (marks->second > next) ends[partition] = marks->second;
  }
  return ReadTo(ends, deadline);
}

Status KafkaKeyClaims::ReadTo(const std::map<int32_t, int64_t>& targets,
                              std::chrono::steady_clock::time_point deadline) {
  auto behind = [&] {
    return std::any_of(targets.begin(), targets.end(),
                       [&](const auto& t) { return next_[t.first] < t.second; });
  };
  while (behind()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status(StatusCode::kDeadlineExceeded,
                    "the calls log " + topic_ + " was not read up to the calls in time");
    }
    const auto wait = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                               std::chrono::milliseconds(100));
    Result<std::vector<bus::ConsumerEvent>> events =
        consumer_->Poll(std::max(wait, std::chrono::milliseconds(1)), 4096);
    if (!events.ok()) return events.status();
    store::WriteBatch batch;
    std::map<std::string, bool> seen;  // record keys given a holder by this batch
    std::map<int32_t, int64_t> read;
    for (const bus::ConsumerEvent& e : *events) {
      if (e.kind != bus::ConsumerEvent::Kind::kMessage || e.message.topic != topic_) continue;
      const bus::Message& m = e.message;
      read[m.partition] = m.offset + 1;
      ++calls_read_;
      storage::IdempotencyRecord call;
      if (!m.has_key || !call.ParseFromString(m.value)) continue;  // not a call: skipped
      if (seen.count(m.key) > 0) continue;                          // held earlier in this batch
      Result<std::optional<std::string>> held = store_.Get(kKeyHoldersCf, m.key);
      if (!held.ok()) return held.status();
      if (held->has_value()) continue;  // held by an earlier call
      seen[m.key] = true;
      batch.Put(kKeyHoldersCf, m.key, m.value);
    }
    if (read.empty()) continue;
    for (const auto& [partition, next] : read) batch.SetOffset(topic_, partition, next);
    if (Status s = store_.Write(batch, store::Durability::kNoSync); !s.ok()) return s;
    for (const auto& [partition, next] : read) next_[partition] = next;
  }
  return Status::Ok();
}

std::vector<Result<storage::IdempotencyRecord>> KafkaKeyClaims::ClaimAll(
    const std::vector<Claim>& claims, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Result<storage::IdempotencyRecord>> out(
      claims.size(), Status(StatusCode::kInternal, "claim not decided"));
  if (claims.empty()) return out;
  if (Status health = store_.WriteHealth(); !health.ok()) {
    for (auto& r : out) r = health;  // what is read could not be kept
    return out;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Assign(timeout); !s.ok()) {
    for (auto& r : out) r = s;
    return out;
  }
  std::vector<bus::OutgoingMessage> records;
  records.reserve(claims.size());
  for (const Claim& c : claims) {
    records.push_back({topic_, c.record_key, c.call.SerializeAsString(),
                       {{"type", "mutualaid.intake.v1.storage.IdempotencyRecord"}}});
  }
  const std::vector<bus::Delivery> delivered = producer_.ProduceAll(records, timeout);
  std::map<int32_t, int64_t> targets;
  for (size_t i = 0; i < claims.size(); ++i) {
    if (!delivered[i].status.ok()) {
      out[i] = delivered[i].status;
      continue;
    }
    int64_t& target = targets[delivered[i].partition];
    target = std::max(target, delivered[i].offset + 1);
  }
  if (Status s = ReadTo(targets, deadline); !s.ok()) {
    for (size_t i = 0; i < claims.size(); ++i) {
      if (delivered[i].status.ok()) out[i] = s;
    }
    return out;
  }
  for (size_t i = 0; i < claims.size(); ++i) {
    if (!delivered[i].status.ok()) continue;
    Result<std::optional<std::string>> held = store_.Get(kKeyHoldersCf, claims[i].record_key);
    if (!held.ok()) {
      out[i] = held.status();
      continue;
    }
    storage::IdempotencyRecord holder;
    if (!held->has_value() || !holder.ParseFromString(**held)) {
      out[i] = DataLoss("the calls log was read past a claim that holds no key");
      continue;
    }
    out[i] = std::move(holder);
  }
  return out;
}

}  // namespace claims::intake
