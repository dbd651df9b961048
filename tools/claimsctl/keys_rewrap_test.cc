// claimsctl keys rewrap (master-key rotation) against the dev broker, with intake's KeyVault and
// payout's PayeeDirectory as the services run them, the intake and payout binaries with
// --previous-master-key-file, and the claimsctl binary's flags, output and exit codes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "libs/events/topics.h"
#include "libs/identity/resident_id.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/common.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "services/intake/intake.h"
#include "services/intake/key_tombstones.h"
#include "services/intake/vault.h"
#include "services/payout/payee_directory.h"
#include "tests/e2e/claimsctl/cli_runner.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"
#include "tools/claimsctl/key_rewrap.h"

namespace claims::ctl {
namespace {

using namespace std::chrono_literals;
using ctl_test::CliRun;
namespace ev = ::mutualaid::events::v1;

constexpr char kBusinessDate[] = "2024-06-01";
constexpr char kPersonalContext[] = "MemberEnrolled.personal_data";
constexpr char kValidCard[] = "6222020200112233446";  // passes intake's Luhn check

std::string ResidentId(const std::string& yyyymmdd, bool male) {
  std::string first17 = "110101" + yyyymmdd + "12" + (male ? "3" : "4");
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

std::string Card(int i) { return "62220202001122" + std::to_string(10000 + i); }

nlohmann::json Json(const CliRun& run) {
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << run.out << run.err;
  return j;
}

// Intake's key vault over its own store: what the intake service runs.
struct IntakeVault {
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<bus::Producer> producer;
  std::unique_ptr<intake::KafkaKeyTombstoneWriter> tombstones;
  std::unique_ptr<intake::KeyVault> vault;
};

// Payout's payee directory over its own store and the follower that fills it.
struct Payees {
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<bus::Consumer> consumer;
  std::unique_ptr<payout::PayeeFollower> follower;
};

class KeysRewrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Result<test_support::TempDir> dir = test_support::TempDir::Create("keys-rewrap");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    ctl_test::WriteIntakeKeys(*dir_);  // pseudonym.key, master.key
    std::ofstream(dir_->File("old.key")) << std::string(64, '1') << "\n";
    std::ofstream(dir_->File("new.key")) << std::string(64, '2') << "\n";
    std::ofstream(dir_->File("other.key")) << std::string(64, '3') << "\n";
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    producer_ = std::move(bus::Producer::Create(po)).value();
  }

  void TearDown() override {
    if (HasFailure()) ctl_test::PrintLogs(services_);
  }

  crypto::MasterKey Master(const std::string& name) {
    return std::move(crypto::MasterKey::FromFile(dir_->File(name + ".key"))).value();
  }

  IntakeVault NewVault(const std::string& name, crypto::MasterKeys masters) {
    IntakeVault v;
    store::StoreOptions so;
    so.column_families = intake::IntakeColumnFamilies();
    v.store = std::move(store::StateStore::Open(dir_->File(name), so)).value();
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.client_id = name;
    v.producer = std::move(bus::Producer::Create(po)).value();
    v.tombstones = std::make_unique<intake::KafkaKeyTombstoneWriter>(po);
    v.vault = std::make_unique<intake::KeyVault>(
        *crypto::PseudonymKey::FromBytes(std::string(32, 'p')), std::move(masters), *v.store,
        *v.producer, *v.tombstones);
    return v;
  }

  // Enrolls `member` as intake does: the key (created on first use), the personal data sealed
  // under it, the MemberEnrolled event "ENR-<member>" on intake.events.v1.
  void Enroll(intake::KeyVault& vault, const std::string& member, int i) {
    ev::PersonalData personal;
    personal.set_name("会员" + std::to_string(i));
    personal.set_bank_card_number(Card(i));
    Result<ev::SealedPersonalData> sealed =
        vault.Seal(member, personal.SerializeAsString(), kPersonalContext, 10s);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    ev::MemberEnrolled m;
    m.set_member_id(member);
    *m.mutable_personal_data() = *sealed;
    ev::Envelope e = codec::Wrap(codec::kMemberEnrolled, m);
    e.set_event_id("ENR-" + member);
    e.set_member_id(member);
    Publish({events::EnvelopeRecord(events::kIntakeTopic, e)});
  }

  void Publish(const std::vector<bus::OutgoingMessage>& records) {
    for (const bus::Delivery& d : producer_->ProduceAll(records, 10s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  Payees FollowPayees(const std::string& name) {
    Payees p;
    store::StoreOptions so;
    so.column_families = payout::PayeeColumnFamilies();
    p.store = std::move(store::StateStore::Open(dir_->File(name), so)).value();
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    co.client_id = name;
    p.consumer = std::move(bus::Consumer::Create(co)).value();
    p.follower = std::make_unique<payout::PayeeFollower>(*p.store, *p.consumer);
    EXPECT_TRUE(p.follower->Start(10s).ok());
    CatchUp(p);
    return p;
  }

  // Polls until a second passes without a record (at most 30 s): under load a fetch can come
  // back empty for a few hundred milliseconds while records are still on their way.
  static void CatchUp(Payees& p) {
    for (int i = 0, idle = 0; i < 600 && idle < 20; ++i) {
      Result<size_t> n = p.follower->PollOnce(50ms);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      idle = *n == 0 ? idle + 1 : 0;
    }
  }

  // Every record of the key topic, by key id, in offset order.
  std::map<std::string, std::vector<bus::Message>> KeyRecords() {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    std::unique_ptr<bus::Consumer> c = std::move(bus::Consumer::Create(co)).value();
    const int32_t partitions = *c->PartitionCount(events::kKeyTopic, 10s);
    std::map<int32_t, int64_t> ends;
    std::vector<bus::TopicPartitionOffset> from;
    for (int32_t p = 0; p < partitions; ++p) {
      const auto marks = *c->Watermarks({events::kKeyTopic, p}, 10s);
      if (marks.second > marks.first) ends[p] = marks.second;
      from.push_back({events::kKeyTopic, p, bus::Consumer::kBeginning});
    }
    EXPECT_TRUE(c->Assign(from).ok());
    std::map<std::string, std::vector<bus::Message>> out;
    for (int i = 0; i < 200 && !ends.empty(); ++i) {
      Result<std::vector<bus::ConsumerEvent>> events = c->Poll(50ms);
      if (!events.ok()) {
        ADD_FAILURE() << events.status().ToString();
        break;
      }
      for (const bus::ConsumerEvent& e : *events) {
        if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
        out[e.message.key].push_back(e.message);
        if (e.message.offset + 1 >= ends[e.message.partition]) ends.erase(e.message.partition);
      }
    }
    EXPECT_TRUE(ends.empty()) << "the key topic was not read to its end";
    return out;
  }

  uint64_t KeyTopicRecords() {
    uint64_t n = 0;
    for (const auto& [key, records] : KeyRecords()) n += records.size();
    return n;
  }

  Result<RewrapResult> Rewrap(const std::function<void()>& before_writes = nullptr,
                              bool dry_run = false) {
    RewrapOptions o;
    o.bootstrap_servers = broker_->bootstrap_servers();
    o.timeout = 30s;
    o.before_writes = before_writes;
    o.dry_run = dry_run;
    return RewrapKeys(Master("old"), Master("new"), o);
  }

  CliRun Claimsctl(const std::vector<std::string>& args) {
    return ctl_test::RunCli(*dir_, CLAIMS_CLAIMSCTL_BINARY, args);
  }

  std::vector<std::string> RewrapArgs() {
    return {"keys",
            "rewrap",
            "--bootstrap-servers",
            broker_->bootstrap_servers(),
            "--old-master-key-file",
            dir_->File("old.key"),
            "--new-master-key-file",
            dir_->File("new.key")};
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
  std::vector<ctl_test::Service> services_;
};

MATCHER_P(UnwrapsUnder, master, "") { return crypto::UnwrapKey(master, arg.key, arg.value).ok(); }

// The opened payee's name, or the error.
std::string NameOf(const payout::PayeeDirectory& directory, const std::string& enrollment) {
  Result<payout::Payee> payee = directory.Open(enrollment);
  return payee.ok() ? payee->name : payee.status().ToString();
}

TEST_F(KeysRewrapTest, PutsEveryKeyUnderTheNewMasterKeyOnlyAndARerunWritesNothing) {
  IntakeVault old_intake = NewVault("intake-old", Master("old"));
  constexpr int kMembers = 12;
  std::vector<std::string> members;
  for (int i = 0; i < kMembers; ++i) {
    members.push_back("M-" + std::to_string(100 + i));
    Enroll(*old_intake.vault, members.back(), i);
  }

  Result<RewrapResult> r = Rewrap();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->incomplete.ok()) << r->incomplete.ToString();
  EXPECT_EQ(r->read, 12u);
  EXPECT_EQ(r->live, 12u);
  EXPECT_EQ(r->rewrapped, 12u);
  EXPECT_EQ(r->already_new, 0u);
  EXPECT_EQ(r->erased_during_run, 0u);
  EXPECT_EQ(r->failed, 0u);

  // Each key id: its old record, then one re-wrapped record, same partition and headers, that
  // opens under the new master key and not under the old one.
  const auto records = KeyRecords();
  ASSERT_EQ(records.size(), 12u);
  for (const auto& [key_id, versions] : records) {
    ASSERT_EQ(versions.size(), 2u) << key_id;
    EXPECT_THAT(versions[0], UnwrapsUnder(Master("old")));
    EXPECT_THAT(versions[1], UnwrapsUnder(Master("new")));
    EXPECT_THAT(versions[1], ::testing::Not(UnwrapsUnder(Master("old"))));
    EXPECT_EQ(versions[1].partition, versions[0].partition);
    EXPECT_EQ(versions[1].headers, versions[0].headers);
  }

  // Payout's directory with only the new master key opens every member's sealed payee; with only
  // the old one, none.
  Payees payees = FollowPayees("payees");
  payout::PayeeDirectory with_new(*payees.store, Master("new"));
  payout::PayeeDirectory with_old(*payees.store, Master("old"));
  for (int i = 0; i < kMembers; ++i) {
    Result<payout::Payee> payee = with_new.Open("ENR-" + members[i]);
    ASSERT_TRUE(payee.ok()) << payee.status().ToString();
    EXPECT_EQ(payee->name, "会员" + std::to_string(i));
    EXPECT_EQ(payee->account, Card(i));
    EXPECT_EQ(with_old.Open("ENR-" + members[i]).status().code(), StatusCode::kDataLoss);
  }

  // Intake's own store still holds the old wrapping; a vault with the previous key re-wraps it
  // (as intake does at start), and then one with only the new key seals with the same keys.
  {
    intake::KeyVault rotating(*crypto::PseudonymKey::FromBytes(std::string(32, 'p')),
                              crypto::MasterKeys(Master("new"), Master("old")), *old_intake.store,
                              *old_intake.producer, *old_intake.tombstones);
    Result<intake::KeyVault::StoredKeys> stored = rotating.RewrapStoredKeys();
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(stored->rewrapped, 12u);
    EXPECT_EQ(stored->unreadable, 0u);
    EXPECT_EQ(rotating.RewrapStoredKeys()->rewrapped, 0u);  // again: nothing left
  }
  intake::KeyVault new_only(*crypto::PseudonymKey::FromBytes(std::string(32, 'p')), Master("new"),
                            *old_intake.store, *old_intake.producer, *old_intake.tombstones);
  for (const std::string& member : members) {
    Result<ev::SealedPersonalData> sealed = new_only.Seal(member, "detail", "ctx", 10s);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(records.count(sealed->key_id()), 1u) << "a new key was made for " << member;
  }

  // A second run finds everything under the new key and writes nothing.
  Result<RewrapResult> again = Rewrap();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->read, 24u);
  EXPECT_EQ(again->live, 12u);
  EXPECT_EQ(again->rewrapped, 0u);
  EXPECT_EQ(again->already_new, 12u);
  EXPECT_EQ(KeyTopicRecords(), 24u);
}

TEST_F(KeysRewrapTest, AKeyErasedDuringTheRunStaysErased) {
  IntakeVault old_intake = NewVault("intake-old", Master("old"));
  for (int i = 0; i < 3; ++i) Enroll(*old_intake.vault, "M-" + std::to_string(i), i);

  // Intake erases M-1 after the snapshot, before the tool writes its records.
  std::vector<std::string> erased;
  Result<RewrapResult> r = Rewrap([&] {
    Result<std::vector<std::string>> key_ids = old_intake.vault->Erase("M-1", 10s);
    ASSERT_TRUE(key_ids.ok()) << key_ids.status().ToString();
    erased = *key_ids;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->incomplete.ok()) << r->incomplete.ToString();
  EXPECT_EQ(r->live, 3u);
  EXPECT_EQ(r->rewrapped, 3u);
  EXPECT_EQ(r->erased_during_run, 1u);
  ASSERT_EQ(erased.size(), 1u);

  // M-1's key: the old record, intake's tombstone, the tool's record, the tool's tombstone.
  auto records = KeyRecords();
  const std::vector<bus::Message>& m1 = records[erased[0]];
  ASSERT_EQ(m1.size(), 4u);
  EXPECT_TRUE(m1[1].value.empty());
  EXPECT_THAT(m1[2], UnwrapsUnder(Master("new")));
  EXPECT_TRUE(m1[3].value.empty());
  EXPECT_GT(m1[3].offset, m1[2].offset);

  // Payout's directory treats M-1 as erased; the others open.
  Payees payees = FollowPayees("payees");
  payout::PayeeDirectory directory(*payees.store, Master("new"));
  EXPECT_EQ(directory.Open("ENR-M-1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(directory.Open("ENR-M-0").ok());
  EXPECT_TRUE(directory.Open("ENR-M-2").ok());

  // A re-run leaves M-1 erased and writes nothing.
  Result<RewrapResult> again = Rewrap();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->live, 2u);
  EXPECT_EQ(again->rewrapped, 0u);
  EXPECT_EQ(again->already_new, 2u);
  EXPECT_EQ(again->erased_during_run, 0u);

  // A run that wrote after an erasure and stopped before tombstoning again (simulated: the old
  // record, a tombstone, a re-wrapped record of M-9) is repaired by the next run.
  crypto::RandomNonceSource nonces;
  const crypto::DataKey key = *crypto::GenerateDataKey("M-9/0000000000000009");
  bus::OutgoingMessage record;
  record.topic = events::kKeyTopic;
  record.key = key.key_id();
  record.value = *crypto::WrapKey(Master("old"), key, nonces);
  Publish({record});
  ASSERT_TRUE(old_intake.tombstones->Write(events::kKeyTopic, {key.key_id()}, 10s).ok());
  record.value = *crypto::WrapKey(Master("new"), key, nonces);
  Publish({record});
  Result<RewrapResult> repair = Rewrap();
  ASSERT_TRUE(repair.ok());
  EXPECT_TRUE(repair->incomplete.ok());
  EXPECT_EQ(repair->erased_during_run, 1u);
  EXPECT_EQ(repair->live, 2u);
  records = KeyRecords();
  ASSERT_EQ(records[key.key_id()].size(), 4u);
  EXPECT_TRUE(records[key.key_id()].back().value.empty());
}

TEST_F(KeysRewrapTest, ServicesWithTheNewAndThePreviousKeyWorkBeforeTheRewrapAndWithoutItAfter) {
  const std::vector<std::string> intake_keys = {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file",
                                                dir_->File("pseudonym.key"), "--master-key-file"};
  auto start_intake = [&](const std::vector<std::string>& keys) {
    // Same name, same data dir; the previous run's port must not be read as this one's.
    std::remove(dir_->File("intake.out").c_str());
    services_.push_back(ctl_test::StartService(*dir_, "intake", ctl_test::Concat(intake_keys, keys),
                                               broker_->bootstrap_servers(),
                                               {{"CLAIMS_BUSINESS_DATE", kBusinessDate}}));
    return std::vector<std::string>{"--target", services_.back().address, "--insecure-dev",
                                    "--principal", "partner:P1"};
  };
  auto enroll = [&](const std::vector<std::string>& partner, const std::string& key,
                    const std::string& resident_id) {
    const std::vector<std::string> args = {
        "enroll",      "--idempotency-key", key,           "--resident-id", resident_id,
        "--name",      "会员" + key,        "--gender",    "FEMALE",        "--occupation",
        "COURIER",     "--plan-year",       "2024",        "--start-date",  "2024-01-01",
        "--bank-card", kValidCard,          "--bank-name", "建设银行",      "-o",
        "json"};
    CliRun run = Claimsctl(ctl_test::Concat(args, partner));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return Json(run).value("member_id", "");
  };
  auto submit = [&](const std::vector<std::string>& partner, const std::string& key,
                    const std::string& member) {
    CliRun run = Claimsctl(ctl_test::Concat(
        {"claim", "submit", "--idempotency-key", key, "--member", member, "--coverage",
         "ACCIDENTAL_INJURY", "--incident-date", "2024-05-20", "--amount-fen", "60000",
         "--document", "MEDICAL_RECEIPTS", "--medical-detail", "左腕骨折", "-o", "json"},
        partner));
    return run;
  };

  // Before the rotation: intake with the old master key enrolls A.
  std::vector<std::string> partner = start_intake({dir_->File("old.key")});
  const std::string a = enroll(partner, "a", ResidentId("19900512", false));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(*services_.back().child.Stop(15s), 0);

  // Step 1: intake with the new key as current and the old one as previous. A's key (under the
  // old key) still seals A's claim; B's new key is wrapped under the new key.
  partner =
      start_intake({dir_->File("new.key"), "--previous-master-key-file", dir_->File("old.key")});
  CliRun claim = submit(partner, "c1", a);
  EXPECT_EQ(claim.exit_code, 0) << claim.out << claim.err;
  const std::string b = enroll(partner, "b", ResidentId("19850301", false));
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(*services_.back().child.Stop(15s), 0);
  Result<std::string> log = test_support::ReadFile(services_.back().log);
  EXPECT_NE(log->find("stored member keys re-wrapped under the current master key"),
            std::string::npos)
      << *log;

  auto records = KeyRecords();
  ASSERT_EQ(records.size(), 2u);  // A's one key (no second key was made for A's claim), B's
  std::string a_key, b_key;
  for (const auto& [key_id, versions] : records) {
    (intake::MemberOfKeyId(key_id) == a ? a_key : b_key) = key_id;
  }
  ASSERT_EQ(intake::MemberOfKeyId(a_key), a);
  ASSERT_EQ(intake::MemberOfKeyId(b_key), b);
  EXPECT_THAT(records[a_key].back(), UnwrapsUnder(Master("old")));
  EXPECT_THAT(records[b_key].back(), UnwrapsUnder(Master("new")));
  EXPECT_THAT(records[b_key].back(), ::testing::Not(UnwrapsUnder(Master("old"))));

  // Payout's directory with both keys opens both payees; with the new one only, not A's yet.
  Payees payees = FollowPayees("payees");
  Result<std::string> a_enrollment =
      payout::PayeeDirectory(*payees.store, Master("new")).LatestEnrollment(a);
  Result<std::string> b_enrollment =
      payout::PayeeDirectory(*payees.store, Master("new")).LatestEnrollment(b);
  ASSERT_TRUE(a_enrollment.ok() && b_enrollment.ok());
  payout::PayeeDirectory rotating(*payees.store, crypto::MasterKeys(Master("new"), Master("old")));
  payout::PayeeDirectory new_only(*payees.store, Master("new"));
  EXPECT_EQ(NameOf(rotating, *a_enrollment), "会员a");
  EXPECT_EQ(NameOf(rotating, *b_enrollment), "会员b");
  EXPECT_EQ(new_only.Open(*a_enrollment).status().code(), StatusCode::kDataLoss);

  // Step 2: the rewrap, then a dry run that finds nothing left under the old key.
  CliRun run = Claimsctl(ctl_test::Concat(RewrapArgs(), {"-o", "json"}));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Json(run)["rewrapped"], 1);
  EXPECT_EQ(Json(run)["already_new"], 1);
  run = Claimsctl(ctl_test::Concat(RewrapArgs(), {"--dry-run", "-o", "json"}));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Json(run)["rewrapped"], 0);
  EXPECT_EQ(Json(run)["already_new"], 2);
  EXPECT_NE(run.err.find("dry run, nothing written"), std::string::npos) << run.err;

  // Step 3: without the previous key, payout opens A (once it read the re-wrapped record) and
  // intake seals A's next claim with A's key.
  CatchUp(payees);
  EXPECT_EQ(NameOf(new_only, *a_enrollment), "会员a");
  partner = start_intake({dir_->File("new.key")});
  claim = submit(partner, "c2", a);
  EXPECT_EQ(claim.exit_code, 0) << claim.out << claim.err;
  EXPECT_EQ(*services_.back().child.Stop(15s), 0);
  EXPECT_EQ(KeyRecords().size(), 2u);
}

TEST_F(KeysRewrapTest, AKeyNeitherMasterKeyOpensIsReportedByMemberAndLeftAlone) {
  IntakeVault old_intake = NewVault("intake-old", Master("old"));
  Enroll(*old_intake.vault, "M-good-1", 1);
  Enroll(*old_intake.vault, "M-good-2", 2);
  crypto::RandomNonceSource nonces;
  auto record = [](const std::string& member, const std::string& value) {
    bus::OutgoingMessage r;
    r.topic = events::kKeyTopic;
    r.key = member + "/00000000000000aa";
    r.value = value;
    r.headers = {{"type", "mutualaid.keys.v1.WrappedDataKey"}, {"member-id", member}};
    return r;
  };
  const crypto::DataKey other_key = *crypto::GenerateDataKey("M-other/00000000000000aa");
  Publish({record("M-altered", std::string(1, '\x01') + std::string(60, 'z')),
           record("M-short", "0123456789"),
           record("M-other", *crypto::WrapKey(Master("other"), other_key, nonces))});

  CliRun run = Claimsctl(ctl_test::Concat(RewrapArgs(), {"-o", "json"}));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  nlohmann::json j = Json(run);
  EXPECT_EQ(j["live"], 5);
  EXPECT_EQ(j["rewrapped"], 2);
  EXPECT_EQ(j["failed"], 3);
  EXPECT_EQ(j["complete"], true);
  std::set<std::string> failed;
  for (const auto& f : j["failures"]) failed.insert(f["member_id"].get<std::string>());
  EXPECT_EQ(failed, (std::set<std::string>{"M-altered", "M-other", "M-short"}));
  for (const char* member : {"M-altered", "M-other"}) {
    EXPECT_NE(run.err.find(std::string("claimsctl: member ") + member + ": the key record at " +
                           events::kKeyTopic + "/"),
              std::string::npos)
        << run.err;
  }
  EXPECT_NE(run.err.find("does not unwrap under the old or the new master key; nothing written "
                         "for it"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("member M-short: the key record at"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("is not a wrapped key (a wrapped key must be 61 bytes, got 10)"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("zzzz"), std::string::npos) << run.err;  // no record bytes

  // Nothing was written for them; the good keys were re-wrapped once.
  auto records = KeyRecords();
  EXPECT_EQ(records["M-altered/00000000000000aa"].size(), 1u);
  EXPECT_EQ(records["M-short/00000000000000aa"].size(), 1u);
  EXPECT_EQ(records["M-other/00000000000000aa"].size(), 1u);
  EXPECT_EQ(KeyTopicRecords(), 7u);

  // CSV, and the table: the same counts; still exit 1 while those keys are there.
  run = Claimsctl(ctl_test::Concat(RewrapArgs(), {"--dry-run", "-o", "csv"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "read,live,rewrapped,already_new,erased_during_run,failed\n7,5,0,2,0,3\n");
  run = Claimsctl(ctl_test::Concat(RewrapArgs(), {"--dry-run"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out,
            "read  live  rewrapped  already_new  erased_during_run  failed\n"
            "   7     5          0            2                  0       3\n");
}

TEST_F(KeysRewrapTest, BadFlagsNameTheFlagAndTheFile) {
  std::ofstream(dir_->File("short.key")) << "abcd\n";
  const std::string missing = dir_->File("missing.key");
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string bootstrap = broker_->bootstrap_servers();
  const std::vector<Case> cases = {
      {{"keys", "rewrap", "--bootstrap-servers", bootstrap, "--new-master-key-file",
        dir_->File("new.key")},
       "--old-master-key-file is required"},
      {{"keys", "rewrap", "--old-master-key-file", dir_->File("old.key"), "--new-master-key-file",
        dir_->File("new.key")},
       "--bootstrap-servers is required"},
      {{"keys", "rewrap", "--bootstrap-servers", bootstrap, "--old-master-key-file", missing,
        "--new-master-key-file", dir_->File("new.key")},
       "claimsctl: --old-master-key-file: key file " + missing + " does not exist\n"},
      {{"keys", "rewrap", "--bootstrap-servers", bootstrap, "--old-master-key-file",
        dir_->File("old.key"), "--new-master-key-file", dir_->File("short.key")},
       "claimsctl: --new-master-key-file: key file " + dir_->File("short.key") +
           " must hold 32 raw bytes or 64 hex digits; it holds 5 bytes\n"},
      {{"keys", "rewrap", "--bootstrap-servers", bootstrap, "--old-master-key-file",
        dir_->File("old.key"), "--new-master-key-file", dir_->File("old.key")},
       "claimsctl: --new-master-key-file: " + dir_->File("old.key") +
           " holds the same key as --old-master-key-file " + dir_->File("old.key") + "\n"},
      {{"keys", "rewrap", "--bootstrap-servers", bootstrap, "--old-master-key-file",
        dir_->File("old.key"), "--new-master-key-file", dir_->File("new.key"),
        "--kafka-sasl-username", "ops"},
       "claimsctl: --kafka-sasl-username"},
  };
  for (const Case& c : cases) {
    CliRun run = Claimsctl(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.error << "\n" << run.err;
    EXPECT_NE(run.err.find(c.error), std::string::npos) << run.err;
    EXPECT_EQ(run.out, "");
  }

  // The services: the flag and the file named, exit 2.
  auto service = [&](const std::string& name, std::vector<std::string> argv) {
    test_support::SpawnOptions spawn;
    spawn.stderr_path = dir_->File(name + ".err");
    spawn.stdout_path = dir_->File(name + ".out");
    argv.insert(argv.end(),
                {"--bootstrap-servers", bootstrap, "--insecure-dev", "--listen", "127.0.0.1:0",
                 "--metrics-listen", "127.0.0.1:0", "--data-dir", dir_->File(name + "-data")});
    Result<test_support::ChildProcess> child = test_support::ChildProcess::Spawn(argv, spawn);
    EXPECT_TRUE(child.ok());
    Result<int> code = child->Wait(30s);
    if (!code.ok()) code = child->Kill();
    return std::make_pair(code.ok() ? *code : -1, *test_support::ReadFile(spawn.stderr_path));
  };
  auto [intake_code, intake_err] =
      service("intake",
              {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
               "--master-key-file", dir_->File("new.key"), "--previous-master-key-file", missing});
  EXPECT_EQ(intake_code, 2) << intake_err;
  EXPECT_EQ(intake_err,
            "intake: --previous-master-key-file: key file " + missing + " does not exist\n");
  auto [same_code, same_err] = service(
      "intake-same", {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
                      "--master-key-file", dir_->File("new.key"), "--previous-master-key-file",
                      dir_->File("new.key")});
  EXPECT_EQ(same_code, 2) << same_err;
  EXPECT_EQ(same_err, "intake: --previous-master-key-file: " + dir_->File("new.key") +
                          " holds the same key as --master-key-file\n");
  auto [alone_code, alone_err] = service(
      "payout-alone", {CLAIMS_PAYOUT_BINARY, "--previous-master-key-file", dir_->File("old.key")});
  EXPECT_EQ(alone_code, 2) << alone_err;
  EXPECT_EQ(alone_err, "payout: --previous-master-key-file: needs --master-key-file\n");
  auto [payout_code, payout_err] =
      service("payout", {CLAIMS_PAYOUT_BINARY, "--master-key-file", dir_->File("new.key"),
                         "--previous-master-key-file", dir_->File("short.key")});
  EXPECT_EQ(payout_code, 2) << payout_err;
  EXPECT_NE(payout_err.find("payout: --previous-master-key-file: key file " +
                            dir_->File("short.key") + " must hold 32 raw bytes"),
            std::string::npos)
      << payout_err;

  // And with good files both services start and stop cleanly.
  for (const auto& [name, argv] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"intake-ok",
            {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
             "--master-key-file", dir_->File("new.key"), "--previous-master-key-file",
             dir_->File("old.key")}},
           {"payout-ok",
            {CLAIMS_PAYOUT_BINARY, "--master-key-file", dir_->File("new.key"),
             "--previous-master-key-file", dir_->File("old.key"), "--session-timeout", "6s"}}}) {
    services_.push_back(ctl_test::StartService(*dir_, name, argv, bootstrap,
                                               {{"CLAIMS_BUSINESS_DATE", kBusinessDate}}));
    EXPECT_FALSE(services_.back().address.empty()) << name;
    EXPECT_EQ(*services_.back().child.Stop(15s), 0) << name;
  }
}

}  // namespace
}  // namespace claims::ctl
