#include "libs/rpc/decode.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/support/slice.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "libs/base/text.h"

namespace claims::rpc {

namespace {

// Nested messages deeper than this are not searched (the parser refuses deeper ones anyway).
constexpr int kMaxDepth = 32;

void Collect(std::string_view bytes, const google::protobuf::Descriptor& type,
             const std::string& prefix, int depth, std::vector<FieldViolation>& out) {
  google::protobuf::UnknownFieldSet fields;
  // A malformed tail leaves what was read before it in `fields`: searched all the same.
  (void)fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  std::map<int, int> seen;  // field number -> occurrences so far (the index of a repeated field)
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const int occurrence = seen[f.number()]++;
    const google::protobuf::FieldDescriptor* field = type.FindFieldByNumber(f.number());
    if (field == nullptr) continue;  // unknown to this version: not ours to judge
    std::string path = prefix + field->name();
    if (field->is_repeated() && !field->is_map()) path += "[" + std::to_string(occurrence) + "]";
    const std::string& value = f.length_delimited();
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(value)) out.push_back({path, "not valid UTF-8"});
    } else if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
               depth < kMaxDepth) {
      Collect(value, *field->message_type(), path + ".", depth + 1, out);
    }
  }
}

}  // namespace

std::vector<FieldViolation> InvalidUtf8Fields(std::string_view bytes,
                                              const google::protobuf::Descriptor& type) {
  std::vector<FieldViolation> out;
  Collect(bytes, type, "", 0, out);
  return out;
}

Status Decode(std::string_view bytes, google::protobuf::Message& out) {
  if (out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return Status::Ok();
  const std::string& name = out.GetDescriptor()->full_name();
  out.Clear();
  std::vector<FieldViolation> bad = InvalidUtf8Fields(bytes, *out.GetDescriptor());
  if (!bad.empty()) return InvalidArgument("the " + name + " holds text that is not UTF-8", bad);
  return InvalidArgument("the message is not a valid " + name,
                         {{"message", "malformed protobuf bytes"}});
}

Status Decode(const grpc::ByteBuffer& bytes, google::protobuf::Message& out) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) {
    return InvalidArgument("the message could not be read", {{"message", "unreadable"}});
  }
  if (slices.size() == 1) {
    return Decode(
        std::string_view(reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()), out);
  }
  std::string joined;
  joined.reserve(bytes.Length());
  for (const grpc::Slice& s : slices) {
    joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return Decode(joined, out);
}

grpc::ByteBuffer Encode(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

int MethodIndex(std::string_view service_full_name, std::string_view method) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name));
  const google::protobuf::MethodDescriptor* found =
      service == nullptr ? nullptr : service->FindMethodByName(std::string(method));
  if (found == nullptr) {
    std::fprintf(stderr, "%.*s has no method %.*s\n", static_cast<int>(service_full_name.size()),
                 service_full_name.data(), static_cast<int>(method.size()), method.data());
    std::abort();
  }
  return found->index();
}

}  // namespace claims::rpc
