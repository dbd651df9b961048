#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

// The partner and reviewer commands over gRPC: enroll (one member, or bulk from CSV), claim
// submit|status|watch|appeal (intake's PartnerService), review queue|approve|deny (adjudication's
// ReviewService). Connection flags on each: --target, --insecure-dev with --principal (dev only;
// names the caller in the x-claims-principal header), or --tls-ca/--tls-cert/--tls-key
// (production: the client certificate names the caller), --timeout.
namespace claims::ctl {

class ClientCommands {
 public:
  // Registers the commands; `claim` is the existing "claim" command, `output` the shared
  // --output value.
  void Register(CLI::App& app, CLI::App& claim, std::string& output);
  // The exit code when one of these commands was parsed; nullopt otherwise.
  std::optional<int> Run();

  struct Connection {
    std::string target;
    bool insecure_dev = false;
    std::string principal;
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    int timeout_s = 30;
  };

 private:
  int Enroll();
  int Submit();
  int Status(bool watch);
  int Appeal();
  int Queue();
  int Review(bool approve);

  std::string* output_ = nullptr;
  Connection intake_;
  Connection review_;
  CLI::App* enroll_ = nullptr;
  CLI::App* submit_ = nullptr;
  CLI::App* status_ = nullptr;
  CLI::App* watch_ = nullptr;
  CLI::App* appeal_ = nullptr;
  CLI::App* queue_ = nullptr;
  CLI::App* approve_ = nullptr;
  CLI::App* deny_ = nullptr;

  // enroll
  std::string csv_;
  std::string key_;
  std::string resident_id_, name_, phone_, gender_, occupation_, start_date_, card_, bank_;
  int plan_year_ = 0;
  // claim
  std::string claim_id_, member_, coverage_, incident_date_, condition_, cause_, child_id_,
      child_birth_date_, detail_, reason_, note_;
  int64_t amount_fen_ = 0;
  std::vector<std::string> documents_;
  unsigned revision_ = 0;
};

}  // namespace claims::ctl
