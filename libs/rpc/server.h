#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/rpc/server_metrics.h"
#include "libs/runtime/flags.h"
#include "libs/runtime/log.h"

namespace claims::rpc {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  bool insecure_dev = false;           // plaintext; callers named by metadata (see auth.h)
  // TLS (when not insecure_dev): PEM files. Client certificates are required and verified
  // against client_ca_file.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // When true (the server also accepts bearer tokens, auth.h), TLS clients may connect without a
  // client certificate; one presented is still verified against client_ca_file, which may then
  // be empty (no client certificates at all).
  bool client_certificate_optional = false;
  int max_receive_message_bytes = 4 << 20;
  // Threads kept waiting for calls between calls (at most; calls beyond them get new threads).
  int max_idle_threads = 128;
  // When set, every call is counted and timed into it (see server_metrics.h). Not owned; must
  // outlive the server.
  ServerMetrics* metrics = nullptr;
};

// Declares --tls-cert, --tls-key and --tls-client-ca (`clients` says whose client certificates
// the CA signs, e.g. "partners'").
Status AddTlsFlags(runtime::FlagSet& flags, const std::string& clients);
// ServerOptions from --listen, --insecure-dev and the TLS flags.
ServerOptions ServerOptionsFromFlags(const runtime::Flags& flags);

// With --insecure-dev, a warning in the log: plaintext, callers named by a header anyone can
// send. A service logs it once it serves.
void WarnIfInsecure(const runtime::Logger& log, const ServerOptions& options);

// A gRPC server with the standard health service and server reflection, serving the given
// services (which must outlive it). Thread-safe.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                               const std::vector<grpc::Service*>& services);
  ~Server();

  // The port actually bound.
  int port() const { return port_; }
  // Marks every service serving (true) or not (false) in the health service.
  void SetServing(bool serving);
  // Stops accepting calls, lets calls in flight finish until `deadline`, then cancels them.
  void Shutdown(std::chrono::milliseconds grace);
  grpc::Server* grpc_server() { return server_.get(); }

 private:
  Server(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  std::unique_ptr<grpc::Server> server_;
  int port_;
};

}  // namespace claims::rpc
