#include "libs/runtime/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace claims::runtime {
namespace {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

TEST(ShutdownSignalTest, SigtermSetsFlagAndRunsCallbackOnItsOwnThread) {
  std::atomic<int> calls{0};
  std::atomic<int> seen_signal{-1};
  std::thread::id callback_thread;
  Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install([&](int number) {
    callback_thread = std::this_thread::get_id();
    seen_signal = number;
    ++calls;
  });
  ASSERT_TRUE(signal.ok()) << signal.status().ToString();
  EXPECT_FALSE((*signal)->requested());
  EXPECT_EQ((*signal)->signal_number(), 0);

  ASSERT_EQ(::raise(SIGTERM), 0);
  // The handler ran synchronously in this thread, so the flag is already set.
  EXPECT_TRUE((*signal)->requested());
  EXPECT_TRUE((*signal)->flag().load());
  ASSERT_TRUE((*signal)->WaitFor(10s));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(seen_signal.load(), SIGTERM);
  EXPECT_EQ((*signal)->signal_number(), SIGTERM);
  EXPECT_NE(callback_thread, std::this_thread::get_id());
}

TEST(ShutdownSignalTest, SigintRequestsShutdownToo) {
  Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install();
  ASSERT_TRUE(signal.ok());
  ASSERT_EQ(::raise(SIGINT), 0);
  ASSERT_TRUE((*signal)->WaitFor(10s));
  EXPECT_EQ((*signal)->signal_number(), SIGINT);
}

TEST(ShutdownSignalTest, OnlyTheFirstRequestRunsTheCallback) {
  std::atomic<int> calls{0};
  Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install([&](int) { ++calls; });
  ASSERT_TRUE(signal.ok());
  ASSERT_EQ(::raise(SIGTERM), 0);
  ASSERT_EQ(::raise(SIGINT), 0);
  (*signal)->Trigger();
  ASSERT_TRUE((*signal)->WaitFor(10s));
  std::this_thread::sleep_for(100ms);  // give stray wake-ups the chance to misbehave
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ((*signal)->signal_number(), SIGTERM);
}

TEST(ShutdownSignalTest, TriggerRequestsShutdownWithoutASignal) {
  std::atomic<int> seen{-1};
  Result<std::unique_ptr<ShutdownSignal>> signal =
      ShutdownSignal::Install([&](int number) { seen = number; });
  ASSERT_TRUE(signal.ok());
  (*signal)->Trigger();
  EXPECT_TRUE((*signal)->requested());
  (*signal)->Wait();
  EXPECT_EQ(seen.load(), 0);
  EXPECT_EQ((*signal)->signal_number(), 0);
}

TEST(ShutdownSignalTest, WaitForTimesOutWhenNothingIsRequested) {
  Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install();
  ASSERT_TRUE(signal.ok());
  EXPECT_FALSE((*signal)->WaitFor(20ms));
  EXPECT_FALSE((*signal)->requested());
}

TEST(ShutdownSignalTest, OnlyOneCanBeInstalledAtATime) {
  Result<std::unique_ptr<ShutdownSignal>> first = ShutdownSignal::Install();
  ASSERT_TRUE(first.ok());
  Result<std::unique_ptr<ShutdownSignal>> second = ShutdownSignal::Install();
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  first->reset();
  EXPECT_TRUE(ShutdownSignal::Install().ok());
}

std::atomic<int> previous_handler_calls{0};
void PreviousHandler(int) { ++previous_handler_calls; }

TEST(ShutdownSignalTest, DestructionRestoresThePreviousHandler) {
  struct sigaction mine {};
  mine.sa_handler = PreviousHandler;
  sigemptyset(&mine.sa_mask);
  struct sigaction original {};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &original), 0);
  {
    Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install();
    ASSERT_TRUE(signal.ok());
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(previous_handler_calls.load(), 0);
    EXPECT_TRUE((*signal)->requested());
  }
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(previous_handler_calls.load(), 1);
  ::sigaction(SIGTERM, &original, nullptr);
}

TEST(ShutdownSignalTest, DestructionWaitsForARunningCallback) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  {
    Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install([&](int) {
      started = true;
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
    ASSERT_TRUE(signal.ok());
    ASSERT_EQ(::raise(SIGTERM), 0);
    while (!started.load()) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace claims::runtime
