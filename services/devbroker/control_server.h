#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "libs/base/status.h"

namespace claims::devbroker {

// A line-based TCP server on 127.0.0.1: each line received (without its "\n" or "\r\n") is passed
// to the handler, whose return value is sent back followed by "\n". Serves up to 16 connections
// at once on one thread, one line at a time, in arrival order. A line longer than 4096 bytes
// gets "ERR line too long" and its connection is closed.
class ControlServer {
 public:
  using LineHandler = std::function<std::string(std::string_view line)>;

  // `listen` is "127.0.0.1:PORT" (0 picks a free port). The handler runs on the server's thread.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& listen,
                                                      LineHandler handler);
  // Stops accepting, closes every connection and joins the thread.
  ~ControlServer();

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // "127.0.0.1:PORT" with the port actually bound.
  std::string address() const;

 private:
  ControlServer() = default;
  void Run();

  LineHandler handler_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace claims::devbroker
