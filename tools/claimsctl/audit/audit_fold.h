#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/crypto/sha256.h"
#include "libs/domain/state.h"
#include "libs/domain/types.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"
#include "tools/claimsctl/audit/wire_codec.h"

// The audit's re-fold of intake.events.v1: the same states, outputs and published bytes as
// RefoldRecord (and adjudication), but decoded from and encoded to the wire directly
// (wire_codec.h) on the common path, and with the member states in a hash table; anything the
// fast path is not sure of goes through RefoldRecord itself.
namespace claims::audit {

// Values by string key, found by view without allocating. Values never move, so pointers to
// them stay valid; iteration is in order of first use, hence deterministic. Not thread-safe.
template <typename V>
class KeyedTable {
 public:
  KeyedTable() = default;
  KeyedTable(KeyedTable&&) = default;  // a moved deque keeps its elements where they are
  KeyedTable& operator=(KeyedTable&&) = default;
  KeyedTable(const KeyedTable&) = delete;
  KeyedTable& operator=(const KeyedTable&) = delete;

  // The value of `key`, default-constructed on first use; `*created` tells whether it was.
  V& At(std::string_view key, bool* created = nullptr) {
    auto it = index_.find(key);
    if (created != nullptr) *created = it == index_.end();
    if (it != index_.end()) return it->second->second;
    auto& e = entries_.emplace_back(std::string(key), V{});
    index_.emplace(std::string_view(e.first), &e);
    return e.second;
  }
  V* Find(std::string_view key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }
  const V* Find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }
  // (key, value) pairs in order of first use.
  std::deque<std::pair<std::string, V>>& entries() { return entries_; }
  const std::deque<std::pair<std::string, V>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  // Views of the entries' keys, to the entries themselves (not their positions: a lookup then
  // goes straight to the entry, without the deque's block table in between).
  absl::flat_hash_map<std::string_view, std::pair<std::string, V>*> index_;
  std::deque<std::pair<std::string, V>> entries_;
};

// One record of intake.events.v1 as read for folding. Views point into the record and into
// this object; valid until it is read again.
struct FoldInput {
  bool fast = false;        // the envelope was read from the wire (else protobuf parses it)
  EnvelopeView envelope;    // fast: its fields, member and event id filled in as adjudication does
  std::string_view member;  // the member whose state the record folds into
  const RecordView* record = nullptr;
  std::string event_id_storage;
  std::string member_storage;
};

// What folding one input gave. Views stay valid until the next Apply with this step.
struct FoldStep {
  // The input as adjudication saw it (event id and member filled in).
  std::string_view event_id;
  std::string_view member_id;
  std::string_view payload_sha256;
  std::string_view payload;
  bool data_loss = false;  // the payload does not match payload_sha256
  std::string claim;       // the claim the input names, "" when none
  std::string plan_id;     // the plan the input names ("" for none); set when `plan` is nullptr
  const domain::Plan* plan = nullptr;  // nullptr: the named plan is not loaded; nothing changed
  domain::Output output;               // empty when nothing is published
  std::string published;               // the output's envelope bytes, "" when none
  crypto::Sha256Digest published_payload_sha256{};
  size_t published_payload_size = 0;  // its payload, the last field of `published`
  std::string_view published_member;  // the output envelope's member_id

  RefoldStep slow;  // the codec's path, when taken
};

// Not thread-safe; one per thread.
class AuditFold {
 public:
  explicit AuditFold(const PlanSet& plans) : plans_(plans) {}

  // Reads `record` (of intake.events.v1) far enough to know its member, as adjudication routes
  // it: the envelope's member id, else the record key. `record` must outlive `in`'s use.
  void Read(const RecordView& record, FoldInput& in);

  // Folds `in` into `state_of(in.member)` (created empty, with its id, on first use).
  void Apply(FoldInput& in, FoldStep& step,
             const std::function<domain::MemberState&(std::string_view member)>& state_of);

  uint64_t fast_inputs() const { return fast_inputs_; }
  uint64_t slow_inputs() const { return slow_inputs_; }

 private:
  const domain::Plan* FindPlan(std::string_view plan_id);
  void Slow(FoldInput& in, FoldStep& step,
            const std::function<domain::MemberState&(std::string_view member)>& state_of);

  const PlanSet& plans_;
  std::vector<std::pair<std::string, const domain::Plan*>> plan_cache_;
  domain::Input input_;
  std::string scratch_;
  uint64_t fast_inputs_ = 0;
  uint64_t slow_inputs_ = 0;
};

}  // namespace claims::audit
