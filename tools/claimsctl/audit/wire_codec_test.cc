// The audit's fast path agrees with protobuf and the codec, and the audit's fold with the
// Refolder, on every generated input and on thousands of mangled ones: whatever the fast path
// accepts it reads exactly as they do, and whatever it encodes is byte for byte theirs.

#include "tools/claimsctl/audit/wire_codec.h"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "tests/bench/history.h"
#include "tools/claimsctl/audit/audit_fold.h"
#include "tools/claimsctl/audit/refold.h"
#include "tools/claimsctl/audit/wire.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

PlanSet LoadPlans() {
  Result<PlanSet> plans = PlanSet::Load(CLAIMS_SOURCE_DIR "/config/plans", kDefaultPlanId);
  EXPECT_TRUE(plans.ok()) << plans.status().ToString();
  return std::move(plans).value();
}

void Rehash(ev::Envelope& e) {
  e.set_payload_sha256(std::string(crypto::AsBytes(crypto::Sha256(e.payload()))));
}

ev::SealedPersonalData Sealed(int i) {
  ev::SealedPersonalData s;
  s.set_key_id("K-" + std::to_string(i));
  s.set_nonce(std::string(12, static_cast<char>(i)));
  s.set_ciphertext(std::string(40 + i % 7, static_cast<char>(0x80 + i % 50)));
  s.set_tag(std::string(16, '\xee'));
  return s;
}

// The inputs of a generated history as intake publishes them, with sealed personal data on
// enrollments and claims (nested messages the fast path must check too) and the partner's id.
std::vector<ev::Envelope> Inputs(int members) {
  bench::HistoryShape shape;
  shape.members = members;
  shape.years = 2;
  shape.claims_per_thousand_member_years = 700;
  const std::vector<domain::Input> history = bench::GenerateHistory(shape);
  std::vector<ev::Envelope> out;
  for (size_t i = 0; i < history.size(); ++i) {
    ev::Envelope e = codec::EncodeInput(history[i], "E" + std::to_string(i + 1), kDefaultPlanId);
    if (e.type() == codec::kMemberEnrolled) {
      ev::MemberEnrolled m;
      EXPECT_TRUE(m.ParseFromString(e.payload()));
      *m.mutable_personal_data() = Sealed(static_cast<int>(i));
      m.set_partner_id("P-0001");
      m.set_bank_card_last4("1234");
      m.SerializeToString(e.mutable_payload());
      Rehash(e);
    } else if (e.type() == codec::kClaimSubmitted && i % 2 == 0) {
      ev::ClaimSubmitted m;
      EXPECT_TRUE(m.ParseFromString(e.payload()));
      *m.mutable_health_data() = Sealed(static_cast<int>(i));
      m.set_partner_id("P-0002");
      m.SerializeToString(e.mutable_payload());
      Rehash(e);
    }
    out.push_back(std::move(e));
  }
  return out;
}

void AppendVarint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}

// One mangling of serialized message bytes, chosen by `rng`: a flipped or cut byte, an unknown
// field, a repeated known field, a known field with another wire type, a group, a string that is
// not UTF-8, a field number 0, an over-long varint.
std::string Mangle(std::string bytes, std::mt19937_64& rng) {
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  switch (pick(10)) {
    case 0:
      if (!bytes.empty()) bytes[pick(bytes.size())] ^= static_cast<char>(1 + pick(255));
      break;
    case 1:
      bytes.resize(pick(bytes.size()));
      break;
    case 2:  // unknown field
      AppendVarint(bytes, (99 << 3) | 2);
      AppendVarint(bytes, 3);
      bytes += "abc";
      break;
    case 3: {  // a known string or varint field again, last one wins
      const uint32_t number = 1 + static_cast<uint32_t>(pick(12));
      if (pick(2) == 0) {
        AppendVarint(bytes, (number << 3) | 2);
        AppendVarint(bytes, 4);
        bytes += "M-77";
      } else {
        AppendVarint(bytes, (number << 3) | 0);
        AppendVarint(bytes, pick(8));
      }
      break;
    }
    case 4:  // a known field with the wrong wire type
      AppendVarint(bytes, ((1 + pick(12)) << 3) | 5);
      bytes += "\x01\x02\x03\x04";
      break;
    case 5:  // a group
      AppendVarint(bytes, (50 << 3) | 3);
      AppendVarint(bytes, (51 << 3) | 0);
      AppendVarint(bytes, 1);
      AppendVarint(bytes, (50 << 3) | 4);
      break;
    case 6: {  // not UTF-8, in a field that may be a string
      AppendVarint(bytes, ((1 + pick(12)) << 3) | 2);
      AppendVarint(bytes, 2);
      bytes += "\xc3\x28";
      break;
    }
    case 7:
      AppendVarint(bytes, 0 | 2);
      AppendVarint(bytes, 0);
      break;
    case 8:  // a ten-byte varint beyond 64 bits
      AppendVarint(bytes, (10 << 3) | 0);
      bytes += std::string(9, '\xff') + "\x7f";
      break;
    default:  // insert a byte
      bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(pick(bytes.size() + 1)),
                   static_cast<char>(pick(256)));
      break;
  }
  return bytes;
}

TEST(WireCodecTest, ReadEnvelopeReadsWhatProtobufReadsOrDeclines) {
  const google::protobuf::LogSilencer quiet;  // protobuf logs each refused string
  std::mt19937_64 rng(7);
  int read = 0;
  int declined = 0;
  const std::vector<ev::Envelope> inputs = Inputs(60);
  for (const ev::Envelope& e : inputs) {
    const std::string bytes = e.SerializeAsString();
    EnvelopeView v;
    ASSERT_TRUE(ReadEnvelope(bytes, v)) << "a well-formed envelope takes the fast path";
    for (int k = 0; k < 6; ++k) {
      const std::string mangled = Mangle(bytes, rng);
      ev::Envelope parsed;
      const bool ok = parsed.ParseFromString(mangled);
      if (!ReadEnvelope(mangled, v)) {
        ++declined;
        continue;
      }
      ++read;
      ASSERT_TRUE(ok) << "the fast path accepted what protobuf refuses";
      EXPECT_EQ(v.event_id, parsed.event_id());
      EXPECT_EQ(v.type, parsed.type());
      EXPECT_EQ(v.member_id, parsed.member_id());
      EXPECT_EQ(v.business_date, parsed.business_date());
      EXPECT_EQ(v.payload_sha256, parsed.payload_sha256());
      EXPECT_EQ(v.answers_event_id, parsed.answers_event_id());
      EXPECT_EQ(v.trace_id, parsed.trace_id());
      EXPECT_EQ(v.payload, parsed.payload());
      EXPECT_EQ(v.sequence, parsed.sequence());
    }
  }
  EXPECT_GT(read, 100);
  EXPECT_GT(declined, 100);
}

TEST(WireCodecTest, DecodeInputFastDecodesAsTheCodecOrDeclines) {
  const google::protobuf::LogSilencer quiet;  // protobuf logs each refused string
  std::mt19937_64 rng(11);
  int fast = 0;
  int declined = 0;
  const std::vector<ev::Envelope> inputs = Inputs(80);
  auto check = [&](const ev::Envelope& e, bool must_decode) {
    const std::string bytes = e.SerializeAsString();
    EnvelopeView v;
    ASSERT_TRUE(ReadEnvelope(bytes, v));
    domain::Input input;
    std::string_view plan_id;
    std::string codec_plan;
    const Result<domain::Input> expected = codec::DecodeInput(e, &codec_plan);
    if (!DecodeInputFast(v, input, plan_id)) {
      EXPECT_FALSE(must_decode) << e.DebugString();
      ++declined;
      return;
    }
    ++fast;
    ASSERT_TRUE(expected.ok()) << "decoded what the codec refuses: "
                               << expected.status().ToString();
    EXPECT_EQ(input, *expected);
    EXPECT_EQ(plan_id, codec_plan);
  };
  for (const ev::Envelope& e : inputs) {
    check(e, /*must_decode=*/true);
    for (int k = 0; k < 8; ++k) {
      ev::Envelope mangled = e;
      mangled.set_payload(Mangle(e.payload(), rng));
      if (k % 4 != 0) Rehash(mangled);  // most keep a matching hash, to reach the payload
      if (k == 5) mangled.set_member_id("M-other");
      check(mangled, /*must_decode=*/false);
    }
  }
  EXPECT_GT(fast, static_cast<int>(inputs.size()) + 100);
  EXPECT_GT(declined, 100);
}

// Folds `records` with the Refolder and with the audit's fold and compares every step.
void FoldBothWays(const std::vector<RecordView>& records, const PlanSet& plans,
                  uint64_t* fast_inputs, uint64_t* slow_inputs, int* decisions, int* rejections) {
  Refolder refolder(plans);
  RefoldStep expected;
  KeyedTable<domain::MemberState> states;
  const std::function<domain::MemberState&(std::string_view)> state_of =
      [&](std::string_view member) -> domain::MemberState& {
    bool created = false;
    domain::MemberState& s = states.At(member, &created);
    if (created) s.id = std::string(member);
    return s;
  };
  AuditFold fold(plans);
  FoldInput in;
  FoldStep step;
  for (const RecordView& record : records) {
    refolder.Apply(record, expected);
    fold.Read(record, in);
    EXPECT_EQ(in.member, expected.envelope.member_id());
    fold.Apply(in, step, state_of);
    ASSERT_EQ(step.plan, expected.plan);
    EXPECT_EQ(step.event_id, expected.envelope.event_id());
    EXPECT_EQ(step.data_loss, expected.decode_status.code() == StatusCode::kDataLoss);
    if (expected.plan == nullptr) {
      EXPECT_EQ(step.plan_id, expected.plan_id);
      continue;
    }
    ASSERT_EQ(step.output, expected.output);
    ASSERT_EQ(step.published.empty(), !expected.published.has_value());
    if (!expected.published) continue;
    ASSERT_EQ(step.published, expected.published->SerializeAsString());
    EXPECT_EQ(crypto::AsBytes(step.published_payload_sha256), expected.published->payload_sha256());
    EXPECT_EQ(step.published_member, expected.published->member_id());
    *decisions += std::holds_alternative<domain::Decision>(step.output.body) ? 1 : 0;
    *rejections += std::holds_alternative<domain::InputRejection>(step.output.body) ? 1 : 0;
  }
  for (const auto& [member, state] : refolder.members()) {
    const domain::MemberState* mine = states.Find(member);
    ASSERT_NE(mine, nullptr) << member;
    EXPECT_EQ(*mine, state);
  }
  EXPECT_EQ(states.size(), refolder.members().size());
  *fast_inputs = fold.fast_inputs();
  *slow_inputs = fold.slow_inputs();
}

TEST(AuditFoldTest, FoldsAndPublishesExactlyAsTheRefolder) {
  const google::protobuf::LogSilencer quiet;  // protobuf logs each refused string
  const PlanSet plans = LoadPlans();
  std::mt19937_64 rng(13);
  const std::vector<ev::Envelope> inputs = Inputs(120);
  // Every input, and after every third a mangled copy of another: envelopes and payloads that
  // do not decode (MALFORMED_INPUT rejections), name unknown plans, or decode otherwise.
  std::vector<std::string> bytes;
  std::vector<std::string> keys;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bytes.push_back(inputs[i].SerializeAsString());
    keys.push_back(inputs[i].member_id());
    if (i % 3 != 0) continue;
    ev::Envelope other = inputs[(i * 7) % inputs.size()];
    other.set_event_id("X" + std::to_string(i));
    switch (i % 4) {
      case 0:
        bytes.push_back(Mangle(other.SerializeAsString(), rng));
        break;
      case 1:
        other.set_payload(Mangle(other.payload(), rng));
        Rehash(other);
        bytes.push_back(other.SerializeAsString());
        break;
      case 2:
        other.clear_member_id();
        other.clear_event_id();
        bytes.push_back(other.SerializeAsString());
        break;
      default: {
        ev::ClaimAppealed appeal;
        appeal.set_claim_id("C" + std::to_string(i));
        appeal.set_date("2024-05-01");
        appeal.set_plan_id(i % 8 == 3 ? "no-such-plan" : "");
        other = codec::Wrap(codec::kClaimAppealed, appeal);
        other.set_event_id("A" + std::to_string(i));
        bytes.push_back(other.SerializeAsString());
        break;
      }
    }
    keys.push_back(inputs[(i * 7) % inputs.size()].member_id());
  }
  std::vector<RecordView> records;
  for (size_t i = 0; i < bytes.size(); ++i) {
    RecordView r;
    r.topic = "intake.events.v1";
    r.partition = 3;
    r.offset = static_cast<int64_t>(i);
    r.key = keys[i];
    r.envelope = bytes[i];
    records.push_back(r);
  }
  uint64_t fast = 0, slow = 0;
  int decisions = 0, rejections = 0;
  FoldBothWays(records, plans, &fast, &slow, &decisions, &rejections);
  EXPECT_GE(fast, inputs.size());
  EXPECT_GT(slow, 50u);
  EXPECT_GT(decisions, 100);
  EXPECT_GT(rejections, 50);
}

TEST(WireTest, SchemaRefusesWhatProtobufRefuses) {
  const google::protobuf::LogSilencer quiet;  // protobuf logs each refused string
  ev::MemberEnrolled m;
  m.set_member_id("M1");
  *m.mutable_personal_data() = Sealed(1);
  std::string good = m.SerializeAsString();
  const wire::Schema& schema = wire::Schema::For(ev::MemberEnrolled::descriptor());
  EXPECT_TRUE(schema.Accepts(good));
  // Not UTF-8 in the nested message's string field.
  ev::MemberEnrolled bad = m;
  bad.mutable_personal_data()->set_key_id("\xff");
  const std::string bad_bytes = bad.SerializeAsString();
  EXPECT_FALSE(ev::MemberEnrolled().ParseFromString(bad_bytes));
  EXPECT_FALSE(schema.Accepts(bad_bytes));
  // Bytes fields take anything.
  bad = m;
  bad.mutable_personal_data()->set_nonce("\xff");
  EXPECT_TRUE(schema.Accepts(bad.SerializeAsString()));
  EXPECT_TRUE(wire::IsUtf8("plain ascii, and 中文"));
  EXPECT_FALSE(wire::IsUtf8("overlong \xc0\xaf"));
  EXPECT_FALSE(wire::IsUtf8("surrogate \xed\xa0\x80"));
}

}  // namespace
}  // namespace claims::audit
