// Seeded randomized property tests of the engine: thousands of plausible event histories of a few
// members (enrollments, terminations, claims of every coverage with random dates, amounts and
// documents, reviews, appeals), folded with domain::Fold under the real example plan. Every
// history is generated from std::mt19937_64 with a fixed seed; a failure prints the seed and the
// history, so it replays exactly. The invariants come from PLAN.md, not from the engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/engine.h"
#include "libs/domain/engine_test_support.h"
#include "libs/domain/fold.h"

namespace claims::domain {
namespace {

using testing::Names;
using testing::RequiredDocs;
using testing::ThePlan;

// ---- PLAN.md's numbers, written down independently of the plan file. ----

constexpr Fen kCondolence = 50000;
constexpr Fen kCondolenceMinPayable = 300000;

std::optional<Fen> FixedBenefit(Coverage c) {
  switch (c) {
    case Coverage::kCriticalIllness:
      return 1000000;
    case Coverage::kFemaleSpecificDisease:
      return 500000;
    case Coverage::kDeathFromIllness:
      return 2000000;
    default:
      return std::nullopt;
  }
}

Fen LimitOf(Coverage c) {
  switch (c) {
    case Coverage::kAccidentalInjury:
      return 500000;
    case Coverage::kChildAccident:
      return 300000;
    case Coverage::kHouseholdPropertyLoss:
      return 200000;
    default:
      return 0;
  }
}

bool GrantsCondolence(Coverage c) {
  return c == Coverage::kCriticalIllness || c == Coverage::kDeathFromIllness ||
         c == Coverage::kAccidentalInjury;
}

bool IsIllness(Coverage c) {
  return c == Coverage::kCriticalIllness || c == Coverage::kFemaleSpecificDisease ||
         c == Coverage::kDeathFromIllness;
}

// The position of a reason in PLAN.md: denial checks 1-10, referral checks 1-4, then
// LIMIT_APPLIED. REVIEW_DENIED and APPEALED always stand alone (-1).
int Rank(Reason r) {
  switch (r) {
    case Reason::kNotEnrolled:
      return 0;
    case Reason::kMemberDeceased:
      return 1;
    case Reason::kLateFiling:
      return 2;
    case Reason::kWaitingPeriod:
      return 3;
    case Reason::kNotEligible:
      return 4;
    case Reason::kConditionNotCovered:
      return 5;
    case Reason::kCauseNotCovered:
      return 6;
    case Reason::kDuplicateClaim:
      return 7;
    case Reason::kBenefitExhausted:
      return 8;
    case Reason::kBelowDeductible:
      return 9;
    case Reason::kMissingDocuments:
      return 10;
    case Reason::kHighValue:
      return 11;
    case Reason::kEarlyClaim:
      return 12;
    case Reason::kFrequentClaims:
      return 13;
    case Reason::kLimitApplied:
      return 14;
    case Reason::kReviewDenied:
    case Reason::kAppealed:
      return -1;
  }
  return -2;
}
bool IsDenial(Reason r) { return Rank(r) >= 0 && Rank(r) <= 9; }
bool IsReferral(Reason r) { return Rank(r) >= 10 && Rank(r) <= 13; }

// ---- Printing, for failure reports. ----

std::string DescribeInput(const Input& input) {
  std::ostringstream os;
  if (const auto* e = std::get_if<EnrollInput>(&input)) {
    os << "enroll " << e->member << " " << Name(e->gender) << " born " << e->birth_date.ToString()
       << " year " << e->plan_year << " start " << e->start_date.ToString();
  } else if (const auto* t = std::get_if<TerminateInput>(&input)) {
    os << "terminate " << t->member << " " << t->date.ToString();
  } else if (const auto* c = std::get_if<ClaimInput>(&input)) {
    os << "claim " << c->claim << " " << c->member << " " << Name(c->coverage) << " incident "
       << c->incident_date.ToString() << " filed " << c->date.ToString() << " amount " << c->amount
       << " cond '" << c->condition_code << "' cause '" << c->cause << "' child '" << c->child_id
       << "' " << (c->child_birth_date ? c->child_birth_date->ToString() : std::string("-"))
       << " docs";
    for (const auto& d : c->documents) os << " " << d;
  } else if (const auto* r = std::get_if<ReviewInput>(&input)) {
    os << "review " << r->claim << " '" << r->member << "' " << Name(r->action) << " "
       << r->date.ToString();
  } else if (const auto* a = std::get_if<AppealInput>(&input)) {
    os << "appeal " << a->claim << " '" << a->member << "' " << a->date.ToString();
  }
  return os.str();
}

std::string DescribeOutput(const Output& out) {
  std::ostringstream os;
  os << "#" << out.sequence << " ";
  if (const auto* r = std::get_if<InputRejection>(&out.body)) {
    os << "rejected " << Name(r->code) << " (" << r->detail << ")";
  } else if (const auto* d = std::get_if<Decision>(&out.body)) {
    os << d->claim << " " << Name(d->outcome) << " " << d->payable << " +" << d->condolence << " "
       << Names(d->reasons);
  } else {
    os << "-";
  }
  return os.str();
}

// ---- Histories. ----

struct History {
  uint64_t seed = 0;
  std::vector<Input> events;
};

std::string Dump(const History& h) {
  std::ostringstream os;
  os << "seed " << h.seed << ", " << h.events.size() << " events (outputs of one fold):\n";
  Fold fold;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const Output out = fold.Apply(h.events[i], ThePlan());
    os << "  [" << i << "] " << DescribeInput(h.events[i]) << "  =>  " << DescribeOutput(out)
       << "\n";
  }
  return os.str();
}

// The member a claim id belongs to by construction ("M2-C7" -> "M2"); "" for foreign ids.
MemberId PrefixOf(const ClaimId& claim) {
  const size_t dash = claim.find('-');
  return dash == std::string::npos ? "" : claim.substr(0, dash);
}

class HistoryGenerator {
 public:
  // `share_claim_ids`: claims sometimes reuse another member's claim id (which makes a member's
  // outputs depend on others by design, so the isolation property turns it off).
  HistoryGenerator(uint64_t seed, bool share_claim_ids)
      : rng_(seed), share_claim_ids_(share_claim_ids) {}

  History Generate(uint64_t seed) {
    History h;
    h.seed = seed;
    const int members = Uniform(1, 4);
    for (int m = 0; m < members; ++m) {
      Person p;
      p.id = "M" + std::to_string(m);
      p.gender = Chance(50) ? Gender::kFemale : Gender::kMale;
      p.birth = Date::FromCivil(Uniform(1965, 2004), Uniform(1, 12), Uniform(1, 28));
      people_.push_back(p);
    }
    const int n = Uniform(8, 45);
    for (int i = 0; i < n; ++i) h.events.push_back(NextEvent());
    return h;
  }

 private:
  struct Person {
    MemberId id;
    Gender gender;
    Date birth;
    int claims = 0;
  };
  struct Filed {
    ClaimInput input;
  };

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(1, 100) <= percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }
  Date DayIn(int year) { return Date::FromCivil(year, 1, 1).AddDays(Uniform(0, 364)); }
  int Year() {
    const int r = Uniform(1, 100);
    return r <= 15 ? 2023 : (r <= 60 ? 2024 : 2025);
  }

  Input NextEvent() {
    const int r = Uniform(1, 100);
    if (r <= 16) return MakeEnroll();
    if (r <= 22) return MakeTerminate();
    if (r <= 72 || filed_.empty()) return MakeClaim();
    if (r <= 87) return MakeReview();
    return MakeAppeal();
  }

  Input MakeEnroll() {
    const Person& p = Pick(people_);
    EnrollInput e;
    e.member = p.id;
    e.gender = p.gender;
    e.birth_date = p.birth;
    if (Chance(4)) e.gender = p.gender == Gender::kMale ? Gender::kFemale : Gender::kMale;
    if (Chance(3)) e.birth_date = p.birth.AddDays(1);
    e.occupation = static_cast<Occupation>(Uniform(1, 5));
    e.plan_year = Year();
    const int y = e.plan_year;
    switch (Uniform(0, 6)) {
      case 0:
        e.start_date = Date::FromCivil(y, 1, 1);
        break;
      case 1:
        e.start_date = Date::FromCivil(y, 1, 31);
        break;
      case 2:
        e.start_date = Date::FromCivil(y, 2, 1);
        break;
      case 3:
        e.start_date = Date::FromCivil(y, 1, Uniform(1, 31));
        break;
      case 4:  // outside the plan year now and then
        e.start_date = Chance(50) ? Date::FromCivil(y - 1, 12, 31) : Date::FromCivil(y + 1, 1, 1);
        if (Chance(50)) e.start_date = DayIn(y);
        break;
      default:
        e.start_date = DayIn(y);
    }
    return e;
  }

  Input MakeTerminate() {
    const Person& p = Pick(people_);
    const int y = Year();
    const Date d = Chance(20) ? Date::FromCivil(y, 12, 31) : DayIn(y);
    return TerminateInput{.member = p.id, .date = d};
  }

  Input MakeClaim() {
    Person& p = people_[static_cast<size_t>(Uniform(0, static_cast<int>(people_.size()) - 1))];
    ClaimInput c;
    c.member = p.id;
    if (!filed_.empty() && Chance(8)) {
      // The same facts again, under a new id (a duplicate while the first is live).
      const Filed& f = Pick(filed_);
      if (f.input.member == p.id) c = f.input;
    }
    if (c.coverage == Coverage::kUnspecified) {
      c.coverage = static_cast<Coverage>(Uniform(1, 6));
      c.incident_date = DayIn(Year());
      c.amount = RandomAmount();
      switch (c.coverage) {
        case Coverage::kCriticalIllness:
          c.condition_code = Chance(85) ? Code("CI", Uniform(1, 28)) : Pick(bad_codes_);
          break;
        case Coverage::kFemaleSpecificDisease:
          c.condition_code = Chance(85) ? Code("FD", Uniform(1, 7)) : Pick(bad_codes_);
          break;
        case Coverage::kHouseholdPropertyLoss:
          c.cause = Chance(80) ? (Chance(50) ? "FIRE" : "WATER") : Pick(bad_causes_);
          break;
        case Coverage::kChildAccident:
          c.child_id = "K" + std::to_string(Uniform(1, 3));
          if (Chance(90)) {
            c.child_birth_date =
                Date::FromCivil(Uniform(2004, 2023), Uniform(1, 12), Uniform(1, 28));
          }
          break;
        default:
          break;
      }
      c.documents = RequiredDocs(c.coverage);
      if (Chance(20)) {
        std::vector<std::string> docs;
        for (const auto& d : c.documents) {
          if (Chance(50)) docs.push_back(d);
        }
        if (Chance(30)) docs.push_back("PHOTO");
        c.documents = docs;
      }
    }
    const int lag = Uniform(1, 100);
    c.date = c.incident_date.AddDays(lag <= 80 ? Uniform(0, 40)
                                               : (lag <= 95 ? Uniform(300, 420) : -Uniform(1, 9)));
    // Mostly a fresh id; sometimes one already used (by this member, or by anyone).
    c.claim = p.id + "-C" + std::to_string(++p.claims);
    if (!filed_.empty() && Chance(5)) {
      const Filed& f = Pick(filed_);
      if (share_claim_ids_ || f.input.member == p.id) c.claim = f.input.claim;
    }
    filed_.push_back({c});
    return c;
  }

  Input MakeReview() {
    ReviewInput r;
    const Filed& f = Pick(filed_);
    r.claim = Chance(5) ? "X-C1" : f.input.claim;
    if (Chance(20)) r.member = PrefixOf(r.claim) == "X" ? "" : PrefixOf(r.claim);
    r.date = f.input.date.AddDays(Uniform(-3, 60));
    r.action = Chance(60) ? ReviewAction::kApprove : ReviewAction::kDeny;
    return r;
  }

  Input MakeAppeal() {
    AppealInput a;
    const Filed& f = Pick(filed_);
    a.claim = Chance(5) ? "X-C1" : f.input.claim;
    if (Chance(20)) a.member = PrefixOf(a.claim) == "X" ? "" : PrefixOf(a.claim);
    a.date = f.input.date.AddDays(Uniform(-3, 90));
    return a;
  }

  Fen RandomAmount() {
    switch (Uniform(0, 9)) {
      case 0:
        return 0;
      case 1:
        return Pick(std::vector<Fen>{9999, 10000, 10001, 10002, 19999, 20000, 20001});
      case 2:
        return Uniform(10000, 40000);
      case 3:
        return Pick(std::vector<Fen>{343333, 343334, 232223, 390000});
      default:
        return Uniform(0, 700000);
    }
  }

  static std::string Code(const char* prefix, int n) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%s%02d", prefix, n);
    return buf;
  }

  std::mt19937_64 rng_;
  bool share_claim_ids_;
  std::vector<Person> people_;
  std::vector<Filed> filed_;
  const std::vector<std::string> bad_codes_ = {"CI29", "FD08", "ci01", "", "CI01 ", "FD01", "CI01"};
  const std::vector<std::string> bad_causes_ = {"THEFT", "FLOOD", "fire", ""};
};

History MakeHistory(uint64_t seed, bool share_claim_ids) {
  return HistoryGenerator(seed, share_claim_ids).Generate(seed);
}

// Runs `check` on histories seeded base_seed, base_seed + 1, ...; `check` returns "" or what
// went wrong. Reports the first few failing seeds with their histories.
constexpr int kHistories = 2500;

void ForEachHistory(uint64_t base_seed, bool share_claim_ids,
                    const std::function<std::string(const History&)>& check) {
  int failures = 0;
  for (int i = 0; i < kHistories && failures < 3; ++i) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(i);
    const History h = MakeHistory(seed, share_claim_ids && i % 2 == 1);
    const std::string error = check(h);
    if (!error.empty()) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << ": " << error << "\n" << Dump(h);
    }
  }
}

// Folds `h`, calling `step` after every event with the members before it, the output and the
// fold after it. Stops at the first error.
std::string Replay(const History& h,
                   const std::function<std::string(size_t, const std::map<MemberId, MemberState>&,
                                                   const Output&, const Fold&)>& step) {
  Fold fold;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const std::map<MemberId, MemberState> before = fold.members();
    const Output out = fold.Apply(h.events[i], ThePlan());
    std::string error = step(i, before, out, fold);
    if (!error.empty()) return "event " + std::to_string(i) + ": " + error;
  }
  return "";
}

// ---- Invariants over one member's state. ----

std::string CheckLimits(const MemberState& m) {
  std::map<std::tuple<Coverage, int, std::string>, Fen> used;
  std::map<std::tuple<Coverage, int>, int> fixed_holders;
  for (const ClaimRecord& c : m.claims) {
    if (!c.live()) continue;
    const Coverage cov = c.input.coverage;
    const int year = c.input.incident_date.year();
    if (auto fixed = FixedBenefit(cov)) {
      if (c.payable != 0 && c.payable != *fixed) {
        return c.input.claim + ": live fixed claim pays " + std::to_string(c.payable);
      }
      if (c.payable > 0) {
        const int scope = cov == Coverage::kDeathFromIllness ? 0 : year;
        if (++fixed_holders[{cov, scope}] > 1) {
          return c.input.claim + ": a second live claim holds the fixed " + std::string(Name(cov)) +
                 " benefit for " + std::to_string(scope);
        }
      }
    } else {
      const std::string child = cov == Coverage::kChildAccident ? c.input.child_id : "";
      Fen& sum = used[{cov, year, child}];
      sum += c.payable;
      if (sum > LimitOf(cov)) {
        return c.input.claim + ": live payable " + std::to_string(sum) + " exceeds the " +
               std::string(Name(cov)) + " limit for " + std::to_string(year) + " '" + child + "'";
      }
    }
  }
  return "";
}

std::string CheckPayables(const MemberState& m) {
  for (const ClaimRecord& c : m.claims) {
    if (c.payable < 0) return c.input.claim + ": negative payable";
    if (c.outcome == Outcome::kDenied && (c.payable != 0 || c.condolence != 0)) {
      return c.input.claim + ": DENIED with payable " + std::to_string(c.payable) + " condolence " +
             std::to_string(c.condolence);
    }
  }
  return "";
}

std::string CheckCondolence(const MemberState& m) {
  std::map<int, int> granted;
  for (const ClaimRecord& c : m.claims) {
    if (c.condolence == 0) continue;
    const int year = c.input.incident_date.year();
    if (c.outcome != Outcome::kApproved) return c.input.claim + ": condolence while not APPROVED";
    if (c.condolence != kCondolence) return c.input.claim + ": condolence is not 50,000";
    if (!GrantsCondolence(c.input.coverage)) {
      return c.input.claim + ": condolence for " + std::string(Name(c.input.coverage));
    }
    if (c.payable < kCondolenceMinPayable) return c.input.claim + ": condolence below 300,000";
    if (++granted[year] > 1) {
      return c.input.claim + ": a second condolence in plan year " + std::to_string(year);
    }
  }
  // An approved claim that qualifies and got none: the year's condolence went to another claim.
  for (const ClaimRecord& c : m.claims) {
    if (c.outcome == Outcome::kApproved && c.condolence == 0 &&
        GrantsCondolence(c.input.coverage) && c.payable >= kCondolenceMinPayable &&
        granted[c.input.incident_date.year()] == 0) {
      return c.input.claim + ": approved at " + std::to_string(c.payable) +
             " without condolence, and none granted for its plan year";
    }
  }
  return "";
}

std::string CheckReasons(Outcome outcome, Coverage coverage, Fen payable,
                         const std::vector<Reason>& reasons) {
  const std::string where = std::string(Name(outcome)) + " " + Names(reasons) + ": ";
  if (reasons.size() == 1 && Rank(reasons[0]) < 0) {
    if (reasons[0] == Reason::kReviewDenied && outcome != Outcome::kDenied) {
      return where + "REVIEW_DENIED on a claim that is not DENIED";
    }
    if (reasons[0] == Reason::kAppealed && outcome != Outcome::kReferred) {
      return where + "APPEALED on a claim that is not REFERRED";
    }
    return "";
  }
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (Rank(reasons[i]) < 0) return where + "REVIEW_DENIED/APPEALED with other reasons";
    if (i > 0 && Rank(reasons[i - 1]) >= Rank(reasons[i])) {
      return where + "not strictly in PLAN.md order";
    }
  }
  bool any_denial = false, any_referral = false, limit = false;
  for (Reason r : reasons) {
    any_denial |= IsDenial(r);
    any_referral |= IsReferral(r);
    limit |= r == Reason::kLimitApplied;
  }
  switch (outcome) {
    case Outcome::kDenied:
      if (!any_denial || any_referral || limit) return where + "a denial needs denial codes only";
      break;
    case Outcome::kReferred:
      if (!any_referral || any_denial) return where + "a referral needs referral codes";
      break;
    case Outcome::kApproved:
      if (any_denial || any_referral) return where + "an approval lists only LIMIT_APPLIED";
      break;
  }
  const bool fixed = FixedBenefit(coverage).has_value();
  for (Reason r : reasons) {
    bool fits = true;
    switch (r) {
      case Reason::kWaitingPeriod:
        fits = IsIllness(coverage);
        break;
      case Reason::kNotEligible:
        fits = coverage == Coverage::kFemaleSpecificDisease || coverage == Coverage::kChildAccident;
        break;
      case Reason::kConditionNotCovered:
        fits =
            coverage == Coverage::kCriticalIllness || coverage == Coverage::kFemaleSpecificDisease;
        break;
      case Reason::kCauseNotCovered:
        fits = coverage == Coverage::kHouseholdPropertyLoss;
        break;
      case Reason::kBelowDeductible:
      case Reason::kLimitApplied:
        fits = !fixed;
        break;
      case Reason::kEarlyClaim:
        fits = !IsIllness(coverage);
        break;
      case Reason::kHighValue:
        fits = payable >= 1500000;
        break;
      default:
        break;
    }
    if (!fits) return where + std::string(Name(r)) + " does not fit " + std::string(Name(coverage));
  }
  if (std::find(reasons.begin(), reasons.end(), Reason::kNotEnrolled) != reasons.end() &&
      std::find(reasons.begin(), reasons.end(), Reason::kWaitingPeriod) != reasons.end()) {
    return where + "WAITING_PERIOD must be skipped when NOT_ENROLLED hit";
  }
  return "";
}

std::string CheckAllMembers(const Fold& fold,
                            const std::function<std::string(const MemberState&)>& check) {
  for (const auto& [id, m] : fold.members()) {
    std::string error = check(m);
    if (!error.empty()) return id + ": " + error;
  }
  return "";
}

// ---- Properties. ----

TEST(EnginePropertyTest, NeverExceedsALimitNorHoldsAFixedBenefitTwice) {
  ForEachHistory(1000, true, [](const History& h) {
    return Replay(h, [](size_t, const auto&, const Output&, const Fold& fold) {
      return CheckAllMembers(fold, CheckLimits);
    });
  });
}

TEST(EnginePropertyTest, DeniedClaimsPayNothingAndNoPayableIsNegative) {
  ForEachHistory(2000000, true, [](const History& h) {
    return Replay(h, [](size_t, const auto&, const Output& out, const Fold& fold) -> std::string {
      if (const auto* d = std::get_if<Decision>(&out.body)) {
        if (d->payable < 0) return "decision with negative payable";
        if (d->outcome == Outcome::kDenied && (d->payable != 0 || d->condolence != 0)) {
          return "DENIED decision pays " + std::to_string(d->payable) + " + " +
                 std::to_string(d->condolence);
        }
      }
      return CheckAllMembers(fold, CheckPayables);
    });
  });
}

TEST(EnginePropertyTest, CondolenceOnlyOnApprovalAndOncePerMemberPerPlanYear) {
  ForEachHistory(3000000, true, [](const History& h) {
    return Replay(h, [](size_t, const auto&, const Output& out, const Fold& fold) -> std::string {
      if (const auto* d = std::get_if<Decision>(&out.body)) {
        if (d->condolence != 0 && d->outcome != Outcome::kApproved) {
          return "condolence on a decision that is not APPROVED";
        }
      }
      return CheckAllMembers(fold, CheckCondolence);
    });
  });
}

TEST(EnginePropertyTest, ReasonsFollowPlanOrderWithoutDuplicatesAndFitTheOutcome) {
  ForEachHistory(4000000, true, [](const History& h) {
    return Replay(h, [](size_t, const auto&, const Output& out, const Fold& fold) -> std::string {
      if (const auto* d = std::get_if<Decision>(&out.body)) {
        std::string error = CheckReasons(d->outcome, d->coverage, d->payable, d->reasons);
        if (!error.empty()) return d->claim + ": " + error;
      }
      return CheckAllMembers(fold, [](const MemberState& m) -> std::string {
        for (const ClaimRecord& c : m.claims) {
          std::string error = CheckReasons(c.outcome, c.input.coverage, c.payable, c.reasons);
          if (!error.empty()) return c.input.claim + ": " + error;
        }
        return "";
      });
    });
  });
}

TEST(EnginePropertyTest, RejectedInputsLeaveStateUnchanged) {
  ForEachHistory(5000000, true, [](const History& h) {
    return Replay(h,
                  [&h](size_t i, const std::map<MemberId, MemberState>& before, const Output& out,
                       const Fold& fold) -> std::string {
                    const auto* r = std::get_if<InputRejection>(&out.body);
                    if (r == nullptr) return "";
                    std::map<MemberId, MemberState> expected = before;
                    if (out.sequence != 0) {
                      auto it = expected.find(r->member);
                      if (it == expected.end()) {
                        MemberState fresh;
                        fresh.id = r->member;
                        it = expected.emplace(r->member, fresh).first;
                      }
                      it->second.last_sequence = out.sequence;
                    }
                    if (!(fold.members() == expected)) {
                      return "rejection " + std::string(Name(r->code)) + " of '" +
                             DescribeInput(h.events[i]) + "' changed the state";
                    }
                    return "";
                  });
  });
}

TEST(EnginePropertyTest, NumbersEachMembersOutputsConsecutively) {
  ForEachHistory(6000000, true, [](const History& h) {
    return Replay(
        h,
        [](size_t, const std::map<MemberId, MemberState>& before, const Output& out,
           const Fold& fold) -> std::string {
          if (out.empty()) return out.sequence == 0 ? "" : "an empty output has a sequence number";
          MemberId member;
          if (const auto* d = std::get_if<Decision>(&out.body)) member = d->member;
          if (const auto* r = std::get_if<InputRejection>(&out.body)) member = r->member;
          if (out.sequence == 0) {
            const auto* r = std::get_if<InputRejection>(&out.body);
            if (r == nullptr || r->code != Rejection::kUnknownClaim || !r->member.empty()) {
              return "a member's output without a sequence number";
            }
            return "";
          }
          const auto it = before.find(member);
          const uint64_t last = it == before.end() ? 0 : it->second.last_sequence;
          if (out.sequence != last + 1) {
            return "sequence " + std::to_string(out.sequence) + " after " + std::to_string(last);
          }
          const MemberState* now = fold.Member(member);
          if (now == nullptr || now->last_sequence != out.sequence)
            return "state misses the sequence";
          return "";
        });
  });
}

TEST(EnginePropertyTest, DecisionsMatchTheMembersState) {
  ForEachHistory(7000000, true, [](const History& h) {
    return Replay(h, [](size_t, const auto&, const Output& out, const Fold& fold) -> std::string {
      const auto* d = std::get_if<Decision>(&out.body);
      if (d == nullptr) return "";
      const MemberState* m = fold.Member(d->member);
      const ClaimRecord* c = m ? m->FindClaim(d->claim) : nullptr;
      if (c == nullptr) return d->claim + ": decided but not in the member's state";
      if (c->outcome != d->outcome || c->payable != d->payable || c->condolence != d->condolence ||
          c->reasons != d->reasons) {
        return d->claim + ": decision and state disagree";
      }
      return "";
    });
  });
}

std::vector<Output> FoldAll(const std::vector<Input>& events, Fold& fold) {
  std::vector<Output> outs;
  outs.reserve(events.size());
  for (const Input& in : events) outs.push_back(fold.Apply(in, ThePlan()));
  return outs;
}

TEST(EnginePropertyTest, SameEventsGiveIdenticalOutputs) {
  ForEachHistory(8000000, true, [](const History& h) -> std::string {
    Fold first, second;
    const std::vector<Output> a = FoldAll(h.events, first);
    const std::vector<Output> b = FoldAll(h.events, second);
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] == b[i])) {
        return "event " + std::to_string(i) + ": " + DescribeOutput(a[i]) + " vs " +
               DescribeOutput(b[i]);
      }
    }
    if (!(first.members() == second.members())) return "final states differ";
    return "";
  });
}

// The member an event belongs to: the named one, or the owner by construction of the claim id.
MemberId OwnerByConstruction(const Input& in) {
  const MemberId& named = MemberOf(in);
  if (!named.empty()) return named;
  if (const auto* r = std::get_if<ReviewInput>(&in)) return PrefixOf(r->claim);
  if (const auto* a = std::get_if<AppealInput>(&in)) return PrefixOf(a->claim);
  return "";
}

TEST(EnginePropertyTest, MemberOutputsDoNotDependOnOtherMembersEvents) {
  // Claim ids are never shared across members here: the claim-id rule would make them depend.
  ForEachHistory(9000000, false, [](const History& h) -> std::string {
    Fold together;
    const std::vector<Output> all = FoldAll(h.events, together);
    std::map<MemberId, std::vector<size_t>> by_member;
    for (size_t i = 0; i < h.events.size(); ++i) {
      by_member[OwnerByConstruction(h.events[i])].push_back(i);
    }
    for (const auto& [member, indexes] : by_member) {
      std::vector<Input> own;
      for (size_t i : indexes) own.push_back(h.events[i]);
      Fold alone;
      const std::vector<Output> outs = FoldAll(own, alone);
      for (size_t k = 0; k < indexes.size(); ++k) {
        if (!(outs[k] == all[indexes[k]])) {
          return "member '" + member + "' event " + std::to_string(indexes[k]) + ": " +
                 DescribeOutput(all[indexes[k]]) + " interleaved vs " + DescribeOutput(outs[k]) +
                 " alone";
        }
      }
      const MemberState* a = together.Member(member);
      const MemberState* b = alone.Member(member);
      if ((a == nullptr) != (b == nullptr) || (a != nullptr && !(*a == *b))) {
        return "member '" + member + "' final state differs";
      }
    }
    return "";
  });
}

// The generator must actually reach the interesting corners, or the properties prove little.
TEST(EnginePropertyTest, GeneratedHistoriesCoverEveryOutcomeReasonAndRejection) {
  std::set<Reason> reasons;
  std::set<Rejection> rejections;
  std::set<Outcome> outcomes;
  int condolences = 0;
  for (int i = 0; i < kHistories; ++i) {
    const History h = MakeHistory(1000 + static_cast<uint64_t>(i), i % 2 == 1);
    Fold fold;
    for (const Output& out : FoldAll(h.events, fold)) {
      if (const auto* d = std::get_if<Decision>(&out.body)) {
        outcomes.insert(d->outcome);
        reasons.insert(d->reasons.begin(), d->reasons.end());
        condolences += d->condolence > 0;
      }
      if (const auto* r = std::get_if<InputRejection>(&out.body)) rejections.insert(r->code);
    }
  }
  EXPECT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(reasons.size(), 17u) << "some reason never occurs";
  // Every rejection the rules produce; MALFORMED_INPUT comes from decoding, not from the rules.
  EXPECT_EQ(rejections.size(), 10u) << "some rejection never occurs";
  EXPECT_GT(condolences, 100);
}

}  // namespace
}  // namespace claims::domain
