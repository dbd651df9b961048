#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/status.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace claims::test_support {

struct DevBrokerOptions {
  int brokers = 3;
  int partitions = 12;
  // More devbroker flags, e.g. {"--tcp-nodelay=false"}.
  std::vector<std::string> extra_args;
  // How long to wait for the bootstrap and control files.
  std::chrono::milliseconds startup_timeout = std::chrono::seconds(10);
};

// The devbroker binary (services/devbroker) as a child process of the test, with its control
// port enabled. Its files and logs live in a private TempDir. On destruction the broker gets
// SIGTERM, then SIGKILL if it has not exited within 5 s.
//
// Not thread-safe, except Control, which any thread may call.
class DevBroker {
 public:
  // Starts the broker and waits until it has written its bootstrap and control files. Fails
  // (and kills the child) if that takes longer than startup_timeout or the child exits.
  static Result<std::unique_ptr<DevBroker>> Start(const DevBrokerOptions& options = {});
  ~DevBroker();

  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  // "127.0.0.1:PORT,..." as written to the bootstrap file.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  // Where the broker wrote its bootstrap file (removed when it stops cleanly).
  std::string bootstrap_file() const { return dir_.File("bootstrap"); }
  // The broker's stderr, for diagnostics.
  std::string LogText() const;
  pid_t pid() const { return process_.pid(); }

  // Sends one control command ("broker-down 2") and returns the reply line without its newline
  // ("OK ..." or "ERR ..."). A transport failure is kUnavailable; an ERR reply is a value.
  Result<std::string> Control(std::string_view command,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // SIGTERM, then waits up to `grace`, then SIGKILL. Returns the exit code as
  // ChildProcess::Wait does (0 for a clean stop). Idempotent.
  Result<int> Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  DevBroker(TempDir dir, ChildProcess process)
      : dir_(std::move(dir)), process_(std::move(process)) {}

  TempDir dir_;
  ChildProcess process_;
  std::string bootstrap_servers_;
  int control_port_ = 0;
};

// The path of the devbroker binary this test support library was built with.
const char* DevBrokerPath();

}  // namespace claims::test_support
