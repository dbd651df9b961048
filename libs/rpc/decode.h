#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/base/status.h"
#include "libs/rpc/call.h"
#include "libs/rpc/status_mapping.h"

namespace claims::rpc {

// Parses a message that gRPC handed over unparsed (a raw method). gRPC itself, when a request
// does not parse, answers INTERNAL (synchronous API) or UNIMPLEMENTED (callback API) without
// naming anything, and a client stream's reader just ends as if the client had finished. Here a
// message that does not parse is INVALID_ARGUMENT naming each string field that is not valid
// UTF-8 (proto3 refuses the whole message for one), or the message itself when its bytes are
// malformed.
Status Decode(const grpc::ByteBuffer& bytes, google::protobuf::Message& out);
Status Decode(std::string_view bytes, google::protobuf::Message& out);

// The string fields of `bytes`, the wire form of a `type`, that are not valid UTF-8, as field
// paths ("name", "documents[2]", "payee.name"), nested messages included. Stops quietly where the
// bytes are malformed.
std::vector<FieldViolation> InvalidUtf8Fields(std::string_view bytes,
                                              const google::protobuf::Descriptor& type);

// `message` as the bytes of a raw method's response.
grpc::ByteBuffer Encode(const google::protobuf::Message& message);

// The index of `method` in the service `service_full_name` ("mutualaid.payout.v1.PayoutService"),
// as the generated code numbers its methods. Aborts if there is none: the generated code and the
// descriptor pool disagree, a build error.
int MethodIndex(std::string_view service_full_name, std::string_view method);

// The request of a call on a raw method, read from its stream and decoded (Decode).
template <typename Request, typename Stream>
Result<Request> ReadRequest(Stream& stream) {
  grpc::ByteBuffer bytes;
  if (!stream.Read(&bytes)) return InvalidArgument("no request message", {{"message", "missing"}});
  Request request;
  if (Status s = Decode(bytes, request); !s.ok()) return s;
  return request;
}

// A unary method that takes its request as bytes, for MarkMethodStreamed in a synchronous
// service's constructor:
//   MarkMethodStreamed(rpc::MethodIndex(service_full_name(), "GetPayment"),
//                      rpc::DecodingUnary<api::GetPaymentRequest, api::Payment>(
//                          rpc::Allow(Role::kOperator, /*auditor_too=*/true, insecure_dev),
//                          [this](const grpc::ServerContext& context, const rpc::Caller& caller,
//                                 const api::GetPaymentRequest& request) { ... }));
// `authorize(context)` comes first and returns the caller as the method knows it (a Result): a
// caller it refuses gets that refusal and learns nothing of its request's content. Then the
// request is decoded: one that does not parse is INVALID_ARGUMENT naming the fields. Then
// `call(context, caller, request)` returns the Result<Response> that answers the call.
template <typename Request, typename Response, typename Authorize, typename Call>
grpc::internal::MethodHandler* DecodingUnary(Authorize authorize, Call call) {
  using Stream = grpc::ServerUnaryStreamer<grpc::ByteBuffer, Response>;
  return new grpc::internal::StreamedUnaryHandler<grpc::ByteBuffer, Response>(
      [authorize, call](grpc::ServerContext* context, Stream* stream) {
        auto caller = authorize(*context);
        if (!caller.ok()) return ToGrpc(caller.status());
        Result<Request> request = ReadRequest<Request>(*stream);
        if (!request.ok()) return ToGrpc(request.status());
        Result<Response> response = call(*context, *caller, *request);
        if (!response.ok()) return ToGrpc(response.status());
        if (!stream->Write(*response)) {
          return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        }
        return grpc::Status::OK;
      });
}

// A DecodingUnary whose answer does not depend on who asks, only on whether `authorize` admits
// them: `(handler.*read)(request)`.
template <typename Handler, typename Request, typename Response, typename Authorize>
grpc::internal::MethodHandler* DecodingRead(Authorize authorize, const Handler& handler,
                                            Result<Response> (Handler::*read)(const Request&)
                                                const) {
  return DecodingUnary<Request, Response>(
      std::move(authorize),
      [&handler, read](const grpc::ServerContext&, const auto& /*caller*/, const Request& request) {
        return (handler.*read)(request);
      });
}

// A DecodingUnary for an action taken in the caller's name:
// `(handler.*act)(caller.id, request, the call's deadline, whether the call was cancelled)`.
template <typename Handler, typename Request, typename Response, typename Authorize>
grpc::internal::MethodHandler* DecodingAction(
    Authorize authorize, const Handler& handler,
    Result<Response> (Handler::*act)(const std::string&, const Request&, Deadline,
                                     const std::function<bool()>&) const) {
  return DecodingUnary<Request, Response>(
      std::move(authorize), [&handler, act](const grpc::ServerContext& context,
                                            const Caller& caller, const Request& request) {
        return (handler.*act)(caller.id, request, DeadlineOf(context),
                              [&context] { return context.IsCancelled(); });
      });
}

// rpc::Authorize as DecodingUnary's `authorize`: `role`, or an auditor too if `auditor_too`.
inline auto Allow(Role role, bool auditor_too, AuthOptions auth) {
  return [=](const grpc::ServerContextBase& context) {
    return Authorize(context, auth, role, auditor_too);
  };
}
inline auto Allow(Role role, bool auditor_too, bool insecure_dev) {
  return Allow(role, auditor_too, AuthOptions{.insecure_dev = insecure_dev});
}

}  // namespace claims::rpc
