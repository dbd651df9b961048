// What ops see of one claim across the three service binaries around the dev broker: a claim
// submitted through intake's gRPC API is decided and its payment instructed; the trace id
// intake gave its event is on the decision, the payment request and the payment event, and in a
// JSON log line of each service; no log line holds the member's resident ID number or bank card
// number; each live /metrics passes `promtool check metrics` (when promtool is installed) and
// shows the store, republish and duplicate figures. And the services refuse bad Kafka security
// flags naming the flag (the dev broker speaks plaintext only, so TLS and SASL are not run).

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/identity/resident_id.h"
#include "libs/rpc/auth.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "mutualaid/payout/v1/commands.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace api = ::mutualaid::intake::v1;
namespace ev = ::mutualaid::events::v1;
using test_support::FindOnPath;
using test_support::HttpGet;

constexpr char kBankCard[] = "6222020200112233446";

std::string ResidentId() {
  const std::string first17 = "11010119900512124";
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

std::string FileText(const std::string& path) {
  Result<std::string> text = test_support::ReadFile(path);
  return text.ok() ? *text : "";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

struct Service {
  std::string name;
  test_support::ChildProcess process;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string log_path;
};

class ObservabilityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::DevBrokerOptions options;
    options.partitions = 3;
    auto broker = test_support::DevBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    dir_.emplace(std::move(test_support::TempDir::Create("observability-e2e")).value());
    std::ofstream(dir_->File("pseudonym.key"))
        << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    std::ofstream(dir_->File("master.key"))
        << "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101\n";
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (const Service& s : services_) {
      std::fprintf(stderr, "--- %s log ---\n%s\n", s.name.c_str(), FileText(s.log_path).c_str());
    }
  }

  std::vector<std::string> Argv(const std::string& name, const std::string& binary,
                                const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        binary,           "--bootstrap-servers", broker_->bootstrap_servers(),
        "--listen",       "127.0.0.1:0",         "--metrics-listen",
        "127.0.0.1:0",    "--data-dir",          dir_->File(name + "-data"),
        "--insecure-dev", "--business-date",     "2024-06-01"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Starts a service binary with its stdout and stderr (the JSON log) in files; waits for its
  // ports.
  Service* Start(const std::string& name, const std::string& binary,
                 const std::vector<std::string>& extra) {
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + ".out");
    spawn.stderr_path = dir_->File(name + ".log");
    auto child = test_support::ChildProcess::Spawn(Argv(name, binary, extra), spawn);
    if (!child.ok()) {
      ADD_FAILURE() << name << ": " << child.status().ToString();
      return nullptr;
    }
    const std::string grpc = test_support::WaitForValue(spawn.stdout_path, "grpc-port", 30s);
    const std::string metrics = test_support::WaitForValue(spawn.stdout_path, "metrics-port", 5s);
    if (grpc.empty() || metrics.empty()) {
      ADD_FAILURE() << name << " did not start:\n" << FileText(spawn.stderr_path);
      return nullptr;
    }
    services_.push_back(Service{name, std::move(child).value(), std::stoi(grpc), std::stoi(metrics),
                                spawn.stderr_path});
    return &services_.back();
  }

  std::unique_ptr<grpc::ClientContext> AsPartner() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(rpc::kPrincipalHeader, "partner:P-0001");
    context->set_deadline(std::chrono::system_clock::now() + 20s);
    return context;
  }

  // Every envelope of `topic` (all partitions), read until `done` holds or 20 s pass.
  std::vector<ev::Envelope> ReadTopic(const std::string& topic, int partitions,
                                      const std::function<bool(const ev::Envelope&)>& done) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    std::vector<bus::TopicPartitionOffset> all;
    for (int p = 0; p < partitions; ++p) all.push_back({topic, p, bus::Consumer::kBeginning});
    EXPECT_TRUE(consumer->Assign(all).ok());
    std::vector<ev::Envelope> out;
    bool found = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!found && std::chrono::steady_clock::now() < deadline) {
      Result<std::vector<bus::ConsumerEvent>> events = consumer->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        ev::Envelope envelope;
        EXPECT_TRUE(envelope.ParseFromString(e.message.value)) << topic;
        found = found || done(envelope);
        out.push_back(std::move(envelope));
      }
    }
    EXPECT_TRUE(found) << "not found on " << topic;
    return out;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::list<Service> services_;
};

TEST_F(ObservabilityE2eTest, OneTraceIdFollowsAClaimThroughEventsAndLogsWithoutPersonalData) {
  Service* intake = Start("intake", CLAIMS_INTAKE_BINARY,
                          {"--pseudonym-key-file", dir_->File("pseudonym.key"), "--master-key-file",
                           dir_->File("master.key")});
  ASSERT_NE(intake, nullptr);
  Service* adjudication =
      Start("adjudication", CLAIMS_ADJUDICATION_BINARY, {"--plans-dir", CLAIMS_PLANS_DIR});
  ASSERT_NE(adjudication, nullptr);
  Service* payout =
      Start("payout", CLAIMS_PAYOUT_BINARY, {"--master-key-file", dir_->File("master.key")});
  ASSERT_NE(payout, nullptr);

  auto stub = api::IntakeService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(intake->grpc_port), grpc::InsecureChannelCredentials()));
  api::EnrollMemberRequest enroll;
  enroll.set_idempotency_key("enroll-1");
  enroll.set_resident_id_number(ResidentId());
  enroll.set_name("王五");
  enroll.set_gender(ev::FEMALE);
  enroll.set_occupation(ev::RIDE_HAILING);
  enroll.set_plan_year(2024);
  enroll.set_start_date("2024-01-01");
  enroll.set_bank_card_number(kBankCard);
  enroll.set_bank_name("建设银行");
  api::EnrollMemberResponse enrolled;
  grpc::Status s = stub->EnrollMember(AsPartner().get(), enroll, &enrolled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  api::SubmitClaimRequest submit;
  submit.set_idempotency_key("claim-1");
  submit.set_member_id(enrolled.member_id());
  submit.set_coverage(ev::ACCIDENTAL_INJURY);
  submit.set_incident_date("2024-05-20");
  submit.set_amount_fen(60000);
  submit.add_documents("MEDICAL_RECEIPTS");
  api::SubmitClaimResponse submitted;
  s = stub->SubmitClaim(AsPartner().get(), submit, &submitted);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Decided and instructed, as the partner sees it: at most 60 s, polling every 200 ms.
  api::Claim claim;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; i < 300 && std::chrono::steady_clock::now() < deadline; ++i) {
    api::GetClaimRequest get;
    get.set_claim_id(submitted.claim_id());
    s = stub->GetClaim(AsPartner().get(), get, &claim);
    if (s.ok() && claim.payments_size() > 0) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(claim.status(), api::APPROVED) << claim.DebugString();
  ASSERT_EQ(claim.payments_size(), 1) << claim.DebugString();
  EXPECT_EQ(claim.payments(0).status(), "INSTRUCTED");

  // The trace id intake gave the claim's event, then the same on every event answering it.
  std::string trace;
  ReadTopic("intake.events.v1", 3, [&](const ev::Envelope& e) {
    if (e.event_id() != submitted.event_id()) return false;
    trace = e.trace_id();
    return true;
  });
  ASSERT_EQ(trace.size(), 32u) << "intake's trace ids are 32 hex digits";
  std::string decision_id;
  for (const ev::Envelope& e : ReadTopic(
           "adjudication.decisions.v1", 3,
           [&](const ev::Envelope& e) { return e.answers_event_id() == submitted.event_id(); })) {
    if (e.answers_event_id() != submitted.event_id()) continue;
    ev::ClaimDecided d;
    ASSERT_TRUE(d.ParseFromString(e.payload()));
    EXPECT_EQ(d.claim_id(), submitted.claim_id());
    EXPECT_EQ(e.trace_id(), trace) << "the decision";
    decision_id = e.event_id();
  }
  ASSERT_FALSE(decision_id.empty());
  std::string request_id;
  for (const ev::Envelope& e : ReadTopic("payout.commands.v1", 1, [&](const ev::Envelope& e) {
         return e.answers_event_id() == decision_id;
       })) {
    if (e.answers_event_id() != decision_id) continue;
    EXPECT_EQ(e.trace_id(), trace) << "the payment request";
    request_id = e.event_id();
  }
  ASSERT_FALSE(request_id.empty());
  bool instructed = false;
  for (const ev::Envelope& e : ReadTopic("payout.payments.v1", 3, [&](const ev::Envelope& e) {
         return e.answers_event_id() == request_id;
       })) {
    if (e.answers_event_id() != request_id) continue;
    ASSERT_EQ(e.type(), "mutualaid.events.v1.PaymentInstructed");
    ev::PaymentInstructed p;
    ASSERT_TRUE(p.ParseFromString(e.payload()));
    EXPECT_EQ(p.claim_id(), submitted.claim_id());
    EXPECT_EQ(e.trace_id(), trace) << "the payment";
    instructed = true;
  }
  EXPECT_TRUE(instructed);

  // Scrapes while everything runs: promtool accepts each, and the new figures are there.
  const std::optional<std::string> promtool = FindOnPath("promtool");
  const std::map<std::string, std::vector<std::string>> expected = {
      {"intake", {"claims_up 1"}},
      {"adjudication",
       {"claims_store_live_sst_bytes{store=\"adjudication\",column_family=\"members\"}",
        "claims_store_estimated_keys{store=\"adjudication\",column_family=\"members\"} ",
        "claims_store_write_stopped{store=\"adjudication\"} 0\n",
        "claims_store_block_cache_capacity_bytes{store=\"adjudication\"} 33554432\n",
        "claims_processor_outputs_republished_total{topic=\"intake.events.v1\"}",
        "claims_duplicates_dropped_total{service=\"adjudication\",topic=\"adjudication."
        "decisions.v1\"} 0\n"}},
      {"payout",
       {"claims_store_memtable_bytes{store=\"payout-desk\",column_family=\"desk_payments\"}",
        "claims_store_estimated_keys{store=\"payout-instructor\",column_family=\"__offsets\"}",
        "claims_store_sst_bytes{store=\"payout-model\",column_family=\"default\"}",
        "claims_processor_outputs_republished_total{topic=\"payout.commands.v1\"}",
        "claims_duplicates_dropped_total{service=\"payout\",topic=\"adjudication.decisions.v1\"} "
        "0\n",
        "claims_duplicates_dropped_total{service=\"payout\",topic=\"payout.commands.v1\"} 0\n",
        "claims_duplicates_dropped_total{service=\"payout\",topic=\"payout.payments.v1\"} 0\n"}},
  };
  for (const Service& service : services_) {
    const std::optional<std::string> scrape = HttpGet(service.metrics_port, "/metrics");
    ASSERT_TRUE(scrape.has_value()) << service.name;
    for (const std::string& want : expected.at(service.name)) {
      EXPECT_NE(scrape->find(want), std::string::npos) << service.name << " lacks " << want;
    }
    if (!promtool) continue;
    const std::string in = dir_->File(service.name + ".metrics");
    std::ofstream(in) << *scrape;
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(service.name + ".promtool");
    spawn.stderr_path = spawn.stdout_path + ".err";
    auto check = test_support::ChildProcess::Spawn(
        {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", *promtool, in}, spawn);
    ASSERT_TRUE(check.ok());
    Result<int> code = check->Wait(30s);
    const std::string said = FileText(spawn.stdout_path) + FileText(spawn.stderr_path);
    EXPECT_TRUE(code.ok() && *code == 0) << service.name << ": " << said;
    EXPECT_EQ(said, "") << service.name;
  }
  if (!promtool) std::fprintf(stderr, "promtool is not installed: metrics not checked by it\n");

  // Stop everything (SIGTERM, exit 0), then read the complete logs.
  for (Service& service : services_) {
    Result<int> code = service.process.Stop(20s);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0) << service.name;
  }
  for (const Service& service : services_) {
    const std::string log = FileText(service.log_path);
    EXPECT_EQ(log.find(ResidentId()), std::string::npos) << service.name;
    EXPECT_EQ(log.find(kBankCard), std::string::npos) << service.name;
    size_t traced = 0;
    for (const std::string& line : Lines(log)) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(j.is_object()) << service.name << " wrote a line that is not JSON: " << line;
      EXPECT_EQ(j.value("service", ""), service.name) << line;
      if (j.value("trace_id", "") == trace) ++traced;
    }
    EXPECT_GE(traced, 1u) << service.name << " logged nothing with trace id " << trace;
  }
}

TEST_F(ObservabilityE2eTest, ServicesRefuseBadKafkaSecurityFlagsNamingTheFlag) {
  std::ofstream(dir_->File("password")) << "pa55word\n";
  const struct {
    std::string binary;
    std::vector<std::string> extra;
    std::string said;
  } cases[] = {
      {CLAIMS_ADJUDICATION_BINARY,
       {"--plans-dir", CLAIMS_PLANS_DIR, "--kafka-security-protocol=sasl_ssl",
        "--kafka-sasl-password-file", dir_->File("password")},
       "--kafka-sasl-username: is required with --kafka-security-protocol sasl_ssl"},
      {CLAIMS_PAYOUT_BINARY,
       {"--kafka-security-protocol=ssl", "--kafka-ssl-cert-file", dir_->File("password")},
       "--kafka-ssl-key-file: is required with --kafka-ssl-cert-file"},
      {CLAIMS_PAYOUT_BINARY, {"--kafka-security-protocol=tls"}, "--kafka-security-protocol: 'tls'"},
  };
  for (const auto& c : cases) {
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File("refused.out");
    spawn.stderr_path = dir_->File("refused.err");
    auto child = test_support::ChildProcess::Spawn(Argv("refused", c.binary, c.extra), spawn);
    ASSERT_TRUE(child.ok());
    Result<int> code = child->Wait(20s);
    ASSERT_TRUE(code.ok()) << c.said;
    EXPECT_EQ(*code, 2) << c.said;
    const std::string err = FileText(spawn.stderr_path);
    EXPECT_NE(err.find(c.said), std::string::npos) << err;
    EXPECT_EQ(err.find("pa55word"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace claims
