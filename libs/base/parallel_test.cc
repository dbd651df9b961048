#include "libs/base/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace claims {
namespace {

TEST(ForEachIndexTest, RunsEveryIndexExactlyOnceWhateverTheThreads) {
  for (size_t threads : {0u, 1u, 2u, 5u, 200u}) {
    std::vector<std::atomic<int>> runs(101);
    ForEachIndex(runs.size(), threads, [&](size_t i) { ++runs[i]; });
    for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << threads << " " << i;
  }
  ForEachIndex(0, 4, [](size_t) { FAIL() << "no index to run"; });
}

TEST(ForEachIndexTest, OneThreadRunsInOrderOnTheCaller) {
  std::vector<size_t> order;
  const std::thread::id caller = std::this_thread::get_id();
  ForEachIndex(5, 1, [&](size_t i) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    order.push_back(i);
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(ForEachIndexTest, SeveralThreadsShareTheWork) {
  std::mutex mu;
  std::set<std::thread::id> seen;
  const std::thread::id caller = std::this_thread::get_id();
  bool caller_ran = false;
  ForEachIndex(64, 2, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(std::this_thread::get_id());
    if (std::this_thread::get_id() == caller) caller_ran = true;
  });
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_TRUE(caller_ran);
}

}  // namespace
}  // namespace claims
