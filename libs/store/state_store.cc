#include "libs/store/state_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "libs/store/fault_file_system.h"
#include "libs/store/rocks_status.h"

namespace claims::store {
namespace {

// Kafka's own limit on topic names; it also lets the length fit in one byte of the key.
constexpr size_t kMaxTopicBytes = 249;

// Offsets are stored in kOffsetsColumnFamily as
//   key:   topic length (1 byte), topic bytes, partition (4 bytes, big-endian)
//   value: next_offset (8 bytes, big-endian)
// The encoding is deterministic and fixed: changing it would strand every stored offset.
std::string EncodeOffsetKey(std::string_view topic, int32_t partition) {
  std::string key;
  key.reserve(1 + topic.size() + 4);
  key.push_back(static_cast<char>(topic.size()));
  key.append(topic);
  const auto p = static_cast<uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(p >> shift));
  return key;
}

std::string EncodeOffsetValue(int64_t next_offset) {
  std::string value;
  const auto v = static_cast<uint64_t>(next_offset);
  for (int shift = 56; shift >= 0; shift -= 8) value.push_back(static_cast<char>(v >> shift));
  return value;
}

int64_t DecodeOffsetValue(std::string_view value) {
  uint64_t v = 0;
  for (char c : value) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<int64_t>(v);
}

Status CheckOffsetKey(std::string_view topic, int32_t partition) {
  if (topic.empty() || topic.size() > kMaxTopicBytes) {
    return InvalidArgument("offset topic must be 1.." + std::to_string(kMaxTopicBytes) +
                           " bytes, got " + std::to_string(topic.size()));
  }
  if (partition < 0) {
    return InvalidArgument("offset partition must be >= 0, got " + std::to_string(partition));
  }
  return Status::Ok();
}

// The smallest key greater than every key that starts with `prefix`, or nullopt when there is
// none (an empty prefix, or one made only of 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (upper.empty()) return std::nullopt;
  upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
  return upper;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Options shared by every column family: bytewise keys, a bloom filter for point lookups, and
// the store's one block cache.
rocksdb::ColumnFamilyOptions MakeColumnFamilyOptions(const StoreOptions& options,
                                                     const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf;
  cf.comparator = rocksdb::BytewiseComparator();
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = options.write_buffer_bytes;
  return cf;
}

Status CheckColumnFamilyNames(const std::vector<std::string>& names) {
  std::map<std::string_view, int> seen;
  for (const std::string& name : names) {
    if (name.empty()) return InvalidArgument("column family name must not be empty");
    if (name == kOffsetsColumnFamily) {
      return InvalidArgument("column family '" + name + "' is reserved for input offsets");
    }
    if (++seen[name] > 1) return InvalidArgument("column family '" + name + "' listed twice");
  }
  return Status::Ok();
}

}  // namespace

void WriteBatch::Put(std::string_view cf, std::string_view key, std::string_view value) {
  ops_.push_back(Op{OpKind::kPut, std::string(cf), std::string(key), std::string(value)});
}

void WriteBatch::Append(const WriteBatch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
}

void WriteBatch::Delete(std::string_view cf, std::string_view key) {
  ops_.push_back(Op{OpKind::kDelete, std::string(cf), std::string(key), {}});
}

void WriteBatch::SetOffset(std::string_view topic, int32_t partition, int64_t next_offset) {
  ops_.push_back(Op{OpKind::kSetOffset, std::string(topic), {}, {}, partition, next_offset});
}

struct StateStore::Impl {
  std::string path;
  rocksdb::WriteOptions write_options;
  // Declared before `db`, so destroyed after it: the DB uses the env until it is deleted.
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
  // Every open column family by name, kOffsetsColumnFamily included. Fixed after Open.
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> handles;
  rocksdb::ColumnFamilyHandle* offsets = nullptr;
  // The first write RocksDB failed, returned for every later write. RocksDB keeps a failed log
  // file in use after an unsynced write failed, and writing to it again aborts the process
  // (Debian's build keeps RocksDB's assertions), so nothing more is written until reopened.
  std::atomic<bool> write_failed{false};
  std::mutex failed_mu;
  std::optional<Status> failed_write;  // under failed_mu

  Status CheckOpen() const {
    if (db == nullptr) return FailedPrecondition("store '" + path + "' is closed");
    return Status::Ok();
  }

  // The handle of a caller's column family; kOffsetsColumnFamily is not one.
  Result<rocksdb::ColumnFamilyHandle*> UserHandle(std::string_view cf) const {
    if (cf == kOffsetsColumnFamily) {
      return InvalidArgument("column family '" + std::string(cf) +
                             "' is reserved for input offsets; use SetOffset/ReadOffset");
    }
    auto it = handles.find(cf);
    if (it == handles.end()) {
      return InvalidArgument("unknown column family '" + std::string(cf) + "' in store '" + path +
                             "'; list it in StoreOptions::column_families");
    }
    return it->second;
  }

  Status Scan(std::string_view cf, std::string_view begin, std::optional<std::string> end,
              const ScanVisitor& visit) const {
    if (Status s = CheckOpen(); !s.ok()) return s;
    auto handle = UserHandle(cf);
    if (!handle.ok()) return handle.status();
    rocksdb::ReadOptions read_options;
    rocksdb::Slice upper;
    if (end.has_value()) {
      upper = ToSlice(*end);
      read_options.iterate_upper_bound = &upper;
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options, *handle));
    for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
      if (!visit(View(it->key()), View(it->value()))) break;
    }
    return FromRocks(it->status(), path);
  }
};

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StateStore::~StateStore() {
  if (impl_->db != nullptr) (void)Close();
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path,
                                                     const StoreOptions& options) {
  if (path.empty()) return InvalidArgument("store path must not be empty");
  if (Status s = CheckColumnFamilyNames(options.column_families); !s.ok()) return s;

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->write_options.sync = options.sync_writes;

  rocksdb::DBOptions db_options;
  if (options.test_disk_faults != nullptr) {
    impl->env = rocksdb::NewCompositeEnv(
        NewFaultFileSystem(rocksdb::FileSystem::Default(), options.test_disk_faults));
    db_options.env = impl->env.get();
  }
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // A torn last WAL record (a crash mid-write) drops that whole batch, never part of it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 8u << 20;
  // Writers that wait for a group commit sleep rather than spin, and one thread applies a
  // group's batches to the memtables: on a machine of two cores the spinning and the parallel
  // memtable writers cost more than they save.
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.allow_concurrent_memtable_write = false;

  // RocksDB refuses to open a store without every column family it has, so open the ones on
  // disk, the listed ones, "default" and the offsets.
  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (!listed.ok() && !listed.IsPathNotFound() && !listed.IsNotFound()) {
    return FromRocks(listed, path);
  }
  std::map<std::string, int> wanted;  // ordered, so the open order is deterministic
  for (const std::string& name : names) wanted[name];
  for (const std::string& name : options.column_families) wanted[name];
  wanted[std::string(kDefaultColumnFamily)];
  wanted[std::string(kOffsetsColumnFamily)];

  const auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions cf_options = MakeColumnFamilyOptions(options, cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& [name, unused] : wanted) descriptors.emplace_back(name, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &db);
  if (!s.ok()) return FromRocks(s, path);
  impl->db.reset(db);
  for (rocksdb::ColumnFamilyHandle* handle : handles) impl->handles[handle->GetName()] = handle;
  impl->offsets = impl->handles.at(std::string(kOffsetsColumnFamily));
  return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

Status StateStore::Close() {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  rocksdb::Status first;
  for (auto& [name, handle] : impl_->handles) {
    rocksdb::Status s = impl_->db->DestroyColumnFamilyHandle(handle);
    if (first.ok()) first = s;
  }
  impl_->handles.clear();
  impl_->offsets = nullptr;
  rocksdb::Status closed = impl_->db->Close();
  if (first.ok()) first = closed;
  impl_->db.reset();
  impl_->env.reset();
  return FromRocks(first, impl_->path);
}

Status StateStore::Write(const WriteBatch& batch, Durability durability) {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  if (batch.empty()) return Status::Ok();
  // Sized once: grown record by record, a batch of a few MB (a bulk enrollment window) was
  // copied again at every doubling, which cost as much as inserting it into the memtable.
  // Per record: a tag, a column family id and two lengths (varints, at most 5 bytes each).
  size_t bytes = 12;  // the batch header: sequence number and count
  for (const WriteBatch::Op& op : batch.ops_) bytes += 16 + op.key.size() + op.value.size();
  rocksdb::WriteBatch rocks_batch(bytes);
  for (const WriteBatch::Op& op : batch.ops_) {
    rocksdb::Status s;
    switch (op.kind) {
      case WriteBatch::OpKind::kPut: {
        auto handle = impl_->UserHandle(op.cf_or_topic);
        if (!handle.ok()) return handle.status();
        s = rocks_batch.Put(*handle, op.key, op.value);
        break;
      }
      case WriteBatch::OpKind::kDelete: {
        auto handle = impl_->UserHandle(op.cf_or_topic);
        if (!handle.ok()) return handle.status();
        s = rocks_batch.Delete(*handle, op.key);
        break;
      }
      case WriteBatch::OpKind::kSetOffset: {
        if (Status c = CheckOffsetKey(op.cf_or_topic, op.partition); !c.ok()) return c;
        if (op.offset < 0) {
          return InvalidArgument("next_offset must be >= 0, got " + std::to_string(op.offset));
        }
        s = rocks_batch.Put(impl_->offsets, EncodeOffsetKey(op.cf_or_topic, op.partition),
                            EncodeOffsetValue(op.offset));
        break;
      }
    }
    if (!s.ok()) return FromRocks(s, impl_->path);
  }
  rocksdb::WriteOptions options = impl_->write_options;
  if (durability == Durability::kNoSync) options.sync = false;
  if (Status health = WriteHealth(); !health.ok()) return health;
  Status written = FromRocks(impl_->db->Write(options, &rocks_batch), impl_->path);
  if (!written.ok()) {
    std::lock_guard<std::mutex> lock(impl_->failed_mu);
    if (!impl_->failed_write.has_value()) impl_->failed_write = written;
    impl_->write_failed.store(true, std::memory_order_release);
  }
  return written;
}

Status StateStore::WriteHealth() const {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  if (!impl_->write_failed.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard<std::mutex> lock(impl_->failed_mu);
  return *impl_->failed_write;
}

Result<std::optional<std::string>> StateStore::Get(std::string_view cf,
                                                   std::string_view key) const {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  auto handle = impl_->UserHandle(cf);
  if (!handle.ok()) return handle.status();
  rocksdb::PinnableSlice value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), *handle, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, impl_->path);
  return std::optional<std::string>(value.ToString());
}

Result<std::optional<int64_t>> StateStore::ReadOffset(std::string_view topic,
                                                      int32_t partition) const {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  if (Status s = CheckOffsetKey(topic, partition); !s.ok()) return s;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->offsets,
                                     EncodeOffsetKey(topic, partition), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return FromRocks(s, impl_->path);
  if (value.size() != 8) {
    return DataLoss("store '" + impl_->path + "': offset of " + std::string(topic) + "/" +
                    std::to_string(partition) + " is " + std::to_string(value.size()) +
                    " bytes, want 8");
  }
  return std::optional<int64_t>(DecodeOffsetValue(View(value)));
}

Status StateStore::ScanPrefix(std::string_view cf, std::string_view prefix,
                              const ScanVisitor& visit) const {
  return impl_->Scan(cf, prefix, PrefixSuccessor(prefix), visit);
}

Status StateStore::ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                             const ScanVisitor& visit) const {
  std::optional<std::string> upper;
  if (!end.empty()) upper.emplace(end);
  return impl_->Scan(cf, begin, std::move(upper), visit);
}

Status StateStore::Checkpoint(const std::string& dir) {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, impl_->path);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: flush first, so the checkpoint is table files plus a manifest.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), dir);
}

Result<StoreStats> StateStore::Stats() const {
  if (Status s = impl_->CheckOpen(); !s.ok()) return s;
  rocksdb::DB& db = *impl_->db;
  using Properties = rocksdb::DB::Properties;
  // A property RocksDB does not know (or cannot compute now) reads as 0: a figure, not an error.
  auto of = [&](rocksdb::ColumnFamilyHandle* cf, const std::string& property) -> uint64_t {
    uint64_t value = 0;
    return db.GetIntProperty(cf, property, &value) ? value : 0;
  };
  StoreStats stats;
  for (const auto& [name, handle] : impl_->handles) {
    ColumnFamilyStats cf;
    cf.name = name;
    cf.live_sst_bytes = of(handle, Properties::kLiveSstFilesSize);
    cf.sst_bytes = of(handle, Properties::kTotalSstFilesSize);
    cf.estimated_live_data_bytes = of(handle, Properties::kEstimateLiveDataSize);
    cf.memtable_bytes = of(handle, Properties::kCurSizeAllMemTables);
    cf.immutable_memtables = of(handle, Properties::kNumImmutableMemTable);
    cf.estimated_keys = of(handle, Properties::kEstimateNumKeys);
    cf.pending_compaction_bytes = of(handle, Properties::kEstimatePendingCompactionBytes);
    std::string level0;
    if (db.GetProperty(handle, Properties::kNumFilesAtLevelPrefix + "0", &level0)) {
      cf.level0_files = std::strtoull(level0.c_str(), nullptr, 10);
    }
    stats.column_families.push_back(std::move(cf));
  }
  rocksdb::ColumnFamilyHandle* any = db.DefaultColumnFamily();
  stats.block_cache_capacity_bytes = of(any, Properties::kBlockCacheCapacity);
  stats.block_cache_usage_bytes = of(any, Properties::kBlockCacheUsage);
  stats.block_cache_pinned_bytes = of(any, Properties::kBlockCachePinnedUsage);
  stats.write_stopped = of(any, Properties::kIsWriteStopped) != 0;
  stats.delayed_write_rate_bytes_per_second = of(any, Properties::kActualDelayedWriteRate);
  stats.running_compactions = of(any, Properties::kNumRunningCompactions);
  stats.running_flushes = of(any, Properties::kNumRunningFlushes);
  stats.background_errors = of(any, Properties::kBackgroundErrors);
  return stats;
}

const std::string& StateStore::path() const { return impl_->path; }

std::vector<std::string> StateStore::ColumnFamilies() const {
  std::vector<std::string> names;
  for (const auto& [name, handle] : impl_->handles) {
    if (name != kOffsetsColumnFamily) names.push_back(name);
  }
  return names;
}

}  // namespace claims::store
