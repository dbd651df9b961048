// Intake's figures on the dev broker, in one run (the machines are shared and noisy, so the
// ratio is what to compare):
//   1. echo: a minimal IntakeService whose SubmitClaim answers at once, on the same server set-up
//      (rpc::Server, call metrics), with the same request and response messages, once on gRPC's
//      synchronous API and once on its callback API (which intake's SubmitClaim uses); the
//      faster is the baseline;
//   2. SubmitClaim on intake itself (RocksDB on disk, sealing, each group's keys claimed in the
//      calls log, Kafka acks=all), enrolled members, distinct idempotency keys;
//      both driven by STREAMS concurrent client streams for SECONDS each: throughput, p50, p99;
//   3. BulkEnroll of MEMBERS members in one stream: members/s, and CPU per member (this process,
//      client included, and the dev broker, as for SubmitClaim), after the same stream to the
//      echo's BulkEnroll, which reads the records and counts them (the gRPC stream's own cost);
//   4. the dev broker's own ceiling: MEMBERS bare records of an enrollment's size: records/s;
//   5. how soon GetClaim shows a decision: the read model (ClaimFollower, running as in main.cc)
//      follows decisions published one at a time at a nominal 20 a second, each timed from
//      Kafka's acknowledgement to the first GetClaim that shows it (polled every 2 ms): p50, p99,
//      max (target: p99 within 1 s).
//
//   intake_bench [STREAMS] [SECONDS] [MEMBERS] [sync|nosync]      defaults 64 5 100000 sync
// (SECONDS 0: BulkEnroll and the bare records only.)
// (nosync: RocksDB writes without fsync, to see what the disk costs; intake always syncs.)
// Targets: SubmitClaim at least 0.5 x echo; BulkEnroll at least 50,000 members/s.

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libs/bus/producer.h"
#include "libs/crypto/keys.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/identity/resident_id.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/server.h"
#include "libs/rpc/server_metrics.h"
#include "libs/runtime/metrics.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "services/intake/adapters.h"
#include "services/intake/claim_follower.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"
#include "services/intake/key_claims.h"
#include "services/intake/vault.h"
#include "tests/support/dev_broker.h"
#include "tests/support/intake_requests.h"
#include "tests/support/temp_dir.h"

namespace claims::intake {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace ev = ::mutualaid::events::v1;

const Date kToday = *Date::Parse("2024-06-01");
constexpr char kPartner[] = "partner:P1";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "intake_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// A distinct valid resident ID number for each n < 1,800,000 (birth dates 1960-2014).
std::string ResidentId(int n) {
  std::string date = Date::Parse("1960-01-01")->AddDays(n / 90).ToString();
  date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
  const std::string first17 = "110101" + date + std::to_string(10 + n % 90) + "4";
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

api::EnrollMemberRequest Enrollment(const std::string& key, int n) {
  api::EnrollMemberRequest r;
  r.set_idempotency_key(key);
  r.set_resident_id_number(ResidentId(n));
  r.set_name("李四");
  r.set_phone("13800138000");
  r.set_gender(ev::FEMALE);
  r.set_occupation(ev::COURIER);
  r.set_plan_year(2024);
  r.set_start_date("2024-01-01");
  r.set_bank_card_number("6222020200112233446");
  r.set_bank_name("工商银行");
  return r;
}

api::SubmitClaimRequest Claim(const std::string& key, const std::string& member) {
  return test_support::AccidentClaim(key, member);
}

// The baseline: SubmitClaim answered at once with a response of the size intake's has.
class EchoService final : public api::IntakeService::Service {
 public:
  grpc::Status SubmitClaim(grpc::ServerContext*, const api::SubmitClaimRequest* request,
                           api::SubmitClaimResponse* response) override {
    response->set_claim_id(ClaimIdFor("P1", request->idempotency_key(), ""));
    response->set_event_id("in-" + std::string(32, '0'));
    return grpc::Status::OK;
  }
  // The baseline of BulkEnroll: the stream read to its end, each record counted, nothing else.
  grpc::Status BulkEnroll(grpc::ServerContext*,
                          grpc::ServerReader<api::EnrollMemberRequest>* reader,
                          api::BulkEnrollResponse* response) override {
    api::EnrollMemberRequest record;
    int32_t read = 0;
    while (reader->Read(&record)) ++read;
    response->set_accepted(read);
    return grpc::Status::OK;
  }
};

// CPU seconds (user + system) used so far by this process (server, client, producer) and by the
// dev broker's process: what a call costs, whatever else the machine runs.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}
double BrokerCpuSeconds(pid_t broker) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(broker) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buffer[1024] = {};
  const size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
  std::fclose(f);
  // Fields 14 and 15 (utime, stime, in clock ticks) follow the ")" that ends the command name.
  const char* p = std::strrchr(buffer, ')');
  if (n == 0 || p == nullptr) return 0;
  unsigned long utime = 0;
  unsigned long stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
      2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
pid_t g_broker_pid = 0;
double CpuSeconds() { return ProcessCpuSeconds() + BrokerCpuSeconds(g_broker_pid); }

// The same echo on gRPC's callback API, which intake's SubmitClaim uses: the baseline is the
// faster of the two.
class CallbackEchoService final
    : public api::IntakeService::WithCallbackMethod_SubmitClaim<api::IntakeService::Service> {
 public:
  grpc::ServerUnaryReactor* SubmitClaim(grpc::CallbackServerContext* context,
                                        const api::SubmitClaimRequest* request,
                                        api::SubmitClaimResponse* response) override {
    response->set_claim_id(ClaimIdFor("P1", request->idempotency_key(), ""));
    response->set_event_id("in-" + std::string(32, '0'));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct Figures {
  double cpu_us_per_call = 0;  // this process and the dev broker
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t calls = 0;
  size_t failed = 0;
};

// `streams` client streams over four connections, each running one SubmitClaim after another
// for `duration` (after a one-second warm-up that is not counted).
Figures Drive(int port, int streams, Clock::duration duration,
              const std::vector<std::string>& members, const std::string& key_prefix) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < 4; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("bench.channel", c);  // distinct arguments: a connection of its own
    channels.push_back(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  std::vector<std::unique_ptr<api::IntakeService::Stub>> stubs;
  for (auto& channel : channels) stubs.push_back(api::IntakeService::NewStub(channel));

  struct Stream {
    int id = 0;
    int64_t next = 0;
    api::SubmitClaimRequest request;
    api::SubmitClaimResponse response;
    std::unique_ptr<grpc::ClientContext> context;
    Clock::time_point started;
  };
  std::mutex mu;
  std::condition_variable all_done;
  int running = streams;
  std::vector<double> latencies_ms;
  size_t failed = 0;
  std::atomic<bool> counting{false};
  std::atomic<bool> stop{false};
  std::vector<Stream> state(static_cast<size_t>(streams));

  std::function<void(Stream&)> start = [&](Stream& s) {
    s.context = std::make_unique<grpc::ClientContext>();
    s.context->AddMetadata(rpc::kPrincipalHeader, kPartner);
    s.context->set_deadline(std::chrono::system_clock::now() + 30s);
    s.request = Claim(key_prefix + std::to_string(s.id) + "-" + std::to_string(s.next++),
                      members[static_cast<size_t>(s.id) % members.size()]);
    s.started = Clock::now();
    stubs[static_cast<size_t>(s.id) % stubs.size()]->async()->SubmitClaim(
        s.context.get(), &s.request, &s.response, [&, ps = &s](grpc::Status status) {
          const double ms =
              std::chrono::duration<double, std::milli>(Clock::now() - ps->started).count();
          if (counting.load()) {
            std::lock_guard<std::mutex> lock(mu);
            if (status.ok()) {
              latencies_ms.push_back(ms);
            } else {
              ++failed;
            }
          }
          if (stop.load()) {
            std::lock_guard<std::mutex> lock(mu);
            if (--running == 0) all_done.notify_all();
            return;
          }
          start(*ps);
        });
  };
  for (int i = 0; i < streams; ++i) {
    state[static_cast<size_t>(i)].id = i;
    start(state[static_cast<size_t>(i)]);
  }
  std::this_thread::sleep_for(1s);  // warm-up
  const double cpu_begin = CpuSeconds();
  counting = true;
  const Clock::time_point begin = Clock::now();
  std::this_thread::sleep_for(duration);
  counting = false;
  const Clock::duration took = Clock::now() - begin;
  const double cpu = CpuSeconds() - cpu_begin;
  stop = true;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!all_done.wait_for(lock, 60s, [&] { return running == 0; })) Die("streams did not end");
  }
  Figures f;
  f.calls = latencies_ms.size();
  f.failed = failed;
  f.per_second = static_cast<double>(f.calls) / Seconds(took);
  if (f.calls > 0) f.cpu_us_per_call = cpu * 1e6 / static_cast<double>(f.calls);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto at = [&](double q) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(q * static_cast<double>(latencies_ms.size())))];
  };
  f.p50_ms = at(0.50);
  f.p99_ms = at(0.99);
  return f;
}

// One BulkEnroll stream of `season` to the server on `port`.
struct Bulk {
  api::BulkEnrollResponse response;
  double seconds = 0;
  double per_second = 0;         // members accepted (read, by the drain) per second
  double cpu_us_per_member = 0;  // this process and the dev broker
};
Bulk StreamAll(int port, const std::vector<api::EnrollMemberRequest>& season) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = api::IntakeService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata(rpc::kPrincipalHeader, kPartner);
  context.set_deadline(std::chrono::system_clock::now() + 600s);
  Bulk b;
  const double cpu_begin = CpuSeconds();
  const Clock::time_point begin = Clock::now();
  auto writer = stub->BulkEnroll(&context, &b.response);
  for (const api::EnrollMemberRequest& r : season) {
    if (!writer->Write(r)) break;
  }
  writer->WritesDone();
  const grpc::Status finished = writer->Finish();
  b.seconds = Seconds(Clock::now() - begin);
  const double cpu = CpuSeconds() - cpu_begin;
  if (!finished.ok()) Die("BulkEnroll: " + finished.error_message());
  b.per_second = b.response.accepted() / b.seconds;
  if (b.response.accepted() > 0) b.cpu_us_per_member = cpu * 1e6 / b.response.accepted();
  return b;
}

// The committer's stage histograms' sums and counts, to take the mean of a phase.
struct StageMeans {
  StageMeans() = default;
  explicit StageMeans(const CommitMetrics& metrics) {
    for (size_t i = 0; i < kStages.size(); ++i) {
      const runtime::Histogram::Snapshot s = metrics.stage(kStages[i]).snapshot();
      sum[i] = s.sum;
      count[i] = s.count;
    }
  }
  StageMeans operator-(const StageMeans& before) const {
    StageMeans d;
    for (size_t i = 0; i < kStages.size(); ++i) {
      d.sum[i] = sum[i] - before.sum[i];
      d.count[i] = count[i] - before.count[i];
    }
    return d;
  }
  double MeanUs(CommitMetrics::Stage stage) const {
    const size_t i = static_cast<size_t>(stage);
    return count[i] == 0 ? 0.0 : sum[i] * 1e6 / static_cast<double>(count[i]);
  }
  static constexpr std::array<CommitMetrics::Stage, 4> kStages = {
      CommitMetrics::Stage::kClaim, CommitMetrics::Stage::kPublish, CommitMetrics::Stage::kRecord,
      CommitMetrics::Stage::kAnswer};
  std::array<double, 4> sum{};
  std::array<uint64_t, 4> count{};
};

void Print(const char* label, const Figures& f) {
  std::printf(
      "%-28s %9.0f calls/s  p50 %6.2f ms  p99 %6.2f ms  %5.0f CPU-us/call  (%zu calls, %zu "
      "failed)\n",
      label, f.per_second, f.p50_ms, f.p99_ms, f.cpu_us_per_call, f.calls, f.failed);
}

int Run(int argc, char** argv) {
  const int streams = argc > 1 ? std::atoi(argv[1]) : 64;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
  const int members = argc > 3 ? std::atoi(argv[3]) : 100000;
  const std::string sync = argc > 4 ? argv[4] : "sync";
  if (streams < 1 || streams > 1024 || seconds < 0 || seconds > 600 || members < 1 ||
      members > 1000000 || (sync != "sync" && sync != "nosync")) {
    Die("usage: intake_bench [STREAMS 1-1024] [SECONDS 0-600] [MEMBERS 1-1000000] "
        "[sync|nosync]");
  }

  Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
  if (!broker.ok()) Die(broker.status().ToString());
  g_broker_pid = (*broker)->pid();
  Result<test_support::TempDir> dir = test_support::TempDir::Create("intake-bench");
  if (!dir.ok()) Die(dir.status().ToString());

  // Intake wired as main.cc wires it (apart from the claim follower, which reads nothing here),
  // with its calls log (key_claims.h).
  store::StoreOptions store_options;
  store_options.column_families = IntakeColumnFamilies();
  store_options.sync_writes = sync == "sync";
  Result<std::unique_ptr<store::StateStore>> store =
      store::StateStore::Open(dir->File("intake"), store_options);
  if (!store.ok()) Die(store.status().ToString());
  bus::ProducerOptions producer_options;
  producer_options.bootstrap_servers = (*broker)->bootstrap_servers();
  producer_options.client_id = "intake";
  producer_options.linger_ms = 0;
  producer_options.message_timeout_ms = 10000;
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(producer_options);
  if (!producer.ok()) Die(producer.status().ToString());
  (void)(*producer)->WarmUp({kIntakeTopic, kKeyTopic}, 10s);
  KafkaKeyTombstoneWriter tombstones(producer_options);
  KeyVault vault(*crypto::PseudonymKey::FromBytes(
                     Bytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")),
                 *crypto::MasterKey::FromBytes(
                     Bytes("f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101")),
                 **store, **producer, tombstones);
  runtime::MetricsRegistry registry;
  KafkaEventLog kafka_log(**producer);
  Result<std::unique_ptr<MeteredEventLog>> event_log =
      MeteredEventLog::Register(kafka_log, registry);
  if (!event_log.ok()) Die(event_log.status().ToString());
  FixedBusinessClock clock(kToday);
  bus::ConsumerOptions calls_consumer_options;
  calls_consumer_options.bootstrap_servers = (*broker)->bootstrap_servers();
  calls_consumer_options.client_id = "intake-calls";
  Result<std::unique_ptr<bus::Consumer>> calls_consumer =
      bus::Consumer::Create(calls_consumer_options);
  if (!calls_consumer.ok()) Die(calls_consumer.status().ToString());
  KafkaKeyClaims claims(**store, **producer, std::move(calls_consumer).value());
  if (Status s = claims.CatchUp(10s); !s.ok()) Die(s.ToString());
  Result<std::unique_ptr<CommitMetrics>> commit_metrics = CommitMetrics::Register(registry);
  if (!commit_metrics.ok()) Die(commit_metrics.status().ToString());
  IntakeOptions intake_options;
  intake_options.commit_metrics = commit_metrics->get();
  Intake intake(intake_options, **store, **event_log, vault, claims, clock);
  IntakeService service(intake, /*insecure_dev=*/true);
  EchoService echo;
  CallbackEchoService callback_echo;

  Result<std::unique_ptr<rpc::ServerMetrics>> grpc_metrics = rpc::ServerMetrics::Register(registry);
  if (!grpc_metrics.ok()) Die(grpc_metrics.status().ToString());
  rpc::ServerOptions server_options;
  server_options.insecure_dev = true;
  server_options.metrics = grpc_metrics->get();
  Result<std::unique_ptr<rpc::Server>> echo_server = rpc::Server::Start(server_options, {&echo});
  if (!echo_server.ok()) Die(echo_server.status().ToString());
  Result<std::unique_ptr<rpc::Server>> callback_echo_server =
      rpc::Server::Start(server_options, {&callback_echo});
  if (!callback_echo_server.ok()) Die(callback_echo_server.status().ToString());
  Result<std::unique_ptr<rpc::Server>> intake_server =
      rpc::Server::Start(server_options, {&service});
  if (!intake_server.ok()) Die(intake_server.status().ToString());

  // The members claims are submitted for.
  std::vector<api::EnrollMemberRequest> enrollments;
  for (int i = 0; i < streams; ++i) {
    enrollments.push_back(Enrollment("member-" + std::to_string(i), 150'000 + i));
  }
  std::vector<std::string> member_ids;
  for (Result<api::EnrollMemberResponse>& r : intake.EnrollAll("P1", enrollments)) {
    if (!r.ok()) Die("enrolling the members: " + r.status().ToString());
    member_ids.push_back(r->member_id());
  }

  std::printf("intake_bench: %d streams, %d s each, BulkEnroll of %d members, dev broker, %s\n",
              streams, seconds, members, sync.c_str());
  if (seconds > 0) {
    const Figures sync_echo =
        Drive((*echo_server)->port(), streams, std::chrono::seconds(seconds), member_ids, "echo-");
    Print("echo SubmitClaim (sync API)", sync_echo);
    const Figures callback_echo_figures =
        Drive((*callback_echo_server)->port(), streams, std::chrono::seconds(seconds), member_ids,
              "cecho-");
    Print("echo SubmitClaim (callback)", callback_echo_figures);
    const Figures& e = sync_echo.per_second >= callback_echo_figures.per_second
                           ? sync_echo
                           : callback_echo_figures;
    const StageMeans stages_before(**commit_metrics);
    const uint64_t mutations_before = intake.committer().mutations();
    const uint64_t writes_before = intake.committer().done_writes();
    const Figures s = Drive((*intake_server)->port(), streams, std::chrono::seconds(seconds),
                            member_ids, "claim-");
    Print("intake SubmitClaim", s);
    const uint64_t groups = intake.committer().done_writes() - writes_before;
    std::printf("%-28s %9.1f calls per Kafka round trip and store write (%lu groups)\n", "",
                groups > 0
                    ? static_cast<double>(intake.committer().mutations() - mutations_before) /
                          static_cast<double>(groups)
                    : 0.0,
                static_cast<unsigned long>(groups));
    const StageMeans stages = StageMeans(**commit_metrics) - stages_before;
    std::printf(
        "%-28s claim %.0f + publish %.0f + record %.0f + answer %.0f us per group (means)\n",
        "committer stages", stages.MeanUs(CommitMetrics::Stage::kClaim),
        stages.MeanUs(CommitMetrics::Stage::kPublish), stages.MeanUs(CommitMetrics::Stage::kRecord),
        stages.MeanUs(CommitMetrics::Stage::kAnswer));
    std::printf("%-28s %9.2f x the faster echo (target >= 0.50); CPU per call %.2f x its\n",
                "ratio", s.per_second / e.per_second, s.cpu_us_per_call / e.cpu_us_per_call);
  }

  // BulkEnroll: one stream of `members` records, made before the clock starts (making them is
  // the generator's work, not intake's).
  std::vector<api::EnrollMemberRequest> season;
  season.reserve(static_cast<size_t>(members));
  for (int i = 0; i < members; ++i) season.push_back(Enrollment("season-" + std::to_string(i), i));
  const Bulk drain = StreamAll((*echo_server)->port(), season);
  std::printf("%-28s %9.0f members/s  %5.0f CPU-us/member  (%d read) in %.1f s\n",
              "BulkEnroll drain (baseline)", drain.per_second, drain.cpu_us_per_member,
              drain.response.accepted(), drain.seconds);
  const Bulk bulk = StreamAll((*intake_server)->port(), season);
  std::printf(
      "%-28s %9.0f members/s  %5.0f CPU-us/member  (%d accepted, %d refused%s%s) in %.1f s "
      "(target >= 50000)\n",
      "BulkEnroll", bulk.per_second, bulk.cpu_us_per_member, bulk.response.accepted(),
      bulk.response.refused(), bulk.response.stopped() ? ", stopped: " : "",
      bulk.response.stop_reason().c_str(), bulk.seconds);
  std::printf("%-28s %9.2f x the drain's members/s; CPU per member %.2f x its\n", "ratio",
              bulk.per_second / drain.per_second, bulk.cpu_us_per_member / drain.cpu_us_per_member);

  // The ceiling the dev broker sets: bare records of an enrollment's size, all in flight at
  // once. BulkEnroll publishes two per new member (its data key and its event).
  std::vector<bus::OutgoingMessage> records;
  for (int i = 0; i < members; ++i) {
    records.push_back({kIntakeTopic, "raw-" + std::to_string(i), std::string(600, 'x'), {}});
  }
  const Clock::time_point raw_begin = Clock::now();
  const std::vector<bus::Delivery> delivered = (*producer)->ProduceAll(records, 600s);
  const double raw_took = Seconds(Clock::now() - raw_begin);
  const auto acked = std::count_if(delivered.begin(), delivered.end(),
                                   [](const bus::Delivery& d) { return d.status.ok(); });
  std::printf("%-28s %9.0f records/s  (%ld of %d acknowledged, 600 bytes each)\n",
              "bare Kafka records", static_cast<double>(acked) / raw_took, static_cast<long>(acked),
              members);

  // 5. Decisions, as adjudication publishes them, followed into the read model.
  {
    bus::ConsumerOptions follower_options;
    follower_options.bootstrap_servers = (*broker)->bootstrap_servers();
    follower_options.client_id = "intake-follower";
    follower_options.properties["allow.auto.create.topics"] = "true";
    Result<std::unique_ptr<bus::Consumer>> follower_consumer =
        bus::Consumer::Create(follower_options);
    if (!follower_consumer.ok()) Die(follower_consumer.status().ToString());
    ClaimFollower follower(**store, **follower_consumer);
    if (Status s = follower.Start(10s); !s.ok()) Die("follower: " + s.ToString());
    if (Status s = follower.CatchUp(120s); !s.ok()) Die("follower: " + s.ToString());
    std::atomic<bool> stop_following{false};
    std::thread following([&] { (void)follower.Run(stop_following); });
    constexpr int kDecisions = 100;
    std::vector<double> visible_ms;
    for (int i = 0; i < kDecisions; ++i) {
      const Clock::time_point slot = Clock::now() + 50ms;  // 20 a second
      const std::string& member = member_ids[static_cast<size_t>(i) % member_ids.size()];
      Result<api::SubmitClaimResponse> submitted =
          intake.SubmitClaim("P1", Claim("visible-" + std::to_string(i), member));
      if (!submitted.ok()) Die("submitting: " + submitted.status().ToString());
      ev::ClaimDecided decided;
      decided.set_claim_id(submitted->claim_id());
      decided.set_member_id(member);
      decided.set_outcome(ev::APPROVED);
      decided.set_payable_fen(45000);
      decided.set_revision(1);
      const std::vector<bus::Delivery> acked =
          (*producer)->ProduceAll({{kDecisionsTopic,
                                    member,
                                    codec::Wrap(codec::kClaimDecided, decided).SerializeAsString(),
                                    {}}},
                                  10s);
      if (!acked[0].status.ok()) Die("publishing a decision: " + acked[0].status.ToString());
      const Clock::time_point published = Clock::now();
      api::GetClaimRequest get;
      get.set_claim_id(submitted->claim_id());
      for (;;) {
        Result<api::Claim> seen = intake.GetClaim("P1", get);
        if (seen.ok() && seen->status() == api::APPROVED) break;
        if (Clock::now() - published > 30s) Die("a decision was not shown within 30 s");
        std::this_thread::sleep_for(2ms);
      }
      visible_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - published).count());
      std::this_thread::sleep_until(slot);
    }
    stop_following = true;
    following.join();
    std::sort(visible_ms.begin(), visible_ms.end());
    std::printf(
        "%-28s p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (%d decisions, 20/s; target p99 "
        "<= 1000 ms)\n",
        "decision visible in GetClaim", visible_ms[visible_ms.size() / 2],
        visible_ms[visible_ms.size() * 99 / 100], visible_ms.back(), kDecisions);
  }

  intake_server->reset();
  callback_echo_server->reset();
  echo_server->reset();
  return 0;
}

}  // namespace
}  // namespace claims::intake

int main(int argc, char** argv) { return claims::intake::Run(argc, argv); }
