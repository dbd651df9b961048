#pragma once

#include <string>
#include <vector>

#include "libs/base/status.h"

namespace claims::test_support {

// Where the openssl CLI is (Debian's openssl package).
inline constexpr char kOpensslPath[] = "/usr/bin/openssl";

// One certificate and its private key, as PEM files and their contents.
struct TestCert {
  std::string cert_file;
  std::string key_file;
  std::string cert_pem;
  std::string key_pem;
};

// A throwaway PKI for TLS tests, made with the openssl CLI in a directory the caller owns (e.g.
// a TempDir): a self-signed CA, a server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1
// and DNS:localhost, serverAuth), and one client certificate (clientAuth) per requested common
// name, all signed by the CA, P-256 keys, valid for two days. Nothing is cached.
struct TestPki {
  // Creates the files under `dir`. kUnavailable if openssl is missing or fails (its stderr is in
  // `dir`/openssl.log and quoted in the message).
  static Result<TestPki> Create(const std::string& dir,
                                const std::vector<std::string>& client_common_names);

  std::string ca_file;
  std::string ca_pem;
  TestCert server;
  // By common name, in the order asked for.
  std::vector<std::pair<std::string, TestCert>> clients;

  // The client certificate with this common name; asserts that there is one.
  const TestCert& Client(const std::string& common_name) const;
};

}  // namespace claims::test_support
