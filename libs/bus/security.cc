#include "libs/bus/security.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace claims::bus {
namespace {

constexpr char kProtocolFlag[] = "kafka-security-protocol";
constexpr char kCaFlag[] = "kafka-ssl-ca-file";
constexpr char kCertFlag[] = "kafka-ssl-cert-file";
constexpr char kKeyFlag[] = "kafka-ssl-key-file";
constexpr char kMechanismFlag[] = "kafka-sasl-mechanism";
constexpr char kUsernameFlag[] = "kafka-sasl-username";
constexpr char kPasswordFileFlag[] = "kafka-sasl-password-file";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Status Bad(const char* flag, const std::string& what) {
  return InvalidArgument(std::string("--") + flag + ": " + what);
}

// Ok when `path` names a file this process may read.
Status Readable(const char* flag, const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) {
    return Bad(flag, "cannot read '" + path + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Status AddKafkaSecurityFlags(runtime::FlagSet& flags) {
  const runtime::FlagSpec specs[] = {
      {kProtocolFlag,
       "How to talk to Kafka: plaintext, ssl (TLS) or sasl_ssl (SASL over TLS). The dev broker "
       "speaks plaintext only.",
       runtime::FlagKind::kString, "plaintext"},
      {kCaFlag,
       "CA certificates (PEM) that verify the Kafka brokers (ssl, sasl_ssl); default: the "
       "system's.",
       runtime::FlagKind::kString, ""},
      {kCertFlag, "Client certificate (PEM) for Kafka (ssl, sasl_ssl); needs --kafka-ssl-key-file.",
       runtime::FlagKind::kString, ""},
      {kKeyFlag, "Private key (PEM) of --kafka-ssl-cert-file.", runtime::FlagKind::kString, ""},
      {kMechanismFlag, "SASL mechanism (sasl_ssl): SCRAM-SHA-512 or PLAIN.",
       runtime::FlagKind::kString, "SCRAM-SHA-512"},
      {kUsernameFlag, "SASL user name (sasl_ssl).", runtime::FlagKind::kString, ""},
      {kPasswordFileFlag,
       "File holding the SASL password (sasl_ssl); one trailing line break is ignored. The "
       "password is never logged.",
       runtime::FlagKind::kString, ""},
  };
  for (const runtime::FlagSpec& spec : specs) {
    if (Status s = flags.Add(spec); !s.ok()) return s;
  }
  return Status::Ok();
}

KafkaSecurity KafkaSecurityFromFlags(const runtime::Flags& flags) {
  KafkaSecurity s;
  s.protocol = flags.String(kProtocolFlag);
  s.ssl_ca_file = flags.String(kCaFlag);
  s.ssl_cert_file = flags.String(kCertFlag);
  s.ssl_key_file = flags.String(kKeyFlag);
  // Left empty unless given, so that a mechanism given without sasl_ssl is an error.
  s.sasl_mechanism = flags.Source(kMechanismFlag) == runtime::FlagSource::kDefault
                         ? std::string()
                         : flags.String(kMechanismFlag);
  s.sasl_username = flags.String(kUsernameFlag);
  s.sasl_password_file = flags.String(kPasswordFileFlag);
  return s;
}

Result<std::map<std::string, std::string>> KafkaSecurityProperties(const KafkaSecurity& security) {
  const std::string protocol = Lower(security.protocol);
  if (protocol != "plaintext" && protocol != "ssl" && protocol != "sasl_ssl") {
    return Bad(kProtocolFlag, "'" + security.protocol + "' is not plaintext, ssl or sasl_ssl");
  }
  const bool tls = protocol != "plaintext";
  const bool sasl = protocol == "sasl_ssl";
  const std::pair<const char*, const std::string*> tls_flags[] = {
      {kCaFlag, &security.ssl_ca_file},
      {kCertFlag, &security.ssl_cert_file},
      {kKeyFlag, &security.ssl_key_file}};
  const std::pair<const char*, const std::string*> sasl_flags[] = {
      {kMechanismFlag, &security.sasl_mechanism},
      {kUsernameFlag, &security.sasl_username},
      {kPasswordFileFlag, &security.sasl_password_file}};
  for (const auto& [flag, value] : tls_flags) {
    if (!tls && !value->empty()) {
      return Bad(flag, "needs --kafka-security-protocol ssl or sasl_ssl (it is " + protocol + ")");
    }
  }
  for (const auto& [flag, value] : sasl_flags) {
    if (!sasl && !value->empty()) {
      return Bad(flag, "needs --kafka-security-protocol sasl_ssl (it is " + protocol + ")");
    }
  }

  std::map<std::string, std::string> properties = {{"security.protocol", protocol}};
  if (!tls) return properties;
  if (security.ssl_cert_file.empty() != security.ssl_key_file.empty()) {
    return security.ssl_cert_file.empty() ? Bad(kCertFlag, "is required with --kafka-ssl-key-file")
                                          : Bad(kKeyFlag, "is required with --kafka-ssl-cert-file");
  }
  for (const auto& [flag, value] : tls_flags) {
    if (!value->empty()) {
      if (Status s = Readable(flag, *value); !s.ok()) return s;
    }
  }
  if (!security.ssl_ca_file.empty()) properties["ssl.ca.location"] = security.ssl_ca_file;
  if (!security.ssl_cert_file.empty()) {
    properties["ssl.certificate.location"] = security.ssl_cert_file;
    properties["ssl.key.location"] = security.ssl_key_file;
  }
  if (!sasl) return properties;

  const std::string mechanism =
      security.sasl_mechanism.empty() ? "SCRAM-SHA-512" : Upper(security.sasl_mechanism);
  if (mechanism != "SCRAM-SHA-512" && mechanism != "PLAIN") {
    return Bad(kMechanismFlag, "'" + security.sasl_mechanism + "' is not SCRAM-SHA-512 or PLAIN");
  }
  if (security.sasl_username.empty()) {
    return Bad(kUsernameFlag, "is required with --kafka-security-protocol sasl_ssl");
  }
  if (security.sasl_password_file.empty()) {
    return Bad(kPasswordFileFlag, "is required with --kafka-security-protocol sasl_ssl");
  }
  std::ifstream in(security.sasl_password_file, std::ios::binary);
  if (!in) {
    return Bad(kPasswordFileFlag,
               "cannot read '" + security.sasl_password_file + "': " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  if (!password.empty() && password.back() == '\n') {
    password.pop_back();
    if (!password.empty() && password.back() == '\r') password.pop_back();
  }
  if (password.empty()) {
    return Bad(kPasswordFileFlag, "'" + security.sasl_password_file + "' holds no password");
  }
  properties["sasl.mechanisms"] = mechanism;
  properties["sasl.username"] = security.sasl_username;
  properties["sasl.password"] = std::move(password);
  return properties;
}

}  // namespace claims::bus
