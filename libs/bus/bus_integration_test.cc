// The bus against the real dev broker (services/devbroker), one fresh broker per test.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "libs/bus/consumer.h"
#include "libs/bus/errors.h"
#include "libs/bus/partitioner.h"
#include "libs/bus/producer.h"
#include "libs/runtime/log.h"
#include "tests/support/dev_broker.h"

namespace claims::bus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using test_support::DevBroker;
using test_support::DevBrokerOptions;

constexpr const char* kTopic = "intake.events.v1";
constexpr int kPartitions = 12;

std::string Key(int member) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "member-%03d", member);
  return buf;
}

// Message i belongs to member i % members and is that member's (i / members)-th event.
OutgoingMessage Event(int i, int members) {
  OutgoingMessage m;
  m.topic = kTopic;
  m.key = Key(i % members);
  m.value = m.key + ":" + std::to_string(i / members);
  m.headers = {{"event-type", "ClaimSubmitted"},
               {"event-id", "evt-" + std::to_string(i)},
               {"trace-id", "trace-" + std::to_string(i)},
               {"binary", std::string("\0\x01\xff", 3)}};
  return m;
}

// Polls until `want` records arrived or `limit` passed, then polls `settle` longer to catch any
// record beyond `want` (there must be none when delivery is exactly once).
std::vector<Message> ConsumeExactly(Consumer& consumer, size_t want, milliseconds limit,
                                    milliseconds settle = milliseconds(500)) {
  std::vector<Message> out;
  const auto deadline = steady_clock::now() + limit;
  auto settle_until = steady_clock::time_point::max();
  for (int polls = 0; polls < 100000; ++polls) {
    const auto now = steady_clock::now();
    if (now >= deadline || now >= settle_until) break;
    Result<std::vector<ConsumerEvent>> events = consumer.Poll(milliseconds(100));
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) break;
    for (ConsumerEvent& e : *events) {
      if (e.kind == ConsumerEvent::Kind::kMessage) out.push_back(std::move(e.message));
    }
    if (out.size() >= want && settle_until == steady_clock::time_point::max()) {
      settle_until = steady_clock::now() + settle;
    }
  }
  return out;
}

// Reads every partition of kTopic from the start with no group (fast: no join).
std::vector<Message> ReadAll(const std::string& bootstrap, size_t want) {
  ConsumerOptions options;
  options.bootstrap_servers = bootstrap;
  Result<std::unique_ptr<Consumer>> consumer = Consumer::Create(options);
  EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
  if (!consumer.ok()) return {};
  std::vector<TopicPartitionOffset> all;
  for (int p = 0; p < kPartitions; ++p) all.push_back({kTopic, p, Consumer::kBeginning});
  Status assigned = (*consumer)->Assign(all);
  EXPECT_TRUE(assigned.ok()) << assigned.ToString();
  return ConsumeExactly(**consumer, want, seconds(30));
}

// Sum of the high watermarks of kTopic's partitions, as the broker reports them: the number of
// records in the log, duplicates included.
int64_t RecordsInLog(DevBroker& broker) {
  Result<std::string> reply = broker.Control(std::string("partitions ") + kTopic);
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  if (!reply.ok()) return -1;
  EXPECT_EQ(reply->rfind("OK ", 0), 0u) << *reply;
  int64_t total = 0;
  size_t pos = 0;
  int partitions = 0;
  while ((pos = reply->find(":hw=", pos)) != std::string::npos) {
    pos += 4;
    total += std::stoll(reply->substr(pos));
    ++partitions;
  }
  EXPECT_EQ(partitions, kPartitions) << *reply;
  return total;
}

// Checks that `messages` are exactly events 0..n-1 of Event(i, members), once each, each
// member's in order, with their headers.
void ExpectExactlyOnceInKeyOrder(const std::vector<Message>& messages, int n, int members) {
  EXPECT_EQ(messages.size(), static_cast<size_t>(n));
  std::set<std::string> ids;
  std::map<std::string, int> next_seq;
  std::map<std::string, int32_t> partition_of;
  for (const Message& m : messages) {
    const std::string* id = FindHeader(m.headers, "event-id");
    ASSERT_NE(id, nullptr);
    EXPECT_TRUE(ids.insert(*id).second) << "duplicate " << *id;
    const int i = std::stoi(id->substr(4));
    const OutgoingMessage want = Event(i, members);
    EXPECT_EQ(m.topic, kTopic);
    EXPECT_TRUE(m.has_key);
    EXPECT_EQ(m.key, want.key);
    EXPECT_EQ(m.value, want.value);
    EXPECT_EQ(m.headers, want.headers);
    EXPECT_EQ(want.value, m.key + ":" + std::to_string(next_seq[m.key]))
        << "out of order for " << m.key;
    next_seq[m.key] = i / members + 1;
    auto [it, fresh] = partition_of.emplace(m.key, m.partition);
    EXPECT_EQ(it->second, m.partition) << m.key << " spans two partitions";
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DevBrokerOptions options;
    options.partitions = kPartitions;
    Result<std::unique_ptr<DevBroker>> broker = DevBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
  }

  ProducerOptions ProducerOpts() const {
    ProducerOptions options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    return options;
  }

  ConsumerOptions GroupOpts(const std::string& group) const {
    ConsumerOptions options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.group_id = group;
    options.session_timeout_ms = 6000;
    return options;
  }

  std::unique_ptr<Producer> MakeProducer(const ProducerOptions& options) {
    Result<std::unique_ptr<Producer>> producer = Producer::Create(options);
    EXPECT_TRUE(producer.ok()) << producer.status().ToString();
    return producer.ok() ? std::move(*producer) : nullptr;
  }

  std::unique_ptr<Consumer> MakeConsumer(const ConsumerOptions& options) {
    Result<std::unique_ptr<Consumer>> consumer = Consumer::Create(options);
    EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  std::unique_ptr<DevBroker> broker_;
};

TEST_F(BusTest, DeliversTenThousandKeyedMessagesOnceInKeyOrderWithHeaders) {
  constexpr int kCount = 10000;
  constexpr int kMembers = 200;
  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);

  std::mutex mu;
  std::vector<Delivery> deliveries(kCount);
  std::atomic<int> reported{0};
  for (int i = 0; i < kCount; ++i) {
    Status s = producer->Produce(Event(i, kMembers), [&, i](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      deliveries[i] = d;
      ++reported;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_TRUE(producer->Flush(seconds(30)).ok());
  EXPECT_EQ(reported.load(), kCount);
  EXPECT_EQ(producer->Outstanding(), 0u);

  std::set<std::pair<int32_t, int64_t>> positions;
  std::map<std::string, int32_t> partition_of;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (int i = 0; i < kCount; ++i) {
      const Delivery& d = deliveries[i];
      ASSERT_TRUE(d.status.ok()) << i << ": " << d.status.ToString();
      EXPECT_EQ(d.topic, kTopic);
      EXPECT_GE(d.offset, 0);
      EXPECT_TRUE(positions.insert({d.partition, d.offset}).second);
      auto [it, fresh] = partition_of.emplace(Key(i % kMembers), d.partition);
      EXPECT_EQ(it->second, d.partition);
    }
  }
  EXPECT_EQ(RecordsInLog(*broker_), kCount);

  std::unique_ptr<Consumer> consumer = MakeConsumer(GroupOpts("ten-thousand"));
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Subscribe({kTopic}).ok());
  const std::vector<Message> messages = ConsumeExactly(*consumer, kCount, seconds(40));
  ExpectExactlyOnceInKeyOrder(messages, kCount, kMembers);
  for (const Message& m : messages) {
    EXPECT_EQ(partition_of[m.key], m.partition);
  }
  EXPECT_TRUE(consumer->Close().ok());
}

TEST_F(BusTest, NewGroupMemberResumesRightAfterCommittedOffset) {
  constexpr int kCount = 600;
  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < kCount; ++i) batch.push_back(Event(i, 60));
  const std::vector<Delivery> deliveries = producer->ProduceAll(batch, seconds(30));
  std::map<int32_t, int64_t> records;  // partition -> records in it (offsets start at 0)
  for (const Delivery& d : deliveries) {
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    ++records[d.partition];
  }

  // The first member reads everything, then commits half of each partition.
  std::map<int32_t, int64_t> cut;
  {
    std::unique_ptr<Consumer> first = MakeConsumer(GroupOpts("resume"));
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(first->Subscribe({kTopic}).ok());
    ASSERT_EQ(ConsumeExactly(*first, kCount, seconds(30), milliseconds(0)).size(),
              static_cast<size_t>(kCount));
    std::vector<TopicPartitionOffset> commits;
    for (const auto& [p, n] : records) {
      cut[p] = n / 2;
      commits.push_back({kTopic, p, n / 2});
    }
    Status committed = first->Commit(commits);
    ASSERT_TRUE(committed.ok()) << committed.ToString();
    ASSERT_TRUE(first->Close().ok());
  }

  std::unique_ptr<Consumer> second = MakeConsumer(GroupOpts("resume"));
  ASSERT_NE(second, nullptr);
  size_t want = 0;
  for (int p = 0; p < kPartitions; ++p) {
    Result<std::optional<int64_t>> committed = second->Committed({kTopic, p}, seconds(10));
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    if (records.count(p) == 0) {
      EXPECT_FALSE(committed->has_value()) << "partition " << p;
      continue;
    }
    ASSERT_TRUE(committed->has_value()) << "partition " << p;
    EXPECT_EQ(**committed, cut[p]) << "partition " << p;
    want += static_cast<size_t>(records[p] - cut[p]);
  }

  ASSERT_TRUE(second->Subscribe({kTopic}).ok());
  const std::vector<Message> rest = ConsumeExactly(*second, want, seconds(30));
  EXPECT_EQ(rest.size(), want);
  std::map<int32_t, int64_t> next;
  for (const auto& [p, c] : cut) next[p] = c;
  for (const Message& m : rest) {
    EXPECT_EQ(m.offset, next[m.partition]) << "partition " << m.partition;
    next[m.partition] = m.offset + 1;
  }
  for (const auto& [p, n] : records) EXPECT_EQ(next[p], n) << "partition " << p;
}

TEST_F(BusTest, SeekAfterAssignmentRereadsFromTheGivenOffset) {
  constexpr int kCount = 240;
  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < kCount; ++i) batch.push_back(Event(i, 24));
  std::map<int32_t, int64_t> records;
  for (const Delivery& d : producer->ProduceAll(batch, seconds(30))) {
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    ++records[d.partition];
  }

  std::unique_ptr<Consumer> consumer = MakeConsumer(GroupOpts("seek"));
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Subscribe({kTopic}).ok());
  std::vector<TopicPartition> assigned;
  ASSERT_EQ(ConsumeExactly(*consumer, kCount, seconds(30), milliseconds(0)).size(),
            static_cast<size_t>(kCount));
  Result<std::vector<TopicPartition>> assignment = consumer->Assignment();
  ASSERT_TRUE(assignment.ok());
  EXPECT_EQ(assignment->size(), static_cast<size_t>(kPartitions));

  const int32_t partition = records.begin()->first;
  const int64_t n = records.begin()->second;
  Status sought = consumer->Seek({kTopic, partition, n / 3}, seconds(5));
  ASSERT_TRUE(sought.ok()) << sought.ToString();
  const std::vector<Message> again = ConsumeExactly(*consumer, n - n / 3, seconds(10));
  ASSERT_EQ(again.size(), static_cast<size_t>(n - n / 3));
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].partition, partition);
    EXPECT_EQ(again[i].offset, n / 3 + static_cast<int64_t>(i));
  }
}

// A logger whose lines are kept, for the test to read.
class CapturedLog {
 public:
  CapturedLog() : logger_("bus-test", Options(this)) {}
  const runtime::Logger& logger() const { return logger_; }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  static runtime::LoggerOptions Options(CapturedLog* self) {
    runtime::LoggerOptions options;
    options.sink = [self](std::string_view line) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->text_ += line;
    };
    return options;
  }

  mutable std::mutex mu_;
  std::string text_;        // guarded by mu_
  runtime::Logger logger_;  // last: its sink writes to the members above
};

// One group member polled by its own thread; what it owns follows the events Poll returns.
class PolledMember {
 public:
  explicit PolledMember(std::unique_ptr<Consumer> consumer) : consumer_(std::move(consumer)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~PolledMember() { Join(); }

  void Join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::set<TopicPartition> owned() const {
    std::lock_guard<std::mutex> lock(mu_);
    return owned_;
  }
  std::vector<ConsumerEvent> rebalances() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rebalances_;
  }

 private:
  void Loop() {
    ASSERT_TRUE(consumer_->Subscribe({kTopic}).ok());
    const auto deadline = steady_clock::now() + seconds(40);
    while (!stop_ && steady_clock::now() < deadline) {
      Result<std::vector<ConsumerEvent>> events = consumer_->Poll(milliseconds(50));
      ASSERT_TRUE(events.ok()) << events.status().ToString();
      std::lock_guard<std::mutex> lock(mu_);
      for (const ConsumerEvent& e : *events) {
        if (e.kind == ConsumerEvent::Kind::kAssigned) {
          owned_.insert(e.partitions.begin(), e.partitions.end());
          rebalances_.push_back(e);
        } else if (e.kind == ConsumerEvent::Kind::kRevoked) {
          for (const TopicPartition& tp : e.partitions) owned_.erase(tp);
          rebalances_.push_back(e);
        }
      }
    }
    EXPECT_TRUE(consumer_->Close().ok());
  }

  std::unique_ptr<Consumer> consumer_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<TopicPartition> owned_;
  std::vector<ConsumerEvent> rebalances_;
  std::thread thread_;
};

// Waits (bounded) until `done` holds, checking every 20 ms.
template <typename Pred>
bool WaitFor(Pred done, milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  for (int i = 0; i < 100000 && steady_clock::now() < deadline; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

// The rebalance callback knows the protocol from the configured assignors (asking the group
// there can hang a closing consumer: librdkafka issue 4041). An eager assignor set in the
// properties is served with eager assignments; a list mixing both kinds is refused.
TEST_F(BusTest, AnEagerAssignorFromThePropertiesIsServedAndAMixedListIsRefused) {
  ConsumerOptions mixed = GroupOpts("mixed");
  mixed.properties["partition.assignment.strategy"] = "range, cooperative-sticky";
  Result<std::unique_ptr<Consumer>> refused = Consumer::Create(mixed);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("partition.assignment.strategy"), std::string::npos)
      << refused.status().ToString();

  ConsumerOptions eager = GroupOpts("eager");
  eager.properties["partition.assignment.strategy"] = "range";
  PolledMember member(MakeConsumer(eager));
  ASSERT_TRUE(WaitFor([&] { return member.owned().size() == kPartitions; }, seconds(15)))
      << member.owned().size();
  member.Join();  // Close must succeed (checked in the member's loop)
}

TEST_F(BusTest, SecondMemberTakesOverHalfThePartitionsCooperatively) {
  PolledMember first(MakeConsumer(GroupOpts("cooperative")));
  ASSERT_TRUE(WaitFor([&] { return first.owned().size() == kPartitions; }, seconds(15)));

  PolledMember second(MakeConsumer(GroupOpts("cooperative")));
  ASSERT_TRUE(WaitFor(
      [&] {
        return first.owned().size() == kPartitions / 2 && second.owned().size() == kPartitions / 2;
      },
      seconds(25)))
      << first.owned().size() << " + " << second.owned().size();
  std::set<TopicPartition> all = first.owned();
  for (const TopicPartition& tp : second.owned()) EXPECT_TRUE(all.insert(tp).second);
  EXPECT_EQ(all.size(), static_cast<size_t>(kPartitions));

  // The first member gave up exactly what the second got, in a handover (not lost), and kept
  // the rest without a revocation: that is cooperative rebalancing.
  const std::vector<ConsumerEvent> events = first.rebalances();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, ConsumerEvent::Kind::kAssigned);
  EXPECT_EQ(events[0].partitions.size(), static_cast<size_t>(kPartitions));
  EXPECT_EQ(events[1].kind, ConsumerEvent::Kind::kRevoked);
  EXPECT_FALSE(events[1].lost);
  const std::set<TopicPartition> given(events[1].partitions.begin(), events[1].partitions.end());
  EXPECT_EQ(given, second.owned());
  first.Join();
  second.Join();
}

// librdkafka before 2.3 (Debian 12 has 2.0) aborts when a cooperative-sticky member is
// destroyed after the coordinator answered its JoinGroup and before its first SyncGroup
// (librdkafka issue 4312): a replica scaled away while it is still joining. Each joining member
// here leaves at exactly that moment; the test binary must live through it, and the group must
// go on with the first member owning everything.
TEST_F(BusTest, AMemberThatLeavesWhileJoiningClosesCleanly) {
  // Once Close lets the member finish joining (the default), once it does not wait: then its
  // SyncGroup may still come while it leaves, or its handle is kept instead of destroyed. Each
  // in its own group, which is steady when the member joins.
  for (const bool wait : {true, false}) {
    SCOPED_TRACE(wait ? "Close waits" : "Close does not wait");
    const std::string group = wait ? "leaving-after-joining" : "leaving-while-joining";
    PolledMember first(MakeConsumer(GroupOpts(group)));
    ASSERT_TRUE(WaitFor([&] { return first.owned().size() == kPartitions; }, seconds(15)));

    CapturedLog captured;
    ConsumerOptions options = GroupOpts(group);
    options.logger = &captured.logger();
    if (!wait) options.close_join_wait_ms = 0;
    std::unique_ptr<Consumer> joining = MakeConsumer(options);
    ASSERT_NE(joining, nullptr);
    ASSERT_TRUE(joining->Subscribe({kTopic}).ok());
    bool join_answered = false;
    const auto deadline = steady_clock::now() + seconds(20);
    for (int polls = 0; polls < 4000 && !join_answered && steady_clock::now() < deadline; ++polls) {
      Result<std::vector<ConsumerEvent>> events = joining->Poll(milliseconds(5));
      ASSERT_TRUE(events.ok()) << events.status().ToString();
      ASSERT_TRUE(events->empty()) << "the member was assigned before its join was seen";
      join_answered = joining->RebalanceProtocol() != "NONE";
    }
    ASSERT_TRUE(join_answered) << "the coordinator never answered the JoinGroup";
    const auto closing = steady_clock::now();
    const Status closed = joining->Close();
    const auto closed_after = steady_clock::now() - closing;
    if (wait) {
      EXPECT_TRUE(closed.ok()) << closed.ToString();
    } else {
      // A SyncGroup that arrives while librdkafka 2.0 closes can keep its close from ending
      // (librdkafka issue 4527): Close then gives up after close_timeout_ms and keeps the handle.
      EXPECT_TRUE(closed.ok() || closed.code() == StatusCode::kDeadlineExceeded)
          << closed.ToString();
    }
    EXPECT_LT(closed_after,
              milliseconds(options.session_timeout_ms + options.close_timeout_ms + 5000));
    joining.reset();  // librdkafka 2.0 aborted here
    {
      const std::string log = captured.text();
      const bool kept = log.find("kafka consumer left undestroyed") != std::string::npos;
      std::printf(
          "%s: the member was %s after %lld ms (%s)\n", wait ? "waiting" : "not waiting",
          kept ? "kept" : "destroyed",
          static_cast<long long>(std::chrono::duration_cast<milliseconds>(closed_after).count()),
          closed.ToString().c_str());
      // Kept only if it did not finish joining in the time it was given, or did not finish
      // closing.
      if (kept && wait) {
        EXPECT_GE(closed_after, milliseconds(options.session_timeout_ms)) << log;
      }
      if (!closed.ok()) {
        EXPECT_NE(log.find("it did not finish closing"), std::string::npos) << log;
      }
    }
    EXPECT_TRUE(WaitFor([&] { return first.owned().size() == kPartitions; }, seconds(20)))
        << first.owned().size();
    first.Join();
  }
}

// Subscribes a group's only member and polls it (on this thread) until it was assigned every
// partition, within 20 s.
void SubscribeUntilItOwnsEveryPartition(Consumer& consumer) {
  ASSERT_TRUE(consumer.Subscribe({kTopic}).ok());
  size_t owned = 0;
  const auto deadline = steady_clock::now() + seconds(20);
  for (int polls = 0; polls < 1000 && owned < kPartitions && steady_clock::now() < deadline;
       ++polls) {
    Result<std::vector<ConsumerEvent>> events = consumer.Poll(milliseconds(50));
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    for (const ConsumerEvent& e : *events) {
      if (e.kind == ConsumerEvent::Kind::kAssigned) owned += e.partitions.size();
    }
  }
  ASSERT_EQ(owned, static_cast<size_t>(kPartitions));
}

// A replica that stops while the cluster is gone must still stop: Close is bounded (its join
// wait, the revocation, then close_timeout_ms), whether librdkafka finishes leaving or not.
TEST_F(BusTest, CloseReturnsInBoundedTimeWhenTheClusterIsGone) {
  ConsumerOptions options = GroupOpts("closing-alone");
  options.close_timeout_ms = 2000;
  std::unique_ptr<Consumer> consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  ASSERT_NO_FATAL_FAILURE(SubscribeUntilItOwnsEveryPartition(*consumer));

  ASSERT_TRUE(broker_->Stop().ok());
  const auto closing = steady_clock::now();
  const Status closed = consumer->Close();
  consumer.reset();
  const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - closing);
  std::printf("close with no cluster: %s after %lld ms\n", closed.ToString().c_str(),
              static_cast<long long>(took.count()));
  EXPECT_TRUE(closed.ok() || closed.code() == StatusCode::kDeadlineExceeded) << closed.ToString();
  // Revocation (at most 5 s) + close_timeout_ms, with room for a slow machine.
  EXPECT_LT(took, seconds(12));
}

// A member whose close did not finish in time keeps its handle until the process exits (issue
// 4527 makes that happen about once in six runs of the test above). It is kept on purpose, not
// lost: under AddressSanitizer the process must end with no leak reported, and the group must
// still go on to the next member. With close_timeout_ms = 0 a close is left unfinished unless
// librdkafka happens to finish it before Close first looks (about once in six under ASan): each
// attempt is a member of a group of its own, and five attempts leave that to chance about once
// in 8,000 runs.
TEST_F(BusTest, AMemberKeptForAnUnfinishedCloseIsNoLeakAndItsGroupGoesOn) {
  constexpr int kAttempts = 5;
  std::string group;
  bool kept = false;
  int attempts = 0;
  while (!kept && attempts < kAttempts) {
    group = "kept-after-close-" + std::to_string(++attempts);
    CapturedLog captured;
    ConsumerOptions options = GroupOpts(group);
    options.logger = &captured.logger();
    options.close_timeout_ms = 0;
    std::unique_ptr<Consumer> member = MakeConsumer(options);
    ASSERT_NE(member, nullptr);
    ASSERT_NO_FATAL_FAILURE(SubscribeUntilItOwnsEveryPartition(*member));
    const Status closed = member->Close();
    member.reset();
    const bool left_undestroyed =
        captured.text().find("kafka consumer left undestroyed: it did not finish closing") !=
        std::string::npos;
    if (closed.ok()) {
      EXPECT_FALSE(left_undestroyed) << captured.text();
      continue;
    }
    EXPECT_EQ(closed.code(), StatusCode::kDeadlineExceeded) << closed.ToString();
    EXPECT_NE(closed.message().find("within 0 ms"), std::string::npos) << closed.ToString();
    EXPECT_TRUE(left_undestroyed) << captured.text();
    kept = true;
  }
  std::printf("a member %s after %d attempts\n", kept ? "was kept" : "was never kept", attempts);
  ASSERT_TRUE(kept) << "each of " << kAttempts << " closes finished before Close first looked";
  PolledMember next(MakeConsumer(GroupOpts(group)));
  // The kept member finishes leaving in the background, or is evicted after its session.
  EXPECT_TRUE(WaitFor([&] { return next.owned().size() == kPartitions; },
                      milliseconds(GroupOpts(group).session_timeout_ms + 15000)))
      << next.owned().size();
  next.Join();
}

TEST_F(BusTest, ProducerKeepsGoingThroughFiveSecondBrokerOutageWithoutLossOrDuplicates) {
  constexpr int kCount = 3000;
  constexpr int kMembers = 300;
  ProducerOptions options = ProducerOpts();
  // Reconnect to the returning broker promptly (librdkafka backs off up to 10 s by default).
  options.properties["reconnect.backoff.max.ms"] = "500";
  std::unique_ptr<Producer> producer = MakeProducer(options);
  ASSERT_NE(producer, nullptr);

  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<bool> outage{false};
  std::atomic<int> acked_during_outage{0};
  std::mutex mu;
  std::string first_error;
  auto on_delivery = [&](const Delivery& d) {
    if (d.status.ok()) {
      ++ok;
      if (outage) ++acked_during_outage;
    } else {
      ++failed;
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.empty()) first_error = d.status.ToString();
    }
  };

  // ~7.5 s of steady traffic; broker 2 is down from ~1 s to ~6 s.
  const auto start = steady_clock::now();
  bool went_down = false;
  bool came_up = false;
  for (int i = 0; i < kCount; ++i) {
    const auto elapsed = steady_clock::now() - start;
    if (!went_down && elapsed >= seconds(1)) {
      Result<std::string> reply = broker_->Control("broker-down 2");
      ASSERT_TRUE(reply.ok() && reply->rfind("OK", 0) == 0) << reply.status().ToString();
      outage = true;
      went_down = true;
    }
    if (went_down && !came_up && elapsed >= seconds(6)) {
      Result<std::string> reply = broker_->Control("broker-up 2");
      ASSERT_TRUE(reply.ok() && reply->rfind("OK", 0) == 0) << reply.status().ToString();
      outage = false;
      came_up = true;
    }
    ASSERT_TRUE(producer->Produce(Event(i, kMembers), on_delivery).ok());
    std::this_thread::sleep_for(milliseconds(2));
  }
  if (!came_up) {
    ASSERT_TRUE(broker_->Control("broker-up 2").ok());
    outage = false;
  }
  Status flushed = producer->Flush(seconds(60));
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  EXPECT_EQ(ok.load(), kCount);
  EXPECT_EQ(failed.load(), 0) << first_error;
  // Partitions led by brokers 1 and 3 kept taking records while broker 2 was down.
  EXPECT_GT(acked_during_outage.load(), 100);

  EXPECT_EQ(RecordsInLog(*broker_), kCount);
  ExpectExactlyOnceInKeyOrder(ReadAll(broker_->bootstrap_servers(), kCount), kCount, kMembers);
}

TEST_F(BusTest, RetriesInjectedNotLeaderProduceErrorsWithoutLossOrDuplicates) {
  constexpr int kCount = 1000;
  constexpr int kMembers = 100;
  Result<std::string> reply = broker_->Control("request-errors Produce 5 NOT_LEADER_FOR_PARTITION");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(*reply, "OK next 5 Produce requests fail with NOT_LEADER_FOR_PARTITION");

  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < kCount; ++i) batch.push_back(Event(i, kMembers));
  const std::vector<Delivery> deliveries = producer->ProduceAll(batch, seconds(60));
  ASSERT_EQ(deliveries.size(), static_cast<size_t>(kCount));
  for (const Delivery& d : deliveries) ASSERT_TRUE(d.status.ok()) << d.status.ToString();

  EXPECT_EQ(RecordsInLog(*broker_), kCount);
  ExpectExactlyOnceInKeyOrder(ReadAll(broker_->bootstrap_servers(), kCount), kCount, kMembers);
}

TEST_F(BusTest, ReportsIdempotenceSequenceDesyncAsFatalAborted) {
  Result<std::string> reply =
      broker_->Control("request-errors Produce 1 OUT_OF_ORDER_SEQUENCE_NUMBER");
  ASSERT_TRUE(reply.ok() && reply->rfind("OK", 0) == 0) << reply.status().ToString();
  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(Event(i, 20));
  int fatal = 0;
  for (const Delivery& d : producer->ProduceAll(batch, seconds(30))) {
    if (d.status.ok()) continue;
    EXPECT_TRUE(IsFatal(d.status)) << d.status.ToString();
    EXPECT_FALSE(IsRetriable(d.status));
    ++fatal;
  }
  EXPECT_GT(fatal, 0);
  EXPECT_EQ(producer->FatalError().code(), StatusCode::kAborted);
  EXPECT_NE(producer->FatalError().message().find("OUT_OF_ORDER_SEQUENCE_NUMBER"),
            std::string::npos);
  // A fatal producer takes nothing more.
  EXPECT_EQ(producer->Produce(Event(0, 20), nullptr).code(), StatusCode::kAborted);
}

TEST(JavaMurmur2Test, MatchesKafkaTestVectors) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST_F(BusTest, PlacesEachKeyWhereTheJavaClientWould) {
  std::unique_ptr<Producer> producer = MakeProducer(ProducerOpts());
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int member = 0; member < 100; ++member) batch.push_back(Event(member, 100));
  const std::vector<Delivery> deliveries = producer->ProduceAll(batch, seconds(30));
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(deliveries[i].status.ok()) << deliveries[i].status.ToString();
    EXPECT_EQ(deliveries[i].partition, KafkaPartitionOf(batch[i].key, kPartitions)) << batch[i].key;
  }
}

TEST_F(BusTest, PropertiesOverrideTheBuiltInSettings) {
  ProducerOptions options = ProducerOpts();
  options.properties["partitioner"] = "consistent";  // CRC32 instead of murmur2
  std::unique_ptr<Producer> producer = MakeProducer(options);
  ASSERT_NE(producer, nullptr);
  std::vector<OutgoingMessage> batch;
  for (int member = 0; member < 100; ++member) batch.push_back(Event(member, 100));
  const std::vector<Delivery> deliveries = producer->ProduceAll(batch, seconds(30));
  int elsewhere = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(deliveries[i].status.ok()) << deliveries[i].status.ToString();
    if (deliveries[i].partition != KafkaPartitionOf(batch[i].key, kPartitions)) ++elsewhere;
  }
  EXPECT_GT(elsewhere, 50);
}

// Regression: a delivery report touched its ProduceAll slot after handing the outcome over, when
// the caller may already have woken and freed the batch that holds the slots. The read of freed
// memory crashed payout (SIGSEGV) in 2 of 5 CI runs. Many threads, each waiting on small batches
// of one shared producer, make that window frequent; the sanitizer pass (scripts/test.sh) runs
// this test under AddressSanitizer, which reports such a read where it happens.
TEST_F(BusTest, ManyThreadsWaitingOnSmallBatchesOfOneProducerEachGetTheirOwnDeliveries) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 1000;
  ProducerOptions options = ProducerOpts();
  options.linger_ms = 0;
  std::unique_ptr<Producer> producer = MakeProducer(options);
  ASSERT_NE(producer, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCallsPerThread; ++c) {
        // One or two records, so that both the last report and an earlier one free nothing early.
        const int first = (t * kCallsPerThread + c) * 2;
        std::vector<OutgoingMessage> batch = {Event(first, 64)};
        if (c % 2 == 1) batch.push_back(Event(first + 1, 64));
        const std::vector<Delivery> d = producer->ProduceAll(batch, seconds(30));
        bool ok = d.size() == batch.size();
        for (size_t i = 0; ok && i < d.size(); ++i) {
          ok = d[i].status.ok() && d[i].topic == kTopic && d[i].offset >= 0;
        }
        if (!ok) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(producer->Flush(seconds(10)).ok());  // every report has finished with its record
  const int64_t expected = kThreads * (kCallsPerThread + kCallsPerThread / 2);
  EXPECT_EQ(RecordsInLog(*broker_), expected);
}

// Regression: the mock never sets TCP_NODELAY, so each small request/response pair waited
// ~40 ms for a delayed ACK. The devbroker sets it on its listening sockets.
TEST_F(BusTest, AcknowledgesOneRecordAtATimeWithoutDelayedAckStalls) {
  constexpr int kRounds = 40;
  ProducerOptions options = ProducerOpts();
  options.linger_ms = 0;
  std::unique_ptr<Producer> producer = MakeProducer(options);
  ASSERT_NE(producer, nullptr);
  // Warm up: metadata, producer id, connections.
  ASSERT_TRUE(producer->ProduceAll({Event(0, 1)}, seconds(10))[0].status.ok());

  std::vector<double> ms;
  for (int i = 1; i <= kRounds; ++i) {
    const auto t0 = steady_clock::now();
    const std::vector<Delivery> d = producer->ProduceAll({Event(i, 1)}, seconds(10));
    ASSERT_TRUE(d[0].status.ok()) << d[0].status.ToString();
    ms.push_back(std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("produce round trip with TCP_NODELAY: median %.2f ms, max %.2f ms\n", median,
              ms.back());
  EXPECT_LT(median, 15.0);
}

TEST(BusConfigTest, RejectsUnknownLibrdkafkaPropertyNamingIt) {
  ProducerOptions producer_options;
  producer_options.bootstrap_servers = "127.0.0.1:1";
  producer_options.properties["no.such.property"] = "1";
  Result<std::unique_ptr<Producer>> producer = Producer::Create(producer_options);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(producer.status().message().find("no.such.property"), std::string::npos);

  ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = "127.0.0.1:1";
  consumer_options.properties["session.timeout.ms"] = "not-a-number";
  Result<std::unique_ptr<Consumer>> consumer = Consumer::Create(consumer_options);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(consumer.status().message().find("session.timeout.ms"), std::string::npos);
}

TEST(BusConfigTest, ReportsUnreachableClusterAsRetriableDeadlineExceeded) {
  ProducerOptions options;
  options.bootstrap_servers = "127.0.0.1:1";  // nothing listens on port 1
  options.message_timeout_ms = 300;
  Result<std::unique_ptr<Producer>> producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const std::vector<Delivery> deliveries =
      (*producer)->ProduceAll({Event(0, 1), Event(1, 1)}, seconds(10));
  ASSERT_EQ(deliveries.size(), 2u);
  for (const Delivery& d : deliveries) {
    EXPECT_EQ(d.status.code(), StatusCode::kDeadlineExceeded) << d.status.ToString();
    EXPECT_TRUE(IsRetriable(d.status));
    EXPECT_FALSE(IsFatal(d.status));
  }
  EXPECT_TRUE((*producer)->FatalError().ok());
}

TEST(BusConfigTest, SubscribeWithoutGroupIsInvalidArgument) {
  ConsumerOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  Result<std::unique_ptr<Consumer>> consumer = Consumer::Create(options);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ((*consumer)->Subscribe({kTopic}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace claims::bus
