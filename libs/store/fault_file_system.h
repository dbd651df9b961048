#pragma once

#include <rocksdb/file_system.h>

#include <memory>

#include "libs/store/disk_faults.h"

// Internal to libs/store: includes RocksDB, so only this folder's .cc files may include it.

namespace claims::store {

// TEST-ONLY. Wraps `base` so that, while `faults` says the disk is full, creating a writable
// file and appending to one fail with IOStatus::NoSpace() without writing anything, as ENOSPC
// would. Everything else goes to `base` unchanged.
std::shared_ptr<rocksdb::FileSystem> NewFaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                                                        std::shared_ptr<DiskFaults> faults);

}  // namespace claims::store
