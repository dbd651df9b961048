#include "libs/bus/consumer.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>

#include "libs/bus/errors.h"
#include "libs/bus/kafka_status.h"

namespace claims::bus {

struct Consumer::Impl {
  ConsumerOptions options;
  rd_kafka_t* rk = nullptr;
  bool closed = false;
  bool subscribed = false;
  // options.logger, until ~Consumer keeps the handle: librdkafka's threads then log nowhere,
  // since the logger need not outlive the Consumer.
  std::mutex logger_mu;
  const runtime::Logger* logger = nullptr;  // guarded by logger_mu
  // A rebalance callback came: the coordinator answered a SyncGroup (see Close).
  bool synced = false;
  // Close found the member joined but not synced (DestroyWouldAbort), with the group still there
  // to ask.
  bool joined_unsynced = false;
  // librdkafka did not finish closing within close_timeout_ms: destroying would wait for it.
  bool close_unfinished = false;
  // The queue that close posts to, while it has not finished: kept with the handle.
  rd_kafka_queue_t* close_queue = nullptr;
  // What the first Close answered; a later Close answers the same.
  Status close_status;
  // The configured assignors are cooperative (incremental assign and unassign). Known from the
  // configuration: asking the group (rd_kafka_rebalance_protocol) inside a rebalance callback
  // that rd_kafka_consumer_close serves can wait forever (librdkafka issue 4041, in 2.0 still).
  bool cooperative = true;
  // Rebalances seen inside librdkafka's callback, handed to the caller by the next Poll.
  std::vector<ConsumerEvent> rebalances;
};

namespace {

using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                      decltype(&rd_kafka_topic_partition_list_destroy)>;

PartitionList NewList(int size) {
  return PartitionList(rd_kafka_topic_partition_list_new(size),
                       &rd_kafka_topic_partition_list_destroy);
}

PartitionList ToList(const std::vector<TopicPartitionOffset>& offsets) {
  PartitionList list = NewList(static_cast<int>(offsets.size()));
  for (const auto& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  }
  return list;
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back(TopicPartition{list->elems[i].topic, list->elems[i].partition});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Describe(const TopicPartition& tp) {
  return tp.topic + "[" + std::to_string(tp.partition) + "]";
}

// The first per-partition error of `list`, as a Status.
Status FirstPartitionError(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* list,
                           const std::string& what) {
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::FromKafka(rk, e.err,
                                 what + " " + Describe(TopicPartition{e.topic, e.partition}));
    }
  }
  return Status::Ok();
}

void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void* opaque) {
  auto* impl = static_cast<Consumer::Impl*>(opaque);
  const bool cooperative = impl->cooperative;
  ConsumerEvent event;
  event.partitions = FromList(parts);
  Status applied;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    event.kind = ConsumerEvent::Kind::kAssigned;
    applied = cooperative
                  ? internal::FromKafkaError(rk, rd_kafka_incremental_assign(rk, parts), "assign")
                  : internal::FromKafka(rk, rd_kafka_assign(rk, parts), "assign");
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    event.kind = ConsumerEvent::Kind::kRevoked;
    event.lost = rd_kafka_assignment_lost(rk) != 0;
    applied = cooperative ? internal::FromKafkaError(rk, rd_kafka_incremental_unassign(rk, parts),
                                                     "unassign")
                          : internal::FromKafka(rk, rd_kafka_assign(rk, nullptr), "unassign");
  } else {
    event.kind = ConsumerEvent::Kind::kRevoked;
    event.lost = true;
    applied = internal::FromKafka(rk, err, "rebalance");
    (void)rd_kafka_assign(rk, nullptr);
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS || err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    impl->synced = true;
  }
  if (impl->closed) return;
  if (!event.partitions.empty()) impl->rebalances.push_back(std::move(event));
  if (!applied.ok()) {
    ConsumerEvent error;
    error.kind = ConsumerEvent::Kind::kError;
    error.error = applied;
    impl->rebalances.push_back(std::move(error));
  }
  // Return from the current poll so the caller sees the rebalance right away.
  rd_kafka_yield(rk);
}

void OnLog(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  auto* impl = static_cast<Consumer::Impl*>(rd_kafka_opaque(rk));
  if (impl == nullptr) return;
  std::lock_guard<std::mutex> lock(impl->logger_mu);
  if (impl->logger != nullptr) internal::LogKafkaLine(*impl->logger, rk, level, facility, text);
}

Message ToMessage(const rd_kafka_message_t* m, bool read_headers) {
  Message out;
  out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  out.offset = m->offset;
  out.has_key = m->key != nullptr;
  if (m->key != nullptr) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) out.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_timestamp_type_t type;
  out.timestamp_ms = rd_kafka_message_timestamp(m, &type);
  rd_kafka_headers_t* headers = nullptr;
  if (read_headers && rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.push_back(Header{name, value == nullptr
                                             ? std::string()
                                             : std::string(static_cast<const char*>(value), size)});
    }
  }
  return out;
}

std::atomic<int> assign_only_groups{0};

// librdkafka before 2.3 (Debian 12 has 2.0) aborts in rd_kafka_destroy when a cooperative-sticky
// member is destroyed after the coordinator answered its JoinGroup (the protocol is known) and
// before its first SyncGroup (the assignor has no state yet): librdkafka issue 4312.
bool DestroyWouldAbort(rd_kafka_t* rk, bool synced) {
  if (rd_kafka_version() >= 0x02030000 || synced) return false;
  const char* protocol = rd_kafka_rebalance_protocol(rk);  // null once the group is gone
  return protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
}

// Whether the assignors of partition.assignment.strategy are cooperative. librdkafka lets a
// group pick any assignor on the list, so a list that mixes cooperative and eager ones would
// leave the callback guessing: refused.
Result<bool> CooperativeAssignors(const rd_kafka_conf_t* conf) {
  char value[256];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf, "partition.assignment.strategy", value, &size) != RD_KAFKA_CONF_OK) {
    return InvalidArgument("kafka property partition.assignment.strategy: cannot read it");
  }
  int cooperative = 0;
  int eager = 0;
  std::string_view rest(value);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    // Trimmed as librdkafka trims it.
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) {
      name.remove_prefix(1);
    }
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) {
      name.remove_suffix(1);
    }
    if (name.empty()) continue;
    ++(name == "cooperative-sticky" ? cooperative : eager);
  }
  if (cooperative > 0 && eager > 0) {
    return InvalidArgument(std::string("kafka property partition.assignment.strategy=") + value +
                           ": mixes cooperative and eager assignors");
  }
  return eager == 0;
}

int ToMs(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<int64_t>(d.count(), 0, 24LL * 3600 * 1000));
}

}  // namespace

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"isolation.level", "read_committed"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
      {"fetch.wait.max.ms", std::to_string(options.fetch_wait_max_ms)},
      {"socket.nagle.disable", "true"},
  };
  // librdkafka needs a group.id even to read assigned partitions; an Assign-only consumer gets a
  // private one that it never joins and never commits to.
  props.emplace_back("group.id", options.group_id.empty()
                                     ? "claims-assign-only-" + std::to_string(getpid()) + "-" +
                                           std::to_string(++assign_only_groups)
                                     : options.group_id);
  for (const auto& kv : options.properties) props.push_back(kv);
  Result<rd_kafka_conf_t*> conf = internal::MakeConf(props);
  if (!conf.ok()) return conf.status();
  Result<bool> cooperative = CooperativeAssignors(*conf);
  if (!cooperative.ok()) {
    rd_kafka_conf_destroy(*conf);
    return cooperative.status();
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->cooperative = *cooperative;
  impl->logger = options.logger;
  rd_kafka_conf_set_opaque(*conf, impl.get());
  rd_kafka_conf_set_rebalance_cb(*conf, &OnRebalance);
  if (options.logger != nullptr) rd_kafka_conf_set_log_cb(*conf, &OnLog);

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return InvalidArgument(std::string("create kafka consumer: ") + errstr);
  }
  impl->rk = rk;
  // Rebalances and errors arrive through the consumer queue, hence through Poll.
  rd_kafka_poll_set_consumer(rk);
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::~Consumer() {
  const Status closed = Close();
  const bool would_abort = impl_->joined_unsynced && !impl_->synced;
  if (would_abort || impl_->close_unfinished) {
    // Either Close waited for the first SyncGroup and it did not come, and destroying would
    // abort the process; or librdkafka never finished closing, and destroying would wait for
    // it forever. So the handle (and the Impl its callbacks point to) stays allocated: it sits
    // idle until the process exits.
    if (impl_->options.logger != nullptr) {
      impl_->options.logger->Warn(
          would_abort ? "kafka consumer left undestroyed: it left the group while joining, and "
                        "this librdkafka aborts when such a consumer is destroyed"
                      : "kafka consumer left undestroyed: it did not finish closing",
          {{"librdkafka", rd_kafka_version_str()}, {"status", closed}});
    }
    {
      std::lock_guard<std::mutex> lock(impl_->logger_mu);
      impl_->logger = nullptr;
    }
    // Kept reachable from here until the process exits: a kept handle, not a leak, and tools
    // that look for leaks see it so.
    static std::mutex kept_mu;
    static auto* kept = new std::vector<std::unique_ptr<Impl>>();  // never destroyed
    std::lock_guard<std::mutex> lock(kept_mu);
    kept->push_back(std::move(impl_));
    return;
  }
  rd_kafka_destroy(impl_->rk);
}

Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  if (impl_->options.group_id.empty()) return InvalidArgument("subscribe needs a group_id");
  PartitionList list = NewList(static_cast<int>(topics.size()));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  Status s = internal::FromKafka(impl_->rk, rd_kafka_subscribe(impl_->rk, list.get()), "subscribe");
  if (s.ok()) impl_->subscribed = true;
  return s;
}

Status Consumer::Assign(const std::vector<TopicPartitionOffset>& partitions) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  if (impl_->subscribed) return FailedPrecondition("assign on a subscribed consumer");
  PartitionList list = ToList(partitions);
  return internal::FromKafka(impl_->rk, rd_kafka_assign(impl_->rk, list.get()), "assign");
}

Result<std::vector<ConsumerEvent>> Consumer::Poll(std::chrono::milliseconds timeout,
                                                  size_t max_events) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  std::vector<ConsumerEvent> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < max_events) {
    int wait_ms = 0;
    if (out.empty()) {
      wait_ms = ToMs(std::chrono::ceil<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, wait_ms);
    for (auto& r : impl_->rebalances) out.push_back(std::move(r));
    impl_->rebalances.clear();
    if (m == nullptr) {
      if (out.empty() && std::chrono::steady_clock::now() < deadline) continue;
      break;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ConsumerEvent event;
      event.kind = ConsumerEvent::Kind::kMessage;
      event.message = ToMessage(m, impl_->options.read_headers);
      out.push_back(std::move(event));
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::string context = "consume";
      if (m->rkt != nullptr) {
        context += " " + Describe(TopicPartition{rd_kafka_topic_name(m->rkt), m->partition});
      }
      Status error = internal::FromKafka(impl_->rk, m->err, context, rd_kafka_message_errstr(m));
      if (IsFatal(error)) {
        rd_kafka_message_destroy(m);
        return error;
      }
      ConsumerEvent event;
      event.kind = ConsumerEvent::Kind::kError;
      event.error = std::move(error);
      out.push_back(std::move(event));
    }
    rd_kafka_message_destroy(m);
  }
  return out;
}

Status Consumer::Commit(const std::vector<TopicPartitionOffset>& offsets,
                        std::chrono::milliseconds timeout) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  if (impl_->options.group_id.empty()) return FailedPrecondition("commit needs a group_id");
  if (offsets.empty()) return Status::Ok();
  PartitionList list = ToList(offsets);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(impl_->rk);
  Status result = internal::FromKafka(
      impl_->rk, rd_kafka_commit_queue(impl_->rk, list.get(), queue, nullptr, nullptr), "commit");
  if (result.ok()) {
    rd_kafka_event_t* event = nullptr;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (event == nullptr && std::chrono::steady_clock::now() < deadline) {
      event = rd_kafka_queue_poll(queue, ToMs(std::chrono::ceil<std::chrono::milliseconds>(
                                             deadline - std::chrono::steady_clock::now())));
      if (event != nullptr && rd_kafka_event_type(event) != RD_KAFKA_EVENT_OFFSET_COMMIT) {
        rd_kafka_event_destroy(event);
        event = nullptr;
      }
    }
    if (event == nullptr) {
      result = Status(StatusCode::kDeadlineExceeded,
                      "commit: no answer within " + std::to_string(timeout.count()) + " ms");
    } else {
      result = internal::FromKafka(impl_->rk, rd_kafka_event_error(event), "commit",
                                   rd_kafka_event_error_string(event));
      if (result.ok()) {
        const rd_kafka_topic_partition_list_t* done = rd_kafka_event_topic_partition_list(event);
        if (done != nullptr) result = FirstPartitionError(impl_->rk, done, "commit");
      }
      rd_kafka_event_destroy(event);
    }
  }
  rd_kafka_queue_destroy(queue);
  return result;
}

Result<std::optional<int64_t>> Consumer::Committed(const TopicPartition& partition,
                                                   std::chrono::milliseconds timeout) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  PartitionList list = NewList(1);
  rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.partition);
  const std::string what = "committed offset of " + Describe(partition);
  Status s = internal::FromKafka(impl_->rk,
                                 rd_kafka_committed(impl_->rk, list.get(), ToMs(timeout)), what);
  if (!s.ok()) return s;
  if (s = FirstPartitionError(impl_->rk, list.get(), "committed offset of"); !s.ok()) return s;
  const int64_t offset = list->elems[0].offset;
  if (offset < 0) return std::optional<int64_t>();
  return std::optional<int64_t>(offset);
}

Status Consumer::Seek(const TopicPartitionOffset& position, std::chrono::milliseconds timeout) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  PartitionList list = ToList({position});
  const std::string what = "seek " + Describe(TopicPartition{position.topic, position.partition}) +
                           " to " + std::to_string(position.offset);
  Status s = internal::FromKafkaError(
      impl_->rk, rd_kafka_seek_partitions(impl_->rk, list.get(), ToMs(timeout)), what);
  if (!s.ok()) return s;
  return FirstPartitionError(impl_->rk, list.get(), "seek");
}

Result<std::vector<TopicPartition>> Consumer::Assignment() {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  rd_kafka_topic_partition_list_t* raw = nullptr;
  Status s = internal::FromKafka(impl_->rk, rd_kafka_assignment(impl_->rk, &raw), "assignment");
  if (!s.ok()) return s;
  PartitionList list(raw, &rd_kafka_topic_partition_list_destroy);
  return FromList(list.get());
}

Result<std::pair<int64_t, int64_t>> Consumer::Watermarks(const TopicPartition& partition,
                                                         std::chrono::milliseconds timeout) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  int64_t low = -1;
  int64_t high = -1;
  Status s = internal::FromKafka(
      impl_->rk,
      rd_kafka_query_watermark_offsets(impl_->rk, partition.topic.c_str(), partition.partition,
                                       &low, &high, ToMs(timeout)),
      "watermarks of " + Describe(partition));
  if (!s.ok()) return s;
  return std::make_pair(low, high);
}

Result<int64_t> Consumer::CachedHighWatermark(const TopicPartition& partition) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  int64_t low = -1;
  int64_t high = -1;
  Status s = internal::FromKafka(impl_->rk,
                                 rd_kafka_get_watermark_offsets(impl_->rk, partition.topic.c_str(),
                                                                partition.partition, &low, &high),
                                 "cached watermarks of " + Describe(partition));
  if (!s.ok()) return s;
  if (high < 0) return NotFound("no fetch of " + Describe(partition) + " returned a watermark yet");
  return high;
}

Result<int32_t> Consumer::PartitionCount(const std::string& topic,
                                         std::chrono::milliseconds timeout) {
  if (impl_->closed) return FailedPrecondition("consumer is closed");
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return internal::FromKafka(impl_->rk, rd_kafka_last_error(), "topic " + topic);
  }
  const rd_kafka_metadata_t* md = nullptr;
  Status s = internal::FromKafka(
      impl_->rk, rd_kafka_metadata(impl_->rk, 0, rkt, &md, ToMs(timeout)), "metadata of " + topic);
  rd_kafka_topic_destroy(rkt);
  if (!s.ok()) return s;
  Result<int32_t> out = NotFound("topic " + topic + " is not in the metadata");
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic != md->topics[i].topic) continue;
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = internal::FromKafka(impl_->rk, md->topics[i].err, "metadata of " + topic);
    } else {
      out = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

std::string Consumer::RebalanceProtocol() const {
  const char* protocol = rd_kafka_rebalance_protocol(impl_->rk);
  return protocol == nullptr ? "NONE" : protocol;
}

Status Consumer::Close() {
  if (impl_->closed) return impl_->close_status;
  impl_->closed = true;
  impl_->close_status = CloseOnce();
  return impl_->close_status;
}

Status Consumer::CloseOnce() {
  impl_->rebalances.clear();
  if (impl_->subscribed) {
    // A member whose JoinGroup was answered but which has had no SyncGroup yet cannot be
    // destroyed safely (DestroyWouldAbort). Let it finish joining first, bounded by
    // close_join_wait_ms; ~Consumer keeps the handle if it never does.
    const int join_wait_ms = impl_->options.close_join_wait_ms >= 0
                                 ? impl_->options.close_join_wait_ms
                                 : impl_->options.session_timeout_ms;
    const auto join_deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(join_wait_ms);
    for (int i = 0; i < 100000 && DestroyWouldAbort(impl_->rk, impl_->synced) &&
                    std::chrono::steady_clock::now() < join_deadline;
         ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, 50);  // serves the SyncGroup
      if (m != nullptr) rd_kafka_message_destroy(m);
    }
    impl_->joined_unsynced = DestroyWouldAbort(impl_->rk, impl_->synced);
    // Leave the subscription and let the group take our partitions first (bounded), then close:
    // closing in the middle of a revocation is another way to meet issue 4312.
    rd_kafka_unsubscribe(impl_->rk);
    for (int i = 0; i < 100; ++i) {
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      const bool empty = rd_kafka_assignment(impl_->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         assigned != nullptr && assigned->cnt == 0;
      if (assigned != nullptr) rd_kafka_topic_partition_list_destroy(assigned);
      if (empty) break;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, 50);  // serves the revocation
      if (m != nullptr) rd_kafka_message_destroy(m);
    }
  }
  // rd_kafka_consumer_close, bounded: the same close, on a queue of our own that is served (its
  // rebalance callbacks run here) until the close is done or close_timeout_ms has passed. Bounded
  // by time alone: each turn waits at most 50 ms, or takes one record still queued (a follower
  // may hold many), so no count of turns would be a fair bound.
  rd_kafka_queue_t* queue = rd_kafka_queue_new(impl_->rk);
  const Status started = internal::FromKafkaError(
      impl_->rk, rd_kafka_consumer_close_queue(impl_->rk, queue), "close consumer");
  if (!started.ok()) {
    rd_kafka_queue_destroy(queue);
    return started;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max(impl_->options.close_timeout_ms, 0));
  while (!rd_kafka_consumer_closed(impl_->rk) && std::chrono::steady_clock::now() < deadline) {
    // Serves callbacks (the rebalances) and returns what is not one (an error, a record).
    rd_kafka_message_t* m = rd_kafka_consume_queue(queue, 50);
    if (m != nullptr) rd_kafka_message_destroy(m);
  }
  if (!rd_kafka_consumer_closed(impl_->rk)) {
    // librdkafka may still post to the queue: it stays, with the handle (~Consumer).
    impl_->close_unfinished = true;
    impl_->close_queue = queue;
    return Status(StatusCode::kDeadlineExceeded,
                  "close consumer: librdkafka did not finish leaving the group within " +
                      std::to_string(impl_->options.close_timeout_ms) +
                      " ms; the handle is kept until the process exits, and the member leaves "
                      "the group then, if the group has not evicted it before");
  }
  rd_kafka_queue_destroy(queue);
  return Status::Ok();
}

}  // namespace claims::bus
