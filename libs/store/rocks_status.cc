#include "libs/store/rocks_status.h"

#include <string>

namespace claims::store {
namespace {

// RocksDB reports a held LOCK file as a plain IOError. Its posix file system words it one way
// when another process holds the lock (fcntl fails) and another when this process already
// holds it (its own table of locked files); both messages name ".../LOCK".
bool IsLockHeld(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find("While lock file") != std::string::npos ||
         text.find("lock hold by current process") != std::string::npos;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view dir) {
  if (s.ok()) return Status::Ok();
  const std::string where = "store '" + std::string(dir) + "': ";
  const std::string detail = s.ToString();
  if (s.IsCorruption()) {
    return DataLoss(where + "data is corrupted; restore from a checkpoint or rebuild: " + detail);
  }
  if (s.IsNoSpace()) {
    return ResourceExhausted(where + "the disk is full; free space, then restart: " + detail);
  }
  if (IsLockHeld(s)) {
    return Unavailable("data dir '" + std::string(dir) +
                       "' is locked by another process (or is already open in this one); "
                       "only one store may use it at a time: " +
                       detail);
  }
  if (s.IsInvalidArgument()) return InvalidArgument(where + detail);
  if (s.IsNotFound() || s.IsPathNotFound()) return NotFound(where + detail);
  if (s.IsBusy() || s.IsTryAgain() || s.IsShutdownInProgress()) {
    return Unavailable(where + detail);
  }
  if (s.IsTimedOut()) return Status(StatusCode::kDeadlineExceeded, where + detail);
  if (s.IsAborted()) return Status(StatusCode::kAborted, where + detail);
  if (s.IsNotSupported()) return FailedPrecondition(where + detail);
  return Internal(where + detail);
}

}  // namespace claims::store
