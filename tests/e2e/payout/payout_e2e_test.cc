// The payout binary as operators use it, around the dev broker: approved decisions published to
// adjudication.decisions.v1 become payment instructions once (redelivered decisions pay nothing
// twice), operators hold, release, batch, import pain.002 reports and re-issue over gRPC, bad
// reports change nothing, the read model's ledger equals the desk's, and SIGKILL at each step of
// the desk's and the instructor's batches leaves exact counts after a restart.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/crypto/seal.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "libs/iso20022/iso20022.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "services/payout/desk.h"
#include "services/payout/payout_ids.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims::payout {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;

// GET over plain HTTP/1.0 on loopback; the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

ev::Envelope Decision(int i, ev::Outcome outcome, int64_t payable, int64_t condolence,
                      uint32_t revision = 1, uint64_t sequence = 1) {
  ev::ClaimDecided d;
  d.set_claim_id("C-" + std::to_string(i));
  d.set_member_id("M-" + std::to_string(i));
  d.set_outcome(outcome);
  d.set_payable_fen(payable);
  d.set_condolence_fen(condolence);
  d.set_revision(revision);
  d.set_decided_on("2026-03-01");
  d.set_input_event_id("E-" + std::to_string(i) + "-" + std::to_string(revision));
  ev::Envelope e = codec::Wrap(codec::kClaimDecided, d);
  e.set_event_id("D-" + std::to_string(i) + "-" + std::to_string(revision));
  e.set_member_id(d.member_id());
  e.set_sequence(sequence);
  e.set_producer("adjudication");
  e.set_trace_id("trace-" + std::to_string(i));
  return e;
}

class PayoutE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::DevBrokerOptions options;
    options.partitions = 3;
    broker_ = std::move(test_support::DevBroker::Start(options)).value();
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("payout-e2e")).value());
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (int i = 0; i < starts_; ++i) {
        Result<std::string> log = test_support::ReadFile(dir_->File(Name("log", i)));
        if (log.ok()) std::fprintf(stderr, "--- payout run %d ---\n%s\n", i, log->c_str());
      }
    }
  }

  std::string Name(const char* what, int run) const {
    return "payout-" + std::to_string(run) + "." + what;
  }

  // With `payees`, the payout process gets the master key and runs its payee directory.
  test_support::ChildProcess Start(const std::string& crash_at = "", bool payees = true,
                                   const std::vector<std::string>& extra = {}) {
    const int run = starts_++;
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(Name("out", run));
    spawn.stderr_path = dir_->File(Name("log", run));
    std::vector<std::string> argv = {
        CLAIMS_PAYOUT_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(),
        "--data-dir",         dir_->File("data"),    "--listen",
        "127.0.0.1:0",        "--metrics-listen",    "127.0.0.1:0",
        "--insecure-dev",     "--session-timeout",   "6s",
        "--business-date",    "2026-03-02"};
    if (payees) argv.push_back("--master-key-file=" + MasterKeyFile());
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!crash_at.empty()) argv.push_back("--test-crash-at=" + crash_at);
    auto child = test_support::ChildProcess::Spawn(argv, spawn);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    const std::string port = test_support::WaitForValue(spawn.stdout_path, "grpc-port", 30s);
    EXPECT_FALSE(port.empty()) << "payout did not start";
    metrics_port_ = test_support::WaitForValue(spawn.stdout_path, "metrics-port", 5s);
    stub_ = api::PayoutService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
    return std::move(child).value();
  }

  std::string MasterKeyFile() {
    const std::string path = dir_->File("master.key");
    if (!test_support::ReadFile(path).ok()) {
      std::ofstream(path) << std::string(64, 'a');  // 32 bytes in hex
    }
    return path;
  }

  crypto::MasterKey Master() {
    return std::move(crypto::MasterKey::FromFile(MasterKeyFile())).value();
  }

  void PublishRecords(const std::vector<bus::OutgoingMessage>& records) {
    for (const bus::Delivery& d : producer_->ProduceAll(records, 10s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  // A member's data key on the key topic, as intake publishes it.
  crypto::DataKey PublishKey(const std::string& member) {
    crypto::DataKey key = std::move(crypto::GenerateDataKey(member + "/00000001")).value();
    crypto::RandomNonceSource nonces;
    bus::OutgoingMessage record;
    record.topic = events::kKeyTopic;
    record.key = key.key_id();
    record.value = *crypto::WrapKey(Master(), key, nonces);
    PublishRecords({record});
    return key;
  }

  // A MemberEnrolled with sealed personal data on intake.events.v1, as intake publishes it.
  void PublishEnrollment(const crypto::DataKey& key, const std::string& member,
                         const std::string& event_id, const std::string& name,
                         const std::string& card) {
    ev::PersonalData personal;
    personal.set_name(name);
    personal.set_bank_card_number(card);
    crypto::RandomNonceSource nonces;
    crypto::Sealed sealed =
        *crypto::Seal(key, personal.SerializeAsString(), "MemberEnrolled.personal_data", nonces);
    ev::MemberEnrolled m;
    m.set_member_id(member);
    m.set_bank_card_last4(card.substr(card.size() - 4));
    ev::SealedPersonalData* s = m.mutable_personal_data();
    s->set_key_id(sealed.key_id);
    s->set_nonce(std::string(sealed.nonce.begin(), sealed.nonce.end()));
    s->set_ciphertext(sealed.ciphertext);
    s->set_tag(std::string(sealed.tag.begin(), sealed.tag.end()));
    ev::Envelope e = codec::Wrap(codec::kMemberEnrolled, m);
    e.set_event_id(event_id);
    e.set_member_id(member);
    PublishRecords({events::EnvelopeRecord(events::kIntakeTopic, e)});
  }

  // The claim event a decision answers, so the directory can place it in the log.
  void PublishClaim(const std::string& member, const std::string& event_id) {
    ev::ClaimSubmitted m;
    m.set_member_id(member);
    ev::Envelope e = codec::Wrap(codec::kClaimSubmitted, m);
    e.set_event_id(event_id);
    e.set_member_id(member);
    PublishRecords({events::EnvelopeRecord(events::kIntakeTopic, e)});
  }

  void Publish(const std::vector<ev::Envelope>& decisions) {
    std::vector<bus::OutgoingMessage> records;
    for (const ev::Envelope& e : decisions) {
      records.push_back(events::EnvelopeRecord(kDecisionsTopic, e));
    }
    for (const bus::Delivery& d : producer_->ProduceAll(records, 10s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& principal = "operator:ops1",
                                               std::chrono::seconds timeout = 20s) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(rpc::kPrincipalHeader, principal);
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
  }

  // Every payment, from the read model, once `count` are listed (or what is there after 60 s).
  std::vector<api::Payment> WaitForPayments(size_t count) {
    std::vector<api::Payment> out;
    for (int i = 0; i < 600; ++i) {
      out.clear();
      api::ListPaymentsRequest request;
      request.set_page_size(500);
      api::ListPaymentsResponse response;
      if (stub_->ListPayments(Context().get(), request, &response).ok()) {
        out.assign(response.payments().begin(), response.payments().end());
        if (out.size() >= count) return out;
      }
      std::this_thread::sleep_for(100ms);
    }
    return out;
  }

  api::LedgerBalance Ledger() {
    api::LedgerBalance out;
    EXPECT_TRUE(stub_->GetLedgerBalance(Context("auditor:audit1").get(), {}, &out).ok());
    return out;
  }

  // Every record of payout.payments.v1 (all partitions, from the start).
  std::vector<ev::Envelope> ReadPayments() {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    const int32_t partitions = *consumer->PartitionCount(kPaymentsTopic, 10s);
    std::vector<bus::TopicPartitionOffset> assignment;
    int64_t expected = 0;
    for (int32_t p = 0; p < partitions; ++p) {
      assignment.push_back({kPaymentsTopic, p, bus::Consumer::kBeginning});
      expected += consumer->Watermarks({kPaymentsTopic, p}, 10s)->second;
    }
    EXPECT_TRUE(consumer->Assign(assignment).ok());
    std::vector<ev::Envelope> out;
    for (int i = 0; i < 200 && static_cast<int64_t>(out.size()) < expected; ++i) {
      auto events = consumer->Poll(100ms);
      if (!events.ok()) break;
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        out.emplace_back().ParseFromString(e.message.value);
      }
    }
    return out;
  }

  // Events by type after dropping repeats by (member, sequence); repeats must be identical.
  std::map<std::string, int> DistinctEventCounts() {
    std::map<std::pair<std::string, uint64_t>, std::string> seen;
    std::map<std::string, int> counts;
    for (const ev::Envelope& e : ReadPayments()) {
      auto [it, fresh] =
          seen.emplace(std::pair(e.member_id(), e.sequence()), e.SerializeAsString());
      if (!fresh) {
        EXPECT_EQ(it->second, e.SerializeAsString()) << "a repeat that differs: " << e.event_id();
        continue;
      }
      ++counts[e.type()];
    }
    return counts;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<api::PayoutService::Stub> stub_;
  int starts_ = 0;
  std::string metrics_port_;
};

std::string Pain002(const std::string& report_id, const std::string& batch_id,
                    const std::vector<iso20022::TransactionStatus>& txs) {
  iso20022::StatusReport r;
  r.message_id = report_id;
  r.original_message_id = batch_id;
  r.transactions = txs;
  return iso20022::WritePain002(r, "2026-03-03T10:00:00");
}

TEST_F(PayoutE2eTest, ApprovedDecisionsArePaidOnceThroughRedeliveryAndRestart) {
  test_support::ChildProcess payout = Start();
  std::vector<ev::Envelope> decisions;
  for (int i = 0; i < 10; ++i)
    decisions.push_back(Decision(i, ev::APPROVED, 10000 + i, i % 2 ? 500 : 0));
  decisions.push_back(Decision(10, ev::DENIED, 0, 0));
  decisions.push_back(Decision(11, ev::REFERRED, 80000, 0));
  decisions.push_back(Decision(11, ev::APPROVED, 80000, 0, /*revision=*/2, /*sequence=*/2));
  Publish(decisions);
  Publish(decisions);  // redelivered
  const std::vector<api::Payment> payments = WaitForPayments(16);
  EXPECT_EQ(payments.size(), 16u);  // 11 benefits + 5 condolences

  // A restart with the same data and a replay of the topic from the start pay nothing more.
  EXPECT_EQ(*payout.Stop(10s), 0);
  payout = Start();
  Publish(decisions);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(WaitForPayments(16).size(), 16u);
  const std::map<std::string, int> counts = DistinctEventCounts();
  EXPECT_EQ(counts.at(kPaymentInstructedType), 16);
  // Health, and the metrics: payments by status (refreshed every few seconds), events published.
  EXPECT_NE(HttpGet(std::stoi(metrics_port_), "/healthz").find("200"), std::string::npos);
  std::string metrics;
  for (int i = 0; i < 150; ++i) {
    metrics = HttpGet(std::stoi(metrics_port_), "/metrics");
    if (metrics.find("claims_payout_payments{status=\"INSTRUCTED\"} 16") != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(metrics.find("claims_payout_payments{status=\"INSTRUCTED\"} 16"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("claims_payout_ledger_balance_fen{account=\"fund\"}"), std::string::npos);
  EXPECT_NE(metrics.find("claims_payout_ledger_imbalance_fen 0"), std::string::npos);
  EXPECT_NE(
      metrics.find(
          "claims_processor_records_total{topic=\"adjudication.decisions.v1\",mode=\"live\"}"),
      std::string::npos);
  const api::LedgerBalance ledger = Ledger();
  EXPECT_TRUE(ledger.balanced());
  int64_t expected = 0;
  for (int i = 0; i < 10; ++i) expected += 10000 + i + (i % 2 ? 500 : 0);
  expected += 80000;
  EXPECT_EQ(ledger.total_debit_fen(), expected);
  EXPECT_EQ(*payout.Stop(10s), 0);
}

TEST_F(PayoutE2eTest, OperatorsHoldBatchSettleAndReissueAndBadReportsChangeNothing) {
  // Without a payee directory: a re-issue names its enrollment. Reports travel to the desk in
  // parts of two transactions.
  test_support::ChildProcess payout = Start("", /*payees=*/false, {"--report-part-size=2"});
  std::vector<ev::Envelope> decisions;
  for (int i = 0; i < 4; ++i) decisions.push_back(Decision(i, ev::APPROVED, 1000 * (i + 1), 0));
  Publish(decisions);
  ASSERT_EQ(WaitForPayments(4).size(), 4u);
  const std::string p[] = {PaymentId("C-0", ev::BENEFIT, 1), PaymentId("C-1", ev::BENEFIT, 1),
                           PaymentId("C-2", ev::BENEFIT, 1), PaymentId("C-3", ev::BENEFIT, 1)};

  // Auditors read but do not act.
  api::HoldPaymentRequest hold;
  hold.set_idempotency_key("hold-1");
  hold.set_payment_id(p[3]);
  api::Payment held;
  EXPECT_EQ(stub_->HoldPayment(Context("auditor:audit1").get(), hold, &held).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->HoldPayment(Context().get(), hold, &held).ok());
  EXPECT_EQ(held.status(), api::HELD);
  EXPECT_EQ(held.held_by(), "ops1");
  // The same key again: the same answer, nothing new.
  ASSERT_TRUE(stub_->HoldPayment(Context().get(), hold, &held).ok());
  // The same key for another payment: refused, nothing held.
  api::HoldPaymentRequest reused = hold;
  reused.set_payment_id(p[2]);
  EXPECT_EQ(stub_->HoldPayment(Context().get(), reused, &held).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  api::HoldPaymentRequest unknown = hold;
  unknown.set_idempotency_key("hold-2");
  unknown.set_payment_id("P-unknown");
  EXPECT_EQ(stub_->HoldPayment(Context().get(), unknown, &held).error_code(),
            grpc::StatusCode::NOT_FOUND);
  api::HoldPaymentRequest no_key;
  grpc::Status bad = stub_->HoldPayment(Context().get(), no_key, &held);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rpc::FromGrpc(bad).violations().size(), 2u);

  api::CreateBatchRequest create;
  create.set_idempotency_key("batch-1");
  api::Batch batch;
  ASSERT_TRUE(stub_->CreateBatch(Context().get(), create, &batch).ok());
  EXPECT_EQ(batch.number_of_transactions(), 3);
  EXPECT_EQ(batch.control_sum_fen(), 1000 + 2000 + 3000);
  EXPECT_EQ(batch.creation_date(), "2026-03-02");
  api::Batch again;
  ASSERT_TRUE(stub_->CreateBatch(Context().get(), create, &again).ok());
  EXPECT_EQ(again.batch_id(), batch.batch_id());
  api::CreateBatchRequest create2;
  create2.set_idempotency_key("batch-2");
  EXPECT_EQ(stub_->CreateBatch(Context().get(), create2, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // nothing left to batch
  api::HoldPaymentRequest hold_batched = hold;
  hold_batched.set_idempotency_key("hold-3");
  hold_batched.set_payment_id(p[0]);
  EXPECT_EQ(stub_->HoldPayment(Context().get(), hold_batched, &held).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  api::GetBatchRequest get;
  get.set_batch_id(batch.batch_id());
  get.set_include_payments(true);
  ASSERT_TRUE(stub_->GetBatch(Context("auditor:audit1").get(), get, &again).ok());
  ASSERT_EQ(again.payments_size(), 3);
  EXPECT_EQ(again.payments(0).payment_id(), std::min({p[0], p[1], p[2]}));

  const api::LedgerBalance before = Ledger();
  api::ImportStatusReportRequest import;
  api::ImportStatusReportResponse applied;
  struct BadReport {
    std::string xml;
    grpc::StatusCode code;
  };
  const std::string good = Pain002("R-1", batch.batch_id(),
                                   {{p[0], "ACSC", "", "", 1000},
                                    {p[1], "RJCT", "AC04", "closed", std::nullopt},
                                    {p[2], "ACSC", "", "", std::nullopt}});
  const BadReport bad_reports[] = {
      {good.substr(0, good.size() / 2), grpc::StatusCode::INVALID_ARGUMENT},  // truncated
      {"<not-xml", grpc::StatusCode::INVALID_ARGUMENT},
      {Pain002("R-2", "B-unknown", {{p[0], "ACSC", "", "", std::nullopt}}),
       grpc::StatusCode::NOT_FOUND},
      {Pain002("R-3", batch.batch_id(), {{"P-unknown", "ACSC", "", "", std::nullopt}}),
       grpc::StatusCode::NOT_FOUND},
      {Pain002("R-4", batch.batch_id(), {{p[0], "ACSC", "", "", 999}}),
       grpc::StatusCode::FAILED_PRECONDITION},  // amount mismatch
      {Pain002("R-5", batch.batch_id(), {{p[3], "ACSC", "", "", std::nullopt}}),
       grpc::StatusCode::FAILED_PRECONDITION},  // not in this batch
  };
  int key = 0;
  for (const BadReport& r : bad_reports) {
    import.set_idempotency_key("import-bad-" + std::to_string(key++));
    import.set_xml(r.xml);
    EXPECT_EQ(stub_->ImportStatusReport(Context().get(), import, &applied).error_code(), r.code)
        << r.xml.substr(0, 200);
  }
  // A file in GB18030 (a payee named 张三) is not UTF-8: refused naming the field, not INTERNAL.
  import.set_idempotency_key("import-gb18030");
  import.set_xml("<Document><Nm>\xd5\xc5\xc8\xfd</Nm></Document>");
  const grpc::Status gb = stub_->ImportStatusReport(Context().get(), import, &applied);
  EXPECT_EQ(gb.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << gb.error_message();
  const Status ours = rpc::FromGrpc(gb);
  ASSERT_EQ(ours.violations().size(), 1u) << gb.error_message();
  EXPECT_EQ(ours.violations()[0].field, "xml");
  // An auditor, who may not import, learns nothing of its request's content.
  EXPECT_EQ(
      stub_->ImportStatusReport(Context("auditor:audit1").get(), import, &applied).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Ledger().SerializeAsString(), before.SerializeAsString());

  import.set_idempotency_key("import-1");
  import.set_xml(good);
  ASSERT_TRUE(stub_->ImportStatusReport(Context().get(), import, &applied).ok());
  EXPECT_EQ(applied.applied().settled(), 2);
  EXPECT_EQ(applied.applied().failed(), 1);
  import.set_idempotency_key("import-2");  // the same file again, under another key
  EXPECT_EQ(stub_->ImportStatusReport(Context().get(), import, &applied).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  api::GetPaymentRequest get_payment;
  get_payment.set_payment_id(p[1]);
  api::Payment failed;
  ASSERT_TRUE(stub_->GetPayment(Context().get(), get_payment, &failed).ok());
  EXPECT_EQ(failed.status(), api::FAILED);
  EXPECT_EQ(failed.reason_code(), "AC04");

  api::ReissuePaymentRequest reissue;
  reissue.set_idempotency_key("reissue-1");
  reissue.set_failed_payment_id(p[1]);
  reissue.set_payee_enrollment_event_id("ENROLL-2");
  api::Payment second;
  ASSERT_TRUE(stub_->ReissuePayment(Context().get(), reissue, &second).ok());
  EXPECT_EQ(second.issue(), 2u);
  EXPECT_EQ(second.replaces_payment_id(), p[1]);
  reissue.set_idempotency_key("reissue-2");
  EXPECT_EQ(stub_->ReissuePayment(Context().get(), reissue, &second).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  api::ReleasePaymentRequest release;
  release.set_idempotency_key("release-1");
  release.set_payment_id(p[3]);
  api::Payment released;
  ASSERT_TRUE(stub_->ReleasePayment(Context().get(), release, &released).ok());
  EXPECT_EQ(released.status(), api::INSTRUCTED);
  create.set_idempotency_key("batch-3");
  ASSERT_TRUE(stub_->CreateBatch(Context().get(), create, &batch).ok());
  EXPECT_EQ(batch.number_of_transactions(), 2);  // the released one and the re-issue

  const api::LedgerBalance model_ledger = Ledger();
  EXPECT_TRUE(model_ledger.balanced());
  EXPECT_EQ(*payout.Stop(10s), 0);
  // The read model's ledger (from the events) equals the desk's own.
  store::StoreOptions so;
  so.column_families = DeskColumnFamilies();
  auto desk = std::move(store::StateStore::Open(dir_->File("data") + "/desk", so)).value();
  EXPECT_EQ(ReadDeskLedger(*desk)->SerializeAsString(), model_ledger.SerializeAsString());
}

// Runs xmllint on `xml` against the pain.001.001.09 schema; "" when it validates.
std::string SchemaErrors(const std::string& xml, const std::string& dir) {
  const std::string file = dir + "/pain001.xml";
  std::ofstream(file, std::ios::binary) << xml;
  const std::string command = std::string(CLAIMS_XMLLINT) + " --noout --schema " +
                              CLAIMS_PAIN001_XSD + " " + file + " > " + dir + "/xmllint.out 2>&1";
  if (std::system(command.c_str()) == 0) return "";
  Result<std::string> out = test_support::ReadFile(dir + "/xmllint.out");
  return out.ok() && !out->empty() ? *out : std::string("xmllint failed");
}

// The text of the first <name>...</name> in `xml`.
std::string Element(const std::string& xml, const std::string& name) {
  const size_t start = xml.find("<" + name + ">");
  if (start == std::string::npos) return "";
  const size_t from = start + name.size() + 2;
  return xml.substr(from, xml.find("</" + name + ">", from) - from);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(PayoutE2eTest, BankFilesValidateAgainstTheSchemaAndPayThePinnedCard) {
  test_support::ChildProcess payout = Start();
  std::vector<ev::Envelope> decisions;
  for (int i = 0; i < 3; ++i) {
    const std::string member = "M-" + std::to_string(i);
    const crypto::DataKey key = PublishKey(member);
    PublishEnrollment(key, member, "ENR-" + std::to_string(i), "Worker " + std::to_string(i),
                      "621700000000000000" + std::to_string(i));
    PublishClaim(member, "E-" + std::to_string(i) + "-1");
    // An enrollment after the claim does not change whom the claim pays.
    PublishEnrollment(key, member, "ENR-LATE-" + std::to_string(i), "Late " + std::to_string(i),
                      "623300000000000000" + std::to_string(i));
    decisions.push_back(Decision(i, ev::APPROVED, 12345 + i, i == 0 ? 100 : 0));
  }
  Publish(decisions);
  ASSERT_EQ(WaitForPayments(4).size(), 4u);
  api::CreateBatchRequest create;
  create.set_idempotency_key("batch-xml");
  api::Batch batch;
  ASSERT_TRUE(stub_->CreateBatch(Context().get(), create, &batch).ok());
  api::GetBatchRequest get;
  get.set_batch_id(batch.batch_id());
  get.set_include_xml(true);
  api::Batch file;
  grpc::Status s;
  for (int i = 0; i < 100; ++i) {  // the directory may lag a moment: UNAVAILABLE, retry
    s = stub_->GetBatch(Context("auditor:audit1").get(), get, &file);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(SchemaErrors(file.xml(), dir_->path()), "");
  EXPECT_EQ(Element(file.xml(), "NbOfTxs"), "4");
  EXPECT_EQ(Element(file.xml(), "CtrlSum"), "371.38");  // 12345+12346+12347+100 fen
  EXPECT_EQ(Element(file.xml(), "MsgId"), batch.batch_id());
  EXPECT_EQ(Element(file.xml(), "CreDtTm").substr(0, 10), "2026-03-02");
  EXPECT_EQ(Count(file.xml(), "<CdtTrfTxInf>"), 4);
  EXPECT_EQ(Count(file.xml(), "6217000000000000000"), 2);  // benefit and condolence of M-0
  EXPECT_EQ(Count(file.xml(), "62330000"), 0);             // enrolled after the claim
  api::Batch again;
  ASSERT_TRUE(stub_->GetBatch(Context().get(), get, &again).ok());
  EXPECT_EQ(again.xml(), file.xml());  // byte-identical
  const std::string first_batch = batch.batch_id();

  // The bank rejects M-1's payment; the member's card is corrected by a new enrollment; the
  // re-issue pays the new card, once.
  const std::string failed = PaymentId("C-1", ev::BENEFIT, 1);
  api::ImportStatusReportRequest import;
  import.set_idempotency_key("import-xml");
  import.set_xml(Pain002("R-XML", batch.batch_id(),
                         {{ failed,
                            "RJCT",
                            "AC04",
                            "closed",
                            std::nullopt }}));
  api::ImportStatusReportResponse applied;
  ASSERT_TRUE(stub_->ImportStatusReport(Context().get(), import, &applied).ok());
  api::ReissuePaymentRequest reissue;
  reissue.set_idempotency_key("reissue-xml-0");
  reissue.set_failed_payment_id(failed);
  reissue.set_payee_enrollment_event_id("ENR-1");  // the card that failed
  api::Payment second;
  EXPECT_EQ(stub_->ReissuePayment(Context().get(), reissue, &second).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  reissue.set_idempotency_key("reissue-xml-1");
  reissue.clear_payee_enrollment_event_id();  // the member's latest: ENR-LATE-1
  ASSERT_TRUE(stub_->ReissuePayment(Context().get(), reissue, &second).ok());
  EXPECT_EQ(second.payee_enrollment_event_id(), "ENR-LATE-1");
  create.set_idempotency_key("batch-xml-2");
  ASSERT_TRUE(stub_->CreateBatch(Context().get(), create, &batch).ok());
  get.set_batch_id(batch.batch_id());
  ASSERT_TRUE(stub_->GetBatch(Context().get(), get, &file).ok());
  EXPECT_EQ(SchemaErrors(file.xml(), dir_->path()), "");
  EXPECT_EQ(Element(file.xml(), "NbOfTxs"), "1");
  EXPECT_EQ(Count(file.xml(), "6233000000000000001"), 1);

  // Erasing M-2's key (a tombstone on the key topic) makes its payee unopenable: the first
  // file cannot be rendered any more, with a precise error.
  bus::OutgoingMessage tombstone;
  tombstone.topic = events::kKeyTopic;
  tombstone.key = "M-2/00000001";
  PublishRecords({tombstone});
  get.set_batch_id(first_batch);
  for (int i = 0; i < 100; ++i) {
    s = stub_->GetBatch(Context().get(), get, &file);
    if (s.ok()) std::this_thread::sleep_for(100ms);
    if (!s.ok()) break;
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("erased"), std::string::npos) << s.error_message();
  EXPECT_EQ(*payout.Stop(10s), 0);
}

// SIGKILL at each step of a batch (after folding, after publishing, after writing the store),
// in the desk (a batch request) and in the instructor (decisions), then a restart: exact counts.
TEST_F(PayoutE2eTest, SigkillAtEachStepLeavesExactCountsAfterRestart) {
  const char* const points[] = {
      "instructor:folded:ClaimDecided",  "instructor:published:ClaimDecided",
      "instructor:written:ClaimDecided", "desk:folded:PaymentRequested",
      "desk:published:PaymentRequested", "desk:written:PaymentRequested",
      "desk:folded:BatchRequested",      "desk:published:BatchRequested",
      "desk:written:BatchRequested"};
  int round = 0;
  int64_t instructed = 0;
  int64_t batched = 0;
  int batches = 0;
  for (const char* point : points) {
    SCOPED_TRACE(point);
    const bool batch_point = std::string(point).find("Batch") != std::string::npos;
    // A batch point names this round's command: a restart may fold an earlier round's batch
    // request again (published, not yet written when it was killed), which must not count.
    const std::string key = "batch-" + std::to_string(round);
    const std::string crash_at =
        batch_point ? std::string(point).substr(0, std::string(point).rfind(':') + 1) +
                          OperatorCommandId("ops1", "batch", key)
                    : std::string(point);
    test_support::ChildProcess payout = Start(crash_at);
    std::vector<ev::Envelope> decisions;
    for (int i = 0; i < 5; ++i) {
      decisions.push_back(Decision(round * 100 + i, ev::APPROVED, 100 + i, 0));
    }
    Publish(decisions);
    instructed += 5;
    if (batch_point) {
      ASSERT_EQ(WaitForPayments(instructed).size(), static_cast<size_t>(instructed));
      api::CreateBatchRequest create;
      create.set_idempotency_key(key);
      api::Batch batch;
      EXPECT_FALSE(stub_->CreateBatch(Context("operator:ops1", 10s).get(), create, &batch).ok());
    }
    Result<int> code = payout.Wait(60s);
    ASSERT_TRUE(code.ok()) << "the crash point was not reached";
    EXPECT_EQ(*code, 128 + SIGKILL);

    payout = Start();
    ASSERT_EQ(WaitForPayments(instructed).size(), static_cast<size_t>(instructed));
    if (batch_point) {
      // The retry of the interrupted call learns its outcome; the batch is created once.
      api::CreateBatchRequest create;
      create.set_idempotency_key(key);
      api::Batch batch;
      grpc::Status s = stub_->CreateBatch(Context("operator:ops1", 30s).get(), create, &batch);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(batch.number_of_transactions(), instructed - batched);
      batched = instructed;
      ++batches;
    }
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(WaitForPayments(instructed).size(), static_cast<size_t>(instructed));
    const std::map<std::string, int> counts = DistinctEventCounts();
    EXPECT_EQ(counts.at(kPaymentInstructedType), instructed);
    EXPECT_EQ(counts.count(kPaymentBatchedType) ? counts.at(kPaymentBatchedType) : 0, batched);
    EXPECT_EQ(counts.count(kBatchCreatedType) ? counts.at(kBatchCreatedType) : 0, batches);
    const api::LedgerBalance ledger = Ledger();
    EXPECT_TRUE(ledger.balanced());
    EXPECT_EQ(*payout.Stop(10s), 0);
    ++round;
  }
}

}  // namespace
}  // namespace claims::payout
