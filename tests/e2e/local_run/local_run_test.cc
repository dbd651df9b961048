#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using test_support::ChildProcess;
using test_support::TempDir;

struct RunResult {
  int exit_code = -1;
  std::string output;
};

std::string ReadOrEmpty(const std::string& path) {
  Result<std::string> text = test_support::ReadFile(path);
  return text.ok() ? *text : std::string();
}

// Runs deploy/local/run.sh --no-wait with `run_dir` as its run folder, bounded in time.
RunResult RunLocal(const TempDir& tmp, const std::string& run_dir, const std::string& tag) {
  RunResult result;
  test_support::SpawnOptions options;
  options.stdout_path = tmp.File(tag + ".out");
  options.stderr_path = tmp.File(tag + ".err");
  Result<ChildProcess> run =
      ChildProcess::Spawn({"/bin/bash", std::string(CLAIMS_SOURCE_DIR) + "/deploy/local/run.sh",
                           "--build-dir", CLAIMS_BUILD_DIR, "--run-dir", run_dir, "--no-wait"},
                          options);
  if (!run.ok()) {
    ADD_FAILURE() << run.status().ToString();
    return result;
  }
  Result<int> code = run->Wait(std::chrono::seconds(400));
  if (!code.ok()) {
    ADD_FAILURE() << "run.sh did not finish within 400 s";
    (void)run->Stop(std::chrono::seconds(30));
  } else {
    result.exit_code = *code;
  }
  result.output =
      ReadOrEmpty(options.stdout_path) + "\n--- stderr:\n" + ReadOrEmpty(options.stderr_path);
  if (result.exit_code != 0) {
    // The run folder goes with the test: keep the end of each service's log in the output.
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/logs", error)) {
      const std::string log = ReadOrEmpty(entry.path().string());
      result.output += "\n--- " + entry.path().filename().string() + " (last 4000 bytes):\n" +
                       log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
    }
  }
  return result;
}

// The processes run.sh started ("name pid" lines of its pids file), none of which may be left.
void ExpectEveryProcessGone(const std::string& run_dir) {
  std::ifstream pids(run_dir + "/pids");
  ASSERT_TRUE(pids.good()) << "no pids file in " << run_dir;
  std::string name;
  int pid = 0;
  int count = 0;
  while (pids >> name >> pid) {
    ++count;
    ASSERT_GT(pid, 1);
    errno = 0;
    EXPECT_EQ(kill(pid, 0), -1) << name << " (pid " << pid << ") is still running";
    EXPECT_EQ(errno, ESRCH) << name;
  }
  EXPECT_GE(count, 3) << "devbroker, intake and adjudication at least";
}

// The counts of "outcomes: APPROVED=a DENIED=d REFERRED=r"; all -1 when the line is missing.
std::vector<int> Outcomes(const std::string& output) {
  std::smatch m;
  static const std::regex re(R"(outcomes: APPROVED=(\d+) DENIED=(\d+) REFERRED=(\d+))");
  if (!std::regex_search(output, m, re)) return {-1, -1, -1};
  return {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
}

void ExpectAFullDemoYear(const RunResult& run, const std::string& run_dir) {
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<int> outcomes = Outcomes(run.output);
  EXPECT_GT(outcomes[0], 0) << "no APPROVED claim\n" << run.output;
  EXPECT_GT(outcomes[1], 0) << "no DENIED claim\n" << run.output;
  EXPECT_GT(outcomes[2], 0) << "no REFERRED claim\n" << run.output;
  EXPECT_NE(run.output.find("members enrolled: 2000 ("), std::string::npos) << run.output;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(run.output, m, std::regex(R"(first decisions as planned: (\d+) of (\d+))")))
      << run.output;
  EXPECT_EQ(m[1], m[2]) << "a first decision differs from the plan rules\n" << run.output;
  for (const char* service : {"intake", "adjudication"}) {
    EXPECT_NE(run.output.find(std::string("\n") + service + " "), std::string::npos)
        << service << " is missing from the table\n"
        << run.output;
    EXPECT_TRUE(std::ifstream(run_dir + "/logs/" + service + ".log").good()) << service;
  }
  if (std::ifstream(std::string(CLAIMS_BUILD_DIR) + "/services/payout/payout").good()) {
    EXPECT_TRUE(
        std::regex_search(run.output, std::regex(R"(bank report: [1-9]\d* settled, 1 failed)")))
        << run.output;
  }
  EXPECT_NE(run.output.find("every process stopped cleanly"), std::string::npos) << run.output;
  ExpectEveryProcessGone(run_dir);
}

TEST(LocalRunTest, RunsTheDemoYearStopsCleanlyAndRunsAgainInTheSameFolder) {
  Result<TempDir> tmp = TempDir::Create("local-run");
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();
  const std::string run_dir = tmp->File("run");

  const RunResult first = RunLocal(*tmp, run_dir, "first");
  ExpectAFullDemoYear(first, run_dir);

  // Same folder, same command: wiped and recreated, new ports and keys, the same year.
  const RunResult second = RunLocal(*tmp, run_dir, "second");
  ExpectAFullDemoYear(second, run_dir);
  EXPECT_EQ(Outcomes(first.output), Outcomes(second.output)) << "the demo year is deterministic";
}

TEST(LocalRunTest, RefusesAFolderItDidNotMake) {
  Result<TempDir> tmp = TempDir::Create("local-run");
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();
  const std::string run_dir = tmp->File("precious");
  ASSERT_EQ(::mkdir(run_dir.c_str(), 0700), 0);
  std::ofstream(run_dir + "/keep.txt") << "not a run folder\n";

  const RunResult run = RunLocal(*tmp, run_dir, "refused");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("is not a run folder of this script"), std::string::npos) << run.output;
  EXPECT_TRUE(std::ifstream(run_dir + "/keep.txt").good()) << "the folder was wiped";
}

}  // namespace
}  // namespace claims
