#pragma once

#include <cassert>
#include <string>
#include <string_view>

namespace claims::crypto::test_util {

// Decodes lower- or upper-case hex (even length, asserted) to bytes.
inline std::string FromHex(std::string_view hex) {
  assert(hex.size() % 2 == 0);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    assert(false);
    return 0;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  }
  return out;
}

}  // namespace claims::crypto::test_util
