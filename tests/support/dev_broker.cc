#include "tests/support/dev_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace claims::test_support {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

// The file's content up to its first newline, once the file holds a whole line.
std::optional<std::string> ReadLine(const std::string& path) {
  Result<std::string> content = ReadFile(path);
  if (!content.ok()) return std::nullopt;
  const auto newline = content->find('\n');
  if (newline == std::string::npos || newline == 0) return std::nullopt;
  return content->substr(0, newline);
}

}  // namespace

const char* DevBrokerPath() { return CLAIMS_DEVBROKER_PATH; }

Result<std::unique_ptr<DevBroker>> DevBroker::Start(const DevBrokerOptions& options) {
  Result<TempDir> dir = TempDir::Create("claims-devbroker");
  if (!dir.ok()) return dir.status();
  std::vector<std::string> argv = {DevBrokerPath(),
                                   "--brokers=" + std::to_string(options.brokers),
                                   "--partitions=" + std::to_string(options.partitions),
                                   "--bootstrap-file=" + dir->File("bootstrap"),
                                   "--control-listen=127.0.0.1:0",
                                   "--control-file=" + dir->File("control")};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  SpawnOptions spawn;
  spawn.stdout_path = dir->File("stdout.log");
  spawn.stderr_path = dir->File("stderr.log");
  Result<ChildProcess> child = ChildProcess::Spawn(argv, spawn);
  if (!child.ok()) return child.status();

  std::unique_ptr<DevBroker> broker(new DevBroker(std::move(*dir), std::move(*child)));
  const auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  const int64_t max_polls = options.startup_timeout / kPollInterval + 1;
  for (int64_t i = 0; i < max_polls; ++i) {
    if (!broker->process_.Running()) {
      Result<int> code = broker->process_.Wait(std::chrono::milliseconds(0));
      return Unavailable("devbroker exited with " + std::to_string(code.ok() ? *code : -1) +
                         " before it was ready: " + broker->LogText());
    }
    // The bootstrap file is written after the control file, so both are there.
    if (std::optional<std::string> bootstrap = ReadLine(broker->bootstrap_file())) {
      std::optional<std::string> control = ReadLine(broker->dir_.File("control"));
      const auto colon = control ? control->rfind(':') : std::string::npos;
      if (colon == std::string::npos) return Internal("devbroker wrote no control address");
      broker->bootstrap_servers_ = *bootstrap;
      broker->control_port_ = std::atoi(control->c_str() + colon + 1);
      return broker;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  (void)broker->process_.Kill();
  return Status(StatusCode::kDeadlineExceeded, "devbroker not ready within " +
                                                   std::to_string(options.startup_timeout.count()) +
                                                   " ms: " + broker->LogText());
}

DevBroker::~DevBroker() { (void)Stop(); }

std::string DevBroker::LogText() const {
  Result<std::string> text = ReadFile(dir_.File("stderr.log"));
  return text.ok() ? *text : "";
}

Result<int> DevBroker::Stop(std::chrono::milliseconds grace) { return process_.Stop(grace); }

Result<std::string> DevBroker::Control(std::string_view command,
                                       std::chrono::milliseconds timeout) {
  if (command.find('\n') != std::string_view::npos) {
    return InvalidArgument("a control command is one line");
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(control_port_));
  auto fail = [fd](const std::string& what) {
    const std::string reason = std::strerror(errno);
    close(fd);
    return Unavailable("devbroker control: " + what + ": " + reason);
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return fail("connect");
  const std::string line = std::string(command) + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("send");
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reply.find('\n') == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) {
      errno = ETIMEDOUT;
      return fail("no reply");
    }
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("recv");
    if (n == 0) {
      errno = ECONNRESET;
      return fail("closed before replying");
    }
    reply.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return reply.substr(0, reply.find('\n'));
}

}  // namespace claims::test_support
