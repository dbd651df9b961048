#include "libs/runtime/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace claims::runtime {
namespace {

// What the signal handler touches: only lock-free atomics and write(2).
std::atomic<bool> g_installed{false};
std::atomic<int> g_write_fd{-1};
std::atomic<std::atomic<bool>*> g_requested{nullptr};
std::atomic<std::atomic<int>*> g_signal_number{nullptr};

// Only touched by Install and the destructor, which g_installed serialises.
struct sigaction g_previous_term;
struct sigaction g_previous_int;

static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<std::atomic<bool>*>::is_always_lock_free);

void Wake(int fd) {
  unsigned char byte = 1;
  while (::write(fd, &byte, 1) < 0 && errno == EINTR) {
  }
  // EAGAIN: the pipe is full, so the thread has bytes to wake up on anyway.
}

extern "C" void HandleShutdownSignal(int signal_number) {
  int saved_errno = errno;
  std::atomic<int>* number = g_signal_number.load();
  std::atomic<bool>* requested = g_requested.load();
  if (number != nullptr && requested != nullptr) {
    int expected = 0;
    if (number->compare_exchange_strong(expected, signal_number)) requested->store(true);
  }
  int fd = g_write_fd.load();
  if (fd >= 0) Wake(fd);
  errno = saved_errno;
}

}  // namespace

ShutdownSignal::ShutdownSignal(Callback on_shutdown, int read_fd, int write_fd)
    : on_shutdown_(std::move(on_shutdown)), read_fd_(read_fd), write_fd_(write_fd) {}

Result<std::unique_ptr<ShutdownSignal>> ShutdownSignal::Install(Callback on_shutdown) {
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) {
    return FailedPrecondition("a ShutdownSignal is already installed in this process");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::string message = std::string("cannot create the shutdown pipe: ") + std::strerror(errno);
    g_installed.store(false);
    return Internal(message);
  }
  ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  // From here on, the destructor undoes whatever was set up.
  std::unique_ptr<ShutdownSignal> signal(
      new ShutdownSignal(std::move(on_shutdown), fds[0], fds[1]));
  try {
    signal->thread_ = std::thread([s = signal.get()] { s->Run(); });
  } catch (const std::system_error& e) {
    return Internal(std::string("cannot start the shutdown thread: ") + e.what());
  }
  g_requested.store(&signal->requested_);
  g_signal_number.store(&signal->signal_number_);
  g_write_fd.store(fds[1]);

  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = HandleShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGTERM, &action, &g_previous_term) != 0) {
    return Internal(std::string("cannot install the SIGTERM handler: ") + std::strerror(errno));
  }
  signal->term_installed_ = true;
  if (::sigaction(SIGINT, &action, &g_previous_int) != 0) {
    return Internal(std::string("cannot install the SIGINT handler: ") + std::strerror(errno));
  }
  signal->int_installed_ = true;
  return signal;
}

ShutdownSignal::~ShutdownSignal() {
  if (term_installed_) ::sigaction(SIGTERM, &g_previous_term, nullptr);
  if (int_installed_) ::sigaction(SIGINT, &g_previous_int, nullptr);
  g_write_fd.store(-1);
  g_requested.store(nullptr);
  g_signal_number.store(nullptr);
  stopping_.store(true);
  Wake(write_fd_);
  if (thread_.joinable()) thread_.join();
  ::close(read_fd_);
  ::close(write_fd_);
  g_installed.store(false);
}

void ShutdownSignal::Trigger() {
  int expected = 0;
  if (signal_number_.compare_exchange_strong(expected, kTriggered)) {
    requested_.store(true, std::memory_order_release);
  }
  Wake(write_fd_);
}

void ShutdownSignal::Run() {
  bool callback_ran = false;
  while (true) {
    unsigned char buffer[64];
    ssize_t n = ::read(read_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || stopping_.load()) return;
    if (callback_ran || !requested_.load(std::memory_order_acquire)) continue;
    callback_ran = true;
    if (on_shutdown_) on_shutdown_(signal_number());
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    done_cv_.notify_all();
  }
}

void ShutdownSignal::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return done_; });
}

bool ShutdownSignal::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return done_cv_.wait_for(lock, timeout, [this] { return done_; });
}

}  // namespace claims::runtime
