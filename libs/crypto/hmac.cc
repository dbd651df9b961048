#include "libs/crypto/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cassert>
#include <string>

namespace claims::crypto {

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  // OpenSSL treats a null key pointer as "no key given"; an empty key must still be a key.
  static constexpr unsigned char kEmpty[1] = {0};
  const void* key_ptr = key.empty() ? kEmpty : static_cast<const void*>(key.data());
  const unsigned char* data_ptr =
      data.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(data.data());
  Sha256Digest out{};
  unsigned int len = 0;
  const unsigned char* ok = HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), data_ptr,
                                 data.size(), out.data(), &len);
  assert(ok != nullptr && len == out.size());
  (void)ok;
  return out;
}

std::string MemberPseudonym(const PseudonymKey& key, std::string_view resident_id_number) {
  std::string number(resident_id_number);
  if (!number.empty() && number.back() == 'x') number.back() = 'X';
  const std::span<const uint8_t, kKeySize> k = key.material().bytes();
  std::string pseudonym = ToHex(AsBytes(
      HmacSha256(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), number)));
  OPENSSL_cleanse(number.data(), number.size());
  return pseudonym;
}

}  // namespace claims::crypto
