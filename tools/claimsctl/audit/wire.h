#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// Reading single fields of serialized protobuf messages without parsing (or copying) the rest,
// for the audit's hot paths. Only top-level fields; the last occurrence wins, as in protobuf.
namespace claims::audit::wire {

// The bytes of length-delimited field `number` (string, bytes, message); nullopt when absent or
// when `message` is not well-formed up to it.
std::optional<std::string_view> LengthDelimited(std::string_view message, uint32_t number);
// The value of varint field `number`; nullopt when absent or malformed.
std::optional<uint64_t> Varint(std::string_view message, uint32_t number);

}  // namespace claims::audit::wire
