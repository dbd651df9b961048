#include "services/adjudication/review_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"

namespace claims::adjudication {

ReviewService::ReviewService(const ReviewHandler& handler, bool insecure_dev) {
  const std::string name = api::ReviewService::service_full_name();
  const auto read = rpc::Allow(rpc::Role::kReviewer, /*auditor_too=*/true, insecure_dev);
  MarkMethodStreamed(rpc::MethodIndex(name, "ListReferred"),
                     rpc::DecodingRead(read, handler, &ReviewHandler::ListReferred));
  MarkMethodStreamed(rpc::MethodIndex(name, "GetDecision"),
                     rpc::DecodingRead(read, handler, &ReviewHandler::GetDecision));
  MarkMethodStreamed(
      rpc::MethodIndex(name, "ReviewClaim"),
      rpc::DecodingAction(rpc::Allow(rpc::Role::kReviewer, /*auditor_too=*/false, insecure_dev),
                          handler, &ReviewHandler::ReviewClaim));
}

}  // namespace claims::adjudication
