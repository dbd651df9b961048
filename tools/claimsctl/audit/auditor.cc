#include "tools/claimsctl/audit/auditor.h"

#include <absl/container/flat_hash_map.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <latch>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "tools/claimsctl/audit/audit_fold.h"
#include "tools/claimsctl/audit/wire.h"
#include "tools/claimsctl/audit/wire_codec.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;
namespace pb = ::google::protobuf;

constexpr std::string_view kIntake = events::kIntakeTopic;
constexpr std::string_view kDecisions = events::kDecisionsTopic;
constexpr std::string_view kPayments = events::kPaymentsTopic;
constexpr std::string_view kPaymentInstructed = "mutualaid.events.v1.PaymentInstructed";
constexpr std::string_view kPaymentSettled = "mutualaid.events.v1.PaymentSettled";
constexpr std::string_view kPaymentFailed = "mutualaid.events.v1.PaymentFailed";
constexpr uint64_t kProgressEvery = 16384;
// Divergences found outside any record (approvals, the ledger, the manifest) sort after those
// of records with the same (topic, partition, offset, claim, field).
constexpr uint64_t kNoPosition = std::numeric_limits<uint64_t>::max();
// Payment event types whose postings rules one shard remembers; a log naming more is looked up
// each time.
constexpr size_t kPaymentTypeCache = 64;

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
std::string AccountClass(std::string_view account) {
  return std::string(account.substr(0, account.find('/')));
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

ev::Envelope ParseEnvelope(std::string_view bytes) {
  ev::Envelope e;
  e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  return e;
}

// The fields of an envelope protobuf parsed, as views into it.
EnvelopeView ViewOf(const ev::Envelope& e) {
  EnvelopeView v;
  v.event_id = e.event_id();
  v.type = e.type();
  v.member_id = e.member_id();
  v.business_date = e.business_date();
  v.payload_sha256 = e.payload_sha256();
  v.answers_event_id = e.answers_event_id();
  v.trace_id = e.trace_id();
  v.payload = e.payload();
  v.sequence = e.sequence();
  return v;
}

// Outputs are compared by this digest: SHA-256 over the envelope bytes with the value of its
// (last) payload field replaced by the payload's SHA-256 and preceded by where it was. Equal
// digests mean equal bytes, and an expected output, whose payload the encoder has just hashed, is
// digested without hashing its payload again. Bytes without a payload field are digested whole,
// under another first byte.
crypto::Sha256Digest OutputDigest(std::string_view envelope, std::optional<size_t> payload_at,
                                  size_t payload_size, const crypto::Sha256Digest& payload_sha256,
                                  std::string& scratch) {
  scratch.clear();
  if (!payload_at) {
    scratch.push_back('\0');
    scratch.append(envelope);
    return crypto::Sha256(scratch);
  }
  scratch.push_back('\1');
  for (int i = 0; i < 8; ++i) scratch.push_back(static_cast<char>((*payload_at >> (8 * i)) & 0xff));
  scratch.append(envelope.substr(0, *payload_at));
  scratch.append(crypto::AsBytes(payload_sha256));
  scratch.append(envelope.substr(*payload_at + payload_size));
  return crypto::Sha256(scratch);
}

// ---- Divergences in one total order, so that any number of shards lists the same ones. ----

struct Found {
  Divergence d;
  uint64_t position = 0;  // the record's byte position, kNoPosition for none
  uint64_t seq = 0;       // order of finding, among those of one record
};

bool Before(const Found& a, const Found& b) {
  return std::tie(a.d.topic, a.d.partition, a.d.offset, a.d.claim_id, a.d.field, a.position,
                  a.seq) <
         std::tie(b.d.topic, b.d.partition, b.d.offset, b.d.claim_id, b.d.field, b.position, b.seq);
}

// The first `max` divergences in that order of any number added, and how many there were.
// Memory stays within 2 * max entries.
class DivergenceList {
 public:
  explicit DivergenceList(size_t max) : max_(max) {}

  void Add(Divergence d, uint64_t position) {
    ++count_;
    if (max_ == 0) return;
    kept_.push_back(Found{std::move(d), position, seq_++});
    if (kept_.size() >= 2 * max_) Prune();
  }
  void Merge(DivergenceList&& other) {
    count_ += other.count_;
    for (Found& f : other.kept_) {
      kept_.push_back(std::move(f));
      if (kept_.size() >= 2 * max_) Prune();
    }
    other.kept_.clear();
  }
  uint64_t count() const { return count_; }
  std::vector<Divergence> Take() {
    Prune();
    std::vector<Divergence> out;
    out.reserve(kept_.size());
    for (Found& f : kept_) out.push_back(std::move(f.d));
    kept_.clear();
    return out;
  }

 private:
  void Prune() {
    std::sort(kept_.begin(), kept_.end(), Before);
    if (kept_.size() > max_) kept_.resize(max_);
  }

  size_t max_;
  uint64_t count_ = 0;
  uint64_t seq_ = 0;
  std::vector<Found> kept_;
};

// ---- What one shard collects ----

// Where an output of (member, sequence) was seen first.
struct Slot {
  crypto::Sha256Digest digest{};
  uint64_t position = 0;
  bool present = false;
  bool consumed = false;
};

// Where a payment event of (member, sequence) was seen first.
struct PaymentSlot {
  uint64_t position = 0;
  bool present = false;
};

// A member's state in the re-fold, its published outputs and its payment events by sequence
// (dense from 1).
struct MemberEntry {
  domain::MemberState state;
  std::vector<Slot> outputs;
  std::vector<PaymentSlot> payments;
};

// Slots by (member, sequence) for sequences far beyond a member's last (a forged 10^12), kept
// aside instead of growing the member's vector.
template <typename S>
using SparseSlots = std::map<std::pair<std::string, uint64_t>, S>;

struct Instruction {
  std::string payment_id;
  std::string claim_id;
  std::string member_id;        // the payload's
  std::string envelope_member;  // the envelope's
  int kind = 0;
  Fen amount = 0;
  std::string decision_event_id;
  std::string decision_sha256;  // PaymentInstructed.decision_sha256, may be empty
  std::string replaces;
  std::string event_id;
  uint64_t position = 0;
  int32_t partition = 0;
  int64_t offset = 0;
  int settled = 0;
  int failed = 0;
  bool repeated_id = false;  // a second instruction under an earlier one's payment id
};

struct BankStatus {
  std::string payment_id;
  std::string claim_id;
  std::string member_id;
  int kind = 0;
  Fen amount = 0;
  bool settled = false;
  std::string event_id;
  uint64_t position = 0;
  int32_t partition = 0;
  int64_t offset = 0;
};

// The claim's final re-derived decision.
struct ExpectedClaim {
  std::string member_id;
  std::string decision_event_id;
  crypto::Sha256Digest decision_sha256{};  // payload hash of that decision
  Fen payable = 0;
  Fen condolence = 0;
  uint64_t position = 0;  // of the input that decided it: the latest one wins
  ev::Outcome outcome = ev::OUTCOME_UNSPECIFIED;
};

// The fields of the payment payloads the audit checks.
struct PaymentFields {
  std::string_view payment_id;
  std::string_view claim_id;
  std::string_view member_id;
  int kind = 0;
  Fen amount = 0;
  std::string_view decision_event_id;
  std::string_view replaces;
  std::string_view decision_sha256;
};

// How to find the postings of one payment event type (field `postings`, whatever the type).
struct PaymentType {
  const pb::Descriptor* descriptor = nullptr;  // nullptr: not a known message type
  const pb::FieldDescriptor* postings = nullptr;
  const pb::FieldDescriptor* debit = nullptr;
  const pb::FieldDescriptor* credit = nullptr;
  const pb::FieldDescriptor* amount = nullptr;
  const wire::Schema* schema = nullptr;
  bool wire_readable = false;  // postings can be read from the wire (string, string, int64)
};

PaymentType LookUpPaymentType(std::string_view type) {
  PaymentType t;
  t.descriptor = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(type));
  if (t.descriptor == nullptr) return t;
  const pb::FieldDescriptor* f = t.descriptor->FindFieldByName("postings");
  if (f == nullptr || !f->is_repeated() || f->message_type() == nullptr) return t;
  const pb::Descriptor* pd = f->message_type();
  t.debit = pd->FindFieldByName("debit_account");
  t.credit = pd->FindFieldByName("credit_account");
  t.amount = pd->FindFieldByName("amount_fen");
  if (t.debit == nullptr || t.credit == nullptr || t.amount == nullptr) return t;
  t.postings = f;
  t.schema = &wire::Schema::For(t.descriptor);
  t.wire_readable = t.debit->type() == pb::FieldDescriptor::TYPE_STRING &&
                    t.credit->type() == pb::FieldDescriptor::TYPE_STRING &&
                    t.amount->type() == pb::FieldDescriptor::TYPE_INT64 &&
                    !t.debit->is_repeated() && !t.credit->is_repeated() && !t.amount->is_repeated();
  return t;
}

// The typed fields of a PaymentInstructed, PaymentSettled or PaymentFailed payload from the wire,
// and its postings (each a LedgerPosting's bytes, already checked); false when protobuf might
// read it otherwise.
template <typename Message>
bool ReadPaymentFields(std::string_view payload, PaymentFields& p,
                       std::vector<std::string_view>& postings) {
  static const wire::Schema& schema = wire::Schema::For(Message::descriptor());
  p = PaymentFields{};
  wire::Reader reader(payload);
  wire::Field f;
  while (reader.Next(f)) {
    if (!schema.Accepts(f)) return false;
    switch (f.number) {
      case Message::kPaymentIdFieldNumber:
        p.payment_id = f.bytes;
        break;
      case Message::kClaimIdFieldNumber:
        p.claim_id = f.bytes;
        break;
      case Message::kMemberIdFieldNumber:
        p.member_id = f.bytes;
        break;
      case Message::kKindFieldNumber:
        if (f.varint > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return false;
        p.kind = static_cast<int>(f.varint);
        break;
      case Message::kAmountFenFieldNumber:
        p.amount = static_cast<Fen>(f.varint);
        break;
      case Message::kPostingsFieldNumber:
        postings.push_back(f.bytes);
        break;
      default:
        if constexpr (std::is_same_v<Message, ev::PaymentInstructed>) {
          if (f.number == Message::kDecisionEventIdFieldNumber) p.decision_event_id = f.bytes;
          if (f.number == Message::kReplacesPaymentIdFieldNumber) p.replaces = f.bytes;
          if (f.number == Message::kDecisionSha256FieldNumber) p.decision_sha256 = f.bytes;
        }
        break;
    }
  }
  return reader.ok();
}

// The same through protobuf; false when it does not parse. Views into `storage`.
template <typename Message>
bool ParsePaymentFields(std::string_view payload, Message& storage, PaymentFields& p) {
  p = PaymentFields{};
  const bool parsed = storage.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  p.payment_id = storage.payment_id();
  p.claim_id = storage.claim_id();
  p.member_id = storage.member_id();
  p.kind = storage.kind();
  p.amount = storage.amount_fen();
  if constexpr (std::is_same_v<Message, ev::PaymentInstructed>) {
    p.decision_event_id = storage.decision_event_id();
    p.replaces = storage.replaces_payment_id();
    p.decision_sha256 = storage.decision_sha256();
  }
  return parsed;
}

uint32_t Fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

// The shard of `shards` that audits the member (or payment key) `key`.
int ShardOf(std::string_view key, int shards) {
  return shards == 1 ? 0 : static_cast<int>(Fnv1a(key) % static_cast<uint32_t>(shards));
}

// The key a payment event is routed by: the key its repeats are recognised by.
std::string_view PaymentRouteKey(std::string_view member, uint64_t sequence,
                                 std::string_view event_id) {
  return sequence > 0 ? member : event_id;
}

// The key an input is routed by, as AuditFold::Read routes it: its envelope's member, else the
// record key.
std::string_view InputRouteKey(std::string_view member, std::string_view record_key) {
  return member.empty() ? record_key : member;
}

// A record's route: the one shard that reads it, or kAnyShard when a scan of its envelope cannot
// tell (then every shard reads it and decides as AuditShard does).
constexpr uint8_t kAnyShard = std::numeric_limits<uint8_t>::max();

// The member id, event id and sequence of an envelope, from a scan of its framing: the last
// occurrence of each, as protobuf keeps. False when the framing is broken.
bool ScanEnvelope(std::string_view envelope, std::string_view& member, std::string_view& event_id,
                  uint64_t& sequence) {
  wire::Reader reader(envelope);
  wire::Field f;
  while (reader.Next(f)) {
    if (f.type == wire::WireType::kLengthDelimited) {
      if (f.number == ev::Envelope::kMemberIdFieldNumber) member = f.bytes;
      if (f.number == ev::Envelope::kEventIdFieldNumber) event_id = f.bytes;
    } else if (f.type == wire::WireType::kVarint &&
               f.number == ev::Envelope::kSequenceFieldNumber) {
      sequence = f.varint;
    }
  }
  return reader.ok();
}

// The route of `record` among `shards` in `pass` (1: outputs and payment events, 2: inputs),
// found once by the thread that reads the file for all of them, so that a shard neither scans nor
// walks the records of the others. An output goes where AuditShard::IndexOutput routes it; a
// payment event or an input where the scan of its envelope routes it when that agrees with its
// record key (see AuditShard::SurelyNotMine); a record the pass does not audit only to shard 0,
// which counts every record.
uint8_t RouteOf(const RecordView& record, int shards, int pass) {
  const bool intake = record.topic == kIntake;
  if (intake != (pass == 2)) return 0;
  const bool payment = !intake && record.topic == kPayments;
  if (!intake && !payment && record.topic != kDecisions) return 0;
  std::string_view member, event_id;
  uint64_t sequence = 0;
  const bool scanned = ScanEnvelope(record.envelope, member, event_id, sequence);
  if (!intake && !payment) {
    const bool readable = scanned && !member.empty() && sequence > 0;
    return static_cast<uint8_t>(ShardOf(readable ? member : record.key, shards));
  }
  if (!scanned) return kAnyShard;
  const std::string_view key =
      intake ? InputRouteKey(member, record.key) : PaymentRouteKey(member, sequence, event_id);
  const int shard = ShardOf(key, shards);
  return shard == ShardOf(record.key, shards) ? static_cast<uint8_t>(shard) : kAnyShard;
}

// ---- Where a shard reads its records: its own reader, or a read shared with other shards ----

// The records of the file for one shard, one pass after another.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Starts the next pass (the first on the first call), from the file's first record.
  virtual Status StartPass() = 0;
  // As ExportReader::Next; the views stay valid until the next call.
  virtual Result<bool> Next(RecordView& record) = 0;
  // The byte position just past the record Next gave last.
  virtual uint64_t position() const = 0;
  // The route (RouteOf) of the record Next gave last, kAnyShard when not known.
  virtual uint8_t route() const { return kAnyShard; }
};

// A single shard: it reads the file itself, hashing it in the first pass.
class ReaderSource final : public RecordSource {
 public:
  explicit ReaderSource(ExportReader& reader) : reader_(reader) {}
  Status StartPass() override { return reader_.Rewind(/*hash=*/passes_++ == 0); }
  Result<bool> Next(RecordView& record) override { return reader_.Next(record); }
  uint64_t position() const override { return reader_.position(); }

 private:
  ExportReader& reader_;
  int passes_ = 0;
};

// Several shards' two passes over one read of the file per pass: a loader (Load, on a thread of
// its own) reads the file, hashes it in the first pass and splits it into records once, into
// chunks that every shard then walks (Cursor). A chunk is reused once every shard is past it, and
// the loader stays at most kChunksAhead chunks ahead of the slowest shard: the shards read what
// it copied while that is still in the cache (1 MiB chunks 16 ahead took more CPU than the
// shards' own reads did).
class SharedPasses {
 public:
  static constexpr size_t kChunkBytes = 256 << 10;
  static constexpr uint64_t kChunksAhead = 6;

 private:
  struct Chunk;

 public:
  explicit SharedPasses(int shards)
      : shards_(shards), next_(static_cast<size_t>(shards), 0), active_(shards) {}

  // Reads both passes with `reader` (a reader of its own) for the shards; returns the file's
  // SHA-256 once the first pass is through, or the error that broke it (which the shards also
  // get), or stops early when every shard has left.
  Result<std::string> Load(ExportReader& reader) {
    std::string sha256;
    for (int pass = 1; pass <= 2; ++pass) {
      if (Status s = reader.Rewind(/*hash=*/pass == 1); !s.ok()) return Fail(s);
      std::unique_ptr<Chunk> chunk = Take();
      if (chunk == nullptr) return Unavailable("every shard of the audit stopped");
      RecordView record;
      while (true) {
        Result<bool> next = reader.Next(record);
        if (!next.ok()) return Fail(next.status(), std::move(chunk));
        if (!*next) break;
        if (!Append(chunk, record, reader.position(), RouteOf(record, shards_, pass))) {
          return Unavailable("every shard of the audit stopped");
        }
      }
      if (pass == 1) sha256 = reader.Sha256Hex();
      if (!chunk->records.empty()) {
        Publish(std::move(chunk));
        chunk = Take();
        if (chunk == nullptr) return Unavailable("every shard of the audit stopped");
      }
      chunk->pass_end = true;
      Publish(std::move(chunk));
    }
    return sha256;
  }

  // One shard's walk through the chunks: shard 0 gets every record, any other only those routed
  // to it or to any shard. It leaves (letting the loader go on without it) when destroyed or on
  // Leave.
  class Cursor final : public RecordSource {
   public:
    Cursor(SharedPasses& passes, int shard)
        : passes_(passes), shard_(static_cast<uint8_t>(shard)) {}
    ~Cursor() override { Leave(); }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    // The previous pass was read to its end (a shard stops early only with an error).
    Status StartPass() override { return Status::Ok(); }
    Result<bool> Next(RecordView& record) override {
      while (true) {
        while (chunk_ == nullptr || index_ == chunk_->records.size()) {
          if (chunk_ != nullptr && !chunk_->error.ok()) return chunk_->error;
          if (chunk_ != nullptr && chunk_->pass_end && !past_end_) {
            past_end_ = true;
            return false;
          }
          chunk_ = passes_.Advance(shard_, chunk_ != nullptr);
          index_ = 0;
          past_end_ = false;
        }
        const size_t i = index_++;
        route_ = chunk_->routes[i];
        if (shard_ != 0 && route_ != kAnyShard && route_ != shard_) continue;
        record = chunk_->records[i];
        position_ = chunk_->ends[i];
        return true;
      }
    }
    uint64_t position() const override { return position_; }
    uint8_t route() const override { return route_; }
    void Leave() {
      if (left_) return;
      left_ = true;
      chunk_ = nullptr;
      passes_.Leave(shard_);
    }

   private:
    SharedPasses& passes_;
    uint8_t shard_;
    const SharedPasses::Chunk* chunk_ = nullptr;
    size_t index_ = 0;
    bool past_end_ = false;
    bool left_ = false;
    uint64_t position_ = 0;
    uint8_t route_ = kAnyShard;
  };

 private:
  // Records in a copy of their bytes, the end position of each, or the end of a pass, or the
  // error that broke the file (after the records before it).
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    size_t capacity = 0;
    size_t used = 0;
    std::vector<RecordView> records;
    std::vector<uint64_t> ends;
    std::vector<uint8_t> routes;  // RouteOf each record
    bool pass_end = false;
    Status error;
  };

  // Copies `record` (the span of its fields' bytes) into `chunk`, publishing it first when full.
  // False when every shard has left.
  bool Append(std::unique_ptr<Chunk>& chunk, const RecordView& record, uint64_t end,
              uint8_t route) {
    const char* low = record.topic.data();
    const char* high = record.topic.data() + record.topic.size();
    for (std::string_view v : {record.key, record.envelope}) {
      if (v.empty()) continue;
      low = std::min(low, v.data());
      high = std::max(high, v.data() + v.size());
    }
    const auto span = static_cast<size_t>(high - low);
    if (chunk->used + span > chunk->capacity) {
      if (!chunk->records.empty()) {
        Publish(std::move(chunk));
        chunk = Take();
        if (chunk == nullptr) return false;
      }
      if (span > chunk->capacity) {
        chunk->capacity = std::max(span, kChunkBytes);
        chunk->bytes.reset(new char[chunk->capacity]);
      }
    }
    char* to = chunk->bytes.get() + chunk->used;
    std::memcpy(to, low, span);
    chunk->used += span;
    auto moved = [&](std::string_view v) {
      return v.empty() ? std::string_view() : std::string_view(to + (v.data() - low), v.size());
    };
    RecordView& copy = chunk->records.emplace_back(record);
    copy.topic = moved(record.topic);
    copy.key = moved(record.key);
    copy.envelope = moved(record.envelope);
    chunk->ends.push_back(end);
    chunk->routes.push_back(route);
    return true;
  }

  Result<std::string> Fail(const Status& error, std::unique_ptr<Chunk> chunk = nullptr) {
    if (chunk == nullptr) chunk = Take();
    if (chunk != nullptr) {
      chunk->error = error;
      Publish(std::move(chunk));
    }
    return error;
  }

  // An empty chunk once there is room for one more, or null when every shard has left.
  std::unique_ptr<Chunk> Take() {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return active_ == 0 || produced_ - Slowest() < kChunksAhead; });
    if (active_ == 0) return nullptr;
    std::unique_ptr<Chunk> chunk;
    if (free_.empty()) {
      chunk = std::make_unique<Chunk>();
    } else {
      chunk = std::move(free_.back());
      free_.pop_back();
    }
    chunk->used = 0;
    chunk->records.clear();
    chunk->ends.clear();
    chunk->routes.clear();
    chunk->pass_end = false;
    chunk->error = Status::Ok();
    return chunk;
  }

  void Publish(std::unique_ptr<Chunk> chunk) {
    {
      std::lock_guard lock(mutex_);
      chunks_.push_back(std::move(chunk));
      ++produced_;
    }
    data_.notify_all();
  }

  // The chunk after the one `shard` holds (the first when `holds` is false), once loaded.
  const Chunk* Advance(size_t shard, bool holds) {
    std::unique_lock lock(mutex_);
    if (holds) {
      ++next_[shard];
      Recycle();
    }
    data_.wait(lock, [&] { return produced_ > next_[shard]; });
    return chunks_[next_[shard] - first_].get();
  }

  void Leave(size_t shard) {
    {
      std::lock_guard lock(mutex_);
      next_[shard] = kLeft;
      --active_;
      Recycle();
    }
    room_.notify_all();
  }

  // The first chunk some shard still needs (all of them loaded so far when none is left).
  uint64_t Slowest() const {
    uint64_t slowest = produced_;
    for (uint64_t n : next_) slowest = std::min(slowest, n);
    return slowest;
  }

  // Chunks every shard is past go back for reuse. Under the lock.
  void Recycle() {
    const uint64_t slowest = Slowest();
    bool freed = false;
    while (first_ < slowest && !chunks_.empty()) {
      free_.push_back(std::move(chunks_.front()));
      chunks_.pop_front();
      ++first_;
      freed = true;
    }
    if (freed) room_.notify_all();
  }

  static constexpr uint64_t kLeft = std::numeric_limits<uint64_t>::max();

  const int shards_;
  std::mutex mutex_;
  std::condition_variable data_;               // a chunk was published
  std::condition_variable room_;               // a chunk was recycled, or a shard left
  std::deque<std::unique_ptr<Chunk>> chunks_;  // sequence numbers first_ .. produced_ - 1
  std::vector<std::unique_ptr<Chunk>> free_;
  uint64_t first_ = 0;
  uint64_t produced_ = 0;
  std::vector<uint64_t> next_;  // per shard: the sequence number of the chunk it reads or waits for
  int active_ = 0;
};

// What one shard found and collected, for the merge.
struct ShardResult {
  AuditCounts counts;
  Ledger ledger;  // posted_* and balances only
  bool postings_balanced = true;
  std::string file_sha256;
  DivergenceList divergences{0};
  // Deques: they grow without moving what they hold.
  std::deque<Instruction> instructions;
  std::deque<BankStatus> statuses;
  KeyedTable<ExpectedClaim> claims;
  std::map<std::pair<std::string, int32_t>, PartitionRange> seen;  // shard 0: per partition
};

// The audit of the members (and payment keys) that hash to `shard` of `shards`, over the records
// of `source` (`reader` reads back single records, thread-safe). Shard 0 also counts the records
// per partition and reports progress; a single shard also hashes the file as it reads it.
class AuditShard {
 public:
  AuditShard(RecordSource& source, const ExportReader& reader, const PlanSet& plans,
             const AuditOptions& options, int shard, int shards)
      : source_(source),
        reader_(reader),
        options_(options),
        fold_(plans),
        shard_(shard),
        shards_(shards) {
    result_.divergences = DivergenceList(options.max_divergences);
  }

  Result<ShardResult> Run() {
    if (Status s = source_.StartPass(); !s.ok()) return s;
    if (Status s = PassOutputs(); !s.ok()) return s;
    if (shards_ == 1) result_.file_sha256 = reader_.Sha256Hex();
    if (Status s = source_.StartPass(); !s.ok()) return s;
    if (Status s = PassInputs(); !s.ok()) return s;
    if (Status s = CheckUnanswered(); !s.ok()) return s;
    return std::move(result_);
  }

 private:
  void Add(const RecordView& at, std::string claim, std::string member, std::string event,
           std::string field, std::string recorded, std::string expected) {
    result_.divergences.Add(Divergence{std::move(claim), std::move(member), std::move(event),
                                       std::string(at.topic), at.partition, at.offset,
                                       std::move(field), std::move(recorded), std::move(expected)},
                            at.topic.empty() ? kNoPosition : at.position);
  }

  // Every event of a member (and every payment event of one key) goes to one shard.
  bool Mine(std::string_view key) const { return ShardOf(key, shards_) == shard_; }

  // False when the reader routed the record Next gave last (RouteOf) to another shard; true when
  // it routed it here (SurelyNotMine would be false) or did not route it.
  bool MaybeMine() const {
    const uint8_t route = source_.route();
    return route == kAnyShard || route == shard_;
  }

  // True when the record surely belongs to another shard, found from a scan of its envelope's
  // framing instead of a full read. A record is routed by fields of its envelope when protobuf
  // parses it (the scan finds the same values then: the last occurrence of each, as protobuf
  // keeps), else by its key; so when neither the scanned route nor the record key is this
  // shard's, nor is the record, however the full read turns out. `route(member, sequence,
  // event id, record key)` is the routing key of an envelope with those fields.
  template <typename Route>
  bool SurelyNotMine(const RecordView& record, Route route) const {
    if (shards_ == 1) return false;
    std::string_view member, event_id;
    uint64_t sequence = 0;
    if (!ScanEnvelope(record.envelope, member, event_id, sequence)) return false;
    const std::string_view key = route(member, sequence, event_id, record.key);
    if (key == record.key) return !Mine(key);
    return !Mine(key) && !Mine(record.key);
  }

  void Progress(int pass, uint64_t records) {
    if (shard_ == 0 && options_.progress && records % kProgressEvery == 0) {
      options_.progress(pass, source_.position(), reader_.size(), records);
    }
  }

  // Pass 1: index every output by (member, sequence), collect the payment events.
  Status PassOutputs() {
    RecordView record;
    uint64_t n = 0;
    while (true) {
      Result<bool> next = source_.Next(record);
      if (!next.ok()) return next.status();
      if (!*next) break;
      Progress(1, ++n);
      if (shard_ == 0) CountRecord(record);
      if (!MaybeMine()) continue;
      if (record.topic == kDecisions) {
        IndexOutput(record);
      } else if (record.topic == kPayments) {
        if (Status s = CollectPayment(record); !s.ok()) return s;
      }
    }
    if (shard_ == 0 && options_.progress) {
      options_.progress(1, source_.position(), reader_.size(), n);
    }
    return Status::Ok();
  }

  void CountRecord(const RecordView& record) {
    AuditCounts& c = result_.counts;
    ++c.records;
    PartitionRange& range = RangeOf(record.topic, record.partition);
    if (range.count == 0) range.first_offset = record.offset;
    range.last_offset = record.offset;
    ++range.count;
    if (record.topic == kIntake) {
      ++c.inputs;
    } else if (record.topic == kDecisions) {
      ++c.outputs;
    } else if (record.topic == kPayments) {
      ++c.payments;
    } else {
      ++c.other;
    }
  }

  // The manifest's entry for (topic, partition), found without building a key while the file's
  // partitions are few (as they are: a few topics of a few dozen partitions).
  PartitionRange& RangeOf(std::string_view topic, int32_t partition) {
    constexpr size_t kScanned = 128;
    if (ranges_.size() < kScanned) {
      for (PartitionRange* r : ranges_) {
        if (r->partition == partition && r->topic == topic) return *r;
      }
    }
    PartitionRange& r = result_.seen[{std::string(topic), partition}];
    if (r.topic.empty()) {
      r.topic = std::string(topic);
      r.partition = partition;
      if (ranges_.size() < kScanned) ranges_.push_back(&r);
    }
    return r;
  }

  // The slot of (member, sequence) in `which` of the member's vectors, created when absent.
  template <typename S>
  S& SlotAt(std::string_view member, uint64_t sequence, std::vector<S> MemberEntry::*which,
            SparseSlots<S>& sparse) {
    if (!sparse.empty()) {
      auto it = sparse.find({std::string(member), sequence});
      if (it != sparse.end()) return it->second;
    }
    std::vector<S>& slots = Member(member).*which;
    if (sequence <= slots.size()) return slots[sequence - 1];
    if (sequence <= 2 * slots.size() + 64) {
      slots.resize(sequence);
      return slots[sequence - 1];
    }
    return sparse[{std::string(member), sequence}];
  }
  Slot* FindOutput(std::string_view member, uint64_t sequence) {
    MemberEntry* e = last_member_ != nullptr && last_member_->state.id == member
                         ? last_member_
                         : members_.Find(member);
    if (e != nullptr && sequence >= 1 && sequence <= e->outputs.size()) {
      Slot& s = e->outputs[sequence - 1];
      if (s.present) return &s;
    }
    if (sparse_outputs_.empty()) return nullptr;
    auto it = sparse_outputs_.find({std::string(member), sequence});
    return it != sparse_outputs_.end() && it->second.present ? &it->second : nullptr;
  }
  MemberEntry& Member(std::string_view member) {
    bool created = false;
    MemberEntry& e = members_.At(member, &created);
    if (created) e.state.id = std::string(member);
    last_member_ = &e;
    return e;
  }

  void IndexOutput(const RecordView& record) {
    // Only the member and the sequence are read; anything odd takes the protobuf path.
    std::string_view member;
    std::string_view payload;
    bool has_payload = false;
    uint64_t sequence = 0;
    wire::Reader reader(record.envelope);
    wire::Field f;
    while (reader.Next(f)) {
      if (f.number == ev::Envelope::kMemberIdFieldNumber &&
          f.type == wire::WireType::kLengthDelimited) {
        member = f.bytes;
      } else if (f.number == ev::Envelope::kSequenceFieldNumber &&
                 f.type == wire::WireType::kVarint) {
        sequence = f.varint;
      } else if (f.number == ev::Envelope::kPayloadFieldNumber &&
                 f.type == wire::WireType::kLengthDelimited) {
        payload = f.bytes;
        has_payload = true;
      }
    }
    const bool readable = reader.ok() && !member.empty() && sequence > 0;
    if (!Mine(readable ? member : record.key)) return;
    if (!readable) {
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
    const crypto::Sha256Digest digest =
        has_payload ? OutputDigest(record.envelope,
                                   static_cast<size_t>(payload.data() - record.envelope.data()),
                                   payload.size(), crypto::Sha256(payload), digest_scratch_)
                    : OutputDigest(record.envelope, std::nullopt, 0, {}, digest_scratch_);
    Slot& slot = SlotAt(member, sequence, &MemberEntry::outputs, sparse_outputs_);
    if (!slot.present) {
      slot.digest = digest;
      slot.position = record.position;
      slot.present = true;
    } else if (slot.digest == digest) {
      ++result_.counts.duplicate_outputs;
    } else {
      const ev::Envelope e = ParseEnvelope(record.envelope);
      Add(record, ClaimOfOutput(e), e.member_id(), e.event_id(),
          "envelope (member " + e.member_id() + ", sequence " + std::to_string(e.sequence()) + ")",
          "a second, different output: " + Describe(e),
          "identical repeats only, as first published at byte " + std::to_string(slot.position));
    }
  }

  // Drops identical repeats of payment events, recognised by (member, sequence), or by event id
  // for events without a sequence; a different event under the same key is a divergence. True
  // when the event is new. Repeats, which are rare, are compared with the first one read back.
  Result<bool> FirstPayment(const RecordView& record, const EnvelopeView& e) {
    bool fresh = false;
    uint64_t* first = nullptr;
    if (e.sequence > 0) {
      PaymentSlot& slot = SlotAt(e.member_id, e.sequence, &MemberEntry::payments, sparse_payments_);
      fresh = !slot.present;
      slot.present = true;
      first = &slot.position;
    } else {
      first = &payment_ids_.At(e.event_id, &fresh);
    }
    if (fresh) {
      *first = record.position;
      return true;
    }
    Result<RecordView> earlier = reader_.ReadAt(*first, storage_);
    if (!earlier.ok()) return earlier.status();
    if (earlier->envelope == record.envelope) {
      ++result_.counts.duplicate_payments;
    } else {
      const std::string key = e.sequence > 0
                                  ? std::string(e.member_id) + "#" + std::to_string(e.sequence)
                                  : "id:" + std::string(e.event_id);
      Add(record, "", std::string(e.member_id), std::string(e.event_id), "envelope",
          "a second, different payment event under " + key, "identical repeats only");
    }
    return false;
  }

  Status CollectPayment(const RecordView& record) {
    if (source_.route() == kAnyShard &&
        SurelyNotMine(
            record, [](std::string_view member, uint64_t sequence, std::string_view event_id,
                       std::string_view) { return PaymentRouteKey(member, sequence, event_id); })) {
      return Status::Ok();
    }
    EnvelopeView e;
    if (!ReadEnvelope(record.envelope, e)) {
      if (!envelope_.ParseFromArray(record.envelope.data(),
                                    static_cast<int>(record.envelope.size()))) {
        if (Mine(record.key)) {
          Add(record, "", std::string(record.key), "", "envelope", "bytes that are not an Envelope",
              "an Envelope");
        }
        return Status::Ok();
      }
      e = ViewOf(envelope_);
    }
    // Routed by the key repeats are recognised by.
    if (!Mine(PaymentRouteKey(e.member_id, e.sequence, e.event_id))) return Status::Ok();
    Result<bool> first = FirstPayment(record, e);
    if (!first.ok()) return first.status();
    if (!*first) return Status::Ok();
    const crypto::Sha256Digest computed = crypto::Sha256(e.payload);
    const bool hash_ok = crypto::AsBytes(computed) == e.payload_sha256;
    auto hash_divergence = [&](std::string claim) {
      Add(record, std::move(claim), std::string(e.member_id), std::string(e.event_id),
          "payload_sha256", Hex(e.payload_sha256), Hex(crypto::AsBytes(computed)));
    };
    // The three types the audit re-derives are read from the wire with their postings in one
    // go; anything else, or anything odd, through the descriptors and protobuf.
    PaymentFields p;
    bool read = false;
    const bool instructed = e.type == kPaymentInstructed;
    const bool settled = e.type == kPaymentSettled;
    const bool failed = e.type == kPaymentFailed;
    postings_.clear();
    if (instructed) read = ReadPaymentFields<ev::PaymentInstructed>(e.payload, p, postings_);
    if (settled) read = ReadPaymentFields<ev::PaymentSettled>(e.payload, p, postings_);
    if (failed) read = ReadPaymentFields<ev::PaymentFailed>(e.payload, p, postings_);
    if (read) {
      for (size_t i = 0; i < postings_.size(); ++i) {
        std::string_view from, to;
        int64_t fen = 0;
        wire::Reader fields(postings_[i]);
        wire::Field g;
        while (fields.Next(g)) {
          if (g.number == ev::LedgerPosting::kDebitAccountFieldNumber) from = g.bytes;
          if (g.number == ev::LedgerPosting::kCreditAccountFieldNumber) to = g.bytes;
          if (g.number == ev::LedgerPosting::kAmountFenFieldNumber) {
            fen = static_cast<int64_t>(g.varint);
          }
        }
        Posting(record, e, static_cast<int>(i), from, to, fen);
      }
    } else {
      CollectPostings(record, e);
    }
    if (instructed) {
      ev::PaymentInstructed storage;
      const bool parsed = read || ParsePaymentFields(e.payload, storage, p);
      if (!hash_ok) hash_divergence(std::string(p.claim_id));
      if (!parsed) {
        Add(record, "", std::string(e.member_id), std::string(e.event_id), "payload", "unparseable",
            std::string(e.type));
        return Status::Ok();
      }
      Instruction& in = result_.instructions.emplace_back();
      in.payment_id = std::string(p.payment_id);
      in.claim_id = std::string(p.claim_id);
      in.member_id = std::string(p.member_id);
      in.envelope_member = std::string(e.member_id);
      in.kind = p.kind;
      in.amount = p.amount;
      in.decision_event_id = std::string(p.decision_event_id);
      in.decision_sha256 = std::string(p.decision_sha256);
      in.replaces = std::string(p.replaces);
      in.event_id = std::string(e.event_id);
      in.position = record.position;
      in.partition = record.partition;
      in.offset = record.offset;
    } else if (settled || failed) {
      ev::PaymentSettled settled_storage;
      ev::PaymentFailed failed_storage;
      const bool parsed = read || (settled ? ParsePaymentFields(e.payload, settled_storage, p)
                                           : ParsePaymentFields(e.payload, failed_storage, p));
      if (!hash_ok) hash_divergence(std::string(p.claim_id));
      if (!parsed) {
        Add(record, "", std::string(e.member_id), std::string(e.event_id), "payload", "unparseable",
            std::string(e.type));
        return Status::Ok();
      }
      BankStatus& b = result_.statuses.emplace_back();
      b.settled = settled;
      b.payment_id = std::string(p.payment_id);
      b.claim_id = std::string(p.claim_id);
      b.member_id = std::string(p.member_id);
      b.kind = p.kind;
      b.amount = p.amount;
      b.event_id = std::string(e.event_id);
      b.position = record.position;
      b.partition = record.partition;
      b.offset = record.offset;
    } else {
      // Batches, holds and whatever payout adds later: hash-checked, not yet re-derived.
      if (!hash_ok) hash_divergence("");
      ++result_.counts.other;
    }
    return Status::Ok();
  }

  // One double-entry posting of a payment event: it must move a positive amount between two
  // named accounts.
  void Posting(const RecordView& record, const EnvelopeView& e, int index, std::string_view from,
               std::string_view to, int64_t fen) {
    if (fen <= 0 || from.empty() || to.empty() || from == to) {
      Add(record, "", std::string(e.member_id), std::string(e.event_id),
          "postings[" + std::to_string(index) + "]",
          "debit '" + std::string(from) + "' credit '" + std::string(to) + "' " +
              std::to_string(fen) + " fen",
          "a positive amount between two different accounts");
      result_.postings_balanced = false;
      return;
    }
    result_.ledger.posted_debits += fen;
    result_.ledger.posted_credits += fen;
    result_.ledger.balances[AccountClass(from)] -= fen;
    result_.ledger.balances[AccountClass(to)] += fen;
  }

  const PaymentType& TypeOf(std::string_view type) {
    auto it = payment_types_.find(type);
    if (it != payment_types_.end()) return it->second;
    if (payment_types_.size() >= kPaymentTypeCache) {
      uncached_type_ = LookUpPaymentType(type);
      return uncached_type_;
    }
    return payment_types_.emplace(std::string(type), LookUpPaymentType(type)).first->second;
  }

  // The double-entry postings any payment event carries (field `postings`, whatever its type).
  void CollectPostings(const RecordView& record, const EnvelopeView& e) {
    const PaymentType& t = TypeOf(e.type);
    if (t.postings == nullptr) return;
    int index = 0;
    if (t.wire_readable && t.schema->Accepts(e.payload)) {
      const uint32_t postings = static_cast<uint32_t>(t.postings->number());
      wire::Reader reader(e.payload);
      wire::Field f;
      while (reader.Next(f)) {
        if (f.number != postings) continue;
        std::string_view from, to;
        int64_t fen = 0;
        wire::Reader fields(f.bytes);
        wire::Field g;
        while (fields.Next(g)) {
          if (g.number == static_cast<uint32_t>(t.debit->number())) from = g.bytes;
          if (g.number == static_cast<uint32_t>(t.credit->number())) to = g.bytes;
          if (g.number == static_cast<uint32_t>(t.amount->number())) {
            fen = static_cast<int64_t>(g.varint);
          }
        }
        Posting(record, e, index++, from, to, fen);
      }
      return;
    }
    std::unique_ptr<pb::Message> m(
        pb::MessageFactory::generated_factory()->GetPrototype(t.descriptor)->New());
    if (!m->ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size()))) return;
    const pb::Reflection* r = m->GetReflection();
    for (int i = 0; i < r->FieldSize(*m, t.postings); ++i) {
      const pb::Message& p = r->GetRepeatedMessage(*m, t.postings, i);
      const pb::Reflection* pr = p.GetReflection();
      Posting(record, e, index++, pr->GetString(p, t.debit), pr->GetString(p, t.credit),
              pr->GetInt64(p, t.amount));
    }
  }

  // Pass 2: re-fold every input and compare what it yields with what was published.
  Status PassInputs() {
    RecordView record;
    FoldInput in;
    FoldStep step;
    const std::function<domain::MemberState&(std::string_view)> state_of =
        [this](std::string_view member) -> domain::MemberState& { return Member(member).state; };
    uint64_t n = 0;
    while (true) {
      Result<bool> next = source_.Next(record);
      if (!next.ok()) return next.status();
      if (!*next) break;
      Progress(2, ++n);
      if (record.topic != kIntake || !MaybeMine()) continue;
      // As AuditFold::Read routes an input: by the envelope's member, else by the record key.
      if (source_.route() == kAnyShard &&
          SurelyNotMine(record, [](std::string_view member, uint64_t, std::string_view,
                                   std::string_view key) { return InputRouteKey(member, key); })) {
        continue;
      }
      fold_.Read(record, in);
      if (!Mine(in.member)) continue;
      fold_.Apply(in, step, state_of);
      if (Status s = Check(record, step); !s.ok()) return s;
    }
    if (shard_ == 0 && options_.progress) {
      options_.progress(2, source_.position(), reader_.size(), n);
    }
    return Status::Ok();
  }

  // Compares what one input yields with what was published for it.
  Status Check(const RecordView& record, const FoldStep& step) {
    std::string claim = step.claim;
    if (step.data_loss) {
      Add(record, claim, std::string(step.member_id), std::string(step.event_id), "payload_sha256",
          Hex(step.payload_sha256), Hex(crypto::AsBytes(crypto::Sha256(step.payload))));
    }
    if (step.plan == nullptr) {
      Add(record, claim, std::string(step.member_id), std::string(step.event_id), "plan_id",
          step.plan_id, "a plan of the plans directory");
      return Status::Ok();
    }
    if (step.published.empty()) return Status::Ok();
    if (const auto* d = std::get_if<domain::Decision>(&step.output.body)) {
      ExpectedClaim& c = result_.claims.At(d->claim);
      c.member_id = d->member;
      c.outcome = d->outcome == domain::Outcome::kApproved ? ev::APPROVED
                  : d->outcome == domain::Outcome::kDenied ? ev::DENIED
                                                           : ev::REFERRED;
      c.payable = d->payable;
      c.condolence = d->condolence;
      c.decision_event_id = std::string(step.event_id) + "/out";
      c.decision_sha256 = step.published_payload_sha256;
      c.position = record.position;
      claim = d->claim;
    } else if (const auto* r = std::get_if<domain::InputRejection>(&step.output.body)) {
      if (!r->claim.empty()) claim = r->claim;
    }
    Slot* slot = FindOutput(step.published_member, step.output.sequence);
    if (slot == nullptr) {
      const ev::Envelope out = ParseEnvelope(step.published);
      Add(record, claim, out.member_id(), std::string(step.event_id),
          out.type() == codec::kClaimDecided ? "decision" : "rejection", "none published",
          Describe(out));
      return Status::Ok();
    }
    slot->consumed = true;
    const size_t payload_at = step.published.size() - step.published_payload_size;
    if (OutputDigest(step.published, payload_at, step.published_payload_size,
                     step.published_payload_sha256, digest_scratch_) == slot->digest) {
      ++result_.counts.decisions_checked;
      return Status::Ok();
    }
    return DiffRecorded(*slot, ParseEnvelope(step.published), claim);
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
    auto unanswered = [&](const std::string& member, const Slot& slot) -> Status {
      Result<RecordView> at = reader_.ReadAt(slot.position, storage_);
      if (!at.ok()) return at.status();
      const ev::Envelope e = ParseEnvelope(at->envelope);
      Add(*at, ClaimOfOutput(e), member, e.event_id(),
          e.type() == codec::kInputRejected ? "rejection" : "decision", Describe(e),
          "none: no input yields member " + member + " sequence " + std::to_string(e.sequence()));
      return Status::Ok();
    };
    for (const auto& [member, entry] : members_.entries()) {
      for (const Slot& slot : entry.outputs) {
        if (!slot.present || slot.consumed) continue;
        if (Status s = unanswered(member, slot); !s.ok()) return s;
      }
    }
    for (const auto& [key, slot] : sparse_outputs_) {
      if (!slot.present || slot.consumed) continue;
      if (Status s = unanswered(key.first, slot); !s.ok()) return s;
    }
    return Status::Ok();
  }

  RecordSource& source_;
  const ExportReader& reader_;
  const AuditOptions& options_;
  AuditFold fold_;
  ShardResult result_;
  ev::Envelope envelope_;
  std::string storage_;
  KeyedTable<MemberEntry> members_;
  MemberEntry* last_member_ = nullptr;   // the entry Member() gave last
  std::vector<PartitionRange*> ranges_;  // into result_.seen, whose nodes stay put
  SparseSlots<Slot> sparse_outputs_;
  SparseSlots<PaymentSlot> sparse_payments_;
  KeyedTable<uint64_t> payment_ids_;  // events without a sequence: their first's position
  std::vector<std::string_view> postings_;
  std::string digest_scratch_;
  std::map<std::string, PaymentType, std::less<>> payment_types_;
  PaymentType uncached_type_;
  int shard_ = 0;
  int shards_ = 1;
};

// The file as a whole against its manifest: hash, size, record count, per-partition ranges.
void CheckManifest(const Manifest& m, const std::string& sha256, uint64_t size, uint64_t records,
                   const std::map<std::pair<std::string, int32_t>, PartitionRange>& seen,
                   DivergenceList& divergences) {
  auto add = [&](std::string field, std::string recorded, std::string expected) {
    divergences.Add(Divergence{"", "", "", "", -1, -1, std::move(field), std::move(recorded),
                               std::move(expected)},
                    kNoPosition);
  };
  if (m.sha256 != sha256) add("manifest.sha256", m.sha256, sha256);
  if (m.bytes != size) add("manifest.bytes", std::to_string(m.bytes), std::to_string(size));
  if (m.records != records) {
    add("manifest.records", std::to_string(m.records), std::to_string(records));
  }
  for (const PartitionRange& p : m.partitions) {
    const std::string name = "manifest." + p.topic + "/" + std::to_string(p.partition);
    auto it = seen.find({p.topic, p.partition});
    const PartitionRange none;
    const PartitionRange& s = it == seen.end() ? none : it->second;
    auto text = [](const PartitionRange& r) {
      return std::to_string(r.count) + " records, offsets " + std::to_string(r.first_offset) +
             ".." + std::to_string(r.last_offset);
    };
    if (s.count != p.count ||
        (p.count > 0 && (s.first_offset != p.first_offset || s.last_offset != p.last_offset))) {
      add(name, text(p), text(s) + " in the file");
    }
  }
  for (const auto& [key, s] : seen) {
    bool listed = false;
    for (const PartitionRange& p : m.partitions) {
      listed = listed || (p.topic == key.first && p.partition == key.second);
    }
    if (!listed) {
      add("manifest." + key.first + "/" + std::to_string(key.second), "not listed",
          std::to_string(s.count) + " records in the file");
    }
  }
}

// ---- After the shards: the payments against the re-derived decisions, over all members ----

class PaymentCheck {
 public:
  PaymentCheck(const AuditOptions& options, AuditResult& result, DivergenceList& divergences)
      : options_(options), result_(result), divergences_(divergences) {}

  void Run(const std::vector<ShardResult*>& shards) {
    for (const ShardResult* s : shards) tables_.push_back(&s->claims);
    // Instructions and bank statuses in file order, as one reader would have met them.
    for (ShardResult* s : shards) {
      for (Instruction& in : s->instructions) instructions_.push_back(&in);
      for (const BankStatus& b : s->statuses) statuses_.push_back(&b);
    }
    auto by_position = [](const auto* a, const auto* b) { return a->position < b->position; };
    std::sort(instructions_.begin(), instructions_.end(), by_position);
    std::sort(statuses_.begin(), statuses_.end(), by_position);
    for (Instruction* in : instructions_) {
      if (by_id_.try_emplace(in->payment_id, in).second) continue;
      in->repeated_id = true;
      Add(*in,
          Divergence{in->claim_id, in->envelope_member, in->event_id, "", 0, 0, "payment_id",
                     "a second instruction " + in->payment_id, "one instruction per payment id"});
    }
    Check();
  }

 private:
  void Add(const Instruction& at, Divergence d) { Add(at.partition, at.offset, at.position, d); }
  void Add(int32_t partition, int64_t offset, uint64_t position, Divergence& d) {
    d.topic = std::string(kPayments);
    d.partition = partition;
    d.offset = offset;
    divergences_.Add(std::move(d), position);
  }
  void AddPayment(const Instruction& in, std::string field, std::string recorded,
                  std::string expected) {
    Add(in, Divergence{in.claim_id, in.member_id, in.event_id, "", 0, 0,
                       "payment " + in.payment_id + ": " + field, std::move(recorded),
                       std::move(expected)});
  }
  void AddGlobal(Divergence d) { divergences_.Add(std::move(d), kNoPosition); }
  Instruction* FindInstruction(std::string_view payment_id) {
    auto it = by_id_.find(payment_id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  // The latest decision of a claim, whichever shard folded it (two members may use one claim
  // id).
  const ExpectedClaim* FindClaim(std::string_view claim) const {
    const ExpectedClaim* latest = nullptr;
    for (const KeyedTable<ExpectedClaim>* table : tables_) {
      const ExpectedClaim* c = table->Find(claim);
      if (c != nullptr && (latest == nullptr || latest->position < c->position)) latest = c;
    }
    return latest;
  }

  void Check() {
    Ledger& ledger = result_.ledger;
    // Instructions against the re-derived decisions.
    for (const Instruction* i : instructions_) {
      const Instruction& in = *i;
      if (in.repeated_id) continue;
      ledger.instructed += in.amount;
      const ExpectedClaim* c = FindClaim(in.claim_id);
      if (c == nullptr) {
        AddPayment(in, "approval", "an instruction of " + std::to_string(in.amount) + " fen",
                   "none: no decision on this claim");
        continue;
      }
      if (c->outcome != ev::APPROVED) {
        AddPayment(in, "approval", "an instruction of " + std::to_string(in.amount) + " fen",
                   "none: the claim is " + ev::Outcome_Name(c->outcome));
        continue;
      }
      const Fen due = in.kind == ev::CONDOLENCE ? c->condolence : c->payable;
      if (in.kind != ev::BENEFIT && in.kind != ev::CONDOLENCE) {
        AddPayment(in, "kind", std::to_string(in.kind), "BENEFIT or CONDOLENCE");
      } else if (in.amount != due) {
        AddPayment(in, "amount_fen", std::to_string(in.amount), std::to_string(due));
      }
      if (in.decision_event_id != c->decision_event_id) {
        AddPayment(in, "decision_event_id", in.decision_event_id, c->decision_event_id);
      }
      const std::string_view decided = crypto::AsBytes(c->decision_sha256);
      if (!in.decision_sha256.empty() && in.decision_sha256 != decided) {
        AddPayment(in, "decision_sha256", Hex(in.decision_sha256), Hex(decided));
      }
      if (!in.replaces.empty()) {
        const Instruction* old = FindInstruction(in.replaces);
        if (old == nullptr || old->claim_id != in.claim_id || old->kind != in.kind) {
          AddPayment(in, "replaces_payment_id", in.replaces,
                     "a failed payment of the same claim and kind");
        }
      }
    }
    // Bank statuses against their instructions.
    for (const BankStatus* b : statuses_) {
      const BankStatus& s = *b;
      Instruction* in = FindInstruction(s.payment_id);
      const std::string what = s.settled ? "PaymentSettled" : "PaymentFailed";
      if (in == nullptr) {
        Divergence d{s.claim_id,
                     s.member_id,
                     s.event_id,
                     "",
                     0,
                     0,
                     "payment " + s.payment_id,
                     what + " of " + std::to_string(s.amount) + " fen",
                     "none: no such instruction"};
        Add(s.partition, s.offset, s.position, d);
        result_.ledger_balanced = false;
        continue;
      }
      (s.settled ? in->settled : in->failed)++;
      (s.settled ? ledger.settled : ledger.failed) += s.amount;
      if (s.amount != in->amount || s.claim_id != in->claim_id || s.kind != in->kind) {
        Divergence d{s.claim_id,
                     s.member_id,
                     s.event_id,
                     "",
                     0,
                     0,
                     "payment " + s.payment_id + ": amount_fen",
                     what + " " + std::to_string(s.amount) + " fen (claim " + s.claim_id + ")",
                     std::to_string(in->amount) + " fen (claim " + in->claim_id + ")"};
        Add(s.partition, s.offset, s.position, d);
        result_.ledger_balanced = false;
      }
    }
    for (const Instruction* i : instructions_) {
      const Instruction& in = *i;
      if (in.repeated_id) continue;
      if (in.settled + in.failed > 1) {
        AddPayment(
            in, "bank status",
            std::to_string(in.settled) + " settled, " + std::to_string(in.failed) + " failed",
            "at most one final status");
        result_.ledger_balanced = false;
      }
      if (!in.replaces.empty()) {
        const Instruction* old = FindInstruction(in.replaces);
        if (old != nullptr && old->failed == 0) {
          AddPayment(in, "replaces_payment_id", in.replaces + " (not failed)", "a failed payment");
        }
      }
      if (in.amount < 0) result_.ledger_balanced = false;
    }
    // Every approval: exactly one live instruction per kind, of the approved amount.
    struct Issued {
      int originals = 0;
      int live = 0;
    };
    absl::flat_hash_map<std::pair<std::string_view, int>, Issued> issued;
    for (const Instruction* in : instructions_) {
      if (in->repeated_id) continue;
      Issued& n = issued[{std::string_view(in->claim_id), in->kind}];
      n.originals += in->replaces.empty() ? 1 : 0;
      n.live += in->failed == 0 ? 1 : 0;
    }
    static const std::string kKindNames[] = {ev::PaymentKind_Name(ev::BENEFIT) + " instruction",
                                             ev::PaymentKind_Name(ev::CONDOLENCE) + " instruction"};
    for (const KeyedTable<ExpectedClaim>* table : tables_) {
      for (const auto& [claim, expected] : table->entries()) {
        const ExpectedClaim* c = &expected;
        if (c->outcome != ev::APPROVED || (tables_.size() > 1 && FindClaim(claim) != c)) continue;
        ++result_.counts.approved_claims;
        for (int kind : {static_cast<int>(ev::BENEFIT), static_cast<int>(ev::CONDOLENCE)}) {
          const Fen due = kind == ev::CONDOLENCE ? c->condolence : c->payable;
          auto it = issued.find(std::pair<std::string_view, int>(claim, kind));
          const Issued n = it == issued.end() ? Issued{} : it->second;
          const std::string& what = kKindNames[kind == ev::CONDOLENCE ? 1 : 0];
          if (due == 0) {
            if (n.originals > 0) {
              AddGlobal(Divergence{claim, c->member_id, c->decision_event_id, "", -1, -1, what,
                                   std::to_string(n.originals), "none: nothing due"});
            }
            continue;
          }
          if (options_.allow_unpaid && it == issued.end()) {
            ++result_.counts.unpaid_approvals;
            continue;
          }
          if (n.originals != 1 || n.live > 1) {
            AddGlobal(Divergence{claim, c->member_id, c->decision_event_id, "", -1, -1, what,
                                 std::to_string(n.originals) + " instruction(s), " +
                                     std::to_string(n.live) + " not failed",
                                 "exactly 1 of " + std::to_string(due) + " fen"});
          }
        }
      }
    }
    if (ledger.outstanding() < 0) result_.ledger_balanced = false;
    if (!result_.ledger_balanced) {
      AddGlobal(Divergence{"", "", "", "", -1, -1, "ledger",
                           "instructed " + std::to_string(ledger.instructed) + ", settled " +
                               std::to_string(ledger.settled) + ", failed " +
                               std::to_string(ledger.failed),
                           "every settlement and failure equal to its instruction, at most one "
                           "each"});
    }
  }

  const AuditOptions& options_;
  AuditResult& result_;
  DivergenceList& divergences_;
  // The shards' tables of re-derived decisions, which outlive this check.
  std::vector<const KeyedTable<ExpectedClaim>*> tables_;
  std::vector<Instruction*> instructions_;                     // in file order
  absl::flat_hash_map<std::string_view, Instruction*> by_id_;  // the first of each payment id
  std::vector<const BankStatus*> statuses_;
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

namespace {

// The shards' results merged in a fixed order, so that the result does not depend on their
// number, and the checks over all members: the manifest and the payments.
Result<AuditResult> Merge(std::vector<std::optional<Result<ShardResult>>>& results,
                          const std::optional<Result<std::string>>& file_sha256,
                          const ExportReader& reader, const AuditOptions& options) {
  std::vector<ShardResult*> parts;
  for (auto& r : results) {
    if (!r->ok()) return r->status();
    parts.push_back(&r->value());
  }
  if (file_sha256 && !file_sha256->ok()) return file_sha256->status();
  AuditResult merged;
  merged.file_sha256 = file_sha256 ? file_sha256->value() : parts[0]->file_sha256;
  DivergenceList divergences(options.max_divergences);
  for (ShardResult* r : parts) {
    AuditCounts& c = merged.counts;
    c.records += r->counts.records;
    c.inputs += r->counts.inputs;
    c.outputs += r->counts.outputs;
    c.duplicate_outputs += r->counts.duplicate_outputs;
    c.payments += r->counts.payments;
    c.duplicate_payments += r->counts.duplicate_payments;
    c.other += r->counts.other;
    c.decisions_checked += r->counts.decisions_checked;
    merged.ledger.posted_debits += r->ledger.posted_debits;
    merged.ledger.posted_credits += r->ledger.posted_credits;
    for (const auto& [account, fen] : r->ledger.balances) merged.ledger.balances[account] += fen;
    merged.ledger_balanced = merged.ledger_balanced && r->postings_balanced;
    divergences.Merge(std::move(r->divergences));
  }
  if (options.manifest != nullptr) {
    CheckManifest(*options.manifest, merged.file_sha256, reader.size(), merged.counts.records,
                  parts[0]->seen, divergences);
  }
  PaymentCheck(options, merged, divergences).Run(parts);
  merged.divergence_count = divergences.count();
  merged.divergences = divergences.Take();
  return merged;
}

}  // namespace

Result<AuditResult> Audit(ExportReader& reader, const PlanSet& plans, const AuditOptions& options) {
  const int shards = std::clamp(options.threads, 1, 16);
  std::vector<std::optional<Result<ShardResult>>> results(shards);
  if (shards == 1) {
    ReaderSource source(reader);
    auto shard = std::make_unique<AuditShard>(source, reader, plans, options, 0, 1);
    results[0].emplace(shard->Run());
    shard.reset();
    return Merge(results, std::nullopt, reader, options);
  }
  // With several shards, one thread reads the file once per pass for all of them (and hashes it
  // in the first), over a reader of its own; the shards read single records back from `reader`.
  Result<std::unique_ptr<ExportReader>> loader_reader = ExportReader::Open(reader.path());
  if (!loader_reader.ok()) return loader_reader.status();
  SharedPasses passes(shards);
  std::optional<Result<std::string>> file_sha256;
  // Each worker frees its shard's states once its result is out, while the merge runs, and its
  // result once the merge has read it: in parallel rather than one after another.
  std::latch ready(shards);
  std::latch merged(1);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    file_sha256.emplace(passes.Load(**loader_reader));
    ready.count_down();
  });
  for (int i = 1; i < shards; ++i) {
    threads.emplace_back([&, i] {
      SharedPasses::Cursor cursor(passes, i);
      auto shard = std::make_unique<AuditShard>(cursor, reader, plans, options, i, shards);
      results[i].emplace(shard->Run());
      cursor.Leave();
      ready.count_down();
      shard.reset();  // the members' states, freed while the merge runs
      merged.wait();
      results[i].reset();
    });
  }
  SharedPasses::Cursor cursor(passes, 0);
  auto first = std::make_unique<AuditShard>(cursor, reader, plans, options, 0, shards);
  results[0].emplace(first->Run());
  cursor.Leave();
  // Its states too are freed while the merge runs.
  threads.emplace_back([shard = std::move(first)]() mutable { shard.reset(); });
  ready.wait();
  Result<AuditResult> result = Merge(results, file_sha256, reader, options);
  merged.count_down();
  results[0].reset();
  for (std::thread& t : threads) t.join();
  return result;
}

}  // namespace claims::audit
