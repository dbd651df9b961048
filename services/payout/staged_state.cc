#include "services/payout/staged_state.h"

namespace claims::payout {

Result<std::optional<std::string>> StagedState::Get(std::string_view cf,
                                                    std::string_view key) const {
  auto it = staged_.find(Key(std::string(cf), std::string(key)));
  if (it != staged_.end()) return it->second;
  return store_.Get(cf, key);
}

void StagedState::Put(std::string_view cf, std::string_view key, std::string value) {
  staged_[Key(std::string(cf), std::string(key))] = std::move(value);
}

void StagedState::Delete(std::string_view cf, std::string_view key) {
  staged_[Key(std::string(cf), std::string(key))] = std::nullopt;
}

Status StagedState::ScanPrefix(
    std::string_view cf, std::string_view prefix,
    const std::function<bool(const std::string& key, const std::string& value)>& visit) const {
  std::map<std::string, std::string> merged;
  Status s = store_.ScanPrefix(cf, prefix, [&](std::string_view k, std::string_view v) {
    merged.emplace(std::string(k), std::string(v));
    return true;
  });
  if (!s.ok()) return s;
  for (auto it = staged_.lower_bound(Key(std::string(cf), std::string(prefix)));
       it != staged_.end() && it->first.first == cf &&
       std::string_view(it->first.second).substr(0, prefix.size()) == prefix;
       ++it) {
    if (it->second.has_value()) {
      merged[it->first.second] = *it->second;
    } else {
      merged.erase(it->first.second);
    }
  }
  for (const auto& [k, v] : merged) {
    if (!visit(k, v)) break;
  }
  return Status::Ok();
}

void StagedState::Flush(store::WriteBatch& batch) {
  for (const auto& [key, value] : staged_) {
    if (value.has_value()) {
      batch.Put(key.first, key.second, *value);
    } else {
      batch.Delete(key.first, key.second);
    }
  }
  staged_.clear();
}

}  // namespace claims::payout
