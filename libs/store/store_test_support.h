#pragma once

#include <cstdint>
#include <string>

#include "libs/store/state_store.h"

// Shared by state_store_test.cc and store_test_child.cc only.

namespace claims::store::test_support {

// The options every test store is opened with: two column families, small caches.
inline StoreOptions TestOptions() {
  StoreOptions options;
  options.column_families = {"members", "ledger"};
  options.block_cache_bytes = 1u << 20;
  options.write_buffer_bytes = 4u << 20;
  return options;
}

// `v` as 4 big-endian bytes, so keys sort numerically under bytewise comparison.
inline std::string BigEndian32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

// The topic and partition whose offset the crash test's writer advances.
inline constexpr char kCrashTopic[] = "claims.v1";
inline constexpr int32_t kCrashPartition = 0;

// Batch number i of the crash test: the same key in two column families, and the offset after
// it. State and offset agree iff both families hold exactly keys 0..offset-1.
inline WriteBatch CrashBatch(uint32_t i) {
  WriteBatch batch;
  batch.Put("members", BigEndian32(i), "member");
  batch.Put("ledger", BigEndian32(i), std::string(100, 'x'));
  batch.SetOffset(kCrashTopic, kCrashPartition, int64_t{i} + 1);
  return batch;
}

}  // namespace claims::store::test_support
