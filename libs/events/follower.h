#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "libs/base/status.h"

namespace claims::events {

// The loop of a read model that follows topics in full (intake's claims, adjudication's review
// queue, payout's payments and payees). `follower` has
//   Result<size_t> PollOnce(std::chrono::milliseconds timeout)  // apply what arrived
//   Status Start(std::chrono::milliseconds timeout)             // seek to what the store holds
// Runs until `stop`. After a failed poll (its records consumed but not applied) it waits half a
// second and rewinds to the store before going on; returns early only with a fatal error
// (kAborted), which a restart must handle.
template <typename Follower>
Status RunFollower(const std::atomic<bool>& stop, Follower& follower) {
  while (!stop.load()) {
    Result<size_t> polled = follower.PollOnce(std::chrono::milliseconds(100));
    if (polled.ok()) continue;
    if (polled.status().code() == StatusCode::kAborted) return polled.status();
    for (int i = 0; i < 5 && !stop.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (Status s = follower.Start(std::chrono::seconds(10));
        !s.ok() && s.code() == StatusCode::kAborted) {
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace claims::events
