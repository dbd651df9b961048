#include "services/devbroker/flags.h"

#include <gtest/gtest.h>

#include <map>

namespace claims::devbroker {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(DevbrokerFlagsTest, DefaultsToThreeBrokersAndTwelvePartitions) {
  Result<Flags> flags = ParseFlags({}, Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->brokers, 3);
  EXPECT_EQ(flags->partitions, 12);
  EXPECT_TRUE(flags->tcp_nodelay);
  EXPECT_TRUE(flags->control_listen.empty());
}

TEST(DevbrokerFlagsTest, ReadsBothFlagFormsAndEnvironmentWithFlagsWinning) {
  Result<Flags> flags =
      ParseFlags({"--brokers", "5", "--partitions=7", "--control-listen=127.0.0.1:0"},
                 Env({{"CLAIMS_BROKERS", "2"}, {"CLAIMS_BOOTSTRAP_FILE", "/tmp/b"}}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->brokers, 5);
  EXPECT_EQ(flags->partitions, 7);
  EXPECT_EQ(flags->bootstrap_file, "/tmp/b");
  EXPECT_EQ(flags->control_listen, "127.0.0.1:0");
}

TEST(DevbrokerFlagsTest, RejectsBadValuesNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string message_part;
  };
  const Case cases[] = {
      {{"--brokers", "0"}, {}, "--brokers: must be in 1..32, got 0"},
      {{"--brokers=x"}, {}, "--brokers: expected an integer, got \"x\""},
      {{"--partitions"}, {}, "--partitions needs a value (N)"},
      {{"--bogus"}, {}, "unknown flag --bogus"},
      {{"stray"}, {}, "unexpected argument \"stray\""},
      {{"--control-listen=0.0.0.0:1"}, {}, "loopback only"},
      {{"--control-listen=127.0.0.1:99999"}, {}, "port must be 0..65535"},
      {{"--tcp-nodelay=maybe"}, {}, "expected true or false"},
      {{"--control-file=/tmp/c"}, {}, "--control-file needs --control-listen"},
      {{"--help=1"}, {}, "--help takes no value"},
      {{}, {{"CLAIMS_PARTITIONS", "-3"}}, "environment variable CLAIMS_PARTITIONS: must be in"},
  };
  for (const Case& c : cases) {
    Result<Flags> flags = ParseFlags(c.args, Env(c.env));
    ASSERT_FALSE(flags.ok()) << c.message_part;
    EXPECT_EQ(flags.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(flags.status().message().find(c.message_part), std::string::npos)
        << flags.status().message();
  }
}

TEST(DevbrokerFlagsTest, HelpWarnsThatTheMockDropsOldDataSilently) {
  const std::string help = HelpText();
  EXPECT_NE(help.find("in memory"), std::string::npos);
  EXPECT_NE(help.find("5 MB"), std::string::npos);
  EXPECT_NE(help.find("SILENTLY"), std::string::npos);
  for (const char* flag : {"--brokers", "--partitions", "--bootstrap-file", "--control-listen",
                           "--control-file", "--tcp-nodelay", "--help", "CLAIMS_BROKERS"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace claims::devbroker
