#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/store/state_store.h"
#include "mutualaid/payout/v1/payout.pb.h"

// Who a payment pays: the payee directory follows intake.events.v1 (enrollments, and where each
// claim, review and appeal event sits in the log) and keys.members.v1 (members' wrapped data
// keys and their erasure) on every replica, into the model store. Payees are opened only to
// render a bank file; nothing here is stored or logged in clear.
namespace claims::payout {

namespace api = ::mutualaid::payout::v1;

// EnrollmentKey(member, offset) -> serialized EnrollmentRecord (see payee_directory.cc).
inline constexpr char kPayeeEnrollmentsCf[] = "payee_enrollments";
// enrollment event id -> EnrollmentKey.
inline constexpr char kPayeeEnrollmentIdsCf[] = "payee_enrollment_ids";
// input event id (claims, reviews, appeals) -> member \0 offset (20 digits) in intake.events.v1.
inline constexpr char kPayeeInputsCf[] = "payee_inputs";
// key id -> the wrapped data key; "" once the key topic erased it (a tombstone).
inline constexpr char kPayeeKeysCf[] = "payee_keys";

std::vector<std::string> PayeeColumnFamilies();

// The associated data intake seals MemberEnrolled.personal_data with.
inline constexpr char kPersonalDataContext[] = "MemberEnrolled.personal_data";

// A payee, opened: for the bank file only.
struct Payee {
  std::string enrollment_event_id;
  std::string name;
  std::string account;  // the bank card number
};

// Reads the directory. Data keys open under the current master key, or while a rotation lasts
// under the previous one (key_wrap.h, MasterKeys); the directory stores the key topic's latest
// record of each key, so keys re-wrapped by `claimsctl keys rewrap` replace the old ones as the
// follower reads them. Thread-safe.
class PayeeDirectory {
 public:
  PayeeDirectory(const store::StateStore& store, crypto::MasterKeys master_keys)
      : store_(store), master_keys_(std::move(master_keys)) {}

  // The enrollment event id a payment pays to: `pinned` when set (a re-issue), else the member's
  // latest enrollment before the approving input event in the intake log. UNAVAILABLE when the
  // directory has not yet read that input event (it lags the log: retry); FAILED_PRECONDITION
  // when the member has no enrollment before it.
  Result<std::string> PinnedEnrollment(const api::Payment& payment) const;
  // The member's latest enrollment event id; NOT_FOUND when there is none.
  Result<std::string> LatestEnrollment(const std::string& member_id) const;
  // The opened payee of enrollment `enrollment_event_id`. FAILED_PRECONDITION when the member's
  // key was erased; UNAVAILABLE when the key is not read yet; DATA_LOSS when it does not open.
  Result<Payee> Open(const std::string& enrollment_event_id) const;

 private:
  const store::StateStore& store_;
  crypto::MasterKeys master_keys_;
};

// Follows intake.events.v1 and keys.members.v1 (every partition, no group) into the directory,
// from the offsets stored with it (state and offsets in one batch). One thread runs it.
class PayeeFollower {
 public:
  PayeeFollower(store::StateStore& store, bus::Consumer& consumer)
      : store_(store), consumer_(consumer) {}

  Status Start(std::chrono::milliseconds timeout);
  Result<size_t> PollOnce(std::chrono::milliseconds timeout);
  Status Run(const std::atomic<bool>& stop);

  uint64_t skipped() const { return skipped_; }

 private:
  Status Apply(const bus::Message& message, store::WriteBatch& batch);

  store::StateStore& store_;
  bus::Consumer& consumer_;
  uint64_t skipped_ = 0;
};

}  // namespace claims::payout
