#include "services/intake/intake_service.h"

#include <deque>
#include <future>
#include <map>
#include <optional>
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
  return claim.status() == api::PAID || claim.status() == api::PAYMENT_FAILED ||
         claim.status() == api::DENIED;
}

// BulkEnroll enrolls this many records at a time (one Kafka round trip for them all), with this
// many windows in flight at once.
constexpr size_t kBulkWindow = 2048;
constexpr size_t kBulkWindowsInFlight = 3;
// BulkEnroll stops once more records than this were refused (the response stays small).
constexpr int32_t kMaxBulkRefusals = 1000;

// A record refused for its content (not to be resent as it is).
bool IsRefusal(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kAlreadyExists;
}

// A watch ends at the latest after this long; the client may watch again.
constexpr auto kMaxWatch = std::chrono::hours(1);
constexpr auto kWatchPoll = std::chrono::milliseconds(100);

// Starts `call` (Intake's form with a reply) for an authenticated partner; the reply finishes the
// gRPC call, copying its value into `out`.
template <typename Out, typename Call>
grpc::ServerUnaryReactor* AnswerLater(grpc::CallbackServerContext* context,
                                      const Result<std::string>& partner, Out* out, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!partner.ok()) {
    reactor->Finish(rpc::ToGrpc(partner.status()));
    return reactor;
  }
  call(*partner, [reactor, out](Result<Out> result) {
    if (!result.ok()) return reactor->Finish(rpc::ToGrpc(result.status()));
    *out = std::move(result).value();
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace

Result<std::string> IntakeService::Partner(const grpc::ServerContextBase& context) const {
  Result<rpc::Caller> caller = rpc::Authenticate(context, auth_);
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
  const Deadline deadline = DeadlineOf(*context);
  // Records not accepted, by stream index; records left to be enrolled alone.
  std::map<int32_t, Status> failed;
  std::map<int32_t, api::EnrollMemberRequest> alone;
  int32_t accepted = 0;
  auto tally = [&](StagedEnrollments& window, int32_t first,
                   std::vector<api::EnrollMemberRequest>& requests) {
    for (size_t k : window.alone) window.out[k] = Status(StatusCode::kAborted, "alone");
    for (size_t k : window.alone) alone.emplace(first + static_cast<int32_t>(k), requests[k]);
    for (size_t k = 0; k < window.out.size(); ++k) {
      const Result<api::EnrollMemberResponse>& r = window.out[k];
      if (r.ok()) {
        ++accepted;
      } else if (r.status().code() != StatusCode::kAborted) {
        failed.emplace(first + static_cast<int32_t>(k), r.status());
      }
    }
  };
  // Stops reading once a record failed for a reason other than its content, or too many were
  // refused.
  auto must_stop = [&] {
    int32_t refused = 0;
    for (const auto& [index, s] : failed) {
      if (!IsRefusal(s) || ++refused > kMaxBulkRefusals) return true;
    }
    return false;
  };

  // Windows overlap: the next window is read while up to kBulkWindowsInFlight windows are
  // staged (checked, sealed; one may wait for its members' new keys while another seals) and
  // published. Each window's keys are taken in stream order before it is
  // staged, and windows are published one after another, in stream order. A finished window is
  // tallied in order and freed on a thread of its own. Stopping (must_stop) takes effect once
  // the windows in flight are through.
  struct InFlight {
    std::unique_ptr<StagedEnrollments> staged;
    std::vector<api::EnrollMemberRequest> requests;
    int32_t first = 0;
    std::shared_future<void> published;
  };
  std::deque<InFlight> in_flight;  // oldest first
  std::future<void> freed;
  auto retire_oldest = [&] {
    in_flight.front().published.wait();
    tally(*in_flight.front().staged, in_flight.front().first, in_flight.front().requests);
    // Waits for the window freed before (long done), then frees this one.
    freed = std::async(std::launch::async, [spent = std::move(in_flight.front())]() mutable {
      spent.staged.reset();
      spent.requests.clear();
    });
    in_flight.pop_front();
  };
  auto finish = [&] {
    while (!in_flight.empty()) retire_oldest();
  };
  bool more = true;  // while a read runs, only its thread uses `more` and `reader`
  auto read_window = [&] {
    std::vector<api::EnrollMemberRequest> window;
    window.reserve(kBulkWindow);
    api::EnrollMemberRequest request;
    while (window.size() < kBulkWindow && (more = reader->Read(&request))) {
      window.push_back(std::move(request));
    }
    return window;
  };
  std::future<std::vector<api::EnrollMemberRequest>> reading =
      std::async(std::launch::async, read_window);
  int32_t next = 0;
  for (;;) {
    std::vector<api::EnrollMemberRequest> window = reading.get();
    if (window.empty()) break;
    if (context->IsCancelled()) {
      finish();
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    if (must_stop()) {
      more = true;  // this window was read, not enrolled: it is to be resent
      break;
    }
    const bool last = !more;
    if (!last) reading = std::async(std::launch::async, read_window);
    while (in_flight.size() >= kBulkWindowsInFlight) retire_oldest();
    std::unique_ptr<StagedEnrollments> staged = intake_.LockEnrollments(*partner, window, deadline);
    std::shared_future<void> before =
        in_flight.empty() ? std::shared_future<void>() : in_flight.back().published;
    in_flight.push_back(InFlight{std::move(staged), std::move(window), next, {}});
    next += static_cast<int32_t>(in_flight.back().requests.size());
    InFlight& w = in_flight.back();  // stays in place until retired
    w.published = std::async(std::launch::async, [this, &partner, &w, before]() mutable {
                    intake_.StageLocked(*partner, w.requests, *w.staged);
                    if (before.valid()) before.wait();
                    before = {};  // no chain of windows kept alive
                    intake_.PublishStaged(*w.staged);
                  }).share();
    if (last) break;
  }
  finish();
  // No window holds keys any more: the records left alone now, in stream order.
  for (auto& [index, request] : alone) {
    if (must_stop()) {
      failed.emplace(index, Status(StatusCode::kAborted, "not enrolled: the call stopped first"));
      continue;
    }
    Result<api::EnrollMemberResponse> r = intake_.Enroll(*partner, request, deadline);
    if (r.ok()) {
      ++accepted;
    } else {
      failed.emplace(index, r.status());
    }
  }

  response->set_accepted(accepted);
  int32_t refused = 0;
  for (const auto& [index, s] : failed) {
    if (!IsRefusal(s) || refused == kMaxBulkRefusals) {
      response->set_stopped(true);
      response->set_resend_from(index);
      response->set_stop_reason(IsRefusal(s) ? "more than " + std::to_string(kMaxBulkRefusals) +
                                                   " records refused"
                                             : s.ToString());
      break;
    }
    ++refused;
    api::BulkEnrollResponse::Refusal* refusal = response->add_refusals();
    refusal->set_index(index);
    refusal->set_code(static_cast<int32_t>(rpc::ToGrpc(s).error_code()));
    refusal->set_message(s.message());
    for (const FieldViolation& v : s.violations()) {
      api::FieldViolation* out = refusal->add_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
  }
  response->set_refused(refused);
  if (!response->stopped() && more) {
    // Reading stopped early for refusals beyond those answered: resend from the next unread.
    response->set_stopped(true);
    response->set_resend_from(next);
    response->set_stop_reason("more than " + std::to_string(kMaxBulkRefusals) + " records refused");
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* IntakeService::TerminateMember(grpc::CallbackServerContext* context,
                                                         const api::TerminateMemberRequest* request,
                                                         api::TerminateMemberResponse* response) {
  return AnswerLater(context, Partner(*context), response, [&](const std::string& p, auto reply) {
    intake_.Terminate(p, *request, DeadlineOf(*context), std::move(reply));
  });
}

grpc::ServerUnaryReactor* IntakeService::SubmitClaim(grpc::CallbackServerContext* context,
                                                     const api::SubmitClaimRequest* request,
                                                     api::SubmitClaimResponse* response) {
  return AnswerLater(context, Partner(*context), response, [&](const std::string& p, auto reply) {
    intake_.SubmitClaim(p, *request, DeadlineOf(*context), std::move(reply));
  });
}

grpc::ServerUnaryReactor* IntakeService::AppealClaim(grpc::CallbackServerContext* context,
                                                     const api::AppealClaimRequest* request,
                                                     api::AppealClaimResponse* response) {
  return AnswerLater(context, Partner(*context), response, [&](const std::string& p, auto reply) {
    intake_.Appeal(p, *request, DeadlineOf(*context), std::move(reply));
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
  Result<rpc::Caller> caller = rpc::Authenticate(*context, auth_);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = rpc::Require(*caller, rpc::Role::kOperator); !s.ok()) return rpc::ToGrpc(s);
  Result<api::EraseMemberResponse> erased = intake_.EraseMember(*request, DeadlineOf(*context));
  if (!erased.ok()) return rpc::ToGrpc(erased.status());
  *response = std::move(erased).value();
  return grpc::Status::OK;
}

}  // namespace claims::intake
