// The adjudication binary as ops run it: replicas in one consumer group around the dev broker,
// scaled up and down and killed while events flow. Every test checks the decisions the way every
// consumer reads them — de-duplicated by (member, sequence) — byte for byte against the pure fold
// of the same inputs (domain::Fold + the codec), and that no (member, sequence) ever carried two
// different decisions.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/fold.h"
#include "tests/bench/history.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;
using test_support::ChildProcess;

constexpr char kInput[] = "intake.events.v1";
constexpr char kDecisions[] = "adjudication.decisions.v1";
constexpr char kPlanId[] = "six-guarantees-v1";

using OutputKey = std::pair<std::string, uint64_t>;  // (member, sequence)

struct Decisions {
  std::map<OutputKey, std::string> accepted;
  size_t raw = 0;
  size_t conflicts = 0;
};

class AdjudicationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(test_support::DevBroker::Start()).value();
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("adjudication-e2e")).value());
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
    plan_ = std::move(codec::LoadPlanFile(CLAIMS_PLANS_DIR "/six-guarantees-v1.textproto")).value();
    bench::HistoryShape shape;
    shape.members = 2300;
    shape.years = 2;
    shape.claims_per_thousand_member_years = 800;
    int n = 0;
    for (const domain::Input& in : bench::GenerateHistory(shape)) {
      inputs_.push_back(codec::EncodeInput(in, "E" + std::to_string(++n), kPlanId));
    }
  }

  // On failure, the replicas' logs tell why (the temp dir goes with the test).
  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
      if (entry.path().extension() != ".log") continue;
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      std::fprintf(stderr, "---- %s (last 3000 bytes)\n%s\n", entry.path().filename().c_str(),
                   text.substr(text.size() > 3000 ? text.size() - 3000 : 0).c_str());
    }
  }

  // The pure fold of inputs_[0, count): every output by (member, sequence), as bytes.
  std::map<OutputKey, std::string> Reference(size_t count) {
    domain::Fold fold;
    std::map<OutputKey, std::string> out;
    for (size_t i = 0; i < count; ++i) {
      const domain::Output o = fold.Apply(*codec::DecodeInput(inputs_[i]), plan_);
      if (o.empty()) continue;
      const ev::Envelope e = codec::EncodeOutput(o, inputs_[i]);
      out[{e.member_id(), e.sequence()}] = e.SerializeAsString();
    }
    return out;
  }

  void Publish(size_t from, size_t to) {
    std::vector<bus::OutgoingMessage> batch;
    for (size_t i = from; i < to; ++i) {
      bus::OutgoingMessage m;
      m.topic = kInput;
      m.key = inputs_[i].member_id();
      m.value = inputs_[i].SerializeAsString();
      batch.push_back(std::move(m));
    }
    for (const bus::Delivery& d : producer_->ProduceAll(batch, 60s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  ChildProcess StartReplica(const std::string& name) {
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + "-" + std::to_string(++started_) + ".out");
    spawn.stderr_path = dir_->File(name + "-" + std::to_string(started_) + ".log");
    auto child = ChildProcess::Spawn(
        {CLAIMS_ADJUDICATION_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(),
         "--plans-dir", plans_dir_, "--data-dir", dir_->File(name), "--listen", "127.0.0.1:0",
         "--metrics-listen", "127.0.0.1:0", "--insecure-dev", "--session-timeout", "6s",
         "--max-batch", "200"},
        spawn);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    return std::move(child).value();
  }

  // Reads the decisions topic from the start until `expected` distinct outputs arrived (or the
  // timeout), then to the end of every partition as it is then.
  Decisions ReadDecisions(size_t expected, std::chrono::milliseconds timeout = 120s) {
    Decisions out;
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    std::vector<bus::TopicPartitionOffset> all;
    for (int p = 0; p < 12; ++p) all.push_back({kDecisions, p, bus::Consumer::kBeginning});
    EXPECT_TRUE(consumer->Assign(all).ok());
    std::map<int32_t, int64_t> next, end;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto caught_up = [&] {
      if (out.accepted.size() < expected) return false;
      if (end.empty()) {
        for (int p = 0; p < 12; ++p) end[p] = consumer->Watermarks({kDecisions, p}, 10s)->second;
      }
      for (const auto& [p, high] : end) {
        if (next[p] < high) return false;
      }
      return true;
    };
    for (int polls = 0;
         !caught_up() && polls < 100000 && std::chrono::steady_clock::now() < deadline; ++polls) {
      Result<std::vector<bus::ConsumerEvent>> events = consumer->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        next[e.message.partition] = e.message.offset + 1;
        ++out.raw;
        ev::Envelope envelope;
        if (!envelope.ParseFromString(e.message.value)) {
          ADD_FAILURE() << "a decision that is not an envelope";
          continue;
        }
        auto [it, inserted] = out.accepted.emplace(
            OutputKey{envelope.member_id(), envelope.sequence()}, e.message.value);
        if (!inserted && it->second != e.message.value) ++out.conflicts;
      }
    }
    return out;
  }

  void ExpectPureFold(const Decisions& got, size_t inputs) {
    const std::map<OutputKey, std::string> want = Reference(inputs);
    EXPECT_EQ(got.conflicts, 0u) << "a (member, sequence) carried two different decisions";
    EXPECT_EQ(got.accepted.size(), want.size());
    size_t differing = 0;
    for (const auto& [key, bytes] : want) {
      auto it = got.accepted.find(key);
      if (it == got.accepted.end() || it->second != bytes) ++differing;
    }
    EXPECT_EQ(differing, 0u) << "decisions missing or not byte-equal to the pure fold";
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
  domain::Plan plan_;
  std::vector<ev::Envelope> inputs_;
  std::string plans_dir_ = CLAIMS_PLANS_DIR;
  int started_ = 0;
};

TEST_F(AdjudicationE2eTest, DecidesMixedEventsExactlyAsThePureFold) {
  ASSERT_GE(inputs_.size(), 10000u);
  Publish(0, inputs_.size());
  ChildProcess replica = StartReplica("a");
  const Decisions got = ReadDecisions(Reference(inputs_.size()).size());
  ExpectPureFold(got, inputs_.size());
  EXPECT_EQ(got.raw, got.accepted.size()) << "nothing failed, so nothing was published twice";
  EXPECT_EQ(*replica.Stop(15s), 0);
}

TEST_F(AdjudicationE2eTest, ScalesFromOneToThreeToTwoReplicasWhileEventsFlow) {
  const size_t n = inputs_.size();
  ChildProcess a = StartReplica("a");
  Publish(0, n / 4);
  ASSERT_GT(ReadDecisions(1, 60s).accepted.size(), 0u);
  ChildProcess b = StartReplica("b");
  ChildProcess c = StartReplica("c");
  Publish(n / 4, n / 2);
  std::this_thread::sleep_for(8s);  // b and c join: partitions move, restored by silent folds
  Publish(n / 2, 3 * n / 4);
  ASSERT_EQ(*b.Stop(15s), 0);  // one leaves: its partitions move to a and c
  Publish(3 * n / 4, n);
  ExpectPureFold(ReadDecisions(Reference(n).size()), n);
  EXPECT_EQ(*a.Stop(15s), 0);
  EXPECT_EQ(*c.Stop(15s), 0);
}

TEST_F(AdjudicationE2eTest, SurvivesRandomSigkillsWhileEventsFlow) {
  const uint64_t seed = 7;
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t n = inputs_.size();
  const size_t rounds = 4;
  for (size_t round = 0; round < rounds; ++round) {
    ChildProcess replica = StartReplica("a");
    std::thread publishing([&] { Publish(round * n / rounds, (round + 1) * n / rounds); });
    // Kill it while it works: once this round's first decisions are out, after 0-500 ms more.
    const size_t before = Reference(round * n / rounds).size();
    ASSERT_GT(ReadDecisions(before + 1, 60s).accepted.size(), before);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 500));
    ASSERT_TRUE(replica.Kill().ok());
    publishing.join();
  }
  ChildProcess replica = StartReplica("a");
  ExpectPureFold(ReadDecisions(Reference(n).size()), n);
  EXPECT_EQ(*replica.Stop(15s), 0);
}

TEST_F(AdjudicationE2eTest, AChangedPlanFileStallsInsteadOfDecidingDifferently) {
  // A private copy of the plans, so that the test can change "published" plan file.
  plans_dir_ = dir_->File("plans");
  std::filesystem::create_directories(plans_dir_);
  const std::string plan_file = plans_dir_ + "/six-guarantees-v1.textproto";
  std::filesystem::copy_file(CLAIMS_PLANS_DIR "/six-guarantees-v1.textproto", plan_file);
  const size_t half = inputs_.size() / 2;  // the first plan year's events
  const size_t decided = Reference(half).size();
  ASSERT_GT(decided, 1000u);
  Publish(0, half);
  {
    ChildProcess replica = StartReplica("a");
    ASSERT_EQ(ReadDecisions(decided).accepted.size(), decided);
    ASSERT_EQ(*replica.Stop(15s), 0);
  }
  std::ofstream(plan_file, std::ios::app) << "# edited after publication\n";
  Publish(half, inputs_.size());
  ChildProcess replica = StartReplica("a");
  std::this_thread::sleep_for(8s);
  const Decisions got = ReadDecisions(decided, 10s);
  EXPECT_EQ(got.accepted.size(), decided) << "nothing new may be decided";
  EXPECT_EQ(*replica.Stop(15s), 0);
  std::ifstream log(dir_->File("a-2.log"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("plan file of six-guarantees-v1 changed"), std::string::npos) << text;
}

}  // namespace
}  // namespace claims
