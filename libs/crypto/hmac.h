#pragma once

#include <string>
#include <string_view>

#include "libs/crypto/keys.h"
#include "libs/crypto/sha256.h"

namespace claims::crypto {

// HMAC-SHA256 (RFC 2104) of `data` under `key` (any length; raw bytes). Thread-safe.
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// The member id used everywhere in events, state and logs instead of the resident identity
// number: the lower-case hex HMAC-SHA256 (64 characters) of the normalised number under `key`.
// Deterministic, so the same person is the same member on every replay and in every service;
// not reversible, nor checkable against a guessed number, without the key.
//
// Pass identity::ResidentId::number (as ParseResidentId normalises it). As a guard against a
// caller that skipped normalisation, a trailing lower-case 'x' is hashed as 'X', so both
// spellings ParseResidentId accepts give one member id. Nothing else is normalised or checked.
std::string MemberPseudonym(const PseudonymKey& key, std::string_view resident_id_number);

}  // namespace claims::crypto
