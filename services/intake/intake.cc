#include "services/intake/intake.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>

#include "libs/base/parallel.h"
#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/identity/bank_card.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "services/intake/key_claims.h"
#include "services/intake/validation.h"
#include "services/intake/vault.h"

namespace claims::intake {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace storage = ::mutualaid::intake::v1::storage;

std::string Deterministic(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&out);
  }
  return bytes;
}

std::string Join(const std::string& a, const std::string& b) {
  std::string out = a;
  out += '\0';
  out += b;
  return out;
}

Status KeyFormat(const std::string& key) {
  std::vector<FieldViolation> v;
  CheckIdempotencyKey(key, v);
  if (v.empty()) return Status::Ok();
  return InvalidArgument("invalid idempotency key", std::move(v));
}

// A resident ID number as ParseResidentId normalises it (a lower-case check 'x' made 'X'), so
// that both spellings give one pseudonym.
std::string NormalizedId(std::string number) {
  if (!number.empty() && number.back() == 'x') number.back() = 'X';
  return number;
}

// A request whose key is malformed: the key's violation and those of the body (`body`, the
// request's own validation), so that one answer names every bad field. OK with a good key (the
// body is then validated where the call is prepared).
template <typename ValidateBody>
Status KeyAndBody(const std::string& key, ValidateBody body) {
  Status bad_key = KeyFormat(key);
  if (bad_key.ok()) return bad_key;
  const Status bad_body = body();
  if (bad_body.ok()) return bad_key;
  std::vector<FieldViolation> all = bad_key.violations();
  for (const FieldViolation& v : bad_body.violations()) {
    const bool named = std::any_of(all.begin(), all.end(),
                                   [&](const FieldViolation& k) { return k.field == v.field; });
    if (!named) all.push_back(v);  // (a body that checks the key itself names it once)
  }
  return InvalidArgument(bad_body.message(), std::move(all));
}

template <typename M>
Result<M> ParseAs(const std::string& bytes, const char* what) {
  M m;
  if (!m.ParseFromString(bytes)) return DataLoss(std::string("stored ") + what + " is corrupt");
  return m;
}

Status KeyBusy() {
  return Status(StatusCode::kDeadlineExceeded,
                "the call's deadline passed while a call with the same idempotency key ran; "
                "retry with the same key");
}

// Records in `event` the call that made it (every replica learns the key from the log).
void RecordCall(ev::Envelope& event, const std::string& partner, const std::string& method,
                const std::string& key, const std::string& request_mac,
                const std::string& response) {
  ev::IntakeCall& call = *event.mutable_intake_call();
  call.set_partner_id(partner);
  call.set_method(method);
  call.set_idempotency_key(key);
  call.set_request_mac(request_mac);
  call.set_response(response);
}

// Records of a bulk window below this many are handled on the calling thread alone.
constexpr size_t kMinRecordsToSplit = 64;

// Runs `body(i)` for every i < n, on two threads once there are enough: the per-record work of a
// bulk window (MACs, pseudonyms, validation, store reads, sealing, serialising) is most of its
// CPU and independent from record to record. `body` must be safe to run on two threads at once
// for distinct i.
template <typename Body>
void ForEachRecord(size_t n, const Body& body) {
  ForEachIndex(n, n < kMinRecordsToSplit ? 1 : 2, body);
}

}  // namespace

bool KeyLocks::LockAll(const std::vector<std::string>& keys, Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto free = [&] {
    return std::none_of(keys.begin(), keys.end(),
                        [&](const std::string& k) { return held_.count(k) > 0; });
  };
  if (deadline == kNoDeadline) {
    released_.wait(lock, free);
  } else if (!released_.wait_until(lock, deadline, free)) {
    return false;
  }
  held_.insert(keys.begin(), keys.end());
  return true;
}

void KeyLocks::UnlockAll(const std::vector<std::string>& keys) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& k : keys) held_.erase(k);
  }
  released_.notify_all();
}

std::vector<std::string> IntakeColumnFamilies() {
  return {kIdempotencyCf, kMembersCf,    kClaimsCf,       kPartnerClaimsCf,
          kSubmittedCf,   kMemberKeysCf, kMemberKeyIdsCf, kKeyHoldersCf};
}

std::string ClaimIdFor(const std::string& partner, const std::string& key,
                       const std::string& request_mac) {
  return "CL-" + crypto::Sha256Hex(Join(Join(partner, key), request_mac)).substr(0, 24);
}

Intake::Intake(IntakeOptions options, store::StateStore& store, EventLog& log, MemberVault& vault,
               KeyClaims& claims, const BusinessClock& clock)
    : options_(std::move(options)),
      store_(store),
      log_(log),
      vault_(vault),
      claims_(claims),
      clock_(clock),
      committer_(std::make_unique<Committer>(
          store_, log_, claims_,
          [this](const Status& s, std::chrono::milliseconds budget) {
            return PublishFailure(s, budget);
          },
          /*max_group=*/4096, /*publishers=*/1, options_.commit_metrics)) {
  assert(options_.idempotency_retention_days >= kMinIdempotencyRetentionDays);
}

Result<std::chrono::milliseconds> Intake::Budget(Deadline deadline) const {
  if (deadline == kNoDeadline) return options_.publish_timeout;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return Status(StatusCode::kDeadlineExceeded,
                  "the call's deadline passed; retry with the same idempotency key");
  }
  return std::min(left, options_.publish_timeout);
}

Status Intake::PublishFailure(const Status& s, std::chrono::milliseconds budget) const {
  if (s.code() == StatusCode::kDeadlineExceeded && budget < options_.publish_timeout) {
    return Status(StatusCode::kDeadlineExceeded,
                  "the call's deadline passed before Kafka acknowledged the event; retry with the "
                  "same idempotency key");
  }
  return Unavailable("the event could not be recorded (" + s.message() +
                     "); retry with the same idempotency key");
}

ev::Envelope Intake::NewEvent(const CallIdentity& call, const std::string& member,
                              const std::string& type,
                              const google::protobuf::MessageLite& payload) {
  ev::Envelope e = codec::Wrap(type, payload);
  // Deterministic from the call: a retried submission is the same event, another request under
  // a purged key another event.
  const std::string digest =
      crypto::Sha256Hex(Join(Join(Join(call.partner, call.method), call.key), call.request_mac));
  e.set_event_id("in-" + digest.substr(0, 32));
  e.set_member_id(member);
  e.set_business_date(clock_.Today().ToString());
  e.set_producer("intake");
  e.set_trace_id(digest.substr(32, 32));
  return e;
}

namespace {

// The waiting form of a call that answers through a reply (Intake::SubmitClaim says how).
template <typename Response, typename Start>
Result<Response> Wait(Deadline deadline, Start start) {
  return AwaitCallback<Result<Response>>(deadline, kCommitTooLate, std::move(start));
}

// Parses the serialized response handed to the returned callback before `reply` gets it.
template <typename Response>
std::function<void(Result<std::string>)> ParsedReply(Intake::Reply<Response> reply) {
  return [reply = std::move(reply)](Result<std::string> r) {
    if (!r.ok()) return reply(r.status());
    reply(ParseAs<Response>(*r, "response"));
  };
}

}  // namespace

Intake::Begun Intake::Begin(const std::string& partner, const std::string& method,
                            const std::string& key, const google::protobuf::Message& request,
                            Deadline deadline, const Prepare& prepare) {
  if (Result<std::chrono::milliseconds> budget = Budget(deadline); !budget.ok()) {
    return budget.status();  // too late to do anything: nothing is recorded
  }
  if (Status s = KeyFormat(key); !s.ok()) return s;
  const std::string record_key = Join(partner, key);
  if (!key_locks_.LockAll({record_key}, deadline)) return KeyBusy();
  auto mutation = std::make_shared<Mutation>();
  mutation->held = std::make_shared<HeldKeys>(key_locks_, std::vector<std::string>{record_key});
  const std::string request_hash = vault_.RequestMac(Deterministic(request));

  Result<std::optional<std::string>> found = store_.Get(kIdempotencyCf, record_key);
  if (!found.ok()) return found.status();
  Result<std::chrono::milliseconds> budget = Budget(deadline);
  if (!budget.ok()) return budget.status();
  mutation->cf = kIdempotencyCf;
  mutation->record_key = record_key;
  mutation->budget = *budget;
  if (found->has_value()) {
    Result<storage::IdempotencyRecord> record =
        ParseAs<storage::IdempotencyRecord>(**found, "idempotency record");
    if (!record.ok()) return record.status();
    if (record->method() != method || record->request_sha256() != request_hash) {
      return KeyReused(key, method, *record);
    }
    if (record->done()) return record->response();
    // Recorded but not known to be published (an earlier attempt failed or crashed): publish the
    // very same bytes again.
    Result<Prepared> again = prepare(*budget, {partner, method, key, request_hash});
    if (!again.ok()) return again.status();
    Result<ev::Envelope> event = ParseAs<ev::Envelope>(record->event(), "event");
    if (!event.ok()) return event.status();
    mutation->recorded = true;
    mutation->record = std::move(record).value();
    mutation->event = std::move(event).value();
    mutation->state = std::move(again->state);
  } else {
    Result<Prepared> prepared = prepare(*budget, {partner, method, key, request_hash});
    if (!prepared.ok()) return prepared.status();
    RecordCall(prepared->event, partner, method, key, request_hash, prepared->response);
    storage::IdempotencyRecord& record = mutation->record;
    record.set_method(method);
    record.set_request_sha256(request_hash);
    record.set_response(prepared->response);
    record.set_recorded_on(clock_.Today().ToString());
    mutation->event = std::move(prepared->event);
    mutation->state = std::move(prepared->state);
  }
  Begun begun;
  begun.response = mutation->record.response();
  begun.mutation = std::move(mutation);
  return begun;
}

Result<std::string> Intake::Idempotent(const std::string& partner, const std::string& method,
                                       const std::string& key,
                                       const google::protobuf::Message& request, Deadline deadline,
                                       const Prepare& prepare) {
  Begun begun = Begin(partner, method, key, request, deadline, prepare);
  if (begun.mutation == nullptr) return std::move(begun.answer);
  if (Status s = committer_->Commit(std::move(begun.mutation), deadline); !s.ok()) return s;
  return std::move(begun.response);
}

void Intake::IdempotentAsync(const std::string& partner, const std::string& method,
                             const std::string& key, const google::protobuf::Message& request,
                             Deadline deadline, const Prepare& prepare,
                             std::function<void(Result<std::string>)> reply) {
  Begun begun = Begin(partner, method, key, request, deadline, prepare);
  if (begun.mutation == nullptr) return reply(std::move(begun.answer));
  committer_->CommitAsync(
      std::move(begun.mutation), deadline,
      [reply = std::move(reply), response = std::move(begun.response)](Status s) mutable {
        if (!s.ok()) return reply(std::move(s));
        reply(std::move(response));
      });
}

Result<bool> Intake::OwnsMember(const std::string& partner, const std::string& member) {
  Result<std::optional<std::string>> found = store_.Get(kMembersCf, Join(member, partner));
  if (!found.ok()) return found.status();
  return found->has_value();
}

Result<std::optional<storage::ClaimRecord>> Intake::LoadClaim(const std::string& claim_id) {
  // The followed claim (ClaimFollower starts it from this replica's record of the submission,
  // so it names its partner), else the submission this replica recorded.
  Result<std::optional<std::string>> found = store_.Get(kClaimsCf, claim_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) found = store_.Get(kSubmittedCf, claim_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<storage::ClaimRecord>();
  Result<storage::ClaimRecord> record = ParseAs<storage::ClaimRecord>(**found, "claim");
  if (!record.ok()) return record.status();
  return std::optional<storage::ClaimRecord>(std::move(record).value());
}

Result<Intake::Prepared> Intake::PrepareEnroll(const CallIdentity& call,
                                               const api::EnrollMemberRequest& request,
                                               const ValidEnrollment& valid,
                                               const std::string& member,
                                               std::chrono::milliseconds budget) {
  ev::PersonalData personal;
  personal.set_resident_id_number(valid.resident_id.number);
  personal.set_name(request.name());
  personal.set_phone(request.phone());
  personal.set_bank_card_number(request.bank_card_number());
  personal.set_bank_name(request.bank_name());
  Result<ev::SealedPersonalData> sealed =
      vault_.Seal(member, personal.SerializeAsString(), "MemberEnrolled.personal_data", budget);
  if (!sealed.ok()) return sealed.status();
  ev::MemberEnrolled enrolled;
  enrolled.set_member_id(member);
  enrolled.set_gender(request.gender());
  enrolled.set_birth_date(valid.resident_id.birth_date.ToString());
  enrolled.set_occupation(request.occupation());
  enrolled.set_plan_year(request.plan_year());
  enrolled.set_start_date(request.start_date());
  enrolled.set_partner_id(call.partner);
  *enrolled.mutable_personal_data() = std::move(sealed).value();
  enrolled.set_bank_card_last4(identity::CardLast4(request.bank_card_number()));
  Prepared p;
  p.event = NewEvent(call, member, codec::kMemberEnrolled, enrolled);
  api::EnrollMemberResponse r;
  r.set_member_id(member);
  r.set_event_id(p.event.event_id());
  p.response = r.SerializeAsString();
  p.state.Put(kMembersCf, Join(member, call.partner), "");
  return p;
}

Result<api::EnrollMemberResponse> Intake::Enroll(const std::string& partner,
                                                 const api::EnrollMemberRequest& request,
                                                 Deadline deadline) {
  if (Status bad = KeyAndBody(request.idempotency_key(),
                              [&] { return ValidateEnroll(request, clock_.Today()).status(); });
      !bad.ok()) {
    return bad;
  }
  Result<std::string> response = Idempotent(
      partner, "EnrollMember", request.idempotency_key(), request, deadline,
      [&](std::chrono::milliseconds budget, const CallIdentity& call) -> Result<Prepared> {
        Result<ValidEnrollment> valid = ValidateEnroll(request, clock_.Today());
        if (!valid.ok()) return valid.status();
        return PrepareEnroll(call, request, *valid, vault_.MemberId(valid->resident_id.number),
                             budget);
      });
  if (!response.ok()) return response.status();
  return ParseAs<api::EnrollMemberResponse>(*response, "response");
}

std::vector<Result<api::EnrollMemberResponse>> Intake::EnrollAll(
    const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
    Deadline deadline) {
  std::unique_ptr<StagedEnrollments> staged = StageEnrollments(partner, requests, deadline);
  PublishStaged(*staged);
  std::vector<size_t> alone = staged->alone;
  std::sort(alone.begin(), alone.end());
  for (size_t i : alone) staged->out[i] = Enroll(partner, requests[i], deadline);
  return std::move(staged->out);
}

std::unique_ptr<StagedEnrollments> Intake::StageEnrollments(
    const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
    Deadline deadline) {
  std::unique_ptr<StagedEnrollments> staged = LockEnrollments(partner, requests, deadline);
  StageLocked(partner, requests, *staged);
  return staged;
}

std::unique_ptr<StagedEnrollments> Intake::LockEnrollments(
    const std::string& partner, const std::vector<api::EnrollMemberRequest>& requests,
    Deadline deadline) {
  auto staged = std::make_unique<StagedEnrollments>();
  std::vector<Result<api::EnrollMemberResponse>>& out = staged->out;
  out.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) out.emplace_back(Internal("not answered"));
  auto answer_all = [&](const std::vector<size_t>& indices, const Status& s) {
    for (size_t i : indices) out[i] = s;
  };

  // The records this window handles, one per key. A key repeated in the window, and a key whose
  // record is pending from an earlier attempt, are left to be enrolled alone.
  std::vector<size_t>& window = staged->window;
  std::vector<std::string>& keys = staged->keys;
  std::set<std::string> seen;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (Status s = KeyAndBody(requests[i].idempotency_key(),
                              [&] { return ValidateEnroll(requests[i], clock_.Today()).status(); });
        !s.ok()) {
      out[i] = s;
      continue;
    }
    std::string record_key = Join(partner, requests[i].idempotency_key());
    if (!seen.insert(record_key).second) {
      staged->alone.push_back(i);
      continue;
    }
    window.push_back(i);
    keys.push_back(std::move(record_key));
  }
  Result<std::chrono::milliseconds> budget = Budget(deadline);
  Status refused = budget.ok() ? Status::Ok() : budget.status();
  if (budget.ok() && !key_locks_.LockAll(keys, deadline)) refused = KeyBusy();
  if (!refused.ok()) {
    answer_all(window, refused);
    answer_all(staged->alone, refused);
    staged->alone.clear();
    window.clear();
    keys.clear();
    return staged;
  }
  staged->budget = *budget;
  staged->held = std::make_unique<HeldKeys>(key_locks_, keys);
  return staged;
}

void Intake::StageLocked(const std::string& partner,
                         const std::vector<api::EnrollMemberRequest>& requests,
                         StagedEnrollments& staged) {
  const std::string method = "EnrollMember";
  const Date today = clock_.Today();
  std::vector<Result<api::EnrollMemberResponse>>& out = staged.out;
  const std::vector<size_t>& window = staged.window;
  std::vector<std::string>& keys = staged.keys;
  const std::chrono::milliseconds budget = staged.budget;

  // Each record looked up, and a new one validated, record by record on two threads: a record
  // answered at once (refused, repeated), one left alone, or a new one.
  struct Looked {
    enum class Kind { kAnswered, kAlone, kNew } kind = Kind::kAnswered;
    std::string request_hash;
    std::optional<ValidEnrollment> valid;
    std::string member;
  };
  std::vector<Looked> looked(window.size());
  ForEachRecord(window.size(), [&](size_t w) {
    const size_t i = window[w];
    const api::EnrollMemberRequest& request = requests[i];
    Looked& l = looked[w];
    l.request_hash = vault_.RequestMac(Deterministic(request));
    Result<std::optional<std::string>> found = store_.Get(kIdempotencyCf, keys[w]);
    if (!found.ok()) {
      out[i] = found.status();
      return;
    }
    if (found->has_value()) {
      Result<storage::IdempotencyRecord> record =
          ParseAs<storage::IdempotencyRecord>(**found, "idempotency record");
      if (!record.ok()) {
        out[i] = record.status();
      } else if (record->method() != method || record->request_sha256() != l.request_hash) {
        out[i] = KeyReused(request.idempotency_key(), method, *record);
      } else if (record->done()) {
        out[i] = ParseAs<api::EnrollMemberResponse>(record->response(), "response");
      } else {
        l.kind = Looked::Kind::kAlone;
      }
      return;
    }
    Result<ValidEnrollment> valid = ValidateEnroll(request, today);
    if (!valid.ok()) {
      out[i] = valid.status();
      return;
    }
    l.kind = Looked::Kind::kNew;
    l.member = vault_.MemberId(valid->resident_id.number);
    l.valid.emplace(std::move(valid).value());
  });

  // New records: their members' keys, then sealed.
  std::vector<size_t> fresh;  // of `window`
  std::vector<std::string> members;
  for (size_t w = 0; w < window.size(); ++w) {
    if (looked[w].kind == Looked::Kind::kAlone) staged.alone.push_back(window[w]);
    if (looked[w].kind != Looked::Kind::kNew) continue;
    fresh.push_back(w);
    members.push_back(looked[w].member);
  }
  if (Status s = vault_.PrepareKeys(members, budget); !s.ok()) {
    const bool kafka =
        s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
    for (size_t w : fresh) out[window[w]] = kafka ? PublishFailure(s, budget) : s;
    fresh.clear();
  }

  // Prepared record by record on two threads.
  struct Made {
    bool ok = false;
    storage::IdempotencyRecord record;
    ev::Envelope event;
    store::WriteBatch state;
  };
  std::vector<Made> made(fresh.size());
  ForEachRecord(fresh.size(), [&](size_t f) {
    const size_t w = fresh[f];
    const size_t i = window[w];
    Looked& l = looked[w];
    Result<Prepared> p =
        PrepareEnroll({partner, method, requests[i].idempotency_key(), l.request_hash}, requests[i],
                      *l.valid, l.member, budget);
    if (!p.ok()) {
      out[i] = p.status();
      return;
    }
    RecordCall(p->event, partner, method, requests[i].idempotency_key(), l.request_hash,
               p->response);
    Made& m = made[f];
    m.record.set_method(method);
    m.record.set_request_sha256(std::move(l.request_hash));
    m.record.set_response(std::move(p->response));
    m.record.set_recorded_on(today.ToString());
    m.event = std::move(p->event);
    m.state = std::move(p->state);
    m.ok = true;
  });

  // Staged in stream order; recorded once Kafka answered (PublishStaged).
  for (size_t f = 0; f < made.size(); ++f) {
    if (!made[f].ok) continue;
    staged.index.push_back(window[fresh[f]]);
    staged.record_keys.push_back(std::move(keys[fresh[f]]));
    staged.records.push_back(std::move(made[f].record));
    staged.events.push_back(std::move(made[f].event));
    staged.states.push_back(std::move(made[f].state));
  }
}

void Intake::PublishStaged(StagedEnrollments& staged) {
  // The store failed a write: publish nothing it could not record.
  auto unless_unwritable = [&](StagedEnrollments& part) {
    if (Status health = store_.WriteHealth(); !health.ok()) {
      for (size_t i : part.index) staged.out[i] = health;
      part.index.clear();
    }
  };
  unless_unwritable(staged);
  // What claiming the keys left of the budget; the records that hold their keys; the records
  // whose very request another replica claimed first.
  std::chrono::milliseconds events_budget = staged.budget;
  StagedEnrollments ready;
  StagedEnrollments elsewhere;
  if (!staged.index.empty()) {
    // The keys first (as the Committer claims them): a record whose key a different request
    // holds is refused, and nothing of it is published.
    std::vector<KeyClaims::Claim> wanted;
    wanted.reserve(staged.index.size());
    for (size_t k = 0; k < staged.index.size(); ++k) {
      wanted.push_back({staged.record_keys[k], staged.records[k]});
    }
    const ClaimedKeys claimed = ClaimKeys(
        claims_, wanted, staged.budget,
        [&](size_t, const Status& error) { return PublishFailure(error, staged.budget); });
    events_budget = claimed.left;
    for (size_t k = 0; k < staged.index.size(); ++k) {
      if (!claimed.refusals[k].ok()) {
        staged.out[staged.index[k]] = claimed.refusals[k];
      } else {
        MoveStaged(staged, k, claimed.elsewhere[k] ? elsewhere : ready);
      }
    }
  }
  PublishAndRecord(ready, staged.out, events_budget, staged.budget);
  if (!elsewhere.index.empty()) {
    // As the Committer does: wait for the other replica's events to come back as done records,
    // up to half the window's budget, then publish those that did not (same event ids).
    const auto give_up = std::chrono::steady_clock::now() + staged.budget / 2;
    std::vector<bool> answered(elsewhere.index.size(), false);
    size_t left = elsewhere.index.size();
    for (int polls = 0; left > 0 && polls < 100000; ++polls) {
      for (size_t k = 0; k < elsewhere.index.size(); ++k) {
        if (answered[k]) continue;
        const Result<bool> done =
            DoneElsewhere(store_, kIdempotencyCf, elsewhere.record_keys[k], elsewhere.records[k]);
        if (!done.ok() || *done) {
          staged.out[elsewhere.index[k]] =
              done.ok()
                  ? ParseAs<api::EnrollMemberResponse>(elsewhere.records[k].response(), "response")
                  : Result<api::EnrollMemberResponse>(done.status());
          answered[k] = true;
          --left;
        }
      }
      if (left == 0 || std::chrono::steady_clock::now() >= give_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    StagedEnrollments due;
    for (size_t k = 0; k < elsewhere.index.size(); ++k) {
      if (!answered[k]) MoveStaged(elsewhere, k, due);
    }
    unless_unwritable(due);
    PublishAndRecord(due, staged.out, std::max(staged.budget / 2, std::chrono::milliseconds(1)),
                     staged.budget);
  }
  staged.held.reset();
}

void Intake::MoveStaged(StagedEnrollments& from, size_t k, StagedEnrollments& to) {
  to.index.push_back(from.index[k]);
  to.record_keys.push_back(std::move(from.record_keys[k]));
  to.records.push_back(std::move(from.records[k]));
  to.events.push_back(std::move(from.events[k]));
  to.states.push_back(std::move(from.states[k]));
}

void Intake::PublishAndRecord(StagedEnrollments& part,
                              std::vector<Result<api::EnrollMemberResponse>>& out,
                              std::chrono::milliseconds budget,
                              std::chrono::milliseconds window_budget) {
  if (part.index.empty()) return;
  const std::vector<Status> published = log_.AppendAll(part.events, budget);
  // Recorded as the Committer records (committer.h says why nothing is recorded before
  // publishing, and why without fsync): done with the state when acknowledged, else pending
  // with the event's bytes. In key order (RocksDB inserts keys in order into its memtable
  // faster), the state in member order.
  std::vector<size_t> by_key(part.index.size());
  for (size_t k = 0; k < by_key.size(); ++k) by_key[k] = k;
  std::vector<size_t> by_member;
  for (size_t k = 0; k < part.index.size(); ++k) {
    if (published[k].ok()) {
      by_member.push_back(k);
    } else {
      out[part.index[k]] = PublishFailure(published[k], window_budget);
    }
  }
  std::sort(by_key.begin(), by_key.end(),
            [&](size_t a, size_t b) { return part.record_keys[a] < part.record_keys[b]; });
  std::sort(by_member.begin(), by_member.end(), [&](size_t a, size_t b) {
    return part.events[a].member_id() < part.events[b].member_id();
  });
  store::WriteBatch batch;
  for (size_t k : by_member) batch.Append(part.states[k]);
  for (size_t k : by_key) {
    if (!published[k].ok()) {
      batch.Put(kIdempotencyCf, part.record_keys[k],
                PendingRecord(part.records[k], part.events[k]));
      continue;
    }
    part.records[k].set_done(true);
    batch.Put(kIdempotencyCf, part.record_keys[k], part.records[k].SerializeAsString());
    out[part.index[k]] = ParseAs<api::EnrollMemberResponse>(part.records[k].response(), "response");
  }
  if (Status s = store_.Write(batch, store::Durability::kNoSync); !s.ok()) {
    // In Kafka but not recorded here: the log still carries the calls (ClaimFollower learns
    // them), so a retry answers from it or publishes the same ids again.
    for (size_t k : by_member) out[part.index[k]] = s;
  }
}

void Intake::Terminate(const std::string& partner, const api::TerminateMemberRequest& request,
                       Deadline deadline, Reply<api::TerminateMemberResponse> reply) {
  const std::string& key = request.idempotency_key();
  if (Status bad = KeyAndBody(key, [&] { return ValidateTerminate(request); }); !bad.ok())
    return reply(bad);
  IdempotentAsync(
      partner, "TerminateMember", key, request, deadline,
      [&](std::chrono::milliseconds, const CallIdentity& call) -> Result<Prepared> {
        if (Status s = ValidateTerminate(request); !s.ok()) return s;
        Result<bool> owns = OwnsMember(partner, request.member_id());
        if (!owns.ok()) return owns.status();
        if (!*owns)
          return NotFound("no member " + request.member_id() + " enrolled by this partner");
        ev::MemberTerminated terminated;
        terminated.set_member_id(request.member_id());
        terminated.set_date(request.date());
        terminated.set_partner_id(partner);
        Prepared p;
        p.event = NewEvent(call, request.member_id(), codec::kMemberTerminated, terminated);
        api::TerminateMemberResponse r;
        r.set_event_id(p.event.event_id());
        p.response = r.SerializeAsString();
        return p;
      },
      ParsedReply(std::move(reply)));
}

Result<api::TerminateMemberResponse> Intake::Terminate(const std::string& partner,
                                                       const api::TerminateMemberRequest& request,
                                                       Deadline deadline) {
  return Wait<api::TerminateMemberResponse>(
      deadline, [&](auto reply) { Terminate(partner, request, deadline, std::move(reply)); });
}

void Intake::SubmitClaim(const std::string& partner, const api::SubmitClaimRequest& request,
                         Deadline deadline, Reply<api::SubmitClaimResponse> reply) {
  const std::string& key = request.idempotency_key();
  if (Status bad = KeyAndBody(key, [&] { return ValidateSubmitClaim(request, clock_.Today()); });
      !bad.ok())
    return reply(bad);
  IdempotentAsync(
      partner, "SubmitClaim", key, request, deadline,
      [&](std::chrono::milliseconds budget, const CallIdentity& call) -> Result<Prepared> {
        const Date today = clock_.Today();
        if (Status s = ValidateSubmitClaim(request, today); !s.ok()) return s;
        Result<bool> owns = OwnsMember(partner, request.member_id());
        if (!owns.ok()) return owns.status();
        if (!*owns)
          return NotFound("no member " + request.member_id() + " enrolled by this partner");
        const std::string claim_id = ClaimIdFor(partner, key, call.request_mac);
        ev::ClaimSubmitted submitted;
        submitted.set_claim_id(claim_id);
        submitted.set_member_id(request.member_id());
        submitted.set_coverage(request.coverage());
        submitted.set_incident_date(request.incident_date());
        submitted.set_date(today.ToString());
        submitted.set_amount_fen(request.amount_fen());
        submitted.set_condition_code(request.condition_code());
        submitted.set_cause(request.cause());
        // A child's resident ID number travels as its keyed pseudonym, as a member's does: the
        // per-child limits still count one child's claims together.
        submitted.set_child_id(LooksLikeResidentId(request.child_id())
                                   ? "child-" + vault_.MemberId(NormalizedId(request.child_id()))
                                   : request.child_id());
        submitted.set_child_birth_date(request.child_birth_date());
        for (const std::string& d : request.documents()) submitted.add_documents(d);
        submitted.set_plan_id(options_.plan_id);
        submitted.set_partner_id(partner);
        if (!request.medical_detail().empty()) {
          Result<ev::SealedPersonalData> sealed = vault_.Seal(
              request.member_id(), request.medical_detail(), "ClaimSubmitted.health_data", budget);
          if (!sealed.ok()) return sealed.status();
          *submitted.mutable_health_data() = std::move(sealed).value();
        }
        Prepared p;
        p.event = NewEvent(call, request.member_id(), codec::kClaimSubmitted, submitted);
        api::SubmitClaimResponse r;
        r.set_claim_id(claim_id);
        r.set_event_id(p.event.event_id());
        p.response = r.SerializeAsString();
        storage::ClaimRecord record;
        record.set_partner_id(partner);
        record.set_idempotency_key(key);
        api::Claim& claim = *record.mutable_claim();
        claim.set_claim_id(claim_id);
        claim.set_member_id(request.member_id());
        claim.set_coverage(request.coverage());
        claim.set_incident_date(request.incident_date());
        claim.set_submitted_on(today.ToString());
        claim.set_amount_fen(request.amount_fen());
        claim.set_status(api::RECEIVED);
        p.state.Put(kSubmittedCf, claim_id, record.SerializeAsString());
        p.state.Put(kPartnerClaimsCf, Join(partner, claim_id), "");
        return p;
      },
      ParsedReply(std::move(reply)));
}

Result<api::SubmitClaimResponse> Intake::SubmitClaim(const std::string& partner,
                                                     const api::SubmitClaimRequest& request,
                                                     Deadline deadline) {
  return Wait<api::SubmitClaimResponse>(
      deadline, [&](auto reply) { SubmitClaim(partner, request, deadline, std::move(reply)); });
}

void Intake::Appeal(const std::string& partner, const api::AppealClaimRequest& request,
                    Deadline deadline, Reply<api::AppealClaimResponse> reply) {
  const std::string& key = request.idempotency_key();
  if (Status bad = KeyAndBody(key, [&] { return ValidateAppeal(request); }); !bad.ok())
    return reply(bad);
  IdempotentAsync(
      partner, "AppealClaim", key, request, deadline,
      [&](std::chrono::milliseconds budget, const CallIdentity& call) -> Result<Prepared> {
        if (Status s = ValidateAppeal(request); !s.ok()) return s;
        Result<std::optional<storage::ClaimRecord>> claim = LoadClaim(request.claim_id());
        if (!claim.ok()) return claim.status();
        if (!claim->has_value() || (*claim)->partner_id() != partner) {
          return NotFound("no claim " + request.claim_id() + " of this partner");
        }
        ev::ClaimAppealed appealed;
        appealed.set_claim_id(request.claim_id());
        appealed.set_member_id((*claim)->claim().member_id());
        appealed.set_date(clock_.Today().ToString());
        appealed.set_partner_id(partner);
        appealed.set_plan_id(options_.plan_id);
        if (!request.reason().empty()) {
          Result<ev::SealedPersonalData> sealed = vault_.Seal(
              (*claim)->claim().member_id(), request.reason(), "ClaimAppealed.reason", budget);
          if (!sealed.ok()) return sealed.status();
          *appealed.mutable_reason() = std::move(sealed).value();
        }
        Prepared p;
        p.event = NewEvent(call, (*claim)->claim().member_id(), codec::kClaimAppealed, appealed);
        api::AppealClaimResponse r;
        r.set_event_id(p.event.event_id());
        p.response = r.SerializeAsString();
        return p;
      },
      ParsedReply(std::move(reply)));
}

Result<api::AppealClaimResponse> Intake::Appeal(const std::string& partner,
                                                const api::AppealClaimRequest& request,
                                                Deadline deadline) {
  return Wait<api::AppealClaimResponse>(
      deadline, [&](auto reply) { Appeal(partner, request, deadline, std::move(reply)); });
}

Result<api::Claim> Intake::GetClaim(const ClaimReader& reader,
                                    const api::GetClaimRequest& request) {
  std::string claim_id;
  if (request.key_case() == api::GetClaimRequest::kClaimId) {
    claim_id = request.claim_id();
  } else if (request.key_case() == api::GetClaimRequest::kIdempotencyKey) {
    if (Status s = KeyFormat(request.idempotency_key()); !s.ok()) return s;
    if (reader.every_partner()) {
      return InvalidArgument("an idempotency key names a claim only with its partner",
                             {{"idempotency_key", "give claim_id: the caller is no partner"}});
    }
    Result<std::optional<std::string>> found =
        store_.Get(kIdempotencyCf, Join(reader.partner(), request.idempotency_key()));
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return NotFound("no submission with idempotency key '" + request.idempotency_key() + "'");
    }
    Result<storage::IdempotencyRecord> record =
        ParseAs<storage::IdempotencyRecord>(**found, "idempotency record");
    if (!record.ok()) return record.status();
    if (record->method() != "SubmitClaim" || !record->done()) {
      return NotFound("no completed claim submission with idempotency key '" +
                      request.idempotency_key() + "'");
    }
    Result<api::SubmitClaimResponse> r =
        ParseAs<api::SubmitClaimResponse>(record->response(), "response");
    if (!r.ok()) return r.status();
    claim_id = r->claim_id();
  } else {
    return InvalidArgument("give claim_id or idempotency_key",
                           {{"key", "one of claim_id, idempotency_key is required"}});
  }
  Result<std::optional<storage::ClaimRecord>> claim = LoadClaim(claim_id);
  if (!claim.ok()) return claim.status();
  if (!claim->has_value() || !reader.Sees((*claim)->partner_id())) {
    return NotFound("no claim " + claim_id + (reader.every_partner() ? "" : " of this partner"));
  }
  return (*claim)->claim();
}

Result<api::ListClaimsResponse> Intake::ListClaims(const ClaimReader& reader,
                                                   const api::ListClaimsRequest& request) {
  std::vector<FieldViolation> v;
  if (request.page_size() < 0 || request.page_size() > 500) {
    v.push_back({"page_size", "must be 1-500 (0: the default, 50)"});
  }
  if (!api::ClaimStatus_IsValid(request.status())) v.push_back({"status", "unknown status"});
  // The page token is where the previous page ended: its last claim id, for a partner; its last
  // "partner/claim id", for an auditor (partner ids hold no '/'). Listing resumes after it.
  std::string begin;
  std::string end;
  const std::string& token = request.page_token();
  if (!reader.every_partner()) {
    begin = token.empty() ? reader.partner() + '\0' : Join(reader.partner(), token + '\x01');
    end = reader.partner() + '\x01';
  } else if (!token.empty()) {
    const size_t slash = token.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == token.size()) {
      v.push_back({"page_token", "not a token this service gave"});
    } else {
      begin = Join(token.substr(0, slash), token.substr(slash + 1) + '\x01');
    }
  }
  if (!v.empty()) return InvalidArgument("invalid list request", std::move(v));
  const int page_size = request.page_size() == 0 ? 50 : request.page_size();
  api::ListClaimsResponse out;
  Status scan_error;
  bool more = false;
  std::string last;
  Status s =
      store_.ScanRange(kPartnerClaimsCf, begin, end, [&](std::string_view k, std::string_view) {
        const size_t nul = k.find('\0');
        if (nul == std::string_view::npos) return true;  // not an index entry
        const std::string claim_id(k.substr(nul + 1));
        Result<std::optional<storage::ClaimRecord>> claim = LoadClaim(claim_id);
        if (!claim.ok()) {
          scan_error = claim.status();
          return false;
        }
        if (!claim->has_value()) return true;
        const api::Claim& c = (*claim)->claim();
        if (!request.member_id().empty() && c.member_id() != request.member_id()) return true;
        if (request.status() != api::CLAIM_STATUS_UNSPECIFIED && c.status() != request.status()) {
          return true;
        }
        if (out.claims_size() == page_size) {
          more = true;
          return false;
        }
        *out.add_claims() = c;
        last = reader.every_partner() ? std::string(k.substr(0, nul)) + "/" + claim_id : claim_id;
        return true;
      });
  if (!s.ok()) return s;
  if (!scan_error.ok()) return scan_error;
  if (more) out.set_next_page_token(last);
  return out;
}

Result<api::EraseMemberResponse> Intake::EraseMember(const api::EraseMemberRequest& request,
                                                     Deadline deadline) {
  std::string member;
  if (request.member_case() == api::EraseMemberRequest::kMemberId) {
    member = request.member_id();
    bool ok = member.size() == 64;
    for (char c : member) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) {
      return InvalidArgument("invalid erasure request",
                             {{"member_id", "must be 64 lower-case hex characters"}});
    }
  } else if (request.member_case() == api::EraseMemberRequest::kResidentIdNumber) {
    Result<identity::ResidentId> id = identity::ParseResidentId(
        request.resident_id_number(), clock_.Today(), "resident_id_number");
    if (!id.ok()) return id.status();
    member = vault_.MemberId(id->number);
  } else {
    return InvalidArgument("invalid erasure request",
                           {{"member", "one of member_id, resident_id_number is required"}});
  }
  Result<std::chrono::milliseconds> budget = Budget(deadline);
  if (!budget.ok()) return budget.status();
  Result<std::vector<std::string>> erased = vault_.Erase(member, *budget);
  if (!erased.ok()) return erased.status();
  api::EraseMemberResponse response;
  response.set_member_id(member);
  for (const std::string& key_id : *erased) response.add_erased_key_ids(key_id);
  return response;
}

Result<size_t> Intake::PurgeIdempotencyKeys() {
  const Date cutoff = clock_.Today().AddDays(-options_.idempotency_retention_days);
  auto expired = [&](std::string_view bytes) {
    storage::IdempotencyRecord record;
    if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
    const std::optional<Date> recorded = Date::Parse(record.recorded_on());
    return recorded.has_value() && *recorded <= cutoff;
  };
  constexpr size_t kChunk = 1000;
  size_t purged = 0;
  // The records, then the key holders read from the calls log (KafkaKeyClaims), which are kept as
  // long: a key is free again once both are gone.
  for (const char* cf : {kIdempotencyCf, kKeyHoldersCf}) {
    std::string begin;
    for (bool more = true; more;) {
      // One chunk of candidates, then deleted under their keys' locks in one batch.
      std::vector<std::string> candidates;
      more = false;
      Status s = store_.ScanRange(cf, begin, "", [&](std::string_view k, std::string_view v) {
        if (candidates.size() == kChunk) {
          more = true;
          begin = std::string(k);
          return false;
        }
        if (expired(v)) candidates.emplace_back(k);
        return true;
      });
      if (!s.ok()) return s;
      if (candidates.empty()) continue;
      key_locks_.LockAll(candidates, kNoDeadline);
      HeldKeys held(key_locks_, candidates);
      store::WriteBatch batch;
      for (const std::string& k : candidates) {
        Result<std::optional<std::string>> now = store_.Get(cf, k);
        if (!now.ok()) return now.status();
        if (now->has_value() && expired(**now)) batch.Delete(cf, k);
      }
      if (Status w = store_.Write(batch); !w.ok()) return w;
      if (cf == kIdempotencyCf) purged += batch.size();
    }
  }
  return purged;
}

}  // namespace claims::intake
