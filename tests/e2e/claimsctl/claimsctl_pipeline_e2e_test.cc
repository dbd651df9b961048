// claimsctl's payment, watch and appeal commands against the whole pipeline: the dev broker,
// intake, adjudication and payout binaries as child processes, one set-up for the whole story.
// Members enrolled and claims submitted through claimsctl are decided and instructed; `payments
// list` shows the approved claims' payments with exact amounts; `payments batch create` and
// `batch get --xml-out` write a pain.001 whose NbOfTxs and CtrlSum match; `payments
// import-status` of the bank's pain.002 settles and fails the named payments while a `claim
// watch` started before it streams the claim to PAID and exits 0; `claim appeal` is accepted,
// idempotent, and refused for another partner's claim; bad files exit 2 naming the file, and a
// stopped service exits 3.

#include <gtest/gtest.h>

#include <fstream>
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

constexpr char kBusinessDate[] = "2024-06-01";

std::string ResidentId(const std::string& first17) {
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

// The text of the first <name>...</name> in `xml`.
std::string Element(const std::string& xml, const std::string& name) {
  const size_t start = xml.find("<" + name + ">");
  if (start == std::string::npos) return "";
  const size_t from = start + name.size() + 2;
  return xml.substr(from, xml.find("</" + name + ">", from) - from);
}

// The JSON lines of a watch's output.
std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!line.empty()) out.push_back(j.is_discarded() ? nlohmann::json::object() : j);
  }
  return out;
}

// A command's JSON output; an empty object when it printed none.
nlohmann::json Json(const CliRun& run) {
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

class ClaimsctlPipelineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<test_support::DevBroker>> broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Result<test_support::TempDir> dir = test_support::TempDir::Create("claimsctl-pipeline-e2e");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    ctl_test::WriteIntakeKeys(*dir_);
  }

  void TearDown() override {
    if (!HasFailure()) return;
    ctl_test::PrintLogs(services_);
  }

  std::string StartService(const std::string& name, std::vector<std::string> argv) {
    services_.push_back(ctl_test::StartService(*dir_, name, std::move(argv),
                                               broker_->bootstrap_servers(),
                                               {{"CLAIMS_BUSINESS_DATE", kBusinessDate}}));
    return services_.back().address;
  }

  CliRun Claimsctl(const std::vector<std::string>& args) {
    return ctl_test::RunCli(*dir_, CLAIMS_CLAIMSCTL_BINARY, args);
  }
  CliRun Until(const std::vector<std::string>& args,
               const std::function<bool(const CliRun&)>& done) {
    return ctl_test::RunCliUntil(*dir_, CLAIMS_CLAIMSCTL_BINARY, args, done);
  }

  // Enrolls a member for 2024 through claimsctl; its member id.
  std::string Enroll(const std::string& key, const std::string& resident_id,
                     const std::string& gender, const std::string& occupation) {
    CliRun run = Claimsctl(Concat(
        {"enroll",      "--idempotency-key",   key,           "--resident-id", resident_id,
         "--name",      "会员" + key,          "--gender",    gender,          "--occupation",
         occupation,    "--plan-year",         "2024",        "--start-date",  "2024-01-01",
         "--bank-card", "6222020200112233446", "--bank-name", "建设银行",      "-o",
         "json"},
        partner_));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return Json(run).value("member_id", "");
  }

  // Submits a claim through claimsctl; its claim id.
  std::string Submit(const std::vector<std::string>& args) {
    CliRun run = Claimsctl(Concat(Concat({"claim", "submit", "-o", "json"}, args), partner_));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    return Json(run).value("claim_id", "");
  }

  std::unique_ptr<test_support::DevBroker> broker_;
  std::optional<test_support::TempDir> dir_;
  std::vector<ctl_test::Service> services_;
  std::vector<std::string> partner_;
};

TEST_F(ClaimsctlPipelineE2eTest, PaymentsBatchStatusReportWatchAndAppealThroughThePipeline) {
  const std::string intake = StartService(
      "intake", {CLAIMS_INTAKE_BINARY, "--pseudonym-key-file", dir_->File("pseudonym.key"),
                 "--master-key-file", dir_->File("master.key")});
  const std::string review =
      StartService("adjudication", {CLAIMS_ADJUDICATION_BINARY, "--plans-dir", CLAIMS_PLANS_DIR,
                                    "--session-timeout", "6s", "--business-date", kBusinessDate});
  const std::string payout =
      StartService("payout", {CLAIMS_PAYOUT_BINARY, "--master-key-file", dir_->File("master.key"),
                              "--session-timeout", "6s", "--business-date", kBusinessDate});
  ASSERT_FALSE(intake.empty() || review.empty() || payout.empty());
  partner_ = {"--target", intake, "--insecure-dev", "--principal", "partner:P1"};
  const std::vector<std::string> other_partner = {"--target", intake, "--insecure-dev",
                                                  "--principal", "partner:P2"};
  const std::vector<std::string> operator_ = {"--target", payout, "--insecure-dev", "--principal",
                                              "operator:ops1"};
  const std::vector<std::string> auditor = {"--target", payout, "--insecure-dev", "--principal",
                                            "auditor:audit1"};

  // Three members; A's accident is approved with a condolence (payable floor((400,000 - 10,000)
  // * 90 / 100) = 351,000 >= 300,000), B's without (floor(200,000 * 0.9) = 180,000), C's
  // property loss by theft is denied.
  const std::string a = Enroll("m-a", ResidentId("11010519900512002"), "FEMALE", "COURIER");
  const std::string b = Enroll("m-b", ResidentId("11010519850301035"), "MALE", "TRUCK_DRIVER");
  const std::string c = Enroll("m-c", ResidentId("11010519900512040"), "FEMALE", "FOOD_DELIVERY");
  ASSERT_FALSE(a.empty() || b.empty() || c.empty());
  const std::string claim_a = Submit({"--idempotency-key", "c-a", "--member", a, "--coverage",
                                      "ACCIDENTAL_INJURY", "--incident-date", "2024-03-10",
                                      "--amount-fen", "400000", "--document", "MEDICAL_RECEIPTS"});
  const std::string claim_b = Submit({"--idempotency-key", "c-b", "--member", b, "--coverage",
                                      "ACCIDENTAL_INJURY", "--incident-date", "2024-03-12",
                                      "--amount-fen", "210000", "--document", "MEDICAL_RECEIPTS"});
  const std::string claim_c =
      Submit({"--idempotency-key", "c-c", "--member", c, "--coverage", "HOUSEHOLD_PROPERTY_LOSS",
              "--incident-date", "2024-04-01", "--amount-fen", "50000", "--cause", "THEFT",
              "--document", "LOSS_REPORT"});
  ASSERT_FALSE(claim_a.empty() || claim_b.empty() || claim_c.empty());

  // payments list: the approved claims' payments, exact amounts; none for the denied claim.
  CliRun list = Until(Concat({"payments", "list", "--member", a, "-o", "json"}, auditor),
                      [](const CliRun& r) {
                        const nlohmann::json j = Json(r);
                        return r.exit_code == 0 && j.is_array() && j.size() == 2;
                      });
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json rows = Json(list);
  ASSERT_EQ(rows.size(), 2u) << list.out;
  std::map<std::string, nlohmann::json> a_by_kind;
  for (const nlohmann::json& p : rows) a_by_kind[p["kind"].get<std::string>()] = p;
  ASSERT_EQ(a_by_kind.count("BENEFIT"), 1u) << list.out;
  ASSERT_EQ(a_by_kind.count("CONDOLENCE"), 1u) << list.out;
  EXPECT_EQ(a_by_kind["BENEFIT"]["amount_fen"], 351000);
  EXPECT_EQ(a_by_kind["CONDOLENCE"]["amount_fen"], 50000);
  for (const auto& [kind, p] : a_by_kind) {
    EXPECT_EQ(p["claim_id"], claim_a);
    EXPECT_EQ(p["member_id"], a);
    EXPECT_EQ(p["status"], "INSTRUCTED");
    EXPECT_EQ(p["issue"], 1);
  }
  const std::string a_benefit = a_by_kind["BENEFIT"]["payment_id"];
  const std::string a_condolence = a_by_kind["CONDOLENCE"]["payment_id"];
  list = Until(Concat({"payments", "list", "--claim", claim_b, "-o", "json"}, auditor),
               [](const CliRun& r) { return Json(r).size() == 1; });
  ASSERT_EQ(Json(list).size(), 1u) << list.out << list.err;
  const std::string b_benefit = Json(list)[0]["payment_id"];
  list = Claimsctl(Concat({"payments", "list", "--claim", claim_b, "-o", "csv"}, auditor));
  EXPECT_EQ(list.out,
            "payment_id,claim_id,member_id,kind,amount_fen,status,issue,batch_id,bank_status,"
            "reason_code,replaces,replaced_by\n" +
                b_benefit + "," + claim_b + "," + b + ",BENEFIT,180000,INSTRUCTED,1,,,,,\n");
  CliRun status = Until(Concat({"claim", "status", claim_c, "-o", "json"}, partner_),
                        [](const CliRun& r) { return Json(r).value("status", "") == "DENIED"; });
  ASSERT_EQ(Json(status).value("status", ""), "DENIED") << status.out << status.err;
  list = Claimsctl(Concat({"payments", "list", "--claim", claim_c, "-o", "json"}, auditor));
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json(list), nlohmann::json::array()) << list.out;
  list = Claimsctl(Concat({"payments", "list", "--status", "INSTRUCTED", "-o", "json"}, auditor));
  EXPECT_EQ(Json(list).size(), 3u) << list.out;
  list = Claimsctl(Concat({"payments", "list", "--limit", "2", "-o", "json"}, auditor));
  EXPECT_EQ(Json(list).size(), 2u) << list.out;
  // Page tokens are followed to the end: pages of one give the same three rows, in order.
  CliRun paged = Claimsctl(Concat({"payments", "list", "--page-size", "1", "-o", "json"}, auditor));
  CliRun whole = Claimsctl(Concat({"payments", "list", "-o", "json"}, auditor));
  EXPECT_EQ(Json(paged).size(), 3u) << paged.out << paged.err;
  EXPECT_EQ(Json(paged), Json(whole));
  list = Claimsctl(
      Concat({"payments", "list", "--page-size", "2", "--limit", "3", "-o", "json"}, auditor));
  EXPECT_EQ(Json(list), Json(whole));
  // Partners do not see payout's API.
  CliRun denied = Claimsctl(Concat(
      {"payments", "list"}, {"--target", payout, "--insecure-dev", "--principal", "partner:P1"}));
  EXPECT_EQ(denied.exit_code, 1) << denied.err;
  EXPECT_NE(denied.err.find("PERMISSION_DENIED"), std::string::npos) << denied.err;

  // A watch on A's claim, started while it is APPROVED, before the bank answers.
  CliRun a_status = Until(Concat({"claim", "status", claim_a, "-o", "json"}, partner_),
                          [](const CliRun& r) { return Json(r)["payments"].size() == 2; });
  ASSERT_EQ(Json(a_status).value("status", ""), "APPROVED") << a_status.out;
  ctl_test::CliJob watch = ctl_test::StartCli(
      *dir_, CLAIMS_CLAIMSCTL_BINARY,
      Concat({"claim", "watch", claim_a, "-o", "json", "--timeout", "60"}, partner_), "watch-a");
  for (int i = 0; i < 100; ++i) {  // its first update: the claim as it is now
    Result<std::string> out = test_support::ReadFile(watch.out_path);
    if (out.ok() && out->find('\n') != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }

  // hold and release: the held payment comes back before the batch.
  CliRun held = Claimsctl(Concat({"payments", "hold", a_condolence, "--idempotency-key", "h-1",
                                  "--note", "check the card", "-o", "json"},
                                 operator_));
  ASSERT_EQ(held.exit_code, 0) << held.err;
  EXPECT_EQ(Json(held).value("status", ""), "HELD") << held.out;
  EXPECT_EQ(Json(held).value("held_by", ""), "ops1") << held.out;
  CliRun released = Claimsctl(Concat(
      {"payments", "release", a_condolence, "--idempotency-key", "r-1", "-o", "json"}, operator_));
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_EQ(Json(released).value("status", ""), "INSTRUCTED") << released.out;
  CliRun got_one = Claimsctl(Concat({"payments", "get", a_condolence, "-o", "json"}, auditor));
  EXPECT_EQ(Json(got_one).value("status", ""), "INSTRUCTED") << got_one.out;
  EXPECT_EQ(Json(got_one).value("amount_fen", ""), "50000") << got_one.out;

  // batch create: every instructed payment; the same key answers the same batch.
  CliRun created = Claimsctl(Concat(
      {"payments", "batch", "create", "--idempotency-key", "batch-1", "-o", "json"}, operator_));
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  const nlohmann::json batch = Json(created);
  const std::string batch_id = batch.value("batch_id", "");
  EXPECT_EQ(batch["number_of_transactions"], "3") << created.out;  // int64 in protobuf JSON
  EXPECT_EQ(batch["control_sum_fen"], "581000") << created.out;
  EXPECT_EQ(batch["creation_date"], kBusinessDate);
  CliRun again = Claimsctl(Concat(
      {"payments", "batch", "create", "--idempotency-key", "batch-1", "-o", "json"}, operator_));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Json(again).value("batch_id", ""), batch_id);
  CliRun empty =
      Claimsctl(Concat({"payments", "batch", "create", "--idempotency-key", "batch-2"}, operator_));
  EXPECT_EQ(empty.exit_code, 1) << empty.err;
  EXPECT_NE(empty.err.find("FAILED_PRECONDITION"), std::string::npos) << empty.err;
  CliRun bad_date = Claimsctl(Concat({"payments", "batch", "create", "--idempotency-key", "batch-3",
                                      "--execution-date", "2024-13-01"},
                                     operator_));
  EXPECT_EQ(bad_date.exit_code, 2) << bad_date.err;
  EXPECT_NE(bad_date.err.find("requested_execution_date: must be a date"), std::string::npos)
      << bad_date.err;
  CliRun auditor_batch =
      Claimsctl(Concat({"payments", "batch", "create", "--idempotency-key", "batch-4"}, auditor));
  EXPECT_EQ(auditor_batch.exit_code, 1) << auditor_batch.err;

  // batch get --xml-out: the pain.001 file, its totals those of the batch and of its payments.
  const std::string xml_file = dir_->File("batch.xml");
  CliRun got = Until(
      Concat({"payments", "batch", "get", batch_id, "--xml-out", xml_file, "-o", "json"}, auditor),
      [](const CliRun& r) { return r.exit_code != 3; });  // 3: payees not yet read; retry
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Json(got).value("batch_id", ""), batch_id);
  EXPECT_NE(got.err.find("bytes of pain.001 to " + xml_file), std::string::npos) << got.err;
  const std::string unwritable = dir_->File("no-such-dir/batch.xml");
  CliRun not_written =
      Claimsctl(Concat({"payments", "batch", "get", batch_id, "--xml-out", unwritable}, auditor));
  EXPECT_EQ(not_written.exit_code, 2) << not_written.err;
  EXPECT_NE(not_written.err.find(unwritable + ": cannot write"), std::string::npos)
      << not_written.err;
  const std::string xml = test_support::ReadFile(xml_file).value();
  EXPECT_EQ(Element(xml, "MsgId"), batch_id);
  EXPECT_EQ(Element(xml, "NbOfTxs"), "3");
  EXPECT_EQ(Element(xml, "CtrlSum"), "5810.00");
  for (const std::string& id : {a_benefit, a_condolence, b_benefit}) {
    EXPECT_NE(xml.find("<EndToEndId>" + id + "</EndToEndId>"), std::string::npos) << id;
  }
  list = Claimsctl(Concat({"payments", "list", "--batch", batch_id, "-o", "json"}, auditor));
  int64_t listed_sum = 0;
  for (const nlohmann::json& p : Json(list)) {
    EXPECT_EQ(p["status"], "BATCHED");
    listed_sum += p["amount_fen"].get<int64_t>();
  }
  EXPECT_EQ(Json(list).size(), 3u) << list.out;
  EXPECT_EQ(listed_sum, 581000);

  // The bank settles A's two payments and rejects B's.
  iso20022::StatusReport report;
  report.message_id = "RPT-1";
  report.original_message_id = batch_id;
  report.transactions = {{a_benefit, "ACSC", "", "", 351000},
                         {a_condolence, "ACSC", "", "", std::nullopt},
                         {b_benefit, "RJCT", "AC04", "closed account", std::nullopt}};
  const std::string pain002 = dir_->File("pain002.xml");
  std::ofstream(pain002, std::ios::binary) << iso20022::WritePain002(report, "2024-06-02T10:00:00");
  CliRun imported =
      Claimsctl(Concat({"payments", "import-status", pain002, "-o", "json"}, operator_));
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  nlohmann::json applied = Json(imported);
  EXPECT_EQ(applied["applied"]["report_id"], "RPT-1") << imported.out;
  EXPECT_EQ(applied["applied"]["batch_id"], batch_id);
  EXPECT_EQ(applied["applied"]["settled"], "2");
  EXPECT_EQ(applied["applied"]["failed"], "1");
  EXPECT_EQ(applied["applied"]["pending"], "0");
  EXPECT_EQ(applied["applied"]["settled_fen"], "401000");
  EXPECT_EQ(applied["applied"]["failed_fen"], "180000");
  std::map<std::string, std::string> status_of;
  for (const nlohmann::json& p : applied["payments"]) {
    status_of[p["payment_id"].get<std::string>()] = p["status"].get<std::string>();
  }
  EXPECT_EQ(status_of,
            (std::map<std::string, std::string>{
                {a_benefit, "SETTLED"}, {a_condolence, "SETTLED"}, {b_benefit, "FAILED"}}))
      << imported.out;
  // The same file again: the first import's answer (its key derives from the file); under
  // another key it is refused, nothing changes.
  CliRun reimported =
      Claimsctl(Concat({"payments", "import-status", pain002, "-o", "json"}, operator_));
  EXPECT_EQ(reimported.exit_code, 0) << reimported.err;
  EXPECT_EQ(Json(reimported)["applied"], applied["applied"]);
  CliRun refused = Claimsctl(
      Concat({"payments", "import-status", pain002, "--idempotency-key", "import-2"}, operator_));
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find(pain002 + ": ALREADY_EXISTS"), std::string::npos) << refused.err;

  // payments list shows the new statuses; the ledger balances.
  list = Claimsctl(Concat({"payments", "list", "--batch", batch_id, "-o", "csv"}, auditor));
  EXPECT_NE(list.out.find(a_benefit + "," + claim_a + "," + a + ",BENEFIT,351000,SETTLED,1," +
                          batch_id + ",ACSC,"),
            std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find(b_benefit + "," + claim_b + "," + b + ",BENEFIT,180000,FAILED,1," +
                          batch_id + ",RJCT,AC04,"),
            std::string::npos)
      << list.out;
  // B's card was not corrected (no newer enrollment): the re-issue is refused, exit 1.
  CliRun reissued =
      Claimsctl(Concat({"payments", "reissue", b_benefit, "--idempotency-key", "ri-1"}, operator_));
  EXPECT_EQ(reissued.exit_code, 1) << reissued.err;
  EXPECT_NE(reissued.err.find("FAILED_PRECONDITION"), std::string::npos) << reissued.err;
  CliRun ledger = Claimsctl(Concat({"payments", "ledger", "-o", "csv"}, auditor));
  EXPECT_EQ(ledger.exit_code, 0) << ledger.out << ledger.err;
  EXPECT_NE(ledger.out.find("\ntotal,"), std::string::npos) << ledger.out;

  // The watch saw A's claim go from APPROVED to PAID, and ended there with 0.
  CliRun watched = watch.Finish(60s);
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  const std::vector<nlohmann::json> updates = JsonLines(watched.out);
  ASSERT_GE(updates.size(), 2u) << watched.out;
  EXPECT_EQ(updates.front().value("status", ""), "APPROVED") << watched.out;
  EXPECT_EQ(updates.back().value("status", ""), "PAID") << watched.out;
  EXPECT_EQ(updates.back()["payments"].size(), 2u) << watched.out;
  // B's claim ends PAYMENT_FAILED: final too.
  CliRun watched_b =
      Claimsctl(Concat({"claim", "watch", claim_b, "-o", "json", "--timeout", "30"}, partner_));
  EXPECT_EQ(watched_b.exit_code, 0) << watched_b.out << watched_b.err;
  EXPECT_EQ(JsonLines(watched_b.out).back().value("status", ""), "PAYMENT_FAILED") << watched_b.out;

  // claim appeal: C's denial is appealed; a retry with the same key answers the same event; the
  // same key for another request is refused; another partner cannot see the claim.
  CliRun appealed = Claimsctl(Concat({"claim", "appeal", claim_c, "--idempotency-key", "ap-1",
                                      "--reason", "the theft was by fire", "-o", "json"},
                                     partner_));
  ASSERT_EQ(appealed.exit_code, 0) << appealed.out << appealed.err;
  const std::string appeal_event = Json(appealed).value("event_id", "");
  EXPECT_FALSE(appeal_event.empty()) << appealed.out;
  CliRun retried = Claimsctl(Concat({"claim", "appeal", claim_c, "--idempotency-key", "ap-1",
                                     "--reason", "the theft was by fire", "-o", "json"},
                                    partner_));
  EXPECT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_EQ(Json(retried).value("event_id", ""), appeal_event);
  CliRun reused = Claimsctl(Concat(
      {"claim", "appeal", claim_c, "--idempotency-key", "ap-1", "--reason", "other"}, partner_));
  EXPECT_EQ(reused.exit_code, 1) << reused.err;
  EXPECT_NE(reused.err.find("ALREADY_EXISTS"), std::string::npos) << reused.err;
  CliRun foreign = Claimsctl(Concat(
      {"claim", "appeal", claim_c, "--idempotency-key", "ap-2", "--reason", "x"}, other_partner));
  EXPECT_EQ(foreign.exit_code, 1) << foreign.err;
  EXPECT_NE(foreign.err.find("NOT_FOUND"), std::string::npos) << foreign.err;
  // Adjudication accepts it: back to review, reason APPEALED.
  status = Until(Concat({"claim", "status", claim_c, "-o", "json"}, partner_),
                 [](const CliRun& r) { return Json(r).value("status", "") == "REFERRED"; });
  ASSERT_EQ(Json(status).value("status", ""), "REFERRED") << status.out;
  EXPECT_EQ(Json(status)["reasons"], nlohmann::json::array({"APPEALED"})) << status.out;
  // A watch that ends before the claim is final exits 3.
  CliRun unfinished =
      Claimsctl(Concat({"claim", "watch", claim_c, "-o", "json", "--timeout", "2"}, partner_));
  EXPECT_EQ(unfinished.exit_code, 3) << unfinished.out << unfinished.err;
  EXPECT_NE(unfinished.err.find("REFERRED, not final"), std::string::npos) << unfinished.err;

  // The year's report replayed from the topics agrees with what the live services answer: the
  // settled money with payout's SETTLED payments, the open referral with the review queue, the
  // outcomes with intake's claim statuses (one partner here, so intake shows every claim).
  int64_t paid_benefit = 0, paid_condolence = 0;
  list = Claimsctl(Concat({"payments", "list", "--status", "SETTLED", "-o", "json"}, auditor));
  for (const nlohmann::json& p : Json(list)) {
    (p["kind"] == "CONDOLENCE" ? paid_condolence : paid_benefit) += p["amount_fen"].get<int64_t>();
  }
  EXPECT_EQ(paid_benefit, 351000);
  EXPECT_EQ(paid_condolence, 50000);
  CliRun queue = Claimsctl({"review", "queue", "--target", review, "--insecure-dev", "--principal",
                            "auditor:audit1", "-o", "json"});
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  ASSERT_EQ(Json(queue).size(), 1u) << queue.out;
  EXPECT_EQ(Json(queue)[0]["claim_id"], claim_c);
  CliRun replayed = Claimsctl({"report", "--bootstrap-servers", broker_->bootstrap_servers(),
                               "--year", "2024", "--plans-dir", CLAIMS_PLANS_DIR, "-o", "csv"});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  auto figure = [&](const std::string& section, const std::string& key) {
    const std::string prefix = "\n2024," + section + "," + key + ",";
    const size_t at = replayed.out.find(prefix);
    if (at == std::string::npos) return std::string("(none)");
    const size_t from = at + prefix.size();
    return replayed.out.substr(from, replayed.out.find('\n', from) - from);
  };
  EXPECT_EQ(figure("members", "enrolled"), "3") << replayed.out;
  EXPECT_EQ(figure("members", "COURIER"), "1");
  EXPECT_EQ(figure("members", "TRUCK_DRIVER"), "1");
  EXPECT_EQ(figure("members", "FOOD_DELIVERY"), "1");
  EXPECT_EQ(figure("claims", "ACCIDENTAL_INJURY/APPROVED"), "2");
  EXPECT_EQ(figure("claims", "HOUSEHOLD_PROPERTY_LOSS/REFERRED"), "1");
  EXPECT_EQ(figure("claims", "HOUSEHOLD_PROPERTY_LOSS/DENIED"), "0");
  EXPECT_EQ(figure("money", "approved_fen"), "531000");  // 351,000 + 180,000
  EXPECT_EQ(figure("money", "condolence_fen"), "50000");
  EXPECT_EQ(figure("money", "paid_benefit_fen"), std::to_string(paid_benefit));
  EXPECT_EQ(figure("money", "paid_condolence_fen"), std::to_string(paid_condolence));
  EXPECT_EQ(figure("appeals", "received"), "1");
  EXPECT_EQ(figure("appeals", "closed"), "0");
  EXPECT_EQ(figure("referrals", "open"), std::to_string(Json(queue).size()));
  EXPECT_EQ(figure("referrals", "oldest_age_days"), "0");

  // A bad status report file: exit 2 naming the file and the line, nothing sent.
  const std::string truncated = dir_->File("truncated.xml");
  std::ofstream(truncated) << iso20022::WritePain002(report, "2024-06-02T10:00:00").substr(0, 300);
  CliRun bad = Claimsctl(Concat({"payments", "import-status", truncated}, operator_));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find(truncated + ": not a valid pain.002"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("line "), std::string::npos) << bad.err;

  for (ctl_test::Service& s : services_) EXPECT_EQ(*s.child.Stop(15s), 0) << s.log;
  // Payout stopped: exit 3.
  CliRun down = Claimsctl(Concat({"payments", "list", "--timeout", "2"}, auditor));
  EXPECT_EQ(down.exit_code, 3) << down.err;
  EXPECT_NE(down.err.find("UNAVAILABLE"), std::string::npos) << down.err;
}

// Without any service: files and flags are checked before any call.
TEST(ClaimsctlPaymentsTest, BadFilesAndFlagsExitTwoNamingThemAndNoServiceExitsThree) {
  Result<test_support::TempDir> dir = test_support::TempDir::Create("claimsctl-payments");
  ASSERT_TRUE(dir.ok());
  auto run = [&](const std::vector<std::string>& args) {
    return ctl_test::RunCli(*dir, CLAIMS_CLAIMSCTL_BINARY, args);
  };
  const std::vector<std::string> nowhere = {
      "--target", "127.0.0.1:1", "--insecure-dev", "--principal", "operator:ops1", "--timeout",
      "2"};
  const std::string missing = dir->File("missing.xml");
  CliRun r = run(Concat({"payments", "import-status", missing}, nowhere));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(missing + ": cannot read the status report"), std::string::npos) << r.err;

  const std::string empty = dir->File("empty.xml");
  std::ofstream(empty).close();
  r = run(Concat({"payments", "import-status", empty}, nowhere));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(empty + ": is empty"), std::string::npos) << r.err;

  // A transaction without its status: the file, the line and the element are named.
  const std::string no_status = dir->File("no-status.xml");
  iso20022::StatusReport report;
  report.message_id = "R-1";
  report.original_message_id = "B-1";
  report.transactions = {{"P-1", "", "", "", std::nullopt}};
  std::ofstream(no_status) << iso20022::WritePain002(report, "2024-06-02T10:00:00");
  r = run(Concat({"payments", "import-status", no_status}, nowhere));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(no_status + ": /Document/CstmrPmtStsRpt[1]/OrgnlPmtInfAndSts[1]/"
                                   "TxInfAndSts[1]/TxSts: line "),
            std::string::npos)
      << r.err;

  r = run(Concat({"payments", "list", "--status", "PAID"}, nowhere));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--status"), std::string::npos) << r.err;
  r = run({"payments", "batch", "create", "--target", "127.0.0.1:1"});  // no --idempotency-key
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--idempotency-key"), std::string::npos) << r.err;
  r = run({"payments", "import-status", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;

  // A good file, nobody listening: exit 3.
  report.transactions = {{"P-1", "ACSC", "", "", std::nullopt}};
  const std::string good = dir->File("good.xml");
  std::ofstream(good) << iso20022::WritePain002(report, "2024-06-02T10:00:00");
  r = run(Concat({"payments", "import-status", good}, nowhere));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(good + ": UNAVAILABLE"), std::string::npos) << r.err;
  r = run(Concat({"payments", "batch", "get", "B-1", "--xml-out", dir->File("b.xml")}, nowhere));
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

}  // namespace
}  // namespace claims
