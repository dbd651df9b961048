#include "services/adjudication/review_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"

namespace claims::adjudication {
namespace {

// The caller when it is a reviewer, or also an auditor when `auditor_too` (read-only calls).
Result<rpc::Caller> Authorize(const grpc::ServerContext& context, bool insecure_dev,
                              bool auditor_too) {
  Result<rpc::Caller> caller = rpc::Authenticate(context, insecure_dev);
  if (!caller.ok()) return caller.status();
  if (auditor_too && caller->role == rpc::Role::kAuditor) return caller;
  if (Status s = rpc::Require(*caller, rpc::Role::kReviewer); !s.ok()) {
    if (!auditor_too) return s;
    return PermissionDenied(
        std::string("this call needs the reviewer or auditor role; caller is ") +
        rpc::RoleName(caller->role));
  }
  return caller;
}

template <typename Out>
grpc::Status Reply(Result<Out> result, Out* out) {
  if (!result.ok()) return rpc::ToGrpc(result.status());
  *out = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace

Deadline DeadlineOf(const grpc::ServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return kNoDeadline;
  const auto left = deadline - std::chrono::system_clock::now();
  // A deadline beyond a day is as good as none (and would overflow the steady clock's range).
  if (left > std::chrono::hours(24)) return kNoDeadline;
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

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
