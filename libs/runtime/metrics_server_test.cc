#include "libs/runtime/metrics_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace claims::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using std::chrono_literals::operator""ms;

// A connected loopback TCP socket, closed on destruction; reads time out after 10 s.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the server closes (or the read times out).
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

struct HttpResponse {
  int status = 0;
  std::string head;
  std::string body;
};

HttpResponse Parse(const std::string& raw) {
  HttpResponse r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.size() < 12) return r;
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}

HttpResponse Exchange(uint16_t port, std::string_view request) {
  Client client(port);
  EXPECT_TRUE(client.connected());
  client.Send(request);
  return Parse(client.ReadAll());
}

HttpResponse Get(uint16_t port, std::string_view path) {
  return Exchange(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CounterFamily*> requests = registry_.AddCounter("requests_total", "Requests.", {"code"});
    ASSERT_TRUE(requests.ok());
    (*requests)->WithLabels({"200"}).Increment(3);
    MetricsServerOptions options;
    options.listen = "127.0.0.1:0";
    options.ready = [this] { return ready_.load(); };
    options.io_timeout = 300ms;
    options.max_request_bytes = 1024;
    Result<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(&registry_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }

  MetricsRegistry registry_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ServesMetricsOverARealSocket) {
  HttpResponse r = Get(server_->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r.head, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(r.head, HasSubstr("Content-Length: " + std::to_string(r.body.size()) + "\r\n"));
  EXPECT_THAT(r.head, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(r.body,
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total{code=\"200\"} 3\n");
}

TEST_F(MetricsServerTest, ServesCurrentValuesOnEveryScrape) {
  (*registry_.AddGauge("late", "Registered after start."))->WithLabels({}).Set(7);
  EXPECT_THAT(Get(server_->port(), "/metrics?x=1").body, HasSubstr("\nlate 7\n"));
}

TEST_F(MetricsServerTest, HealthzFollowsReadiness) {
  HttpResponse ok = Get(server_->port(), "/healthz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  ready_ = false;
  HttpResponse not_ready = Get(server_->port(), "/healthz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready\n");
}

TEST_F(MetricsServerTest, HeadGetsHeadersWithoutBody) {
  HttpResponse r = Exchange(server_->port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_THAT(r.head, HasSubstr("Content-Length: " + std::to_string(registry_.Expose().size())));
}

TEST_F(MetricsServerTest, BadRequestsGetErrorsAndTheServerKeepsServing) {
  struct Case {
    std::string request;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"GET /nope HTTP/1.1\r\n\r\n", 404},
           {"GET / HTTP/1.1\r\n\r\n", 404},
           {"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 405},
           {"DELETE /healthz HTTP/1.1\r\n\r\n", 405},
           {"garbage\r\n\r\n", 400},
           {"GET /metrics\r\n\r\n", 400},
           {"GET  /metrics HTTP/1.1\r\n\r\n", 400},
           {"G(T /metrics HTTP/1.1\r\n\r\n", 400},
           {"GET metrics HTTP/1.1\r\n\r\n", 400},
           {"GET /metrics FTP/1.0\r\n\r\n", 400},
           {"GET /metrics HTTP/2.0\r\n\r\n", 505},
           {"GET /metrics HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431},
       }) {
    HttpResponse r = Exchange(server_->port(), c.request);
    EXPECT_EQ(r.status, c.status) << c.request.substr(0, 40);
    EXPECT_EQ(Get(server_->port(), "/metrics").status, 200) << "after " << c.request.substr(0, 40);
  }
  HttpResponse r = Exchange(server_->port(), "PUT /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(r.head, HasSubstr("Allow: GET, HEAD\r\n"));
}

TEST_F(MetricsServerTest, AcceptsBareLineFeedsAndLeadingEmptyLines) {
  EXPECT_EQ(Exchange(server_->port(), "\r\nGET /healthz HTTP/1.1\n\n").status, 200);
}

TEST_F(MetricsServerTest, AcceptsRequestSentInPieces) {
  Client client(server_->port());
  ASSERT_TRUE(client.connected());
  client.Send("GET /hea");
  std::this_thread::sleep_for(20ms);
  client.Send("lthz HTTP/1.1\r\n");
  std::this_thread::sleep_for(20ms);
  client.Send("\r\n");
  EXPECT_EQ(Parse(client.ReadAll()).status, 200);
}

TEST_F(MetricsServerTest, SilentClientTimesOutAndOthersAreServedAfter) {
  Client silent(server_->port());
  ASSERT_TRUE(silent.connected());
  silent.Send("GET /metrics HTTP/1.1\r\n");  // never finishes its head
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(server_->port(), "/healthz").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Parse(silent.ReadAll()).status, 408);
}

TEST_F(MetricsServerTest, ClientThatConnectsAndLeavesDoesNotStopTheServer) {
  { Client gone(server_->port()); }
  EXPECT_EQ(Get(server_->port(), "/healthz").status, 200);
}

TEST_F(MetricsServerTest, StopClosesTheListeningSocketPromptly) {
  uint16_t port = server_->port();
  Client slow(port);  // holds the server inside a connection
  ASSERT_TRUE(slow.connected());
  std::this_thread::sleep_for(20ms);
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms);
  server_->Stop();  // idempotent
  EXPECT_FALSE(Client(port).connected());
}

TEST(MetricsServerStartTest, RejectsBadListenAddress) {
  MetricsRegistry registry;
  MetricsServerOptions options;
  options.listen = "127.0.0.1";
  EXPECT_EQ(MetricsServer::Start(&registry, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(MetricsServerStartTest, PortInUseIsUnavailable) {
  MetricsRegistry registry;
  Result<std::unique_ptr<MetricsServer>> first = MetricsServer::Start(&registry, {});
  ASSERT_TRUE(first.ok());
  MetricsServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  Result<std::unique_ptr<MetricsServer>> second = MetricsServer::Start(&registry, options);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

}  // namespace
}  // namespace claims::runtime
