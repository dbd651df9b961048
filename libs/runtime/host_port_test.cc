#include "libs/runtime/host_port.h"

#include <gtest/gtest.h>

namespace claims::runtime {
namespace {

TEST(HostPortTest, ParsesNameAddressAndPort) {
  Result<HostPort> hp = ParseHostPort("127.0.0.1:9464");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(*hp, (HostPort{"127.0.0.1", 9464}));
  EXPECT_EQ(*ParseHostPort("localhost:0"), (HostPort{"localhost", 0}));
}

TEST(HostPortTest, EmptyHostMeansEveryInterface) {
  EXPECT_EQ(*ParseHostPort(":8080"), (HostPort{"", 8080}));
}

TEST(HostPortTest, ParsesBracketedIpv6AndPrintsItBack) {
  Result<HostPort> hp = ParseHostPort("[::1]:50051");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(*hp, (HostPort{"::1", 50051}));
  EXPECT_EQ(hp->ToString(), "[::1]:50051");
  EXPECT_EQ((HostPort{"a", 1}).ToString(), "a:1");
}

TEST(HostPortTest, RejectsMalformedAddresses) {
  for (std::string_view text : {"", "host", "host:", "host:http", "host:65536", "host:-1", "::1:80",
                                "[::1", "[::1]80", "[]:80", "host:80x"}) {
    Result<HostPort> hp = ParseHostPort(text);
    EXPECT_FALSE(hp.ok()) << text;
    EXPECT_EQ(hp.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace claims::runtime
