// The intake binary as ops run it: its own process, the dev broker, flags, SIGTERM, SIGKILL.

#include <arpa/inet.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/crypto/sha256.h"
#include "libs/identity/resident_id.h"
#include "libs/rpc/auth.h"
#include "mutualaid/intake/v1/admin.grpc.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/intake_requests.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace api = ::mutualaid::intake::v1;
namespace ev = ::mutualaid::events::v1;

std::string ResidentId(const std::string& yyyymmdd, bool male) {
  std::string first17 = "110101" + yyyymmdd + "12" + (male ? "3" : "4");
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

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

class IntakeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::move(test_support::DevBroker::Start()).value();
    dir_ = std::make_unique<test_support::TempDir>(
        std::move(test_support::TempDir::Create("intake-e2e")).value());
    std::ofstream(dir_->File("pseudonym.key"))
        << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    std::ofstream(dir_->File("master.key"))
        << "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101\n";
  }

  // Starts the binary in --insecure-dev mode, or with TLS from `pki` when given (requiring client
  // certificates unless `client_ca` is false), with `extra` flags.
  test_support::ChildProcess StartIntake(const std::string& name,
                                         const test_support::TestPki* pki = nullptr,
                                         const std::vector<std::string>& extra = {},
                                         bool client_ca = true) {
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + ".out");
    spawn.stderr_path = dir_->File(name + ".log");
    spawn.env = {{"CLAIMS_BUSINESS_DATE", "2024-06-01"}};  // flags also come from the environment
    std::vector<std::string> argv = {CLAIMS_INTAKE_BINARY,
                                     "--bootstrap-servers",
                                     broker_->bootstrap_servers(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--metrics-listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     dir_->File("data"),
                                     "--pseudonym-key-file",
                                     dir_->File("pseudonym.key"),
                                     "--master-key-file",
                                     dir_->File("master.key")};
    if (pki == nullptr) {
      argv.push_back("--insecure-dev");
    } else {
      argv.insert(argv.end(),
                  {"--tls-cert", pki->server.cert_file, "--tls-key", pki->server.key_file});
      if (client_ca) argv.insert(argv.end(), {"--tls-client-ca", pki->ca_file});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto child = test_support::ChildProcess::Spawn(argv, spawn);
    EXPECT_TRUE(child.ok());
    grpc_port_ = test_support::WaitForValue(spawn.stdout_path, "grpc-port");
    metrics_port_ = test_support::WaitForValue(spawn.stdout_path, "metrics-port");
    EXPECT_FALSE(grpc_port_.empty()) << "intake did not start";
    if (pki == nullptr) {
      stub_ = api::IntakeService::NewStub(
          grpc::CreateChannel("127.0.0.1:" + grpc_port_, grpc::InsecureChannelCredentials()));
    }
    return std::move(child).value();
  }

  // A TLS channel to the running intake that presents `client` (none when null).
  std::shared_ptr<grpc::Channel> TlsChannel(const test_support::TestPki& pki,
                                            const test_support::TestCert* client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pki.ca_pem;
    if (client != nullptr) {
      ssl.pem_private_key = client->key_pem;
      ssl.pem_cert_chain = client->cert_pem;
    }
    return grpc::CreateChannel("127.0.0.1:" + grpc_port_, grpc::SslCredentials(ssl));
  }

  static std::unique_ptr<grpc::ClientContext> WithDeadline() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + 20s);
    return context;
  }

  std::unique_ptr<grpc::ClientContext> AsPartner() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(rpc::kPrincipalHeader, "partner:P1");
    context->set_deadline(std::chrono::system_clock::now() + 20s);
    return context;
  }

  api::EnrollMemberRequest Enrollment(const std::string& key, const std::string& id) {
    api::EnrollMemberRequest r;
    r.set_idempotency_key(key);
    r.set_resident_id_number(id);
    r.set_name("王五");
    r.set_gender(ev::FEMALE);
    r.set_occupation(ev::RIDE_HAILING);
    r.set_plan_year(2024);
    r.set_start_date("2024-01-01");
    r.set_bank_card_number("6222020200112233446");
    r.set_bank_name("建设银行");
    return r;
  }

  // One request and its answer on grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo,
  // as grpcurl would ask (hand-encoded: Debian ships no reflection stubs). The answer's bytes,
  // empty when the call failed.
  std::string Reflect(const std::string& request) {
    grpc::GenericStub stub(
        grpc::CreateChannel("127.0.0.1:" + grpc_port_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::CompletionQueue cq;
    auto call = stub.PrepareCall(
        &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    void* tag = nullptr;
    bool ok = false;
    auto step = [&](int want) {
      return cq.Next(&tag, &ok) && ok && tag == reinterpret_cast<void*>(want);
    };
    call->StartCall(reinterpret_cast<void*>(1));
    if (!step(1)) return "";
    grpc::Slice slice(request);
    call->Write(grpc::ByteBuffer(&slice, 1), reinterpret_cast<void*>(2));
    if (!step(2)) return "";
    grpc::ByteBuffer answer;
    call->Read(&answer, reinterpret_cast<void*>(3));
    const bool read = step(3);
    call->WritesDone(reinterpret_cast<void*>(4));
    (void)step(4);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    (void)cq.Next(&tag, &ok);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    std::vector<grpc::Slice> slices;
    if (!read || !answer.Dump(&slices).ok()) return "";
    std::string out;
    for (const grpc::Slice& s : slices)
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
  }

  size_t CountInputEvents(size_t at_least) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    std::vector<bus::TopicPartitionOffset> all;
    for (int p = 0; p < 12; ++p) {
      all.push_back({"intake.events.v1", p, bus::Consumer::kBeginning});
    }
    EXPECT_TRUE(consumer->Assign(all).ok());
    size_t n = 0;
    auto poll = [&] {
      Result<std::vector<bus::ConsumerEvent>> events = consumer->Poll(100ms);
      if (!events.ok()) return;
      for (const bus::ConsumerEvent& e : *events) n += e.kind == bus::ConsumerEvent::Kind::kMessage;
    };
    for (int polls = 0; polls < 100 && n < at_least; ++polls) poll();
    for (int polls = 0; polls < 5; ++polls) poll();  // and nothing more arrives
    return n;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::string grpc_port_, metrics_port_;
  std::unique_ptr<api::IntakeService::Stub> stub_;
};

TEST_F(IntakeE2eTest, ServesHealthMetricsAndStopsCleanlyOnSigterm) {
  test_support::ChildProcess intake = StartIntake("a");
  const std::string health = HttpGet(std::stoi(metrics_port_), "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_NE(HttpGet(std::stoi(metrics_port_), "/metrics").find("claims_up 1"), std::string::npos);
  api::EnrollMemberResponse enrolled;
  ASSERT_TRUE(stub_
                  ->EnrollMember(AsPartner().get(), Enrollment("k1", ResidentId("19900512", false)),
                                 &enrolled)
                  .ok());
  api::Claim claim;
  api::GetClaimRequest get;
  get.set_claim_id("CL-none");
  EXPECT_EQ(stub_->GetClaim(AsPartner().get(), get, &claim).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Every call is in the gRPC metrics; the event in the published count.
  const std::string metrics = HttpGet(std::stoi(metrics_port_), "/metrics");
  for (const char* line : {
           "claims_grpc_server_handled_total{grpc_method=\"mutualaid.intake.v1.IntakeService/"
           "EnrollMember\",grpc_code=\"OK\"} 1\n",
           "claims_grpc_server_handled_total{grpc_method=\"mutualaid.intake.v1.IntakeService/"
           "GetClaim\",grpc_code=\"NOT_FOUND\"} 1\n",
           "claims_grpc_server_handling_seconds_count{grpc_method=\"mutualaid.intake.v1."
           "IntakeService/EnrollMember\"} 1\n",
           "claims_intake_events_published_total{type=\"mutualaid.events.v1.MemberEnrolled\"} 1\n",
           // Its commit: one group of one call, through each stage once.
           "claims_intake_commit_group_calls_count 1\n",
           "claims_intake_commit_group_calls_sum 1\n",
           "claims_intake_commit_stage_seconds_count{stage=\"claim\"} 1\n",
           "claims_intake_commit_stage_seconds_count{stage=\"publish\"} 1\n",
           "claims_intake_commit_stage_seconds_count{stage=\"record\"} 1\n",
           "claims_intake_commit_stage_seconds_count{stage=\"answer\"} 1\n",
       }) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
  }

  // SIGTERM while a BulkEnroll stream is open: new calls are refused, the open stream is drained
  // (its records enrolled, its events acknowledged), then the process exits cleanly.
  grpc::ClientContext bulk_context;
  bulk_context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  bulk_context.set_deadline(std::chrono::system_clock::now() + 30s);
  api::BulkEnrollResponse bulk;
  auto writer = stub_->BulkEnroll(&bulk_context, &bulk);
  ASSERT_TRUE(writer->Write(Enrollment("drain-0", ResidentId("19700101", false))));
  ASSERT_TRUE(intake.Signal(SIGTERM).ok());
  // Refused once the server stops accepting (the signal is handled on another thread).
  grpc::Status refused;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext late;
    late.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
    late.set_deadline(std::chrono::system_clock::now() + 2s);
    refused = stub_->GetClaim(&late, get, &claim);
    if (refused.error_code() != grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(50ms);
  }
  // UNAVAILABLE, or CANCELLED for a call that reached the server as it stopped accepting.
  EXPECT_TRUE(refused.error_code() == grpc::StatusCode::UNAVAILABLE ||
              refused.error_code() == grpc::StatusCode::CANCELLED)
      << refused.error_code() << " " << refused.error_message();
  ASSERT_TRUE(writer->Write(Enrollment("drain-1", ResidentId("19710202", false))));
  writer->WritesDone();
  const grpc::Status drained = writer->Finish();
  ASSERT_TRUE(drained.ok()) << drained.error_message();
  EXPECT_EQ(bulk.accepted(), 2);
  stub_.reset();  // an idle connection would hold the shutdown to its grace period
  Result<int> code = intake.Wait(15s);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  std::ifstream in(dir_->File("a.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("insecure dev mode"), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"stopped\""), std::string::npos) << log;
  // Both enrollments are in Kafka: the producer was flushed before the exit.
  EXPECT_EQ(CountInputEvents(3), 3u);
}

TEST_F(IntakeE2eTest, ServerReflectionNamesTheServicesAndServesTheirDescriptors) {
  test_support::ChildProcess intake = StartIntake("reflection");
  // Server reflection names the service and serves its descriptors (what grpcurl uses).
  auto fields_of = [](const std::string& bytes, int number) {
    google::protobuf::UnknownFieldSet set;
    std::vector<std::string> out;
    if (!set.ParseFromString(bytes)) return out;
    for (int i = 0; i < set.field_count(); ++i) {
      if (set.field(i).number() == number &&
          set.field(i).type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        out.push_back(set.field(i).length_delimited());
      }
    }
    return out;
  };
  // ServerReflectionRequest{list_services (7): ""} -> list_services_response (6) of services (1)
  // with their names (1).
  std::set<std::string> services;
  for (const std::string& list : fields_of(Reflect(std::string("\x3a\x00", 2)), 6)) {
    for (const std::string& service : fields_of(list, 1)) {
      for (const std::string& name : fields_of(service, 1)) services.insert(name);
    }
  }
  EXPECT_EQ(services.count("mutualaid.intake.v1.IntakeService"), 1u);
  EXPECT_EQ(services.count("mutualaid.intake.v1.IntakeAdminService"), 1u);
  EXPECT_EQ(services.count("grpc.health.v1.Health"), 1u);
  // file_containing_symbol (4) -> file_descriptor_response (4) of FileDescriptorProtos (1).
  const std::string symbol = "mutualaid.intake.v1.IntakeService";
  std::string by_symbol = "\x22";
  by_symbol += static_cast<char>(symbol.size());
  by_symbol += symbol;
  std::set<std::string> files;
  for (const std::string& response : fields_of(Reflect(by_symbol), 4)) {
    for (const std::string& file : fields_of(response, 1)) {
      google::protobuf::FileDescriptorProto proto;
      if (proto.ParseFromString(file)) files.insert(proto.name());
    }
  }
  EXPECT_EQ(files.count("mutualaid/intake/v1/intake.proto"), 1u) << files.size();

  stub_.reset();
  EXPECT_EQ(*intake.Stop(15s), 0);
}

TEST_F(IntakeE2eTest, AnAcknowledgedCallSurvivesKillAndTheRetryAnswersTheSame) {
  const std::string id = ResidentId("19880229", false);
  api::EnrollMemberResponse first;
  {
    test_support::ChildProcess intake = StartIntake("a");
    ASSERT_TRUE(stub_->EnrollMember(AsPartner().get(), Enrollment("k1", id), &first).ok());
    ASSERT_TRUE(intake.Kill().ok());  // SIGKILL right after the answer
  }
  EXPECT_EQ(CountInputEvents(1), 1u);
  test_support::ChildProcess intake = StartIntake("b");
  api::EnrollMemberResponse again;
  ASSERT_TRUE(stub_->EnrollMember(AsPartner().get(), Enrollment("k1", id), &again).ok());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(CountInputEvents(1), 1u);
  // A claim with health data, and calls refused for their content (whose errors name fields).
  api::SubmitClaimResponse submitted;
  ASSERT_TRUE(stub_
                  ->SubmitClaim(AsPartner().get(),
                                test_support::AccidentClaim("c1", first.member_id(), "右臂骨折"),
                                &submitted)
                  .ok());
  api::EnrollMemberRequest bad = Enrollment("k2", ResidentId("19900101", true));  // wrong gender
  bad.set_bank_card_number("6222020200112233447");                                // Luhn fails
  bad.set_phone("13912345678");
  api::EnrollMemberResponse refused;
  EXPECT_EQ(stub_->EnrollMember(AsPartner().get(), bad, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(*intake.Stop(15s), 0);
  // Logs are JSON lines and never show identity, payee or health data.
  for (const char* log : {"a.log", "b.log"}) {
    std::ifstream in(dir_->File(log));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& secret :
         {id, ResidentId("19900101", true), std::string("6222020200112233446"),
          std::string("6222020200112233447"), std::string("13912345678"), std::string("王五"),
          std::string("右臂骨折")}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << log << ": " << secret;
    }
    EXPECT_NE(text.find("\"msg\":\"serving\""), std::string::npos) << log << text;
  }
}

TEST_F(IntakeE2eTest, TlsClientCertificatesNameTheCallerAndTheHeaderIsIgnored) {
  auto pki = test_support::TestPki::Create(
      dir_->path(), {"partner:P1", "partner:P2", "reviewer:r1", "operator:ops1"});
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  test_support::ChildProcess intake = StartIntake("tls", &*pki);
  ASSERT_FALSE(grpc_port_.empty());
  auto p1 = api::IntakeService::NewStub(TlsChannel(*pki, &pki->Client("partner:P1")));
  auto p2 = api::IntakeService::NewStub(TlsChannel(*pki, &pki->Client("partner:P2")));
  auto reviewer = api::IntakeService::NewStub(TlsChannel(*pki, &pki->Client("reviewer:r1")));

  // A partner certificate works.
  api::EnrollMemberResponse enrolled;
  grpc::Status s = p1->EnrollMember(WithDeadline().get(),
                                    Enrollment("k1", ResidentId("19900512", false)), &enrolled);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  const api::SubmitClaimRequest submit = test_support::AccidentClaim("c1", enrolled.member_id());
  api::SubmitClaimResponse submitted;
  s = p1->SubmitClaim(WithDeadline().get(), submit, &submitted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  api::GetClaimRequest get;
  get.set_claim_id(submitted.claim_id());
  api::Claim claim;
  ASSERT_TRUE(p1->GetClaim(WithDeadline().get(), get, &claim).ok());

  // Another partner's certificate does not see it, even when it names P1 in the dev header.
  EXPECT_EQ(p2->GetClaim(WithDeadline().get(), get, &claim).error_code(),
            grpc::StatusCode::NOT_FOUND);
  auto forged = WithDeadline();
  forged->AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  EXPECT_EQ(p2->GetClaim(forged.get(), get, &claim).error_code(), grpc::StatusCode::NOT_FOUND);
  // A reviewer is not a partner.
  EXPECT_EQ(reviewer->GetClaim(WithDeadline().get(), get, &claim).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Without a client certificate there is no call at all; nor in plaintext.
  auto anonymous = api::IntakeService::NewStub(TlsChannel(*pki, nullptr));
  const grpc::StatusCode no_cert =
      anonymous->GetClaim(WithDeadline().get(), get, &claim).error_code();
  EXPECT_TRUE(no_cert == grpc::StatusCode::UNAVAILABLE ||
              no_cert == grpc::StatusCode::UNAUTHENTICATED)
      << no_cert;
  auto plaintext = api::IntakeService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + grpc_port_, grpc::InsecureChannelCredentials()));
  auto plaintext_context = WithDeadline();
  plaintext_context->AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  EXPECT_EQ(plaintext->GetClaim(plaintext_context.get(), get, &claim).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The operator API takes the operator's certificate only.
  auto p1_admin = api::IntakeAdminService::NewStub(TlsChannel(*pki, &pki->Client("partner:P1")));
  auto ops_admin =
      api::IntakeAdminService::NewStub(TlsChannel(*pki, &pki->Client("operator:ops1")));
  api::EraseMemberRequest erase;
  erase.set_member_id(enrolled.member_id());
  api::EraseMemberResponse erased;
  EXPECT_EQ(p1_admin->EraseMember(WithDeadline().get(), erase, &erased).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  s = ops_admin->EraseMember(WithDeadline().get(), erase, &erased);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(erased.erased_key_ids_size(), 1);

  // Idle client connections hold a graceful shutdown until its grace period ends; close ours.
  p1.reset(), p2.reset(), reviewer.reset(), anonymous.reset(), plaintext.reset();
  p1_admin.reset(), ops_admin.reset();
  EXPECT_EQ(*intake.Stop(15s), 0);
  std::ifstream in(dir_->File("tls.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("\"insecure_dev\":false"), std::string::npos) << log;
  EXPECT_EQ(log.find("insecure dev mode"), std::string::npos) << log;
}

TEST_F(IntakeE2eTest, BearerTokensNameTheCallerOverServerOnlyTls) {
  auto pki = test_support::TestPki::Create(dir_->path(), {});
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  const std::string p1_token = "p1-secret-token-0123456789";
  const std::string ops_token = "ops-secret-token-9876543210";
  // The file holds only the tokens' hashes.
  std::ofstream(dir_->File("tokens")) << "# sha256(token) principal\n"
                                      << crypto::Sha256Hex(p1_token) << " partner:P1\n"
                                      << crypto::Sha256Hex(ops_token) << " operator:ops1\n";
  test_support::ChildProcess intake = StartIntake(
      "bearer", &*pki, {"--bearer-tokens-file", dir_->File("tokens")}, /*client_ca=*/false);
  ASSERT_FALSE(grpc_port_.empty());
  auto channel = TlsChannel(*pki, nullptr);  // no client certificate
  auto stub = api::IntakeService::NewStub(channel);
  auto with_token = [](const std::string& token) {
    auto context = WithDeadline();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context;
  };

  api::EnrollMemberResponse enrolled;
  grpc::Status s = stub->EnrollMember(with_token(p1_token).get(),
                                      Enrollment("k1", ResidentId("19900512", false)), &enrolled);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(enrolled.member_id().size(), 64u);
  // An unknown token, none at all, or the dev header instead: UNAUTHENTICATED.
  api::GetClaimRequest get;
  get.set_claim_id("CL-none");
  api::Claim claim;
  EXPECT_EQ(stub->GetClaim(with_token("not-a-token").get(), get, &claim).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub->GetClaim(with_token("").get(), get, &claim).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto forged = WithDeadline();
  forged->AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  EXPECT_EQ(stub->GetClaim(forged.get(), get, &claim).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub->GetClaim(with_token(p1_token).get(), get, &claim).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Roles come from the token's principal: the operator's token works on the admin API only.
  auto admin = api::IntakeAdminService::NewStub(channel);
  api::EraseMemberRequest erase;
  erase.set_member_id(enrolled.member_id());
  api::EraseMemberResponse erased;
  EXPECT_EQ(admin->EraseMember(with_token(p1_token).get(), erase, &erased).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  s = admin->EraseMember(with_token(ops_token).get(), erase, &erased);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stub->GetClaim(with_token(ops_token).get(), get, &claim).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  stub.reset(), admin.reset(), channel.reset();
  EXPECT_EQ(*intake.Stop(15s), 0);
  // No token in the logs.
  std::ifstream in(dir_->File("bearer.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("\"bearer_tokens\":2"), std::string::npos) << log;
  EXPECT_EQ(log.find(p1_token), std::string::npos);
  EXPECT_EQ(log.find(ops_token), std::string::npos);
}

TEST_F(IntakeE2eTest, BulkEnrollsThroughTheBinaryAndRefusesAnOversizeMessage) {
  test_support::ChildProcess intake =
      StartIntake("limit", nullptr, {"--max-message-bytes", "65536"});
  // A stream of 300 records, larger together than the limit: the limit is per record.
  grpc::ClientContext bulk;
  bulk.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  bulk.set_deadline(std::chrono::system_clock::now() + 60s);
  api::BulkEnrollResponse response;
  auto writer = stub_->BulkEnroll(&bulk, &response);
  for (int i = 0; i < 300; ++i) {
    const std::string seq = std::to_string(10 + i % 90);
    std::string first17 = "110101" + std::to_string(19700101 + i / 90) + seq + "4";
    api::EnrollMemberRequest r = Enrollment("bulk-" + std::to_string(i),
                                            first17 + identity::ResidentIdCheckCharacter(first17));
    r.set_bank_name(std::string(200, 'x'));  // too long: refused with its violation
    if (i != 42) r.set_bank_name("建设银行");
    ASSERT_TRUE(writer->Write(r));
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.accepted(), 299);
  ASSERT_EQ(response.refusals_size(), 1);
  EXPECT_EQ(response.refusals(0).index(), 42);
  ASSERT_EQ(response.refusals(0).violations_size(), 1);
  EXPECT_EQ(response.refusals(0).violations(0).field(), "bank_name");
  EXPECT_FALSE(response.stopped());

  // One request over the limit: RESOURCE_EXHAUSTED, and nothing published for it.
  api::EnrollMemberResponse enrolled;
  api::EnrollMemberRequest huge = Enrollment("huge", ResidentId("19900512", false));
  huge.set_name(std::string(100000, 'x'));
  s = stub_->EnrollMember(AsPartner().get(), huge, &enrolled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(CountInputEvents(299), 299u);
  stub_.reset();
  EXPECT_EQ(*intake.Stop(15s), 0);
}

TEST_F(IntakeE2eTest, RefusesToStartWithoutKeysNamingTheFlag) {
  test_support::SpawnOptions spawn;
  spawn.stderr_path = dir_->File("nokey.log");
  auto child = test_support::ChildProcess::Spawn(
      {CLAIMS_INTAKE_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(), "--data-dir",
       dir_->File("data")},
      spawn);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(*child->Wait(10s), 2);
  std::ifstream in(dir_->File("nokey.log"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("pseudonym-key-file"), std::string::npos) << text;

  // A retention that could purge a key before 7 days are out (one recorded late in its day).
  spawn.stderr_path = dir_->File("retention.log");
  child = test_support::ChildProcess::Spawn(
      {CLAIMS_INTAKE_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(), "--data-dir",
       dir_->File("data"), "--pseudonym-key-file", dir_->File("pseudonym.key"), "--master-key-file",
       dir_->File("master.key"), "--insecure-dev", "--idempotency-retention-days", "7"},
      spawn);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(*child->Wait(10s), 2);
  std::ifstream retention(dir_->File("retention.log"));
  const std::string said((std::istreambuf_iterator<char>(retention)),
                         std::istreambuf_iterator<char>());
  EXPECT_NE(said.find("--idempotency-retention-days must be 8-3650, got 7"), std::string::npos)
      << said;
}

}  // namespace
}  // namespace claims
