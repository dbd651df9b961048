#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "libs/base/status.h"

namespace claims::crypto {

inline constexpr size_t kKeySize = 32;  // AES-256 and HMAC-SHA256 keys alike

// 32 bytes of secret key material. Zeroised (OPENSSL_cleanse) when destroyed or overwritten;
// every copy is zeroised in turn, so copies are safe but should stay few. Has no operator<< and
// no ToString: key material is never printed, and no error message of this library contains
// any. Thread-safe to read.
class KeyMaterial {
 public:
  // Exactly 32 raw bytes; INVALID_ARGUMENT (naming only the length) otherwise.
  static Result<KeyMaterial> FromBytes(std::string_view raw);

  // Reads a key file holding either exactly 32 raw bytes or 64 hex digits (either case;
  // trailing whitespace such as the newline `openssl rand -hex 32` writes is ignored).
  // Errors name the path and the problem, never the content:
  //   NOT_FOUND            the file does not exist;
  //   FAILED_PRECONDITION  it exists but cannot be read (permissions, a directory, ...);
  //   INVALID_ARGUMENT     wrong length, or 64 characters of which one is not a hex digit.
  static Result<KeyMaterial> FromFile(const std::string& path);

  KeyMaterial(const KeyMaterial& other);
  KeyMaterial& operator=(const KeyMaterial& other);
  ~KeyMaterial();

  // For the primitives in this library; callers outside libs/crypto have no need for it.
  std::span<const uint8_t, kKeySize> bytes() const { return bytes_; }

  // Constant-time comparison, for tests and key rotation checks.
  bool SameAs(const KeyMaterial& other) const;

 private:
  KeyMaterial() = default;
  std::array<uint8_t, kKeySize> bytes_{};
};

// The key that wraps (encrypts) every member's DataKey; see key_wrap.h. Loaded from a file the
// operator provisions; never leaves the process.
class MasterKey {
 public:
  static Result<MasterKey> FromFile(const std::string& path);  // errors as KeyMaterial::FromFile
  static Result<MasterKey> FromBytes(std::string_view raw);
  const KeyMaterial& material() const { return material_; }

 private:
  explicit MasterKey(KeyMaterial material) : material_(std::move(material)) {}
  KeyMaterial material_;
};

// The HMAC key behind member pseudonyms (MemberPseudonym in hmac.h). Deliberately a different
// key from the MasterKey: the pseudonym key can never change without renaming every member in
// every event, while the master key may be rotated by re-wrapping data keys.
class PseudonymKey {
 public:
  static Result<PseudonymKey> FromFile(const std::string& path);  // errors as KeyMaterial
  static Result<PseudonymKey> FromBytes(std::string_view raw);
  const KeyMaterial& material() const { return material_; }

 private:
  explicit PseudonymKey(KeyMaterial material) : material_(std::move(material)) {}
  KeyMaterial material_;
};

// One member's AES-256-GCM key for sealing their personal data (seal.h). Destroying every copy
// of it (and of its wrapped form) makes that member's sealed data unreadable: erasure.
//
// `key_id` names the key, is not secret, and by convention is the member id (the pseudonym),
// optionally with a version suffix. It is recorded in every Sealed value and authenticated both
// there and when the key is wrapped, so a key cannot silently be used as another member's.
class DataKey {
 public:
  // INVALID_ARGUMENT if `key_id` is empty or `raw` is not 32 bytes.
  static Result<DataKey> FromBytes(std::string key_id, std::string_view raw);

  const std::string& key_id() const { return key_id_; }
  const KeyMaterial& material() const { return material_; }

 private:
  DataKey(std::string key_id, KeyMaterial material)
      : key_id_(std::move(key_id)), material_(std::move(material)) {}
  friend Result<DataKey> GenerateDataKey(std::string key_id);
  std::string key_id_;
  KeyMaterial material_;
};

// A fresh random data key from OpenSSL's CSPRNG (RAND_bytes). Thread-safe. INVALID_ARGUMENT if
// `key_id` is empty; INTERNAL if the CSPRNG fails. Only intake calls this: key generation is
// never on a deciding path, so its randomness does not affect replay.
Result<DataKey> GenerateDataKey(std::string key_id);

}  // namespace claims::crypto
