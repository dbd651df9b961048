#pragma once

#include <chrono>
#include <cstdint>
#include <string>

// A progress line on stderr, drawn only when stderr is a terminal, so that scripts and logs see
// nothing of it. Not thread-safe.
namespace claims::ctl {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();  // ends the line if one was drawn
  // `done` of `total` units (bytes, say) and `events` so far; redraws at most every 200 ms.
  void Update(uint64_t done, uint64_t total, uint64_t events);
  void SetLabel(std::string label) { label_ = std::move(label); }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace claims::ctl
