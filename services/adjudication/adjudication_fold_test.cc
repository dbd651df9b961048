// The adjudication fold over RocksDB on disk: the silent fold (restore) leaves exactly the state
// the live fold leaves, whatever the batch sizes, and a fold opened over a store that already
// holds the partition continues from the stored member states.

#include "services/adjudication/adjudication_fold.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "libs/domain/codec/event_codec.h"
#include "services/adjudication/plans.h"
#include "tests/bench/history.h"
#include "tests/support/temp_dir.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

std::vector<bus::Message> Records(int members) {
  bench::HistoryShape shape;
  shape.members = members;
  shape.years = 2;
  shape.claims_per_thousand_member_years = 300;  // many claims, reviews and appeals
  std::vector<bus::Message> records;
  for (const domain::Input& in : bench::GenerateHistory(shape)) {
    const ev::Envelope e =
        codec::EncodeInput(in, "E" + std::to_string(records.size()), "six-guarantees-v1");
    bus::Message m;
    m.topic = kInputTopic;
    m.offset = static_cast<int64_t>(records.size());
    m.has_key = true;
    m.key = e.member_id();
    m.value = e.SerializeAsString();
    records.push_back(std::move(m));
  }
  // One record that is not an envelope at all: rejected, never fatal, in both modes.
  bus::Message junk = records.front();
  junk.offset = static_cast<int64_t>(records.size());
  junk.value = "not an envelope";
  records.push_back(junk);
  return records;
}

struct Folded {
  std::map<std::string, std::string> members;  // member id -> encoded state
  size_t outputs = 0;
};

// Folds records [from, to) in batches of `batch_records`, each batch into the store as the
// processor does, reopening the fold through the factory after every batch when `reopen`.
void FoldRange(const std::vector<bus::Message>& records, size_t from, size_t to,
               store::StateStore& store, const PlanRegistry& plans, bool silent,
               size_t batch_records, Folded& folded) {
  auto fold = AdjudicationFoldFactory(plans)(0, store);
  ASSERT_TRUE(fold.ok()) << fold.status().ToString();
  for (size_t i = from; i < to; i += batch_records) {
    store::WriteBatch batch;
    std::vector<bus::OutgoingMessage> outputs;
    const size_t end = std::min(to, i + batch_records);
    for (size_t j = i; j < end; ++j) {
      const Status s = silent ? (*fold)->ApplySilently(records[j], batch)
                              : (*fold)->Apply(records[j], batch, outputs);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE((*fold)->Finish(batch).ok());
    batch.SetOffset(kInputTopic, 0, static_cast<int64_t>(end));
    ASSERT_TRUE(
        store.Write(batch, silent ? store::Durability::kNoSync : store::Durability::kSync).ok());
    folded.outputs += outputs.size();
  }
}

Folded Read(store::StateStore& store) {
  Folded f;
  const Status s =
      store.ScanPrefix(kMembersCf, "", [&](std::string_view key, std::string_view value) {
        f.members.emplace(std::string(key), std::string(value));
        return true;
      });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return f;
}

class AdjudicationFoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto plans = PlanRegistry::Load(CLAIMS_PLANS_DIR, "six-guarantees-v1");
    ASSERT_TRUE(plans.ok()) << plans.status().ToString();
    plans_ = std::make_unique<PlanRegistry>(std::move(plans).value());
    auto dir = test_support::TempDir::Create("adjudication-fold-test");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<test_support::TempDir>(std::move(dir).value());
  }

  std::unique_ptr<store::StateStore> Open(const std::string& name) {
    store::StoreOptions options;
    options.column_families = AdjudicationColumnFamilies();
    auto store = store::StateStore::Open(dir_->File(name), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<PlanRegistry> plans_;
  std::unique_ptr<test_support::TempDir> dir_;
};

TEST_F(AdjudicationFoldTest, SilentFoldLeavesTheStateTheLiveFoldLeaves) {
  const std::vector<bus::Message> records = Records(400);
  ASSERT_GT(records.size(), 1000u);

  auto live_store = Open("live");
  Folded live;
  FoldRange(records, 0, records.size(), *live_store, *plans_, false, 97, live);
  EXPECT_GT(live.outputs, records.size() / 10);  // decisions and rejections were published

  auto silent_store = Open("silent");
  Folded silent;
  FoldRange(records, 0, records.size(), *silent_store, *plans_, true, 5000, silent);
  EXPECT_EQ(silent.outputs, 0u);

  const Folded a = Read(*live_store);
  const Folded b = Read(*silent_store);
  EXPECT_GT(a.members.size(), 300u);
  EXPECT_EQ(a.members, b.members);
}

TEST_F(AdjudicationFoldTest, AFoldOverAStoredPartitionContinuesFromTheStoredMembers) {
  const std::vector<bus::Message> records = Records(200);
  const size_t half = records.size() / 2;

  auto whole_store = Open("whole");
  Folded whole;
  FoldRange(records, 0, records.size(), *whole_store, *plans_, false, 250, whole);

  // The first half silently (a restore), then the rest live by a new fold over the same store:
  // it must read the members the first fold wrote, or its decisions and states would differ.
  auto split_store = Open("split");
  Folded first;
  FoldRange(records, 0, half, *split_store, *plans_, true, 100000, first);
  Folded second;
  FoldRange(records, half, records.size(), *split_store, *plans_, false, 250, second);

  EXPECT_EQ(Read(*whole_store).members, Read(*split_store).members);
  EXPECT_GT(second.outputs, 0u);
}

}  // namespace
}  // namespace claims::adjudication
