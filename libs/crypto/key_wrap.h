#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

// Wraps `key` under `master`, binding it to key.key_id(). INTERNAL only if the nonce source or
// OpenSSL fails. Thread-safe if `nonces` is.
Result<std::string> WrapKey(const MasterKey& master, const DataKey& key, NonceSource& nonces);

// The data key `wrapped` holds, named `key_id`, only if it was wrapped under `master` for that
// same key id. Errors: INVALID_ARGUMENT if `wrapped` is not 61 bytes starting with version 0x01;
// DATA_LOSS if it fails authentication (a different master key, a different key id, or any
// altered byte). Thread-safe.
Result<DataKey> UnwrapKey(const MasterKey& master, std::string_view key_id,
                          std::string_view wrapped);

}  // namespace claims::crypto
