#pragma once

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace claims {

// Runs `body(i)` once for every i < n on up to `threads` threads: this one and threads - 1 more,
// each taking the next index not yet taken. With `threads` <= 1 (or n <= 1) everything runs here,
// in index order. `body` must be safe to run on several threads at once for distinct i; what it
// produces is the caller's to gather in index order, so the result never depends on the threads.
template <typename Body>
void ForEachIndex(size_t n, size_t threads, const Body& body) {
  if (threads > n) threads = n;
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) body(i);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
  worker();
  for (std::thread& t : helpers) t.join();
}

}  // namespace claims
