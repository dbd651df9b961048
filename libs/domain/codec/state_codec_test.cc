#include "libs/domain/codec/state_codec.h"

#include <gtest/gtest.h>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/fold.h"
#include "tests/bench/history.h"

namespace claims::codec {
namespace {

TEST(StateCodecTest, RoundTripsEveryStateAGeneratedHistoryProduces) {
  Result<domain::Plan> plan = LoadPlanFile(CLAIMS_PLAN_FILE);
  ASSERT_TRUE(plan.ok());
  bench::HistoryShape shape;
  shape.members = 2000;
  shape.claims_per_thousand_member_years = 800;  // many claims, reviews and appeals
  domain::Fold fold;
  for (const domain::Input& in : bench::GenerateHistory(shape)) fold.Apply(in, *plan);
  size_t with_claims = 0;
  for (const auto& [id, state] : fold.members()) {
    Result<domain::MemberState> back = DecodeMemberState(EncodeMemberState(state));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(*back, state) << id;
    with_claims += !state.claims.empty();
  }
  EXPECT_GT(with_claims, 1000u);
}

TEST(StateCodecTest, RefusesBytesThatAreNotAState) {
  EXPECT_EQ(DecodeMemberState("\xff\xff\xff").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace claims::codec
