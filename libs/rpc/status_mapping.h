#pragma once

#include <grpcpp/support/status.h>

#include "libs/base/status.h"

namespace claims::rpc {

// The one place our Status becomes a gRPC status. Field violations travel as a
// google.rpc.BadRequest inside google.rpc.Status in the "grpc-status-details-bin" trailer, which
// standard gRPC clients decode.
grpc::Status ToGrpc(const Status& status);

// The inverse, for clients and tests: the code, message and any BadRequest violations.
Status FromGrpc(const grpc::Status& status);

}  // namespace claims::rpc
