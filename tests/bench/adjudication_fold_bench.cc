// The adjudication fold alone, without Kafka: how fast one partition's records fold into member
// state and RocksDB, live (decisions encoded) and silent (restore), over the same records, with
// a baseline in the same run that only parses each envelope. Broker-free, so the figures say
// what our code costs; adjudication_bench says what the whole service does on the dev broker.
//
//   adjudication_fold_bench [EVENTS [RESTORE_BATCH]]   (defaults 300,000 and 100,000: the
//   processor's max_restore_batch_records)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "libs/bus/message.h"
#include "libs/domain/codec/event_codec.h"
#include "libs/store/state_store.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/plans.h"
#include "tests/bench/history.h"
#include "tests/support/temp_dir.h"

namespace claims {
namespace {

using Clock = std::chrono::steady_clock;
namespace ev = ::mutualaid::events::v1;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "adjudication_fold_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Folds `records` in batches of `batch_records` as the processor does (Apply or ApplySilently,
// then Finish, then one store write with the offset); returns events/s.
double FoldAll(const std::vector<bus::Message>& records, const adjudication::PlanRegistry& plans,
               const std::string& dir, bool silent, size_t batch_records) {
  store::StoreOptions so;
  so.column_families = adjudication::AdjudicationColumnFamilies();
  auto store = store::StateStore::Open(dir, so);
  if (!store.ok()) Die(store.status().ToString());
  auto opened = adjudication::AdjudicationFoldFactory(plans)(0, **store);
  if (!opened.ok()) Die(opened.status().ToString());
  processor::PartitionFold& fold = **opened;
  size_t outputs = 0;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < records.size(); i += batch_records) {
    store::WriteBatch batch;
    std::vector<bus::OutgoingMessage> outs;
    const size_t end = std::min(records.size(), i + batch_records);
    for (size_t j = i; j < end; ++j) {
      const Status s =
          silent ? fold.ApplySilently(records[j], batch) : fold.Apply(records[j], batch, outs);
      if (!s.ok()) Die(s.ToString());
    }
    if (Status s = fold.Finish(batch); !s.ok()) Die(s.ToString());
    batch.SetOffset(adjudication::kInputTopic, 0, records[end - 1].offset + 1);
    const Status written =
        (*store)->Write(batch, silent ? store::Durability::kNoSync : store::Durability::kSync);
    if (!written.ok()) Die(written.ToString());
    outputs += outs.size();
  }
  const double seconds = Seconds(Clock::now() - start);
  if (!silent && outputs == 0) Die("the live fold published nothing");
  return static_cast<double>(records.size()) / seconds;
}

int Run(int argc, char** argv) {
  const size_t events = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300000;
  const size_t restore_batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
  if (restore_batch == 0) Die("RESTORE_BATCH must be positive");
  auto plans = adjudication::PlanRegistry::Load(CLAIMS_PLANS_DIR, "six-guarantees-v1");
  if (!plans.ok()) Die(plans.status().ToString());
  bench::HistoryShape shape;
  shape.years = 3;
  shape.members = static_cast<int>(static_cast<double>(events) / 3.3);
  std::vector<bus::Message> records;
  records.reserve(events);
  int64_t offset = 0;
  for (const domain::Input& in : bench::GenerateHistory(shape)) {
    if (records.size() >= events) break;
    const ev::Envelope e =
        codec::EncodeInput(in, "E" + std::to_string(offset), "six-guarantees-v1");
    bus::Message m;
    m.topic = adjudication::kInputTopic;
    m.offset = offset++;
    m.has_key = true;
    m.key = e.member_id();
    m.value = e.SerializeAsString();
    records.push_back(std::move(m));
  }
  auto dir = std::move(test_support::TempDir::Create("adjudication-fold-bench")).value();

  // Baseline: parse every envelope, nothing else.
  const Clock::time_point start = Clock::now();
  size_t parsed = 0;
  for (const bus::Message& m : records) {
    ev::Envelope e;
    parsed += e.ParseFromString(m.value) ? 1 : 0;
  }
  const double parse_rate = static_cast<double>(records.size()) / Seconds(Clock::now() - start);
  if (parsed != records.size()) Die("unparsable envelope");

  const double live = FoldAll(records, *plans, dir.path() + "/live", false, 1000);
  const double silent = FoldAll(records, *plans, dir.path() + "/silent", true, restore_batch);
  std::printf("%zu events of one partition\n", records.size());
  std::printf("%-40s %10.0f events/s  (baseline)\n", "parse envelopes only", parse_rate);
  std::printf("%-40s %10.0f events/s  ratio %.3f\n", "fold live (batches of 1,000, fsync)", live,
              live / parse_rate);
  const std::string silent_label = "fold silent (batches of " + std::to_string(restore_batch) + ")";
  std::printf("%-40s %10.0f events/s  ratio %.3f\n", silent_label.c_str(), silent,
              silent / parse_rate);
  return 0;
}

}  // namespace
}  // namespace claims

int main(int argc, char** argv) { return claims::Run(argc, argv); }
