#include "libs/crypto/sha256.h"

#include <openssl/evp.h>

#include <cassert>

namespace claims::crypto {

namespace {

// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up again on every digest,
// which cost more than hashing a typical 200-byte event.
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, FetchedSha256(), nullptr);
  assert(ok == 1 && len == out.size());
  (void)ok;
  return out;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xf];
  }
  return hex;
}

std::string Sha256Hex(std::string_view data) { return ToHex(AsBytes(Sha256(data))); }

}  // namespace claims::crypto
