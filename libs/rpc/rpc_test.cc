#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>

#include "libs/rpc/auth.h"
#include "libs/rpc/server.h"
#include "libs/rpc/server_metrics.h"
#include "libs/rpc/status_mapping.h"

namespace claims::rpc {
namespace {

TEST(StatusMappingTest, CarriesFieldViolationsAsBadRequest) {
  const Status ours = InvalidArgument(
      "bad claim", {{"incident_date", "is after today"}, {"amount_fen", "must be >= 0"}});
  const grpc::Status wire = ToGrpc(ours);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wire.error_message(), "bad claim");
  EXPECT_FALSE(wire.error_details().empty());
  const Status back = FromGrpc(wire);
  EXPECT_EQ(back.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(back.violations(), ours.violations());
}

TEST(StatusMappingTest, MapsEveryCodeBothWays) {
  for (StatusCode code :
       {StatusCode::kNotFound, StatusCode::kAlreadyExists, StatusCode::kUnavailable,
        StatusCode::kPermissionDenied, StatusCode::kUnauthenticated, StatusCode::kDeadlineExceeded,
        StatusCode::kFailedPrecondition, StatusCode::kDataLoss, StatusCode::kResourceExhausted}) {
    EXPECT_EQ(FromGrpc(ToGrpc(Status(code, "m"))).code(), code) << StatusCodeName(code);
  }
  EXPECT_TRUE(ToGrpc(Status::Ok()).ok());
}

TEST(AuthTest, ParsesPrincipalsOfEveryRole) {
  EXPECT_EQ(*ParsePrincipal("partner:P-0001"), (Caller{Role::kPartner, "P-0001"}));
  EXPECT_EQ(*ParsePrincipal("reviewer:alice"), (Caller{Role::kReviewer, "alice"}));
  EXPECT_EQ(*ParsePrincipal("operator:ops.1"), (Caller{Role::kOperator, "ops.1"}));
  EXPECT_EQ(*ParsePrincipal("auditor:a_1"), (Caller{Role::kAuditor, "a_1"}));
}

TEST(AuthTest, RefusesMalformedPrincipals) {
  for (const char* bad : {"", "partner", "partner:", "admin:x", "partner:a b", "Partner:x",
                          "partner:0123456789012345678901234567890123456789012345678901234567890"
                          "123456789"}) {
    Result<Caller> c = ParsePrincipal(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  }
}

TEST(AuthTest, RequireChecksTheRole) {
  EXPECT_TRUE(Require({Role::kReviewer, "r"}, Role::kReviewer).ok());
  EXPECT_EQ(Require({Role::kPartner, "p"}, Role::kReviewer).code(), StatusCode::kPermissionDenied);
}

TEST(ServerTest, RefusesTlsWithoutCertificates) {
  ServerOptions options;
  options.insecure_dev = false;
  Result<std::unique_ptr<Server>> server = Server::Start(options, {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

// One unary call of grpc.health.v1.Health/Check for `service` ("": the server as a whole),
// through the generic stub, so that the test needs no generated health stubs.
grpc::Status HealthCheck(grpc::GenericStub& stub, const std::string& service) {
  std::string request;  // HealthCheckRequest{service}: field 1, length-delimited
  if (!service.empty()) {
    request = std::string("\x0a") + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request_buffer,
                 &response, [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(ServerMetricsTest, CountsEveryCallByMethodAndCodeAndTimesIt) {
  runtime::MetricsRegistry registry;
  Result<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Register(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  ServerOptions options;
  options.insecure_dev = true;
  options.metrics = metrics->get();
  Result<std::unique_ptr<Server>> server = Server::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  grpc::GenericStub stub(grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                             grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(HealthCheck(stub, "").ok());
  EXPECT_EQ(HealthCheck(stub, "no.such.Service").error_code(), grpc::StatusCode::NOT_FOUND);

  // Counted before the status was sent, so already there when the client has its answer.
  const std::string text = registry.Expose();
  EXPECT_NE(text.find("claims_grpc_server_handled_total{grpc_method=\"grpc.health.v1.Health/"
                      "Check\",grpc_code=\"OK\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("claims_grpc_server_handled_total{grpc_method=\"grpc.health.v1.Health/"
                      "Check\",grpc_code=\"NOT_FOUND\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("claims_grpc_server_handling_seconds_count{grpc_method=\"grpc.health.v1."
                      "Health/Check\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("claims_grpc_server_handling_seconds_bucket{grpc_method=\"grpc.health.v1."
                      "Health/Check\",le=\"10\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE claims_grpc_server_handling_seconds histogram"), std::string::npos);
  // Registering twice in one registry is refused.
  EXPECT_EQ(ServerMetrics::Register(registry).status().code(), StatusCode::kAlreadyExists);
}

TEST(ServerMetricsTest, NamesEveryCode) {
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace claims::rpc
