#include "tests/bench/history.h"

#include <random>
#include <string>

namespace claims::bench {
namespace {

const char* const kDocuments[] = {"DIAGNOSIS_REPORT", "MEDICAL_RECEIPTS", "BIRTH_CERTIFICATE",
                                  "DEATH_CERTIFICATE", "LOSS_REPORT"};

}  // namespace

std::vector<domain::Input> GenerateHistory(const HistoryShape& shape) {
  std::mt19937_64 rng(shape.seed);
  auto uniform = [&](int lo, int hi) {  // inclusive
    return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  std::vector<domain::Input> log;
  std::vector<std::string> ids;
  for (int m = 0; m < shape.members; ++m) ids.push_back("M" + std::to_string(1000000 + m));
  int claim_counter = 0;
  for (int y = shape.first_year; y < shape.first_year + shape.years; ++y) {
    for (int m = 0; m < shape.members; ++m) {
      domain::EnrollInput e;
      e.member = ids[m];
      e.gender = (m % 3 == 0) ? domain::Gender::kFemale : domain::Gender::kMale;
      e.birth_date = Date::FromCivil(1970 + m % 35, 1 + m % 12, 1 + m % 28);
      e.occupation = static_cast<domain::Occupation>(1 + m % 5);
      e.plan_year = y;
      e.start_date = Date::FromCivil(y, uniform(0, 9) < 8 ? 1 : uniform(2, 12), uniform(1, 28));
      log.push_back(e);
    }
    for (int m = 0; m < shape.members; ++m) {
      if (uniform(0, 999) < shape.terminations_per_thousand) {
        log.push_back(domain::TerminateInput{ids[m], Date::FromCivil(y, uniform(6, 12), 28)});
      }
      if (uniform(0, 999) >= shape.claims_per_thousand_member_years) continue;
      domain::ClaimInput c;
      c.claim = "C" + std::to_string(++claim_counter);
      c.member = ids[m];
      c.coverage = static_cast<domain::Coverage>(uniform(1, 6));
      c.incident_date = Date::FromCivil(y, uniform(1, 12), uniform(1, 28));
      c.date = c.incident_date.AddDays(uniform(0, 400));
      c.amount = uniform(5000, 600000);
      c.condition_code = (c.coverage == domain::Coverage::kFemaleSpecificDisease ? "FD0" : "CI0") +
                         std::to_string(uniform(1, 9));
      c.cause = uniform(0, 3) == 0 ? "THEFT" : "FIRE";
      c.child_id = "K" + std::to_string(uniform(1, 2));
      if (uniform(0, 9) > 0) c.child_birth_date = Date::FromCivil(y - uniform(1, 20), 6, 15);
      for (const char* doc : kDocuments) {
        if (uniform(0, 9) < 8) c.documents.push_back(doc);
      }
      log.push_back(c);
      const int follow_up = uniform(0, 3);
      const Date later = c.date.AddDays(uniform(1, 70));
      if (follow_up == 0) {
        log.push_back(domain::ReviewInput{
            c.claim, c.member, later,
            uniform(0, 1) == 0 ? domain::ReviewAction::kApprove : domain::ReviewAction::kDeny});
      } else if (follow_up == 1) {
        log.push_back(domain::AppealInput{c.claim, c.member, later});
      }
    }
  }
  return log;
}

}  // namespace claims::bench
