#include "services/intake/intake_service.h"

#include <thread>

#include "libs/rpc/auth.h"
#include "libs/rpc/status_mapping.h"

namespace claims::intake {
namespace {

// Runs `call` for an authenticated partner and copies its value into `out`.
template <typename Out, typename Call>
grpc::Status Answer(const Result<std::string>& partner, Out* out, Call call) {
  if (!partner.ok()) return rpc::ToGrpc(partner.status());
  Result<Out> result = call(*partner);
  if (!result.ok()) return rpc::ToGrpc(result.status());
  *out = std::move(result).value();
  return grpc::Status::OK;
}

bool IsFinal(const api::Claim& claim) {
  return claim.status() == api::PAID || claim.status() == api::PAYMENT_FAILED;
}

// A watch ends at the latest after this long; the client may watch again.
constexpr auto kMaxWatch = std::chrono::hours(1);
constexpr auto kWatchPoll = std::chrono::milliseconds(100);

}  // namespace

Deadline DeadlineOf(const grpc::ServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return kNoDeadline;
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             deadline - std::chrono::system_clock::now());
}

Result<std::string> IntakeService::Partner(const grpc::ServerContext& context) const {
  Result<rpc::Caller> caller = rpc::Authenticate(context, insecure_dev_);
  if (!caller.ok()) return caller.status();
  if (Status s = rpc::Require(*caller, rpc::Role::kPartner); !s.ok()) return s;
  return caller->id;
}

grpc::Status IntakeService::EnrollMember(grpc::ServerContext* context,
                                         const api::EnrollMemberRequest* request,
                                         api::EnrollMemberResponse* response) {
  return Answer(Partner(*context), response, [&](const std::string& p) {
    return intake_.Enroll(p, *request, DeadlineOf(*context));
  });
}

grpc::Status IntakeService::BulkEnroll(grpc::ServerContext* context,
                                       grpc::ServerReader<api::EnrollMemberRequest>* reader,
                                       api::BulkEnrollResponse* response) {
  Result<std::string> partner = Partner(*context);
  if (!partner.ok()) return rpc::ToGrpc(partner.status());
  api::EnrollMemberRequest request;
  int index = 0;
  while (reader->Read(&request)) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    api::BulkEnrollResponse::RecordResult* result = response->add_results();
    result->set_index(index++);
    Result<api::EnrollMemberResponse> enrolled =
        intake_.Enroll(*partner, request, DeadlineOf(*context));
    if (enrolled.ok()) {
      result->set_member_id(enrolled->member_id());
      result->set_event_id(enrolled->event_id());
      response->set_accepted(response->accepted() + 1);
      continue;
    }
    response->set_refused(response->refused() + 1);
    if (enrolled.status().code() == StatusCode::kUnavailable ||
        enrolled.status().code() == StatusCode::kDeadlineExceeded) {
      // The cluster is down or the time is up: stop here rather than refuse every remaining
      // record one by one.
      return rpc::ToGrpc(
          Status(enrolled.status().code(), "stopped at record " + std::to_string(index - 1) + ": " +
                                               enrolled.status().message() +
                                               "; records before it are recorded, resend from it"));
    }
    result->set_error(enrolled.status().message());
    for (const FieldViolation& v : enrolled.status().violations()) {
      api::FieldViolation* out = result->add_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
  }
  return grpc::Status::OK;
}

grpc::Status IntakeService::TerminateMember(grpc::ServerContext* context,
                                            const api::TerminateMemberRequest* request,
                                            api::TerminateMemberResponse* response) {
  return Answer(Partner(*context), response, [&](const std::string& p) {
    return intake_.Terminate(p, *request, DeadlineOf(*context));
  });
}

grpc::Status IntakeService::SubmitClaim(grpc::ServerContext* context,
                                        const api::SubmitClaimRequest* request,
                                        api::SubmitClaimResponse* response) {
  return Answer(Partner(*context), response, [&](const std::string& p) {
    return intake_.SubmitClaim(p, *request, DeadlineOf(*context));
  });
}

grpc::Status IntakeService::AppealClaim(grpc::ServerContext* context,
                                        const api::AppealClaimRequest* request,
                                        api::AppealClaimResponse* response) {
  return Answer(Partner(*context), response, [&](const std::string& p) {
    return intake_.Appeal(p, *request, DeadlineOf(*context));
  });
}

grpc::Status IntakeService::GetClaim(grpc::ServerContext* context,
                                     const api::GetClaimRequest* request, api::Claim* response) {
  return Answer(Partner(*context), response,
                [&](const std::string& p) { return intake_.GetClaim(p, *request); });
}

grpc::Status IntakeService::ListClaims(grpc::ServerContext* context,
                                       const api::ListClaimsRequest* request,
                                       api::ListClaimsResponse* response) {
  return Answer(Partner(*context), response,
                [&](const std::string& p) { return intake_.ListClaims(p, *request); });
}

grpc::Status IntakeService::WatchClaim(grpc::ServerContext* context,
                                       const api::WatchClaimRequest* request,
                                       grpc::ServerWriter<api::Claim>* writer) {
  Result<std::string> partner = Partner(*context);
  if (!partner.ok()) return rpc::ToGrpc(partner.status());
  api::GetClaimRequest get;
  get.set_claim_id(request->claim_id());
  std::string last_sent;
  const auto give_up = std::chrono::steady_clock::now() + kMaxWatch;
  while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
    Result<api::Claim> claim = intake_.GetClaim(*partner, get);
    if (!claim.ok()) return rpc::ToGrpc(claim.status());
    std::string bytes = claim->SerializeAsString();
    if (bytes != last_sent) {
      if (!writer->Write(*claim)) return grpc::Status::OK;  // the client went away
      last_sent = std::move(bytes);
    }
    if (IsFinal(*claim)) return grpc::Status::OK;
    std::this_thread::sleep_for(kWatchPoll);
  }
  return grpc::Status::OK;
}

grpc::Status IntakeAdminService::EraseMember(grpc::ServerContext* context,
                                             const api::EraseMemberRequest* request,
                                             api::EraseMemberResponse* response) {
  Result<rpc::Caller> caller = rpc::Authenticate(*context, insecure_dev_);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = rpc::Require(*caller, rpc::Role::kOperator); !s.ok()) return rpc::ToGrpc(s);
  Result<api::EraseMemberResponse> erased = intake_.EraseMember(*request, DeadlineOf(*context));
  if (!erased.ok()) return rpc::ToGrpc(erased.status());
  *response = std::move(erased).value();
  return grpc::Status::OK;
}

}  // namespace claims::intake
