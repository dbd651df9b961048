#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string_view>

#include "libs/base/status.h"
#include "libs/runtime/metrics.h"

namespace claims::rpc {

// Bucket bounds of claims_grpc_server_handling_seconds: Prometheus' default buckets, 5 ms-10 s.
inline constexpr double kHandlingSecondsBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10};

// The metrics of a gRPC server, in Prometheus conventions:
//   claims_grpc_server_handled_total{grpc_method, grpc_code}   counter: calls finished
//   claims_grpc_server_handling_seconds{grpc_method}           histogram: time from the call's
//       start (its headers read) to its status being sent
// grpc_method is the full method without the leading slash ("mutualaid.intake.v1.IntakeService/
// SubmitClaim"); grpc_code is the status code's canonical name ("OK", "NOT_FOUND", ...). A call
// is counted when the server sends its status, i.e. before the client sees it: once a client
// has its answer, the call is in the counts. Calls refused before any handler runs (a failed TLS
// handshake) are not counted.
//
// Recorded by a server interceptor (grpc::experimental, gRPC 1.51) that Server::Start installs
// when ServerOptions::metrics is set. Thread-safe; lives as long as the registry it was
// registered in, and must outlive every server using it.
class ServerMetrics {
 public:
  // Registers both families in `registry`. kAlreadyExists if they are registered already.
  static Result<std::unique_ptr<ServerMetrics>> Register(runtime::MetricsRegistry& registry);

  // Records one finished call.
  void Record(std::string_view method, grpc::StatusCode code, double seconds);

  // A factory for ServerBuilder::experimental().SetInterceptorCreators that records every call
  // into this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  ServerMetrics(runtime::CounterFamily* handled, runtime::HistogramFamily* seconds)
      : handled_(handled), seconds_(seconds) {}
  runtime::CounterFamily* handled_;
  runtime::HistogramFamily* seconds_;
};

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" for a code outside the enum.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace claims::rpc
