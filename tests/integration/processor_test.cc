// The processor against the real dev broker and real RocksDB, run as a separate process that
// the tests SIGKILL at chosen and random moments. Every test checks the outputs the way every
// consumer reads them — de-duplicated by (member, sequence) — against the pure fold of the
// inputs: nothing lost, nothing applied twice, and a re-published output byte-identical.

#include <gtest/gtest.h>

#include <csignal>
#include <random>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/processor/sequence_filter.h"
#include "tests/integration/counting_fold.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/ordered_produce.h"
#include "tests/support/temp_dir.h"

namespace claims::testing {
namespace {

using namespace std::chrono_literals;
using test_support::ChildProcess;
using test_support::DevBroker;
using test_support::TempDir;

constexpr char kInput[] = "intake.events.v1";
constexpr char kOutput[] = "adjudication.decisions.v1";
constexpr int kPartitions = 12;

struct Outputs {
  size_t raw = 0;
  size_t duplicates = 0;
  size_t gaps = 0;
  size_t conflicts = 0;  // a repeated (member, sequence) with different bytes
  std::map<std::string, std::vector<std::string>> accepted;  // by member, in order
  size_t accepted_count = 0;
};

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    auto dir = TempDir::Create("processor-test");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    bus::ProducerOptions options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.linger_ms = 1;
    test_support::OneRequestInFlight(options.properties);  // errors are injected
    auto producer = bus::Producer::Create(options);
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(producer).value();
  }

  // Starts a worker on data dir `name` (under the test's temp dir).
  ChildProcess StartWorker(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {CLAIMS_PROCESSOR_WORKER,
                                     "--bootstrap-servers",
                                     broker_->bootstrap_servers(),
                                     "--data-dir",
                                     dir_->File(name),
                                     "--group",
                                     "processor-test",
                                     "--input",
                                     kInput,
                                     "--output",
                                     kOutput};
    argv.insert(argv.end(), extra.begin(), extra.end());
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + "-" + std::to_string(++workers_started_) + ".out");
    spawn.stderr_path = dir_->File(name + "-" + std::to_string(workers_started_) + ".err");
    last_worker_stdout_ = spawn.stdout_path;
    auto child = ChildProcess::Spawn(argv, spawn);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    return std::move(child).value();
  }

  // Publishes `n` records over `members` members, amounts from a seeded generator, and
  // remembers them (in log order per member, which is all the fold depends on).
  void ProduceInputs(int n, int members, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<bus::OutgoingMessage> batch;
    for (int i = 0; i < n; ++i) {
      const std::string member = "member-" + std::to_string(rng() % members);
      const int64_t amount = static_cast<int64_t>(rng() % 100000);
      inputs_.emplace_back(member, amount);
      batch.push_back({kInput, member, std::to_string(amount), {}, bus::kAnyPartition});
    }
    const std::vector<bus::Delivery> deliveries = producer_->ProduceAll(batch, 60s);
    for (const bus::Delivery& d : deliveries) ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  }

  // Reads the output topic from the start until `expected` distinct outputs have arrived (or
  // `timeout`), de-duplicating as consumers do.
  Outputs ReadOutputs(size_t expected, std::chrono::milliseconds timeout = 120s) {
    Outputs out;
    bus::ConsumerOptions options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = bus::Consumer::Create(options);
    EXPECT_TRUE(consumer.ok());
    std::vector<bus::TopicPartitionOffset> all;
    for (int p = 0; p < kPartitions; ++p) all.push_back({kOutput, p, bus::Consumer::kBeginning});
    EXPECT_TRUE((*consumer)->Assign(all).ok());
    processor::SequenceFilter filter;
    std::map<std::pair<std::string, uint64_t>, std::string> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Once `expected` outputs are in, read on to the end of every partition as it is then, so
    // that re-published outputs behind the last new ones are counted too.
    std::map<int32_t, int64_t> next_offset;  // per partition, after what was read
    std::map<int32_t, int64_t> end;          // high watermarks, once expected is reached
    auto caught_up = [&] {
      if (out.accepted_count < expected) return false;
      if (end.empty()) {
        for (int p = 0; p < kPartitions; ++p) {
          auto marks = (*consumer)->Watermarks({kOutput, p}, 10s);
          end[p] = marks.ok() ? marks->second : 0;
        }
      }
      for (const auto& [p, high] : end) {
        if (next_offset[p] < high) return false;
      }
      return true;
    };
    for (int polls = 0;
         !caught_up() && polls < 100000 && std::chrono::steady_clock::now() < deadline; ++polls) {
      auto events = (*consumer)->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        next_offset[e.message.partition] = e.message.offset + 1;
        ++out.raw;
        const std::string* member = bus::FindHeader(e.message.headers, "member");
        const std::string* seq = bus::FindHeader(e.message.headers, "sequence");
        if (member == nullptr || seq == nullptr) {
          ADD_FAILURE() << "output without member/sequence headers";
          continue;
        }
        const uint64_t sequence = std::stoull(*seq);
        auto [it, inserted] = seen.emplace(std::make_pair(*member, sequence), e.message.value);
        if (!inserted && it->second != e.message.value) ++out.conflicts;
        switch (filter.Offer(*member, sequence)) {
          case processor::SequenceFilter::Verdict::kDuplicate:
            break;
          case processor::SequenceFilter::Verdict::kAfterGap:
            ++out.gaps;
            [[fallthrough]];
          case processor::SequenceFilter::Verdict::kNew:
            out.accepted[*member].push_back(e.message.value);
            ++out.accepted_count;
            break;
        }
      }
    }
    out.duplicates = filter.duplicates();
    return out;
  }

  // The outputs, de-duplicated, are exactly the pure fold of every input produced.
  void ExpectPureFold(const Outputs& out) {
    EXPECT_EQ(out.accepted_count, inputs_.size());
    EXPECT_EQ(out.gaps, 0u);
    EXPECT_EQ(out.conflicts, 0u);
    EXPECT_EQ(out.raw, out.accepted_count + out.duplicates);
    const auto reference = ReferenceOutputs(inputs_);
    EXPECT_EQ(out.accepted.size(), reference.size());
    for (const auto& [member, values] : reference) {
      auto it = out.accepted.find(member);
      ASSERT_NE(it, out.accepted.end()) << member;
      EXPECT_EQ(it->second, values) << member;
    }
  }

  std::string WorkerCounters() {
    Result<std::string> text = test_support::ReadFile(last_worker_stdout_);
    return text.ok() ? *text : text.status().ToString();
  }

  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
  std::vector<std::pair<std::string, int64_t>> inputs_;
  int workers_started_ = 0;
  std::string last_worker_stdout_;
};

TEST_F(ProcessorTest, FoldsEveryRecordOnceAndStopsCleanlyOnSigterm) {
  ProduceInputs(3000, 150, 1);
  ChildProcess worker = StartWorker("a");
  const Outputs out = ReadOutputs(3000);
  ExpectPureFold(out);
  EXPECT_EQ(out.duplicates, 0u);  // nothing failed, so nothing was published twice
  Result<int> code = worker.Stop(10s);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_NE(WorkerCounters().find("folded=3000 silent=0 published=3000"), std::string::npos)
      << WorkerCounters();
}

struct CrashPoint {
  const char* step;
  bool republishes;  // whether the crashed batch's outputs are published again on restart
  friend void PrintTo(const CrashPoint& c, std::ostream* os) { *os << c.step; }
};

class ProcessorCrashTest : public ProcessorTest,
                           public ::testing::WithParamInterface<CrashPoint> {};

TEST_P(ProcessorCrashTest, SigkillAtThisStepLosesNothingAndAppliesNothingTwice) {
  ProduceInputs(3000, 150, 2);
  {
    ChildProcess crashing = StartWorker(
        "a", {"--crash-at", GetParam().step, "--crash-batch", "2", "--max-batch", "200"});
    Result<int> code = crashing.Wait(60s);
    ASSERT_TRUE(code.ok()) << "the worker did not reach its crash point";
    ASSERT_EQ(*code, 128 + SIGKILL);
  }
  ChildProcess worker = StartWorker("a", {"--max-batch", "200"});
  const Outputs out = ReadOutputs(3000);
  ExpectPureFold(out);
  if (GetParam().republishes) {
    EXPECT_GT(out.duplicates, 0u) << "the crashed batch was published, so it is published again";
  } else {
    EXPECT_EQ(out.duplicates, 0u);
  }
  EXPECT_EQ(*worker.Stop(10s), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Steps, ProcessorCrashTest,
    ::testing::Values(CrashPoint{"folded", false}, CrashPoint{"published", true},
                      CrashPoint{"store_written", false}, CrashPoint{"committed", false}),
    [](const ::testing::TestParamInfo<CrashPoint>& info) { return info.param.step; });

TEST_F(ProcessorTest, RandomSigkillsWhileRecordsFlow) {
  const uint64_t seed = 20261129;
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int round = 0; round < 4; ++round) {
    const size_t before = ReadOutputs(inputs_.size(), 30s).accepted_count;
    ChildProcess worker = StartWorker("a", {"--max-batch", "50"});
    std::thread producing([&] { ProduceInputs(800, 100, 100 + round); });
    // Kill it while it works: once it has published something of this round, after a random
    // further 0-300 ms.
    ASSERT_GT(ReadOutputs(before + 1, 60s).accepted_count, before);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    ASSERT_TRUE(worker.Kill().ok());
    producing.join();
  }
  ChildProcess worker = StartWorker("a");
  ExpectPureFold(ReadOutputs(inputs_.size()));
  EXPECT_EQ(*worker.Stop(10s), 0);
}

TEST_F(ProcessorTest, RebuildsLostStateBySilentFoldWithoutRepublishing) {
  ProduceInputs(2000, 100, 3);
  {
    ChildProcess worker = StartWorker("a");
    ASSERT_EQ(ReadOutputs(2000).accepted_count, 2000u);
    ASSERT_EQ(*worker.Stop(10s), 0);
  }
  // The replica's volume is lost; a new one starts empty with the group's offsets.
  ProduceInputs(500, 100, 4);
  ChildProcess worker = StartWorker("b");
  const Outputs out = ReadOutputs(2500);
  ExpectPureFold(out);
  EXPECT_EQ(out.duplicates, 0u) << "the silent fold must publish nothing";
  ASSERT_EQ(*worker.Stop(10s), 0);
  EXPECT_NE(WorkerCounters().find("folded=2500 silent=2000 published=500"), std::string::npos)
      << WorkerCounters();
}

TEST_F(ProcessorTest, PartitionsMoveBetweenTwoWorkersAsOneJoinsAndLeaves) {
  ChildProcess a = StartWorker("a");
  ProduceInputs(1500, 120, 5);
  ASSERT_EQ(ReadOutputs(1500).accepted_count, 1500u);
  ChildProcess b = StartWorker("b");
  ProduceInputs(1500, 120, 6);
  std::this_thread::sleep_for(8s);  // b joins the group: a gives up half its partitions
  ProduceInputs(1500, 120, 7);
  ASSERT_EQ(ReadOutputs(4500).accepted_count, 4500u);
  ASSERT_EQ(*a.Stop(10s), 0);  // a leaves: b takes every partition, restoring a's half
  ProduceInputs(1500, 120, 8);
  ExpectPureFold(ReadOutputs(6000));
  EXPECT_EQ(*b.Stop(10s), 0);
}

TEST_F(ProcessorTest, KeepsGoingThroughABrokerDownForFiveSeconds) {
  ChildProcess worker = StartWorker("a");
  ProduceInputs(1000, 100, 9);
  ASSERT_EQ(ReadOutputs(1000).accepted_count, 1000u);
  ASSERT_EQ(*broker_->Control("broker-down 1"), "OK broker 1 down");
  std::thread producing([&] { ProduceInputs(1000, 100, 10); });
  std::this_thread::sleep_for(5s);
  ASSERT_EQ(*broker_->Control("broker-up 1"), "OK broker 1 up");
  producing.join();
  ExpectPureFold(ReadOutputs(2000));
  EXPECT_EQ(*worker.Stop(10s), 0);
}

TEST_F(ProcessorTest, RetriesInjectedProduceErrors) {
  ChildProcess worker = StartWorker("a");
  ProduceInputs(500, 50, 11);
  ASSERT_EQ(ReadOutputs(500).accepted_count, 500u);
  Result<std::string> reply =
      broker_->Control("request-errors Produce 30 NOT_LEADER_FOR_PARTITION");
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->rfind("OK", 0), 0u) << *reply;
  ProduceInputs(1500, 50, 12);
  ExpectPureFold(ReadOutputs(2000));
  EXPECT_EQ(*worker.Stop(10s), 0);
}

}  // namespace
}  // namespace claims::testing
