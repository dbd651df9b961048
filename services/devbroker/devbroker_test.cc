// The devbroker binary as its users see it: a process with flags, files and a control port.

#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/temp_dir.h"

namespace claims::devbroker {
namespace {

using std::chrono::seconds;
using test_support::ChildProcess;
using test_support::DevBroker;
using test_support::DevBrokerOptions;
using test_support::DevBrokerPath;
using test_support::ReadFile;
using test_support::SpawnOptions;
using test_support::TempDir;

std::unique_ptr<DevBroker> StartBroker(const DevBrokerOptions& options = {}) {
  Result<std::unique_ptr<DevBroker>> broker = DevBroker::Start(options);
  EXPECT_TRUE(broker.ok()) << broker.status().ToString();
  return broker.ok() ? std::move(*broker) : nullptr;
}

std::string Reply(DevBroker& broker, const std::string& command) {
  Result<std::string> reply = broker.Control(command);
  EXPECT_TRUE(reply.ok()) << command << ": " << reply.status().ToString();
  return reply.ok() ? *reply : "";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs devbroker to completion (bounded) with `args` and extra environment.
RunResult RunDevbroker(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
  RunResult run;
  Result<TempDir> dir = TempDir::Create("devbroker-run");
  EXPECT_TRUE(dir.ok());
  if (!dir.ok()) return run;
  std::vector<std::string> argv = {DevBrokerPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.env = env;
  options.stdout_path = dir->File("out");
  options.stderr_path = dir->File("err");
  Result<ChildProcess> child = ChildProcess::Spawn(argv, options);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  if (!child.ok()) return run;
  Result<int> code = child->Wait(seconds(10));
  EXPECT_TRUE(code.ok()) << code.status().ToString();
  run.exit_code = code.ok() ? *code : -1;
  run.out = ReadFile(dir->File("out")).ok() ? *ReadFile(dir->File("out")) : "";
  run.err = ReadFile(dir->File("err")).ok() ? *ReadFile(dir->File("err")) : "";
  return run;
}

TEST(DevbrokerTest, WritesBootstrapFileAndExitsZeroOnSigterm) {
  std::unique_ptr<DevBroker> broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  const std::string servers = broker->bootstrap_servers();
  Result<std::string> file = ReadFile(broker->bootstrap_file());
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, servers + "\n");
  int count = 0;
  for (size_t start = 0; start <= servers.size(); ++count) {
    size_t end = servers.find(',', start);
    if (end == std::string::npos) end = servers.size();
    EXPECT_EQ(servers.substr(start, 10), "127.0.0.1:") << servers;
    start = end + 1;
  }
  EXPECT_EQ(count, 3);

  Result<int> code = broker->Stop();
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0) << broker->LogText();
  EXPECT_FALSE(ReadFile(broker->bootstrap_file()).ok()) << "a stale bootstrap file was left";
}

TEST(DevbrokerTest, ExitsZeroOnSigintAndPrintsTheBootstrapServers) {
  Result<TempDir> dir = TempDir::Create("devbroker-sigint");
  ASSERT_TRUE(dir.ok());
  SpawnOptions options;
  options.stdout_path = dir->File("out");
  options.stderr_path = dir->File("err");
  Result<ChildProcess> child =
      ChildProcess::Spawn({DevBrokerPath(), "--bootstrap-file", dir->File("bs")}, options);
  ASSERT_TRUE(child.ok());
  std::string bootstrap;
  for (int i = 0; i < 2000 && bootstrap.empty(); ++i) {
    Result<std::string> content = ReadFile(dir->File("bs"));
    if (content.ok() && !content->empty()) bootstrap = *content;
    if (bootstrap.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(bootstrap.empty());
  ASSERT_TRUE(child->Signal(SIGINT).ok());
  Result<int> code = child->Wait(seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(*ReadFile(dir->File("out")), "bootstrap.servers=" + bootstrap);
}

TEST(DevbrokerTest, CreatesPipelineTopicsWithTheRequestedPartitions) {
  DevBrokerOptions options;
  options.brokers = 2;
  options.partitions = 5;
  std::unique_ptr<DevBroker> broker = StartBroker(options);
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(Reply(*broker, "partitions"),
            "OK adjudication.decisions.v1=5 intake.calls.v1=1 intake.events.v1=5 "
            "payout.commands.v1=1 "
            "payout.payments.v1=5");
  EXPECT_EQ(Reply(*broker, "status"),
            "OK brokers=2 down=none partitions=5 tcp_nodelay=true bootstrap=" +
                broker->bootstrap_servers());
}

TEST(DevbrokerTest, TakesBrokersDownAndUpOnCommand) {
  std::unique_ptr<DevBroker> broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(Reply(*broker, "broker-down 2"), "OK broker 2 down");
  EXPECT_EQ(Reply(*broker, "broker-down 3"), "OK broker 3 down");
  EXPECT_EQ(Reply(*broker, "status").substr(0, 24), "OK brokers=3 down=2,3 pa");
  EXPECT_EQ(Reply(*broker, "broker-up 2"), "OK broker 2 up");
  EXPECT_EQ(Reply(*broker, "broker-up 3"), "OK broker 3 up");
  EXPECT_EQ(Reply(*broker, "status").substr(0, 26), "OK brokers=3 down=none par");
  EXPECT_EQ(Reply(*broker, "rtt 1 20"), "OK broker 1 rtt 20 ms");
  EXPECT_EQ(Reply(*broker, "request-errors OffsetCommit 2 REBALANCE_IN_PROGRESS"),
            "OK next 2 OffsetCommit requests fail with REBALANCE_IN_PROGRESS");
  EXPECT_EQ(Reply(*broker, "clear-request-errors OffsetCommit"), "OK cleared OffsetCommit");
  EXPECT_EQ(Reply(*broker, "create-topic extra.v1 2"), "OK created extra.v1 with 2 partitions");
  EXPECT_EQ(Reply(*broker, "leader extra.v1 1 3"), "OK extra.v1[1] leader 3");
  const std::string parts = Reply(*broker, "partitions extra.v1");
  EXPECT_EQ(parts.substr(0, 14), "OK extra.v1 0:");
  EXPECT_NE(parts.find(" 1:leader=3:hw=0"), std::string::npos) << parts;
  Result<int> code = broker->Stop();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

TEST(DevbrokerTest, AnswersBadControlCommandsWithErrAndKeepsServing) {
  std::unique_ptr<DevBroker> broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "ERR empty command (try help)"},
      {"launch-missiles", "ERR unknown command \"launch-missiles\" (try help)"},
      {"broker-down", "ERR usage: broker-down ID"},
      {"broker-down 0", "ERR unknown broker 0 (brokers are 1..3)"},
      {"broker-down 4", "ERR unknown broker 4 (brokers are 1..3)"},
      {"broker-up two", "ERR broker id must be an integer, got \"two\""},
      {"rtt 1", "ERR usage: rtt ID MS"},
      {"rtt 1 -5", "ERR rtt must be 0..60000 ms"},
      {"request-errors Produce 3", "ERR usage: request-errors API COUNT ERROR"},
      {"request-errors Produce 0 NOT_LEADER_FOR_PARTITION",
       "ERR COUNT must be 1..100000, got \"0\""},
      {"request-errors Produce 3 NO_SUCH_ERROR", ""},
      {"request-errors Teleport 3 NOT_LEADER_FOR_PARTITION", ""},
      {"leader intake.events.v1 99 1", "ERR topic intake.events.v1 has partitions 0..11"},
      {"leader no.such.topic 0 1", "ERR unknown topic no.such.topic"},
      {"create-topic intake.events.v1 3", "ERR topic intake.events.v1 exists with 12 partitions"},
      {"create-topic x 0", "ERR PARTITIONS must be 1..1000, got \"0\""},
      {"partitions no.such.topic", "ERR unknown topic no.such.topic"},
      {"status now", "ERR usage: status"},
      {std::string(5000, 'x'), "ERR line too long (max 4096 bytes)"},
  };
  for (const auto& [command, want] : cases) {
    const std::string reply = Reply(*broker, command);
    EXPECT_EQ(reply.substr(0, 4), "ERR ") << command.substr(0, 60) << " -> " << reply;
    if (!want.empty()) {
      EXPECT_EQ(reply, want) << command.substr(0, 60);
    }
  }
  EXPECT_EQ(Reply(*broker, "status").substr(0, 26), "OK brokers=3 down=none par");
  Result<int> code = broker->Stop();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

TEST(DevbrokerTest, ExitsTwoWithAPreciseMessageOnBadFlags) {
  RunResult run = RunDevbroker({"--brokers", "0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "devbroker: --brokers: must be in 1..32, got 0\n");

  run = RunDevbroker({"--partitons=3"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "devbroker: unknown flag --partitons (see --help)\n");

  run = RunDevbroker({"--control-listen", "0.0.0.0:0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "devbroker: --control-listen: must be 127.0.0.1:PORT (loopback only), got "
            "\"0.0.0.0:0\"\n");

  run = RunDevbroker({}, {{"CLAIMS_BROKERS", "many"}});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "devbroker: environment variable CLAIMS_BROKERS: expected an integer, got \"many\"\n");
}

TEST(DevbrokerTest, HelpListsFlagsAndWarnsAboutTheFiveMegabyteLimit) {
  RunResult run = RunDevbroker({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("--partitions"), std::string::npos);
  EXPECT_NE(run.out.find("CLAIMS_<FLAG>"), std::string::npos);
  EXPECT_NE(run.out.find("in memory"), std::string::npos);
  EXPECT_NE(run.out.find("about the last 5 MB"), std::string::npos);
  EXPECT_NE(run.out.find("SILENTLY"), std::string::npos);
}

}  // namespace
}  // namespace claims::devbroker
