#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "libs/base/status.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"

// What every service's gRPC handlers share: the call's deadline on the steady clock, and the
// caller checked for a role.
namespace claims::rpc {

using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// The steady-clock deadline of a call: the client's gRPC deadline, or kNoDeadline when it set
// none. A deadline beyond a day is as good as none (and would overflow the steady clock).
Deadline DeadlineOf(const grpc::ServerContextBase& context);

// The authenticated caller when it has `role`, or also when it is an auditor and `auditor_too`
// (read-only calls). UNAUTHENTICATED or PERMISSION_DENIED naming the roles otherwise.
Result<Caller> Authorize(const grpc::ServerContextBase& context, const AuthOptions& auth, Role role,
                         bool auditor_too);
// Authorize without bearer tokens.
inline Result<Caller> Authorize(const grpc::ServerContextBase& context, bool insecure_dev,
                                Role role, bool auditor_too) {
  return Authorize(context, AuthOptions{.insecure_dev = insecure_dev}, role, auditor_too);
}

}  // namespace claims::rpc
