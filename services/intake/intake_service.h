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
//
// Every method takes its request as bytes and decodes it itself (rpc::Decode), so that a request
// gRPC could not parse (proto3 refuses a string field that is not UTF-8) is INVALID_ARGUMENT
// naming the field, not INTERNAL or UNIMPLEMENTED, and a BulkEnroll record that does not parse
// is refused on its own instead of ending the stream as if the client had finished. The
// synchronous methods are registered with gRPC's streamed handlers over ByteBuffer (the
// constructor), the callback ones through the generated raw callback methods.
using IntakeServiceBase = api::IntakeService::WithRawCallbackMethod_SubmitClaim<
    api::IntakeService::WithRawCallbackMethod_TerminateMember<
        api::IntakeService::WithRawCallbackMethod_AppealClaim<api::IntakeService::Service>>>;
class IntakeService final : public IntakeServiceBase {
 public:
  IntakeService(Intake& intake, rpc::AuthOptions auth);
  IntakeService(Intake& intake, bool insecure_dev)
      : IntakeService(intake, rpc::AuthOptions{.insecure_dev = insecure_dev}) {}

  grpc::ServerUnaryReactor* TerminateMember(grpc::CallbackServerContext* context,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* SubmitClaim(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* AppealClaim(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;

 private:
  using WatchClaimStream = grpc::ServerSplitStreamer<grpc::ByteBuffer, api::Claim>;
  grpc::Status BulkEnrollBytes(grpc::ServerContext* context,
                               grpc::ServerReader<grpc::ByteBuffer>* reader,
                               api::BulkEnrollResponse* response);
  grpc::Status WatchClaimBytes(grpc::ServerContext* context, WatchClaimStream* writer);
  // The calling partner's id; PERMISSION_DENIED for any other role.
  Result<std::string> Partner(const grpc::ServerContextBase& context) const;
  // Whose claims the caller reads: a partner its own, an auditor every partner's.
  Result<ClaimReader> Reader(const grpc::ServerContextBase& context) const;

  Intake& intake_;
  rpc::AuthOptions auth_;
};

// The operator face of Intake (admin.proto): authenticates an operator, decodes the request
// (rpc::Decode, as IntakeService does), calls the logic with the call's deadline, translates the
// status.
class IntakeAdminService final : public api::IntakeAdminService::Service {
 public:
  IntakeAdminService(Intake& intake, rpc::AuthOptions auth);
  IntakeAdminService(Intake& intake, bool insecure_dev)
      : IntakeAdminService(intake, rpc::AuthOptions{.insecure_dev = insecure_dev}) {}

 private:
  Intake& intake_;
  rpc::AuthOptions auth_;
};

}  // namespace claims::intake
