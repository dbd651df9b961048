#include "services/adjudication/review_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "libs/rpc/status_mapping.h"

namespace claims::adjudication {
namespace {

// The caller when it has this service's role, or also an auditor when `auditor_too`.
Result<rpc::Caller> Authorize(const grpc::ServerContext& context, bool insecure_dev,
                              bool auditor_too) {
  return rpc::Authorize(context, insecure_dev, rpc::Role::kReviewer, auditor_too);
}

using rpc::Reply;

}  // namespace

grpc::Status ReviewService::ListReferred(grpc::ServerContext* context,
                                         const api::ListReferredRequest* request,
                                         api::ListReferredResponse* response) {
  Result<rpc::Caller> caller = Authorize(*context, insecure_dev_, /*auditor_too=*/true);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  return Reply(handler_.ListReferred(*request), response);
}

grpc::Status ReviewService::GetDecision(grpc::ServerContext* context,
                                        const api::GetDecisionRequest* request,
                                        api::Decision* response) {
  Result<rpc::Caller> caller = Authorize(*context, insecure_dev_, /*auditor_too=*/true);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  return Reply(handler_.GetDecision(*request), response);
}

grpc::Status ReviewService::ReviewClaim(grpc::ServerContext* context,
                                        const api::ReviewClaimRequest* request,
                                        api::ReviewClaimResponse* response) {
  Result<rpc::Caller> caller = Authorize(*context, insecure_dev_, /*auditor_too=*/false);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  return Reply(handler_.ReviewClaim(caller->id, *request, DeadlineOf(*context),
                                    [context] { return context->IsCancelled(); }),
               response);
}

}  // namespace claims::adjudication
