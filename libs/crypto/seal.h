#pragma once

#include <string>
#include <string_view>

#include "libs/base/status.h"
#include "libs/crypto/aes_gcm.h"
#include "libs/crypto/keys.h"

namespace claims::crypto {

// Personal data encrypted under one member's DataKey, as it is stored or carried in events.
// Nothing here is secret; all of it is authenticated. Copy freely.
struct Sealed {
  std::string key_id;  // the DataKey that sealed it (by convention the member id)
  GcmNonce nonce{};
  std::string ciphertext;  // as long as the plaintext
  GcmTag tag{};

  friend bool operator==(const Sealed&, const Sealed&) = default;
};

// Encrypts `plaintext` (e.g. a member's name, phone number, bank card) under `key` with
// AES-256-GCM and a fresh nonce from `nonces`. The GCM associated data is the key id plus
// `associated_data`, which the caller chooses to bind the value to its context (e.g.
// "claim/<claim id>/bank_card") and must present again to Open; it is not stored in Sealed.
//
// Not deterministic: each call draws a new nonce. That is safe for replay because sealing
// happens only at intake, before an event is published; nothing that decides or pays a claim
// seals, and replay re-reads the sealed bytes from the log rather than sealing again. The
// deciding path reads member ids (pseudonyms), never sealed values.
//
// INVALID_ARGUMENT for inputs over kGcmMaxInputSize; otherwise only the nonce source or OpenSSL
// can fail (INTERNAL). Thread-safe if `nonces` is.
Result<Sealed> Seal(const DataKey& key, std::string_view plaintext,
                    std::string_view associated_data, NonceSource& nonces);

// The plaintext of `sealed`, only if it authenticates. Errors:
//   FAILED_PRECONDITION  sealed.key_id is not key.key_id(): the caller fetched the wrong key;
//   DATA_LOSS            authentication failed: a different key under the same id (e.g. one
//                        regenerated after erasure), different associated data, or any changed
//                        byte of the key id, nonce, ciphertext or tag. Nothing is decrypted.
// We use DATA_LOSS rather than a permission code because the caller is entitled to the data and
// holds the key it was told to use; what failed is the integrity of the stored bytes. Messages
// never contain plaintext or key material. Thread-safe.
Result<std::string> Open(const DataKey& key, const Sealed& sealed,
                         std::string_view associated_data);

}  // namespace claims::crypto
