#include "libs/domain/codec/plan_loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>

#include "libs/crypto/sha256.h"

namespace claims::codec {
namespace {

std::string ExamplePlanText() {
  std::ifstream in(CLAIMS_PLAN_FILE);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces the first occurrence of `from` (which must exist) in the example plan.
std::string EditedPlan(const std::string& from, const std::string& to) {
  std::string text = ExamplePlanText();
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

int LineOfText(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  int line = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

std::string AllViolations(const Status& s) {
  std::string out;
  for (const FieldViolation& v : s.violations()) out += v.field + ": " + v.description + "\n";
  return out;
}

TEST(PlanLoaderTest, LoadsTheExamplePlanWithItsHash) {
  Result<domain::Plan> plan = LoadPlanFile(CLAIMS_PLAN_FILE);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->id, "six-guarantees-v1");
  EXPECT_EQ(plan->sha256, crypto::Sha256Hex(ExamplePlanText()));
  const domain::CoverageRule* ci = plan->Rule(domain::Coverage::kCriticalIllness);
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(ci->conditions.size(), 28u);
  EXPECT_EQ(ci->conditions.front(), "CI01");
  EXPECT_EQ(ci->conditions.back(), "CI28");
  EXPECT_EQ(plan->Rule(domain::Coverage::kFemaleSpecificDisease)->conditions.size(), 7u);
  const domain::CoverageRule* child = plan->Rule(domain::Coverage::kChildAccident);
  EXPECT_EQ(child->limit_scope, domain::LimitScope::kAmountPerChildPlanYear);
  EXPECT_EQ(child->limit_amount, 300000);
  EXPECT_EQ(child->formula->numerator, 80);
  EXPECT_EQ(plan->condolence_coverages.size(), 3u);
}

TEST(PlanLoaderTest, SyntaxErrorNamesFileLineAndColumn) {
  const std::string text = EditedPlan("currency: \"CNY\"", "currency: \"CNY\"\nbogus_field: 3");
  Result<domain::Plan> plan = ParsePlan(text, "plans/x.textproto");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(plan.status().violations().size(), 1u);
  const FieldViolation& v = plan.status().violations()[0];
  EXPECT_EQ(v.field.rfind("plans/x.textproto: line " +
                              std::to_string(LineOfText(text, "bogus_field")) + ", column ",
                          0),
            0u)
      << v.field;
  EXPECT_NE(v.description.find("bogus_field"), std::string::npos) << v.description;
}

struct BadPlanCase {
  const char* name;
  const char* from;
  const char* to;
  const char* field;        // expected field path (after "file:line: ")
  const char* line_anchor;  // text whose line the violation must point at
  friend void PrintTo(const BadPlanCase& c, std::ostream* os) { *os << c.name; }
};

class BadPlanTest : public ::testing::TestWithParam<BadPlanCase> {};

TEST_P(BadPlanTest, NamesFileLineAndField) {
  const BadPlanCase& c = GetParam();
  const std::string text = EditedPlan(c.from, c.to);
  Result<domain::Plan> plan = ParsePlan(text, "p.textproto");
  ASSERT_FALSE(plan.ok()) << c.name;
  const std::string want =
      "p.textproto:" + std::to_string(LineOfText(text, c.line_anchor)) + ": " + c.field;
  bool found = false;
  for (const FieldViolation& v : plan.status().violations()) found |= v.field == want;
  EXPECT_TRUE(found) << "want " << want << "\ngot:\n" << AllViolations(plan.status());
}

INSTANTIATE_TEST_SUITE_P(
    InvalidPlans, BadPlanTest,
    ::testing::Values(
        BadPlanCase{"missing benefit", "  fixed_fen: 2000000\n", "", "coverages[4].benefit",
                    "coverages {\n  coverage: DEATH_FROM_ILLNESS"},
        BadPlanCase{"negative limit", "amount_fen: 300000 }", "amount_fen: -5 }",
                    "coverages[3].limit.amount_fen", "amount_fen: -5"},
        BadPlanCase{"duplicate condition code", "code: \"CI02\"", "code: \"CI01\"",
                    "coverages[0].conditions[1]", "code: \"CI01\" name: \"较重"},
        BadPlanCase{"zero denominator", "ratio_numerator: 80 ratio_denominator: 100",
                    "ratio_numerator: 80 ratio_denominator: 0",
                    "coverages[3].formula.ratio_denominator", "ratio_denominator: 0"},
        BadPlanCase{"duplicate coverage", "coverage: DEATH_FROM_ILLNESS",
                    "coverage: CHILD_ACCIDENT", "coverages[4].coverage",
                    "coverage: CHILD_ACCIDENT\n  name: \"因病身故\""},
        BadPlanCase{"bad renewal deadline", "renewal_deadline_day: 31", "renewal_deadline_day: 32",
                    "enrollment.renewal_deadline_day", "renewal_deadline_day: 32"},
        BadPlanCase{"wrong scope for fixed", "limit { scope: ONCE_EVER }",
                    "limit { scope: AMOUNT_PER_MEMBER_PLAN_YEAR amount_fen: 5 }",
                    "coverages[4].limit.scope", "amount_fen: 5 }"},
        BadPlanCase{"negative high value", "high_value_fen: 1500000", "high_value_fen: -1",
                    "referral.high_value_fen", "high_value_fen: -1"}),
    [](const ::testing::TestParamInfo<BadPlanCase>& info) {
      std::string n = info.param.name;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(PlanLoaderTest, MissingCoverageIsNamed) {
  std::string text = ExamplePlanText();
  const size_t start = text.find("coverages {\n  coverage: HOUSEHOLD_PROPERTY_LOSS");
  ASSERT_NE(start, std::string::npos);
  text.erase(start);
  Result<domain::Plan> plan = ParsePlan(text, "p.textproto");
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(AllViolations(plan.status()).find("missing the rule for HOUSEHOLD_PROPERTY_LOSS"),
            std::string::npos)
      << AllViolations(plan.status());
}

TEST(PlanLoaderTest, UnreadableFileIsNotFound) {
  Result<domain::Plan> plan = LoadPlanFile("/nonexistent/plan.textproto");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNotFound);
}

TEST(PlanLoaderTest, AnyByteChangesTheHash) {
  Result<domain::Plan> a = ParsePlan(ExamplePlanText(), "a");
  Result<domain::Plan> b = ParsePlan(ExamplePlanText() + "\n", "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->sha256, b->sha256);
}

}  // namespace
}  // namespace claims::codec
