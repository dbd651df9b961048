#include "tools/claimsctl/progress.h"

#include <unistd.h>

#include <cstdio>

namespace claims::ctl {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::Update(uint64_t done, uint64_t total, uint64_t events) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200) && done < total) return;
  last_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const int width = 30;
  const int filled = total == 0 ? width : static_cast<int>(done * width / total);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %3d%% %llu events, %.0f events/s   ", label_.c_str(), bar.c_str(),
               total == 0 ? 100 : static_cast<int>(done * 100 / total),
               static_cast<unsigned long long>(events), seconds > 0 ? events / seconds : 0.0);
  std::fflush(stderr);
}

}  // namespace claims::ctl
