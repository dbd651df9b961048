#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "libs/base/status.h"

// Internal to libs/store: includes RocksDB, so only this folder's .cc files may include it.

namespace claims::store {

// The only place a RocksDB status becomes ours. `dir` is the directory the operation was on
// (the data dir, or a checkpoint dir); every error message names it.
//   corruption                        -> kDataLoss
//   LOCK held (any process)           -> kUnavailable, "... is locked by another process ..."
//   no space left (ENOSPC)            -> kResourceExhausted, "... disk is full ..."
//   busy, try again, shutting down    -> kUnavailable
//   invalid argument / not found / timed out / aborted / not supported -> the matching code
//   any other I/O error and the rest  -> kInternal
Status FromRocks(const rocksdb::Status& s, std::string_view dir);

}  // namespace claims::store
