// What the processor counts and logs as republished, against the real dev broker and RocksDB:
// the outputs of the first live batch after a restore, from records that were in the log at the
// restore. A crash after publishing and before the store write is emulated exactly: a checkpoint
// of the store taken before the batch, opened by a new owner whose group has no offset.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/processor/processor.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims::processor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr char kInput[] = "intake.events.v1";
constexpr char kOutput[] = "adjudication.decisions.v1";

// One output per input, with the headers every envelope record carries.
class PassThroughFold : public PartitionFold {
 public:
  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override {
    (void)batch;
    bus::OutgoingMessage out;
    out.topic = kOutput;
    out.key = input.key;
    out.value = input.value;
    out.headers = {{"type", "Echo"},
                   {"event-id", "out-" + std::to_string(input.offset)},
                   {"trace-id", "trace-" + input.value}};
    outputs.push_back(std::move(out));
    return Status::Ok();
  }
};

// Logger options that append each line to `lines` under `mu`.
runtime::LoggerOptions CaptureTo(std::mutex& mu, std::vector<std::string>& lines) {
  runtime::LoggerOptions options;
  options.sink = [&mu, &lines](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  };
  return options;
}

// A processor on a thread of its own, with its log lines captured.
class RunningProcessor {
 public:
  RunningProcessor(const std::string& bootstrap, const std::string& group, store::StateStore& store)
      : logger_("test", CaptureTo(mu_, lines_)) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = bootstrap;
    co.group_id = group;
    co.session_timeout_ms = 6000;
    consumer_ = std::move(bus::Consumer::Create(co)).value();
    bus::ProducerOptions po;
    po.bootstrap_servers = bootstrap;
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
    ProcessorOptions options;
    options.input_topic = kInput;
    // Everything that arrives within a second is one batch, so batches are known exactly.
    options.max_batch_time = 1000ms;
    options.logger = &logger_;
    options.log_outputs = true;
    processor_ = std::make_unique<Processor>(
        options, *consumer_, *producer_, store,
        [](int32_t, store::StateStore&) -> Result<std::unique_ptr<PartitionFold>> {
          return std::unique_ptr<PartitionFold>(new PassThroughFold);
        });
    thread_ = std::thread([this] { result_ = processor_->Run(stop_); });
  }

  ~RunningProcessor() { Stop(); }

  // Waits (at most 30 s) until `n` records were folded.
  bool WaitForFolded(uint64_t n) {
    for (int i = 0; i < 600 && processor_->stats().records_folded.load() < n; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    return processor_->stats().records_folded.load() == n;
  }

  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return result_;
  }

  const ProcessorStats& stats() const { return processor_->stats(); }

  std::vector<std::string> Lines(const std::string& containing) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const std::string& line : lines_) {
      if (line.find(containing) != std::string::npos) out.push_back(line);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
  runtime::Logger logger_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<Processor> processor_;
  std::atomic<bool> stop_{false};
  Status result_;
  std::thread thread_;
};

class ProcessorRepublishTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::DevBrokerOptions options;
    options.partitions = 1;
    auto broker = test_support::DevBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    dir_.emplace(std::move(test_support::TempDir::Create("processor-republish")).value());
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
  }

  void ProduceInputs(int from, int to) {
    std::vector<bus::OutgoingMessage> records;
    for (int i = from; i < to; ++i) records.push_back({kInput, "m", std::to_string(i), {}, 0});
    for (const bus::Delivery& d : producer_->ProduceAll(records, 10s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  std::unique_ptr<store::StateStore> OpenStore(const std::string& name) {
    return std::move(store::StateStore::Open(dir_->File(name), {})).value();
  }

  // The output topic's values in log order, read until `n` arrived (at most 30 s).
  std::vector<std::string> ReadOutputs(size_t n) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    EXPECT_TRUE(consumer->Assign({{kOutput, 0, bus::Consumer::kBeginning}}).ok());
    std::vector<std::string> values;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (values.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto events = consumer->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind == bus::ConsumerEvent::Kind::kMessage) values.push_back(e.message.value);
      }
    }
    return values;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
};

TEST_F(ProcessorRepublishTest, CountsTheFirstLiveBatchAfterARestoreFromBehindTheLogEnd) {
  std::unique_ptr<store::StateStore> store = OpenStore("owner");
  ProduceInputs(0, 10);
  {
    // A first owner: records 0..9 were in the log at its restore (nobody had folded them, but
    // the processor cannot know that), 10..14 arrive later.
    RunningProcessor first(broker_->bootstrap_servers(), "first", *store);
    ASSERT_TRUE(first.WaitForFolded(10));
    ASSERT_TRUE(store->Checkpoint(dir_->File("before-crash")).ok());
    ProduceInputs(10, 15);
    ASSERT_TRUE(first.WaitForFolded(15));
    ASSERT_TRUE(first.Stop().ok());
    EXPECT_EQ(first.stats().outputs_published.load(), 15u);
    EXPECT_EQ(first.stats().outputs_republished.load(), 10u);
    EXPECT_EQ(first.Lines("\"republished\":true").size(), 10u);
    EXPECT_EQ(first.Lines("\"republished\":false").size(), 5u);
  }

  // The crash: outputs of 10..14 published, the store as before them, no group offset. The new
  // owner folds 10..14 again and publishes their outputs a second time.
  std::unique_ptr<store::StateStore> restored = OpenStore("before-crash");
  RunningProcessor second(broker_->bootstrap_servers(), "second", *restored);
  ASSERT_TRUE(second.WaitForFolded(5));
  ProduceInputs(15, 18);
  ASSERT_TRUE(second.WaitForFolded(8));
  ASSERT_TRUE(second.Stop().ok());
  EXPECT_EQ(second.stats().outputs_published.load(), 8u);
  EXPECT_EQ(second.stats().outputs_republished.load(), 5u);
  EXPECT_EQ(second.stats().records_silent.load(), 0u);
  const std::vector<std::string> again = second.Lines("\"republished\":true");
  ASSERT_EQ(again.size(), 5u);
  EXPECT_THAT(again[0], HasSubstr(R"("msg":"output published","trace_id":"trace-10","type":"Echo",)"
                                  R"("event_id":"out-10","topic":"adjudication.decisions.v1",)"));
  EXPECT_EQ(second.Lines("\"republished\":false").size(), 3u);
  EXPECT_EQ(second.Lines("\"msg\":\"partition restored\"").size(), 1u);
  EXPECT_THAT(second.Lines("\"msg\":\"partition restored\"")[0],
              HasSubstr(R"("offset":10,"group_offset":-1,"silent_records":0,"log_end":15)"));

  // What a consumer sees: 10..14 twice, everything else once.
  const std::vector<std::string> outputs = ReadOutputs(23);
  ASSERT_EQ(outputs.size(), 23u);
  std::map<std::string, int> times;
  for (const std::string& v : outputs) ++times[v];
  for (int i = 0; i < 18; ++i) {
    EXPECT_EQ(times[std::to_string(i)], i >= 10 && i < 15 ? 2 : 1) << i;
  }
}

TEST_F(ProcessorRepublishTest, CountsNothingWhenTheRestoreIsAtTheLogEnd) {
  std::unique_ptr<store::StateStore> store = OpenStore("owner");
  RunningProcessor owner(broker_->bootstrap_servers(), "quiet", *store);
  // Wait for the assignment (the restore line), then publish: every record is new.
  for (int i = 0; i < 600 && owner.Lines("partition restored").empty(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(owner.Lines("partition restored").size(), 1u);
  ProduceInputs(0, 4);
  ASSERT_TRUE(owner.WaitForFolded(4));
  ASSERT_TRUE(owner.Stop().ok());
  EXPECT_EQ(owner.stats().outputs_published.load(), 4u);
  EXPECT_EQ(owner.stats().outputs_republished.load(), 0u);
}

}  // namespace
}  // namespace claims::processor
