// The export file and the audit: a generated log audits clean, and each kind of tampering is
// named exactly (claim, field, recorded and expected value).

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "libs/crypto/sha256.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/events/topics.h"
#include "mutualaid/audit/v1/export.pb.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/intake.pb.h"
#include "mutualaid/events/v1/payments.pb.h"
#include "tests/bench/history.h"
#include "tests/support/temp_dir.h"
#include "tools/claimsctl/audit/auditor.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/generator.h"
#include "tools/claimsctl/audit/report.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string envelope;
  uint64_t position = 0;
};

PlanSet LoadPlans() {
  Result<PlanSet> plans = PlanSet::Load(CLAIMS_SOURCE_DIR "/config/plans", kDefaultPlanId);
  EXPECT_TRUE(plans.ok()) << plans.status().ToString();
  return std::move(plans).value();
}

std::vector<Record> ReadAll(const std::string& path) {
  std::vector<Record> out;
  Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
  EXPECT_TRUE(reader.ok());
  RecordView v;
  for (int i = 0; i < 10000000; ++i) {
    Result<bool> next = (*reader)->Next(v);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || !*next) break;
    out.push_back({std::string(v.topic), v.partition, v.offset, std::string(v.key),
                   std::string(v.envelope), v.position});
  }
  return out;
}

Manifest WriteAll(const std::string& path, const std::vector<Record>& records) {
  Result<std::unique_ptr<ExportWriter>> writer = ExportWriter::Create(path);
  EXPECT_TRUE(writer.ok());
  for (const Record& r : records) {
    EXPECT_TRUE((*writer)->Append(r.topic, r.partition, r.offset, r.key, r.envelope).ok());
  }
  Result<Manifest> m = (*writer)->Finish();
  EXPECT_TRUE(m.ok());
  return *m;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<test_support::TempDir> dir = test_support::TempDir::Create("audit-test");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    path_ = dir_->File("export.bin");
    bench::HistoryShape shape;
    shape.members = 300;
    shape.years = 2;
    shape.claims_per_thousand_member_years = 600;
    Result<std::unique_ptr<ExportWriter>> writer = ExportWriter::Create(path_);
    ASSERT_TRUE(writer.ok());
    GenerateOptions options;
    options.fail_one_in = 7;
    options.duplicate_one_in = 25;
    Result<GenerateSummary> summary =
        GenerateExport(bench::GenerateHistory(shape), plans_, options, **writer);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    summary_ = *summary;
    Result<Manifest> manifest = (*writer)->Finish();
    ASSERT_TRUE(manifest.ok());
    manifest_ = *manifest;
    records_ = ReadAll(path_);
  }

  AuditResult RunAudit(const std::string& path, const Manifest* manifest, int threads = 1) {
    Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
    EXPECT_TRUE(reader.ok());
    AuditOptions options;
    options.manifest = manifest;
    options.threads = threads;
    Result<AuditResult> result = Audit(**reader, plans_, options);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return *result;
  }

  // Rewrites the export with `records` and a fresh manifest, and audits it.
  AuditResult AuditRewritten(const std::vector<Record>& records) {
    const std::string path = dir_->File("tampered.bin");
    const Manifest m = WriteAll(path, records);
    return RunAudit(path, &m);
  }

  // The index of the first decision record that is its claim's final decision, is published
  // once (no identical repeat), and whose payload satisfies `pred`.
  size_t FindDecision(const std::function<bool(const ev::ClaimDecided&)>& pred) {
    std::map<std::string, size_t> last;
    std::map<std::string, int> copies;
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].topic != events::kDecisionsTopic) continue;
      ++copies[records_[i].envelope];
      ev::Envelope e;
      e.ParseFromString(records_[i].envelope);
      ev::ClaimDecided d;
      if (e.type() == codec::kClaimDecided && d.ParseFromString(e.payload())) {
        last[d.claim_id()] = i;
      }
    }
    for (const auto& [claim, i] : last) {
      if (copies[records_[i].envelope] != 1) continue;
      ev::Envelope e;
      e.ParseFromString(records_[i].envelope);
      ev::ClaimDecided d;
      d.ParseFromString(e.payload());
      if (pred(d)) return i;
    }
    ADD_FAILURE() << "no such decision";
    return 0;
  }

  static std::string Lines(const AuditResult& r) {
    std::string out;
    for (const Divergence& d : r.divergences) out += d.ToLine() + "\n";
    return out;
  }

  PlanSet plans_ = LoadPlans();
  std::optional<test_support::TempDir> dir_;
  std::string path_;
  GenerateSummary summary_;
  Manifest manifest_;
  std::vector<Record> records_;
};

TEST(ExportFileTest, ReaderSeesWhatProtobufWrote) {
  Result<test_support::TempDir> dir = test_support::TempDir::Create("export-file");
  ASSERT_TRUE(dir.ok());
  const std::string path = dir->File("x.bin");
  std::vector<Record> in = {{"intake.events.v1", 3, 7, "M1", std::string("\0env\xff", 5), 0},
                            {"intake.events.v1", 3, 9, "M1", std::string(70000, 'x'), 0},
                            {"payout.payments.v1", 0, 0, "", "", 0}};
  const Manifest m = WriteAll(path, in);
  EXPECT_EQ(m.records, 3u);
  ASSERT_EQ(m.partitions.size(), 2u);
  EXPECT_EQ(m.partitions[0].topic, "intake.events.v1");
  EXPECT_EQ(m.partitions[0].first_offset, 7);
  EXPECT_EQ(m.partitions[0].last_offset, 9);
  EXPECT_EQ(m.partitions[0].count, 2u);
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  EXPECT_EQ(m.sha256, crypto::Sha256Hex(bytes.str()));
  EXPECT_EQ(m.bytes, bytes.str().size());

  const std::vector<Record> out = ReadAll(path);
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].topic, in[i].topic);
    EXPECT_EQ(out[i].partition, in[i].partition);
    EXPECT_EQ(out[i].offset, in[i].offset);
    EXPECT_EQ(out[i].key, in[i].key);
    EXPECT_EQ(out[i].envelope, in[i].envelope);
  }
  Result<Manifest> read_back = ReadManifest(ManifestPath(path));
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_EQ(*read_back, m);
  // Random access returns the same record.
  Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
  std::string storage;
  Result<RecordView> second = (*reader)->ReadAt(out[1].position, storage);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->offset, 9);
  // And protobuf itself parses what the reader's hand-written parser read.
  mutualaid::audit::v1::ExportRecord parsed;
  const std::string& raw = bytes.str();
  ASSERT_TRUE(parsed.ParseFromString(raw.substr(1, static_cast<uint8_t>(raw[0]))));
  EXPECT_EQ(parsed.topic(), "intake.events.v1");
  EXPECT_EQ(parsed.offset(), 7);
}

TEST(ExportFileTest, TruncatedFileIsAnErrorNamingTheBytePosition) {
  Result<test_support::TempDir> dir = test_support::TempDir::Create("export-file");
  ASSERT_TRUE(dir.ok());
  const std::string path = dir->File("x.bin");
  WriteAll(path, {{"t", 0, 0, "k", "first", 0}, {"t", 0, 1, "k", "second record", 0}});
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  std::string cut = bytes.str();
  cut.resize(cut.size() - 3);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << cut;
  Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
  RecordView v;
  ASSERT_TRUE((*reader)->Next(v).ok());
  Result<bool> second = (*reader)->Next(v);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(second.status().message().find("byte 14"), std::string::npos)
      << second.status().message();
}

TEST(ManifestTest, BadManifestNamesFileAndField) {
  Result<Manifest> m = Manifest::FromJson(R"({"file": "x", "bytes": "many"})", "m.json");
  ASSERT_FALSE(m.ok());
  std::string all;
  for (const FieldViolation& v : m.status().violations()) all += v.field + "|";
  EXPECT_NE(all.find("m.json: bytes"), std::string::npos) << all;
  EXPECT_NE(all.find("m.json: sha256"), std::string::npos) << all;
}

TEST_F(AuditTest, GeneratedLogAuditsClean) {
  const AuditResult r = RunAudit(path_, &manifest_);
  EXPECT_EQ(r.divergence_count, 0u) << Lines(r);
  EXPECT_EQ(r.counts.records, summary_.records());
  EXPECT_EQ(r.counts.inputs, summary_.inputs);
  EXPECT_GT(r.counts.duplicate_outputs, 0u);
  EXPECT_EQ(r.counts.decisions_checked + r.counts.duplicate_outputs, summary_.outputs);
  EXPECT_GT(r.counts.approved_claims, 10u);
  EXPECT_TRUE(r.ledger_balanced);
  EXPECT_GT(r.ledger.failed, 0);
  EXPECT_EQ(r.ledger.outstanding(), 0);
  EXPECT_EQ(r.file_sha256, manifest_.sha256);
  EXPECT_EQ(r.ledger.balances.at("payable"), 0);  // everything instructed was settled or failed
  EXPECT_EQ(r.ledger.balances.at("settled"), r.ledger.settled);
  EXPECT_EQ(r.ledger.posted_debits, r.ledger.posted_credits);
}

TEST_F(AuditTest, OneChangedByteNamesTheEventAndItsPayloadHash) {
  const size_t i = FindDecision([](const ev::ClaimDecided& d) { return d.trace_size() > 0; });
  ev::Envelope e;
  e.ParseFromString(records_[i].envelope);
  ev::ClaimDecided d;
  d.ParseFromString(e.payload());
  // Flip one byte of the first trace line, in the file itself.
  std::ifstream file(path_, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  std::string raw = bytes.str();
  const size_t at = raw.find(d.trace(0), records_[i].position);
  ASSERT_NE(at, std::string::npos);
  raw[at] ^= 0x01;
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << raw;

  const AuditResult r = RunAudit(path_, &manifest_);
  std::set<std::string> fields;
  for (const Divergence& dv : r.divergences) {
    if (dv.field.rfind("manifest", 0) == 0) {
      fields.insert(dv.field);
      continue;
    }
    EXPECT_EQ(dv.claim_id, d.claim_id()) << dv.ToLine();
    EXPECT_EQ(dv.event_id, e.event_id()) << dv.ToLine();
    EXPECT_EQ(dv.offset, records_[i].offset);
    fields.insert(dv.field);
  }
  EXPECT_EQ(fields, (std::set<std::string>{"manifest.sha256", "payload_sha256", "trace"}))
      << Lines(r);
}

TEST_F(AuditTest, ChangedAmountIsNamedByClaimAndField) {
  const size_t i = FindDecision(
      [](const ev::ClaimDecided& d) { return d.outcome() == ev::APPROVED && d.payable_fen() > 0; });
  ev::Envelope e;
  e.ParseFromString(records_[i].envelope);
  ev::ClaimDecided d;
  d.ParseFromString(e.payload());
  const int64_t real = d.payable_fen();
  d.set_payable_fen(real + 100);
  // A careful forger also fixes the payload hash.
  ev::Envelope forged = codec::Wrap(e.type(), d);
  e.set_payload(forged.payload());
  e.set_payload_sha256(forged.payload_sha256());
  std::vector<Record> records = records_;
  e.SerializeToString(&records[i].envelope);
  for (Record& r : records) {  // its identical repeat, if any, gets the same forgery
    if (&r != &records[i] && r.envelope == records_[i].envelope) r.envelope = records[i].envelope;
  }
  const AuditResult r = AuditRewritten(records);
  ASSERT_EQ(r.divergence_count, 1u) << Lines(r);
  EXPECT_EQ(r.divergences[0].claim_id, d.claim_id());
  EXPECT_EQ(r.divergences[0].field, "payable_fen");
  EXPECT_EQ(r.divergences[0].recorded, std::to_string(real + 100));
  EXPECT_EQ(r.divergences[0].expected, std::to_string(real));
  EXPECT_EQ(r.divergences[0].ToLine().rfind("claim " + d.claim_id() +
                                                ": field payable_fen: "
                                                "recorded " +
                                                std::to_string(real + 100) + ", expected " +
                                                std::to_string(real),
                                            0),
            0u);
}

TEST_F(AuditTest, DroppedDecisionIsNamed) {
  const size_t i =
      FindDecision([](const ev::ClaimDecided& d) { return d.outcome() == ev::DENIED; });
  ev::ClaimDecided d;
  ev::Envelope e;
  e.ParseFromString(records_[i].envelope);
  d.ParseFromString(e.payload());
  std::vector<Record> records;
  for (const Record& r : records_) {
    if (r.envelope != records_[i].envelope) records.push_back(r);  // and any repeat of it
  }
  const AuditResult r = AuditRewritten(records);
  ASSERT_EQ(r.divergence_count, 1u) << Lines(r);
  EXPECT_EQ(r.divergences[0].claim_id, d.claim_id());
  EXPECT_EQ(r.divergences[0].field, "decision");
  EXPECT_EQ(r.divergences[0].recorded, "none published");

  // Against the original manifest, the file's hash and the partition's count are named too.
  const std::string path = dir_->File("dropped.bin");
  WriteAll(path, records);
  const AuditResult with_manifest = RunAudit(path, &manifest_);
  std::set<std::string> fields;
  for (const Divergence& dv : with_manifest.divergences) fields.insert(dv.field);
  EXPECT_TRUE(fields.count("manifest.sha256")) << Lines(with_manifest);
  EXPECT_TRUE(fields.count("manifest.records")) << Lines(with_manifest);
  EXPECT_TRUE(fields.count("decision")) << Lines(with_manifest);
}

TEST_F(AuditTest, DuplicateWithDifferentBytesIsNamed) {
  const size_t i = FindDecision([](const ev::ClaimDecided& d) { return d.trace_size() > 0; });
  ev::Envelope e;
  e.ParseFromString(records_[i].envelope);
  ev::ClaimDecided d;
  d.ParseFromString(e.payload());
  d.set_trace(0, d.trace(0) + " (edited)");
  ev::Envelope forged = codec::Wrap(e.type(), d);
  e.set_payload(forged.payload());
  e.set_payload_sha256(forged.payload_sha256());
  std::vector<Record> records = records_;
  Record copy = records_[i];
  e.SerializeToString(&copy.envelope);
  int64_t last = -1;
  for (const Record& r : records_) {
    if (r.topic == copy.topic && r.partition == copy.partition) last = std::max(last, r.offset);
  }
  copy.offset = last + 1;
  records.push_back(copy);
  const AuditResult r = AuditRewritten(records);
  ASSERT_EQ(r.divergence_count, 1u) << Lines(r);
  EXPECT_EQ(r.divergences[0].claim_id, d.claim_id());
  EXPECT_EQ(r.divergences[0].field.rfind("envelope (member " + e.member_id() + ", sequence " +
                                             std::to_string(e.sequence()) + ")",
                                         0),
            0u)
      << Lines(r);
}

TEST_F(AuditTest, PaymentWithoutApprovalAndWrongAmountAreNamed) {
  const size_t denied =
      FindDecision([](const ev::ClaimDecided& d) { return d.outcome() == ev::DENIED; });
  ev::Envelope de;
  de.ParseFromString(records_[denied].envelope);
  ev::ClaimDecided dd;
  dd.ParseFromString(de.payload());
  ev::PaymentInstructed p;
  p.set_payment_id("FORGED-1");
  p.set_claim_id(dd.claim_id());
  p.set_member_id(dd.member_id());
  p.set_kind(ev::BENEFIT);
  p.set_amount_fen(5000);
  p.set_decision_event_id(de.event_id());
  ev::Envelope pe = codec::Wrap("mutualaid.events.v1.PaymentInstructed", p);
  pe.set_event_id("forged-payment");
  pe.set_member_id(dd.member_id());
  std::vector<Record> records = records_;
  Record forged{events::kPaymentsTopic, 99, 0, dd.member_id(), pe.SerializeAsString(), 0};
  records.push_back(forged);

  // And one real instruction's amount raised by 1 fen (hash fixed).
  for (Record& r : records) {
    if (r.topic != events::kPaymentsTopic) continue;
    ev::Envelope e;
    e.ParseFromString(r.envelope);
    ev::PaymentInstructed real;
    if (e.type() != "mutualaid.events.v1.PaymentInstructed" || e.event_id() == "forged-payment" ||
        !real.ParseFromString(e.payload())) {
      continue;
    }
    real.set_amount_fen(real.amount_fen() + 1);
    ev::Envelope w = codec::Wrap(e.type(), real);
    e.set_payload(w.payload());
    e.set_payload_sha256(w.payload_sha256());
    r.envelope = e.SerializeAsString();
    p = real;
    break;
  }
  const AuditResult r = AuditRewritten(records);
  std::set<std::string> lines;
  for (const Divergence& d : r.divergences) lines.insert(d.ToLine());
  const std::string approval = "claim " + dd.claim_id() +
                               ": field payment FORGED-1: approval: recorded an instruction of "
                               "5000 fen, expected none: the claim is DENIED";
  bool found_approval = false;
  bool found_amount = false;
  for (const Divergence& d : r.divergences) {
    found_approval = found_approval || d.ToLine().rfind(approval, 0) == 0;
    found_amount = found_amount || (d.claim_id == p.claim_id() &&
                                    d.field == "payment " + p.payment_id() + ": amount_fen" &&
                                    d.recorded == std::to_string(p.amount_fen()) &&
                                    d.expected == std::to_string(p.amount_fen() - 1));
  }
  EXPECT_TRUE(found_approval) << Lines(r);
  EXPECT_TRUE(found_amount) << Lines(r);
}

TEST_F(AuditTest, ThreadsGiveTheSameResult) {
  // Drop every fifth decision and audit against the original manifest.
  std::vector<Record> records;
  int decisions = 0;
  for (const Record& r : records_) {
    if (r.topic == events::kDecisionsTopic && ++decisions % 5 == 0) continue;
    records.push_back(r);
  }
  const std::string path = dir_->File("dropped.bin");
  WriteAll(path, records);
  const AuditResult one = RunAudit(path, &manifest_, 1);
  const AuditResult three = RunAudit(path, &manifest_, 3);
  EXPECT_GT(one.divergence_count, 10u);
  EXPECT_EQ(Lines(one), Lines(three));
  EXPECT_EQ(one.divergence_count, three.divergence_count);
  EXPECT_EQ(one.counts.records, three.counts.records);
  EXPECT_EQ(one.counts.decisions_checked, three.counts.decisions_checked);
  EXPECT_EQ(one.counts.approved_claims, three.counts.approved_claims);
  EXPECT_EQ(one.ledger.settled, three.ledger.settled);
  EXPECT_EQ(one.ledger.balances, three.ledger.balances);
  EXPECT_EQ(one.file_sha256, three.file_sha256);
}

// Every field of a result, as text: two results that print the same are the same.
std::string Render(const AuditResult& r) {
  std::ostringstream out;
  const AuditCounts& c = r.counts;
  out << "records " << c.records << " inputs " << c.inputs << " outputs " << c.outputs
      << " duplicate_outputs " << c.duplicate_outputs << " payments " << c.payments
      << " duplicate_payments " << c.duplicate_payments << " other " << c.other
      << " decisions_checked " << c.decisions_checked << " approved_claims " << c.approved_claims
      << " unpaid_approvals " << c.unpaid_approvals << "\n";
  out << "ledger " << r.ledger.instructed << " " << r.ledger.settled << " " << r.ledger.failed
      << " " << r.ledger.posted_debits << " " << r.ledger.posted_credits << " balanced "
      << r.ledger_balanced << "\n";
  for (const auto& [account, fen] : r.ledger.balances) out << account << " " << fen << "\n";
  out << "sha256 " << r.file_sha256 << " divergences " << r.divergence_count << "\n";
  for (const Divergence& d : r.divergences) {
    out << d.ToLine() << " | " << d.claim_id << " | " << d.member_id << " | " << d.event_id << " | "
        << d.topic << " | " << d.partition << " | " << d.offset << " | " << d.field << " | "
        << d.recorded << " | " << d.expected << "\n";
  }
  return out.str();
}

int64_t NextOffset(const std::vector<Record>& records, const std::string& topic,
                   int32_t partition) {
  int64_t last = -1;
  for (const Record& r : records) {
    if (r.topic == topic && r.partition == partition) last = std::max(last, r.offset);
  }
  return last + 1;
}

// Regression for the sharded audit: members split among threads must not change a byte of what
// it reports, divergences of every kind included, nor which ones survive --max-divergences.
// A broken file fails the audit with the same error whatever the number of threads (with more
// than one, a thread of its own reads the file for all of them and must pass its error on).
TEST_F(AuditTest, TruncatedFileFailsTheSameWithAnyNumberOfThreads) {
  std::ifstream file(path_, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  std::string cut = bytes.str();
  cut.resize(cut.size() - 3);
  const std::string path = dir_->File("truncated.bin");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << cut;
  ASSERT_GT(records_.size(), 1000u);  // the error comes after many records
  std::string first_message;
  for (int threads : {1, 2, 3}) {
    Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
    ASSERT_TRUE(reader.ok());
    AuditOptions options;
    options.manifest = &manifest_;
    options.threads = threads;
    Result<AuditResult> result = Audit(**reader, plans_, options);
    ASSERT_FALSE(result.ok()) << threads << " threads";
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << threads << " threads";
    EXPECT_NE(result.status().message().find("is cut off by the end of the file"),
              std::string::npos)
        << result.status().message();
    if (threads == 1) first_message = result.status().message();
    EXPECT_EQ(result.status().message(), first_message) << threads << " threads";
  }
}

TEST_F(AuditTest, OutputIsByteIdenticalWithAnyNumberOfThreads) {
  std::vector<Record> records;
  int decisions = 0;
  int settled = 0;
  for (const Record& r : records_) {
    if (r.topic == events::kDecisionsTopic && ++decisions % 9 == 0) continue;  // dropped
    if (r.topic == events::kPaymentsTopic) {
      ev::Envelope e;
      e.ParseFromString(r.envelope);
      if (e.type() == "mutualaid.events.v1.PaymentSettled" && ++settled % 11 == 0) continue;
    }
    records.push_back(r);
  }
  std::vector<Record> extra;  // appended after the loop, at the ends of their partitions
  auto append = [&](const std::string& topic, int32_t partition, const std::string& key,
                    std::string envelope) {
    extra.push_back({topic, partition, 0, key, std::move(envelope), 0});
  };
  auto rewrap = [](ev::Envelope& e, const google::protobuf::MessageLite& payload) {
    ev::Envelope w = codec::Wrap(e.type(), payload);
    e.set_payload(w.payload());
    e.set_payload_sha256(w.payload_sha256());
  };
  int changed = 0;
  for (Record& r : records) {
    ev::Envelope e;
    if (!e.ParseFromString(r.envelope)) continue;
    ev::ClaimDecided d;
    if (e.type() == codec::kClaimDecided && d.ParseFromString(e.payload())) {
      ++changed;
      if (changed % 13 == 0) {  // a forged amount, hash fixed
        d.set_payable_fen(d.payable_fen() + 7);
        rewrap(e, d);
        r.envelope = e.SerializeAsString();
      } else if (changed % 17 == 0 && d.trace_size() > 0) {  // a changed byte, hash not fixed
        const size_t at = r.envelope.find(d.trace(0));
        if (at != std::string::npos) r.envelope[at] ^= 0x02;
      } else if (changed % 29 == 0) {  // a second, different output under the same sequence
        d.add_trace("edited");
        rewrap(e, d);
        append(r.topic, r.partition, r.key, e.SerializeAsString());
      } else if (changed % 31 == 0) {  // an output no input yields
        e.set_sequence(1000000000 + changed);
        e.set_event_id("forged-" + std::to_string(changed));
        append(r.topic, r.partition, r.key, e.SerializeAsString());
      }
    }
    ev::PaymentInstructed p;
    if (e.type() == "mutualaid.events.v1.PaymentInstructed" && p.ParseFromString(e.payload()) &&
        ++changed % 7 == 0) {
      p.set_amount_fen(p.amount_fen() + 1);
      rewrap(e, p);
      r.envelope = e.SerializeAsString();
    }
    if (e.type() == codec::kMemberEnrolled && ++changed % 97 == 0) {  // payload off its hash
      std::string payload = e.payload();
      payload.back() ^= 0x01;
      e.set_payload(payload);
      r.envelope = e.SerializeAsString();
    }
  }
  // A claim under a plan the auditor does not have, and bytes that are not envelopes.
  ev::ClaimSubmitted claim;
  claim.set_claim_id("C-NEXT");
  claim.set_member_id("M1000001");
  claim.set_coverage(ev::ACCIDENTAL_INJURY);
  claim.set_incident_date("2024-03-01");
  claim.set_date("2024-03-05");
  claim.set_amount_fen(50000);
  claim.set_plan_id("six-guarantees-v2");
  ev::Envelope next = codec::Wrap(codec::kClaimSubmitted, claim);
  next.set_event_id("E-NEXT");
  next.set_member_id("M1000001");
  append(events::kIntakeTopic, 0, "M1000001", next.SerializeAsString());
  append(events::kIntakeTopic, 1, "M1000002", "\xff\xff not an envelope");
  append(events::kDecisionsTopic, 1, "M1000003", "\x0a\xff");
  append(events::kPaymentsTopic, 2, "M1000004", "\x12");
  // A payment without sequence, and a different one under its event id.
  ev::PaymentHeld held;
  held.set_payment_id("P-H");
  ev::Envelope h = codec::Wrap("mutualaid.events.v1.PaymentHeld", held);
  h.set_event_id("held-1");
  append(events::kPaymentsTopic, 2, "M1000005", h.SerializeAsString());
  held.set_note("again");
  h = codec::Wrap("mutualaid.events.v1.PaymentHeld", held);
  h.set_event_id("held-1");
  append(events::kPaymentsTopic, 2, "M1000005", h.SerializeAsString());

  // Records routed otherwise than by their key (each must reach the shard a one-thread audit
  // folds it on): an input keyed elsewhere than the member its envelope names, an input whose
  // envelope member is not UTF-8 (protobuf refuses the envelope: routed by its key), payments
  // keyed elsewhere than their member, and payments without a sequence or an event id.
  ev::ClaimSubmitted keyed_elsewhere = claim;
  keyed_elsewhere.set_claim_id("C-KEYED-ELSEWHERE");
  keyed_elsewhere.clear_plan_id();
  ev::Envelope moved = codec::Wrap(codec::kClaimSubmitted, keyed_elsewhere);
  moved.set_event_id("E-KEYED-ELSEWHERE");
  moved.set_member_id("M1000001");
  append(events::kIntakeTopic, 3, "not-the-member", moved.SerializeAsString());
  moved.set_event_id("E-NOT-UTF8");
  moved.set_member_id("M-XXXXXX");
  std::string not_utf8 = moved.SerializeAsString();
  not_utf8.replace(not_utf8.find("M-XXXXXX"), 8, "M-\xff\xfeXXXX");
  append(events::kIntakeTopic, 3, "M1000002", not_utf8);
  for (int i = 0; i < 6; ++i) {
    ev::PaymentHeld other;
    other.set_payment_id("P-ELSEWHERE-" + std::to_string(i));
    ev::Envelope p = codec::Wrap("mutualaid.events.v1.PaymentHeld", other);
    p.set_member_id("M100000" + std::to_string(i));
    p.set_sequence(i % 2 == 0 ? 5000 : 0);  // by (member, sequence), else by its (empty) event id
    append(events::kPaymentsTopic, i % 3, "key-" + std::to_string(i), p.SerializeAsString());
  }

  for (Record& r : extra) {
    r.offset = NextOffset(records, r.topic, r.partition);
    records.push_back(std::move(r));
  }
  const std::string path = dir_->File("tampered-many.bin");
  WriteAll(path, records);
  const AuditResult one = RunAudit(path, &manifest_, 1);
  std::set<std::string> fields;
  for (const Divergence& d : one.divergences) fields.insert(d.field.substr(0, d.field.find(' ')));
  for (const char* field : {"decision", "payable_fen", "payload_sha256", "trace", "envelope",
                            "rejection", "plan_id", "payment", "manifest.sha256", "ledger"}) {
    EXPECT_TRUE(fields.count(field)) << field << " missing from\n" << Lines(one);
  }
  EXPECT_GT(one.divergence_count, 40u);
  const std::string expected = Render(one);
  for (int threads : {2, 3, 5}) {
    EXPECT_EQ(Render(RunAudit(path, &manifest_, threads)), expected) << threads << " threads";
  }
  // The same first divergences survive a cap, whatever the split.
  auto capped = [&](int threads) {
    Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path);
    AuditOptions options;
    options.manifest = &manifest_;
    options.threads = threads;
    options.max_divergences = 7;
    Result<AuditResult> r = Audit(**reader, plans_, options);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  const AuditResult few = capped(1);
  EXPECT_EQ(few.divergences.size(), 7u);
  EXPECT_EQ(few.divergence_count, one.divergence_count);
  EXPECT_EQ(Render(capped(4)), Render(few));
}

// The report's figures, recomputed from what adjudication and payout published (the decisions
// and payment topics) instead of from the replay: they must agree.
TEST_F(AuditTest, ReportAgreesWithThePublishedDecisionsAndPayments) {
  const int year = 2024;
  std::map<std::string, ev::ClaimDecided> current;  // claim -> latest decision
  std::map<std::string, int> rejected_inputs;       // input event id -> rejections
  int64_t paid = 0;
  std::map<std::string, std::string> claim_year;
  for (const Record& r : records_) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(r.envelope));
    if (e.type() == codec::kClaimDecided) {
      ev::ClaimDecided d;
      ASSERT_TRUE(d.ParseFromString(e.payload()));
      current[d.claim_id()] = d;
    } else if (e.type() == codec::kInputRejected) {
      ++rejected_inputs[e.answers_event_id()];
    } else if (e.type() == "mutualaid.events.v1.PaymentSettled") {
      ev::PaymentSettled p;
      ASSERT_TRUE(p.ParseFromString(e.payload()));
      if (current.at(p.claim_id()).incident_date().substr(0, 4) == std::to_string(year)) {
        paid += p.amount_fen();
      }
    }
  }
  int64_t enrolled = 0;
  for (const Record& r : records_) {
    ev::Envelope e;
    ASSERT_TRUE(e.ParseFromString(r.envelope));
    if (e.type() != codec::kMemberEnrolled || rejected_inputs.count(e.event_id()) > 0) continue;
    ev::MemberEnrolled m;
    ASSERT_TRUE(m.ParseFromString(e.payload()));
    enrolled += m.plan_year() == year ? 1 : 0;
  }
  std::map<std::string, int64_t> expected = {{"members/enrolled", enrolled},
                                             {"money/paid_benefit_fen+condolence", paid}};
  int64_t approved = 0, claims = 0, condolences = 0;
  for (const auto& [id, d] : current) {
    if (d.incident_date().substr(0, 4) != std::to_string(year)) continue;
    ++claims;
    ++expected["claims/" + ev::Coverage_Name(d.coverage()) + "/" + ev::Outcome_Name(d.outcome())];
    if (d.outcome() == ev::APPROVED) {
      approved += d.payable_fen();
      condolences += d.condolence_fen() > 0 ? 1 : 0;
    }
  }
  expected["money/approved_fen"] = approved;
  expected["money/condolence_count"] = condolences;

  Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path_);
  ReportOptions options;
  options.plan_year = year;
  Result<std::vector<ReportRow>> rows = BuildReport(**reader, plans_, options);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::map<std::string, int64_t> actual;
  int64_t reported_claims = 0;
  for (const ReportRow& row : *rows) {
    actual[row.section + "/" + row.key] = row.value;
    if (row.section == "claims") reported_claims += row.value;
  }
  actual["money/paid_benefit_fen+condolence"] =
      actual["money/paid_benefit_fen"] + actual["money/paid_condolence_fen"];
  EXPECT_GT(enrolled, 0);
  EXPECT_GT(approved, 0);
  EXPECT_EQ(reported_claims, claims);
  for (const auto& [key, value] : expected) EXPECT_EQ(actual[key], value) << key;
  EXPECT_EQ(actual["members/new"] + actual["members/renewal"], enrolled);
  EXPECT_GT(actual["members/renewal"], 0);
  EXPECT_GE(actual["appeals/received"], actual["appeals/closed"]);
}

TEST_F(AuditTest, DecisionUnderAnotherPlanHashIsNamed) {
  domain::Plan changed = *plans_.Find(kDefaultPlanId);
  changed.sha256 = std::string(64, 'a');
  const PlanSet other = PlanSet::Of({{changed.id, changed}}, changed.id);
  Result<std::unique_ptr<ExportReader>> reader = ExportReader::Open(path_);
  Result<AuditResult> r = Audit(**reader, other, AuditOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_GT(r->divergence_count, 0u);
  for (const Divergence& d : r->divergences) {
    if (d.field != "plan_sha256") continue;
    EXPECT_EQ(d.expected, "\"" + std::string(64, 'a') + "\"");
    return;
  }
  ADD_FAILURE() << Lines(*r);
}

}  // namespace
}  // namespace claims::audit
