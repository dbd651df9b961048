#include "services/devbroker/control_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace claims::devbroker {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxClients = 16;

struct Client {
  int fd;
  std::string buffer;
};

void SendLine(int fd, std::string line) {
  line += '\n';
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the peer is gone; the read side notices and closes
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& listen,
                                                            LineHandler handler) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || listen.substr(0, colon) != "127.0.0.1") {
    return InvalidArgument("control address must be 127.0.0.1:PORT, got \"" + listen + "\"");
  }
  const int port = std::atoi(listen.c_str() + colon + 1);

  std::unique_ptr<ControlServer> server(new ControlServer());
  server->handler_ = std::move(handler);
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(server->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Unavailable("bind " + listen + ": " + std::strerror(errno));
  }
  if (::listen(server->listen_fd_, 16) != 0) {
    return Internal("listen " + listen + ": " + std::strerror(errno));
  }
  socklen_t len = sizeof(addr);
  getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.sin_port);
  if (pipe2(server->wake_fds_, O_CLOEXEC) != 0) {
    return Internal(std::string("pipe: ") + std::strerror(errno));
  }
  ControlServer* raw = server.get();
  server->thread_ = std::thread([raw] { raw->Run(); });
  return server;
}

ControlServer::~ControlServer() {
  if (thread_.joinable()) {
    const char byte = 0;
    while (write(wake_fds_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_fds_[0], wake_fds_[1]}) {
    if (fd >= 0) close(fd);
  }
}

std::string ControlServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void ControlServer::Run() {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_fds_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;

    std::vector<Client> next;
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      if (fds[i + 2].revents == 0) {
        next.push_back(std::move(c));
        continue;
      }
      char chunk[1024];
      const ssize_t n = recv(c.fd, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) {
        next.push_back(std::move(c));
        continue;
      }
      bool keep = n > 0;
      if (keep) c.buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while (keep && (newline = c.buffer.find('\n')) != std::string::npos) {
        if (newline > kMaxLine) break;
        std::string line = c.buffer.substr(0, newline);
        c.buffer.erase(0, newline + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        SendLine(c.fd, handler_(line));
      }
      if (keep && c.buffer.find('\n') > kMaxLine && c.buffer.size() > kMaxLine) {
        SendLine(c.fd, "ERR line too long (max " + std::to_string(kMaxLine) + " bytes)");
        keep = false;
      }
      if (keep) {
        next.push_back(std::move(c));
      } else {
        close(c.fd);
      }
    }
    clients = std::move(next);

    if (fds[1].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        if (clients.size() >= kMaxClients) {
          SendLine(fd,
                   "ERR too many control connections (max " + std::to_string(kMaxClients) + ")");
          close(fd);
        } else {
          clients.push_back(Client{fd, ""});
        }
      }
    }
  }
  for (const Client& c : clients) close(c.fd);
}

}  // namespace claims::devbroker
