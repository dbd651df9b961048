#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libs/base/status.h"
#include "libs/store/disk_faults.h"

namespace claims::store {

// The column family that holds input offsets. Reserved: callers may not list it at Open nor
// Put/Delete in it; offsets are written only through WriteBatch::SetOffset.
inline constexpr std::string_view kOffsetsColumnFamily = "__offsets";

// The column family every store has, whether listed or not.
inline constexpr std::string_view kDefaultColumnFamily = "default";

// How a StateStore is opened. The defaults are what a service wants.
enum class Durability { kSync, kNoSync };

struct StoreOptions {
  // Column families to open, creating those that do not exist yet. "default" always exists
  // and may be omitted. Column families already in the store but not listed are opened too.
  // Names must be non-empty, distinct and not kOffsetsColumnFamily.
  std::vector<std::string> column_families;

  // Create the data dir and an empty store when there is none (the parent dir must exist).
  // When false, opening a dir without a store is kInvalidArgument.
  bool create_if_missing = true;

  // fsync the write-ahead log before Write returns. With it, a Write that returned Ok survives
  // a crash of the process or the machine. Turn off only in benchmarks: without it a machine
  // crash may lose the latest batches (each batch is still all-or-nothing).
  bool sync_writes = true;

  // LRU cache of uncompressed data blocks, shared by the store's column families.
  size_t block_cache_bytes = 32u << 20;

  // Size of one column family's memtable before it is flushed to a table file.
  size_t write_buffer_bytes = 16u << 20;

  // TEST-ONLY: when set, the store's files go through a file system that fails writes while
  // the switch is on (see disk_faults.h). Leave null in production.
  std::shared_ptr<DiskFaults> test_disk_faults;
};

// A set of state changes and the input offsets they reflect, applied by StateStore::Write all
// together or not at all. Operations apply in the order they were added (a later Put of the
// same key wins). A value type: not thread-safe; build it on one thread, then Write it.
class WriteBatch {
 public:
  // Sets `key` to `value` in column family `cf`.
  void Put(std::string_view cf, std::string_view key, std::string_view value);
  // Removes `key` from column family `cf`; removing an absent key is not an error.
  void Delete(std::string_view cf, std::string_view key);
  // Records that the state written so far reflects every record of (topic, partition) before
  // `next_offset`: after a restart, consumption resumes at `next_offset`. topic must be 1..249
  // bytes, partition and next_offset non-negative; Write checks this.
  void SetOffset(std::string_view topic, int32_t partition, int64_t next_offset);

  // Adds every operation of `other`, after those already here.
  void Append(const WriteBatch& other);

  void Clear() { ops_.clear(); }
  bool empty() const { return ops_.empty(); }
  // Number of operations added.
  size_t size() const { return ops_.size(); }

 private:
  friend class StateStore;

  enum class OpKind { kPut, kDelete, kSetOffset };
  struct Op {
    OpKind kind;
    std::string cf_or_topic;  // column family, or topic for kSetOffset
    std::string key;
    std::string value;
    int32_t partition = 0;
    int64_t offset = 0;
  };
  std::vector<Op> ops_;
};

// One column family's figures as RocksDB estimates them (StateStore::Stats).
struct ColumnFamilyStats {
  std::string name;
  uint64_t live_sst_bytes = 0;             // table files of the current version
  uint64_t sst_bytes = 0;                  // every table file, obsolete ones not yet deleted too
  uint64_t estimated_live_data_bytes = 0;  // of the data itself, after compaction
  uint64_t memtable_bytes = 0;             // the active memtable and those not yet flushed
  uint64_t immutable_memtables = 0;        // memtables waiting to be flushed
  uint64_t estimated_keys = 0;
  uint64_t pending_compaction_bytes = 0;  // what compaction must rewrite to settle the levels
  uint64_t level0_files = 0;              // too many stall writes
};

// A store's figures, sampled at one moment (each figure separately, so they need not add up).
struct StoreStats {
  std::vector<ColumnFamilyStats> column_families;  // by name, kOffsetsColumnFamily included
  // The store's one block cache, shared by its column families.
  uint64_t block_cache_capacity_bytes = 0;
  uint64_t block_cache_usage_bytes = 0;
  uint64_t block_cache_pinned_bytes = 0;
  // Write stalls: RocksDB stops writes (too many memtables or level-0 files, too much pending
  // compaction) or slows them to a rate (0 when not slowed).
  bool write_stopped = false;
  uint64_t delayed_write_rate_bytes_per_second = 0;
  uint64_t running_compactions = 0;
  uint64_t running_flushes = 0;
  uint64_t background_errors = 0;  // since the store was opened
};

// Visits one key/value pair of a scan. The views are valid only during the call. Return true
// to continue, false to stop the scan early (stopping is not an error).
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

// A service's local state on disk: named column families of bytewise-ordered keys, plus the
// input offsets that state reflects, updated together by one atomic, fsync'd batch. This is
// what makes a processor's restart exact: the state and the offset to resume from are always
// from the same batch (DESIGN.md, "Effectively once, by determinism").
//
// Thread-safety: after Open, Write, Get, ReadOffset, ScanPrefix, ScanRange and Checkpoint may
// be called concurrently from any threads. Concurrent Writes are serialized; each is atomic
// and readers see either all of a batch or none of it. Close and destruction must not overlap
// any other call. One data dir can be open by only one StateStore at a time, in this process
// or any other (RocksDB's LOCK file); a second Open gets kUnavailable.
//
// Errors: a damaged store is kDataLoss, a full disk is kResourceExhausted, a locked data dir
// is kUnavailable; each message names the directory. None of them crash the process. After a
// failed write (disk full, I/O error) the store refuses further writes until reopened; the
// state of the last successful Write is intact.
class StateStore {
 public:
  // Opens (or creates) the store in data dir `path`. `path` may also be a directory made by
  // Checkpoint; the store opened there then owns it (and diverges from the original).
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path,
                                                  const StoreOptions& options);

  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;
  // Closes the store if Close was not called, ignoring any error.
  ~StateStore();

  // Releases the data dir (and its lock). Every later call returns kFailedPrecondition.
  // Returns the first error RocksDB reports while closing; the store is closed either way.
  Status Close();

  // Applies every operation of `batch`, or none: an unknown or reserved column family or an
  // invalid offset is kInvalidArgument and nothing is written. An empty batch is Ok.
  // kSync follows StoreOptions::sync_writes; kNoSync never waits for the fsync (for batches that
  // can be recomputed, e.g. a silent fold: a machine crash may lose them, never tear them).
  // Once RocksDB failed a write (a full disk, an I/O error), every later write returns that
  // error without writing anything, until the store is reopened; reads go on.
  Status Write(const WriteBatch& batch, Durability durability = Durability::kSync);
  // OK while writes may succeed; else the error every write now returns (see Write), without
  // writing anything: for callers that must not act on what they could not record.
  Status WriteHealth() const;

  // The value of `key` in `cf`, or nullopt when absent. Unknown cf is kInvalidArgument.
  Result<std::optional<std::string>> Get(std::string_view cf, std::string_view key) const;

  // The next_offset last set for (topic, partition), or nullopt when never set.
  Result<std::optional<int64_t>> ReadOffset(std::string_view topic, int32_t partition) const;

  // Visits, in ascending bytewise (memcmp) order, the keys of `cf` that start with `prefix`
  // (every key when prefix is empty). The scan sees one consistent snapshot. If it fails
  // midway (kDataLoss), the visitor may already have seen some pairs.
  Status ScanPrefix(std::string_view cf, std::string_view prefix, const ScanVisitor& visit) const;

  // Like ScanPrefix, for the keys k with begin <= k < end; an empty `end` means no upper bound.
  Status ScanRange(std::string_view cf, std::string_view begin, std::string_view end,
                   const ScanVisitor& visit) const;

  // Writes a consistent copy of the whole store (every column family and the offsets, as of
  // one point in time) into `dir`, which must not exist yet; its parent must. Table files are
  // hard-linked when `dir` is on the same file system, so this is fast and cheap. Open(dir)
  // restores from it.
  Status Checkpoint(const std::string& dir);

  // RocksDB's figures of the store, for metrics. No I/O: in-memory counters read under
  // RocksDB's own locks, a few per column family, so a scrape may call it; a hot path should
  // not. kFailedPrecondition once closed.
  Result<StoreStats> Stats() const;

  // The data dir this store was opened on.
  const std::string& path() const;

  // Every column family open in this store, "default" included, kOffsetsColumnFamily not.
  std::vector<std::string> ColumnFamilies() const;

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace claims::store
