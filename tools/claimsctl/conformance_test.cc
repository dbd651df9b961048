#include "tools/claimsctl/conformance.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "libs/domain/codec/plan_loader.h"

namespace claims::conformance {
namespace {

const char kGoodCase[] =
    R"({"id": "G1", "description": "d", "events": [)"
    R"({"enroll": {"member": "M", "gender": "FEMALE", "birth_date": "1990-05-12", )"
    R"("occupation": "COURIER", "plan_year": 2024, "start_date": "2024-01-01"}}, )"
    R"({"claim": {"claim": "C1", "member": "M", "coverage": "ACCIDENTAL_INJURY", )"
    R"("incident_date": "2024-02-15", "date": "2024-02-20", "amount_fen": 60000, )"
    R"("documents": ["MEDICAL_RECEIPTS"]}}], )"
    R"("expect": [{"claim": "C1", "outcome": "APPROVED", "payable_fen": 45000, )"
    R"("condolence_fen": 0, "reasons": []}]})";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The one violation of a malformed case, as "field: description".
std::string OnlyViolation(const std::string& line) {
  Result<Case> c = ParseCase(line, "f.jsonl:7", nullptr);
  if (c.ok()) return "(parsed)";
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("f.jsonl:7: ", 0), 0u) << c.status().message();
  if (c.status().violations().size() != 1) return c.status().ToString();
  return c.status().violations()[0].field + ": " + c.status().violations()[0].description;
}

domain::Plan ExamplePlan() {
  Result<domain::Plan> plan =
      codec::LoadPlanFile(CLAIMS_SOURCE_DIR "/config/plans/six-guarantees-v1.textproto");
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return *plan;
}

TEST(ConformanceParseTest, ParsesAWellFormedCase) {
  Result<Case> c = ParseCase(kGoodCase, "f.jsonl:1", nullptr);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->id, "G1");
  ASSERT_EQ(c->events.size(), 2u);
  const auto& claim = std::get<domain::ClaimInput>(c->events[1]);
  EXPECT_EQ(claim.amount, 60000);
  EXPECT_EQ(claim.documents, std::vector<std::string>{"MEDICAL_RECEIPTS"});
  EXPECT_FALSE(claim.child_birth_date.has_value());
  ASSERT_EQ(c->expect.size(), 1u);
  EXPECT_EQ(c->expect[0].payable, 45000);
}

struct MalformedCase {
  const char* name;
  const char* from;
  const char* to;
  const char* violation;
  friend void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }
};

class MalformedCaseTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedCaseTest, IsReportedWithItsField) {
  const MalformedCase& m = GetParam();
  EXPECT_EQ(OnlyViolation(Replace(kGoodCase, m.from, m.to)), m.violation);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedCaseTest,
    ::testing::Values(
        MalformedCase{"unknown_coverage", "\"ACCIDENTAL_INJURY\"", "\"ACCIDENT\"",
                      "events[1].claim.coverage: unknown coverage 'ACCIDENT'"},
        MalformedCase{"bad_date", "\"2024-02-15\"", "\"2024-02-30\"",
                      "events[1].claim.incident_date: '2024-02-30' is not a YYYY-MM-DD date"},
        MalformedCase{"unknown_event",
                      "{\"enroll\":", "{\"enrol\":", "events[0]: unknown event 'enrol'"},
        MalformedCase{"unknown_gender", "\"FEMALE\"", "\"F\"",
                      "events[0].enroll.gender: unknown gender 'F'"},
        MalformedCase{"unknown_occupation", "\"COURIER\"", "\"POSTMAN\"",
                      "events[0].enroll.occupation: unknown occupation 'POSTMAN'"},
        MalformedCase{"year_as_string", "\"plan_year\": 2024", "\"plan_year\": \"2024\"",
                      "events[0].enroll.plan_year: must be an integer"},
        MalformedCase{"amount_as_float", "\"amount_fen\": 60000", "\"amount_fen\": 600.5",
                      "events[1].claim.amount_fen: must be an integer"},
        MalformedCase{"missing_date", "\"date\": \"2024-02-20\", ", "",
                      "events[1].claim.date: missing date"},
        MalformedCase{"unknown_outcome", "\"APPROVED\"", "\"OK\"",
                      "expect[0].outcome: unknown outcome 'OK'"},
        MalformedCase{"unknown_reason", "\"reasons\": []", "\"reasons\": [\"LATE\"]",
                      "expect[0].reasons[0]: unknown reason 'LATE'"},
        MalformedCase{"documents_not_array", "[\"MEDICAL_RECEIPTS\"]", "\"MEDICAL_RECEIPTS\"",
                      "events[1].claim.documents: must be an array of strings"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(ConformanceParseTest, UnknownReviewActionIsMalformed) {
  const std::string line = Replace(kGoodCase, "], \"expect\"",
                                   ", {\"review\": {\"claim\": \"C1\", \"date\": \"2024-03-01\", "
                                   "\"action\": \"MAYBE\"}}], \"expect\"");
  EXPECT_EQ(OnlyViolation(line), "events[2].review.action: unknown action 'MAYBE'");
}

TEST(ConformanceParseTest, InvalidJsonIsMalformedNotACrash) {
  Result<Case> c = ParseCase(std::string(kGoodCase).substr(0, 50), "f.jsonl:3", nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("f.jsonl:3: not valid JSON"), std::string::npos);
  EXPECT_FALSE(ParseCase("[1,2]", "f", nullptr).ok());
  EXPECT_FALSE(ParseCase("{\"events\": 3, \"expect\": []}", "f", nullptr).ok());
  EXPECT_FALSE(ParseCase("{\"events\": [5], \"expect\": []}", "f", nullptr).ok());
}

TEST(ConformanceParseTest, NullFieldsAreEmptyAndUnknownKeysOnlyWarn) {
  std::string line = Replace(kGoodCase, "\"amount_fen\": 60000", "\"amount_fen\": null, \"x\": 1");
  std::vector<std::string> warnings;
  Result<Case> c = ParseCase(line, "f", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(std::get<domain::ClaimInput>(c->events[1]).amount, 0);
  EXPECT_EQ(warnings, std::vector<std::string>{"events[1].claim.x: unknown key ignored"});
}

TEST(ConformanceRunTest, ReportsExpectedVersusActual) {
  Result<Case> c = ParseCase(Replace(kGoodCase, "\"payable_fen\": 45000", "\"payable_fen\": 45001"),
                             "f", nullptr);
  ASSERT_TRUE(c.ok());
  const CaseRun run = RunCase(*c, ExamplePlan());
  ASSERT_EQ(run.mismatches.size(), 1u);
  EXPECT_EQ(run.mismatches[0],
            "C1: expected APPROVED payable 45001 condolence 0 reasons []; actual APPROVED "
            "payable 45000 condolence 0 reasons []");
}

TEST(ConformanceRunTest, SummaryCountsPassFailAndMalformedLines) {
  const std::string path = ::testing::TempDir() + "/conformance_summary.jsonl";
  {
    std::ofstream out(path);
    out << kGoodCase << "\n\n"
        << Replace(kGoodCase, "\"outcome\": \"APPROVED\"", "\"outcome\": \"DENIED\"") << "\n"
        << "{not json\n";
  }
  std::ostringstream printed;
  const Summary s = RunFiles({path, path + ".missing"}, ExamplePlan(), Options{}, printed);
  EXPECT_EQ(s.passed, 1);
  EXPECT_EQ(s.failed, 3);  // a wrong expectation, a malformed line, an unreadable file
  const std::string text = printed.str();
  EXPECT_NE(text.find("FAIL G1 (" + path + ":3)"), std::string::npos) << text;
  EXPECT_NE(text.find("ERROR " + path + ":4: not valid JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("cannot read the file"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 19), "1 passed, 3 failed\n");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace claims::conformance
