#include "libs/rpc/call.h"

#include <string>

namespace claims::rpc {

Deadline DeadlineOf(const grpc::ServerContextBase& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return kNoDeadline;
  const auto left = deadline - std::chrono::system_clock::now();
  if (left > std::chrono::hours(24)) return kNoDeadline;
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

Result<Caller> Authorize(const grpc::ServerContextBase& context, const AuthOptions& auth, Role role,
                         bool auditor_too) {
  Result<Caller> caller = Authenticate(context, auth);
  if (!caller.ok()) return caller.status();
  if (auditor_too && caller->role == Role::kAuditor) return caller;
  if (Status s = Require(*caller, role); !s.ok()) {
    if (!auditor_too) return s;
    return PermissionDenied(std::string("this call needs the ") + RoleName(role) +
                            " or auditor role; caller is " + RoleName(caller->role));
  }
  return caller;
}

}  // namespace claims::rpc
