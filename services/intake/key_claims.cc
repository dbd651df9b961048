#include "services/intake/key_claims.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "libs/events/follower.h"

namespace claims::intake {

namespace storage = ::mutualaid::intake::v1::storage;

namespace {

// 96 random bits in hex; if the system's generator fails, the process id and the time, which
// still differ between the processes of one log.
std::string RandomReplicaName() {
  std::array<uint8_t, 12> bits;
  if (crypto::RandomBytes(bits).ok()) {
    return crypto::ToHex(std::string_view(reinterpret_cast<const char*>(bits.data()), bits.size()));
  }
  return std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

KafkaKeyClaims::KafkaKeyClaims(store::StateStore& store, bus::Producer& producer,
                               std::unique_ptr<bus::Consumer> consumer, std::string topic,
                               std::string replica)
    : store_(store),
      producer_(producer),
      consumer_(std::move(consumer)),
      topic_(std::move(topic)),
      replica_(replica.empty() ? RandomReplicaName() : std::move(replica)) {}

uint64_t KafkaKeyClaims::calls_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_read_;
}

Status KafkaKeyClaims::Assign(std::chrono::milliseconds timeout) {
  if (assigned_) return Status::Ok();
  Result<std::vector<bus::TopicPartitionOffset>> assignment =
      events::AssignFromStore(*consumer_, store_, {topic_}, timeout);
  if (!assignment.ok()) return assignment.status();
  for (const bus::TopicPartitionOffset& tp : *assignment) {
    next_[tp.partition] = tp.offset == bus::Consumer::kBeginning ? 0 : tp.offset;
  }
  assigned_ = true;
  return Status::Ok();
}

Status KafkaKeyClaims::CatchUp(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Assign(timeout); !s.ok()) return s;
  std::map<int32_t, int64_t> ends;
  for (const auto& [partition, next] : next_) {
    Result<std::pair<int64_t, int64_t>> marks = consumer_->Watermarks({topic_, partition}, timeout);
    if (!marks.ok()) return marks.status();
    if (marks->second > next) ends[partition] = marks->second;
  }
  return ReadTo(ends, deadline);
}

Result<std::string> KafkaKeyClaims::Hold(const std::string& record_key, const std::string& call,
                                         store::WriteBatch& batch,
                                         std::map<std::string, std::string>& held_in_batch) {
  if (auto earlier = held_in_batch.find(record_key); earlier != held_in_batch.end()) {
    return earlier->second;  // held earlier in this batch
  }
  Result<std::optional<std::string>> held = store_.Get(kKeyHoldersCf, record_key);
  if (!held.ok()) return held.status();
  if (held->has_value()) return std::move(**held);  // held by an earlier call
  held_in_batch.emplace(record_key, call);
  batch.Put(kKeyHoldersCf, record_key, call);
  return call;
}

Result<size_t> KafkaKeyClaims::ReadOnce(std::chrono::milliseconds wait) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_->Poll(wait, 4096);
  if (!events.ok()) return events.status();
  store::WriteBatch batch;
  std::map<std::string, std::string> held_in_batch;
  std::map<int32_t, int64_t> read;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage || e.message.topic != topic_) continue;
    const bus::Message& m = e.message;
    if (m.offset < next_[m.partition]) continue;  // applied already (ClaimAll's own claims)
    read[m.partition] = m.offset + 1;
    ++calls_read_;
    storage::IdempotencyRecord call;
    if (!m.has_key || !call.ParseFromString(m.value)) continue;  // not a call: skipped
    if (Result<std::string> held = Hold(m.key, m.value, batch, held_in_batch); !held.ok()) {
      return held.status();
    }
  }
  if (read.empty()) return events->size();
  for (const auto& [partition, next] : read) batch.SetOffset(topic_, partition, next);
  if (Status s = store_.Write(batch, store::Durability::kNoSync); !s.ok()) return s;
  for (const auto& [partition, next] : read) next_[partition] = next;
  return events->size();
}

Status KafkaKeyClaims::ReadAvailable() {
  for (int i = 0; i < 64; ++i) {  // bounded: what keeps arriving is read on the next call
    Result<size_t> read = ReadOnce(std::chrono::milliseconds(0));
    if (!read.ok()) return read.status();
    if (*read == 0) break;
  }
  return Status::Ok();
}

Status KafkaKeyClaims::Follow(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
  while (!stop.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (assigned_) {
        if (Status s = ReadAvailable(); s.code() == StatusCode::kAborted) return s;
      }
    }
    for (auto slept = std::chrono::milliseconds(0); slept < interval && !stop.load();
         slept += std::chrono::milliseconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return Status::Ok();
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
    const auto wait =
        std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                 std::chrono::milliseconds(100));
    if (Result<size_t> read = ReadOnce(std::max(wait, std::chrono::milliseconds(1))); !read.ok()) {
      return read.status();
    }
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
  // What the consumer holds already: read without waiting, so that the log is known as far as
  // it can be (and the consumer's buffer, which this replica's own claims fill too, is emptied).
  if (Status s = ReadAvailable(); !s.ok()) {
    for (auto& r : out) r = s;
    return out;
  }
  std::vector<bus::OutgoingMessage> records;
  records.reserve(claims.size());
  for (const Claim& c : claims) {
    storage::IdempotencyRecord call = c.call;
    call.set_claimed_by(replica_);
    records.push_back({topic_,
                       c.record_key,
                       call.SerializeAsString(),
                       {{"type", "mutualaid.intake.v1.storage.IdempotencyRecord"}}});
  }
  const std::vector<bus::Delivery> delivered = producer_.ProduceAll(records, timeout);
  std::map<int32_t, int64_t> targets;
  // Per partition: the claims appended there, by offset.
  std::map<int32_t, std::map<int64_t, size_t>> appended;
  for (size_t i = 0; i < claims.size(); ++i) {
    if (!delivered[i].status.ok()) {
      out[i] = delivered[i].status;
      continue;
    }
    int64_t& target = targets[delivered[i].partition];
    target = std::max(target, delivered[i].offset + 1);
    appended[delivered[i].partition][delivered[i].offset] = i;
  }
  // Where this replica had read the log to its end before appending, and nothing else was
  // appended among its claims (their offsets follow the last one read without a gap), the
  // claims are all there is to read: they are applied as they were appended, without reading
  // them back, and their holders are known as they are applied. Elsewhere the log is read up to
  // them, and their holders are read from the store after.
  std::map<int32_t, int64_t> unread;
  store::WriteBatch own;
  std::vector<std::optional<std::string>> holders(claims.size());
  for (const auto& [partition, target] : targets) {
    const auto& offsets = appended[partition];
    const int64_t first = offsets.begin()->first;
    if (first != next_[partition] || target - first != static_cast<int64_t>(offsets.size())) {
      unread[partition] = target;
      continue;
    }
    std::map<std::string, std::string> held_in_batch;
    for (const auto& [offset, i] : offsets) {
      Result<std::string> held = Hold(claims[i].record_key, records[i].value, own, held_in_batch);
      if (!held.ok()) {
        for (auto& r : out) r = held.status();
        return out;
      }
      holders[i] = std::move(held).value();
    }
    own.SetOffset(topic_, partition, target);
  }
  if (!own.empty()) {
    if (Status s = store_.Write(own, store::Durability::kNoSync); !s.ok()) {
      for (auto& r : out) r = s;
      return out;
    }
    for (const auto& [partition, target] : targets) {
      if (unread.count(partition) > 0) continue;
      next_[partition] = target;
      calls_read_ += appended[partition].size();
    }
  }
  if (Status s = ReadTo(unread, deadline); !s.ok()) {
    for (size_t i = 0; i < claims.size(); ++i) {
      if (delivered[i].status.ok()) out[i] = s;
    }
    return out;
  }
  for (size_t i = 0; i < claims.size(); ++i) {
    if (!delivered[i].status.ok()) continue;
    if (!holders[i].has_value()) {
      Result<std::optional<std::string>> held = store_.Get(kKeyHoldersCf, claims[i].record_key);
      if (!held.ok()) {
        out[i] = held.status();
        continue;
      }
      holders[i] = std::move(held).value();
    }
    storage::IdempotencyRecord holder;
    if (!holders[i].has_value() || !holder.ParseFromString(*holders[i])) {
      out[i] = DataLoss("the calls log was read past a claim that holds no key");
      continue;
    }
    out[i] = std::move(holder);
  }
  return out;
}

}  // namespace claims::intake
