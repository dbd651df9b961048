#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace claims::test_support {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ChildProcessTest, ReportsExitCodeAndKillSignal) {
  Result<ChildProcess> exits = ChildProcess::Spawn({"/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(exits.ok());
  Result<int> code = exits->Wait(seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 3);
  EXPECT_FALSE(exits->Running());

  Result<ChildProcess> sleeper = ChildProcess::Spawn({"/bin/sleep", "30"});
  ASSERT_TRUE(sleeper.ok());
  EXPECT_TRUE(sleeper->Running());
  Result<int> early = sleeper->Wait(milliseconds(50));
  EXPECT_EQ(early.status().code(), StatusCode::kDeadlineExceeded);
  Result<int> killed = sleeper->Kill();
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(*killed, 128 + SIGKILL);
}

TEST(ChildProcessTest, StopEscalatesToSigkillWhenSigtermIsIgnored) {
  Result<ChildProcess> stubborn =
      ChildProcess::Spawn({"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"});
  ASSERT_TRUE(stubborn.ok());
  std::this_thread::sleep_for(milliseconds(100));  // let the shell install its trap
  Result<int> code = stubborn->Stop(milliseconds(200));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST(ChildProcessTest, PassesEnvironmentAndCapturesOutput) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  SpawnOptions options;
  options.env["CLAIMS_PROBE"] = "hello";
  options.stdout_path = dir->File("out");
  Result<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "echo \"$CLAIMS_PROBE\""}, options);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(*child->Wait(seconds(10)), 0);
  EXPECT_EQ(*ReadFile(dir->File("out")), "hello\n");

  Result<ChildProcess> missing = ChildProcess::Spawn({"/no/such/binary"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing->Wait(seconds(10)), 127);
}

TEST(TempDirTest, RemovesItsTreeOnDestruction) {
  std::string path;
  {
    Result<TempDir> dir = TempDir::Create("support-test");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    std::filesystem::create_directories(dir->File("a/b"));
    ASSERT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace claims::test_support
