// The partner and reviewer commands of claimsctl against the real intake and adjudication
// binaries around the dev broker: bulk enrollment from CSV with a reject list naming line and
// field, one enrollment, a claim submitted, followed to REFERRED, found in the review queue,
// approved, and seen APPROVED.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "libs/identity/resident_id.h"
#include "tests/e2e/claimsctl/cli_runner.h"
#include "tests/support/dev_broker.h"

namespace claims {
namespace {

using namespace std::chrono_literals;

using ctl_test::CliRun;

std::string ResidentId(const std::string& first17) {
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

class ClaimsctlClientE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Result<test_support::TempDir> dir = test_support::TempDir::Create("claimsctl-client-e2e");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    ctl_test::WriteIntakeKeys(*dir_);
  }

  // Starts a service binary and returns its gRPC address.
  std::string Start(const std::string& name, std::vector<std::string> argv) {
    services_.push_back(ctl_test::StartService(*dir_, name, std::move(argv),
                                               broker_->bootstrap_servers(),
                                               {{"CLAIMS_BUSINESS_DATE", "2024-06-01"}}));
    return services_.back().address;
  }

  CliRun Claimsctl(const std::vector<std::string>& args) {
    return ctl_test::RunCli(*dir_, CLAIMS_CLAIMSCTL_BINARY, args);
  }

  CliRun Until(const std::vector<std::string>& args,
               const std::function<bool(const CliRun&)>& done) {
    return ctl_test::RunCliUntil(*dir_, CLAIMS_CLAIMSCTL_BINARY, args, done);
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::vector<ctl_test::Service> services_;
};

TEST_F(ClaimsctlClientE2eTest, EnrollSubmitReviewAndFollowAClaim) {
  const std::string intake =
      Start("intake", {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
                       "--master-key-file", dir_->File("master.key")});
  const std::string review =
      Start("adjudication", {CLAIMS_ADJUDICATION_BINARY, "--plans-dir", CLAIMS_PLANS_DIR,
                             "--session-timeout", "6s", "--business-date", "2024-06-01"});
  const std::vector<std::string> partner = {"--target", intake, "--insecure-dev", "--principal",
                                            "partner:P1"};
  auto with = ctl_test::Concat;

  // Bulk: line 2 good, line 3 a bad gender (refused locally), line 4 a card failing the Luhn
  // check (refused by intake), line 5 good.
  const std::string csv = dir_->File("members.csv");
  std::ofstream(csv) << "idempotency_key,resident_id_number,name,phone,gender,occupation,"
                        "plan_year,start_date,bank_card_number,bank_name\n"
                     << "b1," << ResidentId("11010519900512002") << ",王五,,FEMALE,COURIER,2024,"
                     << "2024-01-01,6222020200112233446,建设银行\n"
                     << "b2," << ResidentId("11010519900512014") << ",赵六,,MAN,COURIER,2024,"
                     << "2024-01-01,6222020200112233446,建设银行\n"
                     << "b3," << ResidentId("11010519900512024") << ",钱七,,FEMALE,COURIER,2024,"
                     << "2024-01-01,6222020200112233445,建设银行\n"
                     << "b4," << ResidentId("11010519850301035") << ",孙八,,MALE,TRUCK_DRIVER,"
                     << "2024,2024-01-01,6222020200112233446,建设银行\n";
  CliRun bulk = Claimsctl(with({"enroll", "--csv", csv, "-o", "csv"}, partner));
  EXPECT_EQ(bulk.exit_code, 1) << bulk.out << bulk.err;
  EXPECT_NE(bulk.out.find("3,gender,"), std::string::npos) << bulk.out;
  EXPECT_NE(bulk.out.find("4,"), std::string::npos) << bulk.out;
  EXPECT_EQ(bulk.out.find("\n2,"), std::string::npos) << bulk.out;
  EXPECT_EQ(bulk.out.find("\n5,"), std::string::npos) << bulk.out;
  EXPECT_NE(bulk.err.find("2 accepted"), std::string::npos) << bulk.err;

  // One member, by flags.
  CliRun enrolled = Claimsctl(with({"enroll",
                                    "--idempotency-key",
                                    "e1",
                                    "--resident-id",
                                    ResidentId("11010519900512040"),
                                    "--name",
                                    "周九",
                                    "--gender",
                                    "FEMALE",
                                    "--occupation",
                                    "FOOD_DELIVERY",
                                    "--plan-year",
                                    "2024",
                                    "--start-date",
                                    "2024-01-01",
                                    "--bank-card",
                                    "6222020200112233446",
                                    "--bank-name",
                                    "建设银行",
                                    "-o",
                                    "json"},
                                   partner));
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.out << enrolled.err;
  const std::string member = nlohmann::json::parse(enrolled.out)["member_id"];

  // A claim without MEDICAL_RECEIPTS: the engine refers it to review.
  CliRun submitted = Claimsctl(with({"claim", "submit", "--idempotency-key", "c1", "--member",
                                     member, "--coverage", "ACCIDENTAL_INJURY", "--incident-date",
                                     "2024-03-10", "--amount-fen", "210000", "-o", "json"},
                                    partner));
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
  const std::string claim = nlohmann::json::parse(submitted.out)["claim_id"];

  CliRun status =
      Until(with({"claim", "status", claim, "-o", "json"}, partner),
            [](const CliRun& r) { return r.out.find("REFERRED") != std::string::npos; });
  ASSERT_NE(status.out.find("\"outcome\": \"REFERRED\""), std::string::npos) << status.out;

  const std::vector<std::string> reviewer = {"--target", review, "--insecure-dev", "--principal",
                                             "reviewer:alice"};
  CliRun queue = Until(with({"review", "queue", "-o", "csv"}, reviewer),
                       [&](const CliRun& r) { return r.out.find(claim) != std::string::npos; });
  ASSERT_NE(queue.out.find(claim + ",ACCIDENTAL_INJURY,"), std::string::npos) << queue.out;

  CliRun approved = Claimsctl(
      with({"review", "approve", claim, "--revision", "1", "--note", "receipts seen", "-o", "json"},
           reviewer));
  ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
  EXPECT_NE(approved.out.find("\"outcome\": \"APPROVED\""), std::string::npos) << approved.out;

  status = Until(with({"claim", "status", claim, "-o", "json"}, partner),
                 [](const CliRun& r) { return r.out.find("APPROVED") != std::string::npos; });
  EXPECT_NE(status.out.find("\"outcome\": \"APPROVED\""), std::string::npos) << status.out;

  // A bad request: INVALID_ARGUMENT, exit 2, the field named on stderr.
  CliRun bad = Claimsctl(with({"claim", "submit", "--idempotency-key", "c2", "--member", member,
                               "--coverage", "ACCIDENTAL_INJURY", "--incident-date", "2024-13-40"},
                              partner));
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("incident_date"), std::string::npos) << bad.err;
  // Nobody listening: exit 3.
  CliRun down = Claimsctl(
      {"claim", "status", claim, "--target", "127.0.0.1:1", "--insecure-dev", "--timeout", "2"});
  EXPECT_EQ(down.exit_code, 3) << down.err;

  for (ctl_test::Service& s : services_) EXPECT_EQ(*s.child.Stop(15s), 0);
}

}  // namespace
}  // namespace claims
