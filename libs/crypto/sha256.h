#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace claims::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of `data`. Thread-safe.
Sha256Digest Sha256(std::string_view data);
// The digest as 64 lower-case hex characters.
std::string Sha256Hex(std::string_view data);
std::string ToHex(std::string_view bytes);
inline std::string_view AsBytes(const Sha256Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace claims::crypto
