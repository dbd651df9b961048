#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "libs/base/status.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"

// What every service's gRPC handlers share: the call's deadline on the steady clock, the caller
// checked for a role, and a Result turned into the reply.
namespace claims::rpc {

using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// The steady-clock deadline of a call: the client's gRPC deadline, or kNoDeadline when it set
// none. A deadline beyond a day is as good as none (and would overflow the steady clock).
Deadline DeadlineOf(const grpc::ServerContextBase& context);

// The authenticated caller when it has `role`, or also when it is an auditor and `auditor_too`
// (read-only calls). UNAUTHENTICATED or PERMISSION_DENIED naming the roles otherwise.
Result<Caller> Authorize(const grpc::ServerContextBase& context, bool insecure_dev, Role role,
                         bool auditor_too);

// OK with `*out` set to the result's value, or the result's error as a gRPC status.
template <typename Out>
grpc::Status Reply(Result<Out> result, Out* out) {
  if (!result.ok()) return ToGrpc(result.status());
  *out = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace claims::rpc
