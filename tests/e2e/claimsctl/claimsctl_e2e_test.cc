// claimsctl against a live pipeline: the dev broker and the adjudication binary as child
// processes, a generated history published to intake.events.v1, then `claimsctl export`,
// `audit` (from the file and from the cluster), `report` and `claim history` run as child
// processes, as an auditor would run them. A forged decision published to the cluster is named.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/event_log.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "tests/bench/history.h"
#include "tests/e2e/claimsctl/cli_runner.h"
#include "tests/support/dev_broker.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace ev = ::mutualaid::events::v1;

using ctl_test::CliRun;

class ClaimsctlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Result<test_support::TempDir> dir = test_support::TempDir::Create("claimsctl-e2e");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    bus::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap_servers();
    po.linger_ms = 1;
    producer_ = std::move(bus::Producer::Create(po)).value();
  }

  // Runs claimsctl with `args`; bounded by `timeout`.
  CliRun Claimsctl(const std::vector<std::string>& args, std::chrono::seconds timeout = 120s) {
    return ctl_test::RunCli(*dir_, CLAIMS_CLAIMSCTL_BINARY, args, timeout);
  }

  void Publish(const std::vector<ev::Envelope>& events, const char* topic) {
    std::vector<bus::OutgoingMessage> batch;
    for (const ev::Envelope& e : events) batch.push_back(events::EnvelopeRecord(topic, e));
    for (const bus::Delivery& d : producer_->ProduceAll(batch, 30s)) {
      ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    }
  }

  // Records now in `topic` (sum of high watermarks).
  int64_t Count(const char* topic) {
    bus::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap_servers();
    auto consumer = std::move(bus::Consumer::Create(co)).value();
    int64_t total = 0;
    for (int p = 0; p < 12; ++p) {
      Result<std::pair<int64_t, int64_t>> marks = consumer->Watermarks({topic, p}, 5s);
      if (marks.ok()) total += marks->second - marks->first;
    }
    return total;
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::unique_ptr<bus::Producer> producer_;
};

TEST_F(ClaimsctlE2eTest, ExportOfALivePipelineAuditsCleanAndAForgeryIsNamed) {
  // A small history: 40 members over one year, many claims, reviews and appeals.
  bench::HistoryShape shape;
  shape.members = 40;
  shape.years = 1;
  shape.first_year = 2024;
  shape.claims_per_thousand_member_years = 700;
  const std::vector<domain::Input> history = bench::GenerateHistory(shape);
  std::vector<ev::Envelope> inputs;
  for (size_t i = 0; i < history.size(); ++i) {
    inputs.push_back(
        codec::EncodeInput(history[i], "E" + std::to_string(i + 1), audit::kDefaultPlanId));
  }
  // What adjudication must publish, by the auditor's own fold.
  Result<audit::PlanSet> plans = audit::PlanSet::Load(CLAIMS_PLANS_DIR, audit::kDefaultPlanId);
  ASSERT_TRUE(plans.ok());
  audit::Refolder refolder(*plans);
  audit::RefoldStep step;
  int64_t expected_outputs = 0;
  std::string claim_id;
  std::string bytes;
  for (const ev::Envelope& e : inputs) {
    bytes = e.SerializeAsString();
    audit::RecordView record;
    record.topic = events::kIntakeTopic;
    record.key = e.member_id();
    record.envelope = bytes;
    refolder.Apply(record, step);
    if (step.published) ++expected_outputs;
    if (const auto* d = std::get_if<domain::Decision>(&step.output.body); d && claim_id.empty()) {
      claim_id = d->claim;
    }
  }
  ASSERT_GT(expected_outputs, 10);
  Publish(inputs, events::kIntakeTopic);

  test_support::SpawnOptions spawn;
  spawn.stdout_path = dir_->File("adjudication.out");
  spawn.stderr_path = dir_->File("adjudication.log");
  Result<test_support::ChildProcess> adjudication = test_support::ChildProcess::Spawn(
      {CLAIMS_ADJUDICATION_BINARY, "--bootstrap-servers", broker_->bootstrap_servers(),
       "--plans-dir", CLAIMS_PLANS_DIR, "--data-dir", dir_->File("data"), "--listen", "127.0.0.1:0",
       "--metrics-listen", "127.0.0.1:0", "--insecure-dev", "--session-timeout", "6s",
       "--business-date", "2024-06-01"},
      spawn);
  ASSERT_TRUE(adjudication.ok()) << adjudication.status().ToString();
  const auto until = std::chrono::steady_clock::now() + 90s;
  for (int i = 0; i < 900 && std::chrono::steady_clock::now() < until; ++i) {
    if (Count(events::kDecisionsTopic) >= expected_outputs) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(Count(events::kDecisionsTopic), expected_outputs)
      << test_support::ReadFile(spawn.stderr_path).value();
  EXPECT_EQ(*adjudication->Stop(15s), 0);

  // Export, then audit the file.
  const std::string file = dir_->File("log.bin");
  CliRun exported =
      Claimsctl({"export", "--bootstrap-servers", broker_->bootstrap_servers(), "--out", file});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  Result<audit::Manifest> manifest = audit::ReadManifest(audit::ManifestPath(file));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->records, inputs.size() + static_cast<uint64_t>(expected_outputs));
  EXPECT_EQ(manifest->partitions.size(), 36u);  // three topics, twelve partitions each

  // Payout does not run here: approvals without any instruction are counted, not divergences.
  CliRun audited = Claimsctl(
      {"audit", "--file", file, "--plans-dir", CLAIMS_PLANS_DIR, "--allow-unpaid", "-o", "json"});
  ASSERT_EQ(audited.exit_code, 0) << audited.out << audited.err;
  const nlohmann::json report = nlohmann::json::parse(audited.out);
  EXPECT_EQ(report["clean"], true);
  EXPECT_EQ(report["inputs"], inputs.size());
  EXPECT_EQ(report["outputs_matched"], expected_outputs);
  EXPECT_GT(report["unpaid_approvals"], 0);

  // The same plan-year figures from the cluster and from the file.
  CliRun from_file = Claimsctl(
      {"report", "--file", file, "--year", "2024", "--plans-dir", CLAIMS_PLANS_DIR, "-o", "csv"});
  CliRun from_cluster = Claimsctl({"report", "--bootstrap-servers", broker_->bootstrap_servers(),
                                   "--year", "2024", "--plans-dir", CLAIMS_PLANS_DIR, "-o", "csv"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_EQ(from_cluster.exit_code, 0) << from_cluster.err;
  EXPECT_EQ(from_file.out, from_cluster.out);
  EXPECT_NE(from_file.out.find("2024,members,enrolled,40"), std::string::npos) << from_file.out;

  // One claim's story.
  CliRun story = Claimsctl({"claim", "history", claim_id, "--file", file, "-o", "csv"});
  ASSERT_EQ(story.exit_code, 0) << story.err;
  EXPECT_NE(story.out.find("ClaimSubmitted"), std::string::npos) << story.out;
  EXPECT_NE(story.out.find("ClaimDecided"), std::string::npos) << story.out;

  // A forged decision for that claim under an existing (member, sequence): named from the
  // cluster, exit 1.
  bus::ConsumerOptions co;
  co.bootstrap_servers = broker_->bootstrap_servers();
  ev::Envelope original;
  {
    Result<std::unique_ptr<audit::ExportReader>> reader = audit::ExportReader::Open(file);
    ASSERT_TRUE(reader.ok());
    audit::RecordView r;
    for (int i = 0; i < 100000 && *(*reader)->Next(r); ++i) {
      if (r.topic != events::kDecisionsTopic) continue;
      original.ParseFromArray(r.envelope.data(), static_cast<int>(r.envelope.size()));
      ev::ClaimDecided d;
      if (d.ParseFromString(original.payload()) && d.claim_id() == claim_id) break;
    }
  }
  ev::ClaimDecided forged_decision;
  ASSERT_TRUE(forged_decision.ParseFromString(original.payload()));
  ASSERT_EQ(forged_decision.claim_id(), claim_id);
  forged_decision.set_payable_fen(forged_decision.payable_fen() + 1000);
  ev::Envelope forged = codec::Wrap(original.type(), forged_decision);
  original.set_payload(forged.payload());
  original.set_payload_sha256(forged.payload_sha256());
  Publish({original}, events::kDecisionsTopic);
  CliRun tampered = Claimsctl({"audit", "--bootstrap-servers", broker_->bootstrap_servers(),
                               "--plans-dir", CLAIMS_PLANS_DIR, "--allow-unpaid"});
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  EXPECT_NE(tampered.out.find("\n1 divergences\n"), std::string::npos) << tampered.out;
  EXPECT_NE(
      tampered.out.find("claim " + claim_id + ": field envelope (member " + original.member_id() +
                        ", sequence " + std::to_string(original.sequence()) + ")"),
      std::string::npos)
      << tampered.out;
}

TEST_F(ClaimsctlE2eTest, BadInputExitsTwoAndNamesTheFile) {
  CliRun missing = Claimsctl({"audit", "--file", dir_->File("none.bin"), "--plans-dir",
                              CLAIMS_PLANS_DIR, "--no-manifest"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.bin"), std::string::npos) << missing.err;
  CliRun usage = Claimsctl({"audit", "--bogus"});
  EXPECT_EQ(usage.exit_code, 2);
  CliRun help = Claimsctl({"audit", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace claims
