#include "tools/demo/demo_year.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "libs/identity/bank_card.h"
#include "libs/identity/resident_id.h"

namespace claims::demo {
namespace {

namespace ev = ::mutualaid::events::v1;

TEST(DemoYearTest, SameSeedGivesByteIdenticalRequests) {
  const DemoYear a = GenerateDemoYear({});
  const DemoYear b = GenerateDemoYear({});
  ASSERT_EQ(a.enrollments.size(), b.enrollments.size());
  ASSERT_EQ(a.claims.size(), b.claims.size());
  for (size_t i = 0; i < a.enrollments.size(); ++i) {
    EXPECT_EQ(a.enrollments[i].SerializeAsString(), b.enrollments[i].SerializeAsString());
  }
  for (size_t i = 0; i < a.claims.size(); ++i) {
    EXPECT_EQ(a.claims[i].request.SerializeAsString(), b.claims[i].request.SerializeAsString());
    EXPECT_EQ(a.claims[i].member_index, b.claims[i].member_index);
  }
  DemoShape other;
  other.seed = 7;
  EXPECT_NE(GenerateDemoYear(other).enrollments[0].SerializeAsString(),
            a.enrollments[0].SerializeAsString());
}

TEST(DemoYearTest, EveryMemberHasAValidUniqueIdNumberMatchingGenderAndALuhnValidCard) {
  const DemoShape shape;
  const DemoYear year = GenerateDemoYear(shape);
  ASSERT_EQ(year.enrollments.size(), 2000u);
  std::set<std::string> numbers, keys;
  std::map<ev::Occupation, int> occupations;
  for (const auto& e : year.enrollments) {
    Result<identity::ResidentId> id =
        identity::ParseResidentId(e.resident_id_number(), DemoBusinessDate(shape.plan_year));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(id->gender == identity::Gender::kFemale, e.gender() == ev::FEMALE);
    EXPECT_TRUE(identity::ValidateBankCard(e.bank_card_number()).ok());
    EXPECT_TRUE(numbers.insert(e.resident_id_number()).second);
    EXPECT_TRUE(keys.insert(e.idempotency_key()).second);
    EXPECT_EQ(e.plan_year(), shape.plan_year);
    ++occupations[e.occupation()];
  }
  for (ev::Occupation o :
       {ev::COURIER, ev::FOOD_DELIVERY, ev::TRUCK_DRIVER, ev::RIDE_HAILING, ev::OTHER}) {
    EXPECT_GT(occupations[o], 100) << ev::Occupation_Name(o);
  }
}

TEST(DemoYearTest, ClaimsCoverAllSixCoveragesAndEveryOutcomeOncePerMember) {
  const DemoShape shape;
  const DemoYear year = GenerateDemoYear(shape);
  std::set<ev::Coverage> coverages;
  std::set<ev::Outcome> outcomes;
  std::set<int> claimants;
  const Date today = DemoBusinessDate(shape.plan_year);
  for (const PlannedClaim& c : year.claims) {
    coverages.insert(c.request.coverage());
    outcomes.insert(c.expected);
    EXPECT_TRUE(claimants.insert(c.member_index).second) << "member claims twice";
    std::optional<Date> incident = Date::Parse(c.request.incident_date());
    ASSERT_TRUE(incident.has_value());
    EXPECT_LE(*incident, today) << "intake refuses incidents after its business date";
    if (c.request.coverage() == ev::FEMALE_SPECIFIC_DISEASE && c.expected == ev::APPROVED) {
      EXPECT_EQ(year.enrollments[c.member_index].gender(), ev::FEMALE);
    }
  }
  EXPECT_EQ(coverages.size(), 6u);
  EXPECT_EQ(outcomes, (std::set<ev::Outcome>{ev::APPROVED, ev::DENIED, ev::REFERRED}));
  EXPECT_GT(year.claims.size(), 250u);
}

}  // namespace
}  // namespace claims::demo
