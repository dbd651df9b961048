#include "libs/store/state_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "libs/store/store_test_support.h"

namespace claims::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/claims_store_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The store's data dir: a child that does not exist yet, so Open creates it.
  std::string Data() const { return path_ + "/data"; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

using test_support::BigEndian32;
using test_support::TestOptions;

std::unique_ptr<StateStore> MustOpen(const std::string& path,
                                     const StoreOptions& options = TestOptions()) {
  auto store = StateStore::Open(path, options);
  if (!store.ok()) {
    ADD_FAILURE() << "Open(" << path << "): " << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

std::optional<std::string> MustGet(const StateStore& store, std::string_view cf,
                                   std::string_view key) {
  auto value = store.Get(cf, key);
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() ? *value : std::nullopt;
}

std::optional<int64_t> MustReadOffset(const StateStore& store, std::string_view topic,
                                      int32_t partition) {
  auto offset = store.ReadOffset(topic, partition);
  EXPECT_TRUE(offset.ok()) << offset.status().ToString();
  return offset.ok() ? *offset : std::nullopt;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs MustScanPrefix(const StateStore& store, std::string_view cf, std::string_view prefix) {
  Pairs seen;
  Status s = store.ScanPrefix(cf, prefix, [&](std::string_view k, std::string_view v) {
    seen.emplace_back(k, v);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return seen;
}

void Overwrite(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << file;
}

fs::path FindFile(const std::string& dir, std::string_view prefix, std::string_view suffix) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(suffix)) return entry.path();
  }
  return {};
}

// A running store_test_child (see store_test_child.cc) and the read end of its stdout.
struct Child {
  pid_t pid = -1;
  int out = -1;
};

// Starts store_test_child MODE DIR: a separate, freshly exec'd process, sharing no RocksDB state
// with this one.
Child Spawn(const char* mode, const std::string& dir) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::string program = CLAIMS_STORE_TEST_CHILD;
  std::string mode_arg = mode;
  std::string dir_arg = dir;
  char* argv[] = {program.data(), mode_arg.data(), dir_arg.data(), nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's stdout to its end, reaps it and returns its wait status.
int Finish(Child& child, std::string* output = nullptr) {
  char buffer[512];
  for (ssize_t n; (n = read(child.out, buffer, sizeof buffer)) > 0;) {
    if (output != nullptr) output->append(buffer, n);
  }
  close(child.out);
  int wait_status = 0;
  EXPECT_EQ(waitpid(child.pid, &wait_status, 0), child.pid);
  return wait_status;
}

TEST(StateStoreTest, PutsGetsAndDeletesAcrossColumnFamilies) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);

  WriteBatch put;
  put.Put("members", "m1", "alice");
  put.Put("ledger", "m1", "100 fen");
  put.Put("default", "m1", "plain");
  ASSERT_TRUE(store->Write(put).ok());
  EXPECT_EQ(MustGet(*store, "members", "m1"), "alice");
  EXPECT_EQ(MustGet(*store, "ledger", "m1"), "100 fen");
  EXPECT_EQ(MustGet(*store, "default", "m1"), "plain");
  EXPECT_EQ(MustGet(*store, "members", "m2"), std::nullopt);

  WriteBatch del;
  del.Delete("members", "m1");
  del.Delete("members", "never-written");
  ASSERT_TRUE(store->Write(del).ok());
  EXPECT_EQ(MustGet(*store, "members", "m1"), std::nullopt);
  EXPECT_EQ(MustGet(*store, "ledger", "m1"), "100 fen");
  EXPECT_EQ(MustGet(*store, "default", "m1"), "plain");

  EXPECT_EQ(store->Get("claims", "m1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get(kOffsetsColumnFamily, "m1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ColumnFamilies(), (std::vector<std::string>{"default", "ledger", "members"}));
}

TEST(StateStoreTest, WritesStateAndOffsetAtomically) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);

  WriteBatch first;
  first.Put("members", "m1", "v1");
  first.Put("ledger", "e1", "debit");
  first.SetOffset("claims.v1", 0, 1);
  ASSERT_TRUE(store->Write(first).ok());

  // One bad operation anywhere in a batch: nothing of the batch is written.
  WriteBatch unknown_cf;
  unknown_cf.Put("members", "m1", "v2");
  unknown_cf.SetOffset("claims.v1", 0, 2);
  unknown_cf.Put("no-such-family", "k", "v");
  Status s = store->Write(unknown_cf);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("no-such-family"), std::string::npos) << s.ToString();

  WriteBatch bad_offset;
  bad_offset.Put("ledger", "e2", "credit");
  bad_offset.SetOffset("claims.v1", 0, -5);
  EXPECT_EQ(store->Write(bad_offset).code(), StatusCode::kInvalidArgument);

  WriteBatch reserved;
  reserved.Put("ledger", "e3", "credit");
  reserved.Put(kOffsetsColumnFamily, "forged", "offset");
  EXPECT_EQ(store->Write(reserved).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(MustGet(*store, "members", "m1"), "v1");
  EXPECT_EQ(MustGet(*store, "ledger", "e2"), std::nullopt);
  EXPECT_EQ(MustGet(*store, "ledger", "e3"), std::nullopt);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 0), 1);
}

TEST(StateStoreTest, KeepsBatchAndOffsetAcrossReopen) {
  TempDir dir;
  {
    auto store = MustOpen(dir.Data());
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.Put("members", "m1", "alice");
    batch.Put("ledger", "e1", "debit");
    batch.Delete("ledger", "e0");
    batch.SetOffset("claims.v1", 3, 42);
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  // Column families on disk open even when the caller no longer lists them.
  StoreOptions unlisted = TestOptions();
  unlisted.column_families.clear();
  auto store = MustOpen(dir.Data(), unlisted);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, "members", "m1"), "alice");
  EXPECT_EQ(MustGet(*store, "ledger", "e1"), "debit");
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 3), 42);
}

// A writer process is killed with SIGKILL while it writes sync'd batches as fast as it can, then
// restarted from the stored offset, several times; the delays move the kill around inside a
// Write. After each kill the state and the offset must come from the same batch.
TEST(StateStoreTest, KeepsStateAndOffsetTogetherThroughKillNine) {
  TempDir dir;
  for (const int delay_us : {0, 100, 300, 700, 1500, 3000}) {
    SCOPED_TRACE("kill " + std::to_string(delay_us) + "us after the 50th acknowledged batch");
    Child writer = Spawn("write", dir.Data());
    ASSERT_GE(writer.pid, 0);
    uint32_t acked = 0;
    uint32_t next = 0;
    for (int n = 0; n < 50 && read(writer.out, &next, sizeof next) == sizeof next; ++n) {
      acked = next;
    }
    usleep(delay_us);
    kill(writer.pid, SIGKILL);
    int wait_status = 0;
    ASSERT_EQ(waitpid(writer.pid, &wait_status, 0), writer.pid);
    while (read(writer.out, &next, sizeof next) == sizeof next) acked = next;
    close(writer.out);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "writer exited with " << WEXITSTATUS(wait_status);
    ASSERT_GT(acked, 0u);

    auto store = MustOpen(dir.Data());
    ASSERT_NE(store, nullptr);
    const std::optional<int64_t> offset =
        MustReadOffset(*store, test_support::kCrashTopic, test_support::kCrashPartition);
    ASSERT_TRUE(offset.has_value());
    // Every acknowledged batch is there; at most the one in flight was also completed.
    EXPECT_GE(*offset, acked);
    EXPECT_LE(*offset, int64_t{acked} + 1);
    const Pairs members = MustScanPrefix(*store, "members", "");
    const Pairs ledger = MustScanPrefix(*store, "ledger", "");
    ASSERT_EQ(members.size(), static_cast<size_t>(*offset));
    ASSERT_EQ(ledger.size(), static_cast<size_t>(*offset));
    for (uint32_t i = 0; i < members.size(); ++i) {
      ASSERT_EQ(members[i].first, BigEndian32(i));
      ASSERT_EQ(ledger[i].first, BigEndian32(i));
    }
  }
}

TEST(StateStoreTest, TracksOffsetsPerTopicAndPartition) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 0), std::nullopt);

  WriteBatch batch;
  batch.SetOffset("claims.v1", 0, 5);
  batch.SetOffset("claims.v1", 1, 7);
  batch.SetOffset("claims.v1", 0, 6);  // later in the same batch wins
  batch.SetOffset("claims", 0, 9);
  batch.SetOffset("claims.v1.retry", 2147483647, (int64_t{1} << 40) + 3);
  ASSERT_TRUE(store->Write(batch).ok());

  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 0), 6);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 1), 7);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 2), std::nullopt);
  EXPECT_EQ(MustReadOffset(*store, "claims", 0), 9);
  EXPECT_EQ(MustReadOffset(*store, "claims", 1), std::nullopt);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1.retry", 2147483647), (int64_t{1} << 40) + 3);
  // Offsets live apart from the caller's column families.
  EXPECT_TRUE(MustScanPrefix(*store, "default", "").empty());

  EXPECT_EQ(store->ReadOffset("", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ReadOffset("claims.v1", -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ReadOffset(std::string(250, 't'), 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StateStoreTest, ScansPrefixInBytewiseOrder) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  // Big-endian ids sort numerically only if bytes compare unsigned: 0x80000000 after 0x7fffffff.
  const std::vector<uint32_t> ids = {0x80000000u, 256, 1, 0x7fffffffu, 65536, 255};
  WriteBatch batch;
  for (uint32_t id : ids) batch.Put("members", "m/" + BigEndian32(id), std::to_string(id));
  batch.Put("members", "m", "shorter than the prefix");
  batch.Put("members", "m0", "after the prefix");
  batch.Put("members", "l/zz", "before the prefix");
  batch.Put("members", std::string("\xff", 1), "ff");
  batch.Put("members", std::string("\xff\x01", 2), "ff01");
  batch.Put("members", std::string("\xff\xff", 2), "ffff");
  batch.Put("members", std::string("\xfe\xff", 2), "feff");
  ASSERT_TRUE(store->Write(batch).ok());

  Pairs seen = MustScanPrefix(*store, "members", "m/");
  std::vector<std::string> values;
  for (const auto& [key, value] : seen) values.push_back(value);
  EXPECT_EQ(values,
            (std::vector<std::string>{"1", "255", "256", "65536", "2147483647", "2147483648"}));

  seen = MustScanPrefix(*store, "members", std::string("\xff", 1));
  values.clear();
  for (const auto& [key, value] : seen) values.push_back(value);
  EXPECT_EQ(values, (std::vector<std::string>{"ff", "ff01", "ffff"}));

  EXPECT_EQ(MustScanPrefix(*store, "members", "").size(), 13u);
  EXPECT_TRUE(MustScanPrefix(*store, "ledger", "m/").empty());

  int visits = 0;
  Status stopped = store->ScanPrefix(
      "members", "m/", [&](std::string_view, std::string_view) { return ++visits < 2; });
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  EXPECT_EQ(visits, 2);
  EXPECT_EQ(store->ScanPrefix("nope", "", [](auto, auto) { return true; }).code(),
            StatusCode::kInvalidArgument);
}

TEST(StateStoreTest, ScansHalfOpenRange) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  for (uint32_t id : {1u, 2u, 3u, 4u, 5u}) batch.Put("ledger", BigEndian32(id), "");
  ASSERT_TRUE(store->Write(batch).ok());

  auto keys = [&](std::string_view begin, std::string_view end) {
    std::vector<std::string> out;
    Status s = store->ScanRange("ledger", begin, end, [&](std::string_view k, std::string_view) {
      out.emplace_back(k);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  EXPECT_EQ(keys(BigEndian32(2), BigEndian32(4)),
            (std::vector<std::string>{BigEndian32(2), BigEndian32(3)}));
  EXPECT_EQ(keys(BigEndian32(4), ""), (std::vector<std::string>{BigEndian32(4), BigEndian32(5)}));
  EXPECT_TRUE(keys(BigEndian32(4), BigEndian32(2)).empty());
}

// Verified: RocksDB reports a LOCK held by another process ("While lock file: ...: Resource
// temporarily unavailable", from fcntl) differently from one already held by this process
// ("lock hold by current process", from its own table of locked files), so both are tested.
// The other process is exec'd: a child that is only forked would inherit that table and take the
// in-process path.
TEST(StateStoreTest, ReportsDataDirLockedByAnotherProcess) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  Child contender = Spawn("open", dir.Data());
  ASSERT_GE(contender.pid, 0);
  std::string message;
  const int wait_status = Finish(contender, &message);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), static_cast<int>(StatusCode::kUnavailable)) << message;
  EXPECT_NE(message.find("locked by another process"), std::string::npos) << message;
  EXPECT_NE(message.find(dir.Data()), std::string::npos) << message;
  EXPECT_NE(message.find("Resource temporarily unavailable"), std::string::npos) << message;

  // The failed open did not disturb the owner; once the owner closes, another process may open.
  WriteBatch batch;
  batch.SetOffset("claims.v1", 0, 1);
  EXPECT_TRUE(store->Write(batch).ok());
  ASSERT_TRUE(store->Close().ok());
  Child successor = Spawn("open", dir.Data());
  ASSERT_GE(successor.pid, 0);
  message.clear();
  const int successor_status = Finish(successor, &message);
  ASSERT_TRUE(WIFEXITED(successor_status));
  EXPECT_EQ(WEXITSTATUS(successor_status), static_cast<int>(StatusCode::kOk)) << message;
}

TEST(StateStoreTest, ReportsDataDirAlreadyOpenInThisProcess) {
  TempDir dir;
  auto first = MustOpen(dir.Data());
  ASSERT_NE(first, nullptr);
  auto second = StateStore::Open(dir.Data(), TestOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find("locked by another process"), std::string::npos);
  EXPECT_NE(second.status().message().find(dir.Data()), std::string::npos);

  WriteBatch batch;
  batch.Put("members", "m1", "still mine");
  EXPECT_TRUE(first->Write(batch).ok());
}

// Writes a few batches, then reopens once so recovery flushes them into a table file.
void MakeStoreWithTableFile(const std::string& path) {
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    for (uint32_t i = 0; i < 100; ++i) {
      WriteBatch batch;
      batch.Put("members", BigEndian32(i), std::string(200, 'm'));
      batch.SetOffset("claims.v1", 0, i + 1);
      ASSERT_TRUE(store->Write(batch).ok());
    }
  }
  ASSERT_NE(MustOpen(path), nullptr);
}

TEST(StateStoreTest, ReportsGarbageCurrentFileAsDataLoss) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeStoreWithTableFile(dir.Data()));
  Overwrite(fs::path(dir.Data()) / "CURRENT", "garbage");
  auto store = StateStore::Open(dir.Data(), TestOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
  EXPECT_NE(store.status().message().find(dir.Data()), std::string::npos);
}

TEST(StateStoreTest, ReportsGarbageManifestAsDataLoss) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeStoreWithTableFile(dir.Data()));
  const fs::path manifest = FindFile(dir.Data(), "MANIFEST-", "");
  ASSERT_FALSE(manifest.empty());
  Overwrite(manifest, std::string(fs::file_size(manifest), 'G'));
  auto store = StateStore::Open(dir.Data(), TestOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
  EXPECT_NE(store.status().message().find(dir.Data()), std::string::npos);
}

TEST(StateStoreTest, ReportsGarbageTableFileAsDataLoss) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeStoreWithTableFile(dir.Data()));
  const fs::path table = FindFile(dir.Data(), "", ".sst");
  ASSERT_FALSE(table.empty());
  Overwrite(table, std::string(fs::file_size(table), 'G'));  // same size, so only content lies
  auto store = StateStore::Open(dir.Data(), TestOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
  EXPECT_NE(store.status().message().find(dir.Data()), std::string::npos);
}

// TestOptions over a file system whose disk `faults` can fill.
StoreOptions WithFaults(std::shared_ptr<DiskFaults> faults) {
  StoreOptions options = TestOptions();
  options.test_disk_faults = std::move(faults);
  return options;
}

TEST(StateStoreTest, ReportsDiskFullAndKeepsPreviousState) {
  TempDir dir;
  auto faults = std::make_shared<DiskFaults>();
  const StoreOptions options = WithFaults(faults);
  {
    auto store = MustOpen(dir.Data(), options);
    ASSERT_NE(store, nullptr);
    WriteBatch before;
    before.Put("members", "m1", "before");
    before.SetOffset("claims.v1", 0, 1);
    ASSERT_TRUE(store->Write(before).ok());

    faults->SetDiskFull(true);
    WriteBatch during;
    during.Put("members", "m2", "during");
    during.SetOffset("claims.v1", 0, 2);
    Status s = store->Write(during);
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
    EXPECT_NE(s.message().find("disk is full"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find(dir.Data()), std::string::npos) << s.ToString();
    // The store stays readable, and keeps refusing writes until it is reopened.
    EXPECT_EQ(MustGet(*store, "members", "m1"), "before");
    EXPECT_EQ(MustGet(*store, "members", "m2"), std::nullopt);
    faults->SetDiskFull(false);
    EXPECT_FALSE(store->Write(during).ok());
    (void)store->Close();  // may report the write error again; the store closes either way
  }
  auto store = MustOpen(dir.Data(), options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, "members", "m1"), "before");
  EXPECT_EQ(MustGet(*store, "members", "m2"), std::nullopt);
  EXPECT_EQ(MustReadOffset(*store, "claims.v1", 0), 1);
  WriteBatch after;
  after.SetOffset("claims.v1", 0, 2);
  EXPECT_TRUE(store->Write(after).ok());
}

TEST(StateStoreTest, AfterAFailedUnsyncedWriteRefusesWritesUntilReopened) {
  TempDir dir;
  auto faults = std::make_shared<DiskFaults>();
  const StoreOptions options = WithFaults(faults);
  {
    auto store = MustOpen(dir.Data(), options);
    ASSERT_NE(store, nullptr);
    WriteBatch before;
    before.Put("members", "m1", "before");
    ASSERT_TRUE(store->Write(before, Durability::kNoSync).ok());
    faults->SetDiskFull(true);
    WriteBatch during;
    during.Put("members", "m2", "during");
    EXPECT_TRUE(store->WriteHealth().ok());
    const Status failed = store->Write(during, Durability::kNoSync);
    EXPECT_EQ(failed.code(), StatusCode::kResourceExhausted) << failed.ToString();
    EXPECT_EQ(store->WriteHealth().message(), failed.message());
    // With space again, the store still refuses (and does not abort, as RocksDB would when
    // written to again), with the first error, and keeps serving reads.
    faults->SetDiskFull(false);
    for (Durability d : {Durability::kNoSync, Durability::kSync}) {
      const Status again = store->Write(during, d);
      EXPECT_EQ(again.code(), StatusCode::kResourceExhausted) << again.ToString();
      EXPECT_EQ(again.message(), failed.message());
    }
    EXPECT_EQ(MustGet(*store, "members", "m1"), "before");
    (void)store->Close();
  }
  auto store = MustOpen(dir.Data(), options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->WriteHealth().ok());
  EXPECT_EQ(MustGet(*store, "members", "m1"), "before");
  WriteBatch after;
  after.Put("members", "m3", "after");
  EXPECT_TRUE(store->Write(after, Durability::kNoSync).ok());
  EXPECT_EQ(MustGet(*store, "members", "m3"), "after");
}

TEST(StateStoreTest, ReportsDiskFullWhenCreatingStore) {
  TempDir dir;
  StoreOptions options = TestOptions();
  options.test_disk_faults = std::make_shared<DiskFaults>();
  options.test_disk_faults->SetDiskFull(true);
  auto store = StateStore::Open(dir.Data(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kResourceExhausted) << store.status().ToString();
}

TEST(StateStoreTest, OpensCheckpointWithSameStateAndOffsets) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  WriteBatch before;
  before.Put("members", "m1", "alice");
  before.Put("ledger", "e1", "debit");
  before.SetOffset("claims.v1", 0, 10);
  ASSERT_TRUE(store->Write(before).ok());
  ASSERT_TRUE(store->Checkpoint(dir.Sub("checkpoint")).ok());

  WriteBatch after;
  after.Put("members", "m1", "changed");
  after.Put("members", "m2", "bob");
  after.SetOffset("claims.v1", 0, 11);
  ASSERT_TRUE(store->Write(after).ok());

  EXPECT_EQ(store->Checkpoint(dir.Sub("checkpoint")).code(), StatusCode::kInvalidArgument);

  auto restored = MustOpen(dir.Sub("checkpoint"));
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(MustScanPrefix(*restored, "members", ""), (Pairs{{"m1", "alice"}}));
  EXPECT_EQ(MustScanPrefix(*restored, "ledger", ""), (Pairs{{"e1", "debit"}}));
  EXPECT_EQ(MustReadOffset(*restored, "claims.v1", 0), 10);
  EXPECT_EQ(MustGet(*store, "members", "m1"), "changed");
}

TEST(StateStoreTest, RejectsReservedOrRepeatedColumnFamilyNames) {
  TempDir dir;
  for (const std::vector<std::string>& names : std::vector<std::vector<std::string>>{
           {std::string(kOffsetsColumnFamily)}, {"members", "members"}, {""}}) {
    StoreOptions options;
    options.column_families = names;
    EXPECT_EQ(StateStore::Open(dir.Data(), options).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(dir.Data()));
}

TEST(StateStoreTest, RefusesMissingStoreWhenCreateIfMissingIsFalse) {
  TempDir dir;
  StoreOptions options = TestOptions();
  options.create_if_missing = false;
  auto store = StateStore::Open(dir.Data(), options);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().ToString();
}

TEST(StateStoreTest, RefusesCallsAfterClose) {
  TempDir dir;
  auto store = MustOpen(dir.Data());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Close().ok());
  WriteBatch batch;
  batch.SetOffset("claims.v1", 0, 1);
  EXPECT_EQ(store->Write(batch).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Get("members", "m1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->ReadOffset("claims.v1", 0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Close().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace claims::store
