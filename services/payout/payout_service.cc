#include "services/payout/payout_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"

namespace claims::payout {

PayoutService::PayoutService(const PayoutHandler& handler, bool insecure_dev) {
  const std::string name = api::PayoutService::service_full_name();
  auto method = [&](const char* method_name, grpc::internal::MethodHandler* h) {
    MarkMethodStreamed(rpc::MethodIndex(name, method_name), h);
  };
  const auto read = rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/true, insecure_dev);
  const auto act = rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/false, insecure_dev);
  method("GetPayment", rpc::DecodingRead(read, handler, &PayoutHandler::GetPayment));
  method("ListPayments", rpc::DecodingRead(read, handler, &PayoutHandler::ListPayments));
  method("GetBatch", rpc::DecodingRead(read, handler, &PayoutHandler::GetBatch));
  method("GetLedgerBalance",
         rpc::DecodingUnary<api::GetLedgerBalanceRequest, api::LedgerBalance>(
             read,
             [&h = handler](const grpc::ServerContext&, const rpc::Caller&,
                            const api::GetLedgerBalanceRequest&) { return h.GetLedgerBalance(); }));
  method("HoldPayment", rpc::DecodingAction(act, handler, &PayoutHandler::HoldPayment));
  method("ReleasePayment", rpc::DecodingAction(act, handler, &PayoutHandler::ReleasePayment));
  method("ReissuePayment", rpc::DecodingAction(act, handler, &PayoutHandler::ReissuePayment));
  method("CreateBatch", rpc::DecodingAction(act, handler, &PayoutHandler::CreateBatch));
  method("ImportStatusReport",
         rpc::DecodingAction(act, handler, &PayoutHandler::ImportStatusReport));
}

}  // namespace claims::payout
