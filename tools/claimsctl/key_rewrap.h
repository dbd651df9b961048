#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/crypto/keys.h"
#include "libs/events/topics.h"

// `claimsctl keys rewrap`: the master-key rotation of the compacted key topic keys.members.v1
// (record key: the data key's id "<member id>/<suffix>"; value: the data key wrapped by the
// master key, libs/crypto/key_wrap.h; an empty or null value: a tombstone, the key erased).
//
// The run, and why in this order:
//  1. Snapshot: the high watermark of every partition. Everything is read up to there, outside
//     any consumer group; the latest record of each key id in its partition decides: a tombstone
//     means erased (nothing to do), a wrapped key is live.
//  2. Each live key is unwrapped with the new master key (already new: skipped, so a second run,
//     or the re-run of an interrupted one, writes nothing for it), else with the old one (to
//     re-wrap), else it fails: reported by member id, nothing written for it.
//  3. The re-wrapped records are produced, same key id, same partition, same headers (acks=all,
//     idempotent producer), and every outcome is awaited; then the producer is destroyed, so no
//     record of ours can land later.
//  4. Erasure must win. An erasure (intake's tombstone) that landed after the snapshot but
//     before our record would be overtaken by it: compaction keeps the latest record, and the
//     readers (intake's and payout's followers) apply records in offset order. So each
//     partition is read again from its snapshot offset to its high watermark as it is after
//     step 3, and every key we wrote (acknowledged or not) that has a tombstone there is
//     tombstoned again: the new tombstone lands after our record, so the topic ends with it. A
//     tombstone after that re-read's watermark is after our record already.
//     Readers may see the key live for the moment between our record and the new tombstone (a
//     payout follower could open that member's payee meanwhile); the end state is erased.
// Step 1 also repairs a step 4 that did not finish: intake never reuses a key id, so a live
// record after a tombstone of the same key id can only be such an overtaken erasure, and it is
// tombstoned again (counted in erased_during_run). That evidence lasts until compaction removes
// the superseded tombstone, so an incomplete run must be re-run at once.
// Re-running is always safe: keys already under the new key are skipped, tombstones are
// idempotent.
namespace claims::ctl {

struct RewrapOptions {
  std::string bootstrap_servers;
  std::map<std::string, std::string> kafka_properties;  // TLS/SASL (bus/security.h)
  std::string topic = events::kKeyTopic;
  // Read and classify only: nothing is written; `rewrapped` counts what would be.
  bool dry_run = false;
  // For the whole run: reading, every acknowledgment, the re-read and the tombstones.
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  // Records read of the snapshot so far, of how many.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // TEST ONLY: runs after the snapshot is read and classified, before anything is written.
  std::function<void()> before_writes;
};

// A live key that does not unwrap under either master key. Names no key material.
struct RewrapFailure {
  std::string member_id;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string reason;
};

struct RewrapResult {
  uint64_t read = 0;         // records read up to the snapshot (every version, tombstones too)
  uint64_t live = 0;         // key ids whose latest record is a wrapped key
  uint64_t rewrapped = 0;    // re-wrapped and acknowledged (dry run: would be re-wrapped)
  uint64_t already_new = 0;  // already under the new master key: skipped
  // Erasures our records overtook (tombstones after the snapshot, or found in it before a live
  // record, see above), tombstoned again (dry run: would be).
  uint64_t erased_during_run = 0;
  uint64_t failed = 0;                  // open under neither key: reported, nothing written
  std::vector<RewrapFailure> failures;  // the `failed` keys, by partition and offset
  // OK when every record written was acknowledged and the erasure check (step 4) completed.
  // Otherwise UNAVAILABLE or DEADLINE_EXCEEDED saying what is missing: records not acknowledged
  // (run again), or members whose new tombstone was not acknowledged (listed in `erase_again`:
  // erase them again).
  Status incomplete;
  std::vector<std::string> erase_again;
};

// One run as described above. Errors, before anything is written: NOT_FOUND when the topic does
// not exist; UNAVAILABLE or DEADLINE_EXCEEDED when the cluster cannot be read in time. Once
// writing has begun, the result is returned and `incomplete` tells what did not finish. Keys
// that open under neither master key are not errors: they are counted and listed.
Result<RewrapResult> RewrapKeys(const crypto::MasterKey& old_key, const crypto::MasterKey& new_key,
                                const RewrapOptions& options);

}  // namespace claims::ctl
