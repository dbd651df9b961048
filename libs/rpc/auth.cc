#include "libs/rpc/auth.h"

#include <grpcpp/security/auth_context.h>

namespace claims::rpc {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kPartner:
      return "partner";
    case Role::kReviewer:
      return "reviewer";
    case Role::kOperator:
      return "operator";
    case Role::kAuditor:
      return "auditor";
  }
  return "?";
}

Result<Caller> ParsePrincipal(std::string_view principal) {
  const size_t colon = principal.find(':');
  if (colon == std::string_view::npos) {
    return Unauthenticated("principal must be ROLE:ID");
  }
  const std::string_view role = principal.substr(0, colon);
  const std::string_view id = principal.substr(colon + 1);
  Caller caller;
  if (role == "partner") {
    caller.role = Role::kPartner;
  } else if (role == "reviewer") {
    caller.role = Role::kReviewer;
  } else if (role == "operator") {
    caller.role = Role::kOperator;
  } else if (role == "auditor") {
    caller.role = Role::kAuditor;
  } else {
    return Unauthenticated("unknown role in principal");
  }
  if (id.empty() || id.size() > 64) return Unauthenticated("principal id must be 1-64 characters");
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return Unauthenticated("principal id has a character outside [A-Za-z0-9._-]");
  }
  caller.id = std::string(id);
  return caller;
}

Result<Caller> Authenticate(const grpc::ServerContext& context, bool insecure_dev) {
  if (insecure_dev) {
    const auto& metadata = context.client_metadata();
    auto it = metadata.find(kPrincipalHeader);
    if (it == metadata.end()) {
      return Unauthenticated(std::string("missing metadata ") + kPrincipalHeader);
    }
    return ParsePrincipal(std::string_view(it->second.data(), it->second.size()));
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return Unauthenticated("a verified client certificate is required");
  }
  const std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return Unauthenticated("the client certificate has no common name");
  return ParsePrincipal(std::string_view(names.front().data(), names.front().size()));
}

Status Require(const Caller& caller, Role role) {
  if (caller.role == role) return Status::Ok();
  return PermissionDenied(std::string("this call needs the ") + RoleName(role) +
                          " role; caller is " + RoleName(caller.role));
}

}  // namespace claims::rpc
