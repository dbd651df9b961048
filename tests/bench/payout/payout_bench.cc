// Payout's figures on the dev broker (the machines are shared and noisy: compare the ratio):
//   1. bare processor: a pass-through fold over the same decisions (one small record out per
//      record in, no state): the processor's own cost;
//   2. payout live: the payout binary, decisions in -> PaymentInstructed out (instructor, desk
//      with its ledger in RocksDB, both publishing), timed from the first PaymentInstructed to
//      the last;
//   3. a bank file of all payments: CreateBatch, then GetBatch with the pain.001 XML (payees
//      opened with the members' keys); seconds each, and the payout process's peak resident
//      memory (VmHWM) before and after.
//
//   payout_bench [DECISIONS_TIMED] [PAYMENTS_IN_FILE]      defaults 10000 100000
// The dev broker keeps about 5 MB per partition and payout.commands.v1 has one partition, so
// decisions are published in chunks of 10,000 that payout consumes before the next.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/crypto/seal.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "libs/processor/processor.h"
#include "libs/rpc/auth.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "services/payout/payout_ids.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims::payout {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace ev = ::mutualaid::events::v1;
namespace api = ::mutualaid::payout::v1;

constexpr int kMembers = 1000;
constexpr size_t kChunk = 10000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "payout_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Member(int i) { return "M-" + std::to_string(i % kMembers); }

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

void Produce(bus::Producer& producer, const std::vector<bus::OutgoingMessage>& records) {
  for (const bus::Delivery& d : producer.ProduceAll(records, 300s)) {
    if (!d.status.ok()) Die("produce: " + d.status.ToString());
  }
}

// Decision `i` (>= 0), or with -1 the warm-up decision (claim C-warmup of member 0, sequence 0,
// which no duplicate filter drops).
bus::OutgoingMessage DecisionRecord(int i) {
  const bool warm_up = i < 0;
  if (warm_up) i = 0;
  ev::ClaimDecided d;
  d.set_claim_id(warm_up ? "C-warmup" : "C-" + std::to_string(i));
  d.set_member_id(Member(i));
  d.set_outcome(ev::APPROVED);
  d.set_payable_fen(10000 + i % 997);
  d.set_revision(1);
  d.set_decided_on("2026-03-01");
  d.set_input_event_id("CLAIM-" + Member(i));  // every claim of a member answers one input
  ev::Envelope e = codec::Wrap(codec::kClaimDecided, d);
  e.set_event_id(warm_up ? "D-warmup" : "D-" + std::to_string(i));
  e.set_member_id(d.member_id());
  e.set_sequence(warm_up ? 0 : static_cast<uint64_t>(i / kMembers + 1));
  return events::EnvelopeRecord(kDecisionsTopic, e);
}

// Enrollments with sealed payees, their keys, and one claim event per member.
void PublishMembers(bus::Producer& producer, const crypto::MasterKey& master) {
  std::vector<bus::OutgoingMessage> records;
  crypto::RandomNonceSource nonces;
  for (int m = 0; m < kMembers; ++m) {
    const std::string member = Member(m);
    crypto::DataKey key = std::move(crypto::GenerateDataKey(member + "/k1")).value();
    bus::OutgoingMessage k;
    k.topic = events::kKeyTopic;
    k.key = key.key_id();
    k.value = *crypto::WrapKey(master, key, nonces);
    records.push_back(std::move(k));
    ev::PersonalData personal;
    personal.set_name("Worker " + std::to_string(m));
    char card[20];
    std::snprintf(card, sizeof card, "6217%015d", m);
    personal.set_bank_card_number(card);
    crypto::Sealed sealed =
        *crypto::Seal(key, personal.SerializeAsString(), "MemberEnrolled.personal_data", nonces);
    ev::MemberEnrolled enrolled;
    enrolled.set_member_id(member);
    ev::SealedPersonalData* s = enrolled.mutable_personal_data();
    s->set_key_id(sealed.key_id);
    s->set_nonce(std::string(sealed.nonce.begin(), sealed.nonce.end()));
    s->set_ciphertext(sealed.ciphertext);
    s->set_tag(std::string(sealed.tag.begin(), sealed.tag.end()));
    ev::Envelope e = codec::Wrap(codec::kMemberEnrolled, enrolled);
    e.set_event_id("ENR-" + member);
    e.set_member_id(member);
    records.push_back(events::EnvelopeRecord(events::kIntakeTopic, e));
    ev::ClaimSubmitted claim;
    claim.set_member_id(member);
    ev::Envelope c = codec::Wrap(codec::kClaimSubmitted, claim);
    c.set_event_id("CLAIM-" + member);
    c.set_member_id(member);
    records.push_back(events::EnvelopeRecord(events::kIntakeTopic, c));
  }
  Produce(producer, records);
}

// A processor with the pass-through fold over a copy of the decisions (its own topic): from the
// start of publishing `records` decisions (after a warm-up record went through) to the last
// folded; decisions per second.
double BareProcessor(const std::string& bootstrap, test_support::TempDir& dir,
                     bus::Producer& producer, size_t records) {
  store::StoreOptions so;
  auto store = std::move(store::StateStore::Open(dir.File("bare"), so)).value();
  bus::ConsumerOptions co;
  co.bootstrap_servers = bootstrap;
  co.group_id = "bench-bare";
  co.session_timeout_ms = 6000;
  auto consumer = std::move(bus::Consumer::Create(co)).value();
  bus::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  po.linger_ms = 1;
  auto out = std::move(bus::Producer::Create(po)).value();
  processor::ProcessorOptions options;
  options.input_topic = "bench.bare.in";
  processor::Processor p(
      options, *consumer, *out, *store,
      [](int32_t, store::StateStore&) -> Result<std::unique_ptr<processor::PartitionFold>> {
        return std::unique_ptr<processor::PartitionFold>(new PassThroughFold);
      });
  std::atomic<bool> stop{false};
  std::thread run([&] {
    if (Status s = p.Run(stop); !s.ok()) Die(s.ToString());
  });
  auto copy = [](bus::OutgoingMessage m) {
    m.topic = "bench.bare.in";
    return m;
  };
  Produce(producer, {copy(DecisionRecord(-1))});
  auto wait_for = [&](size_t n) {
    const auto deadline = Clock::now() + 600s;
    while (p.stats().records_folded.load() < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    if (p.stats().records_folded.load() < n) Die("the bare processor did not finish");
  };
  wait_for(1);
  std::vector<bus::OutgoingMessage> batch;
  for (size_t i = 0; i < records; ++i) batch.push_back(copy(DecisionRecord(static_cast<int>(i))));
  const Clock::time_point start = Clock::now();
  Produce(producer, batch);
  wait_for(records + 1);
  const Clock::time_point end = Clock::now();
  stop = true;
  run.join();
  return static_cast<double>(records) / Seconds(end - start);
}

// Counts PaymentInstructed on payout.payments.v1 (every partition, from the start) until
// `count` are seen; returns the time from the first to the last.
class InstructedCounter {
 public:
  explicit InstructedCounter(const std::string& bootstrap) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = bootstrap;
    co.read_headers = true;
    consumer_ = std::move(bus::Consumer::Create(co)).value();
    const int32_t partitions = *consumer_->PartitionCount(kPaymentsTopic, 10s);
    std::vector<bus::TopicPartitionOffset> assignment;
    for (int32_t p = 0; p < partitions; ++p) {
      assignment.push_back({kPaymentsTopic, p, bus::Consumer::kBeginning});
    }
    if (!consumer_->Assign(assignment).ok()) Die("assign");
  }

  // Waits until `count` PaymentInstructed were seen in all; returns when the last one was.
  Clock::time_point WaitFor(size_t count) {
    const auto deadline = Clock::now() + 900s;
    while (seen_ < count && Clock::now() < deadline) {
      auto events = consumer_->Poll(100ms, 10000);
      if (!events.ok()) Die(events.status().ToString());
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        const std::string* type = bus::FindHeader(e.message.headers, "type");
        if (type == nullptr || *type != kPaymentInstructedType) continue;
        ++seen_;
        last_ = Clock::now();
      }
    }
    if (seen_ < count) Die("only " + std::to_string(seen_) + " payments instructed");
    return last_;
  }

 private:
  std::unique_ptr<bus::Consumer> consumer_;
  size_t seen_ = 0;
  Clock::time_point last_;
};

long PeakRssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

int Run(int argc, char** argv) {
  const size_t timed = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const size_t in_file = std::max(timed, argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000);
  auto broker = test_support::DevBroker::Start();
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  (void)(*broker)->Control("create-topic bench.bare.out 12");
  (void)(*broker)->Control("create-topic bench.bare.in 12");
  auto dir = std::move(test_support::TempDir::Create("payout-bench")).value();
  { std::ofstream(dir.File("master.key")) << std::string(64, 'b'); }
  const crypto::MasterKey master =
      std::move(crypto::MasterKey::FromFile(dir.File("master.key"))).value();
  bus::ProducerOptions po;
  po.bootstrap_servers = bootstrap;
  po.linger_ms = 5;
  auto producer = std::move(bus::Producer::Create(po)).value();
  PublishMembers(*producer, master);

  std::printf("%zu approved decisions timed (of %zu), %d members, 12 partitions, 3 mock brokers\n",
              timed, in_file, kMembers);
  const double bare = BareProcessor(bootstrap, dir, *producer, timed);

  test_support::SpawnOptions spawn;
  spawn.stdout_path = dir.File("payout.out");
  spawn.stderr_path = dir.File("payout.log");
  auto payout = test_support::ChildProcess::Spawn({CLAIMS_PAYOUT_BINARY,
                                                   "--bootstrap-servers",
                                                   bootstrap,
                                                   "--data-dir",
                                                   dir.File("data"),
                                                   "--listen",
                                                   "127.0.0.1:0",
                                                   "--metrics-listen",
                                                   "127.0.0.1:0",
                                                   "--insecure-dev",
                                                   "--session-timeout",
                                                   "6s",
                                                   "--business-date",
                                                   "2026-03-02",
                                                   "--max-wait",
                                                   "900s",
                                                   "--max-batch",
                                                   "5000",
                                                   "--master-key-file",
                                                   dir.File("master.key"),
                                                   "--log-level",
                                                   "warn"},
                                                  spawn);
  if (!payout.ok()) Die(payout.status().ToString());
  const std::string port = test_support::WaitForValue(spawn.stdout_path, "grpc-port", 60s);
  if (port.empty()) Die("payout did not start");
  InstructedCounter counter(bootstrap);
  Produce(*producer, {DecisionRecord(-1)});  // warm-up: both folds assigned and running
  counter.WaitFor(1);
  std::vector<bus::OutgoingMessage> first;
  for (size_t i = 0; i < timed; ++i) first.push_back(DecisionRecord(static_cast<int>(i)));
  const Clock::time_point start = Clock::now();
  Produce(*producer, first);
  const double live = static_cast<double>(timed) / Seconds(counter.WaitFor(timed + 1) - start);
  std::printf("%-46s %10.0f decisions/s  (baseline)\n", "bare processor (pass-through fold)", bare);
  std::printf("%-46s %10.0f payments/s  ratio %.2f\n", "payout live (decision -> instructed)", live,
              live / bare);
  std::fflush(stdout);

  for (size_t from = timed; from < in_file; from += kChunk) {
    std::vector<bus::OutgoingMessage> chunk;
    for (size_t i = from; i < std::min(in_file, from + kChunk); ++i) {
      chunk.push_back(DecisionRecord(static_cast<int>(i)));
    }
    Produce(*producer, chunk);
    counter.WaitFor(std::min(in_file, from + kChunk) + 1);
  }
  const long rss_before = PeakRssKb(payout->pid());

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = api::PayoutService::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials(), args));
  auto context = [](grpc::ClientContext& c) {
    c.AddMetadata(rpc::kPrincipalHeader, "operator:bench");
    c.set_deadline(std::chrono::system_clock::now() + 900s);
  };
  // Wait for the read model to hold every payment (CreateBatch answers with the whole batch).
  api::Batch batch;
  api::CreateBatchRequest create;
  create.set_idempotency_key("bench-batch");
  const Clock::time_point batch_start = Clock::now();
  grpc::Status s;
  {
    grpc::ClientContext c;
    context(c);
    s = stub->CreateBatch(&c, create, &batch);
  }
  const double create_seconds = Seconds(Clock::now() - batch_start);
  if (!s.ok()) Die("CreateBatch: " + s.error_message());
  const long rss_created = PeakRssKb(payout->pid());
  api::GetBatchRequest get;
  get.set_batch_id(batch.batch_id());
  get.set_include_xml(true);
  api::Batch file;
  const Clock::time_point get_start = Clock::now();
  for (int attempt = 0; attempt < 600; ++attempt) {
    grpc::ClientContext c;
    context(c);
    s = stub->GetBatch(&c, get, &file);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(100ms);
  }
  const double get_seconds = Seconds(Clock::now() - get_start);
  if (!s.ok()) Die("GetBatch: " + s.error_message());
  const long rss_after = PeakRssKb(payout->pid());
  std::printf("bank file of %lld payments (%.1f MB of XML):\n",
              static_cast<long long>(batch.number_of_transactions()),
              static_cast<double>(file.xml().size()) / 1e6);
  std::printf("  CreateBatch %.2f s, GetBatch (render) %.2f s\n", create_seconds, get_seconds);
  std::printf(
      "  payout peak RSS (VmHWM) %.1f MB before, %.1f MB after CreateBatch, %.1f MB after "
      "GetBatch\n",
      rss_before / 1024.0, rss_created / 1024.0, rss_after / 1024.0);
  if (batch.number_of_transactions() != static_cast<int64_t>(in_file) + 1) {
    Die("the batch has " + std::to_string(batch.number_of_transactions()) + " payments");
  }
  (void)payout->Stop(30s);
  return 0;
}

}  // namespace
}  // namespace claims::payout

int main(int argc, char** argv) { return claims::payout::Run(argc, argv); }
