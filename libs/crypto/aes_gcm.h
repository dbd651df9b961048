#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "libs/base/status.h"
#include "libs/crypto/keys.h"

namespace claims::crypto {

// Raw AES-256-GCM (NIST SP 800-38D) with 96-bit nonces and 128-bit tags. Application code uses
// Seal/Open (seal.h) and WrapKey/UnwrapKey (key_wrap.h), which fix the associated-data layout;
// these are the primitives under them, public so they can be checked against published vectors.

inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
using GcmNonce = std::array<uint8_t, kGcmNonceSize>;
using GcmTag = std::array<uint8_t, kGcmTagSize>;

// The largest plaintext or associated data accepted (1 GiB); larger inputs are INVALID_ARGUMENT.
inline constexpr size_t kGcmMaxInputSize = size_t{1} << 30;

// Where GCM nonces come from. A nonce must never repeat under one key: a repeat reveals the XOR
// of two plaintexts and lets the key's authenticator be forged. Implementations say whether
// they are thread-safe.
class NonceSource {
 public:
  virtual ~NonceSource() = default;
  virtual Result<GcmNonce> Next() = 0;
};

// 96-bit nonces from OpenSSL's CSPRNG (RAND_bytes); INTERNAL if it fails. Thread-safe. Random
// nonces are safe for up to 2^32 encryptions per key (NIST SP 800-38D 8.3); a member's data
// key seals a handful of values, and a master key wraps one data key per member.
class RandomNonceSource final : public NonceSource {
 public:
  Result<GcmNonce> Next() override;
};

struct GcmSealed {
  std::string ciphertext;  // same length as the plaintext
  GcmTag tag{};
};

// Encrypts and authenticates `plaintext`, and authenticates `aad`. Thread-safe.
Result<GcmSealed> Aes256GcmEncrypt(const KeyMaterial& key, const GcmNonce& nonce,
                                   std::string_view plaintext, std::string_view aad);

// The plaintext, only if `tag` authenticates `ciphertext` and `aad` under `key` and `nonce`.
// Otherwise DATA_LOSS ("failed authentication") and no plaintext: nothing decrypted is ever
// returned or left in memory unless it authenticated. Thread-safe.
Result<std::string> Aes256GcmDecrypt(const KeyMaterial& key, const GcmNonce& nonce,
                                     std::string_view ciphertext, const GcmTag& tag,
                                     std::string_view aad);

}  // namespace claims::crypto
