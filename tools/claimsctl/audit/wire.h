#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class Descriptor;
}  // namespace google::protobuf

// Reading and writing serialized protobuf messages field by field, without building message
// objects, for the audit's hot paths. Reading is strict: where protobuf's own parser might read
// the bytes differently (groups, a known field with another wire type, a tag it refuses), the
// reader reports "unsure" and the caller takes the protobuf path instead, so a fast read never
// disagrees with a protobuf parse.
namespace claims::audit::wire {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One field as it is on the wire. `bytes` points into the message being read.
struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;     // kVarint: the value (fixed-width fields are skipped, not decoded)
  std::string_view bytes;  // kLengthDelimited: the contents
};

// The fields of one message, in wire order. Not thread-safe; cheap to copy.
class Reader {
 public:
  explicit Reader(std::string_view message) : m_(message) {}
  // The next field: true; false at the end of the message or when it cannot be read surely
  // (then ok() is false): a truncated or over-long varint or length, field number 0, a tag above
  // 32 bits, a group, or wire type 6 or 7.
  bool Next(Field& field);
  bool ok() const { return ok_; }

 private:
  std::string_view m_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Valid UTF-8 exactly as protobuf's parser requires it of proto3 `string` fields.
bool IsUtf8(std::string_view s);

// The parse rules of one message type, taken from its descriptor: which fields are strings
// (UTF-8 checked), bytes, scalars or nested messages. Built once per type and immutable:
// thread-safe.
class Schema {
 public:
  // The schema of `descriptor` (and of the messages it nests), cached for the process.
  static const Schema& For(const google::protobuf::Descriptor* descriptor);

  // True when protobuf's parser surely accepts `message` as this type: every field readable,
  // every known field with its own wire type, strings valid UTF-8, nested messages valid too.
  // False also when it merely might refuse it. `depth` is the nesting level of `message`.
  bool Accepts(std::string_view message, int depth = 0) const;
  // The same check for one field of a message of this type.
  bool Accepts(const Field& field, int depth = 0) const;

 private:
  enum class Kind : uint8_t {
    kUnknown,
    kString,
    kBytes,
    kVarint,
    kFixed32,
    kFixed64,
    kMessage,
    kGroup
  };
  struct Known {
    Kind kind = Kind::kUnknown;
    const Schema* nested = nullptr;
  };
  Known At(uint32_t number) const { return number < fields_.size() ? fields_[number] : Known{}; }
  std::vector<Known> fields_;  // by field number
  bool usable_ = true;         // false for a type with field numbers too large to index
};

// Appends protobuf's encoding of each field kind, as generated serializers write them.
void PutVarint(std::string& out, uint64_t v);
void PutTag(std::string& out, uint32_t number, WireType type);
// A string or bytes field; nothing when empty (proto3 implicit presence).
void PutBytes(std::string& out, uint32_t number, std::string_view v);
// An integer or enum field; nothing when 0. Negative values take ten bytes, as in protobuf.
void PutInt(std::string& out, uint32_t number, int64_t v);
size_t VarintSize(uint64_t v);

}  // namespace claims::audit::wire
