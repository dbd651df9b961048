#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace google::protobuf {
class Message;
}

// The partner and reviewer commands over gRPC: enroll (one member, or bulk from CSV), claim
// submit|status|watch|appeal (intake's PartnerService), review queue|approve|deny (adjudication's
// ReviewService), and the plumbing every gRPC command of claimsctl shares. Connection flags on
// each: --target, --insecure-dev with --principal (dev only; names the caller in the
// x-claims-principal header), or --tls-ca/--tls-cert/--tls-key (production: the client
// certificate names the caller), --timeout.
namespace claims::ctl {

// Exit codes of every command (README.md, "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr char kExitCodesHelp[] =
    "Exit codes: 0 success (an audit found no divergence), 1 failures or divergences found, "
    "2 bad usage or bad input (the message names file, position and field), 3 a cluster or "
    "service could not be reached.\n";

// Where a gRPC command calls, and as whom.
struct Connection {
  std::string target;
  bool insecure_dev = false;
  std::string principal;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  int timeout_s = 30;
};

// Adds --target (required), --insecure-dev, --principal, --tls-ca, --tls-cert, --tls-key and
// --timeout to `cmd`; `service` names the server in the help text.
void AddConnection(CLI::App* cmd, Connection& c, const std::string& service);
// The same without --target: for commands that name their services otherwise.
void AddCredentials(CLI::App* cmd, Connection& c);
// Adds --output/-o (table, json or csv) to `cmd`.
void AddOutput(CLI::App* cmd, std::string& output);
// A channel to c.target: plaintext with --insecure-dev, TLS otherwise.
std::shared_ptr<grpc::Channel> OpenChannel(const Connection& c);
// A call's context: the dev principal header, and the deadline --timeout from now.
std::unique_ptr<grpc::ClientContext> NewContext(const Connection& c);
// Prints a failed call on stderr (code, message, every field violation; prefixed with `what`
// when given, e.g. the file the request came from) and returns its exit code: 3 for
// UNAVAILABLE and DEADLINE_EXCEEDED, 2 for INVALID_ARGUMENT, 1 otherwise.
int Failed(const grpc::Status& status, const std::string& what = "");
// Prints "claimsctl: FIELD: WHAT" on stderr; returns kExitUsage.
int Usage(const std::string& field, const std::string& what);
// One message: "json" as protobuf JSON (proto field names), "table"/"csv" as field,value rows.
void PrintMessage(const google::protobuf::Message& m, const std::string& output);

class ClientCommands {
 public:
  // Registers the commands; `claim` is the existing "claim" command, `output` the shared
  // --output value.
  void Register(CLI::App& app, CLI::App& claim, std::string& output);
  // The exit code when one of these commands was parsed; nullopt otherwise.
  std::optional<int> Run();

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
