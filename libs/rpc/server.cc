#include "libs/rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"

namespace claims::rpc {
namespace {

Result<std::string> ReadPem(const std::string& path, const char* what) {
  if (path.empty()) return InvalidArgument(std::string("TLS needs a ") + what + " file");
  std::ifstream in(path);
  if (!in) return NotFound(std::string("cannot read ") + what + " file " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Status AddTlsFlags(runtime::FlagSet& flags, const std::string& clients) {
  using runtime::FlagKind;
  const runtime::FlagSpec specs[] = {
      {"tls-cert", "Server certificate (PEM), unless --insecure-dev.", FlagKind::kString, ""},
      {"tls-key", "Server private key (PEM), unless --insecure-dev.", FlagKind::kString, ""},
      {"tls-client-ca", "CA (PEM) that signs " + clients + " client certificates.",
       FlagKind::kString, ""},
  };
  for (const runtime::FlagSpec& spec : specs) {
    if (Status s = flags.Add(spec); !s.ok()) return s;
  }
  return Status::Ok();
}

ServerOptions ServerOptionsFromFlags(const runtime::Flags& flags) {
  ServerOptions options;
  options.listen = flags.listen();
  options.insecure_dev = flags.insecure_dev();
  options.cert_file = flags.String("tls-cert");
  options.key_file = flags.String("tls-key");
  options.client_ca_file = flags.String("tls-client-ca");
  return options;
}

void WarnIfInsecure(const runtime::Logger& log, const ServerOptions& options) {
  if (!options.insecure_dev) return;
  log.Warn(
      "insecure dev mode: plaintext gRPC, and callers are whoever the x-claims-principal "
      "header names; never in production",
      {{"listen", options.listen}});
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                              const std::vector<grpc::Service*>& services) {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.insecure_dev) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    Result<std::string> cert = ReadPem(options.cert_file, "certificate");
    if (!cert.ok()) return cert.status();
    Result<std::string> key = ReadPem(options.key_file, "private key");
    if (!key.ok()) return key.status();
    grpc_ssl_client_certificate_request_type request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    std::string ca_pem;
    if (options.client_certificate_optional && options.client_ca_file.empty()) {
      request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    } else {
      Result<std::string> ca = ReadPem(options.client_ca_file, "client CA");
      if (!ca.ok()) return ca.status();
      ca_pem = std::move(ca).value();
      if (options.client_certificate_optional) {
        request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      }
    }
    grpc::SslServerCredentialsOptions ssl(request);
    ssl.pem_root_certs = ca_pem;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    credentials = grpc::SslServerCredentials(ssl);
  }
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex deadlock detection on: every
  // lock gRPC takes then updates a process-wide lock graph (a few percent of a busy server's
  // CPU). Our own code takes no absl::Mutex; gRPC's are its own, tested upstream.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // The synchronous server hands each call to a polling thread and lets a thread go once more
  // than MAX_POLLERS poll (default 2): calls that wait (for Kafka, for fsync) then cost a thread
  // created and destroyed each. Keeping threads lets them be reused.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options.max_idle_threads);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (options.metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(options.metrics->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Unavailable("cannot listen on " + options.listen);
  }
  return std::unique_ptr<Server>(new Server(std::move(server), port));
}

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

void Server::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  if (server_ == nullptr) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace claims::rpc
