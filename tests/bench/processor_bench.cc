// Processor throughput against raw consume + produce of the same records on the same dev
// broker, measured in one run and printed as a ratio (the machines are shared and noisy, so only
// the ratio means much).
//
//   processor_bench [RECORDS] [MEMBERS]      defaults 200000 records over 20000 members
//
// 1. produce RECORDS keyed records to the input topic (idempotent, acks=all);
// 2. raw: librdkafka alone, consume + produce one output per record + flush + commit, in
//    batches of 1,000 — consume-transform-produce without state or our code;
// 3. processor: the counting fold (tests/integration) with RocksDB state (fsync'd batches),
//    from the first record to the last output acknowledged and state written.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/processor/processor.h"
#include "tests/integration/counting_fold.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace bus = claims::bus;

constexpr char kInput[] = "intake.events.v1";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "processor_bench: %s\n", what.c_str());
  std::exit(1);
}

// The baseline, straight on librdkafka: consume up to 1,000 records, produce one output each,
// wait for every ack (flush), commit the offsets synchronously; repeat. The same batch size,
// linger and acks as the processor, without state, our adapter or the fold.
double RawConsumeProduce(const std::string& bootstrap, size_t records) {
  char err[512];
  auto set = [&](rd_kafka_conf_t* conf, const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) Die(err);
  };
  rd_kafka_conf_t* cc = rd_kafka_conf_new();
  set(cc, "bootstrap.servers", bootstrap);
  set(cc, "group.id", "bench-raw");
  set(cc, "enable.auto.commit", "false");
  set(cc, "auto.offset.reset", "earliest");
  set(cc, "fetch.wait.max.ms", "5");
  set(cc, "session.timeout.ms", "6000");
  set(cc, "partition.assignment.strategy", "cooperative-sticky");
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  rd_kafka_conf_t* pc = rd_kafka_conf_new();
  set(pc, "bootstrap.servers", bootstrap);
  set(pc, "acks", "all");
  set(pc, "enable.idempotence", "true");
  set(pc, "linger.ms", "1");
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  if (consumer == nullptr || producer == nullptr) Die("cannot create raw clients");
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, kInput, RD_KAFKA_PARTITION_UA);
  if (rd_kafka_subscribe(consumer, topics) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("subscribe");
  rd_kafka_topic_partition_list_destroy(topics);

  size_t done = 0;
  Clock::time_point start{};
  rd_kafka_message_t* batch[1000];
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  for (int polls = 0; done < records && polls < 1000000; ++polls) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 20, batch, 1000);
    if (n <= 0) continue;
    if (start == Clock::time_point{}) start = Clock::now();
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(12);
    size_t got = 0;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[i];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string value(static_cast<const char*>(m->payload), m->len);
        value += "|out";
        while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("bench.raw.out"),
                                 RD_KAFKA_V_KEY(m->key, m->key_len),
                                 RD_KAFKA_V_VALUE(value.data(), value.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer, 1);
        }
        rd_kafka_topic_partition_list_add(offsets, kInput, m->partition)->offset = m->offset + 1;
        ++got;
      }
      rd_kafka_message_destroy(m);
    }
    if (rd_kafka_flush(producer, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("raw flush");
    rd_kafka_commit(consumer, offsets, 0);
    rd_kafka_topic_partition_list_destroy(offsets);
    done += got;
  }
  const double secs = Seconds(Clock::now() - start);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  return static_cast<double>(done) / secs;
}

double ProcessorRun(const std::string& bootstrap, size_t records, bool sync_writes) {
  auto dir = claims::test_support::TempDir::Create("processor-bench");
  if (!dir.ok()) Die("temp dir");
  claims::store::StoreOptions so;
  so.column_families = {claims::testing::kCountsColumnFamily};
  so.sync_writes = sync_writes;
  auto store = claims::store::StateStore::Open(dir->File("state"), so);
  bus::ConsumerOptions c;
  c.bootstrap_servers = bootstrap;
  c.group_id = sync_writes ? "bench-processor-sync" : "bench-processor-nosync";
  c.session_timeout_ms = 6000;
  auto consumer = bus::Consumer::Create(c);
  bus::ProducerOptions p;
  p.bootstrap_servers = bootstrap;
  p.linger_ms = 1;  // as the services configure their processors: batches are sent at once
  auto producer = bus::Producer::Create(p);
  if (!store.ok() || !consumer.ok() || !producer.ok()) Die("cannot create processor parts");
  claims::processor::ProcessorOptions options;
  options.input_topic = kInput;
  options.max_batch_records = 1000;
  std::atomic<bool> stop{false};
  Clock::time_point start{};
  options.test_hook = [&](claims::processor::Step step, uint64_t) {
    if (step == claims::processor::Step::kFolded && start == Clock::time_point{}) {
      start = Clock::now();
    }
  };
  claims::processor::Processor processor(
      options, **consumer, **producer, **store,
      claims::testing::CountingFoldFactory(sync_writes ? "bench.proc.sync" : "bench.proc.nosync"));
  std::thread run([&] {
    const claims::Status s = processor.Run(stop);
    if (!s.ok()) Die("processor: " + s.ToString());
  });
  const auto deadline = Clock::now() + 600s;
  while (processor.stats().records_folded.load() < records && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  const Clock::time_point end = Clock::now();
  stop = true;
  run.join();
  if (processor.stats().records_folded.load() < records) Die("processor did not finish");
  return static_cast<double>(records) / Seconds(end - start);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t records = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  const int members = argc > 2 ? std::atoi(argv[2]) : 20000;
  auto broker = claims::test_support::DevBroker::Start();
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  for (const char* topic : {"bench.raw.out", "bench.proc.sync", "bench.proc.nosync"}) {
    (void)(*broker)->Control(std::string("create-topic ") + topic + " 12");
  }

  bus::ProducerOptions p;
  p.bootstrap_servers = bootstrap;
  auto producer = bus::Producer::Create(p);
  if (!producer.ok()) Die("producer");
  std::mt19937_64 rng(7);
  std::vector<bus::OutgoingMessage> batch;
  for (size_t i = 0; i < records; ++i) {
    batch.push_back({kInput,
                     "member-" + std::to_string(rng() % members),
                     std::to_string(rng() % 100000),
                     {},
                     -1});
  }
  const Clock::time_point produce_start = Clock::now();
  for (const bus::Delivery& d : (*producer)->ProduceAll(batch, 120s)) {
    if (!d.status.ok()) Die("produce: " + d.status.ToString());
  }
  const double produce_rate = records / Seconds(Clock::now() - produce_start);

  const double raw = RawConsumeProduce(bootstrap, records);
  const double proc_sync = ProcessorRun(bootstrap, records, true);
  const double proc_nosync = ProcessorRun(bootstrap, records, false);

  std::printf("records %zu over %d members, 12 partitions, 3 mock brokers\n", records, members);
  std::printf("%-44s %12.0f records/s\n", "produce only (idempotent, acks=all)", produce_rate);
  std::printf("%-44s %12.0f records/s  (baseline)\n", "raw librdkafka consume + produce + commit",
              raw);
  std::printf("%-44s %12.0f records/s  ratio %.2f\n", "processor, RocksDB fsync per batch",
              proc_sync, proc_sync / raw);
  std::printf("%-44s %12.0f records/s  ratio %.2f\n", "processor, RocksDB without fsync",
              proc_nosync, proc_nosync / raw);
  return 0;
}
