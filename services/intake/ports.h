#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"
#include "libs/events/event_log.h"
#include "libs/runtime/business_clock.h"
#include "mutualaid/events/v1/common.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"

// What the intake logic needs from the outside world, as interfaces: the real adapters (Kafka,
// the member key vault, the system clock) live beside them; tests of the logic may use fakes.
namespace claims::intake {

// The system of record, intake.events.v1 (libs/events/event_log.h).
using events::EventLog;

// Pseudonyms and sealing of personal data (PIPL): the resident ID number becomes a keyed hash;
// identity and payee fields are sealed under the member's own data key. Thread-safe.
class MemberVault {
 public:
  virtual ~MemberVault() = default;
  // The member id: keyed HMAC-SHA256 of the normalised resident ID number, hex.
  virtual std::string MemberId(const std::string& resident_id_number) = 0;
  // A keyed HMAC-SHA256 (32 raw bytes) of a request's bytes, the same on every replica, for
  // recognising a retried request in the log without revealing it (IntakeCall.request_mac).
  virtual std::string RequestMac(std::string_view request_bytes) = 0;
  // Seals `plaintext` under the member's data key, creating and durably recording that key
  // first when the member has none (waiting at most `timeout` for that; DEADLINE_EXCEEDED or
  // UNAVAILABLE when it is not recorded in time). `context` binds the sealed bytes to their use.
  virtual Result<mutualaid::events::v1::SealedPersonalData> Seal(
      const std::string& member_id, const std::string& plaintext, const std::string& context,
      std::chrono::milliseconds timeout) = 0;
  // Creates and durably records a data key for every member in `member_ids` that has none, all
  // at once (one round trip for the lot), waiting at most `timeout`: a later Seal for them finds
  // the key. DEADLINE_EXCEEDED or UNAVAILABLE when some key is not recorded in time (the keys
  // that were recorded are kept). This default does nothing (Seal creates keys one by one).
  virtual Status PrepareKeys(const std::vector<std::string>& member_ids,
                             std::chrono::milliseconds timeout) {
    (void)member_ids;
    (void)timeout;
    return Status::Ok();
  }
  // Erases the member's personal data (PIPL) by destroying every data key of the member it knows
  // of, durably (waiting at most `timeout`), everywhere the keys were recorded. Returns the key
  // ids destroyed, sorted; none when there were none (so erasing twice is not an error). What was
  // sealed under them can no longer be opened; a later Seal for the member creates a new key.
  virtual Result<std::vector<std::string>> Erase(const std::string& member_id,
                                                 std::chrono::milliseconds timeout) = 0;
};

// Who holds an idempotency key when replicas race: every replica appends the calls it is about
// to publish to one shared log (intake.calls.v1) that all replicas read in the same order, and
// the first call appended under a key holds it. A call publishes only while the holder is a call
// with its own method and request MAC; another request under the key gets ALREADY_EXISTS,
// whichever replica it reached and however close together the two came.
class KeyClaims {
 public:
  virtual ~KeyClaims() = default;
  // One claim: the record key (partner \0 idempotency key) and the call as recorded (method,
  // request MAC, answer, business date; no event).
  struct Claim {
    std::string record_key;
    mutualaid::intake::v1::storage::IdempotencyRecord call;
  };
  // Appends `claims` (all in flight together) and reads the shared log up to them, waiting at
  // most `timeout`; then returns, for each claim, the call that holds its key: its own (the
  // claim came first, or an identical request's did) or another request's, with the replica that
  // claimed it in `claimed_by` (replica() when this one did). UNAVAILABLE or
  // DEADLINE_EXCEEDED for a claim whose holder is not known in time: nothing was decided, and a
  // retry claims again (an identical request is never refused by its own earlier claim).
  // Thread-safe.
  virtual std::vector<Result<mutualaid::intake::v1::storage::IdempotencyRecord>> ClaimAll(
      const std::vector<Claim>& claims, std::chrono::milliseconds timeout) = 0;
  // This replica's name in the log, unique to the process.
  virtual const std::string& replica() const = 0;
};

// Whether `holder`, the call holding a key, is the request `call` (same method and request MAC):
// then `call` may publish under the key.
inline bool SameCall(const mutualaid::intake::v1::storage::IdempotencyRecord& holder,
                     const mutualaid::intake::v1::storage::IdempotencyRecord& call) {
  return holder.method() == call.method() && holder.request_sha256() == call.request_sha256();
}

// The business date of intake (see libs/runtime/business_clock.h).
using runtime::BusinessClock;

}  // namespace claims::intake
