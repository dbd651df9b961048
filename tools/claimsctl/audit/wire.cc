#include "tools/claimsctl/audit/wire.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/common.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace claims::audit::wire {
namespace {

namespace pb = ::google::protobuf;

// Reads a varint of at most `max_bytes` bytes; false when truncated, longer, or (at ten bytes)
// beyond 64 bits.
bool ReadVarint(std::string_view m, size_t* pos, uint64_t* value, int max_bytes) {
  uint64_t result = 0;
  for (int i = 0; i < max_bytes && *pos < m.size(); ++i) {
    const auto byte = static_cast<uint8_t>(m[(*pos)++]);
    if (i == 9 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

constexpr int kMaxDepth = 32;
// Field numbers a schema indexes directly; types with larger ones are left to protobuf.
constexpr int kMaxIndexed = 4096;

}  // namespace

bool Reader::Next(Field& field) {
  if (pos_ >= m_.size() || !ok_) return false;
  uint64_t tag = 0;
  if (!ReadVarint(m_, &pos_, &tag, 5) || tag > 0xffffffffu || (tag >> 3) == 0) {
    ok_ = false;
    return false;
  }
  field.number = static_cast<uint32_t>(tag >> 3);
  switch (tag & 7) {
    case 0:
      field.type = WireType::kVarint;
      if (!ReadVarint(m_, &pos_, &field.varint, 10)) break;
      return true;
    case 2: {
      field.type = WireType::kLengthDelimited;
      uint64_t n = 0;
      if (!ReadVarint(m_, &pos_, &n, 5) || n > m_.size() - pos_) break;
      field.bytes = m_.substr(pos_, n);
      pos_ += n;
      return true;
    }
    case 1:
      field.type = WireType::kFixed64;
      if (m_.size() - pos_ < 8) break;
      pos_ += 8;
      return true;
    case 5:
      field.type = WireType::kFixed32;
      if (m_.size() - pos_ < 4) break;
      pos_ += 4;
      return true;
    default:  // groups (3, 4) and the invalid 6, 7
      break;
  }
  ok_ = false;
  return false;
}

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, s.data() + i, 8);
    if ((chunk & 0x8080808080808080ull) != 0) break;
  }
  for (; i < s.size(); ++i) {
    if ((static_cast<uint8_t>(s[i]) & 0x80) != 0) {
      return pb::internal::IsStructurallyValidUTF8(s.data() + i, static_cast<int>(s.size() - i));
    }
  }
  return true;
}

const Schema& Schema::For(const pb::Descriptor* descriptor) {
  static std::mutex mu;
  static std::map<const pb::Descriptor*, std::unique_ptr<Schema>>* cache =
      new std::map<const pb::Descriptor*, std::unique_ptr<Schema>>();
  std::lock_guard<std::mutex> lock(mu);
  // Built iteratively: a nested type is registered before its fields are filled, so recursive
  // types terminate.
  auto build = [&](const pb::Descriptor* d, auto& self) -> Schema* {
    auto it = cache->find(d);
    if (it != cache->end()) return it->second.get();
    Schema* schema = cache->emplace(d, std::make_unique<Schema>()).first->second.get();
    int max_number = 0;
    for (int i = 0; i < d->field_count(); ++i) {
      max_number = std::max(max_number, d->field(i)->number());
    }
    if (max_number > kMaxIndexed) {
      schema->usable_ = false;  // never accepts: such messages take the protobuf path
      return schema;
    }
    schema->fields_.resize(static_cast<size_t>(max_number) + 1);
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      Known k;
      switch (f->type()) {
        case pb::FieldDescriptor::TYPE_STRING:
          k.kind = f->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3 ? Kind::kString
                                                                            : Kind::kBytes;
          break;
        case pb::FieldDescriptor::TYPE_BYTES:
          k.kind = Kind::kBytes;
          break;
        case pb::FieldDescriptor::TYPE_MESSAGE:
          k.kind = Kind::kMessage;
          k.nested = self(f->message_type(), self);
          break;
        case pb::FieldDescriptor::TYPE_FIXED32:
        case pb::FieldDescriptor::TYPE_SFIXED32:
        case pb::FieldDescriptor::TYPE_FLOAT:
          k.kind = Kind::kFixed32;
          break;
        case pb::FieldDescriptor::TYPE_FIXED64:
        case pb::FieldDescriptor::TYPE_SFIXED64:
        case pb::FieldDescriptor::TYPE_DOUBLE:
          k.kind = Kind::kFixed64;
          break;
        case pb::FieldDescriptor::TYPE_GROUP:
          k.kind = Kind::kGroup;
          break;
        default:  // the varint types: int32/64, uint32/64, sint32/64, bool, enum
          k.kind = Kind::kVarint;
          break;
      }
      schema->fields_[static_cast<size_t>(f->number())] = k;
    }
    return schema;
  };
  return *build(descriptor, build);
}

bool Schema::Accepts(const Field& field, int depth) const {
  if (!usable_) return false;
  const Known k = At(field.number);
  switch (k.kind) {
    case Kind::kUnknown:
      return true;  // kept as an unknown field; the reader has refused groups already
    case Kind::kString:
      return field.type == WireType::kLengthDelimited && IsUtf8(field.bytes);
    case Kind::kBytes:
      return field.type == WireType::kLengthDelimited;
    case Kind::kMessage:
      return field.type == WireType::kLengthDelimited && depth < kMaxDepth &&
             k.nested->Accepts(field.bytes, depth + 1);
    case Kind::kVarint:
      return field.type == WireType::kVarint;
    case Kind::kFixed32:
      return field.type == WireType::kFixed32;
    case Kind::kFixed64:
      return field.type == WireType::kFixed64;
    case Kind::kGroup:
      return false;
  }
  return false;
}

bool Schema::Accepts(std::string_view message, int depth) const {
  if (!usable_) return false;
  Reader reader(message);
  Field field;
  while (reader.Next(field)) {
    if (!Accepts(field, depth)) return false;
  }
  return reader.ok();
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutTag(std::string& out, uint32_t number, WireType type) {
  PutVarint(out, (static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(type));
}

void PutBytes(std::string& out, uint32_t number, std::string_view v) {
  if (v.empty()) return;
  PutTag(out, number, WireType::kLengthDelimited);
  PutVarint(out, v.size());
  out.append(v);
}

void PutInt(std::string& out, uint32_t number, int64_t v) {
  if (v == 0) return;
  PutTag(out, number, WireType::kVarint);
  PutVarint(out, static_cast<uint64_t>(v));
}

}  // namespace claims::audit::wire
