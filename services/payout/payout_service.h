#pragma once

#include <grpcpp/grpcpp.h>

#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"
#include "mutualaid/payout/v1/payout.grpc.pb.h"
#include "services/payout/payout_handler.h"

namespace claims::payout {

using rpc::DeadlineOf;

// The gRPC face of PayoutHandler: authenticates the caller, checks the role (operator for
// mutating calls; operator or auditor for reads), passes the operator's own id and the call's
// deadline, and translates the status. Thread-safe.
class PayoutService final : public api::PayoutService::Service {
 public:
  // Every method takes its request as bytes and decodes it (rpc::DecodingUnary): a request that
  // does not parse, such as a status report whose text is not UTF-8, is INVALID_ARGUMENT naming
  // the field, not INTERNAL.
  PayoutService(const PayoutHandler& handler, bool insecure_dev);

  grpc::Status GetPayment(grpc::ServerContext* context, const api::GetPaymentRequest* request,
                          api::Payment* response) override;
  grpc::Status ListPayments(grpc::ServerContext* context, const api::ListPaymentsRequest* request,
                            api::ListPaymentsResponse* response) override;
  grpc::Status HoldPayment(grpc::ServerContext* context, const api::HoldPaymentRequest* request,
                           api::Payment* response) override;
  grpc::Status ReleasePayment(grpc::ServerContext* context,
                              const api::ReleasePaymentRequest* request,
                              api::Payment* response) override;
  grpc::Status ReissuePayment(grpc::ServerContext* context,
                              const api::ReissuePaymentRequest* request,
                              api::Payment* response) override;
  grpc::Status CreateBatch(grpc::ServerContext* context, const api::CreateBatchRequest* request,
                           api::Batch* response) override;
  grpc::Status GetBatch(grpc::ServerContext* context, const api::GetBatchRequest* request,
                        api::Batch* response) override;
  grpc::Status ImportStatusReport(grpc::ServerContext* context,
                                  const api::ImportStatusReportRequest* request,
                                  api::ImportStatusReportResponse* response) override;
  grpc::Status GetLedgerBalance(grpc::ServerContext* context,
                                const api::GetLedgerBalanceRequest* request,
                                api::LedgerBalance* response) override;

 private:
  const PayoutHandler& handler_;
  bool insecure_dev_;
};

}  // namespace claims::payout
