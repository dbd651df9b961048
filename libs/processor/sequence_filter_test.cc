#include "libs/processor/sequence_filter.h"

#include <gtest/gtest.h>

namespace claims::processor {
namespace {

using V = SequenceFilter::Verdict;

TEST(SequenceFilterTest, AcceptsEachSequenceOncePerMember) {
  SequenceFilter f;
  EXPECT_EQ(f.Offer("A", 1), V::kNew);
  EXPECT_EQ(f.Offer("A", 2), V::kNew);
  EXPECT_EQ(f.Offer("B", 1), V::kNew);
  // A restarted producer re-publishes 1 and 2 of A, then goes on.
  EXPECT_EQ(f.Offer("A", 1), V::kDuplicate);
  EXPECT_EQ(f.Offer("A", 2), V::kDuplicate);
  EXPECT_EQ(f.Offer("A", 3), V::kNew);
  EXPECT_EQ(f.duplicates(), 2u);
  EXPECT_EQ(f.Last("A"), 3u);
  EXPECT_EQ(f.Last("C"), std::nullopt);
}

TEST(SequenceFilterTest, FlagsAGapButAcceptsTheOutput) {
  SequenceFilter f;
  EXPECT_EQ(f.Offer("A", 1), V::kNew);
  EXPECT_EQ(f.Offer("A", 3), V::kAfterGap);
  EXPECT_EQ(f.gaps(), 1u);
  EXPECT_EQ(f.Offer("A", 2), V::kDuplicate);
}

TEST(SequenceFilterTest, ResumesFromASeededLastSequence) {
  SequenceFilter f;
  f.Seed("A", 7);
  EXPECT_EQ(f.Offer("A", 7), V::kDuplicate);
  EXPECT_EQ(f.Offer("A", 8), V::kNew);
}

}  // namespace
}  // namespace claims::processor
