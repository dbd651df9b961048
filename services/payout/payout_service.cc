#include "services/payout/payout_service.h"

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "libs/rpc/status_mapping.h"

namespace claims::payout {
namespace {

// The caller when it has this service's role, or also an auditor when `auditor_too`.
Result<rpc::Caller> Authorize(const grpc::ServerContext& context, bool insecure_dev,
                              bool auditor_too) {
  return rpc::Authorize(context, insecure_dev, rpc::Role::kOperator, auditor_too);
}

using rpc::Reply;

}  // namespace

PayoutService::PayoutService(const PayoutHandler& handler, bool insecure_dev)
    : handler_(handler), insecure_dev_(insecure_dev) {
  const std::string name = api::PayoutService::service_full_name();
  MarkMethodStreamed(rpc::MethodIndex(name, "GetPayment"),
                     rpc::DecodingUnary(this, &PayoutService::GetPayment,
                                        {rpc::Role::kOperator, true, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "ListPayments"),
                     rpc::DecodingUnary(this, &PayoutService::ListPayments,
                                        {rpc::Role::kOperator, true, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "HoldPayment"),
                     rpc::DecodingUnary(this, &PayoutService::HoldPayment,
                                        {rpc::Role::kOperator, false, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "ReleasePayment"),
                     rpc::DecodingUnary(this, &PayoutService::ReleasePayment,
                                        {rpc::Role::kOperator, false, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "ReissuePayment"),
                     rpc::DecodingUnary(this, &PayoutService::ReissuePayment,
                                        {rpc::Role::kOperator, false, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "CreateBatch"),
                     rpc::DecodingUnary(this, &PayoutService::CreateBatch,
                                        {rpc::Role::kOperator, false, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "GetBatch"),
                     rpc::DecodingUnary(this, &PayoutService::GetBatch,
                                        {rpc::Role::kOperator, true, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "ImportStatusReport"),
                     rpc::DecodingUnary(this, &PayoutService::ImportStatusReport,
                                        {rpc::Role::kOperator, false, insecure_dev}));
  MarkMethodStreamed(rpc::MethodIndex(name, "GetLedgerBalance"),
                     rpc::DecodingUnary(this, &PayoutService::GetLedgerBalance,
                                        {rpc::Role::kOperator, true, insecure_dev}));
}

#define PAYOUT_AUTHORIZE(auditor_too)                                             \
  Result<rpc::Caller> caller = Authorize(*context, insecure_dev_, (auditor_too)); \
  if (!caller.ok()) return rpc::ToGrpc(caller.status());                          \
  const auto cancelled = [context] { return context->IsCancelled(); };            \
  (void)cancelled

grpc::Status PayoutService::GetPayment(grpc::ServerContext* context,
                                       const api::GetPaymentRequest* request,
                                       api::Payment* response) {
  PAYOUT_AUTHORIZE(true);
  return Reply(handler_.GetPayment(*request), response);
}

grpc::Status PayoutService::ListPayments(grpc::ServerContext* context,
                                         const api::ListPaymentsRequest* request,
                                         api::ListPaymentsResponse* response) {
  PAYOUT_AUTHORIZE(true);
  return Reply(handler_.ListPayments(*request), response);
}

grpc::Status PayoutService::HoldPayment(grpc::ServerContext* context,
                                        const api::HoldPaymentRequest* request,
                                        api::Payment* response) {
  PAYOUT_AUTHORIZE(false);
  return Reply(handler_.HoldPayment(caller->id, *request, DeadlineOf(*context), cancelled),
               response);
}

grpc::Status PayoutService::ReleasePayment(grpc::ServerContext* context,
                                           const api::ReleasePaymentRequest* request,
                                           api::Payment* response) {
  PAYOUT_AUTHORIZE(false);
  return Reply(handler_.ReleasePayment(caller->id, *request, DeadlineOf(*context), cancelled),
               response);
}

grpc::Status PayoutService::ReissuePayment(grpc::ServerContext* context,
                                           const api::ReissuePaymentRequest* request,
                                           api::Payment* response) {
  PAYOUT_AUTHORIZE(false);
  return Reply(handler_.ReissuePayment(caller->id, *request, DeadlineOf(*context), cancelled),
               response);
}

grpc::Status PayoutService::CreateBatch(grpc::ServerContext* context,
                                        const api::CreateBatchRequest* request,
                                        api::Batch* response) {
  PAYOUT_AUTHORIZE(false);
  return Reply(handler_.CreateBatch(caller->id, *request, DeadlineOf(*context), cancelled),
               response);
}

grpc::Status PayoutService::GetBatch(grpc::ServerContext* context,
                                     const api::GetBatchRequest* request, api::Batch* response) {
  PAYOUT_AUTHORIZE(true);
  return Reply(handler_.GetBatch(*request), response);
}

grpc::Status PayoutService::ImportStatusReport(grpc::ServerContext* context,
                                               const api::ImportStatusReportRequest* request,
                                               api::ImportStatusReportResponse* response) {
  PAYOUT_AUTHORIZE(false);
  return Reply(handler_.ImportStatusReport(caller->id, *request, DeadlineOf(*context), cancelled),
               response);
}

grpc::Status PayoutService::GetLedgerBalance(grpc::ServerContext* context,
                                             const api::GetLedgerBalanceRequest* request,
                                             api::LedgerBalance* response) {
  (void)request;
  PAYOUT_AUTHORIZE(true);
  return Reply(handler_.GetLedgerBalance(), response);
}

#undef PAYOUT_AUTHORIZE

}  // namespace claims::payout
