#include "tests/support/test_pki.h"

#include <cassert>
#include <chrono>
#include <fstream>

#include "tests/support/child_process.h"

namespace claims::test_support {
namespace {

// Runs openssl with `args`; its stderr goes to `log`.
Status Openssl(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {kOpensslPath};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions spawn;
  spawn.stdout_path = log + ".out";
  spawn.stderr_path = log;
  Result<ChildProcess> child = ChildProcess::Spawn(argv, spawn);
  if (!child.ok()) return child.status();
  Result<int> code = child->Wait(std::chrono::seconds(30));
  if (!code.ok()) return code.status();
  if (*code != 0) {
    Result<std::string> text = ReadFile(log);
    return Unavailable("openssl " + args[0] + " exited " + std::to_string(*code) + ": " +
                       (text.ok() ? *text : ""));
  }
  return Status::Ok();
}

// A P-256 key and a certificate for `subject` signed by the CA in `dir`, with `extensions`.
Result<TestCert> Issue(const std::string& dir, const std::string& name, const std::string& subject,
                       const std::string& extensions) {
  TestCert cert;
  cert.key_file = dir + "/" + name + ".key";
  cert.cert_file = dir + "/" + name + ".pem";
  const std::string ext_file = dir + "/" + name + ".ext";
  std::ofstream(ext_file) << extensions;
  if (Status s = Openssl(
          {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", cert.key_file, "-out", dir + "/" + name + ".csr", "-subj", subject},
          dir + "/openssl.log");
      !s.ok()) {
    return s;
  }
  if (Status s = Openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/ca.pem",
                          "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2", "-out",
                          cert.cert_file, "-extfile", ext_file},
                         dir + "/openssl.log");
      !s.ok()) {
    return s;
  }
  Result<std::string> pem = ReadFile(cert.cert_file);
  if (!pem.ok()) return pem.status();
  Result<std::string> key = ReadFile(cert.key_file);
  if (!key.ok()) return key.status();
  cert.cert_pem = std::move(pem).value();
  cert.key_pem = std::move(key).value();
  return cert;
}

}  // namespace

Result<TestPki> TestPki::Create(const std::string& dir,
                                const std::vector<std::string>& client_common_names) {
  TestPki pki;
  pki.ca_file = dir + "/ca.pem";
  if (Status s =
          Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", dir + "/ca.key", "-out", pki.ca_file, "-days", "2", "-subj",
                   "/CN=claims test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign"},
                  dir + "/openssl.log");
      !s.ok()) {
    return s;
  }
  Result<std::string> ca = ReadFile(pki.ca_file);
  if (!ca.ok()) return ca.status();
  pki.ca_pem = std::move(ca).value();
  Result<TestCert> server = Issue(dir, "server", "/CN=127.0.0.1",
                                  "basicConstraints=CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=serverAuth\n"
                                  "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  if (!server.ok()) return server.status();
  pki.server = std::move(server).value();
  int n = 0;
  for (const std::string& cn : client_common_names) {
    Result<TestCert> client = Issue(dir, "client" + std::to_string(n++), "/CN=" + cn,
                                    "basicConstraints=CA:FALSE\n"
                                    "keyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=clientAuth\n");
    if (!client.ok()) return client.status();
    pki.clients.emplace_back(cn, std::move(client).value());
  }
  return pki;
}

const TestCert& TestPki::Client(const std::string& common_name) const {
  for (const auto& [cn, cert] : clients) {
    if (cn == common_name) return cert;
  }
  assert(false && "no client certificate with that common name");
  return server;
}

}  // namespace claims::test_support
