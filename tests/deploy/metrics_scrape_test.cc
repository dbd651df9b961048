// The services' /metrics as Prometheus sees them: a live scrape of intake and adjudication
// (around the dev broker) passes `promtool check metrics`, and a real Prometheus server on
// loopback scrapes both, loads deploy/monitoring/alerts.yaml, and answers a query with our
// series. Skips, saying why, when promtool or prometheus is not installed.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libs/rpc/auth.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/dev_broker.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using namespace std::chrono_literals;
namespace api = ::mutualaid::intake::v1;
using test_support::FindOnPath;
using test_support::HttpGet;

// A file's text; "" when it cannot be read (for diagnostics only).
std::string FileText(const std::string& path) {
  Result<std::string> text = test_support::ReadFile(path);
  return text.ok() ? *text : "";
}

// A loopback port that was free a moment ago (bound to port 0, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

struct Service {
  test_support::ChildProcess process;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string log_path;
};

class MetricsScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = FindOnPath("promtool");
    prometheus_ = FindOnPath("prometheus");
    if (!promtool_ || !prometheus_) {
      GTEST_SKIP() << "promtool or prometheus is not installed (Debian package prometheus; "
                      "scripts/install-deps.sh installs it)";
    }
    dir_.emplace(std::move(test_support::TempDir::Create("metrics-scrape")).value());
    auto broker = test_support::DevBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    std::ofstream(dir_->File("pseudonym.key"))
        << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    std::ofstream(dir_->File("master.key"))
        << "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101\n";
  }

  // Starts a service binary with the common contract's flags on free loopback ports.
  std::optional<Service> Start(const std::string& name, const std::string& binary,
                               std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        binary,          "--bootstrap-servers", broker_->bootstrap_servers(),
        "--listen",      "127.0.0.1:0",         "--metrics-listen",
        "127.0.0.1:0",   "--data-dir",          dir_->File(name + "-data"),
        "--insecure-dev"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + ".out");
    spawn.stderr_path = dir_->File(name + ".log");
    auto child = test_support::ChildProcess::Spawn(argv, spawn);
    if (!child.ok()) return std::nullopt;
    const std::string grpc_port = test_support::WaitForValue(spawn.stdout_path, "grpc-port", 30s);
    const std::string metrics_port =
        test_support::WaitForValue(spawn.stdout_path, "metrics-port", 30s);
    if (grpc_port.empty() || metrics_port.empty()) {
      ADD_FAILURE() << name << " did not start: " << FileText(spawn.stderr_path);
      return std::nullopt;
    }
    return Service{std::move(child).value(), std::stoi(grpc_port), std::stoi(metrics_port),
                   spawn.stderr_path};
  }

  // Runs `promtool check metrics` on `exposition`; its exit code and output.
  std::pair<int, std::string> PromtoolCheckMetrics(const std::string& name,
                                                   const std::string& exposition) {
    const std::string in = dir_->File(name + ".metrics");
    std::ofstream(in) << exposition;
    test_support::SpawnOptions spawn;
    spawn.stdout_path = dir_->File(name + ".promtool");
    spawn.stderr_path = spawn.stdout_path + ".err";
    auto child = test_support::ChildProcess::Spawn(
        {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", *promtool_, in}, spawn);
    if (!child.ok()) return {-1, child.status().ToString()};
    Result<int> code = child->Wait(30s);
    return {code.ok() ? *code : -1, FileText(spawn.stdout_path) + FileText(spawn.stderr_path)};
  }

  std::optional<std::string> promtool_, prometheus_;
  std::optional<test_support::TempDir> dir_;
  std::unique_ptr<test_support::DevBroker> broker_;
};

TEST_F(MetricsScrapeTest, LiveScrapesPassPromtoolAndPrometheusQueriesThem) {
  std::optional<Service> intake = Start("intake", CLAIMS_INTAKE_BINARY,
                                        {"--pseudonym-key-file", dir_->File("pseudonym.key"),
                                         "--master-key-file", dir_->File("master.key")});
  ASSERT_TRUE(intake.has_value());
  std::optional<Service> adjudication =
      Start("adjudication", CLAIMS_ADJUDICATION_BINARY, {"--plans-dir", CLAIMS_PLANS_DIR});
  ASSERT_TRUE(adjudication.has_value());

  // One call, so the gRPC families have a series: a claim that does not exist.
  auto stub = api::IntakeService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(intake->grpc_port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata(rpc::kPrincipalHeader, "partner:P-0001");
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  api::GetClaimRequest request;
  request.set_claim_id("no-such-claim");
  api::Claim claim;
  const grpc::Status status = stub->GetClaim(&context, request, &claim);
  EXPECT_FALSE(status.ok());

  // Exported today: what the promtool check and the Prometheus query rely on.
  const std::vector<std::pair<const Service*, std::vector<std::string>>> expected = {
      {&*intake,
       {"claims_up 1", "claims_grpc_server_handled_total{",
        "claims_grpc_server_handling_seconds_bucket{",
        "# TYPE claims_intake_events_published_total counter",
        "# TYPE claims_intake_commit_stage_seconds histogram",
        "# TYPE claims_intake_commit_group_calls histogram"}},
      {&*adjudication,
       {"claims_up 1", "# TYPE claims_grpc_server_handled_total counter",
        "# TYPE claims_grpc_server_handling_seconds histogram",
        "# TYPE claims_processor_records_total counter",
        "claims_processor_partitions_assigned{topic=\"intake.events.v1\"}",
        "# TYPE claims_processor_consumer_lag_records gauge",
        "# TYPE claims_adjudication_decisions_total counter",
        "claims_adjudication_referral_oldest_timestamp_seconds 0"}},
  };
  for (const auto& [service, lines] : expected) {
    const std::string name = service == &*intake ? "intake" : "adjudication";
    std::optional<std::string> scrape = HttpGet(service->metrics_port, "/metrics");
    ASSERT_TRUE(scrape.has_value()) << name << ": /metrics did not answer 200";
    for (const std::string& line : lines) {
      EXPECT_NE(scrape->find(line), std::string::npos) << name << " lacks " << line << "\n"
                                                       << *scrape;
    }
    const auto [code, output] = PromtoolCheckMetrics(name, *scrape);
    EXPECT_EQ(code, 0) << name << ": promtool check metrics:\n" << output << "\n" << *scrape;
    EXPECT_EQ(output, "") << name << ": promtool check metrics:\n" << output;
  }

  // A real Prometheus on loopback, scraping both every second, with our alert rules.
  const int web_port = FreePort();
  ASSERT_NE(web_port, 0);
  {
    std::ofstream config(dir_->File("prometheus.yml"));
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << CLAIMS_ALERT_RULES << "\n"
           << "scrape_configs:\n"
           << "  - job_name: intake\n    static_configs:\n      - targets: ['127.0.0.1:"
           << intake->metrics_port << "']\n"
           << "  - job_name: adjudication\n    static_configs:\n      - targets: ['127.0.0.1:"
           << adjudication->metrics_port << "']\n";
  }
  test_support::SpawnOptions spawn;
  spawn.stdout_path = dir_->File("prometheus.out");
  spawn.stderr_path = dir_->File("prometheus.log");
  auto prometheus = test_support::ChildProcess::Spawn(
      {*prometheus_, "--config.file=" + dir_->File("prometheus.yml"),
       "--storage.tsdb.path=" + dir_->File("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(web_port)},
      spawn);
  ASSERT_TRUE(prometheus.ok()) << prometheus.status().ToString();

  // Until both jobs' claims_up is 1 in a query answer: at most 60 s, polling every 250 ms.
  std::string answer;
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int attempt = 0; attempt < 240 && std::chrono::steady_clock::now() < deadline; ++attempt) {
    ASSERT_TRUE(prometheus->Running()) << "prometheus exited:\n" << FileText(spawn.stderr_path);
    answer = HttpGet(web_port, "/api/v1/query?query=claims_up").value_or("");
    if (answer.find("\"status\":\"success\"") != std::string::npos &&
        answer.find("\"job\":\"intake\"") != std::string::npos &&
        answer.find("\"job\":\"adjudication\"") != std::string::npos) {
      seen = true;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(seen) << "no claims_up series of both jobs; last answer: " << answer << "\n"
                    << FileText(spawn.stderr_path);
  EXPECT_NE(answer.find("\"1\"]"), std::string::npos) << answer;

  // The gRPC counter of the call above arrived under its method and code.
  const std::optional<std::string> handled =
      HttpGet(web_port, "/api/v1/query?query=claims_grpc_server_handled_total");
  ASSERT_TRUE(handled.has_value());
  const std::string series =
      "\"grpc_code\":\"NOT_FOUND\","
      "\"grpc_method\":\"mutualaid.intake.v1.IntakeService/GetClaim\","
      "\"instance\":\"127.0.0.1:" +
      std::to_string(intake->metrics_port) + "\",\"job\":\"intake\"";
  EXPECT_NE(handled->find(series), std::string::npos) << *handled;

  // The alert rules loaded and evaluate without errors.
  const std::optional<std::string> rules = HttpGet(web_port, "/api/v1/rules");
  ASSERT_TRUE(rules.has_value());
  for (const char* alert :
       {"ClaimsConsumerLagHigh", "ClaimsPartitionStalled", "ClaimsGrpcErrorRateHigh",
        "ClaimsReferralQueueOld", "ClaimsLedgerImbalanced"}) {
    EXPECT_NE(rules->find(std::string("\"name\":\"") + alert + "\""), std::string::npos)
        << alert << " not loaded: " << *rules;
  }
  EXPECT_EQ(rules->find("\"health\":\"err\""), std::string::npos) << *rules;

  Result<int> prometheus_exit = prometheus->Stop(10s);
  ASSERT_TRUE(prometheus_exit.ok());
  EXPECT_EQ(*prometheus_exit, 0) << FileText(spawn.stderr_path);
  for (Service* service : {&*intake, &*adjudication}) {
    Result<int> exit = service->process.Stop(20s);
    ASSERT_TRUE(exit.ok());
    EXPECT_EQ(*exit, 0) << FileText(service->log_path);
  }
}

}  // namespace
}  // namespace claims
