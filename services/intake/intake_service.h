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
//
// SubmitClaim, TerminateMember and AppealClaim use gRPC's callback API: the handler returns once
// the call is handed to the committer, and the committer's thread finishes the call when Kafka
// has the event. A call waiting for Kafka then holds no thread; with the synchronous API each
// one held a server thread and cost two thread switches, most of a call's CPU on a busy server.
// EnrollMember and BulkEnroll stay synchronous: a new member's data key is published (one Kafka
// round trip) before its event, which would block a callback thread.
using IntakeServiceBase = api::IntakeService::WithCallbackMethod_SubmitClaim<
    api::IntakeService::WithCallbackMethod_TerminateMember<
        api::IntakeService::WithCallbackMethod_AppealClaim<api::IntakeService::Service>>>;
class IntakeService final : public IntakeServiceBase {
 public:
  IntakeService(Intake& intake, rpc::AuthOptions auth) : intake_(intake), auth_(auth) {}
  IntakeService(Intake& intake, bool insecure_dev)
      : IntakeService(intake, rpc::AuthOptions{.insecure_dev = insecure_dev}) {}

  grpc::Status EnrollMember(grpc::ServerContext* context, const api::EnrollMemberRequest* request,
                            api::EnrollMemberResponse* response) override;
  grpc::Status BulkEnroll(grpc::ServerContext* context,
                          grpc::ServerReader<api::EnrollMemberRequest>* reader,
                          api::BulkEnrollResponse* response) override;
  grpc::ServerUnaryReactor* TerminateMember(grpc::CallbackServerContext* context,
                                            const api::TerminateMemberRequest* request,
                                            api::TerminateMemberResponse* response) override;
  grpc::ServerUnaryReactor* SubmitClaim(grpc::CallbackServerContext* context,
                                        const api::SubmitClaimRequest* request,
                                        api::SubmitClaimResponse* response) override;
  grpc::ServerUnaryReactor* AppealClaim(grpc::CallbackServerContext* context,
                                        const api::AppealClaimRequest* request,
                                        api::AppealClaimResponse* response) override;
  grpc::Status GetClaim(grpc::ServerContext* context, const api::GetClaimRequest* request,
                        api::Claim* response) override;
  grpc::Status ListClaims(grpc::ServerContext* context, const api::ListClaimsRequest* request,
                          api::ListClaimsResponse* response) override;
  grpc::Status WatchClaim(grpc::ServerContext* context, const api::WatchClaimRequest* request,
                          grpc::ServerWriter<api::Claim>* writer) override;

 private:
  Result<std::string> Partner(const grpc::ServerContextBase& context) const;

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
