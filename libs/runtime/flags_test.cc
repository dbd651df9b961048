#include "libs/runtime/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace claims::runtime {
namespace {

using ::testing::HasSubstr;

// A service flag set as adjudication would declare it.
FlagSet AdjudicationFlags() {
  FlagSet set = FlagSet::ForService("adjudication", "Decides claims.");
  EXPECT_TRUE(set.Add({"plans-dir", "Directory of plan files.", FlagKind::kString, "", true}).ok());
  EXPECT_TRUE(set.Add({"workers", "Worker threads.", FlagKind::kInt, "4"}).ok());
  EXPECT_TRUE(
      set.Add({"commit-interval", "How often to commit.", FlagKind::kDurationMs, "5s"}).ok());
  EXPECT_TRUE(set.Add({"replay", "Replay from the start.", FlagKind::kBool, "false"}).ok());
  return set;
}

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A config file in the test's temp directory, removed at the end of the test.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    path_ = (std::filesystem::temp_directory_path() /
             ("runtime_flags_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter_++) + ".conf"))
                .string();
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(FlagsTest, DerivesEnvironmentVariableFromFlagName) {
  EXPECT_EQ(FlagEnvVar("bootstrap-servers"), "CLAIMS_BOOTSTRAP_SERVERS");
  EXPECT_EQ(FlagEnvVar("listen"), "CLAIMS_LISTEN");
}

TEST(FlagsTest, UsesDefaultsWhenNothingIsGiven) {
  Result<Flags> flags = AdjudicationFlags().Parse({"--plans-dir=/plans"}, Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->bootstrap_servers(), "localhost:9092");
  EXPECT_EQ(flags->listen(), "127.0.0.1:50051");
  EXPECT_EQ(flags->metrics_listen(), "127.0.0.1:9464");
  EXPECT_EQ(flags->data_dir(), "./data");
  EXPECT_EQ(flags->config_file(), "");
  EXPECT_FALSE(flags->insecure_dev());
  EXPECT_EQ(flags->Int("workers"), 4);
  EXPECT_EQ(flags->Duration("commit-interval"), std::chrono::seconds(5));
  EXPECT_EQ(flags->Source("workers"), FlagSource::kDefault);
  EXPECT_EQ(flags->Source("plans-dir"), FlagSource::kCommandLine);
}

TEST(FlagsTest, AcceptsSpaceAndEqualsForms) {
  Result<Flags> flags = AdjudicationFlags().Parse(
      {"--plans-dir", "/plans", "--listen=0.0.0.0:1", "--workers", "-3", "--insecure-dev"},
      Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->String("plans-dir"), "/plans");
  EXPECT_EQ(flags->listen(), "0.0.0.0:1");
  EXPECT_EQ(flags->Int("workers"), -3);
  EXPECT_TRUE(flags->insecure_dev());
}

TEST(FlagsTest, EqualsFormKeepsEverythingAfterTheFirstEquals) {
  Result<Flags> flags = AdjudicationFlags().Parse({"--plans-dir=a=b", "--replay=no"}, Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->String("plans-dir"), "a=b");
  EXPECT_FALSE(flags->Bool("replay"));
}

TEST(FlagsTest, LastRepeatedCommandLineFlagWins) {
  Result<Flags> flags =
      AdjudicationFlags().Parse({"--plans-dir=/a", "--workers=1", "--workers=2"}, Env({}));
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->Int("workers"), 2);
}

TEST(FlagsTest, ParsesDurationsWithAndWithoutUnits) {
  struct Case {
    std::string text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{{"1500", 1500},
                                         {"1500ms", 1500},
                                         {"2s", 2000},
                                         {"5m", 300000},
                                         {"1h", 3600000},
                                         {"0", 0}}) {
    Result<Flags> flags =
        AdjudicationFlags().Parse({"--plans-dir=/p", "--commit-interval=" + c.text}, Env({}));
    ASSERT_TRUE(flags.ok()) << c.text << ": " << flags.status().ToString();
    EXPECT_EQ(flags->Duration("commit-interval").count(), c.ms) << c.text;
  }
}

TEST(FlagsTest, ParsesBooleanSpellings) {
  for (std::string text : {"true", "TRUE", "1", "yes", "on"}) {
    Result<Flags> flags =
        AdjudicationFlags().Parse({"--plans-dir=/p", "--replay=" + text}, Env({}));
    ASSERT_TRUE(flags.ok()) << text;
    EXPECT_TRUE(flags->Bool("replay")) << text;
  }
  for (std::string text : {"false", "False", "0", "no", "off"}) {
    Result<Flags> flags =
        AdjudicationFlags().Parse({"--plans-dir=/p", "--replay=" + text}, Env({}));
    ASSERT_TRUE(flags.ok()) << text;
    EXPECT_FALSE(flags->Bool("replay")) << text;
  }
}

TEST(FlagsTest, CommandLineBeatsEnvironmentBeatsConfigFileBeatsDefault) {
  ConfigFile config(
      "# adjudication\n"
      "\n"
      "bootstrap-servers = file:9092\n"
      "listen = file:1\n"
      "  data-dir =   /from/file  \n"
      "plans-dir = /file/plans\n");
  Result<Flags> flags = AdjudicationFlags().Parse(
      {"--config", config.path(), "--bootstrap-servers=cli:9092"},
      Env({{"CLAIMS_BOOTSTRAP_SERVERS", "env:9092"}, {"CLAIMS_LISTEN", "env:1"}}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->bootstrap_servers(), "cli:9092");
  EXPECT_EQ(flags->Source("bootstrap-servers"), FlagSource::kCommandLine);
  EXPECT_EQ(flags->listen(), "env:1");
  EXPECT_EQ(flags->Source("listen"), FlagSource::kEnvironment);
  EXPECT_EQ(flags->data_dir(), "/from/file");
  EXPECT_EQ(flags->Source("data-dir"), FlagSource::kConfigFile);
  EXPECT_EQ(flags->String("plans-dir"), "/file/plans");
  EXPECT_EQ(flags->metrics_listen(), "127.0.0.1:9464");
  EXPECT_EQ(flags->Source("metrics-listen"), FlagSource::kDefault);
  EXPECT_EQ(flags->config_file(), config.path());
}

TEST(FlagsTest, ReadsConfigFileNamedInEnvironment) {
  ConfigFile config("plans-dir = /file/plans\ninsecure-dev = true\n");
  Result<Flags> flags = AdjudicationFlags().Parse({}, Env({{"CLAIMS_CONFIG", config.path()}}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->String("plans-dir"), "/file/plans");
  EXPECT_TRUE(flags->insecure_dev());
}

TEST(FlagsTest, TreatsEmptyEnvironmentVariableAsUnset) {
  Result<Flags> flags =
      AdjudicationFlags().Parse({"--plans-dir=/p"}, Env({{"CLAIMS_WORKERS", ""}}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->Int("workers"), 4);
}

TEST(FlagsTest, HelpWinsOverErrorsAndListsEveryFlag) {
  FlagSet set = AdjudicationFlags();
  Result<Flags> flags = set.Parse({"--bogus", "--help"}, Env({}));
  ASSERT_TRUE(flags.ok());
  EXPECT_TRUE(flags->help_requested());
  std::string usage = set.Usage();
  for (std::string_view name : {"bootstrap-servers", "listen", "metrics-listen", "data-dir",
                                "config", "insecure-dev", "plans-dir", "workers"}) {
    EXPECT_THAT(usage, HasSubstr("--" + std::string(name))) << name;
    EXPECT_THAT(usage, HasSubstr(FlagEnvVar(name))) << name;
  }
  EXPECT_THAT(usage, HasSubstr("Directory of plan files."));
  EXPECT_THAT(usage, HasSubstr("default: \"localhost:9092\""));
  EXPECT_THAT(usage, HasSubstr("default: 5s"));
  EXPECT_THAT(usage, HasSubstr("required"));
}

// Each bad input gives one precise error.
struct BadCase {
  std::string label;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string config;  // written to a file and passed with --config when not empty
  std::string message;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.label; }

class FlagsErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(FlagsErrorTest, RejectsWithPreciseMessage) {
  const BadCase& c = GetParam();
  std::optional<ConfigFile> config;
  std::vector<std::string> args = c.args;
  std::string message = c.message;
  if (!c.config.empty()) {
    config.emplace(c.config);
    args.push_back("--config=" + config->path());
    size_t at = message.find("FILE");
    if (at != std::string::npos) message.replace(at, 4, config->path());
  }
  Result<Flags> flags = AdjudicationFlags().Parse(args, Env(c.env));
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flags.status().message(), message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FlagsErrorTest,
    ::testing::Values(
        BadCase{"UnknownFlag", {"--plans-dir=/p", "--bogus=1"}, {}, "", "unknown flag --bogus"},
        BadCase{"SingleDash", {"--plans-dir=/p", "-x"}, {}, "", "unexpected argument \"-x\""},
        BadCase{"Positional", {"--plans-dir=/p", "extra"}, {}, "", "unexpected argument \"extra\""},
        BadCase{"MissingValueAtEnd", {"--plans-dir"}, {}, "", "flag --plans-dir needs a value"},
        BadCase{"MissingValueBeforeFlag",
                {"--listen", "--plans-dir=/p"},
                {},
                "",
                "flag --listen needs a value"},
        BadCase{"BadInt",
                {"--plans-dir=/p", "--workers=four"},
                {},
                "",
                "flag --workers: \"four\" is not an integer"},
        BadCase{"IntOverflow",
                {"--plans-dir=/p", "--workers=99999999999999999999"},
                {},
                "",
                "flag --workers: \"99999999999999999999\" is not an integer"},
        BadCase{"BadBool",
                {"--plans-dir=/p", "--replay=maybe"},
                {},
                "",
                "flag --replay: \"maybe\" is not a boolean (true/false, 1/0, yes/no, on/off)"},
        BadCase{"BoolWithSeparateValue",
                {"--plans-dir=/p", "--replay", "false"},
                {},
                "",
                "unexpected argument \"false\"; a boolean flag takes a value only as "
                "--replay=false"},
        BadCase{"BadDuration",
                {"--plans-dir=/p", "--commit-interval=1.5s"},
                {},
                "",
                "flag --commit-interval: \"1.5s\" is not a duration (milliseconds, or a whole "
                "number with unit ms, s, m or h)"},
        BadCase{"NegativeDuration",
                {"--plans-dir=/p", "--commit-interval=-1"},
                {},
                "",
                "flag --commit-interval: \"-1\" is not a duration (milliseconds, or a whole "
                "number with unit ms, s, m or h)"},
        BadCase{"BadEnvironmentValue",
                {"--plans-dir=/p"},
                {{"CLAIMS_WORKERS", "x"}},
                "",
                "environment variable CLAIMS_WORKERS: \"x\" is not an integer"},
        BadCase{"BadValueOverriddenByCommandLine",
                {"--plans-dir=/p", "--workers=2"},
                {{"CLAIMS_WORKERS", "x"}},
                "",
                "environment variable CLAIMS_WORKERS: \"x\" is not an integer"},
        BadCase{"RequiredMissing",
                {},
                {},
                "",
                "missing required flag --plans-dir (or CLAIMS_PLANS_DIR, or `plans-dir = ...` "
                "in the config file)"},
        BadCase{"UnknownConfigKey",
                {"--plans-dir=/p"},
                {},
                "# comment\nlisten = x:1\nlisen = x:2\n",
                "FILE:3: unknown key \"lisen\""},
        BadCase{"ConfigLineWithoutEquals",
                {"--plans-dir=/p"},
                {},
                "\nlisten x:1\n",
                "FILE:2: expected `name = value`, got \"listen x:1\""},
        BadCase{"ConfigKeyWithDashes",
                {"--plans-dir=/p"},
                {},
                "--listen = x:1\n",
                "FILE:1: unknown key \"--listen\""},
        BadCase{"ConfigBadValue",
                {"--plans-dir=/p"},
                {},
                "workers = 1\ncommit-interval = soon\n",
                "FILE:2: key \"commit-interval\": \"soon\" is not a duration (milliseconds, or a "
                "whole number with unit ms, s, m or h)"},
        BadCase{"ConfigRepeatedKey",
                {"--plans-dir=/p"},
                {},
                "workers = 1\nworkers = 2\n",
                "FILE:2: key \"workers\" is set twice"},
        BadCase{"ConfigNamesConfig",
                {"--plans-dir=/p"},
                {},
                "config = /other\n",
                "FILE:1: a config file cannot name another config file"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.label; });

TEST(FlagsTest, MissingConfigFileIsNotFound) {
  Result<Flags> flags =
      AdjudicationFlags().Parse({"--plans-dir=/p", "--config=/nonexistent/x.conf"}, Env({}));
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(flags.status().message(), HasSubstr("/nonexistent/x.conf"));
}

TEST(FlagsTest, RejectsBadDeclarationsAndChangesNothing) {
  FlagSet set = FlagSet::ForService("svc", "");
  EXPECT_FALSE(set.Add({"Bad_Name", "", FlagKind::kString, ""}).ok());
  EXPECT_FALSE(set.Add({"listen", "", FlagKind::kString, ""}).ok());
  EXPECT_FALSE(set.Add({"help", "", FlagKind::kBool, ""}).ok());
  EXPECT_FALSE(set.Add({"port", "", FlagKind::kInt, "eighty"}).ok());
  EXPECT_EQ(set.SetDefault("nope", "1").code(), StatusCode::kNotFound);
  EXPECT_FALSE(set.SetDefault("insecure-dev", "perhaps").ok());
  Result<Flags> flags = set.Parse({}, Env({}));
  ASSERT_TRUE(flags.ok());
  EXPECT_FALSE(flags->insecure_dev());
  EXPECT_EQ(set.Parse({"--port=1"}, Env({})).status().message(), "unknown flag --port");
}

TEST(FlagsTest, ServiceCanChangeCommonDefaults) {
  FlagSet set = FlagSet::ForService("payout", "");
  ASSERT_TRUE(set.SetDefault("listen", "127.0.0.1:50053").ok());
  ASSERT_TRUE(set.SetRequired("bootstrap-servers", true).ok());
  Result<Flags> flags = set.Parse({"--bootstrap-servers=b:1"}, Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->listen(), "127.0.0.1:50053");
  EXPECT_FALSE(set.Parse({}, Env({})).ok());
}

TEST(FlagsTest, ExitCodeHelperPrintsHelpAndReturnsZero) {
  FlagSet set = AdjudicationFlags();
  std::ostringstream out, err;
  EXPECT_EQ(ExitCodeBeforeRun(set, set.Parse({"-h"}, Env({})), out, err), 0);
  EXPECT_EQ(out.str(), set.Usage());
  EXPECT_EQ(err.str(), "");
}

TEST(FlagsTest, ExitCodeHelperPrintsErrorAndReturnsTwo) {
  FlagSet set = AdjudicationFlags();
  std::ostringstream out, err;
  EXPECT_EQ(ExitCodeBeforeRun(set, set.Parse({"--nope"}, Env({})), out, err), 2);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "adjudication: unknown flag --nope\nTry 'adjudication --help' for the flags.\n");
}

TEST(FlagsTest, ExitCodeHelperLetsAGoodParseRun) {
  FlagSet set = AdjudicationFlags();
  std::ostringstream out, err;
  EXPECT_EQ(ExitCodeBeforeRun(set, set.Parse({"--plans-dir=/p"}, Env({})), out, err), std::nullopt);
  EXPECT_EQ(out.str() + err.str(), "");
}

TEST(FlagsDeathTest, ReadingAnUndeclaredFlagAborts) {
  Result<Flags> flags = AdjudicationFlags().Parse({"--plans-dir=/p"}, Env({}));
  ASSERT_TRUE(flags.ok());
  EXPECT_DEATH(flags->String("nope"), "never declared");
  EXPECT_DEATH(flags->Int("plans-dir"), "read as int");
}

}  // namespace
}  // namespace claims::runtime
