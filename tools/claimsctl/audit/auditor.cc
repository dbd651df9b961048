#include "tools/claimsctl/audit/auditor.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "tools/claimsctl/audit/wire.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace pb = ::google::protobuf;

constexpr char kPaymentInstructed[] = "mutualaid.events.v1.PaymentInstructed";
constexpr char kPaymentSettled[] = "mutualaid.events.v1.PaymentSettled";
constexpr char kPaymentFailed[] = "mutualaid.events.v1.PaymentFailed";
constexpr uint64_t kProgressEvery = 16384;

std::string Hex(std::string_view bytes) { return bytes.empty() ? "(empty)" : crypto::ToHex(bytes); }

std::string ValueText(const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = m.GetReflection();
  if (f->type() == pb::FieldDescriptor::TYPE_BYTES) {
    std::string scratch;
    const std::string& v = index < 0 ? r->GetStringReference(m, f, &scratch)
                                     : r->GetRepeatedStringReference(m, f, index, &scratch);
    return Hex(v);
  }
  std::string out;
  pb::TextFormat::PrintFieldValueToString(m, f, index, &out);
  return out.empty() ? "(empty)" : out;
}

std::string FieldText(const pb::Message& m, const pb::FieldDescriptor* f) {
  if (!f->is_repeated()) return ValueText(m, f, -1);
  const int n = m.GetReflection()->FieldSize(m, f);
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += ValueText(m, f, i);
  }
  return out + "]";
}

struct FieldDiff {
  std::string field;
  std::string recorded;
  std::string expected;
};

// Every field of two messages of one type whose values differ, in field-number order.
void DiffMessages(const pb::Message& recorded, const pb::Message& expected,
                  const std::string& prefix, const std::set<std::string>& skip,
                  std::vector<FieldDiff>& out) {
  const pb::Descriptor* d = expected.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (skip.count(f->name()) > 0) continue;
    std::string a = FieldText(recorded, f);
    std::string b = FieldText(expected, f);
    if (a != b) out.push_back({prefix + f->name(), std::move(a), std::move(b)});
  }
}

// The claim id a decision or rejection payload names ("" when none or unparseable).
std::string ClaimOfOutput(const ev::Envelope& e) {
  if (e.type() == codec::kClaimDecided) {
    ev::ClaimDecided d;
    if (d.ParseFromString(e.payload())) return d.claim_id();
  } else if (e.type() == codec::kInputRejected) {
    ev::InputRejected r;
    if (r.ParseFromString(e.payload())) return r.claim_id();
  }
  return "";
}

// "payable/M123" -> "payable": balances are reported per kind of account.
std::string AccountClass(const std::string& account) {
  return account.substr(0, account.find('/'));
}

// One output's summary for "recorded"/"expected" texts.
std::string Describe(const ev::Envelope& e) {
  std::string what = e.type().substr(e.type().rfind('.') + 1);
  if (e.type() == codec::kClaimDecided) {
    ev::ClaimDecided d;
    if (d.ParseFromString(e.payload())) {
      what += " " + ev::Outcome_Name(d.outcome()) + " payable_fen " +
              std::to_string(d.payable_fen()) + " revision " + std::to_string(d.revision());
    }
  } else if (e.type() == codec::kInputRejected) {
    ev::InputRejected r;
    if (r.ParseFromString(e.payload())) what += " " + r.code();
  }
  return what + " (event " + e.event_id() + ", sequence " + std::to_string(e.sequence()) + ")";
}

// Where an output of (member, sequence) was seen first.
struct Slot {
  crypto::Sha256Digest digest{};
  uint64_t position = 0;
  bool present = false;
  bool consumed = false;
};

// Published outputs by (member, sequence): each member's sequences are dense from 1.
class OutputIndex {
 public:
  Slot& At(std::string_view member, uint64_t sequence) {
    auto it = members_.find(member);
    if (it == members_.end()) it = members_.emplace(std::string(member), std::vector<Slot>()).first;
    std::vector<Slot>& slots = it->second;
    if (slots.size() < sequence) slots.resize(sequence);
    return slots[sequence - 1];
  }
  Slot* Find(std::string_view member, uint64_t sequence) {
    auto it = members_.find(member);
    if (it == members_.end() || it->second.size() < sequence) return nullptr;
    Slot& s = it->second[sequence - 1];
    return s.present ? &s : nullptr;
  }
  const std::map<std::string, std::vector<Slot>, std::less<>>& members() const { return members_; }

 private:
  std::map<std::string, std::vector<Slot>, std::less<>> members_;
};

struct Instruction {
  std::string claim_id;
  std::string member_id;
  int kind = 0;
  Fen amount = 0;
  std::string decision_event_id;
  std::string decision_sha256;  // PaymentInstructed.decision_sha256, may be empty
  std::string replaces;
  std::string event_id;
  uint64_t position = 0;
  int settled = 0;
  int failed = 0;
};

struct BankStatus {
  std::string payment_id;
  std::string claim_id;
  std::string member_id;
  int kind = 0;
  Fen amount = 0;
  bool settled = false;
  std::string event_id;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// The claim's final re-derived decision.
struct ExpectedClaim {
  std::string member_id;
  ev::Outcome outcome = ev::OUTCOME_UNSPECIFIED;
  Fen payable = 0;
  Fen condolence = 0;
  std::string decision_event_id;
  std::string decision_sha256;  // payload hash of that decision
};

class AuditRun {
 public:
  // Audits the members whose id hashes to `shard` of `shards`; shard 0 also checks the file as a
  // whole (hash, manifest) and reports progress.
  AuditRun(ExportReader& reader, const PlanSet& plans, const AuditOptions& options, int shard,
           int shards)
      : reader_(reader), options_(options), refolder_(plans), shard_(shard), shards_(shards) {}

  Result<AuditResult> Run() {
    if (Status s = reader_.Rewind(/*hash=*/shard_ == 0); !s.ok()) return s;
    if (Status s = PassOutputs(); !s.ok()) return s;
    if (shard_ == 0) {
      result_.file_sha256 = reader_.Sha256Hex();
      CheckManifest();
    }
    if (Status s = reader_.Rewind(/*hash=*/false); !s.ok()) return s;
    if (Status s = PassInputs(); !s.ok()) return s;
    if (Status s = CheckUnanswered(); !s.ok()) return s;
    CheckPayments();
    return std::move(result_);
  }

 private:
  void Add(Divergence d) {
    ++result_.divergence_count;
    if (result_.divergences.size() < options_.max_divergences) {
      result_.divergences.push_back(std::move(d));
    }
  }
  void Add(const RecordView& at, std::string claim, std::string member, std::string event,
           std::string field, std::string recorded, std::string expected) {
    Add(Divergence{std::move(claim), std::move(member), std::move(event), std::string(at.topic),
                   at.partition, at.offset, std::move(field), std::move(recorded),
                   std::move(expected)});
  }
  // Every event of a member goes to one shard: by the envelope's member id (as adjudication
  // routes), else the record key.
  bool Mine(const RecordView& record) const {
    if (shards_ == 1) return true;
    std::optional<std::string_view> member =
        wire::LengthDelimited(record.envelope, ev::Envelope::kMemberIdFieldNumber);
    const std::string_view key = member && !member->empty() ? *member : record.key;
    uint32_t h = 2166136261u;
    for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    return static_cast<int>(h % static_cast<uint32_t>(shards_)) == shard_;
  }

  void Progress(int pass, uint64_t records) {
    if (shard_ == 0 && options_.progress && records % kProgressEvery == 0) {
      options_.progress(pass, reader_.position(), reader_.size(), records);
    }
  }

  // Pass 1: index every output by (member, sequence), collect the payment events.
  Status PassOutputs() {
    RecordView record;
    uint64_t n = 0;
    while (true) {
      Result<bool> next = reader_.Next(record);
      if (!next.ok()) return next.status();
      if (!*next) break;
      Progress(1, ++n);
      if (shard_ == 0) {
        ++result_.counts.records;
        PartitionRange& range = seen_[{std::string(record.topic), record.partition}];
        if (range.count == 0) range.first_offset = record.offset;
        range.last_offset = record.offset;
        ++range.count;
      }
      if (!Mine(record)) continue;
      if (record.topic == events::kIntakeTopic) {
        ++result_.counts.inputs;
      } else if (record.topic == events::kDecisionsTopic) {
        ++result_.counts.outputs;
        IndexOutput(record);
      } else if (record.topic == events::kPaymentsTopic) {
        ++result_.counts.payments;
        CollectPayment(record);
      } else {
        ++result_.counts.other;
      }
    }
    if (shard_ == 0 && options_.progress) {
      options_.progress(1, reader_.position(), reader_.size(), n);
    }
    return Status::Ok();
  }

  void IndexOutput(const RecordView& record) {
    // The fast path reads only the member and the sequence; anything odd takes the slow path.
    const std::optional<std::string_view> member =
        wire::LengthDelimited(record.envelope, ev::Envelope::kMemberIdFieldNumber);
    const std::optional<uint64_t> sequence =
        wire::Varint(record.envelope, ev::Envelope::kSequenceFieldNumber);
    if (!member || member->empty() || !sequence || *sequence == 0) {
      if (!envelope_.ParseFromArray(record.envelope.data(),
                                    static_cast<int>(record.envelope.size()))) {
        Add(record, "", std::string(record.key), "", "envelope", "bytes that are not an Envelope",
            "an Envelope");
        return;
      }
      Add(record, ClaimOfOutput(envelope_), envelope_.member_id(), envelope_.event_id(),
          "envelope.sequence", std::to_string(envelope_.sequence()),
          "an output with a member and a sequence > 0");
      return;
    }
    const crypto::Sha256Digest digest = crypto::Sha256(record.envelope);
    Slot& slot = outputs_.At(*member, *sequence);
    if (!slot.present) {
      slot.digest = digest;
      slot.position = record.position;
      slot.present = true;
    } else if (slot.digest == digest) {
      ++result_.counts.duplicate_outputs;
    } else {
      envelope_.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()));
      Add(record, ClaimOfOutput(envelope_), envelope_.member_id(), envelope_.event_id(),
          "envelope (member " + envelope_.member_id() + ", sequence " +
              std::to_string(envelope_.sequence()) + ")",
          "a second, different output: " + Describe(envelope_),
          "identical repeats only, as first published at byte " + std::to_string(slot.position));
    }
  }

  // Drops identical repeats of payment events; a different event under the same key is a
  // divergence. True when the event is new.
  bool FirstPayment(const RecordView& record, const ev::Envelope& e) {
    const crypto::Sha256Digest digest = crypto::Sha256(record.envelope);
    std::string key = e.sequence() > 0 ? e.member_id() + "#" + std::to_string(e.sequence())
                                       : "id:" + e.event_id();
    auto [it, fresh] = payment_keys_.emplace(std::move(key), digest);
    if (fresh) return true;
    if (it->second == digest) {
      ++result_.counts.duplicate_payments;
    } else {
      Add(record, "", e.member_id(), e.event_id(), "envelope",
          "a second, different payment event under " + it->first, "identical repeats only");
    }
    return false;
  }

  void CollectPayment(const RecordView& record) {
    ev::Envelope& e = envelope_;
    if (!e.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()))) {
      Add(record, "", std::string(record.key), "", "envelope", "bytes that are not an Envelope",
          "an Envelope");
      return;
    }
    if (!FirstPayment(record, e)) return;
    const std::string computed(crypto::AsBytes(crypto::Sha256(e.payload())));
    bool hash_ok = computed == e.payload_sha256();
    CollectPostings(record, e);
    if (e.type() == kPaymentInstructed) {
      ev::PaymentInstructed p;
      const bool parsed = p.ParseFromString(e.payload());
      if (!hash_ok) {
        Add(record, p.claim_id(), e.member_id(), e.event_id(), "payload_sha256",
            Hex(e.payload_sha256()), Hex(computed));
      }
      if (!parsed) {
        Add(record, "", e.member_id(), e.event_id(), "payload", "unparseable", e.type());
        return;
      }
      Instruction in{p.claim_id(),
                     p.member_id(),
                     p.kind(),
                     p.amount_fen(),
                     p.decision_event_id(),
                     p.decision_sha256(),
                     p.replaces_payment_id(),
                     e.event_id(),
                     record.position};
      if (!instructions_.emplace(p.payment_id(), std::move(in)).second) {
        Add(record, p.claim_id(), e.member_id(), e.event_id(), "payment_id",
            "a second instruction " + p.payment_id(), "one instruction per payment id");
      }
    } else if (e.type() == kPaymentSettled || e.type() == kPaymentFailed) {
      BankStatus s;
      s.settled = e.type() == kPaymentSettled;
      bool parsed = false;
      if (s.settled) {
        ev::PaymentSettled p;
        parsed = p.ParseFromString(e.payload());
        s.payment_id = p.payment_id();
        s.claim_id = p.claim_id();
        s.member_id = p.member_id();
        s.kind = p.kind();
        s.amount = p.amount_fen();
      } else {
        ev::PaymentFailed p;
        parsed = p.ParseFromString(e.payload());
        s.payment_id = p.payment_id();
        s.claim_id = p.claim_id();
        s.member_id = p.member_id();
        s.kind = p.kind();
        s.amount = p.amount_fen();
      }
      if (!hash_ok) {
        Add(record, s.claim_id, e.member_id(), e.event_id(), "payload_sha256",
            Hex(e.payload_sha256()), Hex(computed));
      }
      if (!parsed) {
        Add(record, "", e.member_id(), e.event_id(), "payload", "unparseable", e.type());
        return;
      }
      s.event_id = e.event_id();
      s.topic = std::string(record.topic);
      s.partition = record.partition;
      s.offset = record.offset;
      statuses_.push_back(std::move(s));
    } else {
      // Batches, holds and whatever payout adds later: hash-checked, not yet re-derived.
      if (!hash_ok) {
        Add(record, "", e.member_id(), e.event_id(), "payload_sha256", Hex(e.payload_sha256()),
            Hex(computed));
      }
      ++result_.counts.other;
    }
  }

  // The double-entry postings any payment event carries (field `postings`, whatever its type):
  // each must move a positive amount between two named accounts.
  void CollectPostings(const RecordView& record, const ev::Envelope& e) {
    const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(e.type());
    if (d == nullptr) return;
    const pb::FieldDescriptor* f = d->FindFieldByName("postings");
    if (f == nullptr || !f->is_repeated() || f->message_type() == nullptr) return;
    std::unique_ptr<pb::Message> m(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
    if (!m->ParseFromString(e.payload())) return;
    const pb::Reflection* r = m->GetReflection();
    const pb::Descriptor* pd = f->message_type();
    const pb::FieldDescriptor* debit = pd->FindFieldByName("debit_account");
    const pb::FieldDescriptor* credit = pd->FindFieldByName("credit_account");
    const pb::FieldDescriptor* amount = pd->FindFieldByName("amount_fen");
    if (debit == nullptr || credit == nullptr || amount == nullptr) return;
    for (int i = 0; i < r->FieldSize(*m, f); ++i) {
      const pb::Message& p = r->GetRepeatedMessage(*m, f, i);
      const pb::Reflection* pr = p.GetReflection();
      const std::string from = pr->GetString(p, debit);
      const std::string to = pr->GetString(p, credit);
      const int64_t fen = pr->GetInt64(p, amount);
      if (fen <= 0 || from.empty() || to.empty() || from == to) {
        Add(record, "", e.member_id(), e.event_id(), "postings[" + std::to_string(i) + "]",
            "debit '" + from + "' credit '" + to + "' " + std::to_string(fen) + " fen",
            "a positive amount between two different accounts");
        result_.ledger_balanced = false;
        continue;
      }
      result_.ledger.posted_debits += fen;
      result_.ledger.posted_credits += fen;
      result_.ledger.balances[AccountClass(from)] -= fen;
      result_.ledger.balances[AccountClass(to)] += fen;
    }
  }

  void CheckManifest() {
    const Manifest* m = options_.manifest;
    if (m == nullptr) return;
    RecordView file;
    file.partition = -1;
    file.offset = -1;
    auto add = [&](std::string field, std::string recorded, std::string expected) {
      Add(file, "", "", "", std::move(field), std::move(recorded), std::move(expected));
    };
    if (m->sha256 != result_.file_sha256) add("manifest.sha256", m->sha256, result_.file_sha256);
    if (m->bytes != reader_.size()) {
      add("manifest.bytes", std::to_string(m->bytes), std::to_string(reader_.size()));
    }
    if (m->records != result_.counts.records) {
      add("manifest.records", std::to_string(m->records), std::to_string(result_.counts.records));
    }
    for (const PartitionRange& p : m->partitions) {
      const std::string name = "manifest." + p.topic + "/" + std::to_string(p.partition);
      auto it = seen_.find({p.topic, p.partition});
      const PartitionRange none;
      const PartitionRange& s = it == seen_.end() ? none : it->second;
      auto text = [](const PartitionRange& r) {
        return std::to_string(r.count) + " records, offsets " + std::to_string(r.first_offset) +
               ".." + std::to_string(r.last_offset);
      };
      if (s.count != p.count ||
          (p.count > 0 && (s.first_offset != p.first_offset || s.last_offset != p.last_offset))) {
        add(name, text(p), text(s) + " in the file");
      }
    }
    for (const auto& [key, s] : seen_) {
      bool listed = false;
      for (const PartitionRange& p : m->partitions) {
        listed = listed || (p.topic == key.first && p.partition == key.second);
      }
      if (!listed) {
        add("manifest." + key.first + "/" + std::to_string(key.second), "not listed",
            std::to_string(s.count) + " records in the file");
      }
    }
  }

  // Pass 2: re-fold every input and compare what it yields with what was published.
  Status PassInputs() {
    RecordView record;
    RefoldStep step;
    std::string bytes;
    uint64_t n = 0;
    while (true) {
      Result<bool> next = reader_.Next(record);
      if (!next.ok()) return next.status();
      if (!*next) break;
      Progress(2, ++n);
      if (record.topic != events::kIntakeTopic || !Mine(record)) continue;
      refolder_.Apply(record, step);
      const ev::Envelope& in = step.envelope;
      std::string claim;
      if (step.input) {
        if (const auto* c = std::get_if<domain::ClaimInput>(&*step.input)) claim = c->claim;
        if (const auto* r = std::get_if<domain::ReviewInput>(&*step.input)) claim = r->claim;
        if (const auto* a = std::get_if<domain::AppealInput>(&*step.input)) claim = a->claim;
      }
      if (step.decode_status.code() == StatusCode::kDataLoss) {
        Add(record, claim, in.member_id(), in.event_id(), "payload_sha256",
            Hex(in.payload_sha256()),
            Hex(std::string(crypto::AsBytes(crypto::Sha256(in.payload())))));
      }
      if (step.plan == nullptr) {
        Add(record, claim, in.member_id(), in.event_id(), "plan_id", step.plan_id,
            "a plan of the plans directory");
        continue;
      }
      if (!step.published) continue;
      const ev::Envelope& out = *step.published;
      if (const auto* d = std::get_if<domain::Decision>(&step.output.body)) {
        ExpectedClaim& c = claims_[d->claim];
        c.member_id = d->member;
        c.outcome = d->outcome == domain::Outcome::kApproved ? ev::APPROVED
                    : d->outcome == domain::Outcome::kDenied ? ev::DENIED
                                                             : ev::REFERRED;
        c.payable = d->payable;
        c.condolence = d->condolence;
        c.decision_event_id = out.event_id();
        c.decision_sha256 = out.payload_sha256();
        claim = d->claim;
      } else if (const auto* r = std::get_if<domain::InputRejection>(&step.output.body)) {
        if (!r->claim.empty()) claim = r->claim;
      }
      bytes.clear();
      out.SerializeToString(&bytes);
      Slot* slot = outputs_.Find(out.member_id(), out.sequence());
      if (slot == nullptr) {
        Add(record, claim, out.member_id(), in.event_id(),
            out.type() == codec::kClaimDecided ? "decision" : "rejection", "none published",
            Describe(out));
        continue;
      }
      slot->consumed = true;
      if (crypto::Sha256(bytes) == slot->digest) {
        ++result_.counts.decisions_checked;
        continue;
      }
      if (Status s = DiffRecorded(*slot, out, claim); !s.ok()) return s;
    }
    if (shard_ == 0 && options_.progress) {
      options_.progress(2, reader_.position(), reader_.size(), n);
    }
    return Status::Ok();
  }

  // The recorded output at `slot` differs from `expected`: names every field that does.
  Status DiffRecorded(const Slot& slot, const ev::Envelope& expected, const std::string& claim) {
    Result<RecordView> at = reader_.ReadAt(slot.position, storage_);
    if (!at.ok()) return at.status();
    ev::Envelope recorded;
    recorded.ParseFromArray(at->envelope.data(), static_cast<int>(at->envelope.size()));
    std::vector<FieldDiff> diffs;
    DiffMessages(recorded, expected, "envelope.", {"payload", "payload_sha256"}, diffs);
    const std::string computed(crypto::AsBytes(crypto::Sha256(recorded.payload())));
    if (computed != recorded.payload_sha256()) {
      diffs.push_back({"payload_sha256", Hex(recorded.payload_sha256()), Hex(computed)});
    }
    if (recorded.payload() != expected.payload() && recorded.type() == expected.type()) {
      std::unique_ptr<pb::Message> a, b;
      if (expected.type() == codec::kClaimDecided) {
        a = std::make_unique<ev::ClaimDecided>();
        b = std::make_unique<ev::ClaimDecided>();
      } else {
        a = std::make_unique<ev::InputRejected>();
        b = std::make_unique<ev::InputRejected>();
      }
      if (!a->ParseFromString(recorded.payload())) {
        diffs.push_back({"payload", "unparseable", expected.type()});
      } else {
        b->ParseFromString(expected.payload());
        DiffMessages(*a, *b, "", {}, diffs);
      }
    }
    if (diffs.empty()) {  // same fields, other bytes (e.g. unknown fields appended)
      diffs.push_back({"envelope", "other bytes", "the bytes adjudication publishes"});
    }
    for (FieldDiff& d : diffs) {
      Add(*at, claim, expected.member_id(), recorded.event_id(), std::move(d.field),
          std::move(d.recorded), std::move(d.expected));
    }
    return Status::Ok();
  }

  // Published outputs that no input yields.
  Status CheckUnanswered() {
    for (const auto& [member, slots] : outputs_.members()) {
      for (const Slot& slot : slots) {
        if (!slot.present || slot.consumed) continue;
        Result<RecordView> at = reader_.ReadAt(slot.position, storage_);
        if (!at.ok()) return at.status();
        ev::Envelope e;
        e.ParseFromArray(at->envelope.data(), static_cast<int>(at->envelope.size()));
        Add(*at, ClaimOfOutput(e), member, e.event_id(),
            e.type() == codec::kInputRejected ? "rejection" : "decision", Describe(e),
            "none: no input yields member " + member + " sequence " + std::to_string(e.sequence()));
      }
    }
    return Status::Ok();
  }

  void AddPayment(const Instruction& in, const std::string& payment_id, std::string field,
                  std::string recorded, std::string expected) {
    Result<RecordView> at = reader_.ReadAt(in.position, storage_);
    RecordView where = at.ok() ? *at : RecordView{};
    Add(where, in.claim_id, in.member_id, in.event_id, "payment " + payment_id + ": " + field,
        std::move(recorded), std::move(expected));
  }

  void CheckPayments() {
    Ledger& ledger = result_.ledger;
    // Instructions against the re-derived decisions.
    std::map<std::pair<std::string, int>, std::vector<std::string>> by_claim_kind;
    for (const auto& [id, in] : instructions_) {
      ledger.instructed += in.amount;
      by_claim_kind[{in.claim_id, in.kind}].push_back(id);
      auto it = claims_.find(in.claim_id);
      if (it == claims_.end()) {
        AddPayment(in, id, "approval", "an instruction of " + std::to_string(in.amount) + " fen",
                   "none: no decision on this claim");
        continue;
      }
      const ExpectedClaim& c = it->second;
      if (c.outcome != ev::APPROVED) {
        AddPayment(in, id, "approval", "an instruction of " + std::to_string(in.amount) + " fen",
                   "none: the claim is " + ev::Outcome_Name(c.outcome));
        continue;
      }
      const Fen due = in.kind == ev::CONDOLENCE ? c.condolence : c.payable;
      if (in.kind != ev::BENEFIT && in.kind != ev::CONDOLENCE) {
        AddPayment(in, id, "kind", std::to_string(in.kind), "BENEFIT or CONDOLENCE");
      } else if (in.amount != due) {
        AddPayment(in, id, "amount_fen", std::to_string(in.amount), std::to_string(due));
      }
      if (in.decision_event_id != c.decision_event_id) {
        AddPayment(in, id, "decision_event_id", in.decision_event_id, c.decision_event_id);
      }
      if (!in.decision_sha256.empty() && in.decision_sha256 != c.decision_sha256) {
        AddPayment(in, id, "decision_sha256", Hex(in.decision_sha256), Hex(c.decision_sha256));
      }
      if (!in.replaces.empty()) {
        auto old = instructions_.find(in.replaces);
        if (old == instructions_.end() || old->second.claim_id != in.claim_id ||
            old->second.kind != in.kind) {
          AddPayment(in, id, "replaces_payment_id", in.replaces,
                     "a failed payment of the same claim and kind");
        }
      }
    }
    // Bank statuses against their instructions.
    for (const BankStatus& s : statuses_) {
      auto it = instructions_.find(s.payment_id);
      const std::string what = s.settled ? "PaymentSettled" : "PaymentFailed";
      RecordView where;
      where.topic = s.topic;
      where.partition = s.partition;
      where.offset = s.offset;
      if (it == instructions_.end()) {
        Add(where, s.claim_id, s.member_id, s.event_id, "payment " + s.payment_id,
            what + " of " + std::to_string(s.amount) + " fen", "none: no such instruction");
        result_.ledger_balanced = false;
        continue;
      }
      Instruction& in = it->second;
      (s.settled ? in.settled : in.failed)++;
      (s.settled ? ledger.settled : ledger.failed) += s.amount;
      if (s.amount != in.amount || s.claim_id != in.claim_id || s.kind != in.kind) {
        Add(where, s.claim_id, s.member_id, s.event_id, "payment " + s.payment_id + ": amount_fen",
            what + " " + std::to_string(s.amount) + " fen (claim " + s.claim_id + ")",
            std::to_string(in.amount) + " fen (claim " + in.claim_id + ")");
        result_.ledger_balanced = false;
      }
    }
    for (const auto& [id, in] : instructions_) {
      if (in.settled + in.failed > 1) {
        AddPayment(
            in, id, "bank status",
            std::to_string(in.settled) + " settled, " + std::to_string(in.failed) + " failed",
            "at most one final status");
        result_.ledger_balanced = false;
      }
      if (!in.replaces.empty()) {
        auto old = instructions_.find(in.replaces);
        if (old != instructions_.end() && old->second.failed == 0) {
          AddPayment(in, id, "replaces_payment_id", in.replaces + " (not failed)",
                     "a failed payment");
        }
      }
    }
    // Every approval: exactly one live instruction per kind, of the approved amount.
    for (const auto& [claim, c] : claims_) {
      if (c.outcome != ev::APPROVED) continue;
      ++result_.counts.approved_claims;
      for (int kind : {static_cast<int>(ev::BENEFIT), static_cast<int>(ev::CONDOLENCE)}) {
        const Fen due = kind == ev::CONDOLENCE ? c.condolence : c.payable;
        auto it = by_claim_kind.find({claim, kind});
        int originals = 0;
        int live = 0;
        if (it != by_claim_kind.end()) {
          for (const std::string& id : it->second) {
            const Instruction& in = instructions_.at(id);
            originals += in.replaces.empty() ? 1 : 0;
            live += in.failed == 0 ? 1 : 0;
          }
        }
        const std::string kind_name = ev::PaymentKind_Name(static_cast<ev::PaymentKind>(kind));
        if (due == 0) {
          if (originals > 0) {
            Add(Divergence{claim, c.member_id, c.decision_event_id, "", -1, -1,
                           kind_name + " instruction", std::to_string(originals),
                           "none: nothing due"});
          }
          continue;
        }
        if (options_.allow_unpaid && it == by_claim_kind.end()) {
          ++result_.counts.unpaid_approvals;
          continue;
        }
        if (originals != 1 || live > 1) {
          Add(Divergence{claim, c.member_id, c.decision_event_id, "", -1, -1,
                         kind_name + " instruction",
                         std::to_string(originals) + " instruction(s), " + std::to_string(live) +
                             " not failed",
                         "exactly 1 of " + std::to_string(due) + " fen"});
        }
      }
    }
    for (const auto& [id, in] : instructions_) {
      if (in.amount < 0) result_.ledger_balanced = false;
    }
    if (ledger.outstanding() < 0) result_.ledger_balanced = false;
    if (!result_.ledger_balanced) {
      Add(Divergence{"", "", "", "", -1, -1, "ledger",
                     "instructed " + std::to_string(ledger.instructed) + ", settled " +
                         std::to_string(ledger.settled) + ", failed " +
                         std::to_string(ledger.failed),
                     "every settlement and failure equal to its instruction, at most one each"});
    }
  }

  ExportReader& reader_;
  const AuditOptions& options_;
  Refolder refolder_;
  AuditResult result_;
  ev::Envelope envelope_;
  std::string storage_;
  OutputIndex outputs_;
  std::map<std::string, crypto::Sha256Digest> payment_keys_;
  std::map<std::string, Instruction> instructions_;
  std::vector<BankStatus> statuses_;
  std::map<std::string, ExpectedClaim> claims_;
  std::map<std::pair<std::string, int32_t>, PartitionRange> seen_;
  int shard_ = 0;
  int shards_ = 1;
};

}  // namespace

std::string Divergence::ToLine() const {
  std::string line;
  if (!claim_id.empty()) {
    line = "claim " + claim_id + ": ";
  } else if (!member_id.empty()) {
    line = "member " + member_id + ": ";
  } else if (topic.empty() && field.rfind("manifest", 0) == 0) {
    line = "export file: ";
  }
  line += "field " + field + ": recorded " + recorded + ", expected " + expected;
  if (!event_id.empty() || !topic.empty()) {
    line += " (";
    if (!event_id.empty()) line += "event " + event_id;
    if (!topic.empty()) {
      line += (event_id.empty() ? "" : " at ") + topic + "/" + std::to_string(partition) + "@" +
              std::to_string(offset);
    }
    line += ")";
  }
  return line;
}

Result<AuditResult> Audit(ExportReader& reader, const PlanSet& plans, const AuditOptions& options) {
  const int shards = std::clamp(options.threads, 1, 16);
  std::vector<std::unique_ptr<ExportReader>> readers;
  for (int i = 1; i < shards; ++i) {
    Result<std::unique_ptr<ExportReader>> r = ExportReader::Open(reader.path());
    if (!r.ok()) return r.status();
    readers.push_back(std::move(r).value());
  }
  std::vector<std::optional<Result<AuditResult>>> results(shards);
  std::vector<std::thread> threads;
  for (int i = 1; i < shards; ++i) {
    threads.emplace_back([&, i] {
      AuditRun run(*readers[i - 1], plans, options, i, shards);
      results[i].emplace(run.Run());
    });
  }
  {
    AuditRun run(reader, plans, options, 0, shards);
    results[0].emplace(run.Run());
  }
  for (std::thread& t : threads) t.join();
  for (const auto& r : results) {
    if (!r->ok()) return r->status();
  }
  // Merged in a fixed order, so the result does not depend on the number of shards.
  AuditResult merged = std::move(results[0]->value());
  for (int i = 1; i < shards; ++i) {
    AuditResult& r = results[i]->value();
    AuditCounts& c = merged.counts;
    c.inputs += r.counts.inputs;
    c.outputs += r.counts.outputs;
    c.duplicate_outputs += r.counts.duplicate_outputs;
    c.payments += r.counts.payments;
    c.duplicate_payments += r.counts.duplicate_payments;
    c.other += r.counts.other;
    c.decisions_checked += r.counts.decisions_checked;
    c.approved_claims += r.counts.approved_claims;
    c.unpaid_approvals += r.counts.unpaid_approvals;
    merged.ledger.instructed += r.ledger.instructed;
    merged.ledger.settled += r.ledger.settled;
    merged.ledger.failed += r.ledger.failed;
    merged.ledger.posted_debits += r.ledger.posted_debits;
    merged.ledger.posted_credits += r.ledger.posted_credits;
    for (const auto& [account, fen] : r.ledger.balances) merged.ledger.balances[account] += fen;
    merged.ledger_balanced = merged.ledger_balanced && r.ledger_balanced;
    merged.divergence_count += r.divergence_count;
    for (Divergence& d : r.divergences) merged.divergences.push_back(std::move(d));
  }
  {
    std::stable_sort(merged.divergences.begin(), merged.divergences.end(),
                     [](const Divergence& a, const Divergence& b) {
                       return std::tie(a.topic, a.partition, a.offset, a.claim_id, a.field) <
                              std::tie(b.topic, b.partition, b.offset, b.claim_id, b.field);
                     });
    if (merged.divergences.size() > options.max_divergences) {
      merged.divergences.resize(options.max_divergences);
    }
  }
  return merged;
}

}  // namespace claims::audit
