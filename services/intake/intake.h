#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "libs/base/status.h"
#include "libs/store/state_store.h"
#include "mutualaid/intake/v1/intake.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"
#include "services/intake/ports.h"

namespace claims::intake {

namespace api = ::mutualaid::intake::v1;

// Column families of intake's store.
inline constexpr char kIdempotencyCf[] = "idempotency";       // partner \0 key -> record
inline constexpr char kMembersCf[] = "members";               // member \0 partner -> ""
inline constexpr char kClaimsCf[] = "claims";                 // claim id -> ClaimRecord
inline constexpr char kPartnerClaimsCf[] = "partner_claims";  // partner \0 claim id -> ""
// Claims this replica accepted, as submitted (RECEIVED): read until the read model (kClaimsCf,
// written only by ClaimFollower) has them, so a partner reads its own writes at once.
inline constexpr char kSubmittedCf[] = "submitted";  // claim id -> ClaimRecord

// Every column family intake opens.
std::vector<std::string> IntakeColumnFamilies();

struct IntakeOptions {
  std::string plan_id = "six-guarantees-v1";  // the plan new claims and appeals name
  std::chrono::milliseconds publish_timeout{10000};
};

// The partner-facing logic: validation, idempotency, pseudonyms and sealing, publishing, and the
// claim read model's queries. No gRPC here (the service class adapts it). Thread-safe: calls may
// run concurrently; two calls with the same partner and idempotency key are serialized.
//
// Every mutating call: refuses bad input with INVALID_ARGUMENT naming every bad field and records
// nothing; answers a repeated key with the first answer (ALREADY_EXISTS if the request differs);
// answers OK only once the event is durable in Kafka; UNAVAILABLE when it is not (retry with the
// same key). A partner sees and acts on its own members and claims only (NOT_FOUND otherwise, so
// that other partners' members do not even show).
class Intake {
 public:
  Intake(IntakeOptions options, store::StateStore& store, EventLog& log, MemberVault& vault,
         const BusinessClock& clock);

  Result<api::EnrollMemberResponse> Enroll(const std::string& partner,
                                           const api::EnrollMemberRequest& request);
  Result<api::TerminateMemberResponse> Terminate(const std::string& partner,
                                                 const api::TerminateMemberRequest& request);
  Result<api::SubmitClaimResponse> SubmitClaim(const std::string& partner,
                                               const api::SubmitClaimRequest& request);
  Result<api::AppealClaimResponse> Appeal(const std::string& partner,
                                          const api::AppealClaimRequest& request);

  Result<api::Claim> GetClaim(const std::string& partner, const api::GetClaimRequest& request);
  Result<api::ListClaimsResponse> ListClaims(const std::string& partner,
                                             const api::ListClaimsRequest& request);

 private:
  // What a mutating call records: the event to publish, the answer, and state to write with it.
  struct Prepared {
    mutualaid::events::v1::Envelope event;
    std::string response;  // serialized response message
    store::WriteBatch state;
  };
  using Prepare = std::function<Result<Prepared>()>;

  // Runs one idempotent mutation: returns the serialized response.
  Result<std::string> Idempotent(const std::string& partner, const std::string& method,
                                 const std::string& key, const google::protobuf::Message& request,
                                 const Prepare& prepare);
  // Whether `member` was enrolled through `partner`.
  Result<bool> OwnsMember(const std::string& partner, const std::string& member);
  Result<std::optional<api::storage::ClaimRecord>> LoadClaim(const std::string& claim_id);
  mutualaid::events::v1::Envelope NewEvent(const std::string& partner, const std::string& method,
                                           const std::string& key, const std::string& member,
                                           const std::string& type,
                                           const google::protobuf::MessageLite& payload);
  std::mutex& KeyLock(const std::string& partner, const std::string& key);

  IntakeOptions options_;
  store::StateStore& store_;
  EventLog& log_;
  MemberVault& vault_;
  const BusinessClock& clock_;
  std::array<std::mutex, 64> key_locks_;
};

// The claim id a partner's submission gets: deterministic from (partner, idempotency key).
std::string ClaimIdFor(const std::string& partner, const std::string& key);

}  // namespace claims::intake
