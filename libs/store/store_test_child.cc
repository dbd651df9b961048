// The other process that state_store_test needs (to hold or contend for a store's lock, or to
// be killed with SIGKILL mid-write). Built only for that test; not a tool.
//
//   store_test_child open DIR
//     Tries to open the store in DIR. Writes the status message to stdout and exits with the
//     StatusCode as its exit code (0 when it opened).
//   store_test_child write DIR
//     Resumes after DIR's offset and writes CrashBatch after CrashBatch until killed. After
//     each Write returns Ok, writes that batch's next_offset to stdout (uint32_t, native order).
//     Exits 2 when opening fails, 3 when a Write fails.

#include <unistd.h>

#include <cstdint>
#include <string>

#include "libs/store/state_store.h"
#include "libs/store/store_test_support.h"

namespace claims::store::test_support {
namespace {

int Open(const std::string& dir) {
  auto store = StateStore::Open(dir, TestOptions());
  const std::string message = store.ok() ? "opened" : store.status().message();
  if (write(STDOUT_FILENO, message.data(), message.size()) < 0) return 100;
  return static_cast<int>(store.ok() ? StatusCode::kOk : store.status().code());
}

int Write(const std::string& dir) {
  auto store = StateStore::Open(dir, TestOptions());
  if (!store.ok()) return 2;
  auto offset = (*store)->ReadOffset(kCrashTopic, kCrashPartition);
  if (!offset.ok()) return 2;
  for (auto i = static_cast<uint32_t>(offset->value_or(0));; ++i) {
    if (!(*store)->Write(CrashBatch(i)).ok()) return 3;
    const uint32_t next = i + 1;
    if (write(STDOUT_FILENO, &next, sizeof next) != sizeof next) return 4;
  }
}

}  // namespace
}  // namespace claims::store::test_support

int main(int argc, char** argv) {
  if (argc != 3) return 64;
  const std::string mode = argv[1];
  if (mode == "open") return claims::store::test_support::Open(argv[2]);
  if (mode == "write") return claims::store::test_support::Write(argv[2]);
  return 64;
}
