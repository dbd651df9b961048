#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>

#include <string_view>
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

// Who may call a method, as rpc::Authorize checks it: `role`, and an auditor too if
// `auditor_too`.
struct Access {
  Role role;
  bool auditor_too = false;
  bool insecure_dev = false;
};

// For a synchronous service, in its constructor:
//   MarkMethodStreamed(rpc::MethodIndex(service_full_name(), "GetPayment"),
//                      rpc::DecodingUnary(this, &PayoutService::GetPayment,
//                                         {Role::kOperator, /*auditor_too=*/true, insecure_dev}));
// gRPC then hands the method its request as bytes; they are decoded with Decode and the typed
// method is called as the generated code would have called it (it checks the caller itself). A
// request that does not parse is INVALID_ARGUMENT naming the fields, but only for a caller that
// `access` admits: any other learns nothing of its request's content, only its own refusal.
template <typename Service, typename Request, typename Response>
grpc::internal::MethodHandler* DecodingUnary(
    Service* self, grpc::Status (Service::*method)(grpc::ServerContext*, const Request*, Response*),
    Access access) {
  using Stream = grpc::ServerUnaryStreamer<grpc::ByteBuffer, Response>;
  return new grpc::internal::StreamedUnaryHandler<grpc::ByteBuffer, Response>(
      [self, method, access](grpc::ServerContext* context, Stream* stream) {
        grpc::ByteBuffer bytes;
        Request request;
        Status decoded = stream->Read(&bytes)
                             ? Decode(bytes, request)
                             : InvalidArgument("no request message", {{"message", "missing"}});
        if (!decoded.ok()) {
          Result<Caller> caller =
              Authorize(*context, access.insecure_dev, access.role, access.auditor_too);
          return ToGrpc(caller.ok() ? decoded : caller.status());
        }
        Response response;
        grpc::Status status = (self->*method)(context, &request, &response);
        if (!status.ok()) return status;
        if (!stream->Write(response))
          return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        return grpc::Status::OK;
      });
}

}  // namespace claims::rpc
