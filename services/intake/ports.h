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

// The business date of intake (see libs/runtime/business_clock.h).
using runtime::BusinessClock;

}  // namespace claims::intake
