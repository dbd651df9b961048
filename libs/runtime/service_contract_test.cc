// The binary contract of every service (docs/DESIGN.md, "Running"), checked on a stand-in
// main() built from claims::runtime: exit 0 for --help and after SIGTERM, exit 2 for a bad
// flag, JSON log lines on stderr.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace claims::runtime {
namespace {

using ::testing::HasSubstr;

// A child process with its stdout and stderr piped back. Killed and reaped on destruction.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), CLAIMS_EXAMPLE_SERVICE_PATH);
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Reads stdout up to and including the next '\n' (or EOF / 10 s).
  std::string ReadStdoutLine() {
    std::string line;
    char c;
    while (WaitReadable(out_fd_) && ::read(out_fd_, &c, 1) == 1) {
      if (c == '\n') break;
      line.push_back(c);
    }
    return line;
  }

  // Waits for the exit; its code, or 128 + the killing signal, or -1 after 10 s.
  int Wait() {
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  // Everything left on a stream; call after Wait.
  std::string DrainStdout() { return Drain(out_fd_); }
  std::string DrainStderr() { return Drain(err_fd_); }

 private:
  static bool WaitReadable(int fd) {
    pollfd p = {fd, POLLIN, 0};
    return ::poll(&p, 1, 10000) == 1;
  }
  static std::string Drain(int fd) {
    std::string out;
    char buf[4096];
    while (WaitReadable(fd)) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

TEST(ServiceContractTest, HelpPrintsEveryFlagAndExitsZero) {
  Child child({"--help"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.Wait(), 0);
  std::string out = child.DrainStdout();
  for (std::string_view flag : {"--bootstrap-servers", "--listen", "--metrics-listen", "--data-dir",
                                "--config", "--insecure-dev", "--log-level"}) {
    EXPECT_THAT(out, HasSubstr(std::string(flag))) << flag;
  }
  EXPECT_THAT(out, HasSubstr("CLAIMS_METRICS_LISTEN"));
}

TEST(ServiceContractTest, UnknownFlagExitsTwoWithTheError) {
  Child child({"--no-such-flag"});
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.Wait(), 2);
  EXPECT_THAT(child.DrainStderr(), HasSubstr("unknown flag --no-such-flag"));
}

TEST(ServiceContractTest, CleanSigtermShutdownExitsZero) {
  Child child({"--metrics-listen=127.0.0.1:0"});
  ASSERT_TRUE(child.started());
  std::string line = child.ReadStdoutLine();
  ASSERT_THAT(line, ::testing::StartsWith("metrics-port ")) << child.DrainStderr();
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  EXPECT_EQ(child.Wait(), 0);
  std::string err = child.DrainStderr();
  EXPECT_THAT(err, HasSubstr(R"("level":"info","service":"example","msg":"serving")"));
  EXPECT_THAT(err, HasSubstr(R"("msg":"shutting down","signal":15})"));
  EXPECT_THAT(err, HasSubstr(R"("msg":"stopped"})"));
}

}  // namespace
}  // namespace claims::runtime
