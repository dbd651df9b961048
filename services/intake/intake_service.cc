#include "services/intake/intake_service.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "libs/rpc/auth.h"
#include "libs/rpc/decode.h"
#include "libs/rpc/status_mapping.h"

namespace claims::intake {
namespace {

bool IsFinal(const api::Claim& claim) {
  return claim.status() == api::PAID || claim.status() == api::PAYMENT_FAILED ||
         claim.status() == api::DENIED;
}

// BulkEnroll enrolls this many records at a time (one Kafka round trip for them all), with this
// many windows in flight at once. Each window has fixed costs (its threads, its store write and
// fsync, the round trips of its keys and events): 8192 enrolled 1.18 x the members/s of 2048 in
// intake_bench (alternating runs, 57,500 against 48,700). About 4 windows of records (read
// ahead, and in flight with their sealed events) are held at once: the bench's peak memory grew
// by 95 MB (593 to 688 MB), a cost paid per open BulkEnroll stream.
constexpr size_t kBulkWindow = 8192;
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

// Decodes `bytes` and starts `call(partner, request, reply)` (Intake's form with a reply) for an
// authenticated partner; the reply finishes the gRPC call with its value encoded into `out`.
template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* AnswerLater(grpc::CallbackServerContext* context,
                                      const Result<std::string>& partner,
                                      const grpc::ByteBuffer& bytes, grpc::ByteBuffer* out,
                                      Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!partner.ok()) {
    reactor->Finish(rpc::ToGrpc(partner.status()));
    return reactor;
  }
  Request request;
  if (Status s = rpc::Decode(bytes, request); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  // `request` is only read before `call` returns: the reply carries everything it needs.
  call(*partner, request, [reactor, out](Result<Response> result) {
    if (!result.ok()) return reactor->Finish(rpc::ToGrpc(result.status()));
    *out = rpc::Encode(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace

IntakeService::IntakeService(Intake& intake, rpc::AuthOptions auth) : intake_(intake), auth_(auth) {
  using grpc::ByteBuffer;
  const std::string name = api::IntakeService::service_full_name();
  auto partner = [this](const grpc::ServerContextBase& context) { return Partner(context); };
  auto reader = [this](const grpc::ServerContextBase& context) { return Reader(context); };
  MarkMethodStreamed(rpc::MethodIndex(name, "EnrollMember"),
                     rpc::DecodingUnary<api::EnrollMemberRequest, api::EnrollMemberResponse>(
                         partner, [this](const grpc::ServerContext& context, const std::string& p,
                                         const api::EnrollMemberRequest& request) {
                           return intake_.Enroll(p, request, DeadlineOf(context));
                         }));
  MarkMethodStreamed(
      rpc::MethodIndex(name, "BulkEnroll"),
      new grpc::internal::ClientStreamingHandler<IntakeService, ByteBuffer,
                                                 api::BulkEnrollResponse>(
          [](IntakeService* self, grpc::ServerContext* context,
             grpc::ServerReader<ByteBuffer>* reader, api::BulkEnrollResponse* response) {
            return self->BulkEnrollBytes(context, reader, response);
          },
          this));
  MarkMethodStreamed(rpc::MethodIndex(name, "GetClaim"),
                     rpc::DecodingUnary<api::GetClaimRequest, api::Claim>(
                         reader, [this](const grpc::ServerContext&, const ClaimReader& r,
                                        const api::GetClaimRequest& request) {
                           return intake_.GetClaim(r, request);
                         }));
  MarkMethodStreamed(rpc::MethodIndex(name, "ListClaims"),
                     rpc::DecodingUnary<api::ListClaimsRequest, api::ListClaimsResponse>(
                         reader, [this](const grpc::ServerContext&, const ClaimReader& r,
                                        const api::ListClaimsRequest& request) {
                           return intake_.ListClaims(r, request);
                         }));
  MarkMethodStreamed(rpc::MethodIndex(name, "WatchClaim"),
                     new grpc::internal::SplitServerStreamingHandler<ByteBuffer, api::Claim>(
                         [this](grpc::ServerContext* context, WatchClaimStream* stream) {
                           return WatchClaimBytes(context, stream);
                         }));
}

Result<ClaimReader> IntakeService::Reader(const grpc::ServerContextBase& context) const {
  Result<rpc::Caller> caller = rpc::Authenticate(context, auth_);
  if (!caller.ok()) return caller.status();
  if (caller->role == rpc::Role::kPartner) return ClaimReader::Partner(caller->id);
  if (caller->role == rpc::Role::kAuditor) return ClaimReader::Auditor();
  return PermissionDenied(
      std::string("reading claims needs the partner or auditor role; caller is ") +
      rpc::RoleName(caller->role));
}

Result<std::string> IntakeService::Partner(const grpc::ServerContextBase& context) const {
  Result<rpc::Caller> caller = rpc::Authenticate(context, auth_);
  if (!caller.ok()) return caller.status();
  if (Status s = rpc::Require(*caller, rpc::Role::kPartner); !s.ok()) return s;
  return caller->id;
}

grpc::Status IntakeService::BulkEnrollBytes(grpc::ServerContext* context,
                                            grpc::ServerReader<grpc::ByteBuffer>* reader,
                                            api::BulkEnrollResponse* response) {
  Result<std::string> partner = Partner(*context);
  if (!partner.ok()) return rpc::ToGrpc(partner.status());
  const Deadline deadline = DeadlineOf(*context);
  // Records not accepted, by stream index; records left to be enrolled alone.
  std::map<int32_t, Status> failed;
  std::map<int32_t, api::EnrollMemberRequest> alone;
  int32_t accepted = 0;
  auto tally = [&](StagedEnrollments& window, const std::vector<int32_t>& index,
                   std::vector<api::EnrollMemberRequest>& requests) {
    for (size_t k : window.alone) window.out[k] = Status(StatusCode::kAborted, "alone");
    for (size_t k : window.alone) alone.emplace(index[k], requests[k]);
    for (size_t k = 0; k < window.out.size(); ++k) {
      const Result<api::EnrollMemberResponse>& r = window.out[k];
      if (r.ok()) {
        ++accepted;
      } else if (r.status().code() != StatusCode::kAborted) {
        failed.emplace(index[k], r.status());
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
    std::vector<int32_t> index;  // each request's place in the stream
    std::shared_future<void> published;
  };
  std::deque<InFlight> in_flight;  // oldest first
  std::future<void> freed;
  auto retire_oldest = [&] {
    in_flight.front().published.wait();
    tally(*in_flight.front().staged, in_flight.front().index, in_flight.front().requests);
    // Waits for the window freed before (long done), then frees this one.
    freed = std::async(std::launch::async, [spent = std::move(in_flight.front())]() mutable {
      spent.staged.reset();
      spent.requests.clear();
      spent.index.clear();
    });
    in_flight.pop_front();
  };
  auto finish = [&] {
    while (!in_flight.empty()) retire_oldest();
  };
  // The records of a window, decoded: those that do not decode are refused (rpc::Decode names
  // their fields) and the stream goes on. gRPC's typed reader would have ended the stream there
  // as if the client had finished, leaving the rest unread and unanswered.
  struct Window {
    std::vector<api::EnrollMemberRequest> requests;
    std::vector<int32_t> index;                           // each request's place in the stream
    std::vector<std::pair<int32_t, Status>> undecodable;  // by place in the stream
    int32_t end = 0;                                      // the place after the window's last
  };
  bool more = true;  // while a read runs, only its thread uses `more`, `read` and `reader`
  int32_t read = 0;
  auto read_window = [&] {
    Window w;
    w.requests.reserve(kBulkWindow);
    const int32_t start = read;
    grpc::ByteBuffer bytes;
    while (static_cast<size_t>(read - start) < kBulkWindow && (more = reader->Read(&bytes))) {
      const int32_t at = read++;
      api::EnrollMemberRequest request;
      if (Status s = rpc::Decode(bytes, request); !s.ok()) {
        w.undecodable.emplace_back(at, std::move(s));
        continue;
      }
      w.requests.push_back(std::move(request));
      w.index.push_back(at);
    }
    w.end = read;
    return w;
  };
  std::future<Window> reading = std::async(std::launch::async, read_window);
  int32_t next = 0;  // the place of the first record not taken in yet
  for (;;) {
    Window window = reading.get();
    if (window.end == next) break;  // nothing more was read
    if (context->IsCancelled()) {
      finish();
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    if (must_stop()) {
      more = true;  // this window was read, not enrolled: it is to be resent
      break;
    }
    for (auto& [index, s] : window.undecodable) failed.emplace(index, std::move(s));
    next = window.end;
    const bool last = !more;
    if (!last) reading = std::async(std::launch::async, read_window);
    if (window.requests.empty()) {
      if (last) break;
      continue;
    }
    while (in_flight.size() >= kBulkWindowsInFlight) retire_oldest();
    std::unique_ptr<StagedEnrollments> staged =
        intake_.LockEnrollments(*partner, window.requests, deadline);
    std::shared_future<void> before =
        in_flight.empty() ? std::shared_future<void>() : in_flight.back().published;
    in_flight.push_back(
        InFlight{std::move(staged), std::move(window.requests), std::move(window.index), {}});
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
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return AnswerLater<api::TerminateMemberRequest, api::TerminateMemberResponse>(
      context, Partner(*context), *request, response,
      [&](const std::string& p, const api::TerminateMemberRequest& r, auto reply) {
        intake_.Terminate(p, r, DeadlineOf(*context), std::move(reply));
      });
}

grpc::ServerUnaryReactor* IntakeService::SubmitClaim(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return AnswerLater<api::SubmitClaimRequest, api::SubmitClaimResponse>(
      context, Partner(*context), *request, response,
      [&](const std::string& p, const api::SubmitClaimRequest& r, auto reply) {
        intake_.SubmitClaim(p, r, DeadlineOf(*context), std::move(reply));
      });
}

grpc::ServerUnaryReactor* IntakeService::AppealClaim(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return AnswerLater<api::AppealClaimRequest, api::AppealClaimResponse>(
      context, Partner(*context), *request, response,
      [&](const std::string& p, const api::AppealClaimRequest& r, auto reply) {
        intake_.Appeal(p, r, DeadlineOf(*context), std::move(reply));
      });
}

grpc::Status IntakeService::WatchClaimBytes(grpc::ServerContext* context,
                                            WatchClaimStream* writer) {
  Result<ClaimReader> reader = Reader(*context);
  if (!reader.ok()) return rpc::ToGrpc(reader.status());
  Result<api::WatchClaimRequest> request = rpc::ReadRequest<api::WatchClaimRequest>(*writer);
  if (!request.ok()) return rpc::ToGrpc(request.status());
  api::GetClaimRequest get;
  get.set_claim_id(request->claim_id());
  std::string last_sent;
  const auto give_up = std::chrono::steady_clock::now() + kMaxWatch;
  while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
    Result<api::Claim> claim = intake_.GetClaim(*reader, get);
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

IntakeAdminService::IntakeAdminService(Intake& intake, rpc::AuthOptions auth)
    : intake_(intake), auth_(auth) {
  MarkMethodStreamed(rpc::MethodIndex(api::IntakeAdminService::service_full_name(), "EraseMember"),
                     rpc::DecodingUnary<api::EraseMemberRequest, api::EraseMemberResponse>(
                         rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/false, auth_),
                         [this](const grpc::ServerContext& context, const rpc::Caller&,
                                const api::EraseMemberRequest& request) {
                           return intake_.EraseMember(request, DeadlineOf(context));
                         }));
}

}  // namespace claims::intake
