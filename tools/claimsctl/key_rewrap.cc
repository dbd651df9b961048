#include "tools/claimsctl/key_rewrap.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/crypto/aes_gcm.h"
#include "libs/crypto/key_wrap.h"
#include "services/intake/key_tombstones.h"
#include "services/intake/vault.h"

namespace claims::ctl {
namespace {

using std::chrono::steady_clock;
using PartitionKey = std::pair<int32_t, std::string>;  // compaction is per partition and key

constexpr auto kMetadataTimeout = std::chrono::seconds(10);
constexpr size_t kRecordsPerProduce = 10000;

// The latest record of one key id up to the snapshot.
struct Latest {
  int64_t offset = 0;
  std::string value;  // empty: a tombstone (the followers read a null value as empty too)
  bus::Headers headers;
  bool erased = false;  // some record of the key up to this one was a tombstone
};

std::chrono::milliseconds Left(steady_clock::time_point deadline) {
  return std::max(
      std::chrono::milliseconds(1),
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now()));
}

// Reads [from, to) of each partition of `topic` in `ranges` (partition -> {from, to}), outside
// any group, calling `visit` with every record in that range in partition order.
// DEADLINE_EXCEEDED naming the partitions not read to their end when `deadline` passes first.
Status ReadRanges(bus::Consumer& consumer, const std::string& topic,
                  const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges,
                  steady_clock::time_point deadline,
                  const std::function<void(const bus::Message&)>& visit) {
  std::map<int32_t, std::pair<int64_t, int64_t>> pending;  // what is left to read
  std::vector<bus::TopicPartitionOffset> assignment;
  for (const auto& [partition, range] : ranges) {
    if (range.second <= range.first) continue;
    pending[partition] = range;
    assignment.push_back({topic, partition, range.first});
  }
  if (assignment.empty()) return Status::Ok();
  if (Status s = consumer.Assign(assignment); !s.ok()) return s;
  while (!pending.empty()) {
    if (steady_clock::now() >= deadline) {
      std::string which;
      for (const auto& [partition, range] : pending) {
        which += " " + topic + "/" + std::to_string(partition);
      }
      return Status(StatusCode::kDeadlineExceeded,
                    "timed out before reading to the end of:" + which);
    }
    Result<std::vector<bus::ConsumerEvent>> batch =
        consumer.Poll(std::chrono::milliseconds(100), 10000);
    if (!batch.ok()) return batch.status();
    for (const bus::ConsumerEvent& event : *batch) {
      if (event.kind != bus::ConsumerEvent::Kind::kMessage) continue;
      const bus::Message& m = event.message;
      auto it = pending.find(m.partition);
      if (it == pending.end() || m.offset < it->second.first || m.offset >= it->second.second) {
        continue;
      }
      visit(m);
      if (m.offset + 1 >= it->second.second) pending.erase(it);
    }
  }
  return Status::Ok();
}

std::string MemberOf(const std::string& key_id, const bus::Headers& headers) {
  if (const std::string* member = bus::FindHeader(headers, "member-id")) return *member;
  return intake::MemberOfKeyId(key_id);
}

}  // namespace

Result<RewrapResult> RewrapKeys(const crypto::MasterKey& old_key, const crypto::MasterKey& new_key,
                                const RewrapOptions& options) {
  const steady_clock::time_point deadline = steady_clock::now() + options.timeout;
  bus::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = options.bootstrap_servers;
  consumer_options.client_id = "claimsctl-keys";
  consumer_options.properties = options.kafka_properties;
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(consumer_options);
  if (!consumer.ok()) return consumer.status();
  Result<int32_t> partitions = (*consumer)->PartitionCount(options.topic, kMetadataTimeout);
  if (!partitions.ok()) {
    if (partitions.status().code() == StatusCode::kNotFound) {
      return NotFound("topic " + options.topic + " does not exist on the cluster");
    }
    return partitions.status();
  }

  // 1. The snapshot, and the latest record of each key id up to it.
  std::map<int32_t, std::pair<int64_t, int64_t>> snapshot;
  uint64_t expected = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    Result<std::pair<int64_t, int64_t>> marks =
        (*consumer)->Watermarks({options.topic, p}, kMetadataTimeout);
    if (!marks.ok()) return marks.status();
    snapshot[p] = *marks;
    expected += static_cast<uint64_t>(std::max<int64_t>(0, marks->second - marks->first));
  }
  RewrapResult result;
  std::map<PartitionKey, Latest> latest;
  Status read =
      ReadRanges(**consumer, options.topic, snapshot, deadline, [&](const bus::Message& m) {
        ++result.read;
        if (m.has_key) {
          Latest& l = latest[{m.partition, m.key}];
          l.offset = m.offset;
          l.value = m.value;
          l.headers = m.headers;
          l.erased = l.erased || m.value.empty();
        }
        if (options.progress && result.read % 1000 == 0) options.progress(result.read, expected);
      });
  if (!read.ok()) return read;
  if (options.progress) options.progress(result.read, expected);

  // 2. Classify; re-wrap in memory.
  const crypto::MasterKeys masters(new_key, old_key);
  crypto::RandomNonceSource nonces;
  std::vector<bus::OutgoingMessage> records;
  std::map<PartitionKey, std::string> erase;  // -> member id: to tombstone (again)
  for (const auto& [where, record] : latest) {
    if (record.value.empty()) continue;
    const auto& [partition, key_id] = where;
    if (record.erased) {
      // A tombstone then a live record: an erasure overtaken by a re-wrapped record of a run
      // whose step 4 did not finish (intake never reuses a key id). Erasure wins.
      erase[where] = MemberOf(key_id, record.headers);
      continue;
    }
    ++result.live;
    Result<crypto::UnwrappedKey> key = crypto::UnwrapKeyWithEither(masters, key_id, record.value);
    if (!key.ok()) {
      ++result.failed;
      result.failures.push_back({MemberOf(key_id, record.headers), partition, record.offset,
                                 key.status().code() == StatusCode::kDataLoss
                                     ? "does not unwrap under the old or the new master key"
                                     : "is not a wrapped key (" + key.status().message() + ")"});
      continue;
    }
    if (!key->by_previous) {
      ++result.already_new;
      continue;
    }
    Result<std::string> wrapped = crypto::WrapKey(new_key, key->key, nonces);
    if (!wrapped.ok()) return wrapped.status();
    bus::OutgoingMessage out;
    out.topic = options.topic;
    out.partition = partition;  // where the record it replaces is: compaction is per partition
    out.key = key_id;
    out.value = std::move(wrapped).value();
    out.headers = record.headers;
    records.push_back(std::move(out));
  }
  std::map<PartitionKey, std::string> members;  // of the records we write
  for (const bus::OutgoingMessage& r : records) {
    members[{r.partition, r.key}] = MemberOf(r.key, latest[{r.partition, r.key}].headers);
  }
  latest.clear();
  if (options.before_writes) options.before_writes();
  if (options.dry_run) {
    result.rewrapped = records.size();
    result.erased_during_run = erase.size();
    return result;
  }

  // 3. Write, and wait for every outcome. The producer is gone before the re-read: nothing of
  // ours can land after it.
  uint64_t unacknowledged = 0;
  if (!records.empty()) {
    bus::ProducerOptions producer_options;
    producer_options.bootstrap_servers = options.bootstrap_servers;
    producer_options.client_id = "claimsctl-keys";
    producer_options.message_timeout_ms = static_cast<int>(Left(deadline).count());
    producer_options.properties = options.kafka_properties;
    Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(producer_options);
    if (!producer.ok()) return producer.status();
    for (size_t i = 0; i < records.size(); i += kRecordsPerProduce) {
      const auto first = records.begin() + static_cast<std::ptrdiff_t>(i);
      const std::vector<bus::OutgoingMessage> chunk(
          first,
          first + static_cast<std::ptrdiff_t>(std::min(kRecordsPerProduce, records.size() - i)));
      const std::vector<bus::Delivery> delivered = (*producer)->ProduceAll(chunk, Left(deadline));
      for (const bus::Delivery& d : delivered) {
        if (d.status.ok()) {
          ++result.rewrapped;
        } else {
          ++unacknowledged;
        }
      }
    }
  }
  records.clear();

  // 4. Erasure wins: tombstones after the snapshot, of keys we wrote (acknowledged or not: an
  // unknown outcome may have landed), are written again after our records.
  if (!members.empty()) {
    std::map<int32_t, std::pair<int64_t, int64_t>> since;
    Status reread;
    for (const auto& [partition, marks] : snapshot) {
      Result<std::pair<int64_t, int64_t>> now =
          (*consumer)->Watermarks({options.topic, partition}, kMetadataTimeout);
      if (!now.ok()) {
        reread = now.status();
        break;
      }
      since[partition] = {marks.second, now->second};
    }
    if (reread.ok()) {
      reread = ReadRanges(**consumer, options.topic, since, deadline, [&](const bus::Message& m) {
        if (!m.has_key || !m.value.empty()) return;
        auto it = members.find({m.partition, m.key});
        if (it != members.end()) erase[it->first] = it->second;
      });
    }
    if (!reread.ok()) {
      result.incomplete = Status(
          reread.code() == StatusCode::kDeadlineExceeded ? StatusCode::kDeadlineExceeded
                                                         : StatusCode::kUnavailable,
          "the erasure check after the writes did not finish (" + reread.message() +
              "): run again at once; a re-run tombstones again every key erased before one of "
              "this run's records, while the topic is not yet compacted");
    }
  }
  if (!erase.empty()) {
    std::vector<std::string> key_ids;
    for (const auto& [where, member] : erase) key_ids.push_back(where.second);
    bus::ProducerOptions tombstone_options;
    tombstone_options.bootstrap_servers = options.bootstrap_servers;
    tombstone_options.client_id = "claimsctl-keys";
    tombstone_options.properties = options.kafka_properties;
    intake::KafkaKeyTombstoneWriter tombstones(tombstone_options);
    // Writing a tombstone again is harmless: after a failure the whole set is written again.
    Status written;
    for (int attempt = 0; attempt < 5; ++attempt) {
      written = tombstones.Write(options.topic, key_ids, Left(deadline));
      if (written.ok() || steady_clock::now() >= deadline) break;
    }
    if (written.ok()) {
      result.erased_during_run = erase.size();
    } else {
      for (const auto& [where, member] : erase) result.erase_again.push_back(member);
      std::sort(result.erase_again.begin(), result.erase_again.end());
      result.erase_again.erase(std::unique(result.erase_again.begin(), result.erase_again.end()),
                               result.erase_again.end());
      std::string message = std::to_string(key_ids.size()) +
                            " keys erased during the run could not be tombstoned again (" +
                            written.message() + "): erase their members again";
      if (!result.incomplete.ok()) message = result.incomplete.message() + "; and " + message;
      result.incomplete =
          Status(written.code() == StatusCode::kDeadlineExceeded ? StatusCode::kDeadlineExceeded
                                                                 : StatusCode::kUnavailable,
                 message);
    }
  }
  if (result.incomplete.ok() && unacknowledged > 0) {
    result.incomplete = Unavailable(std::to_string(unacknowledged) +
                                    " re-wrapped records were not acknowledged: run again");
  }
  return result;
}

}  // namespace claims::ctl
