#include "tools/claimsctl/audit/cluster_export.h"

#include <map>

#include "libs/bus/consumer.h"
#include "libs/events/topics.h"

namespace claims::audit {

Status ExportFromCluster(const ClusterExportOptions& options, ExportWriter& writer) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + options.timeout;
  const auto metadata_timeout = std::chrono::milliseconds(10000);
  bus::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = options.bootstrap_servers;
  consumer_options.client_id = "claimsctl-export";
  consumer_options.properties = options.kafka_properties;
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(consumer_options);
  if (!consumer.ok()) return consumer.status();
  std::vector<std::string> topics = options.topics;
  if (topics.empty()) {
    topics = {events::kIntakeTopic, events::kDecisionsTopic, events::kPaymentsTopic};
  }
  // (topic, partition) -> the high watermark to reach.
  std::map<bus::TopicPartition, int64_t> pending;
  std::vector<bus::TopicPartitionOffset> assignment;
  uint64_t expected = 0;
  for (const std::string& topic : topics) {
    Result<int32_t> count = (*consumer)->PartitionCount(topic, metadata_timeout);
    if (!count.ok()) return count.status();
    for (int32_t p = 0; p < *count; ++p) {
      writer.DeclarePartition(topic, p);
      Result<std::pair<int64_t, int64_t>> marks =
          (*consumer)->Watermarks({topic, p}, metadata_timeout);
      if (!marks.ok()) return marks.status();
      if (marks->second <= marks->first) continue;
      pending[{topic, p}] = marks->second;
      assignment.push_back({topic, p, marks->first});
      expected += static_cast<uint64_t>(marks->second - marks->first);
    }
  }
  if (assignment.empty()) return Status::Ok();
  if (Status s = (*consumer)->Assign(assignment); !s.ok()) return s;
  uint64_t done = 0;
  while (!pending.empty()) {
    if (steady_clock::now() >= deadline) {
      std::string which;
      for (const auto& [tp, high] : pending) {
        which += " " + tp.topic + "/" + std::to_string(tp.partition);
      }
      return Status(StatusCode::kDeadlineExceeded,
                    "the export timed out before reaching the watermark of:" + which);
    }
    Result<std::vector<bus::ConsumerEvent>> batch =
        (*consumer)->Poll(std::chrono::milliseconds(200), 10000);
    if (!batch.ok()) return batch.status();
    for (const bus::ConsumerEvent& event : *batch) {
      if (event.kind != bus::ConsumerEvent::Kind::kMessage) continue;
      const bus::Message& m = event.message;
      auto it = pending.find({m.topic, m.partition});
      if (it == pending.end() || m.offset >= it->second) continue;  // after the snapshot
      if (Status s = writer.Append(m.topic, m.partition, m.offset, m.key, m.value); !s.ok()) {
        return s;
      }
      ++done;
      if (m.offset + 1 >= it->second) pending.erase(it);
    }
    if (options.progress) options.progress(done, expected);
  }
  return Status::Ok();
}

}  // namespace claims::audit
