#include "services/intake/validation.h"

#include <gtest/gtest.h>

#include <functional>

#include "libs/identity/resident_id.h"

namespace claims::intake {
namespace {

namespace ev = ::mutualaid::events::v1;

const Date kToday = *Date::Parse("2024-06-01");

// A synthetic resident ID number: region 110101, the birth date, sequence 12 + gender digit,
// and its check character.
std::string ResidentId(const std::string& yyyymmdd, bool male) {
  std::string first17 = "110101" + yyyymmdd + "12" + (male ? "3" : "4");
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

api::EnrollMemberRequest GoodEnrollment() {
  api::EnrollMemberRequest r;
  r.set_idempotency_key("enroll-1");
  r.set_resident_id_number(ResidentId("19900512", false));
  r.set_name("张三");
  r.set_phone("13800138000");
  r.set_gender(ev::FEMALE);
  r.set_occupation(ev::FOOD_DELIVERY);
  r.set_plan_year(2024);
  r.set_start_date("2024-01-01");
  r.set_bank_card_number("6222020200112233446");  // Luhn-valid
  r.set_bank_name("工商银行");
  return r;
}

std::vector<std::string> Fields(const Status& s) {
  std::vector<std::string> out;
  for (const FieldViolation& v : s.violations()) out.push_back(v.field);
  return out;
}

TEST(ValidationTest, AcceptsAGoodEnrollmentAndReadsTheIdNumber) {
  Result<ValidEnrollment> v = ValidateEnroll(GoodEnrollment(), kToday);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->resident_id.birth_date.ToString(), "1990-05-12");
  EXPECT_EQ(v->start_date.ToString(), "2024-01-01");
}

TEST(ValidationTest, NamesEveryBadFieldOfAnEnrollment) {
  api::EnrollMemberRequest r = GoodEnrollment();
  r.set_idempotency_key("");
  r.set_gender(ev::MALE);  // the ID number says female
  r.set_phone("12345");
  r.set_occupation(static_cast<ev::Occupation>(42));
  r.set_start_date("2025-01-01");                 // not in plan year 2024
  r.set_bank_card_number("6222020200112233449");  // Luhn fails
  r.set_bank_name(std::string("\xff\xfe", 2));
  r.set_name("");
  Result<ValidEnrollment> v = ValidateEnroll(r, kToday);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Fields(v.status()),
            (std::vector<std::string>{"idempotency_key", "name", "phone", "gender", "occupation",
                                      "start_date", "bank_card_number", "bank_name"}));
}

TEST(ValidationTest, RefusesABadIdNumberWithoutEchoingIt) {
  api::EnrollMemberRequest r = GoodEnrollment();
  std::string id = r.resident_id_number();
  id[17] = id[17] == '0' ? '1' : '0';  // wrong check character
  r.set_resident_id_number(id);
  Result<ValidEnrollment> v = ValidateEnroll(r, kToday);
  ASSERT_FALSE(v.ok());
  ASSERT_EQ(Fields(v.status()), std::vector<std::string>{"resident_id_number"});
  EXPECT_EQ(v.status().ToString().find(id), std::string::npos);
}

TEST(ValidationTest, RefusesBirthDatesAfterToday) {
  api::EnrollMemberRequest r = GoodEnrollment();
  r.set_resident_id_number(ResidentId("20240602", false));
  EXPECT_EQ(Fields(ValidateEnroll(r, kToday).status()),
            std::vector<std::string>{"resident_id_number"});
}

api::SubmitClaimRequest GoodClaim() {
  api::SubmitClaimRequest r;
  r.set_idempotency_key("claim-1");
  r.set_member_id("m1");
  r.set_coverage(ev::ACCIDENTAL_INJURY);
  r.set_incident_date("2024-05-20");
  r.set_amount_fen(60000);
  r.add_documents("MEDICAL_RECEIPTS");
  return r;
}

TEST(ValidationTest, AcceptsAGoodClaim) {
  EXPECT_TRUE(ValidateSubmitClaim(GoodClaim(), kToday).ok());
}

TEST(ValidationTest, RequiresTheFieldsEachCoverageNeeds) {
  api::SubmitClaimRequest r = GoodClaim();
  r.set_coverage(ev::CHILD_ACCIDENT);
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)),
            (std::vector<std::string>{"child_id", "child_birth_date"}));
  r.set_coverage(ev::CRITICAL_ILLNESS);
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)), std::vector<std::string>{"condition_code"});
  r.set_coverage(ev::HOUSEHOLD_PROPERTY_LOSS);
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)), std::vector<std::string>{"cause"});
  r.set_coverage(ev::ACCIDENTAL_INJURY);
  r.set_cause("FIRE");
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)), std::vector<std::string>{"cause"});
}

TEST(ValidationTest, RefusesFutureDatesBadAmountsAndTooManyDocuments) {
  api::SubmitClaimRequest r = GoodClaim();
  r.set_incident_date("2024-06-02");
  r.set_amount_fen(1'000'000'001);
  for (int i = 0; i < 21; ++i) r.add_documents("D");
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)),
            (std::vector<std::string>{"incident_date", "amount_fen", "documents"}));
  r = GoodClaim();
  r.set_amount_fen(-1);
  r.set_coverage(static_cast<ev::Coverage>(99));
  r.set_incident_date("2024-02-30");
  EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)),
            (std::vector<std::string>{"coverage", "incident_date", "amount_fen"}));
}

TEST(ValidationTest, ChecksUtf8AndControlCharacters) {
  api::SubmitClaimRequest r = GoodClaim();
  for (const std::string& bad : {std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                 std::string("a\x01"), std::string("\xe4\xb8")}) {
    r.set_medical_detail(bad);
    EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)), std::vector<std::string>{"medical_detail"});
  }
  r.set_medical_detail("骨折，住院三天");
  EXPECT_TRUE(ValidateSubmitClaim(r, kToday).ok());
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ValidationTest, CountsLengthsInCharactersAsTheApiStatesThem) {
  api::EnrollMemberRequest e = GoodEnrollment();
  e.set_name(Repeat("张", 64));  // 192 bytes
  e.set_bank_name(Repeat("行", 64));
  EXPECT_TRUE(ValidateEnroll(e, kToday).ok()) << ValidateEnroll(e, kToday).status().ToString();
  e.set_name(Repeat("张", 65));
  e.set_bank_name(Repeat("a", 65));
  const Status too_long = ValidateEnroll(e, kToday).status();
  EXPECT_EQ(Fields(too_long), (std::vector<std::string>{"name", "bank_name"}));
  EXPECT_EQ(too_long.violations().at(0).description, "is longer than 64 characters");

  api::AppealClaimRequest a;
  a.set_idempotency_key("appeal-1");
  a.set_claim_id("CL-1");
  a.set_reason(Repeat("理由", 250));  // 500 characters, 1,500 bytes
  EXPECT_TRUE(ValidateAppeal(a).ok()) << ValidateAppeal(a).ToString();
  a.set_reason(Repeat("理由", 250) + "。");
  EXPECT_EQ(Fields(ValidateAppeal(a)), std::vector<std::string>{"reason"});
  a.set_reason(Repeat("\xff", 2001));  // beyond any 500 characters: refused without decoding
  EXPECT_EQ(ValidateAppeal(a).violations().at(0).description, "is longer than 500 characters");

  api::SubmitClaimRequest c = GoodClaim();
  c.set_medical_detail(Repeat("骨", 4000));
  EXPECT_TRUE(ValidateSubmitClaim(c, kToday).ok());
  c.add_documents(Repeat("证", 65));
  EXPECT_EQ(Fields(ValidateSubmitClaim(c, kToday)),
            std::vector<std::string>{"documents[" + std::to_string(c.documents_size() - 1) + "]"});
}

// One change to a good request, and the fields it makes bad (none: still good).
template <typename Request>
struct Row {
  const char* what;
  std::function<void(Request&)> change;
  std::vector<std::string> bad;
};

TEST(ValidationTest, ClaimTable) {
  const std::vector<Row<api::SubmitClaimRequest>> rows = {
      {"amount 0", [](auto& r) { r.set_amount_fen(0); }, {}},
      {"amount at the cap", [](auto& r) { r.set_amount_fen(1'000'000'000); }, {}},
      {"amount over the cap", [](auto& r) { r.set_amount_fen(1'000'000'001); }, {"amount_fen"}},
      {"negative amount", [](auto& r) { r.set_amount_fen(-1); }, {"amount_fen"}},
      {"incident today", [](auto& r) { r.set_incident_date("2024-06-01"); }, {}},
      {"incident tomorrow", [](auto& r) { r.set_incident_date("2024-06-02"); }, {"incident_date"}},
      {"incident 29 Feb of a leap year", [](auto& r) { r.set_incident_date("2024-02-29"); }, {}},
      {"incident 29 Feb otherwise",
       [](auto& r) { r.set_incident_date("2023-02-29"); },
       {"incident_date"}},
      {"slashed date", [](auto& r) { r.set_incident_date("2024/05/20"); }, {"incident_date"}},
      {"no coverage", [](auto& r) { r.set_coverage(ev::COVERAGE_UNSPECIFIED); }, {"coverage"}},
      {"no member", [](auto& r) { r.set_member_id(""); }, {"member_id"}},
      {"empty document", [](auto& r) { r.add_documents(""); }, {"documents[1]"}},
      {"20 documents",
       [](auto& r) {
         for (int i = 1; i < 20; ++i) r.add_documents("D");
       },
       {}},
      {"21 documents",
       [](auto& r) {
         for (int i = 1; i < 21; ++i) r.add_documents("D");
       },
       {"documents"}},
      {"condition code on an accident",
       [](auto& r) { r.set_condition_code("C01"); },
       {"condition_code"}},
      {"child born in the future",
       [](auto& r) {
         r.set_coverage(ev::CHILD_ACCIDENT);
         r.set_child_id("c-1");
         r.set_child_birth_date("2024-07-01");
       },
       {"child_birth_date"}},
      {"key with a space", [](auto& r) { r.set_idempotency_key("a b"); }, {"idempotency_key"}},
      {"key of 128", [](auto& r) { r.set_idempotency_key(std::string(128, 'k')); }, {}},
      {"key of 129",
       [](auto& r) { r.set_idempotency_key(std::string(129, 'k')); },
       {"idempotency_key"}},
  };
  for (const auto& row : rows) {
    api::SubmitClaimRequest r = GoodClaim();
    row.change(r);
    EXPECT_EQ(Fields(ValidateSubmitClaim(r, kToday)), row.bad) << row.what;
  }
}

TEST(ValidationTest, EnrollmentTable) {
  const std::vector<Row<api::EnrollMemberRequest>> rows = {
      {"plan year 1999", [](auto& r) { r.set_plan_year(1999); }, {"plan_year", "start_date"}},
      {"start outside the plan year",
       [](auto& r) { r.set_start_date("2023-12-31"); },
       {"start_date"}},
      {"gender unspecified", [](auto& r) { r.set_gender(ev::GENDER_UNSPECIFIED); }, {"gender"}},
      {"no phone (optional)", [](auto& r) { r.set_phone(""); }, {}},
      {"landline phone", [](auto& r) { r.set_phone("01012345678"); }, {"phone"}},
      {"name of 65", [](auto& r) { r.set_name(std::string(65, 'n')); }, {"name"}},
      {"no bank name", [](auto& r) { r.set_bank_name(""); }, {"bank_name"}},
      {"occupation unspecified",
       [](auto& r) { r.set_occupation(ev::OCCUPATION_UNSPECIFIED); },
       {"occupation"}},
  };
  for (const auto& row : rows) {
    api::EnrollMemberRequest r = GoodEnrollment();
    row.change(r);
    EXPECT_EQ(Fields(ValidateEnroll(r, kToday).status()), row.bad) << row.what;
  }
}

TEST(ValidationTest, TerminationAndAppealTables) {
  api::TerminateMemberRequest t;
  t.set_idempotency_key("t1");
  t.set_member_id("m1");
  t.set_date("2024-05-31");
  EXPECT_TRUE(ValidateTerminate(t).ok());
  const std::vector<Row<api::TerminateMemberRequest>> terminations = {
      {"no date", [](auto& r) { r.set_date(""); }, {"date"}},
      {"not a day", [](auto& r) { r.set_date("2024-04-31"); }, {"date"}},
      {"no member", [](auto& r) { r.set_member_id(""); }, {"member_id"}},
      {"no key", [](auto& r) { r.set_idempotency_key(""); }, {"idempotency_key"}},
  };
  for (const auto& row : terminations) {
    api::TerminateMemberRequest r = t;
    row.change(r);
    EXPECT_EQ(Fields(ValidateTerminate(r)), row.bad) << row.what;
  }
  api::AppealClaimRequest a;
  a.set_idempotency_key("a1");
  a.set_claim_id("CL-1");
  EXPECT_TRUE(ValidateAppeal(a).ok());  // a reason is optional
  const std::vector<Row<api::AppealClaimRequest>> appeals = {
      {"no claim", [](auto& r) { r.set_claim_id(""); }, {"claim_id"}},
      {"reason with a control character",
       [](auto& r) {
         r.set_reason(
             "a\x07"
             "b");
       },
       {"reason"}},
  };
  for (const auto& row : appeals) {
    api::AppealClaimRequest r = a;
    row.change(r);
    EXPECT_EQ(Fields(ValidateAppeal(r)), row.bad) << row.what;
  }
}

}  // namespace
}  // namespace claims::intake
