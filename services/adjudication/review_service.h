#pragma once

#include <grpcpp/grpcpp.h>

#include "mutualaid/adjudication/v1/review.grpc.pb.h"
#include "services/adjudication/review.h"

namespace claims::adjudication {

// The gRPC face of ReviewHandler: authenticates the caller, checks the role (reviewer; auditor
// too for ListReferred and GetDecision), decodes the request itself (rpc::DecodingUnary: a request
// that does not parse, such as a note whose text is not UTF-8, is INVALID_ARGUMENT naming the
// field, not INTERNAL), passes the reviewer's own id and the call's deadline to the logic, and
// translates the status. Every method is registered in the constructor. Thread-safe.
class ReviewService final : public api::ReviewService::Service {
 public:
  ReviewService(const ReviewHandler& handler, bool insecure_dev);
};

}  // namespace claims::adjudication
