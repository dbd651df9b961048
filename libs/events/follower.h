#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/store/state_store.h"

namespace claims::events {

// Assigns `consumer` every partition of `topics`, each from the offset `store` holds for it (the
// next record to apply), or from the beginning when it holds none: where a read model that
// follows topics in full goes on. Returns the assignment (kBeginning where the store held no
// offset).
Result<std::vector<bus::TopicPartitionOffset>> AssignFromStore(
    bus::Consumer& consumer, const store::StateStore& store, const std::vector<std::string>& topics,
    std::chrono::milliseconds timeout);

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
