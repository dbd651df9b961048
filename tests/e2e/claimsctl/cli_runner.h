#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

// What the claimsctl e2e tests share: claimsctl run as a child process, as a script would run it
// (exit code, stdout, stderr), and the service binaries started around the dev broker.
namespace claims::ctl_test {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A claimsctl started in the background (a watch, say); Finish waits for it.
struct CliJob {
  test_support::ChildProcess child;
  std::string out_path;
  std::string err_path;

  // Waits up to `timeout` (then kills it) and returns what it printed.
  CliRun Finish(std::chrono::milliseconds timeout) {
    CliRun run;
    Result<int> code = child.Wait(timeout);
    if (!code.ok()) code = child.Kill();
    run.exit_code = code.ok() ? *code : -1;
    Result<std::string> out = test_support::ReadFile(out_path);
    Result<std::string> err = test_support::ReadFile(err_path);
    run.out = out.ok() ? *out : "";
    run.err = err.ok() ? *err : "";
    return run;
  }
};

// Starts `binary args...` with its output in `dir`/`name`.out and .err.
inline CliJob StartCli(const test_support::TempDir& dir, const std::string& binary,
                       const std::vector<std::string>& args, const std::string& name) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  test_support::SpawnOptions spawn;
  spawn.stdout_path = dir.File(name + ".out");
  spawn.stderr_path = dir.File(name + ".err");
  Result<test_support::ChildProcess> child = test_support::ChildProcess::Spawn(argv, spawn);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  return CliJob{std::move(child).value(), spawn.stdout_path, spawn.stderr_path};
}

// Runs `binary args...` to its end (killed after `timeout`).
inline CliRun RunCli(const test_support::TempDir& dir, const std::string& binary,
                     const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return StartCli(dir, binary, args, "claimsctl").Finish(timeout);
}

// Runs `binary args...` until `done(run)` holds: at most 300 tries within `within`.
inline CliRun RunCliUntil(const test_support::TempDir& dir, const std::string& binary,
                          const std::vector<std::string>& args,
                          const std::function<bool(const CliRun&)>& done,
                          std::chrono::milliseconds within = std::chrono::seconds(30)) {
  CliRun run;
  const auto until = std::chrono::steady_clock::now() + within;
  for (int i = 0; i < 300 && std::chrono::steady_clock::now() < until; ++i) {
    run = RunCli(dir, binary, args);
    if (done(run)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return run;
}

// `a` followed by `b`.
inline std::vector<std::string> Concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A service binary started with the common service flags (--bootstrap-servers, --listen and
// --metrics-listen on free loopback ports, --data-dir in `dir`, --insecure-dev) and its gRPC
// address once it printed its port ("" if it did not start).
struct Service {
  test_support::ChildProcess child;
  std::string address;
  std::string log;  // its stderr
};

inline Service StartService(const test_support::TempDir& dir, const std::string& name,
                            std::vector<std::string> argv, const std::string& bootstrap,
                            const std::map<std::string, std::string>& env = {}) {
  test_support::SpawnOptions spawn;
  spawn.stdout_path = dir.File(name + ".out");
  spawn.stderr_path = dir.File(name + ".log");
  spawn.env = env;
  argv.insert(argv.end(),
              {"--bootstrap-servers", bootstrap, "--listen", "127.0.0.1:0", "--metrics-listen",
               "127.0.0.1:0", "--data-dir", dir.File(name + "-data"), "--insecure-dev"});
  Result<test_support::ChildProcess> child = test_support::ChildProcess::Spawn(argv, spawn);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  const std::string port = test_support::WaitForValue(spawn.stdout_path, "grpc-port");
  EXPECT_FALSE(port.empty()) << name << " did not start";
  return Service{std::move(child).value(), port.empty() ? "" : "127.0.0.1:" + port,
                 spawn.stderr_path};
}

// Writes intake's test keys into `dir`: pseudonym.key and master.key (hex, fixed test values).
inline void WriteIntakeKeys(const test_support::TempDir& dir) {
  std::ofstream(dir.File("pseudonym.key"))
      << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
  std::ofstream(dir.File("master.key"))
      << "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101\n";
}

// Prints each service's log to stderr (for a failed test). `Services`: a container of Service.
template <typename Services>
void PrintLogs(const Services& services) {
  for (const Service& s : services) {
    Result<std::string> log = test_support::ReadFile(s.log);
    if (log.ok()) std::fprintf(stderr, "--- %s ---\n%s\n", s.log.c_str(), log->c_str());
  }
}

}  // namespace claims::ctl_test
