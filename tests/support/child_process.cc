#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace claims::test_support {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void RunChild(pid_t parent, const char* path, char** argv, char** envp,
                           const char* out_path, const char* err_path) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, nullptr);
  if (out_path != nullptr) {
    const int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(126);
    close(fd);
  }
  if (err_path != nullptr) {
    const int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    close(fd);
  }
  execve(path, argv, envp);
  _exit(127);
}

}  // namespace

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                         const SpawnOptions& options) {
  if (argv.empty()) return InvalidArgument("spawn: empty argv");
  std::vector<std::string> args = argv;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (options.env.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : options.env) env.push_back(name + "=" + value);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  const char* out_path = options.stdout_path.empty() ? nullptr : options.stdout_path.c_str();
  const char* err_path = options.stderr_path.empty() ? nullptr : options.stderr_path.c_str();

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Unavailable("fork " + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) RunChild(parent, c_args[0], c_args.data(), c_env.data(), out_path, err_path);
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_.has_value()) (void)Kill();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_code_.has_value()) (void)Kill();
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::Reap() {
  if (exit_code_.has_value()) return true;
  if (pid_ <= 0) return true;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0) {
    exit_code_ = -1;  // not our child any more (reaped elsewhere): treat as gone
    return true;
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool ChildProcess::Running() { return !Reap(); }

Status ChildProcess::Signal(int signal) {
  if (Reap()) return Status::Ok();
  if (kill(pid_, signal) != 0 && errno != ESRCH) {
    return Internal("kill " + std::to_string(pid_) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Reap()) return *exit_code_;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Status(StatusCode::kDeadlineExceeded, "pid " + std::to_string(pid_) +
                                                   " still running after " +
                                                   std::to_string(timeout.count()) + " ms");
}

Result<int> ChildProcess::Kill() {
  if (Status s = Signal(SIGKILL); !s.ok()) return s;
  return Wait(std::chrono::seconds(10));
}

Result<int> ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (Status s = Signal(SIGTERM); !s.ok()) return s;
  Result<int> code = Wait(grace);
  if (code.ok()) return code;
  return Kill();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string WaitForValue(const std::string& path, const std::string& name,
                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    std::ifstream in(path);
    std::string key, value;
    while (in >> key >> value) {
      if (key == name) return value;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

}  // namespace claims::test_support
