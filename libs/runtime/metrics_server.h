#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "libs/base/status.h"
#include "libs/runtime/metrics.h"

namespace claims::runtime {

struct MetricsServerOptions {
  // host:port to listen on (see ParseHostPort); port 0 picks a free port (see
  // MetricsServer::port). ":port" listens on every interface.
  std::string listen = "127.0.0.1:0";
  // Says whether the service is ready (GET /healthz: 200 or 503). Empty: always ready. Runs on
  // the server's thread; must be thread-safe and quick.
  std::function<bool()> ready;
  // The largest request head (request line and headers) read; larger gets 431.
  size_t max_request_bytes = 8192;
  // How long a connection may take to send its request head (else 408), and to take the
  // response.
  std::chrono::milliseconds io_timeout{5000};
};

// A minimal HTTP/1.1 server for Prometheus and health probes:
//   GET /metrics  200, the registry's Expose(), "text/plain; version=0.0.4; charset=utf-8"
//   GET /healthz  200 "ok\n", or 503 "not ready\n" when options.ready says so
//   HEAD on either: the same status and headers, no body
//   another method on either: 405 with "Allow: GET, HEAD"; any other path: 404
//   a malformed request line: 400; a version other than HTTP/1.x: 505
// A query string is ignored. Every response closes its connection; request bodies are never
// read. One thread serves one connection at a time, so a slow client delays the others by at
// most io_timeout. A bad request never stops the server.
//
// Thread-safe: port() and Stop() may be called from any thread.
class MetricsServer {
 public:
  // Binds and starts serving `registry`, which must outlive the server. kInvalidArgument for
  // a bad listen address; kUnavailable if it cannot be resolved or bound (in use, no
  // permission); kInternal if the thread cannot start.
  static Result<std::unique_ptr<MetricsServer>> Start(const MetricsRegistry* registry,
                                                      MetricsServerOptions options);

  // Stop().
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port actually bound (the chosen one when options.listen had port 0).
  uint16_t port() const { return port_; }

  // Stops accepting, abandons a connection in progress, joins the thread and closes the
  // socket. Idempotent. Returns promptly (it does not wait out io_timeout).
  void Stop();

 private:
  MetricsServer(const MetricsRegistry* registry, MetricsServerOptions options, int listen_fd,
                int wake_read_fd, int wake_write_fd, uint16_t port);
  void Run();
  void Serve(int fd);
  // The response to one request head.
  std::string Respond(std::string_view head) const;

  const MetricsRegistry* const registry_;
  const MetricsServerOptions options_;
  const int listen_fd_;
  const int wake_read_fd_;  // readable once Stop was called
  const int wake_write_fd_;
  const uint16_t port_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace claims::runtime
