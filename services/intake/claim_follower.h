#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/events/topics.h"
#include "libs/runtime/metrics.h"
#include "libs/store/state_store.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "mutualaid/intake/v1/storage.pb.h"

namespace claims::intake {

using events::kDecisionsTopic;
using events::kPaymentsTopic;

// Builds intake's read model from the log, so that every replica answers for every partner:
// from intake.events.v1 which partner enrolled which member and submitted which claim, and the
// idempotency key of every call that made an event (IntakeCall), so that a retry on another
// replica answers the same and publishes nothing; from
// adjudication.decisions.v1 each claim's current decision; from payout.payments.v1 its payments.
// It also follows the key topic keys.members.v1 (vault.h): every key record adds its key id to
// the member's entry in kMemberKeyIdsCf (what an erasure on this replica destroys, including
// keys other replicas created); every tombstone (read as an empty value: a real wrapped key is
// never empty) removes it and drops this replica's cached key if it is that one, so an erasure
// done on any replica reaches every replica's cache.
// Every replica reads the four topics in full (no consumer group), resuming from the offsets it
// stored with the model, so a restart neither skips nor double-applies anything. Applying is
// idempotent anyway: a decision applies only when its revision is newer, a payment by its id.
//
// The key topic must exist at Start (or be auto-created by the consumer's metadata request:
// intake sets allow.auto.create.topics, which the dev broker honours).
//
// Not thread-safe: one thread runs it. The store may be read concurrently.
class ClaimFollower {
 public:
  // `key_destroyed`, when set, is called with the id of every data key the key topic tombstoned,
  // once that is stored (KeyVault::Forget: no cached copy outlives an erasure).
  ClaimFollower(store::StateStore& store, bus::Consumer& consumer,
                std::function<void(const std::string& key_id)> key_destroyed = nullptr)
      : store_(store), consumer_(consumer), key_destroyed_(std::move(key_destroyed)) {}

  // Assigns every partition of the four topics from the stored offsets.
  Status Start(std::chrono::milliseconds timeout);
  // Polls until the store holds everything intake.events.v1 and the key topic held when it was
  // called (their high watermarks then), so that a replica that starts knows every call other
  // replicas answered before it serves one: a retry is then answered from the log rather than
  // published again. DEADLINE_EXCEEDED after `timeout`; the progress made is kept. Call after
  // Start, before Run.
  Status CatchUp(std::chrono::milliseconds timeout);
  // Applies what arrives within `timeout` in one store batch (with the offsets); returns how many
  // records were applied.
  Result<size_t> PollOnce(std::chrono::milliseconds timeout);
  // Polls until `stop`; errors are retried after a pause, except a fatal consumer error.
  Status Run(const std::atomic<bool>& stop);

  // Applies one record to `batch` (exposed for tests). Unparseable records are skipped and
  // counted: the read model must not stop for a record it cannot show.
  Status Apply(const bus::Message& message, store::WriteBatch& batch);

  uint64_t skipped() const { return skipped_; }
  // Counts, when set, the decisions dropped because the claim already shows that revision or a
  // newer one (a republished or redelivered decision). Not owned.
  void CountDuplicateDecisionsIn(runtime::Counter* counter) { duplicate_decisions_ = counter; }

 private:
  store::StateStore& store_;
  bus::Consumer& consumer_;
  std::function<void(const std::string& key_id)> key_destroyed_;
  std::vector<std::string> destroyed_;  // key ids tombstoned by the batch being built
  runtime::Counter* duplicate_decisions_ = nullptr;
  // Applies one record of the key topic.
  Status ApplyKey(const bus::Message& message, store::WriteBatch& batch);
  // Records the call behind an intake event as a done idempotency record, unless this replica
  // has one for the key already: a pending one for the same request becomes done; any other
  // stays. (Two replicas that took one key for two different requests within the time it takes
  // each to read the other's event both answered OK and both published; each keeps its own
  // answer. Closing that window needs one owner per key: see "Idempotency across replicas" in
  // README.md.)
  Status LearnCall(const mutualaid::events::v1::Envelope& envelope, store::WriteBatch& batch);
  // Idempotency records written by the batch being built.
  std::map<std::string, std::string> learned_;

  uint64_t skipped_ = 0;
  // Claims changed by the batch being built, so that two records of one claim in one poll see
  // each other.
  std::map<std::string, mutualaid::intake::v1::storage::ClaimRecord> pending_;
};

}  // namespace claims::intake
