#include <gtest/gtest.h>

#include "libs/rpc/auth.h"
#include "libs/rpc/server.h"
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

}  // namespace
}  // namespace claims::rpc
