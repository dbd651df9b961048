#include "services/payout/payee_directory.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "libs/crypto/key_wrap.h"
#include "libs/crypto/seal.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/follower.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/common.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/events/v1/intake.pb.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;

const char* const kTopics[] = {events::kIntakeTopic, events::kKeyTopic};

std::string Padded(int64_t offset) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(offset));
  return digits;
}

std::string Join(const std::string& a, const std::string& b) {
  return a + std::string(1, '\0') + b;
}

// What the directory keeps of one enrollment: the MemberEnrolled envelope's event id and the
// sealed personal data, as a MemberEnrolled with only these fields (its event id in partner_id's
// place would be confusing, so: an Envelope holding the MemberEnrolled bytes as published).
struct Enrollment {
  std::string event_id;
  ev::MemberEnrolled enrolled;
};

Result<Enrollment> ParseEnrollment(const std::string& bytes) {
  ev::Envelope e;
  Enrollment out;
  if (!e.ParseFromString(bytes) || !out.enrolled.ParseFromString(e.payload())) {
    return DataLoss("a stored enrollment is corrupt");
  }
  out.event_id = e.event_id();
  return out;
}

}  // namespace

std::vector<std::string> PayeeColumnFamilies() {
  return {kPayeeEnrollmentsCf, kPayeeEnrollmentIdsCf, kPayeeInputsCf, kPayeeKeysCf};
}

// ---- PayeeDirectory ----

Result<std::string> PayeeDirectory::PinnedEnrollment(const api::Payment& payment) const {
  if (!payment.payee_enrollment_event_id().empty()) return payment.payee_enrollment_event_id();
  Result<std::optional<std::string>> input =
      store_.Get(kPayeeInputsCf, payment.approving_input_event_id());
  if (!input.ok()) return input.status();
  if (!input->has_value()) {
    return Unavailable("the payee directory has not read input event " +
                       payment.approving_input_event_id() + " of payment " + payment.payment_id() +
                       " yet; retry shortly");
  }
  // member \0 offset: the member's enrollments before that offset, the latest one.
  const std::string prefix = Join(payment.member_id(), "");
  std::string latest;
  Status s = store_.ScanRange(kPayeeEnrollmentsCf, prefix, **input,
                              [&](std::string_view, std::string_view value) {
                                Result<Enrollment> e = ParseEnrollment(std::string(value));
                                if (e.ok()) latest = e->event_id;
                                return true;
                              });
  if (!s.ok()) return s;
  if (latest.empty()) {
    return FailedPrecondition("member " + payment.member_id() + " of payment " +
                              payment.payment_id() + " has no enrollment before input event " +
                              payment.approving_input_event_id());
  }
  return latest;
}

Result<std::string> PayeeDirectory::LatestEnrollment(const std::string& member_id) const {
  std::string latest;
  Status s = store_.ScanPrefix(kPayeeEnrollmentsCf, Join(member_id, ""),
                               [&](std::string_view, std::string_view value) {
                                 Result<Enrollment> e = ParseEnrollment(std::string(value));
                                 if (e.ok()) latest = e->event_id;
                                 return true;
                               });
  if (!s.ok()) return s;
  if (latest.empty()) return NotFound("member " + member_id + " has no enrollment");
  return latest;
}

Result<Payee> PayeeDirectory::Open(const std::string& enrollment_event_id) const {
  Result<std::optional<std::string>> key = store_.Get(kPayeeEnrollmentIdsCf, enrollment_event_id);
  if (!key.ok()) return key.status();
  if (!key->has_value()) {
    return Unavailable("the payee directory does not know enrollment " + enrollment_event_id +
                       " (yet)");
  }
  Result<std::optional<std::string>> bytes = store_.Get(kPayeeEnrollmentsCf, **key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return DataLoss("enrollment " + enrollment_event_id + " is not stored");
  Result<Enrollment> e = ParseEnrollment(**bytes);
  if (!e.ok()) return e.status();
  const ev::SealedPersonalData& sealed = e->enrolled.personal_data();
  Result<std::optional<std::string>> wrapped = store_.Get(kPayeeKeysCf, sealed.key_id());
  if (!wrapped.ok()) return wrapped.status();
  if (!wrapped->has_value()) {
    return Unavailable("the data key of enrollment " + enrollment_event_id +
                       " is not read from the key topic yet");
  }
  if ((*wrapped)->empty()) {
    return FailedPrecondition("the data key of member " + e->enrolled.member_id() +
                              " was erased: the payee of enrollment " + enrollment_event_id +
                              " cannot be opened");
  }
  Result<crypto::DataKey> data_key = crypto::UnwrapKey(master_keys_, sealed.key_id(), **wrapped);
  if (!data_key.ok()) return data_key.status();
  crypto::Sealed s;
  s.key_id = sealed.key_id();
  if (sealed.nonce().size() != s.nonce.size() || sealed.tag().size() != s.tag.size()) {
    return DataLoss("the sealed personal data of enrollment " + enrollment_event_id +
                    " is malformed");
  }
  std::copy(sealed.nonce().begin(), sealed.nonce().end(), s.nonce.begin());
  std::copy(sealed.tag().begin(), sealed.tag().end(), s.tag.begin());
  s.ciphertext = sealed.ciphertext();
  Result<std::string> plain = crypto::Open(*data_key, s, kPersonalDataContext);
  if (!plain.ok()) return plain.status();
  ev::PersonalData personal;
  if (!personal.ParseFromString(*plain)) {
    return DataLoss("the personal data of enrollment " + enrollment_event_id + " does not parse");
  }
  return Payee{e->event_id, personal.name(), personal.bank_card_number()};
}

// ---- PayeeFollower ----

Status PayeeFollower::Start(std::chrono::milliseconds timeout) {
  return events::AssignFromStore(consumer_, store_, {std::begin(kTopics), std::end(kTopics)},
                                 timeout)
      .status();
}

Status PayeeFollower::Apply(const bus::Message& message, store::WriteBatch& batch) {
  if (message.topic == events::kKeyTopic) {
    // A wrapped key, or a tombstone (empty value) that erases it for good.
    batch.Put(kPayeeKeysCf, message.key, message.value);
    return Status::Ok();
  }
  ev::Envelope e;
  if (!e.ParseFromString(message.value)) return ++skipped_, Status::Ok();
  const std::string position = Join(e.member_id(), Padded(message.offset));
  if (e.type() == codec::kMemberEnrolled) {
    ev::MemberEnrolled m;
    if (!m.ParseFromString(e.payload()) || m.member_id().empty()) return ++skipped_, Status::Ok();
    const std::string key = Join(m.member_id(), Padded(message.offset));
    batch.Put(kPayeeEnrollmentsCf, key, message.value);
    batch.Put(kPayeeEnrollmentIdsCf, e.event_id(), key);
  } else if (e.type() == codec::kClaimSubmitted || e.type() == codec::kClaimAppealed ||
             e.type() == codec::kReviewRecorded) {
    batch.Put(kPayeeInputsCf, e.event_id(), position);
  }
  return Status::Ok();
}

Result<size_t> PayeeFollower::PollOnce(std::chrono::milliseconds timeout) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, 5000);
  if (!events.ok()) return events.status();
  store::WriteBatch batch;
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  size_t consumed = 0;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
    if (Status s = Apply(e.message, batch); !s.ok()) return s;
    next[{e.message.topic, e.message.partition}] = e.message.offset + 1;
    ++consumed;
  }
  if (consumed == 0) return consumed;
  for (const auto& [tp, offset] : next) batch.SetOffset(tp.first, tp.second, offset);
  if (Status s = store_.Write(batch); !s.ok()) return s;
  return consumed;
}

Status PayeeFollower::Run(const std::atomic<bool>& stop) {
  return events::RunFollower(stop, *this);
}

}  // namespace claims::payout
