#include "tools/demo/demo_year.h"

#include <array>
#include <cassert>
#include <cstdio>
#include <functional>
#include <string_view>

#include "libs/identity/bank_card.h"
#include "libs/identity/resident_id.h"

namespace claims::demo {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace in = ::mutualaid::intake::v1;

// SplitMix64: a tiny PRNG whose sequence is fixed by its seed on every platform (unlike the
// standard distributions, whose results are implementation-defined).
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough for a demo in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  Date DateBetween(Date from, Date to) {
    return from.AddDays(static_cast<int32_t>(Between(0, to.DaysSince(from))));
  }
  template <typename T>
  void Shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[Next() % i]);
    }
  }

 private:
  uint64_t state_;
};

constexpr std::array<std::string_view, 8> kRegions = {"110105", "310115", "440305", "510107",
                                                      "330106", "420111", "320106", "610113"};
constexpr std::array<std::string_view, 12> kSurnames = {"王", "李", "张", "刘", "陈", "杨",
                                                        "黄", "赵", "吴", "周", "徐", "孙"};
constexpr std::array<std::string_view, 16> kGivenNames = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"};
constexpr std::array<std::string_view, 5> kBanks = {"中国工商银行", "中国建设银行", "中国农业银行",
                                                    "中国银行", "招商银行"};

std::string Digits(Prng& prng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + prng.Next() % 10));
  return out;
}

std::string TwoDigits(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n % 100);
  return buf;
}

std::string Numbered(const std::string& prefix, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", n);
  return prefix + buf;
}

// A 19-digit card number: a bank prefix, random digits and the Luhn check digit.
std::string BankCard(Prng& prng) {
  const std::string body = "6222" + Digits(prng, 14);
  for (char check = '0'; check <= '9'; ++check) {
    if (identity::LuhnValid(body + check)) return body + check;
  }
  assert(false && "some check digit always satisfies Luhn");
  return body;
}

// A resident ID number unique per member index (region by index mod 8, sequence by index div 8
// with the gender digit's parity), the birth date in positions 7-14 and the computed check
// character.
std::string ResidentIdNumber(int index, Date birth, ev::Gender gender) {
  const int sequence = (index / static_cast<int>(kRegions.size())) * 2 + (gender == ev::MALE);
  char digits[32];
  std::snprintf(digits, sizeof digits, "%s%04d%02d%02d%03d",
                std::string(kRegions[index % kRegions.size()]).c_str(), birth.year(), birth.month(),
                birth.day(), sequence);
  const std::string first17(digits);
  return first17 + identity::ResidentIdCheckCharacter(first17);
}

ev::Occupation PickOccupation(Prng& prng) {
  const int64_t roll = prng.Between(0, 99);
  if (roll < 27) return ev::COURIER;
  if (roll < 54) return ev::FOOD_DELIVERY;
  if (roll < 72) return ev::TRUCK_DRIVER;
  if (roll < 90) return ev::RIDE_HAILING;
  return ev::OTHER;
}

// Which members a scenario may claim for.
enum class Pool { kRegular, kRegularFemale, kRegularMale, kLate };

struct Scenario {
  const char* name;
  int per_2000;  // claims per 2,000 members
  Pool pool;
  ev::Outcome expected;
  // Fills coverage, dates, amounts and documents.
  std::function<void(Prng&, int plan_year, in::SubmitClaimRequest&)> fill;
};

Date D(int year, int month, int day) { return Date::FromCivil(year, month, day); }

void Docs(in::SubmitClaimRequest& r, std::initializer_list<const char*> docs) {
  for (const char* d : docs) r.add_documents(d);
}

std::vector<Scenario> Scenarios() {
  using R = in::SubmitClaimRequest;
  return {
      {"critical illness, a covered condition", 36, Pool::kRegular, ev::APPROVED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CRITICAL_ILLNESS);
         r.set_incident_date(p.DateBetween(D(y, 4, 1), D(y, 11, 30)).ToString());
         r.set_amount_fen(p.Between(18, 90) * 10'000);
         r.set_condition_code("CI" + TwoDigits(static_cast<int>(p.Between(1, 28))));
         Docs(r, {"DIAGNOSIS_REPORT"});
       }},
      {"critical illness, a condition the plan does not list", 8, Pool::kRegular, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CRITICAL_ILLNESS);
         r.set_incident_date(p.DateBetween(D(y, 4, 1), D(y, 11, 30)).ToString());
         r.set_amount_fen(p.Between(5, 30) * 10'000);
         r.set_condition_code("CI" + TwoDigits(static_cast<int>(p.Between(29, 40))));
         Docs(r, {"DIAGNOSIS_REPORT"});
       }},
      {"critical illness within the 90-day waiting period", 6, Pool::kLate, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CRITICAL_ILLNESS);
         r.set_incident_date(p.DateBetween(D(y, 9, 10), D(y, 11, 25)).ToString());
         r.set_amount_fen(p.Between(18, 90) * 10'000);
         r.set_condition_code("CI" + TwoDigits(static_cast<int>(p.Between(1, 28))));
         Docs(r, {"DIAGNOSIS_REPORT"});
       }},
      {"critical illness without the diagnosis report", 8, Pool::kRegular, ev::REFERRED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CRITICAL_ILLNESS);
         r.set_incident_date(p.DateBetween(D(y, 4, 1), D(y, 11, 30)).ToString());
         r.set_amount_fen(p.Between(18, 90) * 10'000);
         r.set_condition_code("CI" + TwoDigits(static_cast<int>(p.Between(1, 28))));
       }},
      {"female-specific disease", 24, Pool::kRegularFemale, ev::APPROVED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::FEMALE_SPECIFIC_DISEASE);
         r.set_incident_date(p.DateBetween(D(y, 4, 1), D(y, 11, 30)).ToString());
         r.set_amount_fen(p.Between(10, 60) * 10'000);
         r.set_condition_code("FD0" + std::to_string(p.Between(1, 7)));
         Docs(r, {"DIAGNOSIS_REPORT"});
       }},
      {"female-specific disease claimed for a man", 4, Pool::kRegularMale, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::FEMALE_SPECIFIC_DISEASE);
         r.set_incident_date(p.DateBetween(D(y, 4, 1), D(y, 11, 30)).ToString());
         r.set_amount_fen(p.Between(10, 60) * 10'000);
         r.set_condition_code("FD0" + std::to_string(p.Between(1, 7)));
         Docs(r, {"DIAGNOSIS_REPORT"});
       }},
      {"accidental injury", 80, Pool::kRegular, ev::APPROVED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::ACCIDENTAL_INJURY);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(20'000, 400'000));
         Docs(r, {"MEDICAL_RECEIPTS"});
       }},
      {"accidental injury below the deductible", 10, Pool::kRegular, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::ACCIDENTAL_INJURY);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(2'000, 10'000));
         Docs(r, {"MEDICAL_RECEIPTS"});
       }},
      {"accidental injury in the first week of cover", 6, Pool::kLate, ev::REFERRED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::ACCIDENTAL_INJURY);
         r.set_incident_date(p.DateBetween(D(y, 9, 2), D(y, 9, 7)).ToString());
         r.set_amount_fen(p.Between(20'000, 200'000));
         Docs(r, {"MEDICAL_RECEIPTS"});
       }},
      {"child accident", 40, Pool::kRegular, ev::APPROVED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CHILD_ACCIDENT);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(15'000, 200'000));
         r.set_child_id("CHILD-1");
         r.set_child_birth_date(p.DateBetween(D(y - 15, 1, 1), D(y - 3, 12, 31)).ToString());
         Docs(r, {"MEDICAL_RECEIPTS", "BIRTH_CERTIFICATE"});
       }},
      {"child accident without the birth certificate", 10, Pool::kRegular, ev::REFERRED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CHILD_ACCIDENT);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(15'000, 200'000));
         r.set_child_id("CHILD-1");
         r.set_child_birth_date(p.DateBetween(D(y - 15, 1, 1), D(y - 3, 12, 31)).ToString());
         Docs(r, {"MEDICAL_RECEIPTS"});
       }},
      {"child accident of a child aged 18 or more", 4, Pool::kRegular, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::CHILD_ACCIDENT);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(15'000, 200'000));
         r.set_child_id("CHILD-1");
         r.set_child_birth_date(p.DateBetween(D(y - 24, 1, 1), D(y - 19, 12, 31)).ToString());
         Docs(r, {"MEDICAL_RECEIPTS", "BIRTH_CERTIFICATE"});
       }},
      {"death from illness (high value: always reviewed)", 6, Pool::kRegular, ev::REFERRED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::DEATH_FROM_ILLNESS);
         r.set_incident_date(p.DateBetween(D(y, 5, 1), D(y, 11, 30)).ToString());
         Docs(r, {"DEATH_CERTIFICATE"});
       }},
      {"household property loss by fire or water", 40, Pool::kRegular, ev::APPROVED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::HOUSEHOLD_PROPERTY_LOSS);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(25'000, 250'000));
         r.set_cause(p.Between(0, 1) == 0 ? "FIRE" : "WATER");
         Docs(r, {"LOSS_REPORT"});
       }},
      {"household property loss by theft", 8, Pool::kRegular, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::HOUSEHOLD_PROPERTY_LOSS);
         r.set_incident_date(p.DateBetween(D(y, 1, 15), D(y, 12, 10)).ToString());
         r.set_amount_fen(p.Between(25'000, 250'000));
         r.set_cause("THEFT");
         Docs(r, {"LOSS_REPORT"});
       }},
      {"accident before the member's enrollment", 4, Pool::kRegular, ev::DENIED,
       [](Prng& p, int y, R& r) {
         r.set_coverage(ev::ACCIDENTAL_INJURY);
         r.set_incident_date(p.DateBetween(D(y - 1, 12, 16), D(y - 1, 12, 31)).ToString());
         r.set_amount_fen(p.Between(20'000, 200'000));
         Docs(r, {"MEDICAL_RECEIPTS"});
       }},
  };
}

}  // namespace

Date DemoBusinessDate(int plan_year) { return Date::FromCivil(plan_year, 12, 15); }

DemoYear GenerateDemoYear(const DemoShape& shape) {
  assert(shape.members >= 400 && shape.members <= 4000);
  Prng prng(shape.seed);
  const int y = shape.plan_year;
  DemoYear year;
  std::vector<int> regular_female, regular_male, late;
  for (int i = 0; i < shape.members; ++i) {
    const ev::Gender gender = prng.Between(0, 99) < 40 ? ev::FEMALE : ev::MALE;
    const Date birth = prng.DateBetween(D(y - 57, 1, 1), D(y - 20, 12, 31));
    const bool is_late = prng.Between(0, 99) < 10;
    in::EnrollMemberRequest& r = year.enrollments.emplace_back();
    r.set_idempotency_key(Numbered("demo-" + std::to_string(y) + "-member-", i + 1));
    r.set_resident_id_number(ResidentIdNumber(i, birth, gender));
    r.set_name(std::string(kSurnames[prng.Next() % kSurnames.size()]) +
               std::string(kGivenNames[prng.Next() % kGivenNames.size()]) +
               (prng.Between(0, 1) == 0 ? std::string(kGivenNames[prng.Next() % kGivenNames.size()])
                                        : std::string()));
    r.set_phone("13" + Digits(prng, 9));
    r.set_gender(gender);
    r.set_occupation(PickOccupation(prng));
    r.set_plan_year(y);
    r.set_start_date((is_late ? D(y, 9, 1) : D(y, 1, 1)).ToString());
    r.set_bank_card_number(BankCard(prng));
    r.set_bank_name(std::string(kBanks[prng.Next() % kBanks.size()]));
    if (is_late) {
      late.push_back(i);
    } else {
      (gender == ev::FEMALE ? regular_female : regular_male).push_back(i);
    }
  }
  prng.Shuffle(regular_female);
  prng.Shuffle(regular_male);
  prng.Shuffle(late);

  // Each member claims at most once: scenarios take members from the front of their pool.
  size_t next_female = 0, next_male = 0, next_late = 0;
  auto take = [&](Pool pool) {
    switch (pool) {
      case Pool::kRegularFemale:
        return regular_female.at(next_female++);
      case Pool::kRegularMale:
        return regular_male.at(next_male++);
      case Pool::kLate:
        return late.at(next_late++);
      case Pool::kRegular:
        break;
    }
    // Alternate between the two regular pools so both genders claim.
    return (next_female + next_male) % 2 == 0 ? regular_female.at(next_female++)
                                              : regular_male.at(next_male++);
  };
  for (const Scenario& scenario : Scenarios()) {
    const int count = std::max(1, scenario.per_2000 * shape.members / 2000);
    for (int k = 0; k < count; ++k) {
      PlannedClaim claim;
      claim.member_index = take(scenario.pool);
      claim.scenario = scenario.name;
      claim.expected = scenario.expected;
      scenario.fill(prng, y, claim.request);
      year.claims.push_back(std::move(claim));
    }
  }
  prng.Shuffle(year.claims);
  for (size_t i = 0; i < year.claims.size(); ++i) {
    year.claims[i].request.set_idempotency_key(
        Numbered("demo-" + std::to_string(y) + "-claim-", static_cast<int>(i + 1)));
  }
  return year;
}

}  // namespace claims::demo
