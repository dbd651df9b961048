// The Kafka security flags: their mapping onto librdkafka properties, which librdkafka accepts
// (a producer and a consumer are created with them, loading the CA, certificate and key), and
// the validation that names the flag at fault. The dev broker speaks plaintext only, so no
// test connects over TLS or SASL.

#include "libs/bus/security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace claims::bus {
namespace {

using Properties = std::map<std::string, std::string>;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class KafkaSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.emplace(std::move(test_support::TempDir::Create("kafka-security")).value());
    std::ofstream(dir_->File("password")) << "pa55word-0123456789012345\n";
    std::ofstream(dir_->File("empty"));
  }

  // Parses `args` (and `env`) as a service binary would, then maps them.
  Result<Properties> Map(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {}) {
    runtime::FlagSet flags = runtime::FlagSet::ForService("svc", "A service.");
    EXPECT_TRUE(AddKafkaSecurityFlags(flags).ok());
    Result<runtime::Flags> parsed =
        flags.Parse(args, [&](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        });
    if (!parsed.ok()) return parsed.status();
    return KafkaSecurityProperties(KafkaSecurityFromFlags(*parsed));
  }

  std::optional<test_support::TempDir> dir_;
};

TEST_F(KafkaSecurityTest, PlaintextByDefault) {
  Result<Properties> p = Map({});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (Properties{{"security.protocol", "plaintext"}}));
}

TEST_F(KafkaSecurityTest, SslMapsTheCaAndTheClientCertificate) {
  Result<Properties> p = Map({"--kafka-security-protocol=ssl", "--kafka-ssl-ca-file",
                              dir_->File("password"), "--kafka-ssl-cert-file", dir_->File("empty"),
                              "--kafka-ssl-key-file", dir_->File("password")});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (Properties{{"security.protocol", "ssl"},
                            {"ssl.ca.location", dir_->File("password")},
                            {"ssl.certificate.location", dir_->File("empty")},
                            {"ssl.key.location", dir_->File("password")}}));
  // The CA is optional (the system's), and so is a client certificate.
  p = Map({"--kafka-security-protocol", "SSL"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (Properties{{"security.protocol", "ssl"}}));
}

TEST_F(KafkaSecurityTest, SaslSslReadsThePasswordFromItsFile) {
  Result<Properties> p = Map({}, {{"CLAIMS_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"},
                                  {"CLAIMS_KAFKA_SSL_CA_FILE", dir_->File("password")},
                                  {"CLAIMS_KAFKA_SASL_USERNAME", "claims-adjudication"},
                                  {"CLAIMS_KAFKA_SASL_PASSWORD_FILE", dir_->File("password")}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (Properties{{"security.protocol", "sasl_ssl"},
                            {"ssl.ca.location", dir_->File("password")},
                            {"sasl.mechanisms", "SCRAM-SHA-512"},
                            {"sasl.username", "claims-adjudication"},
                            {"sasl.password", "pa55word-0123456789012345"}}));
  std::ofstream(dir_->File("crlf")) << "secret\r\n";
  p = Map({"--kafka-security-protocol=SASL_SSL", "--kafka-sasl-mechanism=plain",
           "--kafka-sasl-username=u", "--kafka-sasl-password-file", dir_->File("crlf")});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->at("sasl.mechanisms"), "PLAIN");
  EXPECT_EQ(p->at("sasl.password"), "secret");
}

TEST_F(KafkaSecurityTest, RefusesEachBadCombinationNamingTheFlag) {
  const std::string password = dir_->File("password");
  const std::string missing = dir_->File("no-such-file");
  const struct {
    std::vector<std::string> args;
    std::string flag;
  } cases[] = {
      {{"--kafka-security-protocol=sasl_plaintext"}, "--kafka-security-protocol"},
      {{"--kafka-ssl-ca-file", password}, "--kafka-ssl-ca-file"},
      {{"--kafka-sasl-mechanism=PLAIN"}, "--kafka-sasl-mechanism"},
      {{"--kafka-security-protocol=ssl", "--kafka-sasl-username=u"}, "--kafka-sasl-username"},
      {{"--kafka-security-protocol=ssl", "--kafka-sasl-password-file", password},
       "--kafka-sasl-password-file"},
      {{"--kafka-security-protocol=ssl", "--kafka-ssl-cert-file", password},
       "--kafka-ssl-key-file"},
      {{"--kafka-security-protocol=ssl", "--kafka-ssl-key-file", password},
       "--kafka-ssl-cert-file"},
      {{"--kafka-security-protocol=ssl", "--kafka-ssl-ca-file", missing}, "--kafka-ssl-ca-file"},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-password-file", password},
       "--kafka-sasl-username"},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-username=u"},
       "--kafka-sasl-password-file"},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-username=u",
        "--kafka-sasl-password-file", missing},
       "--kafka-sasl-password-file"},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-username=u",
        "--kafka-sasl-password-file", dir_->File("empty")},
       "--kafka-sasl-password-file"},
      {{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=GSSAPI",
        "--kafka-sasl-username=u", "--kafka-sasl-password-file", password},
       "--kafka-sasl-mechanism"},
  };
  for (const auto& c : cases) {
    Result<Properties> p = Map(c.args);
    ASSERT_FALSE(p.ok()) << c.flag;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.flag;
    EXPECT_THAT(p.status().message(), StartsWith(c.flag + ": ")) << p.status().ToString();
    EXPECT_THAT(p.status().message(), Not(HasSubstr("pa55word"))) << p.status().ToString();
  }
}

// librdkafka's own lines (here: nobody listens) become JSON lines of the service's logger.
TEST_F(KafkaSecurityTest, LibrdkafkasOwnLinesGoToTheLoggerAsJson) {
  std::mutex mu;
  std::vector<std::string> lines;
  runtime::LoggerOptions options;
  options.sink = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  };
  runtime::Logger logger("svc", options);
  ProducerOptions po;
  po.bootstrap_servers = "127.0.0.1:9";
  po.client_id = "svc-producer";
  po.properties = *Map({"--kafka-security-protocol=ssl"});
  po.logger = &logger;
  auto producer = Producer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::string failed;
  for (int i = 0; i < 100 && failed.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& line : lines) {
      if (line.find("\"msg\":\"kafka: FAIL\"") != std::string::npos) failed = line;
    }
  }
  EXPECT_THAT(failed, StartsWith("{\"ts\":\""));
  EXPECT_THAT(failed, HasSubstr(R"("level":"error","service":"svc","msg":"kafka: FAIL",)"
                                R"("client":"svc-producer#producer-)"));
  EXPECT_THAT(failed, HasSubstr("Connection refused"));
}

TEST_F(KafkaSecurityTest, LibrdkafkaAcceptsTheMappedProperties) {
  Result<test_support::TestPki> pki = test_support::TestPki::Create(dir_->path(), {"client"});
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  const test_support::TestCert& client = pki->Client("client");
  runtime::LoggerOptions quiet;
  quiet.sink = [](std::string_view) {};  // nothing listens: connection failures are expected
  runtime::Logger logger("svc", quiet);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--kafka-security-protocol=ssl", "--kafka-ssl-ca-file", pki->ca_file,
            "--kafka-ssl-cert-file", client.cert_file, "--kafka-ssl-key-file", client.key_file},
           {"--kafka-security-protocol=sasl_ssl", "--kafka-ssl-ca-file", pki->ca_file,
            "--kafka-sasl-username=u", "--kafka-sasl-password-file", dir_->File("password")},
           {"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=PLAIN",
            "--kafka-sasl-username=u", "--kafka-sasl-password-file", dir_->File("password")},
       }) {
    Result<Properties> p = Map(args);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    // Nothing listens there: clients connect lazily, so creating them only checks the
    // configuration (and loads the CA, certificate and key).
    ProducerOptions po;
    po.bootstrap_servers = "127.0.0.1:9";
    po.properties = *p;
    po.logger = &logger;
    Result<std::unique_ptr<Producer>> producer = Producer::Create(po);
    EXPECT_TRUE(producer.ok()) << args[0] << ": " << producer.status().ToString();
    ConsumerOptions co;
    co.bootstrap_servers = "127.0.0.1:9";
    co.group_id = "g";
    co.properties = *p;
    co.logger = &logger;
    Result<std::unique_ptr<Consumer>> consumer = Consumer::Create(co);
    EXPECT_TRUE(consumer.ok()) << args[0] << ": " << consumer.status().ToString();
  }
  // A key that is not a key: librdkafka refuses it when the client is created.
  ProducerOptions po;
  po.bootstrap_servers = "127.0.0.1:9";
  po.properties = *Map({"--kafka-security-protocol=ssl", "--kafka-ssl-cert-file", client.cert_file,
                        "--kafka-ssl-key-file", dir_->File("password")});
  po.logger = &logger;
  EXPECT_FALSE(Producer::Create(po).ok());
}

}  // namespace
}  // namespace claims::bus
