#include "libs/crypto/key_wrap.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

namespace claims::crypto {
namespace {

constexpr char kVersion = 0x01;

// The GCM associated data of a wrapped key: a label, the version byte, then the key id.
std::string WrapAad(std::string_view key_id) {
  static constexpr std::string_view kLabel("claims.wrap.v1\0", 15);
  std::string aad(kLabel);
  aad += kVersion;
  aad += key_id;
  return aad;
}

std::string_view AsChars(std::span<const uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

Result<std::string> WrapKey(const MasterKey& master, const DataKey& key, NonceSource& nonces) {
  Result<GcmNonce> nonce = nonces.Next();
  if (!nonce.ok()) return nonce.status();
  Result<GcmSealed> gcm = Aes256GcmEncrypt(master.material(), *nonce,
                                           AsChars(key.material().bytes()), WrapAad(key.key_id()));
  if (!gcm.ok()) return gcm.status();
  std::string wrapped;
  wrapped.reserve(kWrappedKeySize);
  wrapped += kVersion;
  wrapped += AsChars(*nonce);
  wrapped += gcm->ciphertext;
  wrapped += AsChars(gcm->tag);
  return wrapped;
}

Result<DataKey> UnwrapKey(const MasterKey& master, std::string_view key_id,
                          std::string_view wrapped) {
  if (wrapped.size() != kWrappedKeySize) {
    return InvalidArgument("a wrapped key must be " + std::to_string(kWrappedKeySize) +
                           " bytes, got " + std::to_string(wrapped.size()));
  }
  if (wrapped[0] != kVersion) {
    return InvalidArgument("unknown wrapped key version " +
                           std::to_string(static_cast<uint8_t>(wrapped[0])));
  }
  GcmNonce nonce;
  GcmTag tag;
  std::copy_n(wrapped.begin() + 1, kGcmNonceSize, nonce.begin());
  const std::string_view ciphertext = wrapped.substr(1 + kGcmNonceSize, kKeySize);
  std::copy_n(wrapped.end() - kGcmTagSize, kGcmTagSize, tag.begin());
  Result<std::string> raw =
      Aes256GcmDecrypt(master.material(), nonce, ciphertext, tag, WrapAad(key_id));
  if (!raw.ok()) {
    if (raw.status().code() == StatusCode::kDataLoss) {
      return DataLoss("wrapped key for '" + std::string(key_id) +
                      "' failed authentication: wrong master key, wrong key id, or altered bytes");
    }
    return raw.status();
  }
  Result<DataKey> key = DataKey::FromBytes(std::string(key_id), *raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  return key;
}

Result<UnwrappedKey> UnwrapKeyWithEither(const MasterKeys& masters, std::string_view key_id,
                                         std::string_view wrapped) {
  Result<DataKey> current = UnwrapKey(masters.current, key_id, wrapped);
  if (current.ok()) return UnwrappedKey{std::move(current).value(), false};
  if (current.status().code() != StatusCode::kDataLoss || !masters.previous.has_value()) {
    return current.status();
  }
  Result<DataKey> previous = UnwrapKey(*masters.previous, key_id, wrapped);
  if (previous.ok()) return UnwrappedKey{std::move(previous).value(), true};
  if (previous.status().code() != StatusCode::kDataLoss) return previous.status();
  return DataLoss("wrapped key for '" + std::string(key_id) +
                  "' failed authentication under the current and the previous master key: "
                  "another master key, a wrong key id, or altered bytes");
}

Result<DataKey> UnwrapKey(const MasterKeys& masters, std::string_view key_id,
                          std::string_view wrapped) {
  Result<UnwrappedKey> unwrapped = UnwrapKeyWithEither(masters, key_id, wrapped);
  if (!unwrapped.ok()) return unwrapped.status();
  return std::move(unwrapped->key);
}

}  // namespace claims::crypto
