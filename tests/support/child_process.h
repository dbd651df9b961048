#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"

namespace claims::test_support {

struct SpawnOptions {
  // Variables set (or overridden) in the child's environment; the rest is inherited.
  std::map<std::string, std::string> env;
  // Files that receive the child's stdout / stderr (created or truncated); empty: inherited.
  std::string stdout_path;
  std::string stderr_path;
};

// A child process started by fork + exec. The child is killed (SIGKILL) if the thread that
// spawned it dies, so a crashed test leaves no orphans. On destruction a still-running child
// is killed with SIGKILL and reaped. Movable, not copyable; not thread-safe.
class ChildProcess {
 public:
  // Runs argv[0] (a path; not searched in PATH) with `argv`. kUnavailable if it cannot start;
  // a path that exists but cannot be executed shows up as exit code 127.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                    const SpawnOptions& options = {});
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // True until the child has exited and been reaped (by Wait, TryWait or Kill).
  bool Running();

  // Sends `signal` (SIGTERM, SIGKILL, SIGSTOP...). Ok if the child already exited.
  Status Signal(int signal);

  // Waits up to `timeout` for the child to exit. Returns its exit code, or 128 + the signal
  // that killed it (as a shell reports it). kDeadlineExceeded if still running.
  Result<int> Wait(std::chrono::milliseconds timeout);

  // SIGKILL, then waits (bounded) for it. Returns as Wait.
  Result<int> Kill();

  // SIGTERM, waits up to `grace`, then SIGKILL. Returns as Wait.
  Result<int> Stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  // Reaps without blocking; true when the child is gone (exit_code_ set).
  bool Reap();

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Reads a whole file; kNotFound if it does not exist.
Result<std::string> ReadFile(const std::string& path);

// The value after "NAME " in a file of "name value" lines (as service binaries print their
// ports: "grpc-port 40123"), waiting for it to appear up to `timeout`, polling every 50 ms.
// "" when it does not appear in time.
std::string WaitForValue(const std::string& path, const std::string& name,
                         std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace claims::test_support
