// report --live against the replay, on one generated history of two plan years (enrollments and
// renewals, terminations, claims of all six coverages, reviews, appeals accepted and late,
// payments settled and failed): the history is written as an export through the engine; the
// replay report reads the file; two adjudication "replicas" (the real fold over RocksDB on disk,
// the report handler, the appeals model) fold its inputs, each holding half of the partitions
// (one also keeps the states of partitions it held before); CombineFigures of their answers, with
// the settled money they sum, gives exactly the replay's rows. CheckCoverage refuses replicas
// that miss a partition or hold one twice, naming them.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "libs/events/topics.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/plans.h"
#include "services/adjudication/report.h"
#include "tests/bench/history.h"
#include "tests/support/temp_dir.h"
#include "tools/claimsctl/audit/generator.h"
#include "tools/claimsctl/report_command.h"

namespace claims::ctl {
namespace {

namespace ev = ::mutualaid::events::v1;
using adjudication::KafkaPartitionOf;

constexpr int32_t kPartitions = 6;

// One adjudication replica over its own store, folding what it is given, holding what its
// processor would hold.
class Replica {
 public:
  Replica(const std::string& dir, const adjudication::PlanRegistry& plans, Date today)
      : clock_(today) {
    store::StoreOptions options;
    options.sync_writes = false;
    options.column_families = adjudication::AdjudicationColumnFamilies();
    for (const std::string& cf : adjudication::ReportColumnFamilies()) {
      options.column_families.push_back(cf);
    }
    Result<std::unique_ptr<store::StateStore>> opened = store::StateStore::Open(dir, options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    appeals_ = std::make_unique<adjudication::AppealsModel>(*store_);
    handler_ = std::make_unique<adjudication::ReportHandler>(
        adjudication::ReportSources{*store_, held_, *appeals_, partitions_, clock_});
    factory_ = held_.Track(adjudication::AdjudicationFoldFactory(plans));
  }

  // Folds an input record of intake.events.v1 (its partition: the member's murmur2 partition).
  void FoldInput(const std::string& key, const std::string& envelope) {
    const int32_t partition = KafkaPartitionOf(key, kPartitions);
    auto& fold = folds_[partition];
    if (fold == nullptr) {
      Result<std::unique_ptr<processor::PartitionFold>> opened = factory_(partition, *store_);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      fold = std::move(opened).value();
    }
    bus::Message m;
    m.topic = events::kIntakeTopic;
    m.partition = partition;
    m.offset = next_[partition]++;
    m.has_key = true;
    m.key = key;
    m.value = envelope;
    store::WriteBatch batch;
    std::vector<bus::OutgoingMessage> outputs;
    ASSERT_TRUE(fold->Apply(m, batch, outputs).ok());
    ASSERT_TRUE(fold->Finish(batch).ok());
    batch.SetOffset(events::kIntakeTopic, partition, next_[partition]);
    ASSERT_TRUE(store_->Write(batch).ok());
  }

  // Follows one record of adjudication.decisions.v1 into the appeals model.
  void FollowDecision(const std::string& envelope) {
    bus::Message m;
    m.topic = events::kDecisionsTopic;
    m.value = envelope;
    store::WriteBatch batch;
    adjudication::AppealFollower::Stage(m, batch);
    ASSERT_TRUE(store_->Write(batch).ok());
  }

  void Revoke(int32_t partition) { folds_.erase(partition); }
  adjudication::ReportHandler& handler() { return *handler_; }

 private:
  std::unique_ptr<store::StateStore> store_;
  adjudication::HeldPartitions held_;
  std::unique_ptr<adjudication::AppealsModel> appeals_;
  std::atomic<int32_t> partitions_{kPartitions};
  runtime::FixedBusinessClock clock_;
  std::unique_ptr<adjudication::ReportHandler> handler_;
  processor::FoldFactory factory_;
  std::map<int32_t, std::unique_ptr<processor::PartitionFold>> folds_;
  std::map<int32_t, int64_t> next_;
};

class ReportLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<test_support::TempDir> dir = test_support::TempDir::Create("report-live");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    Result<audit::PlanSet> plans = audit::PlanSet::Load(CLAIMS_PLANS_DIR, audit::kDefaultPlanId);
    ASSERT_TRUE(plans.ok()) << plans.status().ToString();
    plans_.emplace(std::move(plans).value());
    Result<adjudication::PlanRegistry> registry =
        adjudication::PlanRegistry::Load(CLAIMS_PLANS_DIR, audit::kDefaultPlanId);
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_.emplace(std::move(registry).value());

    bench::HistoryShape shape;
    shape.members = 1500;
    shape.years = 2;
    shape.first_year = 2023;
    shape.claims_per_thousand_member_years = 400;  // many claims, reviews and appeals
    export_ = dir_->File("history.bin");
    Result<std::unique_ptr<audit::ExportWriter>> writer = audit::ExportWriter::Create(export_);
    ASSERT_TRUE(writer.ok());
    audit::GenerateOptions options;
    options.fail_one_in = 7;  // some payments fail (and are re-issued)
    Result<audit::GenerateSummary> summary =
        audit::GenerateExport(bench::GenerateHistory(shape), *plans_, options, **writer);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    ASSERT_TRUE((*writer)->Finish().ok());
  }

  // The replay's rows.
  std::vector<audit::ReportRow> Replayed(int year, std::optional<Date> as_of) {
    Result<std::unique_ptr<audit::ExportReader>> reader = audit::ExportReader::Open(export_);
    EXPECT_TRUE(reader.ok());
    audit::ReportOptions options;
    options.plan_year = year;
    options.as_of = as_of;
    Result<std::vector<audit::ReportRow>> rows = audit::BuildReport(**reader, *plans_, options);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<audit::ReportRow>{};
  }

  std::optional<test_support::TempDir> dir_;
  std::optional<audit::PlanSet> plans_;
  std::optional<adjudication::PlanRegistry> registry_;
  std::string export_;
};

TEST_F(ReportLiveTest, TwoReplicasTogetherGiveTheReplaysRowsForEveryYear) {
  // The log's latest business date: the replicas' business date, so that the default as-of
  // dates agree too.
  Result<std::unique_ptr<audit::ExportReader>> reader = audit::ExportReader::Open(export_);
  ASSERT_TRUE(reader.ok());
  std::vector<std::pair<std::string, std::string>> inputs;  // key, envelope
  std::vector<std::string> decisions;
  std::map<std::string, report_api::PaidClaim> paid;  // settled money per claim
  std::set<std::pair<std::string, uint64_t>> settled_seen;
  std::optional<Date> latest;
  audit::RecordView record;
  while (true) {
    Result<bool> next = (*reader)->Next(record);
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size())));
    if (record.topic == events::kIntakeTopic) {
      inputs.emplace_back(std::string(record.key), std::string(record.envelope));
      if (auto d = Date::Parse(e.business_date()); d && (!latest || *d > *latest)) latest = d;
    } else if (record.topic == events::kDecisionsTopic) {
      decisions.emplace_back(record.envelope);
    } else if (e.type() == "mutualaid.events.v1.PaymentSettled" &&
               settled_seen.insert({e.event_id(), e.sequence()}).second) {
      ev::PaymentSettled p;
      ASSERT_TRUE(p.ParseFromString(e.payload()));
      report_api::PaidClaim& c = paid[p.claim_id()];
      c.set_claim_id(p.claim_id());
      c.set_member_id(p.member_id());
      if (p.kind() == ev::CONDOLENCE) {
        c.set_condolence_fen(c.condolence_fen() + p.amount_fen());
      } else {
        c.set_benefit_fen(c.benefit_fen() + p.amount_fen());
      }
    }
  }
  ASSERT_TRUE(latest.has_value());
  ASSERT_GT(paid.size(), 100u);

  // Replica A held every partition, then lost 3, 4 and 5 to replica B (their states stay in A's
  // store); B folds only its own.
  Replica a(dir_->File("a"), *registry_, *latest);
  Replica b(dir_->File("b"), *registry_, *latest);
  for (const auto& [key, envelope] : inputs) {
    a.FoldInput(key, envelope);
    if (KafkaPartitionOf(key, kPartitions) >= 3) b.FoldInput(key, envelope);
  }
  for (int32_t p = 3; p < kPartitions; ++p) a.Revoke(p);
  for (const std::string& d : decisions) {
    a.FollowDecision(d);
    b.FollowDecision(d);
  }

  int checked_appeals = 0, checked_referrals = 0;
  for (int year : {2023, 2024}) {
    for (std::optional<Date> as_of : {std::optional<Date>(), Date::Parse("2025-03-01")}) {
      report_api::GetPlanYearFiguresRequest request;
      request.set_plan_year(year);
      if (as_of) request.set_as_of(as_of->ToString());
      std::vector<report_api::GetPlanYearFiguresResponse> figures;
      std::vector<ReplicaPartitions> coverage;
      for (Replica* r : {&a, &b}) {
        Result<report_api::GetPlanYearFiguresResponse> f = r->handler().Figures(request);
        ASSERT_TRUE(f.ok()) << f.status().ToString();
        ReplicaPartitions held{r == &a ? "a" : "b", f->partition_count(), {}};
        for (const auto& p : f->partitions()) held.partitions.push_back(p.partition());
        coverage.push_back(held);
        figures.push_back(*f);
      }
      EXPECT_EQ(coverage[0].partitions, (std::vector<int32_t>{0, 1, 2}));
      EXPECT_EQ(coverage[1].partitions, (std::vector<int32_t>{3, 4, 5}));
      ASSERT_TRUE(CheckCoverage(coverage).ok());

      report_api::SumPaidClaimsRequest sum;
      sum.set_plan_year(year);
      for (const auto& [claim, c] : paid) *sum.add_claims() = c;
      Fen benefit = 0, condolence = 0;
      for (Replica* r : {&a, &b}) {
        Result<report_api::SumPaidClaimsResponse> s = r->handler().SumPaid(sum);
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        benefit += s->benefit_fen();
        condolence += s->condolence_fen();
      }

      const std::vector<audit::ReportRow> live =
          CombineFigures(figures, benefit, condolence, as_of);
      const std::vector<audit::ReportRow> replayed = Replayed(year, as_of);
      ASSERT_EQ(live.size(), replayed.size());
      for (size_t i = 0; i < live.size(); ++i) {
        EXPECT_EQ(live[i], replayed[i])
            << year << " " << replayed[i].section << "/" << replayed[i].key << ": live "
            << live[i].value << live[i].text << ", replayed " << replayed[i].value
            << replayed[i].text;
        if (replayed[i].section == "appeals" && replayed[i].key == "received") {
          checked_appeals += static_cast<int>(replayed[i].value);
        }
        if (replayed[i].section == "referrals" && replayed[i].key == "open") {
          checked_referrals += static_cast<int>(replayed[i].value);
        }
      }
    }
  }
  // The history exercised what is hard to get right.
  EXPECT_GT(checked_appeals, 0);
  EXPECT_GT(checked_referrals, 0);
}

TEST(CheckCoverageTest, NamesMissingAndTwiceHeldPartitions) {
  EXPECT_TRUE(CheckCoverage({{"a:1", 4, {0, 2}}, {"b:1", 4, {1, 3}}}).ok());
  Status missing = CheckCoverage({{"a:1", 4, {0, 2}}, {"b:1", 4, {1}}});
  EXPECT_EQ(missing.code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.message().find("no replica holds partitions 3"), std::string::npos)
      << missing.message();
  Status twice = CheckCoverage({{"a:1", 4, {0, 1, 2, 3}}, {"a:1", 4, {0, 1, 2, 3}}});
  EXPECT_NE(twice.message().find("held twice: 0 by a:1 and a:1; 1 by"), std::string::npos)
      << twice.message();
  Status counts = CheckCoverage({{"a:1", 4, {0, 1, 2, 3}}, {"b:1", 6, {}}});
  EXPECT_NE(counts.message().find("disagree on the partition count"), std::string::npos)
      << counts.message();
}

}  // namespace
}  // namespace claims::ctl
