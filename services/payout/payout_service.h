#pragma once

#include <grpcpp/grpcpp.h>

#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "services/payout/payout_handler.h"

namespace claims::payout {

// The gRPC face of PayoutHandler: authenticates the caller, checks the role (operator for
// mutating calls; operator or auditor for reads), decodes the request itself (rpc::DecodingUnary:
// a request that does not parse, such as a status report whose text is not UTF-8, is
// INVALID_ARGUMENT naming the field, not INTERNAL), passes the operator's own id and the call's
// deadline, and translates the status. Every method is registered in the constructor.
// Thread-safe.
class PayoutService final : public api::PayoutService::Service {
 public:
  PayoutService(const PayoutHandler& handler, bool insecure_dev);
};

}  // namespace claims::payout
