#pragma once

#include <map>
#include <string>

#include "libs/base/status.h"
#include "libs/runtime/flags.h"

// How a service authenticates to Kafka and protects the connection: TLS (server-verified, with
// an optional client certificate) and SASL over TLS (SCRAM-SHA-512 or PLAIN), as the flags
// every service binary takes:
//   --kafka-security-protocol   plaintext (default), ssl or sasl_ssl
//   --kafka-ssl-ca-file         CA certificates (PEM) that verify the brokers; default: the
//                               system's
//   --kafka-ssl-cert-file, --kafka-ssl-key-file   a client certificate and its key (PEM), both or
//                               neither
//   --kafka-sasl-mechanism      SCRAM-SHA-512 (default) or PLAIN
//   --kafka-sasl-username
//   --kafka-sasl-password-file  a file holding the password (one trailing line break is
//                               ignored); the password is never logged nor taken on the command
//                               line, where ps and the environment would show it
namespace claims::bus {

// The flags, as given.
struct KafkaSecurity {
  std::string protocol = "plaintext";
  std::string ssl_ca_file;
  std::string ssl_cert_file;
  std::string ssl_key_file;
  std::string sasl_mechanism = "SCRAM-SHA-512";
  std::string sasl_username;
  std::string sasl_password_file;
};

// Declares the flags above.
Status AddKafkaSecurityFlags(runtime::FlagSet& flags);

// The flags' values.
KafkaSecurity KafkaSecurityFromFlags(const runtime::Flags& flags);

// Checks `security` and maps it onto librdkafka properties for ProducerOptions::properties and
// ConsumerOptions::properties: security.protocol, ssl.ca.location, ssl.certificate.location,
// ssl.key.location, sasl.mechanisms, sasl.username and sasl.password (read from the file now).
// plaintext maps to {security.protocol: plaintext} alone. kInvalidArgument, with a message that
// starts with the flag at fault, for: an unknown protocol or mechanism; a TLS flag with
// plaintext; a SASL flag without sasl_ssl; a certificate without its key or a key without its
// certificate; sasl_ssl without a username or a password file; a file that cannot be read; an
// empty password. The password appears in no message. Reads only the password file; the other
// files are only checked to be readable.
Result<std::map<std::string, std::string>> KafkaSecurityProperties(const KafkaSecurity& security);

}  // namespace claims::bus
