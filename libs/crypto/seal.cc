#include "libs/crypto/seal.h"

#include <cstdint>
#include <string>
#include <utility>

namespace claims::crypto {
namespace {

// The GCM associated data of a sealed value: a label (so a sealed value can never be taken for
// another construction's output), the key id with a 4-byte big-endian length (so key id and
// caller data cannot be re-split), then the caller's associated data.
std::string SealAad(std::string_view key_id, std::string_view associated_data) {
  static constexpr std::string_view kLabel("claims.seal.v1\0", 15);
  std::string aad;
  aad.reserve(kLabel.size() + 4 + key_id.size() + associated_data.size());
  aad += kLabel;
  const uint32_t n = static_cast<uint32_t>(key_id.size());
  for (int shift = 24; shift >= 0; shift -= 8) aad += static_cast<char>((n >> shift) & 0xff);
  aad += key_id;
  aad += associated_data;
  return aad;
}

}  // namespace

Result<Sealed> Seal(const DataKey& key, std::string_view plaintext,
                    std::string_view associated_data, NonceSource& nonces) {
  Result<GcmNonce> nonce = nonces.Next();
  if (!nonce.ok()) return nonce.status();
  Result<GcmSealed> gcm =
      Aes256GcmEncrypt(key.material(), *nonce, plaintext, SealAad(key.key_id(), associated_data));
  if (!gcm.ok()) return gcm.status();
  Sealed sealed;
  sealed.key_id = key.key_id();
  sealed.nonce = *nonce;
  sealed.ciphertext = std::move(gcm->ciphertext);
  sealed.tag = gcm->tag;
  return sealed;
}

Result<std::string> Open(const DataKey& key, const Sealed& sealed,
                         std::string_view associated_data) {
  if (sealed.key_id != key.key_id()) {
    return FailedPrecondition("value sealed under key '" + sealed.key_id +
                              "' cannot be opened with key '" + key.key_id() + "'");
  }
  Result<std::string> plaintext =
      Aes256GcmDecrypt(key.material(), sealed.nonce, sealed.ciphertext, sealed.tag,
                       SealAad(key.key_id(), associated_data));
  if (!plaintext.ok() && plaintext.status().code() == StatusCode::kDataLoss) {
    return DataLoss("sealed value under key '" + key.key_id() +
                    "' failed authentication: wrong key, wrong associated data, or altered bytes");
  }
  return plaintext;
}

}  // namespace claims::crypto
