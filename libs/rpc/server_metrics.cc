#include "libs/rpc/server_metrics.h"

#include <chrono>
#include <iterator>
#include <string>
#include <vector>

namespace claims::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One per call: remembers when the call started and records it when its status is sent.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(ServerMetrics* metrics, std::string_view method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      metrics_->Record(method_, methods->GetSendStatus().error_code(), elapsed.count());
    }
    methods->Proceed();
  }

 private:
  ServerMetrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(ServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    std::string_view method = info->method() == nullptr ? "" : info->method();
    if (!method.empty() && method.front() == '/') method.remove_prefix(1);
    return new MetricsInterceptor(metrics_, method);
  }

 private:
  ServerMetrics* metrics_;
};

}  // namespace

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

Result<std::unique_ptr<ServerMetrics>> ServerMetrics::Register(runtime::MetricsRegistry& registry) {
  Result<runtime::CounterFamily*> handled =
      registry.AddCounter("claims_grpc_server_handled_total",
                          "gRPC calls finished by the server, by method and status code.",
                          {"grpc_method", "grpc_code"});
  if (!handled.ok()) return handled.status();
  Result<runtime::HistogramFamily*> seconds = registry.AddHistogram(
      "claims_grpc_server_handling_seconds",
      "Time from a gRPC call's start to its status being sent, by method.",
      std::vector<double>(std::begin(kHandlingSecondsBuckets), std::end(kHandlingSecondsBuckets)),
      {"grpc_method"});
  if (!seconds.ok()) return seconds.status();
  return std::unique_ptr<ServerMetrics>(new ServerMetrics(*handled, *seconds));
}

void ServerMetrics::Record(std::string_view method, grpc::StatusCode code, double seconds) {
  handled_->WithLabels({method, std::string_view(GrpcCodeName(code))}).Increment();
  seconds_->WithLabels({method}).Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServerMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace claims::rpc
