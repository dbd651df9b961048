#include "libs/crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace claims::crypto {
namespace {

TEST(RandomBytesTest, NeverHandsOutTheSameBytesTwiceAcrossBufferRefillsAndThreads) {
  // 16-byte values: a repeat among a few thousand would mean bytes were handed out twice.
  std::set<std::string> seen;
  std::mutex mu;
  auto draw = [&](int n) {
    std::vector<std::string> mine;
    for (int i = 0; i < n; ++i) {
      std::array<uint8_t, 16> v{};
      ASSERT_TRUE(RandomBytes(v).ok());
      mine.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
    }
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(draw, 1000);  // 4 refills per thread
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(seen.size(), 4000u);
}

TEST(RandomBytesTest, FillsRequestsLargerThanItsBufferAndOfOddSizes) {
  std::vector<uint8_t> big(10000, 0);
  ASSERT_TRUE(RandomBytes(big).ok());
  // Every 1 KiB stretch has non-zero bytes (a stretch left unfilled would stay all zero).
  for (size_t at = 0; at + 1024 <= big.size(); at += 1024) {
    int nonzero = 0;
    for (size_t i = at; i < at + 1024; ++i) nonzero += big[i] != 0;
    EXPECT_GT(nonzero, 900) << "at " << at;
  }
  std::array<uint8_t, 7> odd{};
  ASSERT_TRUE(RandomBytes(odd).ok());
  std::array<uint8_t, 0> none{};
  EXPECT_TRUE(RandomBytes(none).ok());
}

}  // namespace
}  // namespace claims::crypto
