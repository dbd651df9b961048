#pragma once

#include <atomic>

namespace claims::store {

// TEST-ONLY. A switch that makes a store behave as if its disk were full: while on, every
// write to a file of the store fails with RocksDB's NoSpace error (what ENOSPC becomes), and
// no new file can be created. Reads are unaffected. Production code never creates one.
//
// Shared by the test and the store (StoreOptions::test_disk_faults); thread-safe.
class DiskFaults {
 public:
  void SetDiskFull(bool full) { disk_full_.store(full, std::memory_order_release); }
  bool disk_full() const { return disk_full_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> disk_full_{false};
};

}  // namespace claims::store
