#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <cctype>
#include <future>

#include "libs/crypto/sha256.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/decode.h"
#include "libs/rpc/server.h"
#include "libs/rpc/server_metrics.h"
#include "libs/rpc/status_mapping.h"
#include "mutualaid/intake/v1/intake.pb.h"

namespace claims::rpc {
namespace {

TEST(DecodeTest, NamesEveryStringFieldThatIsNotUtf8AndDecodesTheRest) {
  namespace api = ::mutualaid::intake::v1;
  api::SubmitClaimRequest claim;
  claim.set_idempotency_key("k1");
  claim.set_member_id("m1");
  claim.add_documents("MEDICAL_RECEIPTS");
  claim.add_documents("bad \xff");
  claim.set_medical_detail("\xc3\x28");  // a lead byte without its continuation
  claim.set_amount_fen(60000);
  const std::string bytes = claim.SerializeAsString();  // proto3 still writes the bytes

  api::SubmitClaimRequest decoded;
  const Status s = Decode(bytes, decoded);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.violations(), (std::vector<FieldViolation>{{"documents[1]", "not valid UTF-8"},
                                                         {"medical_detail", "not valid UTF-8"}}));
  EXPECT_EQ(decoded.ByteSizeLong(), 0u);  // nothing half-parsed is left

  claim.set_documents(1, "PHOTOS");
  claim.set_medical_detail("左腿骨折");
  ASSERT_TRUE(Decode(Encode(claim), decoded).ok());
  EXPECT_EQ(decoded.SerializeAsString(), claim.SerializeAsString());

  // Nested messages, by path; malformed bytes name the message.
  api::BulkEnrollResponse response;
  response.add_refusals()->add_violations()->set_field("ok");
  api::FieldViolation* v = response.mutable_refusals(0)->add_violations();
  v->set_field("name");
  v->set_description("\xe2\x82");  // truncated
  EXPECT_EQ(
      InvalidUtf8Fields(response.SerializeAsString(), *response.GetDescriptor()),
      (std::vector<FieldViolation>{{"refusals[0].violations[1].description", "not valid UTF-8"}}));
  // Field 1, 5 bytes promised, 2 sent.
  const Status malformed = Decode(std::string("\x0a\x05"
                                              "ab"),
                                  decoded);
  EXPECT_EQ(malformed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(malformed.violations(),
            (std::vector<FieldViolation>{{"message", "malformed protobuf bytes"}}));
}

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

// SHA-256 of "p1-token" (sha256sum): what the tokens file lists, which is no token itself.
constexpr char kP1TokenHash[] = "bb911a7b75f6da45d3b5ab905e9feff9f42aac98e03d066227425aa3e752701f";

TEST(BearerTokensTest, MapsATokenToThePrincipalOfItsHash) {
  const std::string p1 = crypto::Sha256Hex("p1-token");
  const std::string ops = crypto::Sha256Hex("ops-token");
  Result<BearerTokens> tokens = BearerTokens::Parse(
      "# sha256(token) principal\n\n" + p1 + " partner:P1\n  " + ops + "\toperator:ops1  \r\n",
      "tokens.txt");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(tokens->size(), 2u);
  EXPECT_EQ(*tokens->Find("p1-token"), (Caller{Role::kPartner, "P1"}));
  EXPECT_EQ(*tokens->Find("ops-token"), (Caller{Role::kOperator, "ops1"}));
  // Upper-case hex is the same hash.
  std::string upper = p1;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(*BearerTokens::Parse(upper + " partner:P1", "t")->Find("p1-token"),
            (Caller{Role::kPartner, "P1"}));
}

TEST(BearerTokensTest, RefusesAnUnknownTokenWithoutQuotingIt) {
  Result<BearerTokens> tokens =
      BearerTokens::Parse(crypto::Sha256Hex("p1-token") + " partner:P1\n", "t");
  ASSERT_TRUE(tokens.ok());
  for (const char* wrong : {"p1-token ", "P1-token", "", "p1-toke", kP1TokenHash}) {
    Result<Caller> caller = tokens->Find(wrong);
    ASSERT_FALSE(caller.ok()) << wrong;
    EXPECT_EQ(caller.status().code(), StatusCode::kUnauthenticated);
    if (*wrong != '\0') {
      EXPECT_EQ(caller.status().message().find(wrong), std::string::npos);
    }
  }
}

TEST(BearerTokensTest, RefusesABadFileNamingTheLine) {
  const std::string hash = crypto::Sha256Hex("x");
  for (const auto& [text, line] : std::vector<std::pair<std::string, std::string>>{
           {"# ok\n" + hash + "\n", "t:2"},                           // no principal
           {hash.substr(1) + " partner:P1\n", "t:1"},                 // 63 digits
           {"zz" + hash.substr(2) + " partner:P1\n", "t:1"},          // not hex
           {hash + " admin:root\n", "t:1"},                           // unknown role
           {hash + " partner:P1\n" + hash + " partner:P2\n", "t:2"},  // a hash twice
       }) {
    Result<BearerTokens> tokens = BearerTokens::Parse(text, "t");
    ASSERT_FALSE(tokens.ok()) << text;
    EXPECT_EQ(tokens.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(tokens.status().message().find(line + ":"), std::string::npos)
        << tokens.status().message();
  }
  EXPECT_EQ(BearerTokens::FromFile("/nonexistent/tokens").status().code(), StatusCode::kNotFound);
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
