#include "libs/runtime/metrics_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "libs/runtime/host_port.h"

namespace claims::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// How long, after responding, the server keeps reading (and discarding) what the client still
// sends, so that closing with unread data does not reset the connection before the client has
// read the response.
constexpr std::chrono::milliseconds kMaxLinger{1000};
constexpr size_t kMaxLingerBytes = 64 * 1024;

enum class Wait { kReady, kTimeout, kStopped, kError };

// Waits until `fd` has `events`, the deadline passes, or `wake_fd` becomes readable.
Wait WaitFor(int fd, short events, int wake_fd, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Wait::kTimeout;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Wait::kError;
    }
    if (n == 0) continue;  // re-check the deadline
    if (fds[1].revents != 0) return Wait::kStopped;
    if (fds[0].revents != 0) return Wait::kReady;
  }
}

const char* Reason(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Error";
}

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

std::string Response(int code, std::string_view content_type, std::string_view body,
                     bool head_only = false, bool allow = false) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + Reason(code) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (allow) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string ErrorResponse(int code) {
  std::string body = Reason(code);
  for (char& c : body) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return Response(code, kTextPlain, body + "\n", false, code == 405);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Where the request head ends (the index after the empty line), or npos.
size_t HeadEnd(std::string_view buffer) {
  size_t crlf = buffer.find("\r\n\r\n");
  size_t lf = buffer.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf + 2 < lf)) {
    return crlf + 4;
  }
  if (lf != std::string_view::npos) return lf + 2;
  return std::string_view::npos;
}

}  // namespace

MetricsServer::MetricsServer(const MetricsRegistry* registry, MetricsServerOptions options,
                             int listen_fd, int wake_read_fd, int wake_write_fd, uint16_t port)
    : registry_(registry),
      options_(std::move(options)),
      listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      port_(port) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const MetricsRegistry* registry,
                                                            MetricsServerOptions options) {
  Result<HostPort> address = ParseHostPort(options.listen);
  if (!address.ok()) return address.status();

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(address->port);
  int rc = ::getaddrinfo(address->host.empty() ? nullptr : address->host.c_str(), port_text.c_str(),
                         &hints, &found);
  if (rc != 0) {
    return Unavailable("metrics server: cannot resolve " + options.listen + ": " +
                       ::gai_strerror(rc));
  }
  int listen_fd = -1;
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr && listen_fd < 0; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd = fd;
  }
  ::freeaddrinfo(found);
  if (listen_fd < 0) {
    return Unavailable("metrics server: cannot listen on " + options.listen + ": " + last_error);
  }

  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  uint16_t port = 0;
  if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    if (bound.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    } else if (bound.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    }
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::string message =
        std::string("metrics server: cannot create a pipe: ") + std::strerror(errno);
    ::close(listen_fd);
    return Internal(message);
  }
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(registry, std::move(options), listen_fd, wake[0], wake[1], port));
  try {
    server->thread_ = std::thread([s = server.get()] { s->Run(); });
  } catch (const std::system_error& e) {
    return Internal(std::string("metrics server: cannot start its thread: ") + e.what());
  }
  return server;
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  if (stopped_.exchange(true)) return;
  char byte = 1;
  while (::write(wake_write_fd_, &byte, 1) < 0 && errno == EINTR) {
  }
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_read_fd_);
  ::close(wake_write_fd_);
}

void MetricsServer::Run() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning on the pending connection.
        pollfd wake = {wake_read_fd_, POLLIN, 0};
        ::poll(&wake, 1, 100);
      }
      continue;
    }
    Serve(fd);
    ::close(fd);
  }
}

void MetricsServer::Serve(int fd) {
  Clock::time_point deadline = Clock::now() + options_.io_timeout;
  std::string buffer;
  std::string response;
  while (response.empty()) {
    // Empty lines before the request line are ignored (RFC 9112, section 2.2).
    size_t start = buffer.find_first_not_of("\r\n");
    if (start == std::string::npos) {
      buffer.clear();
    } else if (start > 0) {
      buffer.erase(0, start);
    }
    size_t end = HeadEnd(buffer);
    if (end != std::string::npos && end <= options_.max_request_bytes) {
      response = Respond(std::string_view(buffer).substr(0, end));
      break;
    }
    if (buffer.size() > options_.max_request_bytes) {
      response = ErrorResponse(431);
      break;
    }
    Wait wait = WaitFor(fd, POLLIN, wake_read_fd_, deadline);
    if (wait == Wait::kTimeout) {
      response = ErrorResponse(408);
      break;
    }
    if (wait != Wait::kReady) return;
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    if (n == 0) {
      if (buffer.empty()) return;     // connected and left: nothing to answer
      response = ErrorResponse(400);  // the head ended early
      break;
    }
    buffer.append(chunk, static_cast<size_t>(n));
  }

  // Send, with the same deadline budget renewed: a slow reader gets io_timeout too.
  deadline = Clock::now() + options_.io_timeout;
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;
    if (WaitFor(fd, POLLOUT, wake_read_fd_, deadline) != Wait::kReady) return;
  }

  // Lingering close: tell the client we are done, then discard what it still sends until it
  // closes (bounded), so unread request bytes do not turn our close into a reset.
  ::shutdown(fd, SHUT_WR);
  deadline = Clock::now() + std::min(kMaxLinger, options_.io_timeout);
  size_t drained = 0;
  while (drained < kMaxLingerBytes) {
    if (WaitFor(fd, POLLIN, wake_read_fd_, deadline) != Wait::kReady) return;
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    drained += static_cast<size_t>(n);
  }
}

std::string MetricsServer::Respond(std::string_view head) const {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  size_t first_space = line.find(' ');
  size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space) {
    return ErrorResponse(400);
  }
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  std::string_view version = line.substr(last_space + 1);
  if (method.empty() || target.empty() || target.find(' ') != std::string_view::npos) {
    return ErrorResponse(400);
  }
  for (char c : method) {
    if (!IsTokenChar(c)) return ErrorResponse(400);
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return ErrorResponse(400);
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                       version[5] >= '0' && version[5] <= '9' && version[6] == '.' &&
                       version[7] >= '0' && version[7] <= '9';
    return ErrorResponse(well_formed ? 505 : 400);
  }

  // Absolute form (http://host/path) is accepted too.
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.front() != '/') return ErrorResponse(400);
  std::string_view path = target.substr(0, target.find_first_of("?#"));

  if (path != "/metrics" && path != "/healthz") return ErrorResponse(404);
  bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) return ErrorResponse(405);
  if (path == "/metrics") {
    return Response(200, kMetricsType, registry_->Expose(), head_only);
  }
  if (options_.ready && !options_.ready()) {
    return Response(503, kTextPlain, "not ready\n", head_only);
  }
  return Response(200, kTextPlain, "ok\n", head_only);
}

}  // namespace claims::runtime
