#pragma once

#include <grpcpp/server_context.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/status.h"

namespace claims::rpc {

// Who may call what. A partner acts on its own members and claims only; reviewers work the
// review queue; operators run payout; auditors read everything and change nothing.
enum class Role { kPartner, kReviewer, kOperator, kAuditor };

const char* RoleName(Role role);

// The authenticated caller of one RPC.
struct Caller {
  Role role = Role::kPartner;
  std::string id;  // the partner id, reviewer id, ...: the part after "role:"

  friend bool operator==(const Caller&, const Caller&) = default;
};

// Parses a principal "partner:P-0001", "reviewer:alice", "operator:ops1", "auditor:audit1".
// Ids are 1-64 characters of [A-Za-z0-9._-].
Result<Caller> ParsePrincipal(std::string_view principal);

// Bearer tokens a server accepts, as the SHA-256 of each token (never the token itself) and the
// principal it stands for. Immutable once built; thread-safe.
class BearerTokens {
 public:
  // Parses lines "<64 hex digits: SHA-256 of the token> <principal>"; blank lines and lines
  // starting with '#' are skipped. INVALID_ARGUMENT naming `source` and the line for a bad line
  // or a hash listed twice.
  static Result<BearerTokens> Parse(std::string_view text, std::string_view source);
  // Parse of the file's contents; NOT_FOUND when it cannot be read.
  static Result<BearerTokens> FromFile(const std::string& path);

  // The caller `token` stands for: its SHA-256 is compared with every listed hash in constant
  // time. UNAUTHENTICATED for an unknown token (the message never quotes the token).
  Result<Caller> Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<uint8_t, 32> sha256;
    Caller caller;
  };
  std::vector<Entry> entries_;
};

// How a server authenticates its callers (see Authenticate).
struct AuthOptions {
  bool insecure_dev = false;
  // When set, "authorization: Bearer <token>" names the caller; not owned, must outlive the
  // server.
  const BearerTokens* bearer_tokens = nullptr;
};

// How callers prove who they are.
//  - Production (TLS): the client certificate, verified against the server's client CA, names
//    the principal in its subject common name. The "x-claims-principal" header is ignored, so a
//    caller cannot claim another identity by sending it.
//  - --insecure-dev (plaintext): the metadata header "x-claims-principal" names it. Never use
//    this outside a developer's machine or a test.
//  - Bearer tokens (with options.bearer_tokens, over TLS, with or without a client certificate):
//    the metadata "authorization: Bearer <token>" names the principal the token's hash maps to.
//    When the header is present it decides: an unknown token is UNAUTHENTICATED even if a client
//    certificate was presented.
// UNAUTHENTICATED when none yields a valid principal.
Result<Caller> Authenticate(const grpc::ServerContextBase& context, const AuthOptions& options);
// Authenticate without bearer tokens.
Result<Caller> Authenticate(const grpc::ServerContextBase& context, bool insecure_dev);

// PERMISSION_DENIED unless the caller has `role`.
Status Require(const Caller& caller, Role role);

inline constexpr char kPrincipalHeader[] = "x-claims-principal";
inline constexpr char kAuthorizationHeader[] = "authorization";

}  // namespace claims::rpc
