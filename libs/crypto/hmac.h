#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "libs/crypto/keys.h"
#include "libs/crypto/sha256.h"

namespace claims::crypto {

// HMAC-SHA256 (RFC 2104) of `data` under `key` (any length; raw bytes). Thread-safe.
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// HMAC-SHA256 under one key, set up once for many messages: OpenSSL 3 builds and keys a MAC
// context on every HmacSha256 call, which costs several times what MACing a 200-byte message
// does. Mac(data) equals HmacSha256(key, data). Thread-safe: concurrent callers each use a
// context of their own, kept for the next call. Holds the key (and its HMAC state), zeroised
// when destroyed.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(HmacSha256Key&&) noexcept;
  HmacSha256Key& operator=(HmacSha256Key&&) noexcept;

  Sha256Digest Mac(std::string_view data) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The member id used everywhere in events, state and logs instead of the resident identity
// number: the lower-case hex HMAC-SHA256 (64 characters) of the normalised number under `key`.
// Deterministic, so the same person is the same member on every replay and in every service;
// not reversible, nor checkable against a guessed number, without the key.
//
// Pass identity::ResidentId::number (as ParseResidentId normalises it). As a guard against a
// caller that skipped normalisation, a trailing lower-case 'x' is hashed as 'X', so both
// spellings ParseResidentId accepts give one member id. Nothing else is normalised or checked.
std::string MemberPseudonym(const PseudonymKey& key, std::string_view resident_id_number);
// The same, under the pseudonym key set up once (HmacSha256Key of its 32 bytes): for callers
// that name many members.
std::string MemberPseudonym(const HmacSha256Key& key, std::string_view resident_id_number);

}  // namespace claims::crypto
