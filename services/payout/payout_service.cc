#include "services/payout/payout_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"

namespace claims::payout {
namespace {

// An operator's action, with the operator's id, the call's deadline and its cancellation.
template <typename Request, typename Response>
grpc::internal::MethodHandler* Act(
    const PayoutHandler& handler, bool insecure_dev,
    Result<Response> (PayoutHandler::*act)(const std::string&, const Request&, Deadline,
                                           const PayoutHandler::Cancelled&) const) {
  return rpc::DecodingUnary<Request, Response>(
      rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/false, insecure_dev),
      [&h = handler, act](const grpc::ServerContext& context, const rpc::Caller& caller,
                          const Request& request) {
        return (h.*act)(caller.id, request, rpc::DeadlineOf(context),
                        [&context] { return context.IsCancelled(); });
      });
}

}  // namespace

PayoutService::PayoutService(const PayoutHandler& handler, bool insecure_dev) {
  const std::string name = api::PayoutService::service_full_name();
  auto method = [&](const char* method_name, grpc::internal::MethodHandler* h) {
    MarkMethodStreamed(rpc::MethodIndex(name, method_name), h);
  };
  const auto read = rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/true, insecure_dev);
  method("GetPayment", rpc::DecodingRead(read, handler, &PayoutHandler::GetPayment));
  method("ListPayments", rpc::DecodingRead(read, handler, &PayoutHandler::ListPayments));
  method("GetBatch", rpc::DecodingRead(read, handler, &PayoutHandler::GetBatch));
  method("GetLedgerBalance",
         rpc::DecodingUnary<api::GetLedgerBalanceRequest, api::LedgerBalance>(
             read,
             [&h = handler](const grpc::ServerContext&, const rpc::Caller&,
                            const api::GetLedgerBalanceRequest&) { return h.GetLedgerBalance(); }));
  method("HoldPayment", Act(handler, insecure_dev, &PayoutHandler::HoldPayment));
  method("ReleasePayment", Act(handler, insecure_dev, &PayoutHandler::ReleasePayment));
  method("ReissuePayment", Act(handler, insecure_dev, &PayoutHandler::ReissuePayment));
  method("CreateBatch", Act(handler, insecure_dev, &PayoutHandler::CreateBatch));
  method("ImportStatusReport", Act(handler, insecure_dev, &PayoutHandler::ImportStatusReport));
}

}  // namespace claims::payout
