#pragma once

#include "libs/rpc/auth.h"
#include "libs/rpc/call.h"
#include "mutualaid/intake/v1/admin.grpc.pb.h"
#include "mutualaid/intake/v1/intake.grpc.pb.h"
#include "services/intake/intake.h"

namespace claims::intake {

using rpc::DeadlineOf;

// The gRPC face of Intake: authenticates the partner (rpc::Authenticate with `auth`), calls the
// logic with the call's deadline, translates the status. Nothing else happens here.
class IntakeService final : public api::IntakeService::Service {
 public:
  IntakeService(Intake& intake, rpc::AuthOptions auth) : intake_(intake), auth_(auth) {}
  IntakeService(Intake& intake, bool insecure_dev)
      : IntakeService(intake, rpc::AuthOptions{.insecure_dev = insecure_dev}) {}

  grpc::Status EnrollMember(grpc::ServerContext* context, const api::EnrollMemberRequest* request,
                            api::EnrollMemberResponse* response) override;
  grpc::Status BulkEnroll(grpc::ServerContext* context,
                          grpc::ServerReader<api::EnrollMemberRequest>* reader,
                          api::BulkEnrollResponse* response) override;
  grpc::Status TerminateMember(grpc::ServerContext* context,
                               const api::TerminateMemberRequest* request,
                               api::TerminateMemberResponse* response) override;
  grpc::Status SubmitClaim(grpc::ServerContext* context, const api::SubmitClaimRequest* request,
                           api::SubmitClaimResponse* response) override;
  grpc::Status AppealClaim(grpc::ServerContext* context, const api::AppealClaimRequest* request,
                           api::AppealClaimResponse* response) override;
  grpc::Status GetClaim(grpc::ServerContext* context, const api::GetClaimRequest* request,
                        api::Claim* response) override;
  grpc::Status ListClaims(grpc::ServerContext* context, const api::ListClaimsRequest* request,
                          api::ListClaimsResponse* response) override;
  grpc::Status WatchClaim(grpc::ServerContext* context, const api::WatchClaimRequest* request,
                          grpc::ServerWriter<api::Claim>* writer) override;

 private:
  Result<std::string> Partner(const grpc::ServerContext& context) const;

  Intake& intake_;
  rpc::AuthOptions auth_;
};

// The operator face of Intake (admin.proto): authenticates an operator, calls the logic with the
// call's deadline, translates the status.
class IntakeAdminService final : public api::IntakeAdminService::Service {
 public:
  IntakeAdminService(Intake& intake, rpc::AuthOptions auth) : intake_(intake), auth_(auth) {}
  IntakeAdminService(Intake& intake, bool insecure_dev)
      : IntakeAdminService(intake, rpc::AuthOptions{.insecure_dev = insecure_dev}) {}

  grpc::Status EraseMember(grpc::ServerContext* context, const api::EraseMemberRequest* request,
                           api::EraseMemberResponse* response) override;

 private:
  Intake& intake_;
  rpc::AuthOptions auth_;
};

}  // namespace claims::intake
