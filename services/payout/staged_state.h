#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "libs/base/status.h"
#include "libs/store/state_store.h"

namespace claims::payout {

// A fold's view of its store: what the store held when the batch began, plus what the fold
// staged since. Reads see the staged changes; Flush moves them into the batch the processor
// writes with the input offset. Not thread-safe: one fold uses it.
class StagedState {
 public:
  explicit StagedState(const store::StateStore& store) : store_(store) {}

  Result<std::optional<std::string>> Get(std::string_view cf, std::string_view key) const;
  void Put(std::string_view cf, std::string_view key, std::string value);
  void Delete(std::string_view cf, std::string_view key);

  // Visits, in ascending key order, the keys of `cf` starting with `prefix`, as the store plus the
  // staged changes have them. Return false from the visitor to stop.
  Status ScanPrefix(
      std::string_view cf, std::string_view prefix,
      const std::function<bool(const std::string& key, const std::string& value)>& visit) const;

  // Adds every staged change to `batch` and forgets them (the store has them once the batch is
  // written, which the processor does before the next record is folded).
  void Flush(store::WriteBatch& batch);
  bool empty() const { return staged_.empty(); }

 private:
  using Key = std::pair<std::string, std::string>;  // (cf, key)
  const store::StateStore& store_;
  std::map<Key, std::optional<std::string>> staged_;  // nullopt: deleted
};

}  // namespace claims::payout
