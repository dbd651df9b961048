#pragma once

#include <grpcpp/server_context.h>

#include <string>

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

// How callers prove who they are.
//  - Production (TLS): the client certificate, verified against the server's client CA, names
//    the principal in its subject common name. The "x-claims-principal" header is ignored, so a
//    caller cannot claim another identity by sending it.
//  - --insecure-dev (plaintext): the metadata header "x-claims-principal" names it. Never use
//    this outside a developer's machine or a test.
// UNAUTHENTICATED when neither yields a valid principal.
Result<Caller> Authenticate(const grpc::ServerContext& context, bool insecure_dev);

// PERMISSION_DENIED unless the caller has `role`.
Status Require(const Caller& caller, Role role);

inline constexpr char kPrincipalHeader[] = "x-claims-principal";

}  // namespace claims::rpc
