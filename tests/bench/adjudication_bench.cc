// Adjudication's figures on the dev broker, in one run (the machines are shared and noisy, so
// the ratios are what to compare):
//   1. bare processor: a fold that publishes one small record per input and keeps no state;
//   2. adjudication live: the engine fold, member state in RocksDB, decisions published;
//   3. restore: the same fold with no local state and the group's offsets at the end, so every
//      record is folded silently (a partition moving to a new replica);
//   4. decision latency: claims published at a steady rate, each timed from its publish to its
//      decision's arrival, p50/p99.
//
//   adjudication_bench [EVENTS] [CLAIMS_PER_SECOND] [SECONDS] [sync|nosync] [FOLD_THREADS]
//   defaults 300000 1000 10 sync 2
// The dev broker keeps about 5 MB per partition, which bounds EVENTS to a few hundred thousand.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/processor/processor.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/plans.h"
#include "tests/bench/history.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace ev = ::mutualaid::events::v1;

constexpr char kInput[] = "intake.events.v1";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "adjudication_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Publishes one small record per input; no state. The processor's own cost, nothing else.
class PassThroughFold : public processor::PartitionFold {
 public:
  Status Apply(const bus::Message& input, store::WriteBatch&,
               std::vector<bus::OutgoingMessage>& outputs) override {
    bus::OutgoingMessage out;
    out.topic = "bench.bare.out";
    out.key = input.key;
    out.value = std::to_string(input.offset);
    outputs.push_back(std::move(out));
    return Status::Ok();
  }
};

struct Clients {
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<bus::Consumer> consumer;
  std::unique_ptr<bus::Producer> producer;
};

bool g_sync_writes = true;
size_t g_fold_threads = 2;

Clients MakeClients(const std::string& bootstrap, const std::string& group,
                    const std::string& dir) {
  Clients c;
  store::StoreOptions so;
  so.sync_writes = g_sync_writes;
  so.column_families = adjudication::AdjudicationColumnFamilies();
  auto store = store::StateStore::Open(dir, so);
  bus::ConsumerOptions co;
  co.bootstrap_servers = bootstrap;
  co.group_id = group;
  co.session_timeout_ms = 6000;
  co.read_headers = false;  // as the adjudication service
  auto consumer = bus::Consumer::Create(co);
  bus::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  po.linger_ms = 1;
  auto producer = bus::Producer::Create(po);
  if (!store.ok() || !consumer.ok() || !producer.ok()) Die("cannot create clients");
  c.store = std::move(store).value();
  c.consumer = std::move(consumer).value();
  c.producer = std::move(producer).value();
  return c;
}

// Runs a processor until it has folded `records` (live or silent as `silent` says); returns
// records per second from its first batch to the last.
double RunProcessor(const std::string& bootstrap, const std::string& group,
                    test_support::TempDir& dir, processor::FoldFactory factory, size_t records,
                    bool silent) {
  Clients c = MakeClients(bootstrap, group, dir.File(group));
  processor::ProcessorOptions options;
  options.input_topic = kInput;
  options.max_batch_records = 5000;
  options.fold_threads = g_fold_threads;
  std::atomic<int64_t> first_batch_ns{0};
  options.test_hook = [&](processor::Step step, uint64_t) {
    int64_t expected = 0;
    if (step == processor::Step::kFolded) {
      first_batch_ns.compare_exchange_strong(expected, Clock::now().time_since_epoch().count());
    }
  };
  processor::Processor p(options, *c.consumer, *c.producer, *c.store, std::move(factory));
  std::atomic<bool> stop{false};
  std::thread run([&] {
    if (Status s = p.Run(stop); !s.ok()) Die(s.ToString());
  });
  const auto deadline = Clock::now() + 600s;
  auto done = [&] {
    return (silent ? p.stats().records_silent.load() : p.stats().records_folded.load()) >= records;
  };
  while (!done() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  const Clock::time_point end = Clock::now();
  stop = true;
  run.join();
  if (!done()) Die("processor did not finish " + group);
  const Clock::time_point start{Clock::duration(first_batch_ns.load())};
  return static_cast<double>(records) / Seconds(end - start);
}

// Sets `group`'s committed offsets to the end of every input partition.
void CommitAtEnd(const std::string& bootstrap, const std::string& group) {
  bus::ConsumerOptions co;
  co.bootstrap_servers = bootstrap;
  co.group_id = group;
  auto consumer = std::move(bus::Consumer::Create(co)).value();
  std::vector<bus::TopicPartitionOffset> ends;
  for (int p = 0; p < 12; ++p) {
    ends.push_back({kInput, p, consumer->Watermarks({kInput, p}, 10s)->second});
  }
  if (Status s = consumer->Commit(ends); !s.ok()) Die("commit at end: " + s.ToString());
}

void Latency(const std::string& bootstrap, test_support::TempDir& dir,
             const adjudication::PlanRegistry& plans, const std::vector<std::string>& members,
             size_t backlog, int per_second, int seconds) {
  CommitAtEnd(bootstrap, "bench-latency");
  Clients c = MakeClients(bootstrap, "bench-latency", dir.File("bench-latency"));
  (void)c.producer->WarmUp({adjudication::kDecisionsTopic}, 5s);  // as the service does
  processor::ProcessorOptions options;
  options.input_topic = kInput;
  options.max_batch_records = 1000;
  options.max_batch_time = 1ms;
  processor::Processor p(options, *c.consumer, *c.producer, *c.store,
                         adjudication::AdjudicationFoldFactory(plans));
  std::atomic<bool> stop{false};
  std::thread run([&] {
    if (Status s = p.Run(stop); !s.ok()) Die(s.ToString());
  });
  // Wait until the restore (the silent fold of the backlog up to the committed offsets) is over.
  for (int i = 0; i < 120000 && p.stats().records_silent.load() < backlog; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(1s);

  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;
  std::map<std::string, int> index_of;
  std::vector<double> latencies_ms;
  std::vector<double> steady_ms;  // after the first second (connections and metadata warm)
  std::atomic<bool> reading{true};
  bus::ConsumerOptions co;
  co.bootstrap_servers = bootstrap;
  auto reader = std::move(bus::Consumer::Create(co)).value();
  std::vector<bus::TopicPartitionOffset> from_end;
  for (int part = 0; part < 12; ++part) {
    from_end.push_back({adjudication::kDecisionsTopic, part,
                        reader->Watermarks({adjudication::kDecisionsTopic, part}, 10s)->second});
  }
  if (!reader->Assign(from_end).ok()) Die("assign decisions");
  std::thread reading_thread([&] {
    while (reading.load()) {
      Result<std::vector<bus::ConsumerEvent>> events = reader->Poll(5ms);
      if (!events.ok()) continue;
      const Clock::time_point now = Clock::now();
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        ev::Envelope out;
        if (!out.ParseFromString(e.message.value)) continue;
        std::lock_guard<std::mutex> lock(mu);
        auto it = sent.find(out.answers_event_id());
        if (it != sent.end()) {
          const double ms = std::chrono::duration<double, std::milli>(now - it->second).count();
          latencies_ms.push_back(ms);
          if (index_of[it->first] >= per_second) steady_ms.push_back(ms);
        }
      }
    }
  });

  bus::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  po.linger_ms = 0;
  auto producer = std::move(bus::Producer::Create(po)).value();
  const int total = per_second * seconds;
  const Clock::time_point start = Clock::now();
  std::atomic<int> acked{0};
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / per_second));
    domain::ClaimInput claim;
    claim.claim = "LAT-" + std::to_string(i);
    claim.member = members[static_cast<size_t>(i) % members.size()];
    claim.coverage = domain::Coverage::kAccidentalInjury;
    claim.incident_date = *Date::Parse("2024-06-01");
    claim.date = *Date::Parse("2024-06-03");
    claim.amount = 20000 + i;
    claim.documents = {"MEDICAL_RECEIPTS"};
    const ev::Envelope e =
        codec::EncodeInput(claim, "LAT-E" + std::to_string(i), "six-guarantees-v1");
    bus::OutgoingMessage m;
    m.topic = kInput;
    m.key = claim.member;
    m.value = e.SerializeAsString();
    {
      std::lock_guard<std::mutex> lock(mu);
      sent[e.event_id()] = Clock::now();
      index_of[e.event_id()] = i;
    }
    if (!producer->Produce(m, [&](const bus::Delivery& d) { acked += d.status.ok(); }).ok()) {
      Die("produce");
    }
  }
  const double publish_seconds = Seconds(Clock::now() - start);
  for (int i = 0; i < 20000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (latencies_ms.size() >= static_cast<size_t>(total)) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  reading = false;
  reading_thread.join();
  stop = true;
  run.join();
  if (latencies_ms.empty() || steady_ms.empty()) {
    Die("decisions arrived for " + std::to_string(latencies_ms.size()) + " claims, " +
        std::to_string(steady_ms.size()) + " after the first second");
  }
  auto report = [](const char* label, std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
      return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
    };
    std::printf("%-44s p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", label, at(0.50), at(0.99),
                v.back());
  };
  std::printf("%-44s %d claims at %.0f claims/s: %zu decided\n",
              "decision latency (publish -> decision)", total, total / publish_seconds,
              latencies_ms.size());
  report("  all claims", latencies_ms);
  report("  after the first second", steady_ms);
}

int Run(int argc, char** argv) {
  const size_t events = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300000;
  const int per_second = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  // "nosync": RocksDB without fsync per batch, to see what the disk costs.
  g_sync_writes = !(argc > 4 && std::string(argv[4]) == "nosync");
  // Threads folding partitions side by side, as the service's --fold-threads (default 2).
  g_fold_threads = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 2;
  if (g_fold_threads < 1) Die("FOLD_THREADS must be at least 1");
  auto broker = test_support::DevBroker::Start();
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  (void)(*broker)->Control("create-topic bench.bare.out 12");
  auto dir = std::move(test_support::TempDir::Create("adjudication-bench")).value();
  auto plans = adjudication::PlanRegistry::Load(CLAIMS_PLANS_DIR, "six-guarantees-v1");
  if (!plans.ok()) Die(plans.status().ToString());

  // A realistic log: every member enrolls each year, a few terminate, 5% claim.
  bench::HistoryShape shape;
  shape.years = 3;
  shape.members = static_cast<int>(events / 3.3);
  shape.claims_per_thousand_member_years = 50;
  std::vector<bus::OutgoingMessage> batch;
  std::vector<std::string> members;
  int n = 0;
  for (const domain::Input& in : bench::GenerateHistory(shape)) {
    if (batch.size() >= events) break;
    const ev::Envelope e = codec::EncodeInput(in, "E" + std::to_string(++n), "six-guarantees-v1");
    if (std::holds_alternative<domain::EnrollInput>(in) && members.size() < 5000) {
      members.push_back(domain::MemberOf(in));
    }
    bus::OutgoingMessage m;
    m.topic = kInput;
    m.key = e.member_id();
    m.value = e.SerializeAsString();
    batch.push_back(std::move(m));
  }
  size_t bytes = 0;
  for (const auto& m : batch) bytes += m.value.size();
  bus::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  auto producer = std::move(bus::Producer::Create(po)).value();
  for (const bus::Delivery& d : producer->ProduceAll(batch, 300s)) {
    if (!d.status.ok()) Die("produce: " + d.status.ToString());
  }
  const size_t count = batch.size();
  std::printf("%zu input events (%zu bytes on average) over 12 partitions, 3 mock brokers\n", count,
              bytes / count);

  const double bare = RunProcessor(
      bootstrap, "bench-bare", dir,
      [](int32_t, store::StateStore&) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new PassThroughFold);
      },
      count, false);
  const double live = RunProcessor(bootstrap, "bench-live", dir,
                                   adjudication::AdjudicationFoldFactory(*plans), count, false);
  // The restore's own baseline: the same silent fold of every record with a fold that does
  // nothing, i.e. what consuming the log and writing offsets costs on this broker.
  CommitAtEnd(bootstrap, "bench-bare-restore");
  const double bare_restore = RunProcessor(
      bootstrap, "bench-bare-restore", dir,
      [](int32_t, store::StateStore&) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new PassThroughFold);
      },
      count, true);
  CommitAtEnd(bootstrap, "bench-restore");
  const double restore = RunProcessor(bootstrap, "bench-restore", dir,
                                      adjudication::AdjudicationFoldFactory(*plans), count, true);
  std::printf("%-44s %10.0f events/s  (baseline)\n", "bare processor (pass-through fold)", bare);
  std::printf("%-44s %10.0f events/s  ratio %.2f\n", "adjudication live (decide + publish)", live,
              live / bare);
  std::printf("%-44s %10.0f events/s  (restore baseline)\n",
              "bare silent fold (pass-through, no publish)", bare_restore);
  std::printf("%-44s %10.0f events/s  ratio %.2f  (1,000,000 events in %.1f s)\n",
              "adjudication restore (silent fold)", restore, restore / bare_restore, 1e6 / restore);
  Latency(bootstrap, dir, *plans, members, count, per_second, seconds);
  return 0;
}

}  // namespace
}  // namespace claims

int main(int argc, char** argv) { return claims::Run(argc, argv); }
