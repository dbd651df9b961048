// Rules tests of the engine, written from PLAN.md (the spec), one rule or reason code at a time.
// Every scenario folds an event log with domain::Fold under the real example plan file and checks
// the final state of every claim (outcome, payable, condolence, reasons) and which inputs were
// rejected, with which code. Numbers are worked out by hand in the scenario names and comments.
#include "libs/domain/engine.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/engine_test_support.h"
#include "libs/domain/fold.h"

namespace claims::domain {
namespace {

using testing::Names;
using testing::RequiredDocs;
using testing::ThePlan;

using enum Reason;
using enum Rejection;
using enum Outcome;

// ---- The plan and the vocabulary of the tables. ----

Date D(const char* text) {
  auto d = Date::Parse(text);
  if (!d) {
    std::fprintf(stderr, "bad date in test: %s\n", text);
    std::abort();
  }
  return *d;
}

constexpr const char* kFemaleBirth = "1990-05-12";
constexpr const char* kMaleBirth = "1985-11-03";

// An enrollment for the plan year of `start` (or `year` when given). Women are born 1990-05-12,
// men 1985-11-03, so every enrollment of a member agrees on gender and birth date.
Input Enroll(const MemberId& member, const char* start, Gender gender = Gender::kFemale,
             int year = 0) {
  EnrollInput in;
  in.member = member;
  in.gender = gender;
  in.birth_date = D(gender == Gender::kMale ? kMaleBirth : kFemaleBirth);
  in.occupation = Occupation::kCourier;
  in.start_date = D(start);
  in.plan_year = year != 0 ? year : in.start_date.year();
  return in;
}

Input EnrollMale(const MemberId& member, const char* start) {
  return Enroll(member, start, Gender::kMale);
}

Input Terminate(const MemberId& member, const char* date) {
  return TerminateInput{.member = member, .date = D(date)};
}

Input Approve(const ClaimId& claim, const char* date) {
  return ReviewInput{
      .claim = claim, .member = "", .date = D(date), .action = ReviewAction::kApprove};
}

Input Deny(const ClaimId& claim, const char* date) {
  return ReviewInput{.claim = claim, .member = "", .date = D(date), .action = ReviewAction::kDeny};
}

Input Appeal(const ClaimId& claim, const char* date) {
  return AppealInput{.claim = claim, .member = "", .date = D(date)};
}

// A claim with every required document, filed on its incident date unless Filed() says otherwise.
class ClaimOf {
 public:
  ClaimOf(ClaimId id, MemberId member, Coverage coverage, const char* incident) {
    in_.claim = std::move(id);
    in_.member = std::move(member);
    in_.coverage = coverage;
    in_.incident_date = D(incident);
    in_.date = in_.incident_date;
    in_.documents = RequiredDocs(coverage);
  }
  ClaimOf& Filed(const char* date) {
    in_.date = D(date);
    return *this;
  }
  ClaimOf& Amount(Fen amount) {
    in_.amount = amount;
    return *this;
  }
  ClaimOf& Condition(std::string code) {
    in_.condition_code = std::move(code);
    return *this;
  }
  ClaimOf& Cause(std::string cause) {
    in_.cause = std::move(cause);
    return *this;
  }
  ClaimOf& Child(std::string id, std::optional<const char*> birth) {
    in_.child_id = std::move(id);
    in_.child_birth_date = birth ? std::optional<Date>(D(*birth)) : std::nullopt;
    return *this;
  }
  ClaimOf& Docs(std::vector<std::string> docs) {
    in_.documents = std::move(docs);
    return *this;
  }
  operator Input() const { return in_; }  // NOLINT: tables list claims as events

 private:
  ClaimInput in_;
};

ClaimOf Acc(const ClaimId& id, const MemberId& m, const char* incident, Fen amount) {
  return ClaimOf(id, m, Coverage::kAccidentalInjury, incident).Amount(amount);
}
ClaimOf Ci(const ClaimId& id, const MemberId& m, const char* incident, std::string code = "CI01") {
  return ClaimOf(id, m, Coverage::kCriticalIllness, incident).Condition(std::move(code));
}
ClaimOf Fsd(const ClaimId& id, const MemberId& m, const char* incident, std::string code = "FD01") {
  return ClaimOf(id, m, Coverage::kFemaleSpecificDisease, incident).Condition(std::move(code));
}
ClaimOf Death(const ClaimId& id, const MemberId& m, const char* incident) {
  return ClaimOf(id, m, Coverage::kDeathFromIllness, incident);
}
ClaimOf Kid(const ClaimId& id, const MemberId& m, const char* incident, Fen amount,
            std::string child = "K1", std::optional<const char*> birth = "2015-03-01") {
  return ClaimOf(id, m, Coverage::kChildAccident, incident)
      .Amount(amount)
      .Child(std::move(child), birth);
}
ClaimOf Prop(const ClaimId& id, const MemberId& m, const char* incident, Fen amount,
             std::string cause = "FIRE") {
  return ClaimOf(id, m, Coverage::kHouseholdPropertyLoss, incident)
      .Amount(amount)
      .Cause(std::move(cause));
}

// The expected final state of one claim.
struct Final {
  ClaimId claim;
  Outcome outcome;
  Fen payable;
  Fen condolence;
  std::vector<Reason> reasons;
};

Final Approved(const ClaimId& id, Fen payable, Fen condolence = 0, std::vector<Reason> r = {}) {
  return {id, kApproved, payable, condolence, std::move(r)};
}
Final Referred(const ClaimId& id, Fen payable, std::vector<Reason> r) {
  return {id, kReferred, payable, 0, std::move(r)};
}
Final Denied(const ClaimId& id, std::vector<Reason> r) { return {id, kDenied, 0, 0, std::move(r)}; }

// One row of a rules table: events in log order, the final state of every claim that got a
// decision, and the inputs (by index) that must be rejected, with their code. Every other input
// must be accepted.
struct Scenario {
  std::string name;
  std::vector<Input> events;
  std::vector<Final> expect;
  std::map<size_t, Rejection> rejected = {};
};

std::string Describe(const Output& out) {
  if (const auto* r = std::get_if<InputRejection>(&out.body)) {
    return std::string("rejection ") + std::string(Name(r->code)) + " (" + r->detail + ")";
  }
  if (const auto* d = std::get_if<Decision>(&out.body)) {
    std::ostringstream os;
    os << "decision " << d->claim << " " << Name(d->outcome) << " " << d->payable << " "
       << Names(d->reasons);
    return os.str();
  }
  return "no output";
}

// Folds the scenario and returns the fold, checking rejections and final claim states.
Fold RunScenario(const Scenario& s) {
  SCOPED_TRACE(s.name);
  Fold fold;
  std::map<ClaimId, Decision> last;
  for (size_t i = 0; i < s.events.size(); ++i) {
    const Output out = fold.Apply(s.events[i], ThePlan());
    const auto* rejection = std::get_if<InputRejection>(&out.body);
    auto want = s.rejected.find(i);
    if (want != s.rejected.end()) {
      EXPECT_TRUE(rejection != nullptr && rejection->code == want->second)
          << "event " << i << ": want rejection " << Name(want->second) << ", got "
          << Describe(out);
    } else {
      EXPECT_EQ(rejection, nullptr) << "event " << i << ": unexpected " << Describe(out);
    }
    if (const auto* d = std::get_if<Decision>(&out.body)) last[d->claim] = *d;
  }
  for (const Final& f : s.expect) {
    SCOPED_TRACE("claim " + f.claim);
    auto it = last.find(f.claim);
    if (it == last.end()) {
      ADD_FAILURE() << "no decision for claim " << f.claim;
      continue;
    }
    const Decision& d = it->second;
    EXPECT_EQ(Name(d.outcome), Name(f.outcome));
    EXPECT_EQ(d.payable, f.payable);
    EXPECT_EQ(d.condolence, f.condolence);
    EXPECT_EQ(Names(d.reasons), Names(f.reasons));
    // The member's state holds the same current decision.
    const MemberId* owner = fold.OwnerOf(f.claim);
    if (owner == nullptr) {
      ADD_FAILURE() << "claim " << f.claim << " has no owner";
      continue;
    }
    const ClaimRecord* rec = fold.Member(*owner)->FindClaim(f.claim);
    if (rec == nullptr) {
      ADD_FAILURE() << "claim " << f.claim << " not in its owner's state";
      continue;
    }
    EXPECT_EQ(Name(rec->outcome), Name(f.outcome));
    EXPECT_EQ(rec->payable, f.payable);
    EXPECT_EQ(rec->condolence, f.condolence);
    EXPECT_EQ(Names(rec->reasons), Names(f.reasons));
  }
  EXPECT_EQ(last.size(), s.expect.size()) << "every decided claim must be listed in expect";
  return fold;
}

void RunTable(const std::vector<Scenario>& table) {
  for (const Scenario& s : table) RunScenario(s);
}

// ---- Enrollment. ----

// The enrollment of one plan year as the member's state records it.
struct WantEnrollment {
  int year;
  bool renewal;
  const char* continuous_start;
  const char* start;
  const char* end;
};

struct EnrollmentRow {
  std::string name;
  std::vector<Input> events;
  std::map<size_t, Rejection> rejected;
  WantEnrollment want;
};

TEST(EnrollmentTest, RecordsRenewalContinuousStartAndEndAsPlanSays) {
  const std::vector<EnrollmentRow> table = {
      {"a first enrollment is new, its own start is the continuous start",
       {Enroll("M", "2024-03-01")},
       {},
       {2024, false, "2024-03-01", "2024-03-01", "2024-12-31"}},
      {"a start on Y-01-31 after an unterminated Y-1 enrollment is a renewal",
       {Enroll("M", "2024-03-01"), Enroll("M", "2025-01-31")},
       {},
       {2025, true, "2024-03-01", "2025-01-31", "2025-12-31"}},
      {"a start on Y-02-01 is new",
       {Enroll("M", "2024-03-01"), Enroll("M", "2025-02-01")},
       {},
       {2025, false, "2025-02-01", "2025-02-01", "2025-12-31"}},
      {"renewals chain the continuous start",
       {Enroll("M", "2023-06-01"), Enroll("M", "2024-01-10"), Enroll("M", "2025-01-01")},
       {},
       {2025, true, "2023-06-01", "2025-01-01", "2025-12-31"}},
      {"an enrollment for Y-2 only does not make Y a renewal",
       {Enroll("M", "2023-01-01"), Enroll("M", "2025-01-01")},
       {},
       {2025, false, "2025-01-01", "2025-01-01", "2025-12-31"}},
      {"a terminated Y-1 enrollment makes Y new",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-10-31"), Enroll("M", "2025-01-01")},
       {},
       {2025, false, "2025-01-01", "2025-01-01", "2025-12-31"}},
      {"a termination dated Y-1-12-31 counts as applied",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-12-31"), Enroll("M", "2025-01-01")},
       {},
       {2025, false, "2025-01-01", "2025-01-01", "2025-12-31"}},
      {"a termination dated Y-12-31 cuts nothing",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-12-31")},
       {},
       {2024, false, "2024-01-01", "2024-01-01", "2024-12-31"}},
      {"a termination before the start still counts as applied",
       {Enroll("M", "2024-05-01"), Terminate("M", "2024-04-15"), Enroll("M", "2025-01-01")},
       {},
       {2025, false, "2025-01-01", "2025-01-01", "2025-12-31"}},
      {"a later termination of Y-1 does not undo an accepted renewal",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Terminate("M", "2024-06-30")},
       {},
       {2025, true, "2024-01-01", "2025-01-01", "2025-12-31"}},
      {"the later termination cuts Y-1 only",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Terminate("M", "2024-06-30")},
       {},
       {2024, false, "2024-01-01", "2024-01-01", "2024-06-30"}},
      {"a Y-1 enrollment accepted after Y leaves Y new",
       {Enroll("M", "2025-01-01"), Enroll("M", "2024-01-01")},
       {},
       {2025, false, "2025-01-01", "2025-01-01", "2025-12-31"}},
      {"a rejected termination does not mark an enrollment for its year accepted later",
       {Enroll("M", "2023-01-01"), Terminate("M", "2024-02-01"), Enroll("M", "2024-01-15"),
        Enroll("M", "2025-01-01")},
       {{1, kNoEnrollmentToTerminate}},
       {2025, true, "2023-01-01", "2025-01-01", "2025-12-31"}},
      {"the enrollment accepted after a rejected termination covers the whole year",
       {Enroll("M", "2023-01-01"), Terminate("M", "2024-02-01"), Enroll("M", "2024-01-15")},
       {{1, kNoEnrollmentToTerminate}},
       {2024, true, "2023-01-01", "2024-01-15", "2024-12-31"}},
      {"a termination in Y leaves Y-1 untouched",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Terminate("M", "2025-03-01")},
       {},
       {2024, false, "2024-01-01", "2024-01-01", "2024-12-31"}},
      {"a later termination never extends coverage",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-06-30"), Terminate("M", "2024-09-30")},
       {},
       {2024, false, "2024-01-01", "2024-01-01", "2024-06-30"}},
      {"an earlier second termination shortens further",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-09-30"), Terminate("M", "2024-06-30")},
       {},
       {2024, false, "2024-01-01", "2024-01-01", "2024-06-30"}},
      {"a second enrollment for the same year is rejected and changes nothing",
       {Enroll("M", "2024-06-01"), Enroll("M", "2024-01-01")},
       {{1, kDuplicateEnrollmentYear}},
       {2024, false, "2024-06-01", "2024-06-01", "2024-12-31"}},
      {"a second enrollment is rejected even after the first was terminated",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-03-31"), Enroll("M", "2024-05-01")},
       {{2, kDuplicateEnrollmentYear}},
       {2024, false, "2024-01-01", "2024-01-01", "2024-03-31"}},
      {"an enrollment with a start outside its plan year is rejected; a later one is accepted",
       {Enroll("M", "2025-01-01", Gender::kFemale, 2024),
        Enroll("M", "2023-12-31", Gender::kFemale, 2024), Enroll("M", "2024-03-01")},
       {{0, kStartOutsidePlanYear}, {1, kStartOutsidePlanYear}},
       {2024, false, "2024-03-01", "2024-03-01", "2024-12-31"}},
  };
  for (const EnrollmentRow& row : table) {
    SCOPED_TRACE(row.name);
    Fold fold;
    for (size_t i = 0; i < row.events.size(); ++i) {
      const Output out = fold.Apply(row.events[i], ThePlan());
      const auto* rejection = std::get_if<InputRejection>(&out.body);
      auto want = row.rejected.find(i);
      if (want != row.rejected.end()) {
        EXPECT_TRUE(rejection != nullptr && rejection->code == want->second)
            << "event " << i << ": got " << Describe(out);
      } else {
        EXPECT_TRUE(out.empty()) << "event " << i << ": got " << Describe(out);
        EXPECT_EQ(out.sequence, 0u) << "event " << i;
      }
    }
    const MemberState* m = fold.Member("M");
    ASSERT_NE(m, nullptr);
    const EnrollmentRecord* e = m->EnrollmentFor(row.want.year);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->renewal, row.want.renewal);
    EXPECT_EQ(e->continuous_start.ToString(), row.want.continuous_start);
    EXPECT_EQ(e->start.ToString(), row.want.start);
    EXPECT_EQ(e->end.ToString(), row.want.end);
  }
}

TEST(EnrollmentTest, RejectedEnrollmentsCreateNoCoverage) {
  RunTable({
      {"a start outside the plan year creates no enrollment for either year",
       {Enroll("M", "2025-01-01", Gender::kFemale, 2024), Acc("C1", "M", "2024-05-01", 20000),
        Acc("C2", "M", "2025-05-01", 20000)},
       {Denied("C1", {kNotEnrolled}), Denied("C2", {kNotEnrolled})},
       {{0, kStartOutsidePlanYear}}},
      {"the rejected second enrollment of a terminated year does not restore coverage",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-03-31"), Enroll("M", "2024-05-01"),
        Acc("C1", "M", "2024-06-01", 20000)},
       {Denied("C1", {kNotEnrolled})},
       {{2, kDuplicateEnrollmentYear}}},
      {"the rejected second enrollment does not move the start earlier",
       {Enroll("M", "2024-06-01"), Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 20000)},
       {Denied("C1", {kNotEnrolled})},
       {{1, kDuplicateEnrollmentYear}}},
  });
}

TEST(EnrollmentTest, TerminationCutsCoverageOfItsOwnYearOnly) {
  RunTable({
      {"T is the last covered day: 9,000 on T, NOT_ENROLLED the day after",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-06-30"),
        Acc("C1", "M", "2024-06-30", 20000), Acc("C2", "M", "2024-07-01", 20000)},
       {Approved("C1", 9000), Denied("C2", {kNotEnrolled})}},
      {"a termination never reopens a decided claim, whose payable still counts",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-07-01", 400000),
        Terminate("M", "2024-06-30"), Acc("C2", "M", "2024-05-01", 200000)},
       {Approved("C1", 351000, 50000), Approved("C2", 149000, 0, {kLimitApplied})}},
      {"T before the start covers nothing",
       {Enroll("M", "2024-05-01"), Terminate("M", "2024-04-15"),
        Acc("C1", "M", "2024-05-10", 20000)},
       {Denied("C1", {kNotEnrolled})}},
      {"a termination in 2025 leaves 2024 whole",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Terminate("M", "2025-01-10"),
        Acc("C1", "M", "2024-12-31", 20000).Filed("2025-01-05"),
        Acc("C2", "M", "2025-01-10", 20000), Acc("C3", "M", "2025-01-11", 20000)},
       {Approved("C1", 9000), Approved("C2", 9000), Denied("C3", {kNotEnrolled})}},
      {"a termination for a year without enrollment is rejected; the later enrollment covers",
       {Enroll("M", "2023-01-01"), Terminate("M", "2024-02-01"), Enroll("M", "2024-01-01"),
        Acc("C1", "M", "2024-03-01", 20000),
        Acc("C2", "M", "2023-12-31", 20000).Filed("2024-01-02")},
       {Approved("C1", 9000), Approved("C2", 9000)},
       {{1, kNoEnrollmentToTerminate}}},
      {"a termination for a member never enrolled is rejected",
       {Terminate("N", "2024-02-01")},
       {},
       {{0, kNoEnrollmentToTerminate}}},
      {"a termination applied after the renewal keeps the renewal's continuous start: no waiting",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Terminate("M", "2024-12-31"),
        Ci("C1", "M", "2025-01-10")},
       {Approved("C1", 1000000, 50000)}},
      {"after a Y-1-12-31 termination Y is new: waiting period and early claim apply",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-12-31"), Enroll("M", "2025-01-01"),
        Ci("C1", "M", "2025-02-01"), Acc("C2", "M", "2025-01-07", 20000),
        Acc("C3", "M", "2024-12-31", 20000).Filed("2025-01-02")},
       {Denied("C1", {kWaitingPeriod}), Referred("C2", 9000, {kEarlyClaim}), Approved("C3", 9000)}},
  });
}

// PLAN.md says gender and birth date "are the same on every enrollment of a member" but does not
// say what happens to one that differs; the engine has IDENTITY_MISMATCH for it. We read it as a
// rejection that changes nothing.
TEST(EnrollmentTest, RejectsEnrollmentThatContradictsGenderOrBirthDate) {
  Input other_gender = Enroll("M", "2025-01-01", Gender::kMale);
  std::get<EnrollInput>(other_gender).birth_date = D(kFemaleBirth);
  Input other_birth = Enroll("M", "2025-01-01");
  std::get<EnrollInput>(other_birth).birth_date = D("1990-05-13");
  RunTable({
      {"a second enrollment with another gender or birth date is rejected",
       {Enroll("M", "2024-01-01"), other_gender, other_birth, Fsd("C1", "M", "2024-05-01"),
        Acc("C2", "M", "2025-05-01", 20000)},
       {Approved("C1", 500000), Denied("C2", {kNotEnrolled})},
       {{1, kIdentityMismatch}, {2, kIdentityMismatch}}},
      {"the occupation may change between enrollments",
       {Enroll("M", "2024-01-01"),
        EnrollInput{.member = "M",
                    .gender = Gender::kFemale,
                    .birth_date = D(kFemaleBirth),
                    .occupation = Occupation::kRideHailing,
                    .plan_year = 2025,
                    .start_date = D("2025-01-01")},
        Acc("C1", "M", "2025-01-02", 20000)},
       {Approved("C1", 9000)}},
      {"a rejected enrollment fixes no gender: the first accepted one does",
       {Enroll("M", "2025-01-01", Gender::kMale, 2024), Enroll("M", "2024-01-01"),
        Fsd("C1", "M", "2024-05-01")},
       {Approved("C1", 500000)},
       {{0, kStartOutsidePlanYear}}},
  });
}

// ---- Claim ids. ----

TEST(ClaimIdTest, RejectsClaimWhoseIdIsAlreadyInUse) {
  RunTable({
      {"the same member reuses an id",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Acc("C1", "M", "2024-06-01", 30000)},
       {Approved("C1", 9000)},
       {{2, kClaimIdInUse}}},
      {"another member reuses an id",
       {Enroll("M", "2024-01-01"), Enroll("N", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Acc("C1", "N", "2024-06-01", 30000), Acc("C2", "N", "2024-06-01", 30000)},
       {Approved("C1", 9000), Approved("C2", 18000)},
       {{3, kClaimIdInUse}}},
      {"the id of a denied claim is in use too",
       {Acc("C1", "M", "2024-05-01", 20000), Enroll("M", "2024-01-01"),
        Acc("C1", "M", "2024-05-01", 20000)},
       {Denied("C1", {kNotEnrolled})},
       {{2, kClaimIdInUse}}},
      {"ids compare exactly: c1 and 'C1 ' are other ids",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Acc("c1", "M", "2024-05-02", 20000), Acc("C1 ", "M", "2024-05-03", 20000)},
       {Approved("C1", 9000), Approved("c1", 9000), Approved("C1 ", 9000)}},
  });
  // The owner of a reused id stays the first member.
  Fold fold;
  fold.Apply(Enroll("M", "2024-01-01"), ThePlan());
  fold.Apply(Enroll("N", "2024-01-01"), ThePlan());
  fold.Apply(Acc("C1", "M", "2024-05-01", 20000), ThePlan());
  fold.Apply(Acc("C1", "N", "2024-05-01", 20000), ThePlan());
  ASSERT_NE(fold.OwnerOf("C1"), nullptr);
  EXPECT_EQ(*fold.OwnerOf("C1"), "M");
  EXPECT_EQ(fold.Member("N")->FindClaim("C1"), nullptr);
}

// ---- Denial checks, one reason code at a time. ----

TEST(DenialTest, NotEnrolledWhenNoEnrollmentCoversTheIncident) {
  RunTable({
      {"no enrollment at all",
       {Acc("C1", "M", "2024-05-01", 20000)},
       {Denied("C1", {kNotEnrolled})}},
      {"incident the day before the start",
       {Enroll("M", "2024-04-01"), Acc("C1", "M", "2024-03-31", 20000)},
       {Denied("C1", {kNotEnrolled})}},
      {"incident in a year without enrollment",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2025-01-01", 20000)},
       {Denied("C1", {kNotEnrolled})}},
      {"the start day and 12-31 are covered",
       {Enroll("M", "2024-04-01"), Acc("C1", "M", "2024-04-08", 20000),
        Acc("C2", "M", "2024-12-31", 20000)},
       {Approved("C1", 9000), Approved("C2", 9000)}},
      {"a denied claim is not checked further: no MISSING_DOCUMENTS on a NOT_ENROLLED claim",
       {Acc("C1", "M", "2024-05-01", 20000).Docs({})},
       {Denied("C1", {kNotEnrolled})}},
  });
}

TEST(DenialTest, MemberDeceasedAfterALiveDeathClaimWithEarlierIncident) {
  RunTable({
      {"a referred death claim is live: a later incident is MEMBER_DECEASED, the same day is not",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-06-01"),
        Acc("C2", "M", "2024-06-02", 20000), Acc("C3", "M", "2024-06-01", 20000)},
       {Referred("D1", 2000000, {kHighValue}), Denied("C2", {kMemberDeceased}),
        Approved("C3", 9000)}},
      {"an earlier incident than the death is fine",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-06-01"),
        Acc("C2", "M", "2024-05-31", 20000)},
       {Referred("D1", 2000000, {kHighValue}), Approved("C2", 9000)}},
      {"a death claim denied on review no longer counts",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-06-01"), Deny("D1", "2024-06-10"),
        Acc("C2", "M", "2024-06-02", 20000)},
       {Denied("D1", {kReviewDenied}), Approved("C2", 9000)}},
      {"a death claim denied for the waiting period does not count",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-02-01"),
        Acc("C2", "M", "2024-02-02", 20000)},
       {Denied("D1", {kWaitingPeriod}), Approved("C2", 9000)}},
      {"an approved death claim counts in later plan years too",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Death("D1", "M", "2024-06-01"),
        Approve("D1", "2024-06-10"), Acc("C2", "M", "2025-03-01", 20000)},
       {Approved("D1", 2000000, 50000), Denied("C2", {kMemberDeceased})}},
      // PLAN.md: "has a live DEATH_FROM_ILLNESS claim" - no condition on its payable. D2 is sent
      // back by appeal at payable 0 (the death benefit is live through D1), so it is live.
      {"a live death claim at payable 0 still makes the member deceased",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-06-01"), Death("D2", "M", "2024-05-01"),
        Appeal("D2", "2024-05-20"), Deny("D1", "2024-06-15"), Acc("C3", "M", "2024-05-02", 20000)},
       {Denied("D1", {kReviewDenied}), Referred("D2", 0, {kAppealed}),
        Denied("C3", {kMemberDeceased})}},
  });
}

TEST(DenialTest, LateFilingAfterIncidentPlus365Days) {
  RunTable({
      {"365 days is in time, 366 is late",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000).Filed("2025-05-01"),
        Acc("C2", "M", "2024-05-02", 20000).Filed("2025-05-03")},
       {Approved("C1", 9000), Denied("C2", {kLateFiling})}},
      {"across 2024-02-29: 2024-02-10 + 365 = 2025-02-09",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-02-10", 20000).Filed("2025-02-09"),
        Acc("C2", "M", "2024-02-11", 20000).Filed("2025-02-10"),
        Acc("C3", "M", "2024-02-12", 20000).Filed("2025-02-12")},
       {Approved("C1", 9000), Approved("C2", 9000), Denied("C3", {kLateFiling})}},
      {"a claim dated before its incident is not invalid",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-10", 20000).Filed("2024-05-01")},
       {Approved("C1", 9000)}},
  });
}

TEST(DenialTest, WaitingPeriodOf90DaysForIllnessCoverages) {
  // Start 2024-01-01: + 89 days = 2024-03-30, + 90 days = 2024-03-31 (2024 is a leap year).
  RunTable({
      {"critical illness on day 89 and 90",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-03-30"),
        Ci("C2", "M", "2024-03-31", "CI02")},
       {Denied("C1", {kWaitingPeriod}), Approved("C2", 1000000, 50000)}},
      {"female-specific disease on day 89 and 90",
       {Enroll("M", "2024-01-01"), Fsd("C1", "M", "2024-03-30"), Fsd("C2", "M", "2024-03-31")},
       {Denied("C1", {kWaitingPeriod}), Approved("C2", 500000)}},
      {"death on day 89 and 90",
       {Enroll("M", "2024-01-01"), Death("C1", "M", "2024-03-30"), Death("C2", "M", "2024-03-31")},
       {Denied("C1", {kWaitingPeriod}), Referred("C2", 2000000, {kHighValue})}},
      {"accidents have no waiting period",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-01-10", 20000)},
       {Approved("C1", 9000)}},
      {"skipped when not enrolled at all",
       {Ci("C1", "M", "2024-05-01")},
       {Denied("C1", {kNotEnrolled})}},
      {"skipped when the incident precedes the start",
       {Enroll("M", "2024-06-01"), Ci("C1", "M", "2024-05-01"), Death("C2", "M", "2024-05-01")},
       {Denied("C1", {kNotEnrolled}), Denied("C2", {kNotEnrolled})}},
      {"runs from the continuous start of the enrollment covering the incident",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-03-01"), Ci("C1", "M", "2025-04-01"),
        Ci("C2", "M", "2025-05-30", "CI02")},
       {Denied("C1", {kWaitingPeriod}), Approved("C2", 1000000, 50000)}},
      {"a renewal carries the continuous start: no new waiting period",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Ci("C1", "M", "2025-01-02")},
       {Approved("C1", 1000000, 50000)}},
      {"a renewal of an enrollment still in its waiting period keeps waiting",
       {Enroll("M", "2024-12-01"), Enroll("M", "2025-01-01"), Ci("C1", "M", "2025-02-28"),
        Ci("C2", "M", "2025-03-01", "CI02")},
       {Denied("C1", {kWaitingPeriod}), Approved("C2", 1000000, 50000)}},
  });
}

TEST(DenialTest, NotEligibleForFemaleSpecificDiseaseOrChildAccident) {
  RunTable({
      {"female-specific disease of a male member",
       {EnrollMale("M", "2024-01-01"), Fsd("C1", "M", "2024-05-01")},
       {Denied("C1", {kNotEligible})}},
      {"female-specific disease of a member with no enrollment: no gender",
       {Fsd("C1", "M", "2024-05-01")},
       {Denied("C1", {kNotEnrolled, kNotEligible})}},
      {"a rejected enrollment gives no gender",
       {Enroll("M", "2025-02-01", Gender::kFemale, 2024), Fsd("C1", "M", "2024-05-01")},
       {Denied("C1", {kNotEnrolled, kNotEligible})},
       {{0, kStartOutsidePlanYear}}},
      {"a woman enrolled in another year has a gender: NOT_ENROLLED only",
       {Enroll("M", "2023-01-01"), Fsd("C1", "M", "2024-05-01")},
       {Denied("C1", {kNotEnrolled})}},
      {"child 18 on the incident day, 17 the day before its 18th birthday",
       {Enroll("M", "2024-01-01"), Kid("C1", "M", "2024-05-01", 50000, "K1", "2006-05-01"),
        Kid("C2", "M", "2024-05-01", 50000, "K2", "2006-05-02")},
       {Denied("C1", {kNotEligible}), Approved("C2", 32000)}},
      {"a child born 02-29 turns 18 on 03-01 of a common year",
       {Enroll("M", "2026-01-01"), Kid("C1", "M", "2026-02-28", 25000, "K1", "2008-02-29"),
        Kid("C2", "M", "2026-03-01", 25000, "K1", "2008-02-29")},
       {Approved("C1", 12000), Denied("C2", {kNotEligible})}},
      // PLAN.md: "the child 18 or older at the incident". A birth date after the incident gives
      // a negative age, which is not 18 or older: eligible by the letter of the rule.
      {"a child born after the incident is not 18 or older",
       {Enroll("M", "2024-01-01"), Kid("C1", "M", "2024-05-01", 50000, "K1", "2024-06-01")},
       {Approved("C1", 32000)}},
      {"a child accident without child birth date",
       {Enroll("M", "2024-01-01"), Kid("C1", "M", "2024-05-01", 50000, "K1", std::nullopt)},
       {Denied("C1", {kNotEligible})}},
      {"a child accident without child birth date and without enrollment",
       {Kid("C1", "M", "2024-05-01", 50000, "K1", std::nullopt)},
       {Denied("C1", {kNotEnrolled, kNotEligible})}},
  });
}

TEST(DenialTest, ConditionNotCoveredUnlessInThePlanListOfTheCoverage) {
  struct Row {
    Coverage coverage;
    std::string code;
    bool covered;
  };
  const std::vector<Row> rows = {
      {Coverage::kCriticalIllness, "CI01", true},
      {Coverage::kCriticalIllness, "CI15", true},
      {Coverage::kCriticalIllness, "CI28", true},
      {Coverage::kCriticalIllness, "CI29", false},
      {Coverage::kCriticalIllness, "CI00", false},
      {Coverage::kCriticalIllness, "CI1", false},
      {Coverage::kCriticalIllness, "ci01", false},
      {Coverage::kCriticalIllness, " CI01", false},
      {Coverage::kCriticalIllness, "CI01 ", false},
      {Coverage::kCriticalIllness, "", false},
      {Coverage::kCriticalIllness, "FD01", false},
      {Coverage::kFemaleSpecificDisease, "FD01", true},
      {Coverage::kFemaleSpecificDisease, "FD07", true},
      {Coverage::kFemaleSpecificDisease, "FD08", false},
      {Coverage::kFemaleSpecificDisease, "fd01", false},
      {Coverage::kFemaleSpecificDisease, "CI01", false},
      {Coverage::kFemaleSpecificDisease, "", false},
      // Death is an illness coverage without a condition check.
      {Coverage::kDeathFromIllness, "", true},
      {Coverage::kDeathFromIllness, "ANYTHING", true},
      // Other coverages ignore the condition code.
      {Coverage::kAccidentalInjury, "CI29", true},
  };
  std::vector<Scenario> table;
  for (const Row& row : rows) {
    ClaimOf claim =
        ClaimOf("C1", "M", row.coverage, "2024-05-01").Condition(row.code).Amount(20000);
    Final want = Denied("C1", {kConditionNotCovered});
    if (row.covered) {
      switch (row.coverage) {
        case Coverage::kCriticalIllness:
          want = Approved("C1", 1000000, 50000);
          break;
        case Coverage::kFemaleSpecificDisease:
          want = Approved("C1", 500000);
          break;
        case Coverage::kDeathFromIllness:
          want = Referred("C1", 2000000, {kHighValue});
          break;
        default:
          want = Approved("C1", 9000);
      }
    }
    table.push_back({std::string(Name(row.coverage)) + " '" + row.code + "'",
                     {Enroll("M", "2024-01-01"), claim},
                     {want}});
  }
  RunTable(table);
}

TEST(DenialTest, CauseNotCoveredUnlessFireOrWater) {
  struct Row {
    std::string cause;
    bool covered;
  };
  const std::vector<Row> rows = {
      {"FIRE", true},   {"WATER", true},  {"THEFT", false}, {"FLOOD", false},      {"fire", false},
      {"Water", false}, {"FIRE ", false}, {"", false},      {"FIRE,WATER", false},
  };
  std::vector<Scenario> table;
  for (const Row& row : rows) {
    table.push_back({"property cause '" + row.cause + "'",
                     {Enroll("M", "2024-01-01"), Prop("C1", "M", "2024-05-01", 80000, row.cause)},
                     {row.covered ? Approved("C1", 60000) : Denied("C1", {kCauseNotCovered})}});
  }
  table.push_back({"an accident ignores the cause",
                   {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000).Cause("THEFT")},
                   {Approved("C1", 9000)}});
  RunTable(table);
}

TEST(DenialTest, DuplicateOfAnEarlierLiveClaimWithTheSameFacts) {
  const Input enroll = Enroll("M", "2024-01-01");
  const ClaimOf base = Acc("C1", "M", "2024-05-01", 30000);  // floor(20,000 * 90 / 100) = 18,000
  auto second = [] { return Acc("C2", "M", "2024-05-01", 30000); };
  RunTable({
      {"identical facts",
       {enroll, base, second()},
       {Approved("C1", 18000), Denied("C2", {kDuplicateClaim})}},
      {"claim date and documents are not compared",
       {enroll, base, second().Filed("2024-09-01").Docs({})},
       {Approved("C1", 18000), Denied("C2", {kDuplicateClaim})}},
      {"another amount is no duplicate",
       {enroll, base, second().Amount(30001)},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"another incident date is no duplicate",
       {enroll, base, Acc("C2", "M", "2024-05-02", 30000)},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"another condition code is no duplicate, even where it is ignored",
       {enroll, base, second().Condition("X")},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"another cause is no duplicate, even where it is ignored",
       {enroll, base, second().Cause("FIRE")},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"another child id is no duplicate, even where it is ignored",
       {enroll, base, second().Child("K1", std::nullopt)},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"a referred earlier claim is live",
       {enroll, ClaimOf(base).Docs({}), second()},
       {Referred("C1", 18000, {kMissingDocuments}), Denied("C2", {kDuplicateClaim})}},
      {"a denied earlier claim is not live",
       {enroll, ClaimOf(base).Filed("2025-06-01"), second()},
       {Denied("C1", {kLateFiling}), Approved("C2", 18000)}},
      {"an earlier claim denied on review is not live",
       {enroll, ClaimOf(base).Docs({}), Deny("C1", "2024-05-10"), second()},
       {Denied("C1", {kReviewDenied}), Approved("C2", 18000)}},
      {"another member's identical claim is no duplicate",
       {enroll, Enroll("N", "2024-01-01"), base, Acc("C2", "N", "2024-05-01", 30000)},
       {Approved("C1", 18000), Approved("C2", 18000)}},
      {"fixed benefits compare the amount as submitted",
       {enroll, Ci("C1", "M", "2024-05-01").Amount(0), Ci("C2", "M", "2024-05-01").Amount(0),
        Ci("C3", "M", "2024-05-01").Amount(1)},
       {Approved("C1", 1000000, 50000), Denied("C2", {kDuplicateClaim, kBenefitExhausted}),
        Denied("C3", {kBenefitExhausted})}},
      {"child accidents compare the child id",
       {enroll, Kid("C1", "M", "2024-05-01", 30000, "K1"),
        Kid("C2", "M", "2024-05-01", 30000, "K1"), Kid("C3", "M", "2024-05-01", 30000, "K2")},
       {Approved("C1", 16000), Denied("C2", {kDuplicateClaim}), Approved("C3", 16000)}},
      {"the child birth date is not among the compared facts",
       {enroll, Kid("C1", "M", "2024-05-01", 30000, "K1", "2015-03-01"),
        Kid("C2", "M", "2024-05-01", 30000, "K1", "2016-04-02")},
       {Approved("C1", 16000), Denied("C2", {kDuplicateClaim})}},
  });
}

TEST(DenialTest, BenefitExhaustedWhenFixedBenefitLiveOrNothingLeftOfTheLimit) {
  RunTable({
      {"critical illness once per plan year of the incident",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Ci("C1", "M", "2024-05-01"),
        Ci("C2", "M", "2024-11-01", "CI02"), Ci("C3", "M", "2025-02-01")},
       {Approved("C1", 1000000, 50000), Denied("C2", {kBenefitExhausted}),
        Approved("C3", 1000000, 50000)}},
      {"a referred critical illness claim holds the benefit",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}),
        Ci("C2", "M", "2024-06-01")},
       {Referred("C1", 1000000, {kMissingDocuments}), Denied("C2", {kBenefitExhausted})}},
      {"a critical illness claim denied on review releases the benefit",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}), Deny("C1", "2024-05-10"),
        Ci("C2", "M", "2024-06-01")},
       {Denied("C1", {kReviewDenied}), Approved("C2", 1000000, 50000)}},
      {"critical illness and female-specific disease are separate benefits",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01"), Fsd("C2", "M", "2024-05-01"),
        Fsd("C3", "M", "2024-06-01", "FD02")},
       {Approved("C1", 1000000, 50000), Approved("C2", 500000), Denied("C3", {kBenefitExhausted})}},
      {"a live fixed claim at payable 0 does not hold the benefit",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}),
        Ci("C2", "M", "2024-06-01"), Appeal("C2", "2024-06-02"), Deny("C1", "2024-06-03"),
        Ci("C3", "M", "2024-07-01")},
       {Denied("C1", {kReviewDenied}), Referred("C2", 0, {kAppealed}),
        Approved("C3", 1000000, 50000)}},
      {"death once per member ever: later and earlier incidents, other plan years",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Death("D1", "M", "2024-06-01"),
        Death("D2", "M", "2025-06-01"), Death("D3", "M", "2024-05-01"),
        Approve("D1", "2024-06-20")},
       {Approved("D1", 2000000, 50000), Denied("D2", {kMemberDeceased, kBenefitExhausted}),
        Denied("D3", {kBenefitExhausted})}},
      // 400,000: floor(390,000 * 90 / 100) = 351,000; 200,000: 171,000 > 149,000 left.
      {"accident 500,000 per member per plan year",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Acc("C1", "M", "2024-05-01", 400000),
        Acc("C2", "M", "2024-06-01", 200000), Acc("C3", "M", "2024-07-01", 20000),
        Acc("C4", "M", "2025-02-01", 20000)},
       {Approved("C1", 351000, 50000), Approved("C2", 149000, 0, {kLimitApplied}),
        Denied("C3", {kBenefitExhausted}), Approved("C4", 9000)}},
      {"the accident and property limits are separate",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 600000),
        Prop("C2", "M", "2024-06-01", 220000), Prop("C3", "M", "2024-07-01", 30000, "WATER"),
        Acc("C4", "M", "2024-08-01", 20000)},
       {Approved("C1", 500000, 50000, {kLimitApplied}), Approved("C2", 200000),
        Denied("C3", {kBenefitExhausted}), Denied("C4", {kBenefitExhausted})}},
      // 400,000: floor(390,000 * 80 / 100) = 312,000 > 300,000.
      {"child accident 300,000 per child per plan year, among the member's own claims",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Enroll("N", "2024-01-01"),
        Kid("C1", "M", "2024-05-01", 400000, "K1"), Kid("C2", "M", "2024-06-01", 20000, "K1"),
        Kid("C3", "M", "2024-06-01", 20000, "K2"), Kid("C4", "M", "2025-02-01", 20000, "K1"),
        Kid("C5", "N", "2024-06-01", 20000, "K1")},
       {Approved("C1", 300000, 0, {kLimitApplied}), Denied("C2", {kBenefitExhausted}),
        Approved("C3", 8000), Approved("C4", 8000), Approved("C5", 8000)}},
      {"an exhausted limit and a formula at or below 0 both hit",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 600000),
        Acc("C2", "M", "2024-06-01", 10000)},
       {Approved("C1", 500000, 50000, {kLimitApplied}),
        Denied("C2", {kBenefitExhausted, kBelowDeductible})}},
      {"a referred claim's reservation counts, a review denial releases it",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 400000).Docs({}),
        Acc("C2", "M", "2024-06-01", 200000), Deny("C1", "2024-06-10"),
        Acc("C3", "M", "2024-07-01", 200000)},
       {Denied("C1", {kReviewDenied}), Approved("C2", 149000, 0, {kLimitApplied}),
        Approved("C3", 171000)}},
      {"an approving review keeps the reservation",
       {Enroll("M", "2024-01-01"), Prop("C1", "M", "2024-05-01", 200000).Docs({}),
        Approve("C1", "2024-05-10"), Prop("C2", "M", "2024-06-01", 100000)},
       {Approved("C1", 180000), Approved("C2", 20000, 0, {kLimitApplied})}},
  });
}

TEST(DenialTest, BelowDeductibleWhenTheFormulaGivesZeroOrLess) {
  struct Row {
    Coverage coverage;
    Fen amount;
    Fen payable;  // 0: BELOW_DEDUCTIBLE
  };
  const std::vector<Row> rows = {
      {Coverage::kAccidentalInjury, 0, 0},
      {Coverage::kAccidentalInjury, 5000, 0},
      {Coverage::kAccidentalInjury, 10000, 0},
      {Coverage::kAccidentalInjury, 10001, 0},  // floor(0.9)
      {Coverage::kAccidentalInjury, 10002, 1},  // floor(1.8)
      {Coverage::kAccidentalInjury, 10011, 9},  // floor(9.9)
      {Coverage::kChildAccident, 10000, 0},
      {Coverage::kChildAccident, 10001, 0},   // floor(0.8)
      {Coverage::kChildAccident, 10002, 1},   // floor(1.6)
      {Coverage::kChildAccident, 10013, 10},  // floor(10.4)
      {Coverage::kHouseholdPropertyLoss, 19999, 0},
      {Coverage::kHouseholdPropertyLoss, 20000, 0},
      {Coverage::kHouseholdPropertyLoss, 20001, 1},
      // Fixed benefits ignore the amount.
      {Coverage::kCriticalIllness, 0, 1000000},
      {Coverage::kCriticalIllness, 123456, 1000000},
      {Coverage::kFemaleSpecificDisease, 0, 500000},
  };
  std::vector<Scenario> table;
  for (const Row& row : rows) {
    ClaimOf c = ClaimOf("C1", "M", row.coverage, "2024-05-01").Amount(row.amount);
    if (row.coverage == Coverage::kChildAccident) c.Child("K1", "2015-03-01");
    if (row.coverage == Coverage::kHouseholdPropertyLoss) c.Cause("WATER");
    if (row.coverage == Coverage::kCriticalIllness) c.Condition("CI03");
    if (row.coverage == Coverage::kFemaleSpecificDisease) c.Condition("FD03");
    const Fen condolence = row.coverage == Coverage::kCriticalIllness ? 50000 : 0;
    table.push_back({std::string(Name(row.coverage)) + " amount " + std::to_string(row.amount),
                     {Enroll("M", "2024-01-01"), c},
                     {row.payable > 0 ? Approved("C1", row.payable, condolence)
                                      : Denied("C1", {kBelowDeductible})}});
  }
  RunTable(table);
}

TEST(DenialTest, ListsEveryDenialReasonThatHitInPlanOrder) {
  RunTable({
      // Start 2024-03-01, waiting period until 2024-05-30. D1 and F0 are sent back by appeal,
      // so D1 is a live death claim (incident 03-05) and F0 holds the 2024 female-specific
      // benefit with the same facts as F1. F1 is filed 2025-03-11 > 2024-03-10 + 365 days.
      {"seven reasons on a fixed-benefit claim",
       {EnrollMale("M", "2024-03-01"), Death("D1", "M", "2024-03-05").Filed("2024-03-06"),
        Fsd("F0", "M", "2024-03-10", "CI01").Filed("2024-03-11"), Appeal("F0", "2024-03-20"),
        Appeal("D1", "2024-03-20"), Fsd("F1", "M", "2024-03-10", "CI01").Filed("2025-03-11")},
       {Referred("D1", 2000000, {kAppealed}), Referred("F0", 500000, {kAppealed}),
        Denied("F1", {kMemberDeceased, kLateFiling, kWaitingPeriod, kNotEligible,
                      kConditionNotCovered, kDuplicateClaim, kBenefitExhausted})}},
      // Coverage ends 2024-06-30; D1 (incident 06-01) is live; P1 uses the whole 2024 property
      // limit; P2 is appealed to a live claim at payable max(0, 15,000 - 20,000) = 0.
      {"seven reasons on a formula claim",
       {Enroll("M", "2024-01-01"), Terminate("M", "2024-06-30"), Death("D1", "M", "2024-06-01"),
        Prop("P1", "M", "2024-05-01", 220000),
        Prop("P2", "M", "2024-07-15", 15000, "THEFT").Filed("2025-07-20"),
        Appeal("P2", "2025-08-01"),
        Prop("P3", "M", "2024-07-15", 15000, "THEFT").Filed("2025-07-21")},
       {Referred("D1", 2000000, {kHighValue}), Approved("P1", 200000),
        Referred("P2", 0, {kAppealed}),
        Denied("P3", {kNotEnrolled, kMemberDeceased, kLateFiling, kCauseNotCovered, kDuplicateClaim,
                      kBenefitExhausted, kBelowDeductible})}},
      {"a child claim without enrollment, filed late, without birth date, below deductible",
       {Kid("C1", "M", "2024-05-01", 5000, "K1", std::nullopt).Filed("2025-06-01")},
       {Denied("C1", {kNotEnrolled, kLateFiling, kNotEligible, kBelowDeductible})}},
      {"waiting period, not eligible and condition together",
       {EnrollMale("M", "2024-01-01"), Fsd("C1", "M", "2024-02-01", "XX")},
       {Denied("C1", {kWaitingPeriod, kNotEligible, kConditionNotCovered})}},
      {"denied claims are not referred: no MISSING_DOCUMENTS, EARLY_CLAIM or HIGH_VALUE",
       {Enroll("M", "2024-06-01"), Prop("C1", "M", "2024-06-02", 50000, "THEFT").Docs({}),
        Death("C2", "M", "2024-06-03").Docs({})},
       {Denied("C1", {kCauseNotCovered}), Denied("C2", {kWaitingPeriod})}},
  });
}

// ---- Payable and referral checks. ----

TEST(ReferralTest, MissingDocumentsWhenARequiredDocumentTypeIsAbsent) {
  const Input e = Enroll("M", "2024-01-01");
  RunTable({
      {"accident without receipts",
       {e, Acc("C1", "M", "2024-05-01", 30000).Docs({})},
       {Referred("C1", 18000, {kMissingDocuments})}},
      {"child accident with receipts only",
       {e, Kid("C1", "M", "2024-05-01", 30000).Docs({"MEDICAL_RECEIPTS"})},
       {Referred("C1", 16000, {kMissingDocuments})}},
      {"child accident with birth certificate only",
       {e, Kid("C1", "M", "2024-05-01", 30000).Docs({"BIRTH_CERTIFICATE"})},
       {Referred("C1", 16000, {kMissingDocuments})}},
      {"critical illness with another document",
       {e, Ci("C1", "M", "2024-05-01").Docs({"MEDICAL_RECEIPTS"})},
       {Referred("C1", 1000000, {kMissingDocuments})}},
      {"female-specific disease without diagnosis",
       {e, Fsd("C1", "M", "2024-05-01").Docs({})},
       {Referred("C1", 500000, {kMissingDocuments})}},
      {"death without certificate",
       {e, Death("C1", "M", "2024-05-01").Docs({})},
       {Referred("C1", 2000000, {kMissingDocuments, kHighValue})}},
      {"property without loss report",
       {e, Prop("C1", "M", "2024-05-01", 30000).Docs({})},
       {Referred("C1", 10000, {kMissingDocuments})}},
      {"document types compare exactly",
       {e, Acc("C1", "M", "2024-05-01", 30000).Docs({"medical_receipts", "MEDICAL_RECEIPTS "})},
       {Referred("C1", 18000, {kMissingDocuments})}},
      {"extra and repeated documents are harmless",
       {e, Acc("C1", "M", "2024-05-01", 30000)
               .Docs({"PHOTO", "MEDICAL_RECEIPTS", "MEDICAL_RECEIPTS", "DIAGNOSIS_REPORT"})},
       {Approved("C1", 18000)}},
      {"child documents in any order",
       {e, Kid("C1", "M", "2024-05-01", 30000).Docs({"BIRTH_CERTIFICATE", "MEDICAL_RECEIPTS"})},
       {Approved("C1", 16000)}},
  });
}

TEST(ReferralTest, HighValueAtOrAbove1500000) {
  RunTable({
      {"death 2,000,000 is high value",
       {Enroll("M", "2024-01-01"), Death("C1", "M", "2024-05-01")},
       {Referred("C1", 2000000, {kHighValue})}},
      {"critical illness 1,000,000 is not",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01")},
       {Approved("C1", 1000000, 50000)}},
  });
}

TEST(ReferralTest, EarlyClaimWithinSevenDaysOfTheContinuousStart) {
  // Start 2024-06-01: 06-07 is day 6, 06-08 is day 7.
  const Input e = Enroll("M", "2024-06-01");
  RunTable({
      {"accident on day 6 and 7",
       {e, Acc("C1", "M", "2024-06-07", 30000), Acc("C2", "M", "2024-06-08", 30000)},
       {Referred("C1", 18000, {kEarlyClaim}), Approved("C2", 18000)}},
      {"child accident on day 6",
       {e, Kid("C1", "M", "2024-06-07", 30000)},
       {Referred("C1", 16000, {kEarlyClaim})}},
      {"property loss on day 0",
       {e, Prop("C1", "M", "2024-06-01", 30000)},
       {Referred("C1", 10000, {kEarlyClaim})}},
      {"a renewal carries the continuous start",
       {Enroll("M", "2023-06-01"), Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-01-02", 30000),
        Ci("C2", "M", "2024-01-02")},
       {Approved("C1", 18000), Approved("C2", 1000000, 50000)}},
      {"a renewal of a recent start is still early",
       {Enroll("M", "2024-12-28"), Enroll("M", "2025-01-01"), Acc("C1", "M", "2025-01-03", 30000),
        Acc("C2", "M", "2025-01-04", 30000)},
       {Referred("C1", 18000, {kEarlyClaim}), Approved("C2", 18000)}},
      {"a new enrollment in a later year starts over",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-03-01"), Acc("C1", "M", "2025-03-05", 30000)},
       {Referred("C1", 18000, {kEarlyClaim})}},
  });
}

TEST(ReferralTest, FrequentClaimsWithThreeLiveClaimsInThePlanYear) {
  RunTable({
      {"three live claims of any coverage, referred ones included",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Prop("C2", "M", "2024-05-02", 30000),
        Kid("C3", "M", "2024-05-03", 30000).Docs({"MEDICAL_RECEIPTS"}),
        Acc("C4", "M", "2024-05-04", 20000), Ci("C5", "M", "2024-05-05")},
       {Approved("C1", 9000), Approved("C2", 10000), Referred("C3", 16000, {kMissingDocuments}),
        Referred("C4", 9000, {kFrequentClaims}), Referred("C5", 1000000, {kFrequentClaims})}},
      {"denied claims do not count",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Acc("C2", "M", "2024-05-02", 5000), Acc("C3", "M", "2024-05-03", 20000),
        Acc("C4", "M", "2024-05-04", 20000), Acc("C5", "M", "2024-05-05", 20000)},
       {Approved("C1", 9000), Denied("C2", {kBelowDeductible}), Approved("C3", 9000),
        Approved("C4", 9000), Referred("C5", 9000, {kFrequentClaims})}},
      {"claims of another plan year do not count",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Acc("C1", "M", "2024-05-01", 20000),
        Acc("C2", "M", "2024-05-02", 20000), Acc("C3", "M", "2024-05-03", 20000),
        Acc("C4", "M", "2025-02-01", 20000),
        Acc("C5", "M", "2024-12-31", 20000).Filed("2025-01-05")},
       {Approved("C1", 9000), Approved("C2", 9000), Approved("C3", 9000), Approved("C4", 9000),
        Referred("C5", 9000, {kFrequentClaims})}},
      {"a claim sent back by appeal at payable 0 is live and counts",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 5000), Appeal("C1", "2024-05-02"),
        Acc("C2", "M", "2024-05-02", 20000), Acc("C3", "M", "2024-05-03", 20000),
        Acc("C4", "M", "2024-05-04", 20000)},
       {Referred("C1", 0, {kAppealed}), Approved("C2", 9000), Approved("C3", 9000),
        Referred("C4", 9000, {kFrequentClaims})}},
      {"a review denial takes a claim out of the count",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 20000).Docs({}),
        Acc("C2", "M", "2024-05-02", 20000), Acc("C3", "M", "2024-05-03", 20000),
        Deny("C1", "2024-05-10"), Acc("C4", "M", "2024-05-04", 20000)},
       {Denied("C1", {kReviewDenied}), Approved("C2", 9000), Approved("C3", 9000),
        Approved("C4", 9000)}},
      {"other members' claims do not count",
       {Enroll("M", "2024-01-01"), Enroll("N", "2024-01-01"), Acc("C1", "N", "2024-05-01", 20000),
        Acc("C2", "N", "2024-05-02", 20000), Acc("C3", "N", "2024-05-03", 20000),
        Acc("C4", "M", "2024-05-04", 20000)},
       {Approved("C1", 9000), Approved("C2", 9000), Approved("C3", 9000), Approved("C4", 9000)}},
  });
}

TEST(ReferralTest, ListsReferralReasonsInPlanOrderThenLimitApplied) {
  // Start 2024-06-01 (early before 06-08, waiting before 2024-08-30). C1-C3 are early and hold
  // 351,000 + 9,000 + 10,000 (the accident limit has 500,000 - 360,000 = 140,000 left).
  RunTable({
      {"all referral reasons in order, then LIMIT_APPLIED; approval keeps LIMIT_APPLIED only",
       {Enroll("M", "2024-06-01"), Acc("C1", "M", "2024-06-01", 400000),
        Acc("C2", "M", "2024-06-02", 20000), Prop("C3", "M", "2024-06-03", 30000),
        Acc("C4", "M", "2024-06-04", 200000).Docs({}), Death("C5", "M", "2024-09-01").Docs({}),
        Approve("C4", "2024-09-10"), Approve("C1", "2024-09-10"), Approve("C5", "2024-09-11")},
       {Approved("C1", 351000, 50000), Referred("C2", 9000, {kEarlyClaim}),
        Referred("C3", 10000, {kEarlyClaim}), Approved("C4", 140000, 0, {kLimitApplied}),
        Approved("C5", 2000000, 0)}},
      {"the referred decisions before review",
       {Enroll("M", "2024-06-01"), Acc("C1", "M", "2024-06-01", 400000),
        Acc("C2", "M", "2024-06-02", 20000), Prop("C3", "M", "2024-06-03", 30000),
        Acc("C4", "M", "2024-06-04", 200000).Docs({}), Death("C5", "M", "2024-09-01").Docs({})},
       {Referred("C1", 351000, {kEarlyClaim}), Referred("C2", 9000, {kEarlyClaim}),
        Referred("C3", 10000, {kEarlyClaim}),
        Referred("C4", 140000, {kMissingDocuments, kEarlyClaim, kFrequentClaims, kLimitApplied}),
        Referred("C5", 2000000, {kMissingDocuments, kHighValue, kFrequentClaims})}},
  });
}

// ---- Condolence. ----

TEST(CondolenceTest, GrantedOnApprovalOfConsolableCoveragesFrom300000) {
  RunTable({
      // floor(333,333 * 90 / 100) = 299,999; floor(333,334 * 90 / 100) = 300,000.
      {"accident just below and at the threshold (two members)",
       {Enroll("M", "2024-01-01"), Enroll("N", "2024-01-01"), Acc("C1", "M", "2024-05-01", 343333),
        Acc("C2", "N", "2024-05-01", 343334)},
       {Approved("C1", 299999), Approved("C2", 300000, 50000)}},
      {"critical illness",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01")},
       {Approved("C1", 1000000, 50000)}},
      {"death, on review approval",
       {Enroll("M", "2024-01-01"), Death("C1", "M", "2024-05-01"), Approve("C1", "2024-05-20")},
       {Approved("C1", 2000000, 50000)}},
      {"not female-specific disease",
       {Enroll("M", "2024-01-01"), Fsd("C1", "M", "2024-05-01")},
       {Approved("C1", 500000)}},
      {"not child accident at 300,000",
       {Enroll("M", "2024-01-01"), Kid("C1", "M", "2024-05-01", 400000)},
       {Approved("C1", 300000, 0, {kLimitApplied})}},
      {"not property loss",
       {Enroll("M", "2024-01-01"), Prop("C1", "M", "2024-05-01", 220000)},
       {Approved("C1", 200000)}},
      // floor(222,223 * 90 / 100) = 200,000; then floor(490,000 * 90 / 100) = 441,000 > 300,000.
      {"a capped accident payable of exactly 300,000",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 232223),
        Acc("C2", "M", "2024-06-01", 500000)},
       {Approved("C1", 200000), Approved("C2", 300000, 50000, {kLimitApplied})}},
      {"not while referred; granted on the approving review",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}),
        Approve("C1", "2024-05-10")},
       {Approved("C1", 1000000, 50000)}},
      {"not when the review denies",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}), Deny("C1", "2024-05-10")},
       {Denied("C1", {kReviewDenied})}},
  });
}

TEST(CondolenceTest, OncePerMemberPerPlanYearOfTheIncident) {
  RunTable({
      {"a second 2024 approval gets none, 2025 gets its own",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Ci("C1", "M", "2024-05-01"),
        Acc("C2", "M", "2024-06-01", 400000), Acc("C3", "M", "2025-03-01", 400000)},
       {Approved("C1", 1000000, 50000), Approved("C2", 351000), Approved("C3", 351000, 50000)}},
      {"the plan year is the incident's, not the decision date's",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-01-01"), Ci("C1", "M", "2025-02-01"),
        Acc("C2", "M", "2024-11-01", 400000).Filed("2025-02-05"),
        Acc("C3", "M", "2025-03-01", 400000)},
       {Approved("C1", 1000000, 50000), Approved("C2", 351000, 50000), Approved("C3", 351000)}},
      {"an approval while another claim is referred takes the year's condolence",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01").Docs({}),
        Acc("C2", "M", "2024-06-01", 400000), Approve("C1", "2024-06-10")},
       {Approved("C1", 1000000), Approved("C2", 351000, 50000)}},
      {"other members have their own",
       {Enroll("M", "2024-01-01"), Enroll("N", "2024-01-01"), Ci("C1", "M", "2024-05-01"),
        Ci("C2", "N", "2024-05-01")},
       {Approved("C1", 1000000, 50000), Approved("C2", 1000000, 50000)}},
  });
}

// ---- Review. ----

TEST(ReviewTest, ApprovesAtTheReservedPayableOrDeniesAndReleases) {
  RunTable({
      {"approve: reasons become empty",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000).Docs({}),
        Approve("C1", "2024-05-10")},
       {Approved("C1", 18000)}},
      // Property: 180,000 - 20,000 = 160,000; 100,000 - 20,000 = 80,000 > 40,000 left.
      {"approve: reasons become [LIMIT_APPLIED] when the cap cut the payable",
       {Enroll("M", "2024-01-01"), Prop("C1", "M", "2024-05-01", 180000),
        Prop("C2", "M", "2024-06-01", 100000, "WATER").Docs({}), Approve("C2", "2024-06-10")},
       {Approved("C1", 160000), Approved("C2", 40000, 0, {kLimitApplied})}},
      {"approve keeps the reserved payable even after other claims were filed",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 400000).Docs({}),
        Acc("C2", "M", "2024-06-01", 400000), Approve("C1", "2024-06-10")},
       {Approved("C1", 351000, 50000), Approved("C2", 149000, 0, {kLimitApplied})}},
      {"deny: DENIED, payable 0, [REVIEW_DENIED]",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000).Docs({}),
        Deny("C1", "2024-05-10")},
       {Denied("C1", {kReviewDenied})}},
      {"a review dated before the claim date is not invalid",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000).Filed("2024-05-10").Docs({}),
        Approve("C1", "2024-05-01")},
       {Approved("C1", 18000)}},
  });
}

TEST(ReviewTest, RejectsReviewOfClaimThatIsNotReferred) {
  RunTable({
      {"approved, denied and already reviewed claims",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000),
        Acc("C2", "M", "2024-05-02", 5000), Acc("C3", "M", "2024-05-03", 30000).Docs({}),
        Approve("C1", "2024-05-10"), Deny("C2", "2024-05-10"), Approve("C3", "2024-05-10"),
        Deny("C3", "2024-05-11"), Approve("C3", "2024-05-11")},
       {Approved("C1", 18000), Denied("C2", {kBelowDeductible}), Approved("C3", 18000)},
       {{4, kReviewOfClaimNotReferred},
        {5, kReviewOfClaimNotReferred},
        {7, kReviewOfClaimNotReferred},
        {8, kReviewOfClaimNotReferred}}},
      {"a review denial is final for reviews",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000).Docs({}),
        Deny("C1", "2024-05-10"), Approve("C1", "2024-05-11")},
       {Denied("C1", {kReviewDenied})},
       {{3, kReviewOfClaimNotReferred}}},
      {"a claim id nobody uses",
       {Enroll("M", "2024-01-01"), Approve("ZZ", "2024-05-10")},
       {},
       {{1, kUnknownClaim}}},
  });
}

// ---- Appeal. ----

TEST(AppealTest, AcceptsAppealWithinSixtyDaysOfTheDenial) {
  // C1 is BELOW_DEDUCTIBLE on its claim date 2024-05-01; + 60 days = 2024-06-30.
  const Input e = Enroll("M", "2024-01-01");
  const Input c1 = Acc("C1", "M", "2024-05-01", 10000);
  RunTable({
      {"day 60 after the claim date",
       {e, c1, Appeal("C1", "2024-06-30")},
       {Referred("C1", 0, {kAppealed})}},
      {"day 61 is late",
       {e, c1, Appeal("C1", "2024-07-01")},
       {Denied("C1", {kBelowDeductible})},
       {{2, kAppealLate}}},
      {"the window runs from the claim date, not the incident date",
       {e, Acc("C1", "M", "2024-05-01", 30000).Filed("2025-06-01"), Appeal("C1", "2025-07-31")},
       {Referred("C1", 18000, {kAppealed})}},
      {"the window runs from the claim date: a day later is late",
       {e, Acc("C1", "M", "2024-05-01", 30000).Filed("2025-06-01"), Appeal("C1", "2025-08-01")},
       {Denied("C1", {kLateFiling})},
       {{2, kAppealLate}}},
      // Denied on review 2024-05-10: + 60 days = 2024-07-09.
      {"after a review denial the window runs from the review date",
       {e, Acc("C1", "M", "2024-05-01", 30000).Docs({}), Deny("C1", "2024-05-10"),
        Appeal("C1", "2024-07-10"), Appeal("C1", "2024-07-09")},
       {Referred("C1", 18000, {kAppealed})},
       {{3, kAppealLate}}},
      // Review dated 2024-05-01, before the claim date 2024-05-10: review + 60 = 06-30 decides,
      // although claim date + 60 = 07-09 would admit 07-05.
      {"the review date decides even when it precedes the claim date",
       {e, Acc("C1", "M", "2024-05-01", 30000).Filed("2024-05-10").Docs({}),
        Deny("C1", "2024-05-01"), Appeal("C1", "2024-07-05")},
       {Denied("C1", {kReviewDenied})},
       {{3, kAppealLate}}},
      // PLAN.md gives only an upper bound ("no later than 60 days after") and "dates never make
      // an event invalid except where a rule below says so": an appeal dated before the denial
      // is in time.
      {"an appeal dated before the denial is in time",
       {e, Acc("C1", "M", "2024-05-01", 10000).Filed("2024-05-10"), Appeal("C1", "2024-05-02")},
       {Referred("C1", 0, {kAppealed})}},
      {"a rejected late appeal does not count: a later in-time appeal is accepted",
       {e, c1, Appeal("C1", "2024-07-15"), Appeal("C1", "2024-06-15")},
       {Referred("C1", 0, {kAppealed})},
       {{2, kAppealLate}}},
  });
}

TEST(AppealTest, AcceptsOneAppealPerClaimOnlyOfDeniedClaims) {
  RunTable({
      {"a second appeal after the review denies again is rejected",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000).Docs({}),
        Deny("C1", "2024-05-10"), Appeal("C1", "2024-06-01"), Deny("C1", "2024-06-05"),
        Appeal("C1", "2024-06-06")},
       {Denied("C1", {kReviewDenied})},
       {{5, kAppealRepeated}}},
      {"appeals of approved and referred claims are rejected",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-05-01", 30000),
        Acc("C2", "M", "2024-05-02", 30000).Docs({}), Appeal("C1", "2024-05-10"),
        Appeal("C2", "2024-05-10")},
       {Approved("C1", 18000), Referred("C2", 18000, {kMissingDocuments})},
       {{3, kAppealOfClaimNotDenied}, {4, kAppealOfClaimNotDenied}}},
      {"an appeal of an unknown claim is rejected",
       {Enroll("M", "2024-01-01"), Appeal("ZZ", "2024-05-10")},
       {},
       {{1, kUnknownClaim}}},
  });
  // A claim that an appeal sent back is REFERRED: a second appeal is both "not DENIED" and
  // "repeated"; PLAN.md does not say which code wins, only that it is rejected.
  Fold fold;
  fold.Apply(Enroll("M", "2024-01-01"), ThePlan());
  fold.Apply(Acc("C1", "M", "2024-05-01", 10000), ThePlan());
  fold.Apply(Appeal("C1", "2024-05-02"), ThePlan());
  const MemberState before = *fold.Member("M");
  const Output out = fold.Apply(Appeal("C1", "2024-05-03"), ThePlan());
  const auto* r = std::get_if<InputRejection>(&out.body);
  ASSERT_NE(r, nullptr) << Describe(out);
  EXPECT_TRUE(r->code == kAppealOfClaimNotDenied || r->code == kAppealRepeated) << Name(r->code);
  MemberState after = *fold.Member("M");
  after.last_sequence = before.last_sequence;
  EXPECT_TRUE((after == before));
}

TEST(AppealTest, SendsBackToReviewWithPayableAndNoOtherCheck) {
  RunTable({
      {"fixed benefit: NOT_ELIGIBLE female-specific disease reserves 500,000",
       {EnrollMale("M", "2024-01-01"), Fsd("C1", "M", "2024-05-01"), Appeal("C1", "2024-05-10")},
       {Referred("C1", 500000, {kAppealed})}},
      {"fixed benefit on waiting period, approved with condolence",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-02-15").Filed("2024-03-01"),
        Appeal("C1", "2024-04-30"), Approve("C1", "2024-05-10")},
       {Approved("C1", 1000000, 50000)}},
      {"fixed benefit already live: payable 0, approved at 0 without condolence",
       {Enroll("M", "2024-01-01"), Ci("C1", "M", "2024-05-01"), Ci("C2", "M", "2024-06-01", "CI02"),
        Appeal("C2", "2024-06-10"), Approve("C2", "2024-06-20")},
       {Approved("C1", 1000000, 50000), Approved("C2", 0)}},
      {"death already live: payable 0",
       {Enroll("M", "2024-01-01"), Death("D1", "M", "2024-06-01"), Death("D2", "M", "2024-05-01"),
        Appeal("D2", "2024-05-20")},
       {Referred("D1", 2000000, {kHighValue}), Referred("D2", 0, {kAppealed})}},
      {"a live benefit of another plan year does not count",
       {Enroll("M", "2024-01-01"), Enroll("M", "2025-02-01"), Ci("C1", "M", "2024-05-01"),
        Ci("C2", "M", "2025-03-01"), Appeal("C2", "2025-03-10"), Approve("C2", "2025-03-20")},
       {Approved("C1", 1000000, 50000), Approved("C2", 1000000, 50000)}},
      // floor(490,000 * 90 / 100) = 441,000; C2: floor(190,000 * 90 / 100) = 171,000 > 59,000.
      {"formula capped by the limit left now; the approval shows LIMIT_APPLIED",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 500000),
        Acc("C2", "M", "2024-04-01", 200000).Filed("2025-04-02"), Appeal("C2", "2025-04-10"),
        Approve("C2", "2025-04-20")},
       {Approved("C1", 441000, 50000), Approved("C2", 59000, 0, {kLimitApplied})}},
      {"while referred by appeal the reasons are [APPEALED] even when capped",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 500000),
        Acc("C2", "M", "2024-04-01", 200000).Filed("2025-04-02"), Appeal("C2", "2025-04-10")},
       {Approved("C1", 441000, 50000), Referred("C2", 59000, {kAppealed})}},
      {"the limit is taken at the appeal: a release after the denial counts",
       {Enroll("M", "2024-01-01"), Acc("C0", "M", "2024-03-01", 600000).Docs({}),
        Acc("C1", "M", "2024-04-01", 200000), Deny("C0", "2024-04-05"), Appeal("C1", "2024-04-10"),
        Approve("C1", "2024-04-20")},
       {Denied("C0", {kReviewDenied}), Approved("C1", 171000)}},
      // C1 was capped when referred (149,000, LIMIT_APPLIED); after both denials the appeal's
      // payable 171,000 is not cut, so the approval shows no LIMIT_APPLIED.
      {"only the appeal's own cap decides LIMIT_APPLIED on approval",
       {Enroll("M", "2024-01-01"), Acc("C0", "M", "2024-03-01", 400000).Docs({}),
        Acc("C1", "M", "2024-04-01", 200000).Docs({}), Deny("C1", "2024-04-05"),
        Deny("C0", "2024-04-05"), Appeal("C1", "2024-04-10"), Approve("C1", "2024-04-20")},
       {Denied("C0", {kReviewDenied}), Approved("C1", 171000)}},
      {"the referral's LIMIT_APPLIED before that",
       {Enroll("M", "2024-01-01"), Acc("C0", "M", "2024-03-01", 400000).Docs({}),
        Acc("C1", "M", "2024-04-01", 200000).Docs({})},
       {Referred("C0", 351000, {kMissingDocuments}),
        Referred("C1", 149000, {kMissingDocuments, kLimitApplied})}},
      // The cap cut 171,000 to 0, so the approving review shows LIMIT_APPLIED.
      {"nothing left: payable 0, the approval shows LIMIT_APPLIED",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 600000),
        Acc("C2", "M", "2024-04-01", 200000), Appeal("C2", "2024-04-10"),
        Approve("C2", "2024-04-20")},
       {Approved("C1", 500000, 50000, {kLimitApplied}), Approved("C2", 0, 0, {kLimitApplied})}},
      {"max(0, formula): a below-deductible claim is approved at 0 with no reason",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 5000), Appeal("C1", "2024-03-10"),
        Approve("C1", "2024-03-20")},
       {Approved("C1", 0)}},
      {"no other check: a NOT_ENROLLED accident without receipts, approved with condolence",
       {Acc("C1", "M", "2024-03-01", 400000).Docs({}), Appeal("C1", "2024-03-10"),
        Approve("C1", "2024-03-20")},
       {Approved("C1", 351000, 50000)}},
      {"child accident capped by the child's limit left",
       {Enroll("M", "2024-01-01"), Kid("C1", "M", "2024-03-01", 360000, "K1"),
        Kid("C2", "M", "2024-04-01", 100000, "K1", std::nullopt), Appeal("C2", "2024-04-10")},
       {Approved("C1", 280000), Referred("C2", 20000, {kAppealed})}},
      {"the appealed reservation counts against the limit",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 400000).Filed("2025-04-01"),
        Appeal("C1", "2025-04-10"), Acc("C2", "M", "2024-05-01", 400000)},
       {Referred("C1", 351000, {kAppealed}), Approved("C2", 149000, 0, {kLimitApplied})}},
      {"a denying review after an appeal: DENIED, 0, [REVIEW_DENIED]",
       {Enroll("M", "2024-01-01"), Acc("C1", "M", "2024-03-01", 5000), Appeal("C1", "2024-03-10"),
        Deny("C1", "2024-03-20")},
       {Denied("C1", {kReviewDenied})}},
  });
}

// ---- Outputs: sequence numbers, rejections and decision records. ----

TEST(OutputTest, NumbersEachMembersNonEmptyOutputsFromOne) {
  struct Step {
    Input input;
    uint64_t sequence;
  };
  const std::vector<Step> steps = {
      {Enroll("M", "2024-01-01"), 0},                     // accepted: no output
      {Acc("C1", "M", "2024-05-01", 30000), 1},           // decision
      {Enroll("N", "2024-01-01"), 0},                     //
      {Acc("C2", "N", "2024-05-01", 30000), 1},           // N counts on its own
      {Terminate("M", "2024-12-01"), 0},                  //
      {Enroll("M", "2024-02-01"), 2},                     // rejection
      {Approve("ZZ", "2024-05-01"), 0},                   // unknown claim: nobody's
      {Approve("C1", "2024-05-10"), 3},                   // rejection
      {Acc("C3", "M", "2024-05-02", 30000).Docs({}), 4},  // referred
      {Approve("C3", "2024-05-10"), 5},                   // decision
      {Acc("C2", "M", "2024-05-03", 30000), 6},           // id in use by N: rejected for M
      {Terminate("N", "2025-01-01"), 2},                  // rejection
      {Acc("C4", "N", "2024-05-05", 5000), 3},            // denied
      {Appeal("C4", "2024-05-06"), 4},                    // appeal accepted
      {Appeal("C4", "2024-05-07"), 5},                    // rejected
      {Acc("C1", "Z", "2024-05-01", 30000), 1},           // Z\'s first output: id in use
  };
  Fold fold;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Output out = fold.Apply(steps[i].input, ThePlan());
    EXPECT_EQ(out.sequence, steps[i].sequence) << "step " << i << ": " << Describe(out);
    EXPECT_EQ(out.empty(), steps[i].sequence == 0 && i != 6) << "step " << i;
  }
  EXPECT_EQ(fold.Member("M")->last_sequence, 6u);
  EXPECT_EQ(fold.Member("N")->last_sequence, 5u);
  ASSERT_NE(fold.Member("Z"), nullptr);
  EXPECT_EQ(fold.Member("Z")->last_sequence, 1u);
  EXPECT_TRUE(fold.Member("Z")->claims.empty());
  EXPECT_TRUE(fold.Member("Z")->enrollments.empty());
}

TEST(OutputTest, DecisionRecordsClaimPlanRevisionCauseAndDate) {
  Fold fold;
  fold.Apply(Enroll("M", "2024-01-01"), ThePlan());
  const Output o1 = fold.Apply(Acc("C1", "M", "2024-05-01", 5000).Filed("2024-05-03"), ThePlan());
  const Output o2 = fold.Apply(Appeal("C1", "2024-05-20"), ThePlan());
  const Output o3 = fold.Apply(Approve("C1", "2024-05-30"), ThePlan());
  ASSERT_TRUE(std::holds_alternative<Decision>(o1.body));
  ASSERT_TRUE(std::holds_alternative<Decision>(o2.body));
  ASSERT_TRUE(std::holds_alternative<Decision>(o3.body));
  const auto& d1 = std::get<Decision>(o1.body);
  const auto& d2 = std::get<Decision>(o2.body);
  const auto& d3 = std::get<Decision>(o3.body);
  EXPECT_EQ(d1.claim, "C1");
  EXPECT_EQ(d1.member, "M");
  EXPECT_EQ(d1.coverage, Coverage::kAccidentalInjury);
  EXPECT_EQ(d1.incident_date, D("2024-05-01"));
  EXPECT_EQ(d1.plan_id, "six-guarantees-v1");
  EXPECT_FALSE(ThePlan().sha256.empty());
  EXPECT_EQ(d1.plan_sha256, ThePlan().sha256);
  EXPECT_EQ(d1.revision, 1u);
  EXPECT_EQ(d2.revision, 2u);
  EXPECT_EQ(d3.revision, 3u);
  EXPECT_EQ(d1.cause, DecisionCause::kClaim);
  EXPECT_EQ(d2.cause, DecisionCause::kAppeal);
  EXPECT_EQ(d3.cause, DecisionCause::kReview);
  EXPECT_EQ(d1.decided_on, D("2024-05-03"));
  EXPECT_EQ(d2.decided_on, D("2024-05-20"));
  EXPECT_EQ(d3.decided_on, D("2024-05-30"));
  EXPECT_EQ(d3.member, "M");
}

struct RejectionRow {
  std::string name;
  std::vector<Input> setup;
  Input rejected;
  MemberId member;  // whose state must not change (but for its sequence number)
  Rejection code;
};

TEST(OutputTest, RejectedInputsChangeNoStateButTheSequenceNumber) {
  const std::vector<Input> base = {
      Enroll("M", "2024-01-01"),
      Enroll("N", "2024-01-01"),
      Acc("C1", "M", "2024-05-01", 30000),           // approved
      Acc("C2", "M", "2024-05-02", 5000),            // denied, below deductible
      Acc("C3", "M", "2024-05-03", 30000).Docs({}),  // referred
      Acc("C4", "M", "2024-05-04", 5000),            // denied, then appealed (referred)
      Appeal("C4", "2024-05-05"),                    //
      Acc("C5", "M", "2024-05-05", 30000).Docs({}),  // referred, then denied on review
      Deny("C5", "2024-05-06"),                      //
      Acc("C6", "N", "2024-05-01", 30000),           // N's
      Terminate("M", "2024-11-30"),                  //
  };
  Input mismatch = Enroll("M", "2025-01-01", Gender::kMale);
  std::get<EnrollInput>(mismatch).birth_date = D(kFemaleBirth);
  const std::vector<RejectionRow> table = {
      {"enrollment start outside the plan year", base,
       Enroll("M", "2025-01-02", Gender::kFemale, 2026), "M", kStartOutsidePlanYear},
      {"second enrollment of a terminated year", base, Enroll("M", "2024-12-01"), "M",
       kDuplicateEnrollmentYear},
      {"enrollment contradicting gender", base, mismatch, "M", kIdentityMismatch},
      {"termination of a year without enrollment", base, Terminate("M", "2025-03-01"), "M",
       kNoEnrollmentToTerminate},
      {"claim id in use by the same member", base, Acc("C1", "M", "2024-06-01", 90000), "M",
       kClaimIdInUse},
      {"claim id in use by another member", base, Acc("C6", "M", "2024-06-01", 90000), "M",
       kClaimIdInUse},
      {"review of an approved claim", base, Deny("C1", "2024-06-01"), "M",
       kReviewOfClaimNotReferred},
      {"review of a denied claim", base, Approve("C2", "2024-06-01"), "M",
       kReviewOfClaimNotReferred},
      {"appeal of a referred claim", base, Appeal("C3", "2024-06-01"), "M",
       kAppealOfClaimNotDenied},
      {"appeal of an approved claim", base, Appeal("C1", "2024-06-01"), "M",
       kAppealOfClaimNotDenied},
      {"late appeal", base, Appeal("C2", "2024-07-03"), "M", kAppealLate},
      {"late appeal after a review denial", base, Appeal("C5", "2024-07-06"), "M", kAppealLate},
  };
  for (const RejectionRow& row : table) {
    SCOPED_TRACE(row.name);
    Fold fold;
    for (const Input& in : row.setup) fold.Apply(in, ThePlan());
    const std::map<MemberId, MemberState> before = fold.members();
    std::map<ClaimId, MemberId> owners;
    for (const auto& [id, m] : before) {
      for (const ClaimRecord& c : m.claims) owners[c.input.claim] = id;
    }
    const Output out = fold.Apply(row.rejected, ThePlan());
    const auto* r = std::get_if<InputRejection>(&out.body);
    ASSERT_NE(r, nullptr) << Describe(out);
    EXPECT_EQ(Name(r->code), Name(row.code));
    EXPECT_EQ(r->member, row.member);
    EXPECT_EQ(out.sequence, before.at(row.member).last_sequence + 1);
    std::map<MemberId, MemberState> after = fold.members();
    ASSERT_EQ(after.count(row.member), 1u);
    EXPECT_EQ(after.at(row.member).last_sequence, out.sequence);
    after.at(row.member).last_sequence = before.at(row.member).last_sequence;
    EXPECT_TRUE((after == before)) << "state changed";
    for (const auto& [claim, owner] : owners) {
      ASSERT_NE(fold.OwnerOf(claim), nullptr) << claim;
      EXPECT_EQ(*fold.OwnerOf(claim), owner) << claim;
    }
  }
  // The repeated appeal: C4 was appealed; deny it on review, then appeal again.
  Fold fold;
  for (const Input& in : base) fold.Apply(in, ThePlan());
  fold.Apply(Deny("C4", "2024-05-10"), ThePlan());
  const MemberState before = *fold.Member("M");
  const Output out = fold.Apply(Appeal("C4", "2024-05-11"), ThePlan());
  const auto* r = std::get_if<InputRejection>(&out.body);
  ASSERT_NE(r, nullptr) << Describe(out);
  EXPECT_EQ(Name(r->code), Name(kAppealRepeated));
  MemberState after = *fold.Member("M");
  after.last_sequence = before.last_sequence;
  EXPECT_TRUE((after == before));
}

}  // namespace
}  // namespace claims::domain
