#include "tools/claimsctl/audit/wire.h"

namespace claims::audit::wire {
namespace {

bool ReadVarint(std::string_view m, size_t* pos, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70 && *pos < m.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(m[(*pos)++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

// Walks the fields of `m`, calling visit(number, wire type, varint value, bytes) for each;
// false when `m` is malformed.
template <typename Visit>
bool Walk(std::string_view m, Visit visit) {
  size_t pos = 0;
  while (pos < m.size()) {
    uint64_t tag = 0;
    if (!ReadVarint(m, &pos, &tag)) return false;
    const auto number = static_cast<uint32_t>(tag >> 3);
    const uint64_t type = tag & 7;
    uint64_t v = 0;
    std::string_view bytes;
    if (type == 0) {
      if (!ReadVarint(m, &pos, &v)) return false;
    } else if (type == 2) {
      if (!ReadVarint(m, &pos, &v) || v > m.size() - pos) return false;
      bytes = m.substr(pos, v);
      pos += v;
    } else if (type == 1 || type == 5) {
      const size_t n = type == 1 ? 8 : 4;
      if (n > m.size() - pos) return false;
      pos += n;
    } else {
      return false;
    }
    visit(number, type, v, bytes);
  }
  return true;
}

}  // namespace

std::optional<std::string_view> LengthDelimited(std::string_view message, uint32_t number) {
  std::optional<std::string_view> found;
  const bool ok = Walk(message, [&](uint32_t n, uint64_t type, uint64_t, std::string_view b) {
    if (n == number && type == 2) found = b;
  });
  return ok ? found : std::nullopt;
}

std::optional<uint64_t> Varint(std::string_view message, uint32_t number) {
  std::optional<uint64_t> found;
  const bool ok = Walk(message, [&](uint32_t n, uint64_t type, uint64_t v, std::string_view) {
    if (n == number && type == 0) found = v;
  });
  return ok ? found : std::nullopt;
}

}  // namespace claims::audit::wire
