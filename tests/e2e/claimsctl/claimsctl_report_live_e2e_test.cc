// `claimsctl report --live` against `claimsctl report --file` over the whole pipeline: the dev
// broker, intake, adjudication and payout as child processes, and a second adjudication replica
// that joins the group at the end (the first keeps the states of the partitions it gives up). A
// small plan year goes in through claimsctl on three business dates (intake restarted for each):
// enrollments new and renewed across the occupations, claims over four coverages approved,
// denied and referred, a 2023 claim outside the year, an appeal accepted and one rejected, a
// review, a payment batch and a pain.002 that settles some payments and rejects one. Once the
// services have consumed everything (the positions `report --live` prints equal the log ends in
// the export's manifest), the live report and the replay of the export print the same JSON, and
// every figure is the number this data gives. One replica alone, or one named twice, is refused
// with exit 3 naming the partitions.

#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "libs/identity/resident_id.h"
#include "libs/iso20022/iso20022.h"
#include "tests/e2e/claimsctl/cli_runner.h"
#include "tests/support/dev_broker.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
using ctl_test::CliRun;
using ctl_test::Concat;

// The business dates of the year's inputs: claims, then appeals, then the last claim and the
// review (adjudication's date), the batch and the bank's report (payout's).
constexpr char kClaimsDate[] = "2024-05-10";
constexpr char kAppealsDate[] = "2024-05-20";
constexpr char kLastDate[] = "2024-06-01";

nlohmann::json Json(const CliRun& run) {
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

// "section/figure" -> value of a report printed with -o json.
std::map<std::string, std::string> Figures(const nlohmann::json& rows) {
  std::map<std::string, std::string> out;
  if (!rows.is_array()) return out;
  for (const nlohmann::json& r : rows) {
    out[r.value("section", "") + "/" + r.value("figure", "")] = r.value("value", "");
  }
  return out;
}

// The positions `report --live` printed on stderr: "live: TARGET covers TOPIC p@n ..." and
// "live: TARGET read TOPIC p@n ...", as TOPIC -> TARGET -> partition -> next offset.
using Positions = std::map<std::string, std::map<std::string, std::map<int, int64_t>>>;
Positions ParsePositions(const std::string& err) {
  Positions out;
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string live, target, verb, topic, position;
    if (!(words >> live >> target >> verb >> topic) || live != "live:") continue;
    auto& partitions = out[topic][target];
    while (words >> position) {
      const size_t at = position.find('@');
      if (at == std::string::npos) continue;
      partitions[std::stoi(position.substr(0, at))] = std::stoll(position.substr(at + 1));
    }
  }
  return out;
}

class ClaimsctlReportLiveE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Result<test_support::TempDir> dir = test_support::TempDir::Create("claimsctl-report-live");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    ctl_test::WriteIntakeKeys(*dir_);
  }

  void TearDown() override {
    if (!HasFailure()) return;
    ctl_test::PrintLogs(services_);
  }

  ctl_test::Service& Start(const std::string& name, std::vector<std::string> argv,
                           const std::string& business_date) {
    services_.push_back(ctl_test::StartService(*dir_, name, std::move(argv),
                                               broker_->bootstrap_servers(),
                                               {{"CLAIMS_BUSINESS_DATE", business_date}}));
    return services_.back();
  }

  // (Re)starts intake on `business_date`, over the same data dir.
  void StartIntake(const std::string& business_date) {
    if (intake_ != nullptr) {
      ASSERT_EQ(*intake_->child.Stop(15s), 0);
      // Its port file: the next intake writes its own (it must not be read for the new one's).
      std::remove(dir_->File("intake.out").c_str());
    }
    intake_ = &Start("intake",
                     {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
                      "--master-key-file", dir_->File("master.key")},
                     business_date);
    ASSERT_FALSE(intake_->address.empty());
    partner_ = {"--target", intake_->address, "--insecure-dev", "--principal", "partner:P1"};
  }

  CliRun Claimsctl(const std::vector<std::string>& args) {
    return ctl_test::RunCli(*dir_, CLAIMS_CLAIMSCTL_BINARY, args);
  }
  CliRun Until(const std::vector<std::string>& args,
               const std::function<bool(const CliRun&)>& done) {
    return ctl_test::RunCliUntil(*dir_, CLAIMS_CLAIMSCTL_BINARY, args, done);
  }

  // Enrolls the resident for `year` (from 01-01, or `start`); the member id.
  std::string Enroll(const std::string& first17, const std::string& gender,
                     const std::string& occupation, int year, const std::string& start = "") {
    const std::string resident = first17 + identity::ResidentIdCheckCharacter(first17);
    CliRun run = Claimsctl(Concat({"enroll",
                                   "--idempotency-key",
                                   "e-" + first17 + "-" + std::to_string(year),
                                   "--resident-id",
                                   resident,
                                   "--name",
                                   "会员" + first17.substr(14),
                                   "--gender",
                                   gender,
                                   "--occupation",
                                   occupation,
                                   "--plan-year",
                                   std::to_string(year),
                                   "--start-date",
                                   start.empty() ? std::to_string(year) + "-01-01" : start,
                                   "--bank-card",
                                   "6222020200112233446",
                                   "--bank-name",
                                   "建设银行",
                                   "-o",
                                   "json"},
                                  partner_));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return Json(run).value("member_id", "");
  }

  // Submits a claim; its claim id.
  std::string Submit(const std::string& key, const std::string& member, const std::string& coverage,
                     const std::string& incident, int64_t amount, std::vector<std::string> more) {
    CliRun run =
        Claimsctl(Concat(Concat({"claim", "submit", "-o", "json", "--idempotency-key", key,
                                 "--member", member, "--coverage", coverage, "--incident-date",
                                 incident, "--amount-fen", std::to_string(amount)},
                                more),
                         partner_));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return Json(run).value("claim_id", "");
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::deque<ctl_test::Service> services_;  // stable addresses: Start returns references
  ctl_test::Service* intake_ = nullptr;
  std::vector<std::string> partner_;
};

TEST_F(ClaimsctlReportLiveE2eTest, LiveReportEqualsTheReplayFigureByFigure) {
  StartIntake(kClaimsDate);
  const std::vector<std::string> adjudication_argv = {CLAIMS_ADJUDICATION_BINARY, "--plans-dir",
                                                      CLAIMS_PLANS_DIR, "--session-timeout", "6s"};
  ctl_test::Service& adjudication_a = Start("adjudication-a", adjudication_argv, kLastDate);
  const std::string adj_a = adjudication_a.address;
  const std::string payout = Start("payout",
                                   {CLAIMS_PAYOUT_BINARY, "--master-key-file",
                                    dir_->File("master.key"), "--session-timeout", "6s"},
                                   kLastDate)
                                 .address;
  ASSERT_FALSE(adj_a.empty() || payout.empty());
  const std::vector<std::string> operator_ = {"--target", payout, "--insecure-dev", "--principal",
                                              "operator:ops1"};
  const std::vector<std::string> auditor = {"--insecure-dev", "--principal", "auditor:audit1"};

  // Members: 2024 enrollments, two renewing a 2023 one (m1, m3); m7 only in 2023; m8 from 03-01.
  const std::string m1 = Enroll("11010519900512002", "FEMALE", "COURIER", 2023);
  ASSERT_EQ(Enroll("11010519900512002", "FEMALE", "COURIER", 2024), m1);
  const std::string m2 = Enroll("11010519850301035", "MALE", "COURIER", 2024);
  const std::string m3 = Enroll("11010519880720011", "MALE", "FOOD_DELIVERY", 2023);
  ASSERT_EQ(Enroll("11010519880720011", "MALE", "FOOD_DELIVERY", 2024), m3);
  const std::string m4 = Enroll("11010519920101024", "FEMALE", "TRUCK_DRIVER", 2024);
  const std::string m5 = Enroll("11010519870615013", "MALE", "RIDE_HAILING", 2024);
  const std::string m6 = Enroll("11010519950303046", "FEMALE", "OTHER", 2024);
  const std::string m7 = Enroll("11010519800808017", "MALE", "FOOD_DELIVERY", 2023);
  const std::string m8 = Enroll("11010519930909039", "MALE", "TRUCK_DRIVER", 2024, "2024-03-01");
  ASSERT_FALSE(m1.empty() || m2.empty() || m3.empty() || m4.empty() || m5.empty() || m6.empty() ||
               m7.empty() || m8.empty());

  // Claims on 2024-05-10:
  //  c1 approved 351,000 = floor((400,000 - 10,000) * 90%) with the 50,000 condolence;
  //  c2 approved 180,000 = floor((210,000 - 10,000) * 90%), no condolence (< 300,000);
  //  c3 critical illness approved 1,000,000 with the condolence (renewal: no waiting period);
  //  c4 female-specific disease denied (waiting period: new on 01-01, 90 days);
  //  c5 property loss by fire approved 130,000 = 150,000 - 20,000;
  //  c7 referred (early claim: m8 enrolled 03-01, incident 03-05), then denied by a review;
  //  c8 property loss by theft denied (cause not covered); c9 denied (m7 not enrolled in 2024);
  //  c10 a 2023 accident of m1 approved 81,000 (outside the year's figures, paid all the same).
  const std::vector<std::string> receipts = {"--document", "MEDICAL_RECEIPTS"};
  const std::string c1 = Submit("c1", m1, "ACCIDENTAL_INJURY", "2024-03-10", 400000, receipts);
  const std::string c2 = Submit("c2", m2, "ACCIDENTAL_INJURY", "2024-03-12", 210000, receipts);
  const std::string c3 = Submit("c3", m3, "CRITICAL_ILLNESS", "2024-04-01", 0,
                                {"--condition-code", "CI01", "--document", "DIAGNOSIS_REPORT"});
  const std::string c4 = Submit("c4", m4, "FEMALE_SPECIFIC_DISEASE", "2024-02-01", 0,
                                {"--condition-code", "FD01", "--document", "DIAGNOSIS_REPORT"});
  const std::string c5 = Submit("c5", m5, "HOUSEHOLD_PROPERTY_LOSS", "2024-04-10", 150000,
                                {"--cause", "FIRE", "--document", "LOSS_REPORT"});
  const std::string c7 = Submit("c7", m8, "ACCIDENTAL_INJURY", "2024-03-05", 50000, receipts);
  const std::string c8 = Submit("c8", m2, "HOUSEHOLD_PROPERTY_LOSS", "2024-05-01", 50000,
                                {"--cause", "THEFT", "--document", "LOSS_REPORT"});
  const std::string c9 = Submit("c9", m7, "ACCIDENTAL_INJURY", "2024-02-01", 50000, receipts);
  const std::string c10 = Submit("c10", m1, "ACCIDENTAL_INJURY", "2023-11-01", 100000, receipts);
  ASSERT_FALSE(c1.empty() || c2.empty() || c3.empty() || c4.empty() || c5.empty() || c7.empty() ||
               c8.empty() || c9.empty() || c10.empty());

  // 2024-05-20: c4's denial is appealed (accepted: REFERRED since 05-20), and the approved c2
  // too (rejected on arrival).
  StartIntake(kAppealsDate);
  for (const auto& [claim, key] : {std::pair{c4, "ap-c4"}, std::pair{c2, "ap-c2"}}) {
    CliRun appealed = Claimsctl(Concat(
        {"claim", "appeal", claim, "--idempotency-key", key, "--reason", "please look again"},
        partner_));
    ASSERT_EQ(appealed.exit_code, 0) << appealed.out << appealed.err;
  }

  // 2024-06-01: c6 referred (no receipts, referred on 06-01); c7 denied by a review.
  StartIntake(kLastDate);
  const std::string c6 = Submit("c6", m6, "ACCIDENTAL_INJURY", "2024-05-01", 100000, {});
  ASSERT_FALSE(c6.empty());
  const std::vector<std::string> reviewer = {"--target", adj_a, "--insecure-dev", "--principal",
                                             "reviewer:r1"};
  CliRun queue = Until(Concat({"review", "queue", "-o", "json"}, reviewer), [&](const CliRun& r) {
    for (const nlohmann::json& d : Json(r)) {
      if (d.value("claim_id", "") == c7) return true;
    }
    return false;
  });
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  CliRun reviewed =
      Claimsctl(Concat({"review", "deny", c7, "--note", "not an accident"}, reviewer));
  ASSERT_EQ(reviewed.exit_code, 0) << reviewed.out << reviewed.err;

  // The seven payments of the approvals; one batch; the bank settles c1's two, c3's benefit and
  // c10's, rejects c2's, and does not report c3's condolence and c5's benefit yet.
  CliRun list = Until(Concat({"payments", "list", "-o", "json"}, operator_),
                      [](const CliRun& r) { return Json(r).size() == 7; });
  ASSERT_EQ(Json(list).size(), 7u) << list.out << list.err;
  std::map<std::string, std::string> payment;  // "claim/KIND" -> payment id
  for (const nlohmann::json& p : Json(list)) {
    payment[p["claim_id"].get<std::string>() + "/" + p["kind"].get<std::string>()] =
        p["payment_id"].get<std::string>();
  }
  CliRun created = Claimsctl(Concat(
      {"payments", "batch", "create", "--idempotency-key", "batch-1", "-o", "json"}, operator_));
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  iso20022::StatusReport report;
  report.message_id = "RPT-1";
  report.original_message_id = Json(created).value("batch_id", "");
  report.transactions = {
      {payment[c1 + "/BENEFIT"], "ACSC", "", "", std::nullopt},
      {payment[c1 + "/CONDOLENCE"], "ACSC", "", "", std::nullopt},
      {payment[c3 + "/BENEFIT"], "ACSC", "", "", std::nullopt},
      {payment[c10 + "/BENEFIT"], "ACSC", "", "", std::nullopt},
      {payment[c2 + "/BENEFIT"], "RJCT", "AC04", "closed account", std::nullopt}};
  const std::string pain002 = dir_->File("pain002.xml");
  std::ofstream(pain002, std::ios::binary) << iso20022::WritePain002(report, "2024-06-02T10:00:00");
  CliRun imported = Claimsctl(Concat({"payments", "import-status", pain002}, operator_));
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  list = Until(Concat({"payments", "list", "--status", "SETTLED", "-o", "json"}, operator_),
               [](const CliRun& r) { return Json(r).size() == 4; });
  ASSERT_EQ(Json(list).size(), 4u) << list.out;

  // A second adjudication replica joins: half of the partitions move to it (it restores them
  // from the log); the first keeps their member states in its store, which its report must now
  // leave out.
  const std::string adj_b = Start("adjudication-b", adjudication_argv, kLastDate).address;
  ASSERT_FALSE(adj_b.empty());

  // The export: every topic up to its end. The live report is taken once every service has
  // consumed up to there: the fold's partitions and the appeals models' reads at the log ends.
  const std::string log = dir_->File("log.bin");
  CliRun exported =
      Claimsctl({"export", "--bootstrap-servers", broker_->bootstrap_servers(), "--out", log});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const nlohmann::json manifest =
      nlohmann::json::parse(test_support::ReadFile(log + ".manifest.json").value());
  std::map<std::string, std::map<int, int64_t>> log_end;  // topic -> partition -> next offset
  for (const nlohmann::json& p : manifest["partitions"]) {
    if (p["count"].get<int64_t>() == 0) continue;
    log_end[p["topic"].get<std::string>()][p["partition"].get<int>()] =
        p["last_offset"].get<int64_t>() + 1;
  }
  ASSERT_FALSE(log_end["intake.events.v1"].empty());
  const std::vector<std::string> live =
      Concat({"report", "--live", "--adjudication", adj_a + "," + adj_b, "--payout", payout,
              "--year", "2024", "-o", "json"},
             auditor);
  auto caught_up = [&](const CliRun& r) {
    if (r.exit_code != 0) return false;
    const Positions at = ParsePositions(r.err);
    // Both replicas hold partitions (the second has joined), together up to the log ends.
    if (!at.count("intake.events.v1") || at.at("intake.events.v1").size() != 2) return false;
    std::map<int, int64_t> folded;
    for (const auto& [target, partitions] : at.at("intake.events.v1")) {
      if (partitions.empty()) return false;
      for (const auto& [partition, offset] : partitions) {
        if (offset != 0) folded[partition] = offset;
      }
    }
    if (folded != log_end["intake.events.v1"]) return false;
    if (!at.count("adjudication.decisions.v1") || at.at("adjudication.decisions.v1").size() != 2) {
      return false;
    }
    for (const auto& [target, partitions] : at.at("adjudication.decisions.v1")) {
      if (partitions != log_end["adjudication.decisions.v1"]) return false;
    }
    return true;
  };
  CliRun from_services = Until(live, caught_up);
  ASSERT_TRUE(caught_up(from_services)) << from_services.out << from_services.err;
  // Both replicas hold some partitions: the first gave up those the second restored.
  const Positions at = ParsePositions(from_services.err);
  ASSERT_EQ(at.at("intake.events.v1").size(), 2u) << from_services.err;
  for (const auto& [target, partitions] : at.at("intake.events.v1")) {
    EXPECT_FALSE(partitions.empty()) << target << ": " << from_services.err;
  }
  EXPECT_NE(test_support::ReadFile(adjudication_a.log)->find("partition revoked"),
            std::string::npos);

  CliRun replayed = Claimsctl(
      {"report", "--file", log, "--year", "2024", "--plans-dir", CLAIMS_PLANS_DIR, "-o", "json"});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_EQ(Json(from_services), Json(replayed)) << from_services.out << "\n" << replayed.out;
  const std::map<std::string, std::string> expected = {
      {"members/enrolled", "7"},  // m1..m6 and m8; m7 enrolled in 2023 only
      {"members/new", "5"},
      {"members/renewal", "2"},  // m1 and m3
      {"members/COURIER", "2"},
      {"members/FOOD_DELIVERY", "1"},
      {"members/TRUCK_DRIVER", "2"},
      {"members/RIDE_HAILING", "1"},
      {"members/OTHER", "1"},
      {"claims/CRITICAL_ILLNESS/APPROVED", "1"},
      {"claims/CRITICAL_ILLNESS/DENIED", "0"},
      {"claims/CRITICAL_ILLNESS/REFERRED", "0"},
      {"claims/FEMALE_SPECIFIC_DISEASE/APPROVED", "0"},
      {"claims/FEMALE_SPECIFIC_DISEASE/DENIED", "0"},
      {"claims/FEMALE_SPECIFIC_DISEASE/REFERRED", "1"},  // c4, sent back by its appeal
      {"claims/ACCIDENTAL_INJURY/APPROVED", "2"},        // c1, c2
      {"claims/ACCIDENTAL_INJURY/DENIED", "2"},          // c7 (review), c9
      {"claims/ACCIDENTAL_INJURY/REFERRED", "1"},        // c6
      {"claims/CHILD_ACCIDENT/APPROVED", "0"},
      {"claims/CHILD_ACCIDENT/DENIED", "0"},
      {"claims/CHILD_ACCIDENT/REFERRED", "0"},
      {"claims/DEATH_FROM_ILLNESS/APPROVED", "0"},
      {"claims/DEATH_FROM_ILLNESS/DENIED", "0"},
      {"claims/DEATH_FROM_ILLNESS/REFERRED", "0"},
      {"claims/HOUSEHOLD_PROPERTY_LOSS/APPROVED", "1"},  // c5
      {"claims/HOUSEHOLD_PROPERTY_LOSS/DENIED", "1"},    // c8
      {"claims/HOUSEHOLD_PROPERTY_LOSS/REFERRED", "0"},
      {"money/approved_fen", "1661000"},  // 351,000 + 180,000 + 1,000,000 + 130,000
      {"money/condolence_count", "2"},    // c1, c3
      {"money/condolence_fen", "100000"},
      {"money/paid_benefit_fen", "1351000"},   // c1 351,000 + c3 1,000,000 (c10 is 2023's)
      {"money/paid_condolence_fen", "50000"},  // c1's
      {"appeals/received", "2"},
      {"appeals/closed", "1"},  // c2's, rejected on arrival; c4's waits for its review
      {"appeals/closing_rate_permille", "500"},
      {"referrals/open", "2"},              // c4 (since its appeal, 05-20), c6 (06-01)
      {"referrals/oldest_age_days", "12"},  // 06-01 - 05-20
      {"referrals/as_of", kLastDate},       // live: adjudication's date; replay: the log's latest
  };
  EXPECT_EQ(Figures(Json(from_services)), expected) << from_services.out;

  // At another date: the same ages from both.
  CliRun live_later = Claimsctl(Concat(live, {"--as-of", "2024-07-01"}));
  CliRun replayed_later = Claimsctl({"report", "--file", log, "--year", "2024", "--plans-dir",
                                     CLAIMS_PLANS_DIR, "-o", "json", "--as-of", "2024-07-01"});
  ASSERT_EQ(live_later.exit_code, 0) << live_later.err;
  EXPECT_EQ(Json(live_later), Json(replayed_later));
  EXPECT_EQ(Figures(Json(live_later))["referrals/oldest_age_days"], "42");

  // One replica alone misses the other's partitions; one named twice holds them twice: exit 3.
  const std::string held_by_b = [&] {
    std::string list;
    for (const auto& [partition, offset] : at.at("intake.events.v1").at(adj_b)) {
      list += (list.empty() ? "" : ", ") + std::to_string(partition);
    }
    return list;
  }();
  CliRun alone = Claimsctl(
      Concat({"report", "--live", "--adjudication", adj_a, "--payout", payout, "--year", "2024"},
             auditor));
  EXPECT_EQ(alone.exit_code, 3) << alone.out << alone.err;
  EXPECT_NE(alone.err.find("no replica holds partitions " + held_by_b), std::string::npos)
      << alone.err;
  CliRun twice =
      Claimsctl(Concat({"report", "--live", "--adjudication", adj_a + "," + adj_b + "," + adj_b,
                        "--payout", payout, "--year", "2024"},
                       auditor));
  EXPECT_EQ(twice.exit_code, 3) << twice.err;
  EXPECT_NE(twice.err.find("held twice: "), std::string::npos) << twice.err;
  // A partner may not read the report.
  CliRun partner =
      Claimsctl({"report", "--live", "--adjudication", adj_a + "," + adj_b, "--payout", payout,
                 "--year", "2024", "--insecure-dev", "--principal", "partner:P1"});
  EXPECT_EQ(partner.exit_code, 1) << partner.err;
  EXPECT_NE(partner.err.find("PERMISSION_DENIED"), std::string::npos) << partner.err;

  for (ctl_test::Service& s : services_) {
    if (s.child.Running()) {
      EXPECT_EQ(*s.child.Stop(15s), 0) << s.log;
    }
  }
}

}  // namespace
}  // namespace claims
