#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "libs/base/status.h"
#include "libs/crypto/aes_gcm.h"
#include "libs/crypto/keys.h"

namespace claims::crypto {

// Per-member data keys are stored only wrapped (encrypted) under the master key. Erasing a
// member means deleting their wrapped key; their sealed data then cannot be opened by anyone.
//
// Construction: AES-256-GCM under the master key, a random 96-bit nonce, and the data key's id
// (the member id) as associated data. Chosen over AES key wrap with padding (RFC 5649) because
// RFC 5649 has no associated data: a wrapped key copied into another member's record would
// unwrap without complaint there, while GCM refuses it. GCM's one hazard, nonce reuse, does not
// arise: one random nonce per wrap, and a master key wraps one key per member, far below the
// 2^32 wraps random nonces allow. It is also the primitive already used for sealing, so there
// is one construction to review.
//
// Wrapped form (61 bytes): version byte 0x01 | nonce (12) | encrypted key (32) | tag (16).
inline constexpr size_t kWrappedKeySize = 1 + kGcmNonceSize + kKeySize + kGcmTagSize;

// The master keys a service holds: the current one, which wraps every new key, and during a
// rotation the one it replaces, which only unwraps (keys not yet re-wrapped by `claimsctl keys
// rewrap`). Implicitly made from a single MasterKey: outside a rotation that is all there is.
//
// Which master key wrapped a key is found by trial: the current key first, then the previous one
// when the current one fails authentication. The wrapped form names no master key. We weighed a
// version 0x02 carrying a short fingerprint of the master key and chose against it:
//   - No format change means no rollout order: a binary that reads only 0x01 still reads every
//     key a newer binary writes, so a rolling upgrade or a rollback mid-rotation is safe; a new
//     version would first need every reader upgraded before any writer used it.
//   - Trial costs one extra 32-byte GCM decryption for a key not yet re-wrapped, and nothing
//     once the rotation is done; GCM's tag makes the trial unambiguous (a wrong key fails
//     authentication; it never yields a wrong key).
//   - What a fingerprint would add, telling "wrapped under a master key we do not hold" from
//     "altered bytes", matters to no caller: both are DATA_LOSS and the record is unusable, and
//     the rewrap tool reports either by member id.
//   - A fingerprint is one more derived value of the master key to review and to keep stable.
// The AAD binds the version byte, so a later format can still be added beside 0x01.
struct MasterKeys {
  MasterKeys(MasterKey current_key,  // NOLINT: implicit by design
             std::optional<MasterKey> previous_key = std::nullopt)
      : current(std::move(current_key)), previous(std::move(previous_key)) {}

  MasterKey current;
  std::optional<MasterKey> previous;  // only during a rotation
};

// Wraps `key` under `master`, binding it to key.key_id(). INTERNAL only if the nonce source or
// OpenSSL fails. Thread-safe if `nonces` is.
Result<std::string> WrapKey(const MasterKey& master, const DataKey& key, NonceSource& nonces);

// The data key `wrapped` holds, named `key_id`, only if it was wrapped under `master` for that
// same key id. Errors: INVALID_ARGUMENT if `wrapped` is not 61 bytes starting with version 0x01;
// DATA_LOSS if it fails authentication (a different master key, a different key id, or any
// altered byte). Thread-safe.
Result<DataKey> UnwrapKey(const MasterKey& master, std::string_view key_id,
                          std::string_view wrapped);

// A data key unwrapped with MasterKeys, and whether it took the previous master key (the wrapped
// form is then due to be re-wrapped under the current one).
struct UnwrappedKey {
  DataKey key;
  bool by_previous = false;
};

// UnwrapKey under `masters.current`, then, on DATA_LOSS only, under `masters.previous` when
// there is one. Errors: INVALID_ARGUMENT as UnwrapKey (not retried: the form is wrong whatever
// the key); DATA_LOSS when neither key authenticates it, saying which keys were tried.
// Thread-safe.
Result<UnwrappedKey> UnwrapKeyWithEither(const MasterKeys& masters, std::string_view key_id,
                                         std::string_view wrapped);

// The same, for callers that do not care which key it took.
Result<DataKey> UnwrapKey(const MasterKeys& masters, std::string_view key_id,
                          std::string_view wrapped);

}  // namespace claims::crypto
