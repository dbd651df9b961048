// Intake against the real components: the dev broker, RocksDB on disk, gRPC on loopback.

#include "services/intake/intake.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/seal.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/identity/resident_id.h"
#include "libs/processor/processor_metrics.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/server.h"
#include "libs/rpc/server_metrics.h"
#include "libs/rpc/status_mapping.h"
#include "libs/store/disk_faults.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "mutualaid/intake/v1/admin.grpc.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "services/intake/adapters.h"
#include "services/intake/claim_follower.h"
#include "services/intake/intake_service.h"
#include "services/intake/key_claims.h"
#include "services/intake/vault.h"
#include "tests/support/dev_broker.h"
#include "tests/support/intake_requests.h"
#include "tests/support/temp_dir.h"

namespace claims::intake {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;

const Date kToday = *Date::Parse("2024-06-01");
constexpr char kPseudonymKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kMasterKeyHex[] = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";

std::string ResidentId(const std::string& yyyymmdd, bool male, const std::string& seq = "12") {
  std::string first17 = "110101" + yyyymmdd + seq + (male ? "3" : "4");
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string Join(const std::string& a, const std::string& b) { return a + '\0' + b; }

// The latest record of every key in `topic`, read from the start with librdkafka itself (the bus
// consumer cannot tell a null value from an empty one): nullopt for a tombstone (null value).
std::map<std::string, std::optional<std::string>> LatestByKey(const std::string& bootstrap,
                                                              const std::string& topic,
                                                              int32_t partitions) {
  std::map<std::string, std::optional<std::string>> latest;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[256];
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", bootstrap},
                                                        {"group.id", "intake-test-reader"},
                                                        {"enable.partition.eof", "true"},
                                                        {"enable.auto.commit", "false"},
                                                        {"fetch.wait.max.ms", "5"}}) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), error, sizeof error), RD_KAFKA_CONF_OK)
        << error;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  EXPECT_NE(rk, nullptr) << error;
  if (rk == nullptr) return latest;
  rd_kafka_topic_partition_list_t* all = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(all, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(rk, all), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(all);
  std::set<int32_t> at_end;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (static_cast<int32_t>(at_end.size()) < partitions &&
         std::chrono::steady_clock::now() < give_up) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string key(static_cast<const char*>(m->key), m->key_len);
      latest[key] = m->payload == nullptr ? std::nullopt
                                          : std::optional<std::string>(std::string(
                                                static_cast<const char*>(m->payload), m->len));
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(static_cast<int32_t>(at_end.size()), partitions) << "did not read " << topic;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return latest;
}

crypto::Sealed ToSealed(const ev::SealedPersonalData& data) {
  crypto::Sealed sealed;
  sealed.key_id = data.key_id();
  std::copy_n(data.nonce().begin(), std::min<size_t>(12, data.nonce().size()),
              sealed.nonce.begin());
  sealed.ciphertext = data.ciphertext();
  std::copy_n(data.tag().begin(), std::min<size_t>(16, data.tag().size()), sealed.tag.begin());
  return sealed;
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    auto dir = test_support::TempDir::Create("intake-test");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<test_support::TempDir>(std::move(dir).value());
    store::StoreOptions so;
    so.column_families = IntakeColumnFamilies();
    auto store = store::StateStore::Open(dir_->File("intake"), so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    producer_options_.bootstrap_servers = broker_->bootstrap_servers();
    producer_options_.linger_ms = 1;
    producer_options_.message_timeout_ms = 3000;
    producer_ = std::move(bus::Producer::Create(producer_options_)).value();
    tombstones_ = std::make_unique<KafkaKeyTombstoneWriter>(producer_options_);
    vault_ = NewVault(*store_);
    kafka_log_ = std::make_unique<KafkaEventLog>(*producer_);
    auto metered = MeteredEventLog::Register(*kafka_log_, registry_);
    ASSERT_TRUE(metered.ok()) << metered.status().ToString();
    log_ = std::move(metered).value();
    clock_ = std::make_unique<FixedBusinessClock>(kToday);
    intake_options_.publish_timeout = 3s;
    claims_ = NewClaims(*store_);
    intake_ = std::make_unique<Intake>(intake_options_, *store_, *log_, *vault_, *claims_, *clock_);
    service_ = std::make_unique<IntakeService>(*intake_, /*insecure_dev=*/true);
    admin_service_ = std::make_unique<IntakeAdminService>(*intake_, /*insecure_dev=*/true);
    auto grpc_metrics = rpc::ServerMetrics::Register(registry_);
    ASSERT_TRUE(grpc_metrics.ok()) << grpc_metrics.status().ToString();
    grpc_metrics_ = std::move(grpc_metrics).value();
    rpc::ServerOptions ro;
    ro.insecure_dev = true;
    ro.metrics = grpc_metrics_.get();
    auto server = rpc::Server::Start(ro, {service_.get(), admin_service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = api::IntakeService::NewStub(channel_);
    admin_ = api::IntakeAdminService::NewStub(channel_);
  }

  // The key claims of a replica whose store is `store`, on the test's cluster, as main wires them.
  std::unique_ptr<KafkaKeyClaims> NewClaims(store::StateStore& store) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    co.client_id = "intake-calls";
    auto claims = std::make_unique<KafkaKeyClaims>(store, *producer_,
                                                   std::move(bus::Consumer::Create(co)).value());
    const Status caught_up = claims->CatchUp(10s);
    EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();
    return claims;
  }

  // A vault over `store` with the test's keys, as a replica of intake has.
  std::unique_ptr<KeyVault> NewVault(store::StateStore& store) {
    return std::make_unique<KeyVault>(*crypto::PseudonymKey::FromBytes(FromHex(kPseudonymKeyHex)),
                                      *crypto::MasterKey::FromBytes(FromHex(kMasterKeyHex)), store,
                                      *producer_, *tombstones_);
  }

  // Another replica's store (in its own folder) and its follower's consumer, on the same cluster;
  // the store is null when it cannot be opened (a test failure is recorded).
  struct Replica {
    std::unique_ptr<test_support::TempDir> dir;
    std::unique_ptr<store::StateStore> store;
    std::unique_ptr<bus::Consumer> consumer;
  };
  Replica NewReplica() {
    Replica r;
    Result<test_support::TempDir> dir = test_support::TempDir::Create("intake-replica");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return r;
    r.dir = std::make_unique<test_support::TempDir>(std::move(dir).value());
    store::StoreOptions so;
    so.column_families = IntakeColumnFamilies();
    Result<std::unique_ptr<store::StateStore>> store =
        store::StateStore::Open(r.dir->File("intake"), so);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return r;
    r.store = std::move(store).value();
    r.consumer = FollowerConsumer();
    return r;
  }

  // Another replica as main runs it: its own store, vault, key claims and Intake, with its
  // ClaimFollower caught up and running until the replica is destroyed. Null on a failure
  // (recorded).
  struct FollowingReplica {
    Replica parts;
    std::unique_ptr<KeyVault> vault;
    std::unique_ptr<ClaimFollower> follower;
    std::atomic<bool> stop{false};
    std::thread following;
    std::unique_ptr<KafkaKeyClaims> claims;
    std::unique_ptr<Intake> intake;
    ~FollowingReplica() {
      intake.reset();
      stop = true;
      if (following.joinable()) following.join();
    }
  };
  std::unique_ptr<FollowingReplica> StartFollowingReplica() {
    auto r = std::make_unique<FollowingReplica>();
    r->parts = NewReplica();
    if (r->parts.store == nullptr) return nullptr;
    store::StateStore& store = *r->parts.store;
    r->vault = NewVault(store);
    r->follower = std::make_unique<ClaimFollower>(store, *r->parts.consumer);
    const Status started = r->follower->Start(10s);
    const Status caught_up = started.ok() ? r->follower->CatchUp(10s) : started;
    EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();
    if (!caught_up.ok()) return nullptr;
    r->following = std::thread([f = r->follower.get(), stop = &r->stop] { (void)f->Run(*stop); });
    r->claims = NewClaims(store);
    r->intake =
        std::make_unique<Intake>(intake_options_, store, *log_, *r->vault, *r->claims, *clock_);
    return r;
  }

  void TearDown() override {
    StopFollower();
    server_.reset();
  }

  // A consumer for a ClaimFollower, configured as intake's main configures it.
  std::unique_ptr<bus::Consumer> FollowerConsumer() {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    co.properties["allow.auto.create.topics"] = "true";
    return std::move(bus::Consumer::Create(co)).value();
  }

  void StartFollower() {
    follower_consumer_ = FollowerConsumer();
    follower_ = std::make_unique<ClaimFollower>(*store_, *follower_consumer_);
    duplicates_ = std::move(processor::DuplicateMetrics::Register(registry_, "intake")).value();
    follower_->CountDuplicateDecisionsIn(&duplicates_->ForTopic(kDecisionsTopic));
    const Status started = follower_->Start(10s);
    ASSERT_TRUE(started.ok()) << started.ToString();
    follower_thread_ = std::thread([this] { (void)follower_->Run(stop_follower_); });
  }
  void StopFollower() {
    stop_follower_ = true;
    if (follower_thread_.joinable()) follower_thread_.join();
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& principal) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!principal.empty()) context->AddMetadata(rpc::kPrincipalHeader, principal);
    context->set_deadline(std::chrono::system_clock::now() + 20s);
    return context;
  }

  api::EnrollMemberRequest Enrollment(const std::string& key, const std::string& id_number) {
    api::EnrollMemberRequest r;
    r.set_idempotency_key(key);
    r.set_resident_id_number(id_number);
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

  std::string EnrollOk(const std::string& partner, const std::string& key,
                       const std::string& id_number) {
    api::EnrollMemberResponse response;
    grpc::Status s =
        stub_->EnrollMember(As("partner:" + partner).get(), Enrollment(key, id_number), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.member_id();
  }

  api::SubmitClaimRequest Claim(const std::string& key, const std::string& member) {
    return test_support::AccidentClaim(key, member);
  }

  // Adjudication's first decision on `claim_id`: approved, 45,000 fen payable.
  ev::ClaimDecided Approval(const std::string& claim_id, const std::string& member) {
    ev::ClaimDecided d;
    d.set_claim_id(claim_id);
    d.set_member_id(member);
    d.set_outcome(ev::APPROVED);
    d.set_payable_fen(45000);
    d.set_revision(1);
    return d;
  }

  // Every record of a topic, from the start, until `expected` records arrived or 20 s passed.
  std::vector<bus::Message> ReadTopic(const std::string& topic, size_t expected) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    const int32_t partitions = *consumer->PartitionCount(topic, 10s);
    std::vector<bus::TopicPartitionOffset> all;
    for (int32_t p = 0; p < partitions; ++p) all.push_back({topic, p, bus::Consumer::kBeginning});
    EXPECT_TRUE(consumer->Assign(all).ok());
    std::vector<bus::Message> out;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    int quiet_polls = 0;
    while (std::chrono::steady_clock::now() < deadline && quiet_polls < 5) {
      auto events = consumer->Poll(100ms);
      if (!events.ok()) break;
      bool any = false;
      for (auto& e : *events) {
        if (e.kind == bus::ConsumerEvent::Kind::kMessage) out.push_back(e.message), any = true;
      }
      // Once the expected count is in, a few quiet polls make sure nothing more is coming.
      quiet_polls = (out.size() >= expected && !any) ? quiet_polls + 1 : 0;
    }
    return out;
  }

  // The value of the sample line starting with `series` ("name{labels}") in the registry's
  // exposition, or -1 when there is none.
  double Sample(const std::string& series) {
    const std::string text = registry_.Expose();
    const std::string prefix = series + " ";
    for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
      if (at == 0 || text[at - 1] == '\n') {
        return std::stod(text.substr(at + prefix.size(), text.find('\n', at) - at));
      }
    }
    return -1;
  }

  runtime::MetricsRegistry registry_;
  std::unique_ptr<processor::DuplicateMetrics> duplicates_;
  std::unique_ptr<test_support::DevBroker> broker_;
  std::unique_ptr<test_support::TempDir> dir_;
  std::unique_ptr<store::StateStore> store_;
  bus::ProducerOptions producer_options_;
  std::unique_ptr<bus::Producer> producer_;
  std::unique_ptr<KafkaKeyTombstoneWriter> tombstones_;
  std::unique_ptr<KeyVault> vault_;
  std::unique_ptr<KafkaEventLog> kafka_log_;
  std::unique_ptr<MeteredEventLog> log_;
  std::unique_ptr<FixedBusinessClock> clock_;
  IntakeOptions intake_options_;
  std::unique_ptr<KafkaKeyClaims> claims_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<IntakeService> service_;
  std::unique_ptr<IntakeAdminService> admin_service_;
  std::unique_ptr<rpc::ServerMetrics> grpc_metrics_;
  std::unique_ptr<rpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::IntakeService::Stub> stub_;
  std::unique_ptr<api::IntakeAdminService::Stub> admin_;
  std::unique_ptr<bus::Consumer> follower_consumer_;
  std::unique_ptr<ClaimFollower> follower_;
  std::thread follower_thread_;
  std::atomic<bool> stop_follower_{false};
};

TEST_F(IntakeTest, EnrollsAMemberAsASealedEventDurableBeforeTheAnswer) {
  const std::string id_number = ResidentId("19900512", false);
  const std::string member = EnrollOk("P1", "k1", id_number);
  EXPECT_EQ(member.size(), 64u);
  // The answer came after the ack: the event is already in the log.
  std::vector<bus::Message> events = ReadTopic(kIntakeTopic, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, member);
  ev::Envelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(events[0].value));
  EXPECT_EQ(envelope.type(), codec::kMemberEnrolled);
  EXPECT_EQ(*bus::FindHeader(events[0].headers, "event-id"), envelope.event_id());
  Result<domain::Input> input = codec::DecodeInput(envelope);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  const auto& enroll = std::get<domain::EnrollInput>(*input);
  EXPECT_EQ(enroll.birth_date.ToString(), "1990-05-12");
  EXPECT_EQ(enroll.gender, domain::Gender::kFemale);
  // Identity and payee data travel only sealed, and open with the member's key.
  ev::MemberEnrolled payload;
  ASSERT_TRUE(payload.ParseFromString(envelope.payload()));
  EXPECT_EQ(payload.bank_card_last4(), "3446");
  EXPECT_EQ(events[0].value.find(id_number), std::string::npos);
  EXPECT_EQ(events[0].value.find("6222020200112233446"), std::string::npos);
  EXPECT_EQ(events[0].value.find("李四"), std::string::npos);
  std::vector<bus::Message> keys = ReadTopic(kKeyTopic, 1);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].key, payload.personal_data().key_id());
  Result<crypto::DataKey> key = crypto::UnwrapKey(
      *crypto::MasterKey::FromBytes(FromHex(kMasterKeyHex)), keys[0].key, keys[0].value);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  crypto::Sealed sealed;
  sealed.key_id = payload.personal_data().key_id();
  std::copy_n(payload.personal_data().nonce().begin(), 12, sealed.nonce.begin());
  sealed.ciphertext = payload.personal_data().ciphertext();
  std::copy_n(payload.personal_data().tag().begin(), 16, sealed.tag.begin());
  Result<std::string> opened = crypto::Open(*key, sealed, "MemberEnrolled.personal_data");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ev::PersonalData personal;
  ASSERT_TRUE(personal.ParseFromString(*opened));
  EXPECT_EQ(personal.resident_id_number(), id_number);
  EXPECT_EQ(personal.name(), "李四");
}

TEST_F(IntakeTest, RefusesBadInputNamingEveryFieldAndRecordsNothing) {
  api::EnrollMemberRequest r = Enrollment("k1", ResidentId("19900512", false));
  r.set_gender(ev::MALE);
  r.set_bank_card_number("123");
  r.set_start_date("2024-13-01");
  api::EnrollMemberResponse response;
  grpc::Status s = stub_->EnrollMember(As("partner:P1").get(), r, &response);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const Status ours = rpc::FromGrpc(s);
  std::vector<std::string> fields;
  for (const FieldViolation& v : ours.violations()) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"gender", "start_date", "bank_card_number"}));
  EXPECT_TRUE(ReadTopic(kIntakeTopic, 0).empty());

  // A bad key does not hide the other bad fields.
  r.set_idempotency_key("");
  s = stub_->EnrollMember(As("partner:P1").get(), r, &response);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  fields.clear();
  const Status enroll_refusal = rpc::FromGrpc(s);
  for (const FieldViolation& v : enroll_refusal.violations()) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"idempotency_key", "gender", "start_date",
                                              "bank_card_number"}));
  api::SubmitClaimRequest claim = Claim("bad key\t", "m1");
  claim.set_amount_fen(-1);
  api::SubmitClaimResponse submitted;
  s = stub_->SubmitClaim(As("partner:P1").get(), claim, &submitted);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const Status claim_refusal = rpc::FromGrpc(s);
  fields.clear();
  for (const FieldViolation& v : claim_refusal.violations()) fields.push_back(v.field);
  ASSERT_GE(fields.size(), 2u);
  EXPECT_EQ(fields[0], "idempotency_key");
  EXPECT_NE(std::find(fields.begin(), fields.end(), "amount_fen"), fields.end());
  // Nothing was recorded under the key either: the corrected request goes through.
  EXPECT_FALSE(EnrollOk("P1", "k1", ResidentId("19900512", false)).empty());
}

TEST_F(IntakeTest, RefusesTextThatIsNotUtf8NamingTheFieldOnEveryMethod) {
  // proto3 refuses to parse a request with such a field: gRPC alone would answer INTERNAL (or
  // UNIMPLEMENTED on the callback API) and name nothing.
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  auto fields = [](const grpc::Status& s) {
    const Status ours = rpc::FromGrpc(s);
    std::vector<std::string> out;
    for (const FieldViolation& v : ours.violations()) out.push_back(v.field);
    return out;
  };
  api::EnrollMemberRequest enroll = Enrollment("k-name", ResidentId("19800101", false));
  enroll.set_name("\xe6\x9d");  // a truncated character
  api::EnrollMemberResponse enrolled;
  grpc::Status s = stub_->EnrollMember(As("partner:P1").get(), enroll, &enrolled);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), std::vector<std::string>{"name"});

  api::SubmitClaimRequest claim = Claim("k-claim", member);
  claim.set_medical_detail("\xff");
  claim.add_documents("\xc0\xaf");  // an overlong '/'
  api::SubmitClaimResponse submitted;
  s = stub_->SubmitClaim(As("partner:P1").get(), claim, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), (std::vector<std::string>{"documents[1]", "medical_detail"}));

  api::AppealClaimRequest appeal;
  appeal.set_idempotency_key("k-appeal");
  appeal.set_claim_id("CL-x");
  appeal.set_reason("\xed\xa0\x80");  // a surrogate
  api::AppealClaimResponse appealed;
  s = stub_->AppealClaim(As("partner:P1").get(), appeal, &appealed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), std::vector<std::string>{"reason"});

  api::GetClaimRequest get;
  get.set_idempotency_key("\x80");
  api::Claim got;
  s = stub_->GetClaim(As("partner:P1").get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), std::vector<std::string>{"idempotency_key"});

  grpc::ClientContext watch_context;
  watch_context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  api::WatchClaimRequest watch;
  watch.set_claim_id("\xfe");
  auto reader = stub_->WatchClaim(&watch_context, watch);
  api::Claim update;
  EXPECT_FALSE(reader->Read(&update));
  s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), std::vector<std::string>{"claim_id"});

  api::EraseMemberRequest erase;
  erase.set_resident_id_number("11010519491231002\xd8");  // Latin-1 for the check character
  api::EraseMemberResponse erased;
  s = admin_->EraseMember(As("operator:ops1").get(), erase, &erased);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(fields(s), std::vector<std::string>{"resident_id_number"});
  // A caller without the operator role learns nothing of its request's content either.
  s = admin_->EraseMember(As("partner:P1").get(), erase, &erased);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();

  // An unauthenticated caller learns nothing of its request's content.
  grpc::ClientContext anonymous;
  s = stub_->SubmitClaim(&anonymous, claim, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(ReadTopic(kIntakeTopic, 1).size(), 1u);  // the enrollment only
}

TEST_F(IntakeTest, AChildsIdNumberIsCheckedAndTravelsOnlyAsItsPseudonym) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  const std::string child = ResidentId("20150601", true, "33");
  auto child_claim = [&](const std::string& key, const std::string& id, const std::string& born) {
    api::SubmitClaimRequest r = Claim(key, member);
    r.set_coverage(ev::CHILD_ACCIDENT);
    r.set_child_id(id);
    r.set_child_birth_date(born);
    r.clear_documents();
    r.add_documents("MEDICAL_RECEIPTS");
    r.add_documents("BIRTH_CERTIFICATE");
    return r;
  };
  api::SubmitClaimResponse first, second;
  ASSERT_TRUE(
      stub_->SubmitClaim(As("partner:P1").get(), child_claim("k1", child, "2015-06-01"), &first)
          .ok());
  ASSERT_TRUE(
      stub_->SubmitClaim(As("partner:P1").get(), child_claim("k2", child, "2015-06-01"), &second)
          .ok());
  std::set<std::string> child_ids;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 3)) {
    EXPECT_EQ(m.value.find(child), std::string::npos);
    ev::Envelope e;
    ev::ClaimSubmitted c;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.type() != codec::kClaimSubmitted) continue;
    ASSERT_TRUE(c.ParseFromString(e.payload()));
    child_ids.insert(c.child_id());
  }
  ASSERT_EQ(child_ids.size(), 1u);  // one child: the per-child limit counts both claims
  EXPECT_EQ(child_ids.begin()->rfind("child-", 0), 0u);
  EXPECT_EQ(child_ids.begin()->size(), 6u + 64u);

  // A number that is not one, or not this child's birth date: refused, naming the field.
  api::SubmitClaimResponse refused;
  std::string bad_check = child;
  bad_check.back() = bad_check.back() == '0' ? '1' : '0';
  grpc::Status s = stub_->SubmitClaim(As("partner:P1").get(),
                                      child_claim("k3", bad_check, "2015-06-01"), &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rpc::FromGrpc(s).violations().at(0).field, "child_id");
  s = stub_->SubmitClaim(As("partner:P1").get(), child_claim("k4", child, "2016-06-01"), &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rpc::FromGrpc(s).violations().at(0).field, "child_birth_date");
  // Any other child reference travels as given.
  ASSERT_TRUE(stub_
                  ->SubmitClaim(As("partner:P1").get(),
                                child_claim("k5", "partner-child-7", "2015-06-01"), &refused)
                  .ok());
}

TEST_F(IntakeTest, SameKeySameBodyAnswersTheSameAndPublishesOnce) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  const api::SubmitClaimRequest claim = Claim("claim-1", member);
  // Eight racing submissions and one late repeat: one claim, one event.
  std::vector<api::SubmitClaimResponse> answers(8);
  std::vector<grpc::Status> statuses(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = stub_->SubmitClaim(As("partner:P1").get(), claim, &answers[i]); });
  }
  for (std::thread& t : threads) t.join();
  api::SubmitClaimResponse late;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), claim, &late).ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(answers[i].SerializeAsString(), late.SerializeAsString());
  }
  const std::vector<bus::Message> events = ReadTopic(kIntakeTopic, 2);
  ASSERT_EQ(events.size(), 2u);  // the enrollment and one claim
  ev::Envelope e;
  ev::ClaimSubmitted submitted;
  ASSERT_TRUE(e.ParseFromString(events[1].value) && submitted.ParseFromString(e.payload()));
  EXPECT_EQ(submitted.claim_id(), late.claim_id());
  EXPECT_EQ(e.event_id(), late.event_id());

  api::SubmitClaimRequest different = claim;
  different.set_amount_fen(70000);
  api::SubmitClaimResponse refused;
  grpc::Status s = stub_->SubmitClaim(As("partner:P1").get(), different, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(s.error_message().find("'claim-1'"), std::string::npos) << s.error_message();
}

// Two replicas that have not yet read each other's events (their followers are not running)
// take calls under the same keys: the calls log decides. A different request under a key held
// is refused with ALREADY_EXISTS whether it comes after the first or races it, and only the
// holder's event is published; the same request on both is answered the same on both.
// The calls log read by two replicas: both name the same holder for every key, whether a
// replica read the other's claims before appending its own (read back) or not, and a replica
// reopened on its store goes on from where it was.
TEST_F(IntakeTest, KeyClaimsNameTheSameFirstCallOnEveryReplicaAndAfterARestart) {
  Replica other = NewReplica();
  ASSERT_NE(other.store, nullptr);
  std::unique_ptr<KafkaKeyClaims> a = NewClaims(*store_);
  std::unique_ptr<KafkaKeyClaims> b = NewClaims(*other.store);
  auto holder = [](KafkaKeyClaims& claims, const std::string& key, const std::string& mac) {
    KafkaKeyClaims::Claim claim;
    claim.record_key = Join("P1", key);
    claim.call.set_method("SubmitClaim");
    claim.call.set_request_sha256(mac);
    auto out = claims.ClaimAll({claim}, 10s);
    EXPECT_TRUE(out[0].ok()) << out[0].status().ToString();
    return out[0].ok() ? out[0]->request_sha256() : std::string("error");
  };
  EXPECT_EQ(holder(*a, "k1", "mac-a"), "mac-a");
  EXPECT_EQ(holder(*b, "k1", "mac-b"), "mac-a");  // b had not read a's claim: read back
  EXPECT_EQ(holder(*a, "k1", "mac-c"), "mac-a");  // b appended meanwhile: read back
  EXPECT_EQ(holder(*a, "k2", "mac-a"), "mac-a");
  EXPECT_EQ(holder(*a, "k2", "mac-b"), "mac-a");  // a's own earlier claim holds the key
  EXPECT_EQ(holder(*b, "k2", "mac-b"), "mac-a");
  // Several claims at once, one key twice: the first of them holds it.
  std::vector<KafkaKeyClaims::Claim> batch;
  for (const char* mac : {"mac-x", "mac-y"}) {
    KafkaKeyClaims::Claim c;
    c.record_key = Join("P1", "k3");
    c.call.set_method("SubmitClaim");
    c.call.set_request_sha256(mac);
    batch.push_back(c);
  }
  for (const auto& r : b->ClaimAll(batch, 10s)) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->request_sha256(), "mac-x");
  }
  EXPECT_EQ(holder(*a, "k3", "mac-y"), "mac-x");

  // a again, over the same store: it reads on from its stored offset.
  a.reset();
  a = NewClaims(*store_);
  EXPECT_EQ(holder(*a, "k3", "mac-z"), "mac-x");
  EXPECT_EQ(holder(*a, "k4", "mac-a"), "mac-a");
  EXPECT_EQ(holder(*b, "k4", "mac-b"), "mac-a");
  EXPECT_LE(a->calls_read(), 6u);  // only what came after the restart, not the whole log again

  // A replica that claims nothing still reads what the others append.
  std::atomic<bool> stop{false};
  std::thread follow([&] { EXPECT_TRUE(b->Follow(stop, 20ms).ok()); });
  EXPECT_EQ(holder(*a, "k5", "mac-a"), "mac-a");
  bool learned = false;
  for (int i = 0; i < 500 && !learned; ++i) {
    learned = other.store->Get(kKeyHoldersCf, Join("P1", "k5"))->has_value();
    if (!learned) std::this_thread::sleep_for(20ms);
  }
  stop = true;
  follow.join();
  EXPECT_TRUE(learned);
}

TEST_F(IntakeTest, TwoReplicasTakingOneKeyAtOnceLetOnlyTheFirstRequestThrough) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  Replica other = NewReplica();
  ASSERT_NE(other.store, nullptr);
  std::unique_ptr<KeyVault> other_vault = NewVault(*other.store);
  ClaimFollower other_follower(*other.store, *other.consumer);
  ASSERT_TRUE(other_follower.Start(10s).ok());
  const Status caught_up = other_follower.CatchUp(10s);  // it knows the member, then stops
  ASSERT_TRUE(caught_up.ok()) << caught_up.ToString();
  std::unique_ptr<KafkaKeyClaims> other_claims = NewClaims(*other.store);
  Intake replica(intake_options_, *other.store, *log_, *other_vault, *other_claims, *clock_);
  auto claim = [&](const std::string& key, int64_t amount) {
    api::SubmitClaimRequest r = Claim(key, member);
    r.set_amount_fen(amount);
    return r;
  };

  // One after the other: the second replica has not read the first one's event.
  Result<api::SubmitClaimResponse> first = intake_->SubmitClaim("P1", claim("after", 60000));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<api::SubmitClaimResponse> after = replica.SubmitClaim("P1", claim("after", 70000));
  ASSERT_EQ(after.status().code(), StatusCode::kAlreadyExists) << after.status().ToString();
  EXPECT_NE(after.status().message().find("'after'"), std::string::npos);

  // At once, twelve keys: a different amount on each replica, or the same request on both.
  constexpr int kKeys = 12;
  std::vector<Result<api::SubmitClaimResponse>> here(kKeys, Status(StatusCode::kInternal, "")),
      there(kKeys, Status(StatusCode::kInternal, ""));
  std::vector<std::thread> calls;
  std::atomic<int> ready{0};
  auto race = [&](Intake& intake, int k, int64_t amount,
                  std::vector<Result<api::SubmitClaimResponse>>& out) {
    ++ready;
    while (ready.load() < 2 * kKeys) std::this_thread::yield();
    out[k] = intake.SubmitClaim("P1", claim("race-" + std::to_string(k), amount),
                                std::chrono::steady_clock::now() + 20s);
  };
  for (int k = 0; k < kKeys; ++k) {
    const bool same = k % 3 == 0;
    calls.emplace_back(race, std::ref(*intake_), k, 60000 + k, std::ref(here));
    calls.emplace_back(race, std::ref(replica), k, same ? 60000 + k : 90000 + k, std::ref(there));
  }
  for (std::thread& t : calls) t.join();

  std::map<std::string, int64_t> accepted;  // claim id -> amount accepted
  for (int k = 0; k < kKeys; ++k) {
    SCOPED_TRACE("race-" + std::to_string(k));
    if (k % 3 == 0) {
      ASSERT_TRUE(here[k].ok()) << here[k].status().ToString();
      ASSERT_TRUE(there[k].ok()) << there[k].status().ToString();
      EXPECT_EQ(here[k]->SerializeAsString(), there[k]->SerializeAsString());
      accepted[here[k]->claim_id()] = 60000 + k;
      continue;
    }
    ASSERT_NE(here[k].ok(), there[k].ok())
        << here[k].status().ToString() << " / " << there[k].status().ToString();
    const Status& refused = here[k].ok() ? there[k].status() : here[k].status();
    EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists) << refused.ToString();
    accepted[(here[k].ok() ? here[k] : there[k])->claim_id()] =
        here[k].ok() ? 60000 + k : 90000 + k;
  }
  accepted[first->claim_id()] = 60000;

  // Published: for each key only the accepted request (the same request on both replicas may
  // appear twice here, under one event id, which consumers drop as a repeat: with the followers
  // stopped, the replica that claimed second never sees the first one's event, and publishes
  // after waiting half its budget; TheSameRequestOnTwoReplicasAtOnceIsPublishedOnce has them
  // running).
  std::map<std::string, std::set<int64_t>> published;
  std::map<std::string, std::set<std::string>> event_ids;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 1 + accepted.size())) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.type() != codec::kClaimSubmitted) continue;
    ev::ClaimSubmitted c;
    ASSERT_TRUE(c.ParseFromString(e.payload()));
    published[c.claim_id()].insert(c.amount_fen());
    event_ids[c.claim_id()].insert(e.event_id());
  }
  ASSERT_EQ(published.size(), accepted.size());
  for (const auto& [claim_id, amount] : accepted) {
    EXPECT_EQ(published[claim_id], std::set<int64_t>{amount}) << claim_id;
    EXPECT_EQ(event_ids[claim_id].size(), 1u) << claim_id;
  }
}

TEST_F(IntakeTest, TheSameRequestOnTwoReplicasAtOnceIsPublishedOnce) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  StartFollower();
  std::unique_ptr<FollowingReplica> other = StartFollowingReplica();
  ASSERT_NE(other, nullptr);
  Intake& replica = *other->intake;

  // Eight keys, each sent with the same request to both replicas at once (a partner retrying
  // on another connection).
  constexpr int kKeys = 8;
  std::vector<Result<api::SubmitClaimResponse>> here(kKeys, Status(StatusCode::kInternal, "")),
      there(kKeys, Status(StatusCode::kInternal, ""));
  std::vector<std::thread> calls;
  std::atomic<int> ready{0};
  auto race = [&](Intake& intake, int k, std::vector<Result<api::SubmitClaimResponse>>& out) {
    ++ready;
    while (ready.load() < 2 * kKeys) std::this_thread::yield();
    out[k] = intake.SubmitClaim("P1", Claim("twice-" + std::to_string(k), member),
                                std::chrono::steady_clock::now() + 20s);
  };
  for (int k = 0; k < kKeys; ++k) {
    calls.emplace_back(race, std::ref(*intake_), k, std::ref(here));
    calls.emplace_back(race, std::ref(replica), k, std::ref(there));
  }
  for (std::thread& t : calls) t.join();
  other.reset();  // its follower stops

  std::map<std::string, int> published;  // claim id -> events in the log
  for (int k = 0; k < kKeys; ++k) {
    SCOPED_TRACE("twice-" + std::to_string(k));
    ASSERT_TRUE(here[k].ok()) << here[k].status().ToString();
    ASSERT_TRUE(there[k].ok()) << there[k].status().ToString();
    EXPECT_EQ(here[k]->SerializeAsString(), there[k]->SerializeAsString());
    published[here[k]->claim_id()] = 0;
  }
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 1 + kKeys)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.type() != codec::kClaimSubmitted) continue;
    ev::ClaimSubmitted c;
    ASSERT_TRUE(c.ParseFromString(e.payload()));
    ++published[c.claim_id()];
  }
  EXPECT_EQ(published.size(), static_cast<size_t>(kKeys));
  for (const auto& [claim_id, events] : published) EXPECT_EQ(events, 1) << claim_id;
}

TEST_F(IntakeTest, TheSameBulkWindowOnTwoReplicasAtOnceEnrollsEachMemberOnce) {
  StartFollower();
  std::unique_ptr<FollowingReplica> other = StartFollowingReplica();
  ASSERT_NE(other, nullptr);
  Intake& replica = *other->intake;

  // One window of twelve enrollments, sent to both replicas at once.
  constexpr int kMembers = 12;
  std::vector<api::EnrollMemberRequest> window;
  for (int i = 0; i < kMembers; ++i) {
    window.push_back(Enrollment("bulk-" + std::to_string(i),
                                ResidentId("19900512", false, std::to_string(10 + i))));
  }
  std::vector<Result<api::EnrollMemberResponse>> here, there;
  std::atomic<int> ready{0};
  auto enroll = [&](Intake& intake, std::vector<Result<api::EnrollMemberResponse>>& out) {
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();
    out = intake.EnrollAll("P1", window, std::chrono::steady_clock::now() + 20s);
  };
  std::thread a(enroll, std::ref(*intake_), std::ref(here));
  std::thread b(enroll, std::ref(replica), std::ref(there));
  a.join();
  b.join();
  other.reset();  // its follower stops

  ASSERT_EQ(here.size(), static_cast<size_t>(kMembers));
  ASSERT_EQ(there.size(), static_cast<size_t>(kMembers));
  std::map<std::string, int> enrolled;  // member id -> MemberEnrolled events in the log
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("bulk-" + std::to_string(i));
    ASSERT_TRUE(here[i].ok()) << here[i].status().ToString();
    ASSERT_TRUE(there[i].ok()) << there[i].status().ToString();
    EXPECT_EQ(here[i]->SerializeAsString(), there[i]->SerializeAsString());
    enrolled[here[i]->member_id()] = 0;
  }
  for (const bus::Message& m : ReadTopic(kIntakeTopic, kMembers)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.type() == codec::kMemberEnrolled) ++enrolled[e.member_id()];
  }
  EXPECT_EQ(enrolled.size(), static_cast<size_t>(kMembers));
  for (const auto& [member, events] : enrolled) EXPECT_EQ(events, 1) << member;
}
TEST_F(IntakeTest, ARetryOnAnotherReplicaAnswersTheSameAndPublishesNothing) {
  StartFollower();
  // An enrollment and a claim on this replica.
  const api::EnrollMemberRequest enrollment = Enrollment("enroll", ResidentId("19900512", false));
  api::EnrollMemberResponse enrolled;
  ASSERT_TRUE(stub_->EnrollMember(As("partner:P1").get(), enrollment, &enrolled).ok());
  const api::SubmitClaimRequest claim = Claim("claim-1", enrolled.member_id());
  api::SubmitClaimResponse submitted;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), claim, &submitted).ok());

  // A second replica starts afterwards: its own store, vault, follower and Intake, the same
  // cluster and keys. Its follower catches up before it serves, as main.cc has it do.
  Replica other = NewReplica();
  ASSERT_NE(other.store, nullptr);
  std::unique_ptr<store::StateStore>& replica_store = other.store;
  std::unique_ptr<KeyVault> replica_vault = NewVault(*replica_store);
  ClaimFollower replica_follower(*replica_store, *other.consumer);
  ASSERT_TRUE(replica_follower.Start(10s).ok());
  const Status caught_up = replica_follower.CatchUp(10s);
  ASSERT_TRUE(caught_up.ok()) << caught_up.ToString();
  std::unique_ptr<KafkaKeyClaims> replica_claims = NewClaims(*replica_store);
  Intake replica(intake_options_, *replica_store, *log_, *replica_vault, *replica_claims, *clock_);
  const Deadline deadline = std::chrono::steady_clock::now() + 20s;
  auto learned = [&](const std::string& key) {
    Result<std::optional<std::string>> found = replica_store->Get(kIdempotencyCf, Join("P1", key));
    return found.ok() && found->has_value();
  };
  ASSERT_TRUE(learned("claim-1") && learned("enroll"));

  // The partner retries both on the other replica: the same answers, no new event.
  Result<api::EnrollMemberResponse> enrolled_again = replica.Enroll("P1", enrollment, deadline);
  ASSERT_TRUE(enrolled_again.ok()) << enrolled_again.status().ToString();
  EXPECT_EQ(enrolled_again->SerializeAsString(), enrolled.SerializeAsString());
  Result<api::SubmitClaimResponse> again = replica.SubmitClaim("P1", claim, deadline);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->SerializeAsString(), submitted.SerializeAsString());
  // A different request under the key, and the key for another method, are refused there too.
  api::SubmitClaimRequest different = claim;
  different.set_amount_fen(70000);
  Result<api::SubmitClaimResponse> refused = replica.SubmitClaim("P1", different, deadline);
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("'claim-1'"), std::string::npos);
  api::SubmitClaimRequest other_method = Claim("enroll", enrolled.member_id());
  Result<api::SubmitClaimResponse> misused = replica.SubmitClaim("P1", other_method, deadline);
  EXPECT_EQ(misused.status().code(), StatusCode::kAlreadyExists) << misused.status().ToString();
  // Nothing new was published: the enrollment and the claim only.
  EXPECT_EQ(ReadTopic(kIntakeTopic, 2).size(), 2u);

  // The events carry the call, but never the request itself.
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 2)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    EXPECT_EQ(e.intake_call().partner_id(), "P1");
    EXPECT_EQ(e.intake_call().request_mac().size(), 32u);
    EXPECT_TRUE(e.intake_call().idempotency_key() == "enroll" ||
                e.intake_call().idempotency_key() == "claim-1");
  }
}

TEST_F(IntakeTest, AnswersUnavailableWhenTheClusterIsDownAndTheRetryRecordsOnce) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  for (int b = 1; b <= 3; ++b) {
    ASSERT_EQ(*broker_->Control("broker-down " + std::to_string(b)),
              "OK broker " + std::to_string(b) + " down");
  }
  api::SubmitClaimResponse response;
  grpc::Status s = stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  for (int b = 1; b <= 3; ++b) (void)broker_->Control("broker-up " + std::to_string(b));
  grpc::Status retry;
  for (int attempt = 0; attempt < 20; ++attempt) {
    retry = stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &response);
    if (retry.ok()) break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  // However many times the bytes were sent, it is one event: the same id and the same bytes.
  std::map<std::string, std::string> by_id;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 2)) {
    auto [it, inserted] = by_id.emplace(*bus::FindHeader(m.headers, "event-id"), m.value);
    if (!inserted) {
      EXPECT_EQ(it->second, m.value);
    }
  }
  EXPECT_EQ(by_id.size(), 2u);
}

TEST_F(IntakeTest, PartnersSeeAndActOnTheirOwnMembersAndClaimsOnly) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  api::SubmitClaimResponse r2;
  EXPECT_EQ(stub_->SubmitClaim(As("partner:P2").get(), Claim("c1", member), &r2).error_code(),
            grpc::StatusCode::NOT_FOUND);
  api::GetClaimRequest get;
  get.set_claim_id(claim.claim_id());
  api::Claim seen;
  EXPECT_EQ(stub_->GetClaim(As("partner:P2").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  api::AppealClaimRequest appeal;
  appeal.set_idempotency_key("a1");
  appeal.set_claim_id(claim.claim_id());
  api::AppealClaimResponse appealed;
  EXPECT_EQ(stub_->AppealClaim(As("partner:P2").get(), appeal, &appealed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->GetClaim(As("").get(), get, &seen).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->GetClaim(As("reviewer:r1").get(), get, &seen).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->GetClaim(As("partner:P1").get(), get, &seen).ok());
  EXPECT_EQ(seen.status(), api::RECEIVED);
  // By the submission's idempotency key, too.
  api::GetClaimRequest by_key;
  by_key.set_idempotency_key("c1");
  ASSERT_TRUE(stub_->GetClaim(As("partner:P1").get(), by_key, &seen).ok());
  EXPECT_EQ(seen.claim_id(), claim.claim_id());

  // Another partner's idempotency key names nothing for P2; P2 may use the same key for its own.
  EXPECT_EQ(stub_->GetClaim(As("partner:P2").get(), by_key, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::string p2_member = EnrollOk("P2", "enroll", ResidentId("19850301", false));
  api::SubmitClaimRequest p2_claim = Claim("c1", p2_member);
  // Server-owned fields set by the caller change nothing: the request has no such fields, so a
  // client can only send them as fields unknown to it (here a status PAID and a payable amount).
  google::protobuf::UnknownFieldSet* owned =
      p2_claim.GetReflection()->MutableUnknownFields(&p2_claim);
  owned->AddVarint(100, api::PAID);
  owned->AddVarint(101, 999'999);
  api::SubmitClaimResponse p2_submitted;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P2").get(), p2_claim, &p2_submitted).ok());
  EXPECT_NE(p2_submitted.claim_id(), claim.claim_id());
  ASSERT_TRUE(stub_->GetClaim(As("partner:P2").get(), by_key, &seen).ok());
  EXPECT_EQ(seen.claim_id(), p2_submitted.claim_id());
  EXPECT_EQ(seen.status(), api::RECEIVED);
  EXPECT_EQ(seen.payable_fen(), 0);
  EXPECT_EQ(seen.amount_fen(), Claim("c1", p2_member).amount_fen());

  // An auditor reads every partner's claims and changes nothing; operators and reviewers read
  // no claims here.
  get.set_claim_id(p2_submitted.claim_id());
  ASSERT_TRUE(stub_->GetClaim(As("auditor:a1").get(), get, &seen).ok());
  EXPECT_EQ(seen.member_id(), p2_member);
  EXPECT_EQ(stub_->GetClaim(As("auditor:a1").get(), by_key, &seen).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // a key names a claim only with its partner
  std::set<std::string> listed;
  api::ListClaimsRequest list;
  list.set_page_size(1);
  for (int page = 0; page < 5; ++page) {
    api::ListClaimsResponse response;
    ASSERT_TRUE(stub_->ListClaims(As("auditor:a1").get(), list, &response).ok());
    for (const api::Claim& c : response.claims()) listed.insert(c.claim_id());
    if (response.next_page_token().empty()) break;
    list.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(listed, (std::set<std::string>{claim.claim_id(), p2_submitted.claim_id()}));
  list.set_page_token("no-slash");
  api::ListClaimsResponse refused_list;
  EXPECT_EQ(stub_->ListClaims(As("auditor:a1").get(), list, &refused_list).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  api::SubmitClaimResponse by_auditor;
  EXPECT_EQ(
      stub_->SubmitClaim(As("auditor:a1").get(), Claim("c9", member), &by_auditor).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->AppealClaim(As("auditor:a1").get(), appeal, &appealed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetClaim(As("operator:o1").get(), get, &seen).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  api::ListClaimsResponse by_reviewer;
  EXPECT_EQ(stub_->ListClaims(As("reviewer:r1").get(), api::ListClaimsRequest(), &by_reviewer)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(IntakeTest, TerminatesAMemberOnceForItsOwnPartnerOnly) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::TerminateMemberRequest t;
  t.set_idempotency_key("t1");
  t.set_member_id(member);
  t.set_date("2024-05-31");
  api::TerminateMemberResponse first, again;
  ASSERT_TRUE(stub_->TerminateMember(As("partner:P1").get(), t, &first).ok());
  ASSERT_TRUE(stub_->TerminateMember(As("partner:P1").get(), t, &again).ok());
  EXPECT_EQ(again.event_id(), first.event_id());  // a retry: the same answer, published once

  api::TerminateMemberResponse refused;
  EXPECT_EQ(stub_->TerminateMember(As("partner:P2").get(), t, &refused).error_code(),
            grpc::StatusCode::NOT_FOUND);  // not P2's member (P2's own key "t1" stays free)
  api::TerminateMemberRequest other = t;
  other.set_date("2024-06-30");
  grpc::Status s = stub_->TerminateMember(As("partner:P1").get(), other, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  other.set_idempotency_key("t2");
  other.set_date("2024-02-30");
  other.set_member_id("");
  s = stub_->TerminateMember(As("partner:P1").get(), other, &refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const Status invalid = rpc::FromGrpc(s);
  std::vector<std::string> fields;
  for (const FieldViolation& v : invalid.violations()) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"member_id", "date"}));

  // One MemberTerminated, keyed by the member, naming the partner and the last covered day.
  int terminations = 0;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 2)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.type() != codec::kMemberTerminated) continue;
    ++terminations;
    ev::MemberTerminated terminated;
    ASSERT_TRUE(terminated.ParseFromString(e.payload()));
    EXPECT_EQ(m.key, member);
    EXPECT_EQ(e.event_id(), first.event_id());
    EXPECT_EQ(terminated.member_id(), member);
    EXPECT_EQ(terminated.partner_id(), "P1");
    EXPECT_EQ(terminated.date(), "2024-05-31");
  }
  EXPECT_EQ(terminations, 1);
}

TEST_F(IntakeTest, ADecisionReadBeforeItsSubmissionLeavesTheClaimReadableByItsPartner) {
  // The decisions topic and intake's are read independently: the decision may come first.
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  ev::ClaimDecided decided = Approval(claim.claim_id(), member);
  bus::Message message;
  message.topic = kDecisionsTopic;
  message.key = member;
  message.value = codec::Wrap(codec::kClaimDecided, decided).SerializeAsString();
  std::unique_ptr<bus::Consumer> consumer = FollowerConsumer();
  ClaimFollower follower(*store_, *consumer);
  store::WriteBatch batch;
  ASSERT_TRUE(follower.Apply(message, batch).ok());
  ASSERT_TRUE(store_->Write(batch).ok());

  api::GetClaimRequest get;
  get.set_claim_id(claim.claim_id());
  api::Claim seen;
  const grpc::Status s = stub_->GetClaim(As("partner:P1").get(), get, &seen);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(seen.status(), api::APPROVED);
  EXPECT_EQ(seen.payable_fen(), 45000);
  EXPECT_EQ(seen.amount_fen(), 60000);  // from the submission
  EXPECT_EQ(stub_->GetClaim(As("partner:P2").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  api::ListClaimsResponse listed;
  ASSERT_TRUE(stub_->ListClaims(As("partner:P1").get(), api::ListClaimsRequest(), &listed).ok());
  ASSERT_EQ(listed.claims_size(), 1);
  EXPECT_EQ(listed.claims(0).status(), api::APPROVED);
}

TEST_F(IntakeTest, FollowsDecisionsAndPaymentsUntilPaid) {
  StartFollower();
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());

  grpc::ClientContext watch_context;
  watch_context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  watch_context.set_deadline(std::chrono::system_clock::now() + 30s);
  api::WatchClaimRequest watch;
  watch.set_claim_id(claim.claim_id());
  std::unique_ptr<grpc::ClientReader<api::Claim>> reader = stub_->WatchClaim(&watch_context, watch);
  api::Claim update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), api::RECEIVED);

  // Adjudication approves; payout instructs and settles (published here by hand).
  ev::ClaimDecided decided = Approval(claim.claim_id(), member);
  decided.add_trace("formula floor((60,000 - 10,000) * 90 / 100) = 45,000");
  ev::PaymentInstructed instructed;
  instructed.set_payment_id("PAY-1");
  instructed.set_claim_id(claim.claim_id());
  instructed.set_kind(ev::BENEFIT);
  instructed.set_amount_fen(45000);
  ev::PaymentSettled settled;
  settled.set_payment_id("PAY-1");
  settled.set_claim_id(claim.claim_id());
  settled.set_kind(ev::BENEFIT);
  settled.set_amount_fen(45000);
  auto record = [&](const char* topic, const char* type, const google::protobuf::Message& m) {
    bus::OutgoingMessage out;
    out.topic = topic;
    out.key = member;
    out.value = codec::Wrap(type, m).SerializeAsString();
    return out;
  };
  // The decision twice, as a restarted adjudication may publish it: applied once.
  std::vector<bus::OutgoingMessage> out = {
      record(kDecisionsTopic, codec::kClaimDecided, decided),
      record(kDecisionsTopic, codec::kClaimDecided, decided),
      record(kPaymentsTopic, "mutualaid.events.v1.PaymentInstructed", instructed),
      record(kPaymentsTopic, "mutualaid.events.v1.PaymentSettled", settled)};
  for (const bus::Delivery& d : producer_->ProduceAll(out, 10s)) ASSERT_TRUE(d.status.ok());

  std::vector<api::ClaimStatus> seen = {update.status()};
  while (reader->Read(&update)) seen.push_back(update.status());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(seen.back(), api::PAID);
  EXPECT_EQ(update.payable_fen(), 45000);
  ASSERT_EQ(update.payments_size(), 1);
  EXPECT_EQ(update.payments(0).status(), "SETTLED");
  EXPECT_EQ(update.trace_size(), 1);
  EXPECT_EQ(duplicates_->ForTopic(kDecisionsTopic).value(), 1);  // the decision published twice

  api::ListClaimsRequest list;
  list.set_status(api::PAID);
  api::ListClaimsResponse listed;
  ASSERT_TRUE(stub_->ListClaims(As("partner:P1").get(), list, &listed).ok());
  ASSERT_EQ(listed.claims_size(), 1);
  EXPECT_EQ(listed.claims(0).claim_id(), claim.claim_id());
}

TEST_F(IntakeTest, AFailedPaymentThatIsReissuedAndSettledLeavesTheClaimPaid) {
  StartFollower();
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  auto publish = [&](const char* topic, const char* type, const google::protobuf::Message& m) {
    bus::OutgoingMessage out;
    out.topic = topic;
    out.key = member;
    out.value = codec::Wrap(type, m).SerializeAsString();
    for (const bus::Delivery& d : producer_->ProduceAll({out}, 10s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  };
  // The claim as GetClaim shows it once its status is `wanted` (or after 10 s).
  auto await = [&](api::ClaimStatus wanted) {
    api::GetClaimRequest get;
    get.set_claim_id(claim.claim_id());
    api::Claim got;
    for (int i = 0; i < 500; ++i) {
      got.Clear();
      if (stub_->GetClaim(As("partner:P1").get(), get, &got).ok() && got.status() == wanted) break;
      std::this_thread::sleep_for(20ms);
    }
    return got;
  };
  ev::ClaimDecided decided = Approval(claim.claim_id(), member);
  publish(kDecisionsTopic, codec::kClaimDecided, decided);
  auto payment = [&](const char* id, auto message) {
    message.set_payment_id(id);
    message.set_claim_id(claim.claim_id());
    message.set_kind(ev::BENEFIT);
    message.set_amount_fen(45000);
    return message;
  };
  publish(kPaymentsTopic, "mutualaid.events.v1.PaymentInstructed",
          payment("PAY-1", ev::PaymentInstructed()));
  ev::PaymentFailed failed = payment("PAY-1", ev::PaymentFailed());
  failed.set_reason_code("AC04");
  publish(kPaymentsTopic, "mutualaid.events.v1.PaymentFailed", failed);
  EXPECT_EQ(await(api::PAYMENT_FAILED).status(), api::PAYMENT_FAILED);

  // Payout re-issues it (an operator corrected the card): in flight again, then paid.
  ev::PaymentInstructed reissued = payment("PAY-2", ev::PaymentInstructed());
  reissued.set_replaces_payment_id("PAY-1");
  reissued.set_issue(2);
  publish(kPaymentsTopic, "mutualaid.events.v1.PaymentInstructed", reissued);
  EXPECT_EQ(await(api::APPROVED).status(), api::APPROVED);
  publish(kPaymentsTopic, "mutualaid.events.v1.PaymentSettled",
          payment("PAY-2", ev::PaymentSettled()));
  const api::Claim paid = await(api::PAID);
  EXPECT_EQ(paid.status(), api::PAID);
  ASSERT_EQ(paid.payments_size(), 2);
  EXPECT_EQ(paid.payments(0).payment_id(), "PAY-1");
  EXPECT_EQ(paid.payments(0).status(), "FAILED");
  EXPECT_EQ(paid.payments(0).reason(), "AC04");
  EXPECT_EQ(paid.payments(0).replaced_by(), "PAY-2");
  EXPECT_EQ(paid.payments(1).status(), "SETTLED");
  EXPECT_TRUE(paid.payments(1).replaced_by().empty());
}

TEST_F(IntakeTest, AWatchEndsAtADenialWithTheDateTheAppealWindowRunsFrom) {
  StartFollower();
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  ev::ClaimDecided denied;
  denied.set_claim_id(claim.claim_id());
  denied.set_member_id(member);
  denied.set_outcome(ev::DENIED);
  denied.add_reasons(ev::REVIEW_DENIED);
  denied.set_revision(2);
  denied.set_decided_on("2024-05-28");
  bus::OutgoingMessage out;
  out.topic = kDecisionsTopic;
  out.key = member;
  out.value = codec::Wrap(codec::kClaimDecided, denied).SerializeAsString();
  ASSERT_TRUE(producer_->ProduceAll({out}, 10s)[0].status.ok());

  grpc::ClientContext watch_context;
  watch_context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  watch_context.set_deadline(std::chrono::system_clock::now() + 30s);
  api::WatchClaimRequest watch;
  watch.set_claim_id(claim.claim_id());
  std::unique_ptr<grpc::ClientReader<api::Claim>> reader = stub_->WatchClaim(&watch_context, watch);
  api::Claim update;
  int updates = 0;
  while (reader->Read(&update)) ++updates;
  EXPECT_TRUE(reader->Finish().ok());  // ended by the server, well before the deadline
  ASSERT_GE(updates, 1);
  EXPECT_EQ(update.status(), api::DENIED);
  EXPECT_EQ(update.decided_on(), "2024-05-28");
  EXPECT_EQ(update.revision(), 2u);
}

TEST_F(IntakeTest, AnAppealsReasonIsRecordedSealedUnderTheMembersKey) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  const std::string reason = "住院期间收入中断，请复核";
  api::AppealClaimRequest appeal;
  appeal.set_idempotency_key("a1");
  appeal.set_claim_id(claim.claim_id());
  appeal.set_reason(reason);
  api::AppealClaimResponse appealed;
  ASSERT_TRUE(stub_->AppealClaim(As("partner:P1").get(), appeal, &appealed).ok());

  ev::ClaimAppealed event;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 3)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    EXPECT_EQ(m.value.find(reason), std::string::npos);
    if (e.event_id() == appealed.event_id()) {
      ASSERT_TRUE(event.ParseFromString(e.payload()));
    }
  }
  ASSERT_EQ(event.claim_id(), claim.claim_id());
  ASSERT_FALSE(event.reason().key_id().empty());
  EXPECT_EQ(MemberOfKeyId(event.reason().key_id()), member);
  // The member's key (from the key topic, unwrapped with the master key) opens it.
  bus::ConsumerOptions co;
  co.bootstrap_servers = broker_->bootstrap_servers();
  const int32_t key_partitions =
      *std::move(bus::Consumer::Create(co)).value()->PartitionCount(kKeyTopic, 10s);
  const auto latest = LatestByKey(broker_->bootstrap_servers(), kKeyTopic, key_partitions);
  const auto wrapped = latest.find(event.reason().key_id());
  ASSERT_NE(wrapped, latest.end());
  ASSERT_TRUE(wrapped->second.has_value());
  const crypto::MasterKey master = *crypto::MasterKey::FromBytes(FromHex(kMasterKeyHex));
  Result<crypto::DataKey> key = crypto::UnwrapKey(master, wrapped->first, *wrapped->second);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  Result<std::string> opened = crypto::Open(*key, ToSealed(event.reason()), "ClaimAppealed.reason");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, reason);
}

TEST_F(IntakeTest, ListsClaimsPageByPage) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  std::set<std::string> submitted;
  for (int i = 0; i < 7; ++i) {
    api::SubmitClaimRequest c = Claim("c" + std::to_string(i), member);
    c.set_incident_date("2024-05-" + std::to_string(10 + i));
    api::SubmitClaimResponse r;
    ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), c, &r).ok());
    submitted.insert(r.claim_id());
  }
  std::set<std::string> listed;
  api::ListClaimsRequest list;
  list.set_page_size(3);
  for (int page = 0; page < 10; ++page) {
    api::ListClaimsResponse r;
    ASSERT_TRUE(stub_->ListClaims(As("partner:P1").get(), list, &r).ok());
    for (const api::Claim& c : r.claims()) EXPECT_TRUE(listed.insert(c.claim_id()).second);
    if (r.next_page_token().empty()) break;
    list.set_page_token(r.next_page_token());
  }
  EXPECT_EQ(listed, submitted);
  api::ListClaimsResponse other;
  ASSERT_TRUE(stub_->ListClaims(As("partner:P2").get(), api::ListClaimsRequest(), &other).ok());
  EXPECT_EQ(other.claims_size(), 0);
}

TEST_F(IntakeTest, BulkEnrollAcceptsGoodRecordsAndRefusesBadOnesWithTheirViolations) {
  // The first key is already taken by another enrollment.
  EnrollOk("P1", "bulk-0", ResidentId("19700101", false, "99"));
  grpc::ClientContext context;
  context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  api::BulkEnrollResponse response;
  auto writer = stub_->BulkEnroll(&context, &response);
  for (int i = 0; i < 20; ++i) {
    api::EnrollMemberRequest r = Enrollment(
        "bulk-" + std::to_string(i), ResidentId("19900512", i % 2 == 0, std::to_string(10 + i)));
    r.set_gender(i % 2 == 0 ? ev::MALE : ev::FEMALE);
    if (i == 7) r.set_bank_card_number("1");  // one bad record
    ASSERT_TRUE(writer->Write(r));
  }
  // A record repeated in the stream (same key, same body) answers the same, publishing nothing.
  api::EnrollMemberRequest repeat =
      Enrollment("bulk-3", ResidentId("19900512", false, std::to_string(13)));
  ASSERT_TRUE(writer->Write(repeat));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(response.accepted(), 19);
  EXPECT_EQ(response.refused(), 2);
  EXPECT_FALSE(response.stopped());
  ASSERT_EQ(response.refusals_size(), 2);
  EXPECT_EQ(response.refusals(0).index(), 0);
  EXPECT_EQ(response.refusals(0).code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(response.refusals(0).message().find("'bulk-0'"), std::string::npos);
  EXPECT_EQ(response.refusals(1).index(), 7);
  EXPECT_EQ(response.refusals(1).code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(response.refusals(1).violations_size(), 1);
  EXPECT_EQ(response.refusals(1).violations(0).field(), "bank_card_number");
  EXPECT_EQ(ReadTopic(kIntakeTopic, 19).size(), 19u);  // the first enrollment and 18

  // An accepted record's member id: EnrollMember with its key and body, publishing nothing.
  api::EnrollMemberRequest third =
      Enrollment("bulk-3", ResidentId("19900512", false, std::to_string(13)));
  api::EnrollMemberResponse member;
  ASSERT_TRUE(stub_->EnrollMember(As("partner:P1").get(), third, &member).ok());
  EXPECT_EQ(member.member_id().size(), 64u);
  EXPECT_EQ(Sample("claims_intake_events_published_total{type=\"mutualaid.events.v1."
                   "MemberEnrolled\"}"),
            19);
}

TEST_F(IntakeTest, BulkEnrollRefusesRecordsThatDoNotParseAndGoesOnWithTheStream) {
  // gRPC's typed reader ends the stream at a record it cannot parse, as if the client had
  // finished: the rest would be neither enrolled nor refused.
  grpc::ClientContext context;
  context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  api::BulkEnrollResponse response;
  auto writer = stub_->BulkEnroll(&context, &response);
  constexpr int kRecords = 6;
  for (int i = 0; i < kRecords; ++i) {
    api::EnrollMemberRequest r = Enrollment("undecodable-" + std::to_string(i),
                                            ResidentId("19900512", false, std::to_string(10 + i)));
    if (i == 2) r.set_name("\xff");
    if (i == kRecords - 1) r.set_bank_name("\xe5\xb7");  // the last one too
    ASSERT_TRUE(writer->Write(r));
  }
  writer->WritesDone();
  const grpc::Status finished = writer->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(response.accepted(), kRecords - 2);
  EXPECT_EQ(response.refused(), 2);
  EXPECT_FALSE(response.stopped());
  ASSERT_EQ(response.refusals_size(), 2);
  EXPECT_EQ(response.refusals(0).index(), 2);
  EXPECT_EQ(response.refusals(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(response.refusals(0).violations_size(), 1);
  EXPECT_EQ(response.refusals(0).violations(0).field(), "name");
  EXPECT_EQ(response.refusals(1).index(), kRecords - 1);
  ASSERT_EQ(response.refusals(1).violations_size(), 1);
  EXPECT_EQ(response.refusals(1).violations(0).field(), "bank_name");
  EXPECT_EQ(ReadTopic(kIntakeTopic, kRecords - 2).size(), static_cast<size_t>(kRecords - 2));
}

TEST_F(IntakeTest, BulkEnrollOfTwentyThousandMembersAnswersCompactly) {
  constexpr int kMembers = 20000;
  grpc::ClientContext context;
  context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  context.set_deadline(std::chrono::system_clock::now() + 120s);
  api::BulkEnrollResponse response;
  auto writer = stub_->BulkEnroll(&context, &response);
  for (int i = 0; i < kMembers; ++i) {
    // Distinct ID numbers: birth dates over 60 years, sequence numbers 10-99.
    const Date birth = Date::Parse("1960-01-01")->AddDays(i / 90);
    std::string yyyymmdd = birth.ToString();
    yyyymmdd.erase(std::remove(yyyymmdd.begin(), yyyymmdd.end(), '-'), yyyymmdd.end());
    api::EnrollMemberRequest r = Enrollment(
        "season-" + std::to_string(i), ResidentId(yyyymmdd, false, std::to_string(10 + i % 90)));
    ASSERT_TRUE(writer->Write(r)) << i;
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.accepted(), kMembers);
  EXPECT_EQ(response.refused(), 0);
  EXPECT_FALSE(response.stopped()) << response.stop_reason();
  EXPECT_LT(response.ByteSizeLong(), 64u);
  EXPECT_EQ(ReadTopic(kIntakeTopic, kMembers).size(), static_cast<size_t>(kMembers));
  EXPECT_EQ(ReadTopic(kKeyTopic, kMembers).size(), static_cast<size_t>(kMembers));
}

// Bulk windows on a disk that fills: the window whose writes fail is answered with the store's
// error, and from then on nothing is published, neither members' keys nor events. A store
// reopened on a disk with room enrolls the same records.
TEST_F(IntakeTest, BulkWindowsOnAStoreThatCannotWritePublishNothingAfterTheFailure) {
  auto faults = std::make_shared<store::DiskFaults>();
  store::StoreOptions so;
  so.column_families = IntakeColumnFamilies();
  so.test_disk_faults = faults;
  auto opened = store::StateStore::Open(dir_->File("filling"), so);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<store::StateStore> store = std::move(opened).value();
  std::unique_ptr<KeyVault> vault = NewVault(*store);
  std::unique_ptr<KafkaKeyClaims> claims = NewClaims(*store);
  auto intake = std::make_unique<Intake>(intake_options_, *store, *log_, *vault, *claims, *clock_);
  // Three windows of ten new members each.
  auto window = [&](int w) {
    std::vector<api::EnrollMemberRequest> records;
    for (int i = 0; i < 10; ++i) {
      records.push_back(Enrollment("fill-" + std::to_string(w) + "-" + std::to_string(i),
                                   ResidentId("19800101", false, std::to_string(10 + w * 10 + i))));
    }
    return records;
  };
  auto members_of = [&](const std::vector<api::EnrollMemberRequest>& records) {
    std::set<std::string> out;
    for (const auto& r : records) out.insert(vault->MemberId(r.resident_id_number()));
    return out;
  };

  for (const auto& r : intake->EnrollAll("P1", window(0)))
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  faults->SetDiskFull(true);
  for (int w = 1; w <= 2; ++w) {
    for (const auto& r : intake->EnrollAll("P1", window(w))) {
      ASSERT_FALSE(r.ok()) << "window " << w;
      EXPECT_NE(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
    }
  }

  // Window 0's events and keys; window 1's keys, in Kafka when the disk failed under them;
  // nothing of window 2.
  std::set<std::string> event_members;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 10)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    event_members.insert(e.member_id());
  }
  EXPECT_EQ(event_members, members_of(window(0)));
  std::set<std::string> key_members;
  for (const bus::Message& m : ReadTopic(kKeyTopic, 20)) key_members.insert(MemberOfKeyId(m.key));
  std::set<std::string> expected_keys = members_of(window(0));
  for (const std::string& m : members_of(window(1))) expected_keys.insert(m);
  EXPECT_EQ(key_members, expected_keys);

  // Nothing of windows 1 and 2 was recorded; reopened on a disk with room, they enroll.
  intake.reset();
  claims.reset();
  vault.reset();
  store.reset();
  faults->SetDiskFull(false);
  opened = store::StateStore::Open(dir_->File("filling"), so);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store = std::move(opened).value();
  for (int w = 1; w <= 2; ++w) {
    for (const auto& r : window(w)) {
      Result<std::optional<std::string>> found =
          store->Get(kIdempotencyCf, Join("P1", r.idempotency_key()));
      ASSERT_TRUE(found.ok());
      EXPECT_FALSE(found->has_value()) << r.idempotency_key();
    }
  }
  vault = NewVault(*store);
  claims = NewClaims(*store);
  intake = std::make_unique<Intake>(intake_options_, *store, *log_, *vault, *claims, *clock_);
  for (int w = 1; w <= 2; ++w) {
    for (const auto& r : intake->EnrollAll("P1", window(w)))
      ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

TEST_F(IntakeTest, AWindowStagedOnTwoThreadsAnswersEveryRecordInStreamOrderAndRecordsItDone) {
  // 300 records (a window this large is staged on two threads): one key enrolled before with the
  // same body, one with another body, every 50th from the 7th with a bad card, and record 10
  // repeated at the end.
  std::vector<api::EnrollMemberRequest> records;
  for (int i = 0; i < 300; ++i) {
    // Distinct numbers: 90 sequence numbers per birth date, a birth date per 90 records.
    const Date born = Date::Parse("1970-01-01")->AddDays(i / 90);
    std::string yyyymmdd = born.ToString();
    yyyymmdd.erase(std::remove(yyyymmdd.begin(), yyyymmdd.end(), '-'), yyyymmdd.end());
    api::EnrollMemberRequest r =
        Enrollment("split-" + std::to_string(i),
                   ResidentId(yyyymmdd, i % 2 == 0, std::to_string(10 + i % 90)));
    r.set_gender(i % 2 == 0 ? ev::MALE : ev::FEMALE);
    if (i % 50 == 7) r.set_bank_card_number("1");
    records.push_back(r);
  }
  const std::string before = EnrollOk("P1", "split-5", records[5].resident_id_number());
  api::EnrollMemberRequest other = records[6];
  other.set_phone("13900139000");
  api::EnrollMemberResponse other_enrolled;
  const grpc::Status enrolled = stub_->EnrollMember(As("partner:P1").get(), other, &other_enrolled);
  ASSERT_TRUE(enrolled.ok()) << enrolled.error_message();
  records.push_back(records[10]);

  const std::vector<Result<api::EnrollMemberResponse>> out = intake_->EnrollAll("P1", records);
  ASSERT_EQ(out.size(), records.size());
  std::set<std::string> answered_events;
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    if (i == 6) {
      ASSERT_FALSE(out[i].ok());
      EXPECT_EQ(out[i].status().code(), StatusCode::kAlreadyExists);
      continue;
    }
    if (i % 50 == 7) {
      ASSERT_FALSE(out[i].ok());
      EXPECT_EQ(out[i].status().code(), StatusCode::kInvalidArgument);
      ASSERT_EQ(out[i].status().violations().size(), 1u);
      EXPECT_EQ(out[i].status().violations()[0].field, "bank_card_number");
      continue;
    }
    ASSERT_TRUE(out[i].ok()) << out[i].status().ToString();
    EXPECT_EQ(out[i]->member_id(), vault_->MemberId(records[i].resident_id_number()));
    answered_events.insert(out[i]->event_id());
    // Recorded done, with the answer given.
    Result<std::optional<std::string>> stored =
        store_->Get(kIdempotencyCf, Join("P1", records[i].idempotency_key()));
    ASSERT_TRUE(stored.ok() && stored->has_value());
    mutualaid::intake::v1::storage::IdempotencyRecord record;
    ASSERT_TRUE(record.ParseFromString(**stored));
    EXPECT_TRUE(record.done());
    EXPECT_EQ(record.response(), out[i]->SerializeAsString());
  }
  EXPECT_EQ(out[5]->member_id(), before);
  ASSERT_TRUE(out[300].ok()) << out[300].status().ToString();
  EXPECT_EQ(out[300]->SerializeAsString(), out[10]->SerializeAsString());
  EXPECT_EQ(answered_events.size(), 300u - 6u - 1u);

  // Published: each answered event once (split-5's and split-6's by the enrollments before),
  // each under the member it names.
  std::map<std::string, std::string> members_by_event;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, answered_events.size() + 1)) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    EXPECT_TRUE(members_by_event.emplace(e.event_id(), e.member_id()).second) << e.event_id();
  }
  EXPECT_EQ(members_by_event.size(), answered_events.size() + 1);
  for (int i = 0; i < 300; ++i) {
    if (i == 6 || i % 50 == 7) continue;
    EXPECT_EQ(members_by_event[out[i]->event_id()], out[i]->member_id()) << i;
  }
  // One data key per member enrolled.
  EXPECT_EQ(ReadTopic(kKeyTopic, answered_events.size() + 1).size(), answered_events.size() + 1);
}

TEST_F(IntakeTest, BulkEnrollStopsWhenTheClusterIsDownAndTheResentRecordsAreRecordedOnce) {
  auto records = [&] {
    std::vector<api::EnrollMemberRequest> out;
    for (int i = 0; i < 10; ++i) {
      out.push_back(Enrollment("bulk-" + std::to_string(i),
                               ResidentId("19900512", false, std::to_string(10 + i))));
    }
    return out;
  };
  auto send = [&](const std::vector<api::EnrollMemberRequest>& rs, int from) {
    grpc::ClientContext context;
    context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
    context.set_deadline(std::chrono::system_clock::now() + 20s);
    api::BulkEnrollResponse response;
    auto writer = stub_->BulkEnroll(&context, &response);
    for (size_t i = from; i < rs.size(); ++i) {
      if (!writer->Write(rs[i])) break;
    }
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  };
  for (int b = 1; b <= 3; ++b) (void)broker_->Control("broker-down " + std::to_string(b));
  const api::BulkEnrollResponse down = send(records(), 0);
  EXPECT_TRUE(down.stopped());
  EXPECT_EQ(down.resend_from(), 0);
  EXPECT_EQ(down.accepted(), 0);
  EXPECT_EQ(down.refused(), 0);
  EXPECT_EQ(down.stop_reason().rfind("UNAVAILABLE", 0), 0u) << down.stop_reason();
  for (int b = 1; b <= 3; ++b) (void)broker_->Control("broker-up " + std::to_string(b));
  api::BulkEnrollResponse up;
  for (int attempt = 0; attempt < 20; ++attempt) {
    up = send(records(), 0);
    if (!up.stopped()) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_FALSE(up.stopped()) << up.stop_reason();
  EXPECT_EQ(up.accepted(), 10);
  // However many times the bytes were sent, each record is one event: one id, the same bytes.
  std::map<std::string, std::string> by_id;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 10)) {
    auto [it, inserted] = by_id.emplace(*bus::FindHeader(m.headers, "event-id"), m.value);
    if (!inserted) {
      EXPECT_EQ(it->second, m.value);
    }
  }
  EXPECT_EQ(by_id.size(), 10u);
}

TEST_F(IntakeTest, NoPlaintextIdentityInTopicsOrStore) {
  StartFollower();
  const std::string id_number = ResidentId("19851103", true, "77");
  api::EnrollMemberRequest r = Enrollment("enroll", id_number);
  r.set_gender(ev::MALE);
  api::EnrollMemberResponse enrolled;
  ASSERT_TRUE(stub_->EnrollMember(As("partner:P1").get(), r, &enrolled).ok());
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(
      stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", enrolled.member_id()), &claim).ok());
  std::this_thread::sleep_for(500ms);  // let the follower store what it read
  StopFollower();
  const std::vector<std::string> secrets = {id_number, "6222020200112233446", "13800138000",
                                            "左腿骨折", r.name()};
  for (const char* topic : {kIntakeTopic, kKeyTopic, kCallsTopic}) {
    const std::vector<bus::Message> messages = ReadTopic(topic, 1);
    EXPECT_FALSE(messages.empty()) << topic;
    for (const bus::Message& m : messages) {
      for (const std::string& secret : secrets) {
        EXPECT_EQ(m.value.find(secret), std::string::npos) << topic;
        EXPECT_EQ(m.key.find(secret), std::string::npos) << topic;
      }
    }
  }
  ASSERT_TRUE(store_->Close().ok());
  bool control_seen = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_->File("intake"))) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << entry.path();
    }
    // The scan can see what is stored in clear: the claim id is (a control for the scan).
    control_seen = control_seen || bytes.find(claim.claim_id()) != std::string::npos;
  }
  EXPECT_TRUE(control_seen);
}

TEST_F(IntakeTest, CountsCallsByMethodAndCodeAndEventsPublishedByType) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  api::SubmitClaimResponse r;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &r).ok());
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c2", member), &r).ok());
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &r).ok());  // repeat
  api::SubmitClaimRequest bad = Claim("c3", member);
  bad.set_amount_fen(-1);
  EXPECT_EQ(stub_->SubmitClaim(As("partner:P1").get(), bad, &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  api::GetClaimRequest get;
  get.set_claim_id(r.claim_id());
  api::Claim claim;
  EXPECT_EQ(stub_->GetClaim(As("partner:P2").get(), get, &claim).error_code(),
            grpc::StatusCode::NOT_FOUND);

  const std::string m = "{grpc_method=\"mutualaid.intake.v1.IntakeService/";
  EXPECT_EQ(Sample("claims_grpc_server_handled_total" + m + "EnrollMember\",grpc_code=\"OK\"}"), 1);
  EXPECT_EQ(Sample("claims_grpc_server_handled_total" + m + "SubmitClaim\",grpc_code=\"OK\"}"), 3);
  EXPECT_EQ(Sample("claims_grpc_server_handled_total" + m +
                   "SubmitClaim\",grpc_code=\"INVALID_ARGUMENT\"}"),
            1);
  EXPECT_EQ(Sample("claims_grpc_server_handled_total" + m + "GetClaim\",grpc_code=\"NOT_FOUND\"}"),
            1);
  EXPECT_EQ(Sample("claims_grpc_server_handling_seconds_count" + m + "SubmitClaim\"}"), 4);
  EXPECT_GT(Sample("claims_grpc_server_handling_seconds_sum" + m + "SubmitClaim\"}"), 0);
  // Published: the enrollment and two claims; the repeat and the refusal published nothing.
  EXPECT_EQ(Sample("claims_intake_events_published_total{type=\"mutualaid.events.v1."
                   "MemberEnrolled\"}"),
            1);
  EXPECT_EQ(Sample("claims_intake_events_published_total{type=\"mutualaid.events.v1."
                   "ClaimSubmitted\"}"),
            2);
}

TEST_F(IntakeTest, HonoursTheCallersDeadlineWhileTheClusterIsDownAndTheRetryRecordsOnce) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  for (int b = 1; b <= 3; ++b) {
    ASSERT_EQ(*broker_->Control("broker-down " + std::to_string(b)),
              "OK broker " + std::to_string(b) + " down");
  }
  // The publish timeout is 3 s; the caller gives 0.8 s, and the server must stop waiting then.
  auto context = As("partner:P1");
  context->set_deadline(std::chrono::system_clock::now() + 800ms);
  api::SubmitClaimResponse response;
  const grpc::Status s = stub_->SubmitClaim(context.get(), Claim("c1", member), &response);
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
              s.error_code() == grpc::StatusCode::UNAVAILABLE)
      << s.error_code() << " " << s.error_message();
  // The server's own account of the call: how it ended and how long it took.
  const std::string m = "{grpc_method=\"mutualaid.intake.v1.IntakeService/SubmitClaim";
  for (int i = 0; i < 100 && Sample("claims_grpc_server_handling_seconds_count" + m + "\"}") < 1;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Sample("claims_grpc_server_handling_seconds_count" + m + "\"}"), 1)
      << "the server is still waiting for Kafka past the caller's deadline";
  EXPECT_LT(Sample("claims_grpc_server_handling_seconds_sum" + m + "\"}"), 1.5);
  EXPECT_EQ(Sample("claims_grpc_server_handled_total" + m + "\",grpc_code=\"DEADLINE_EXCEEDED\"}"),
            1);

  for (int b = 1; b <= 3; ++b) (void)broker_->Control("broker-up " + std::to_string(b));
  grpc::Status retry;
  api::SubmitClaimResponse first;
  for (int attempt = 0; attempt < 20; ++attempt) {
    retry = stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &first);
    if (retry.ok()) break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  api::SubmitClaimResponse again;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &again).ok());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  // However many times its bytes were sent, the claim is one event: one id, identical bytes.
  std::map<std::string, std::string> by_id;
  for (const bus::Message& msg : ReadTopic(kIntakeTopic, 2)) {
    auto [it, inserted] = by_id.emplace(*bus::FindHeader(msg.headers, "event-id"), msg.value);
    if (!inserted) {
      EXPECT_EQ(it->second, msg.value);
    }
  }
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.count(first.event_id()), 1u);
}

TEST_F(IntakeTest, DoesNothingForACallWhoseDeadlineHasPassed) {
  const std::string member = EnrollOk("P1", "enroll", ResidentId("19900512", false));
  const Deadline passed = std::chrono::steady_clock::now() - 1ms;
  Result<api::SubmitClaimResponse> late = intake_->SubmitClaim("P1", Claim("late", member), passed);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded);
  // Not even a pending idempotency record, and no event.
  EXPECT_FALSE(store_->Get(kIdempotencyCf, Join("P1", "late"))->has_value());
  Result<api::EnrollMemberResponse> enroll =
      intake_->Enroll("P1", Enrollment("late-enroll", ResidentId("19850101", false)), passed);
  EXPECT_EQ(enroll.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ReadTopic(kIntakeTopic, 1).size(), 1u);  // the first enrollment only
  EXPECT_EQ(ReadTopic(kKeyTopic, 1).size(), 1u);     // and its member's key only
}

TEST_F(IntakeTest, ErasureDestroysEveryKeyOfTheMemberWhileTheirEventsStillDecode) {
  StartFollower();
  const std::string id_number = ResidentId("19900512", false);
  const std::string member = EnrollOk("P1", "enroll", id_number);
  api::SubmitClaimResponse claim;
  ASSERT_TRUE(stub_->SubmitClaim(As("partner:P1").get(), Claim("c1", member), &claim).ok());
  const std::string other = EnrollOk("P1", "enroll-2", ResidentId("19851103", false, "77"));

  // A second replica, with its own store and follower, creates a second key for the member.
  Replica replica = NewReplica();
  ASSERT_NE(replica.store, nullptr);
  std::unique_ptr<store::StateStore>& replica_store = replica.store;
  std::unique_ptr<KeyVault> replica_vault = NewVault(*replica_store);
  ASSERT_TRUE(replica_vault->Seal(member, "detail", "test", 5s).ok());
  std::unique_ptr<bus::Consumer>& replica_consumer = replica.consumer;
  ClaimFollower replica_follower(*replica_store, *replica_consumer,
                                 [&](const std::string& key_id) { replica_vault->Forget(key_id); });
  ASSERT_TRUE(replica_follower.Start(10s).ok());

  auto key_ids_in = [&](store::StateStore& store) {
    std::vector<std::string> ids;
    EXPECT_TRUE(store
                    .ScanPrefix(kMemberKeyIdsCf, Join(member, ""),
                                [&](std::string_view k, std::string_view) {
                                  ids.emplace_back(k.substr(member.size() + 1));
                                  return true;
                                })
                    .ok());
    return ids;
  };
  // This replica learns of the other's key from the key topic.
  for (int i = 0; i < 200 && key_ids_in(*store_).size() < 2; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_EQ(key_ids_in(*store_).size(), 2u);

  grpc::ClientContext partner_context;
  partner_context.AddMetadata(rpc::kPrincipalHeader, "partner:P1");
  api::EraseMemberRequest erase;
  erase.set_member_id(member);
  api::EraseMemberResponse erased;
  EXPECT_EQ(admin_->EraseMember(&partner_context, erase, &erased).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const grpc::Status s = admin_->EraseMember(As("operator:ops1").get(), erase, &erased);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(erased.member_id(), member);
  ASSERT_EQ(erased.erased_key_ids_size(), 2);
  const std::set<std::string> destroyed(erased.erased_key_ids().begin(),
                                        erased.erased_key_ids().end());

  // No key record of the member is left in either store: the other replica drops its cached
  // key when it reads the tombstones.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(replica_follower.PollOnce(25ms).ok());
    if (!replica_store->Get(kMemberKeysCf, member)->has_value() &&
        key_ids_in(*replica_store).empty()) {
      break;
    }
  }
  for (store::StateStore* store : {store_.get(), replica_store.get()}) {
    EXPECT_FALSE(store->Get(kMemberKeysCf, member)->has_value());
    EXPECT_TRUE(key_ids_in(*store).empty());
  }
  EXPECT_TRUE(store_->Get(kMemberKeysCf, other)->has_value());  // other members keep theirs

  // In the key topic the latest record of each of the member's key ids is a tombstone.
  bus::ConsumerOptions co;
  co.bootstrap_servers = broker_->bootstrap_servers();
  const int32_t key_partitions =
      *std::move(bus::Consumer::Create(co)).value()->PartitionCount(kKeyTopic, 10s);
  const auto latest = LatestByKey(broker_->bootstrap_servers(), kKeyTopic, key_partitions);
  std::set<std::string> member_key_ids;
  std::vector<crypto::DataKey> available;
  const crypto::MasterKey master = *crypto::MasterKey::FromBytes(FromHex(kMasterKeyHex));
  for (const auto& [key_id, value] : latest) {
    if (MemberOfKeyId(key_id) == member) {
      member_key_ids.insert(key_id);
      EXPECT_FALSE(value.has_value()) << key_id << " still has a key";
    }
    if (value.has_value()) available.push_back(*crypto::UnwrapKey(master, key_id, *value));
  }
  EXPECT_EQ(member_key_ids, destroyed);
  ASSERT_FALSE(available.empty());  // the other member's key

  // The member's events still decode (decisions replay), but no key left opens their data.
  int sealed_fields = 0;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 3)) {
    if (m.key != member) continue;
    ev::Envelope envelope;
    ASSERT_TRUE(envelope.ParseFromString(m.value));
    Result<domain::Input> input = codec::DecodeInput(envelope);
    EXPECT_TRUE(input.ok()) << envelope.type() << ": " << input.status().ToString();
    std::vector<std::pair<ev::SealedPersonalData, std::string>> sealed;
    if (envelope.type() == codec::kMemberEnrolled) {
      ev::MemberEnrolled e;
      ASSERT_TRUE(e.ParseFromString(envelope.payload()));
      sealed.emplace_back(e.personal_data(), "MemberEnrolled.personal_data");
    } else if (envelope.type() == codec::kClaimSubmitted) {
      ev::ClaimSubmitted c;
      ASSERT_TRUE(c.ParseFromString(envelope.payload()));
      sealed.emplace_back(c.health_data(), "ClaimSubmitted.health_data");
    }
    for (const auto& [data, context] : sealed) {
      ++sealed_fields;
      EXPECT_EQ(destroyed.count(data.key_id()), 1u) << data.key_id();
      for (const crypto::DataKey& key : available) {
        EXPECT_FALSE(crypto::Open(key, ToSealed(data), context).ok());
      }
    }
  }
  EXPECT_EQ(sealed_fields, 2);

  // Erasing again finds nothing left to destroy.
  api::EraseMemberResponse again;
  ASSERT_TRUE(admin_->EraseMember(As("operator:ops1").get(), erase, &again).ok());
  EXPECT_EQ(again.erased_key_ids_size(), 0);
  // By resident ID number too, and a malformed member id is refused naming the field.
  api::EraseMemberRequest by_number;
  by_number.set_resident_id_number(id_number);
  ASSERT_TRUE(admin_->EraseMember(As("operator:ops1").get(), by_number, &again).ok());
  EXPECT_EQ(again.member_id(), member);
  api::EraseMemberRequest malformed;
  malformed.set_member_id("not-a-member");
  const grpc::Status refused = admin_->EraseMember(As("operator:ops1").get(), malformed, &again);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rpc::FromGrpc(refused).violations().at(0).field, "member_id");
  // The other replica had the member's key cached; it does not seal with it any more: a new
  // value gets a new key.
  Result<ev::SealedPersonalData> resealed = replica_vault->Seal(member, "detail", "test", 5s);
  ASSERT_TRUE(resealed.ok()) << resealed.status().ToString();
  EXPECT_EQ(destroyed.count(resealed->key_id()), 0u) << resealed->key_id();
}

TEST_F(IntakeTest, PurgesIdempotencyKeysOlderThanTheRetentionAndKeepsNewerOnes) {
  EXPECT_EQ(IntakeOptions().idempotency_retention_days, 8);
  // The same store, written on earlier business dates.
  const FixedBusinessClock eight_days_ago(kToday.AddDays(-8));
  const FixedBusinessClock seven_days_ago(kToday.AddDays(-7));
  Intake old_intake(intake_options_, *store_, *log_, *vault_, *claims_, eight_days_ago);
  Intake week_intake(intake_options_, *store_, *log_, *vault_, *claims_, seven_days_ago);
  Result<api::EnrollMemberResponse> enrolled =
      old_intake.Enroll("P1", Enrollment("old-enroll", ResidentId("19900512", false)));
  ASSERT_TRUE(enrolled.ok()) << enrolled.status().ToString();
  const std::string member = enrolled->member_id();
  Result<api::SubmitClaimResponse> old_claim =
      old_intake.SubmitClaim("P1", Claim("old-claim", member));
  ASSERT_TRUE(old_claim.ok()) << old_claim.status().ToString();
  ASSERT_TRUE(week_intake.SubmitClaim("P1", Claim("week-claim", member)).ok());
  Result<api::SubmitClaimResponse> new_claim =
      intake_->SubmitClaim("P1", Claim("new-claim", member));
  ASSERT_TRUE(new_claim.ok()) << new_claim.status().ToString();

  Result<size_t> purged = intake_->PurgeIdempotencyKeys();
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, 2u);
  for (const char* key : {"old-enroll", "old-claim"}) {
    EXPECT_FALSE(store_->Get(kIdempotencyCf, Join("P1", key))->has_value()) << key;
    EXPECT_FALSE(store_->Get(kKeyHoldersCf, Join("P1", key))->has_value()) << key;  // free again
  }
  for (const char* key : {"week-claim", "new-claim"}) {
    EXPECT_TRUE(store_->Get(kIdempotencyCf, Join("P1", key))->has_value()) << key;
    EXPECT_TRUE(store_->Get(kKeyHoldersCf, Join("P1", key))->has_value()) << key;
    api::GetClaimRequest by_key;
    by_key.set_idempotency_key(key);
    EXPECT_TRUE(intake_->GetClaim("P1", by_key).ok()) << key;
  }
  api::GetClaimRequest purged_key;
  purged_key.set_idempotency_key("old-claim");
  EXPECT_EQ(intake_->GetClaim("P1", purged_key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*intake_->PurgeIdempotencyKeys(), 0u);

  // The purged key is free again. Another request under it is a new claim, with its own claim
  // and event ids, published; the very same request as before gets the old ids (it is the same
  // claim, and consumers take its event as a repeat).
  api::SubmitClaimRequest other = Claim("old-claim", member);
  other.set_amount_fen(45000);
  Result<api::SubmitClaimResponse> reused = intake_->SubmitClaim("P1", other);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  EXPECT_NE(reused->claim_id(), old_claim->claim_id());
  EXPECT_NE(reused->event_id(), old_claim->event_id());
  bool published = false;
  for (const bus::Message& m : ReadTopic(kIntakeTopic, 5)) {
    ev::Envelope e;
    ev::ClaimSubmitted c;
    ASSERT_TRUE(e.ParseFromString(m.value));
    if (e.event_id() != reused->event_id()) continue;
    ASSERT_TRUE(c.ParseFromString(e.payload()));
    EXPECT_EQ(c.claim_id(), reused->claim_id());
    EXPECT_EQ(c.amount_fen(), 45000);
    published = true;
  }
  EXPECT_TRUE(published);
  ASSERT_EQ(*intake_->PurgeIdempotencyKeys(), 0u);
  FixedBusinessClock later(kToday.AddDays(8));
  Intake later_intake(intake_options_, *store_, *log_, *vault_, *claims_, later);
  ASSERT_EQ(*later_intake.PurgeIdempotencyKeys(), 3u);  // week-claim, new-claim, old-claim again
  Result<api::SubmitClaimResponse> same =
      later_intake.SubmitClaim("P1", Claim("new-claim", member));
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->SerializeAsString(), new_claim->SerializeAsString());

  // A longer retention keeps what the default purges.
  IntakeOptions longer = intake_options_;
  longer.idempotency_retention_days = 9;
  Intake patient(longer, *store_, *log_, *vault_, *claims_, *clock_);
  ASSERT_TRUE(old_intake.SubmitClaim("P1", Claim("old-2", member)).ok());
  EXPECT_EQ(*patient.PurgeIdempotencyKeys(), 0u);
  EXPECT_EQ(*intake_->PurgeIdempotencyKeys(), 1u);
}

}  // namespace
}  // namespace claims::intake
