#pragma once

#include <grpcpp/grpcpp.h>

#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"
#include "mutualaid/adjudication/v1/review.grpc.pb.h"
#include "services/adjudication/review.h"

namespace claims::adjudication {

using rpc::DeadlineOf;

// The gRPC face of ReviewHandler: authenticates the caller, checks the role (reviewer; auditor
// too for ListReferred and GetDecision), passes the reviewer's own id and the call's deadline to
// the logic, and translates the status. Nothing else happens here. Thread-safe.
class ReviewService final : public api::ReviewService::Service {
 public:
  // Every method takes its request as bytes and decodes it (rpc::DecodingUnary): a request that
  // does not parse, such as a reason whose text is not UTF-8, is INVALID_ARGUMENT naming the
  // field, not INTERNAL.
  ReviewService(const ReviewHandler& handler, bool insecure_dev)
      : handler_(handler), insecure_dev_(insecure_dev) {
    const std::string name = api::ReviewService::service_full_name();
    MarkMethodStreamed(rpc::MethodIndex(name, "ListReferred"),
                       rpc::DecodingUnary(this, &ReviewService::ListReferred,
                                          {rpc::Role::kReviewer, true, insecure_dev}));
    MarkMethodStreamed(rpc::MethodIndex(name, "GetDecision"),
                       rpc::DecodingUnary(this, &ReviewService::GetDecision,
                                          {rpc::Role::kReviewer, true, insecure_dev}));
    MarkMethodStreamed(rpc::MethodIndex(name, "ReviewClaim"),
                       rpc::DecodingUnary(this, &ReviewService::ReviewClaim,
                                          {rpc::Role::kReviewer, false, insecure_dev}));
  }

  grpc::Status ListReferred(grpc::ServerContext* context, const api::ListReferredRequest* request,
                            api::ListReferredResponse* response) override;
  grpc::Status GetDecision(grpc::ServerContext* context, const api::GetDecisionRequest* request,
                           api::Decision* response) override;
  grpc::Status ReviewClaim(grpc::ServerContext* context, const api::ReviewClaimRequest* request,
                           api::ReviewClaimResponse* response) override;

 private:
  const ReviewHandler& handler_;
  bool insecure_dev_;
};

}  // namespace claims::adjudication
