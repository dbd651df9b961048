#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/store/state_store.h"
#include "mutualaid/intake/v1/admin.pb.h"
#include "mutualaid/intake/v1/intake.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"
#include "services/intake/committer.h"
#include "services/intake/ports.h"
#include "services/intake/validation.h"

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

// Every column family intake opens (including the vault's, vault.h).
std::vector<std::string> IntakeColumnFamilies();

// When a call must be answered by: the caller's gRPC deadline, on the steady clock.
using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// The API promises that idempotency keys are kept at least 7 days. Records are purged by their
// business date, whole dates at a time: with a retention of N days, a key recorded in the last
// minute of its date is kept N - 1 days and a minute. So at least 8.
inline constexpr int kMinIdempotencyRetentionDays = 8;

// Exclusive use of idempotency record keys (partner \0 key): a call holds its key, a bulk
// window all of its keys, while it reads, records and publishes. Only calls with a common key
// wait for each other. Thread-safe.
class KeyLocks {
 public:
  // Takes every key of `keys` at once, waiting while any of them is held, but not past
  // `deadline`: false then, and nothing is taken. `keys` must not repeat a key.
  bool LockAll(const std::vector<std::string>& keys, Deadline deadline);
  void UnlockAll(const std::vector<std::string>& keys);

 private:
  std::mutex mu_;
  std::condition_variable released_;
  std::set<std::string> held_;
};

// Keys of KeyLocks held (taken with LockAll) until it goes.
class HeldKeys {
 public:
  HeldKeys(KeyLocks& locks, std::vector<std::string> keys)
      : locks_(locks), keys_(std::move(keys)) {}
  ~HeldKeys() { locks_.UnlockAll(keys_); }
  HeldKeys(const HeldKeys&) = delete;
  HeldKeys& operator=(const HeldKeys&) = delete;

 private:
  KeyLocks& locks_;
  std::vector<std::string> keys_;
};

// A window of enrollments staged by Intake::StageEnrollments, for Intake::PublishStaged.
struct StagedEnrollments {
  // One result per request, in order; those of `alone` are not answered by Intake.
  std::vector<Result<api::EnrollMemberResponse>> out;
  std::vector<size_t> alone;
  // What Intake keeps until the window is published.
  std::chrono::milliseconds budget{0};
  std::unique_ptr<HeldKeys> held;
  std::vector<size_t> window;     // the records whose keys are held, in `out`
  std::vector<std::string> keys;  // their idempotency record keys
  std::vector<size_t> index;      // of each staged record in `out`
  std::vector<std::string> record_keys;
  std::vector<api::storage::IdempotencyRecord> records;
  std::vector<mutualaid::events::v1::Envelope> events;
  std::vector<store::WriteBatch> states;
};

// Whose claims a read may see: one partner's, or (an auditor's) every partner's.
class ClaimReader {
 public:
  static ClaimReader Partner(std::string partner_id) { return ClaimReader(std::move(partner_id)); }
  static ClaimReader Auditor() { return ClaimReader(std::nullopt); }
  bool every_partner() const { return !partner_.has_value(); }
  // The partner; only when !every_partner().
  const std::string& partner() const { return *partner_; }
  bool Sees(const std::string& partner_id) const {
    return every_partner() || *partner_ == partner_id;
  }

 private:
  explicit ClaimReader(std::optional<std::string> partner) : partner_(std::move(partner)) {}
  std::optional<std::string> partner_;
};

struct IntakeOptions {
  std::string plan_id = "six-guarantees-v1";  // the plan new claims and appeals name
  // The longest a call waits for Kafka's acknowledgement (of the event, or of a new member
  // key); a caller's shorter deadline shortens it.
  std::chrono::milliseconds publish_timeout{10000};
  // PurgeIdempotencyKeys deletes records whose business date is this many days or more before
  // today. At least kMinIdempotencyRetentionDays (the constructor asserts it).
  int idempotency_retention_days = 8;
  // When set, the committer's stage times and group sizes go there (not owned).
  CommitMetrics* commit_metrics = nullptr;
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
//
// Deadlines: a mutating call never waits past `deadline` (for the key's lock, a new member key,
// or Kafka's acknowledgement): it then answers DEADLINE_EXCEEDED, and a retry with the same key
// is safe (it publishes the very same event if it was recorded). A call whose deadline has
// already passed does nothing at all.
class Intake {
 public:
  // `claims` decides which of two requests under one key, racing on two replicas, may publish.
  Intake(IntakeOptions options, store::StateStore& store, EventLog& log, MemberVault& vault,
         KeyClaims& claims, const BusinessClock& clock);

  Result<api::EnrollMemberResponse> Enroll(const std::string& partner,
                                           const api::EnrollMemberRequest& request,
                                           Deadline deadline = kNoDeadline);
  // Enrolls many members as Enroll enrolls each one (its own idempotency key, validation and
  // answer, in order), with one store write and one Kafka round trip for the lot: the members'
  // new keys first, then all the events in flight together. A bad record is refused alone. A
  // record whose event Kafka did not acknowledge answers UNAVAILABLE or DEADLINE_EXCEEDED and
  // is recorded pending, so a retry with its key publishes the very same event.
  std::vector<Result<api::EnrollMemberResponse>> EnrollAll(
      const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
      Deadline deadline = kNoDeadline);

  // EnrollAll in two halves, so that a caller may stage one window while the previous one is
  // being published. StageEnrollments takes the records' idempotency keys, answers the records
  // it can answer at once (refused, repeated), records the members' new keys, prepares the new
  // records and holds the keys; PublishStaged claims the keys, publishes the staged events,
  // records them (done, or pending when Kafka did not acknowledge them, as the Committer does),
  // answers them and releases the keys. A record whose very request another replica claimed
  // first is left to that replica, as the Committer leaves a call (committer.h): it waits, up to
  // half the window's budget, for that event to come back as a done record, and is published
  // after all if it does not. Windows published one after another are published in
  // order. Records StageEnrollments leaves to be enrolled one by one (a key repeated in the
  // window, a record pending from an earlier attempt) are listed in `alone`: the caller enrolls
  // them with Enroll once no staged window of its holds keys.
  std::unique_ptr<StagedEnrollments> StageEnrollments(
      const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
      Deadline deadline);
  // StageEnrollments in two steps, so that a caller may stage windows side by side (one waiting
  // for its members' new keys while another seals): LockEnrollments takes the records' keys
  // (answering at once a bad key, or every record when no time is left or the keys stay held
  // past `deadline`); StageLocked, on any thread, does the rest with the same `requests`. Taking
  // a later window's keys only once an earlier window's are taken keeps stream order for a key
  // repeated across windows (the later record then waits, and answers as a repeat).
  std::unique_ptr<StagedEnrollments> LockEnrollments(
      const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
      Deadline deadline);
  void StageLocked(const std::string& partner,
                   const std::vector<api::EnrollMemberRequest>& requests,
                   StagedEnrollments& staged);
  void PublishStaged(StagedEnrollments& staged);
  // Terminate, SubmitClaim and Appeal come in two forms. The first answers through `reply`,
  // called exactly once: before it returns (a refusal, a repeated key's answer), or on a
  // committer thread once the event is through; it blocks only on what Enroll would (the key
  // held by a call with the same key, store reads, a new member key), never on Kafka. The second
  // waits for the answer, but not past `deadline`.
  template <typename Response>
  using Reply = std::function<void(Result<Response>)>;
  void Terminate(const std::string& partner, const api::TerminateMemberRequest& request,
                 Deadline deadline, Reply<api::TerminateMemberResponse> reply);
  Result<api::TerminateMemberResponse> Terminate(const std::string& partner,
                                                 const api::TerminateMemberRequest& request,
                                                 Deadline deadline = kNoDeadline);
  void SubmitClaim(const std::string& partner, const api::SubmitClaimRequest& request,
                   Deadline deadline, Reply<api::SubmitClaimResponse> reply);
  Result<api::SubmitClaimResponse> SubmitClaim(const std::string& partner,
                                               const api::SubmitClaimRequest& request,
                                               Deadline deadline = kNoDeadline);
  void Appeal(const std::string& partner, const api::AppealClaimRequest& request, Deadline deadline,
              Reply<api::AppealClaimResponse> reply);
  Result<api::AppealClaimResponse> Appeal(const std::string& partner,
                                          const api::AppealClaimRequest& request,
                                          Deadline deadline = kNoDeadline);

  // A claim, or a page of claims, as `reader` may see them: a partner its own (another
  // partner's claim is NOT_FOUND), an auditor every partner's (by claim id: an idempotency key
  // names a claim only together with its partner).
  Result<api::Claim> GetClaim(const ClaimReader& reader, const api::GetClaimRequest& request);
  Result<api::ListClaimsResponse> ListClaims(const ClaimReader& reader,
                                             const api::ListClaimsRequest& request);
  Result<api::Claim> GetClaim(const std::string& partner, const api::GetClaimRequest& request) {
    return GetClaim(ClaimReader::Partner(partner), request);
  }
  Result<api::ListClaimsResponse> ListClaims(const std::string& partner,
                                             const api::ListClaimsRequest& request) {
    return ListClaims(ClaimReader::Partner(partner), request);
  }

  // Operator action: erases a member's personal data by destroying the member's data keys (see
  // MemberVault::Erase and admin.proto). INVALID_ARGUMENT for a malformed member id or resident
  // ID number. The member's events, claims and idempotency records stay: they hold nothing in
  // clear that erasure must remove.
  Result<api::EraseMemberResponse> EraseMember(const api::EraseMemberRequest& request,
                                               Deadline deadline = kNoDeadline);

  // Deletes the idempotency records whose business date (recorded_on) is
  // options.idempotency_retention_days or more before today (the clock's), done or pending;
  // returns how many. A record without a readable date is kept. Safe to run while calls are
  // served: each record is re-read and deleted under its key's lock, so a call with that key
  // sees either the old record or none. Afterwards the key is free again: another request under
  // it is a new call, with new claim and event ids; the very same request again gets the same
  // ids as before (consumers take its event as a repeat: it is the same claim). GetClaim by a
  // purged key answers NOT_FOUND.
  Result<size_t> PurgeIdempotencyKeys();

  // The committer of Terminate, SubmitClaim and Appeal (its counts, for benchmarks).
  const Committer& committer() const { return *committer_; }

 private:
  // What a mutating call records: the event to publish, the answer, and state to write with it.
  struct Prepared {
    mutualaid::events::v1::Envelope event;
    std::string response;  // serialized response message
    store::WriteBatch state;
  };
  // Which call a mutation is: its event and claim ids derive from all four, so a retry gets the
  // same ids and a new request under a purged key gets new ones.
  struct CallIdentity {
    const std::string& partner;
    const std::string& method;
    const std::string& key;
    const std::string& request_mac;  // MemberVault::RequestMac of the request
  };
  // Prepares a mutation, waiting at most `budget` for anything (a new member key).
  using Prepare =
      std::function<Result<Prepared>(std::chrono::milliseconds budget, const CallIdentity& call)>;

  // What Begin leaves: the answer already (a refusal, a repeated key's first answer), or a
  // mutation to commit and the serialized response it gives once committed.
  struct Begun {
    Begun(Status s) : answer(std::move(s)) {}                     // NOLINT: implicit on purpose
    Begun(std::string response) : answer(std::move(response)) {}  // NOLINT
    Begun() : answer(std::string()) {}
    Result<std::string> answer;
    std::shared_ptr<Mutation> mutation;  // null when `answer` is the answer
    std::string response;
  };
  // One idempotent mutation up to its commit: takes the key, looks it up, prepares.
  Begun Begin(const std::string& partner, const std::string& method, const std::string& key,
              const google::protobuf::Message& request, Deadline deadline, const Prepare& prepare);
  // Runs one idempotent mutation: returns the serialized response.
  Result<std::string> Idempotent(const std::string& partner, const std::string& method,
                                 const std::string& key, const google::protobuf::Message& request,
                                 Deadline deadline, const Prepare& prepare);
  // Idempotent, answering through `reply` (see SubmitClaim).
  void IdempotentAsync(const std::string& partner, const std::string& method,
                       const std::string& key, const google::protobuf::Message& request,
                       Deadline deadline, const Prepare& prepare,
                       std::function<void(Result<std::string>)> reply);
  // How long the call may still wait for Kafka: the publish timeout, cut to what is left before
  // `deadline`. DEADLINE_EXCEEDED when nothing is left.
  Result<std::chrono::milliseconds> Budget(Deadline deadline) const;
  // What the caller sees when appending failed with `s` within `budget`.
  Status PublishFailure(const Status& s, std::chrono::milliseconds budget) const;
  // Moves the k-th staged record of `from` to the end of `to`.
  static void MoveStaged(StagedEnrollments& from, size_t k, StagedEnrollments& to);
  // Publishes the staged events of `part` (records that hold their keys) within `budget`,
  // records them (done, or pending, as the Committer does) and answers them in `out`;
  // `window_budget` is the window's, for what a failure says.
  void PublishAndRecord(StagedEnrollments& part,
                        std::vector<Result<api::EnrollMemberResponse>>& out,
                        std::chrono::milliseconds budget, std::chrono::milliseconds window_budget);
  // Whether `member` was enrolled through `partner`.
  Result<bool> OwnsMember(const std::string& partner, const std::string& member);
  Result<std::optional<api::storage::ClaimRecord>> LoadClaim(const std::string& claim_id);
  mutualaid::events::v1::Envelope NewEvent(const CallIdentity& call, const std::string& member,
                                           const std::string& type,
                                           const google::protobuf::MessageLite& payload);
  // Prepares the MemberEnrolled event of `request` (the call `call`), already validated as
  // `valid`, for the member `member`, with its answer and state.
  Result<Prepared> PrepareEnroll(const CallIdentity& call, const api::EnrollMemberRequest& request,
                                 const ValidEnrollment& valid, const std::string& member,
                                 std::chrono::milliseconds budget);

  IntakeOptions options_;
  store::StateStore& store_;
  EventLog& log_;
  MemberVault& vault_;
  KeyClaims& claims_;
  const BusinessClock& clock_;
  KeyLocks key_locks_;
  std::unique_ptr<Committer> committer_;  // last: it stops before the rest goes
};

// The claim id a partner's submission gets: deterministic from (partner, idempotency key, MAC of
// the request), so that a retry gets the same id and another request under a key that was
// purged (PurgeIdempotencyKeys) gets another.
std::string ClaimIdFor(const std::string& partner, const std::string& key,
                       const std::string& request_mac);

}  // namespace claims::intake
