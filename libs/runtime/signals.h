#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "libs/base/status.h"

namespace claims::runtime {

// Turns SIGTERM and SIGINT into a shutdown request: an atomic flag that loops poll, and a
// callback (e.g. one that calls grpc::Server::Shutdown) run on the ShutdownSignal's own thread,
// never inside the signal handler. The handler only sets the flag and writes one byte to a
// pipe (async-signal-safe); the thread does the rest.
//
// The contract of every service binary: a SIGTERM (or SIGINT) makes it stop taking work,
// finish or hand back what it holds, and return 0 from main(). The handler does not re-raise,
// so the process is not killed by the signal; main() decides the exit code, and a clean
// shutdown is exit code 0:
//
//   Result<std::unique_ptr<ShutdownSignal>> signal =
//       ShutdownSignal::Install([&](int) { server->Shutdown(); });
//   if (!signal.ok()) { ...; return 1; }
//   server->Wait();   // returns once the callback has shut the server down
//   return 0;
//
// At most one ShutdownSignal exists per process at a time. Only the first request counts:
// later signals are ignored (the flag stays set, the callback does not run again); to force
// an exit, send SIGKILL. From destruction on, SIGTERM and SIGINT have their previous
// dispositions again.
//
// Thread-safe: requested(), signal_number(), Wait, WaitFor and Trigger may be called from any
// thread. The callback must not destroy the ShutdownSignal.
class ShutdownSignal {
 public:
  using Callback = std::function<void(int signal_number)>;

  // Installs the handlers and starts the thread. `on_shutdown` (may be empty) runs once, on
  // that thread, with the signal number (0 for Trigger). kFailedPrecondition if another
  // ShutdownSignal is installed; kInternal if a pipe, thread or handler cannot be set up
  // (nothing stays installed then).
  static Result<std::unique_ptr<ShutdownSignal>> Install(Callback on_shutdown = {});

  // Restores the previous handlers, then stops and joins the thread, waiting for a running
  // callback to return. A request whose callback has not started yet is dropped: the callback
  // may refer to objects already destroyed.
  ~ShutdownSignal();

  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // True once shutdown was requested (set by the signal handler itself, before the callback).
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // The flag itself, for loops that take a `const std::atomic<bool>&`.
  const std::atomic<bool>& flag() const { return requested_; }

  // The signal that requested shutdown; 0 if none yet, or if it came from Trigger.
  int signal_number() const {
    int number = signal_number_.load(std::memory_order_acquire);
    return number > 0 ? number : 0;
  }

  // Requests shutdown as a signal would (e.g. after a fatal error in a loop).
  void Trigger();

  // Blocks until shutdown was requested and the callback has returned.
  void Wait();
  // As Wait, for at most `timeout`; false if it timed out.
  bool WaitFor(std::chrono::milliseconds timeout);

 private:
  ShutdownSignal(Callback on_shutdown, int read_fd, int write_fd);
  void Run();

  // signal_number_ when Trigger made the request.
  static constexpr int kTriggered = -1;

  const Callback on_shutdown_;
  const int read_fd_;
  const int write_fd_;
  bool term_installed_ = false;
  bool int_installed_ = false;
  // Set once, by whoever requests first (the handler or Trigger), before requested_.
  std::atomic<int> signal_number_{0};
  std::atomic<bool> requested_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;  // guarded by mu_: the callback has returned
  std::thread thread_;
};

}  // namespace claims::runtime
