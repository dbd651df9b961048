#pragma once

#include <cstdint>
#include <span>

#include "libs/base/status.h"

namespace claims::crypto {

// Fills `out` with bytes from OpenSSL's CSPRNG. RAND_bytes locks and reseeds per call, which
// costs more than the bytes themselves when a bulk enrollment draws four small values per
// member (key, key id, two nonces); so each thread draws 4 KiB at a time and hands them out,
// wiping every byte from its buffer as it goes. INTERNAL if the CSPRNG fails. Thread-safe.
// Never on a deciding path: randomness never affects a decision or a payment.
Status RandomBytes(std::span<uint8_t> out);

}  // namespace claims::crypto
