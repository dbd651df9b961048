#include "services/intake/vault.h"

#include <algorithm>
#include <array>
#include <utility>

#include "libs/crypto/hmac.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/random.h"
#include "libs/crypto/seal.h"
#include "libs/crypto/sha256.h"

namespace claims::intake {
namespace {

std::string Join(const std::string& a, const std::string& b) {
  std::string out = a;
  out += '\0';
  out += b;
  return out;
}

std::string_view Raw(const crypto::PseudonymKey& key) {
  const auto material = key.material().bytes();
  return std::string_view(reinterpret_cast<const char*>(material.data()), material.size());
}

}  // namespace

std::string MemberOfKeyId(const std::string& key_id) {
  const size_t slash = key_id.find('/');
  return slash == std::string::npos ? "" : key_id.substr(0, slash);
}

crypto::HmacSha256Key KeyVault::PseudonymHmac(const crypto::PseudonymKey& key) {
  return crypto::HmacSha256Key(Raw(key));
}

crypto::HmacSha256Key KeyVault::RequestMacKey(const crypto::PseudonymKey& key) {
  // HMAC(pseudonym key, label): never the HMAC of anything else under the pseudonym key itself.
  const crypto::Sha256Digest derived =
      crypto::HmacSha256(Raw(key), "mutualaid intake request mac v1");
  return crypto::HmacSha256Key(crypto::AsBytes(derived));
}

std::string KeyVault::MemberId(const std::string& resident_id_number) {
  return crypto::MemberPseudonym(pseudonyms_, resident_id_number);
}

std::string KeyVault::RequestMac(std::string_view request_bytes) {
  return std::string(crypto::AsBytes(request_macs_.Mac(request_bytes)));
}

Result<const crypto::DataKey*> KeyVault::Find(const std::string& member_id) {
  if (auto hit = cache_.find(member_id); hit != cache_.end()) return &hit->second;
  Result<std::optional<std::string>> cached = store_.Get(kMemberKeysCf, member_id);
  if (!cached.ok()) return cached.status();
  if (!cached->has_value()) return static_cast<const crypto::DataKey*>(nullptr);
  const std::string& value = **cached;
  const size_t sep = value.find('\0');
  if (sep == std::string::npos) return DataLoss("stored key of a member is corrupt");
  Result<crypto::DataKey> key =
      crypto::UnwrapKey(master_keys_, value.substr(0, sep), value.substr(sep + 1));
  if (!key.ok()) return key.status();
  return Cache(member_id, std::move(key).value());
}

void KeyVault::Forget(const std::string& key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto hit = cache_.find(MemberOfKeyId(key_id));
  if (hit != cache_.end() && hit->second.key_id() == key_id) cache_.erase(hit);
}

Result<KeyVault::StoredKeys> KeyVault::RewrapStoredKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  StoredKeys out;
  if (!master_keys_.previous.has_value()) return out;
  // member id -> key id \0 wrapped key, for the keys only the previous master key opens.
  std::vector<std::pair<std::string, std::string>> rewrapped;
  Status failed;
  Status scanned =
      store_.ScanPrefix(kMemberKeysCf, "", [&](std::string_view member, std::string_view value) {
        const size_t sep = value.find('\0');
        if (sep == std::string_view::npos) return ++out.unreadable, true;
        const std::string key_id(value.substr(0, sep));
        Result<crypto::UnwrappedKey> key =
            crypto::UnwrapKeyWithEither(master_keys_, key_id, value.substr(sep + 1));
        if (!key.ok()) return ++out.unreadable, true;
        if (!key->by_previous) return true;
        Result<std::string> wrapped = crypto::WrapKey(master_keys_.current, key->key, nonces_);
        if (!wrapped.ok()) {
          failed = wrapped.status();
          return false;
        }
        rewrapped.emplace_back(std::string(member), key_id + '\0' + *wrapped);
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failed.ok()) return failed;
  constexpr size_t kPerBatch = 1000;
  for (size_t i = 0; i < rewrapped.size(); i += kPerBatch) {
    store::WriteBatch batch;
    for (size_t j = i; j < std::min(rewrapped.size(), i + kPerBatch); ++j) {
      batch.Put(kMemberKeysCf, rewrapped[j].first, rewrapped[j].second);
    }
    if (Status s = store_.Write(batch); !s.ok()) return s;
  }
  out.rewrapped = rewrapped.size();
  return out;
}

const crypto::DataKey* KeyVault::Cache(const std::string& member_id, crypto::DataKey key) {
  if (cache_.size() >= kMaxCachedKeys) cache_.clear();
  return &cache_.insert_or_assign(member_id, std::move(key)).first->second;
}

bool KeyVault::AwaitCreated(std::unique_lock<std::mutex>& lock,
                            const std::vector<std::string>& members,
                            std::chrono::steady_clock::time_point deadline) {
  return created_.wait_until(lock, deadline, [&] {
    return std::none_of(members.begin(), members.end(),
                        [&](const std::string& m) { return creating_.count(m) > 0; });
  });
}

Result<crypto::DataKey> KeyVault::KeyOf(const std::string& member_id,
                                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!AwaitCreated(lock, {member_id}, std::chrono::steady_clock::now() + timeout)) {
    return Status(StatusCode::kDeadlineExceeded, "no time left to record the member's data key");
  }
  Result<const crypto::DataKey*> found = Find(member_id);
  if (!found.ok()) return found.status();
  if (*found != nullptr) return **found;
  if (timeout.count() <= 0) {
    return Status(StatusCode::kDeadlineExceeded, "no time left to record the member's data key");
  }
  // A store that failed a write refuses every write from then on: publish no key it cannot
  // remember (the key would only be one more to erase).
  if (Status health = store_.WriteHealth(); !health.ok()) return health;
  Result<NewKey> created = CreateKey(member_id);
  if (!created.ok()) return created.status();
  // Durable in the key topic before anything is sealed with it: a sealed value whose key is
  // lost would be erased by accident.
  const std::vector<bus::Delivery> delivered = producer_.ProduceAll({created->record}, timeout);
  if (!delivered[0].status.ok()) {
    return Status(delivered[0].status.code() == StatusCode::kDeadlineExceeded
                      ? StatusCode::kDeadlineExceeded
                      : StatusCode::kUnavailable,
                  "cannot record the member's data key: " + delivered[0].status.message());
  }
  store::WriteBatch batch;
  Remember(member_id, *created, batch);
  if (Status s = store_.Write(batch, store::Durability::kNoSync); !s.ok()) return s;
  return *Cache(member_id, std::move(created->key));
}

Result<KeyVault::NewKey> KeyVault::CreateKey(const std::string& member_id) {
  std::array<uint8_t, 8> suffix;
  if (!crypto::RandomBytes(suffix).ok()) return Internal("no randomness for a key id");
  const std::string key_id =
      member_id + "/" +
      crypto::ToHex(std::string_view(reinterpret_cast<const char*>(suffix.data()), suffix.size()));
  Result<crypto::DataKey> key = crypto::GenerateDataKey(key_id);
  if (!key.ok()) return key.status();
  Result<std::string> wrapped = crypto::WrapKey(master_keys_.current, *key, nonces_);
  if (!wrapped.ok()) return wrapped.status();
  bus::OutgoingMessage record;
  record.topic = key_topic_;
  record.key = key_id;
  record.value = *wrapped;
  record.headers = {{"type", "mutualaid.keys.v1.WrappedDataKey"}, {"member-id", member_id}};
  return NewKey{std::move(key).value(), std::move(wrapped).value(), std::move(record)};
}

void KeyVault::Remember(const std::string& member_id, const NewKey& key, store::WriteBatch& batch) {
  std::string value = key.key.key_id();
  value += '\0';
  value += key.wrapped;
  batch.Put(kMemberKeysCf, member_id, value);
  batch.Put(kMemberKeyIdsCf, Join(member_id, key.key.key_id()), "");
}

Status KeyVault::PrepareKeys(const std::vector<std::string>& member_ids,
                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> wanted = member_ids;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<std::string> missing;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!AwaitCreated(lock, wanted, deadline)) {
      return Status(StatusCode::kDeadlineExceeded, "no time left to record the members' data keys");
    }
    for (const std::string& member_id : wanted) {
      Result<const crypto::DataKey*> found = Find(member_id);
      if (!found.ok()) return found.status();
      if (*found == nullptr) missing.push_back(member_id);
    }
    if (missing.empty()) return Status::Ok();
    if (timeout.count() <= 0) {
      return Status(StatusCode::kDeadlineExceeded, "no time left to record the members' data keys");
    }
    if (Status health = store_.WriteHealth(); !health.ok()) return health;  // as in KeyOf
    creating_.insert(missing.begin(), missing.end());
  }
  // The keys of `missing` are this call's alone until it takes them out of creating_.
  std::vector<NewKey> created;
  std::vector<bus::OutgoingMessage> records;
  created.reserve(missing.size());
  records.reserve(missing.size());
  Status failed;
  for (const std::string& member_id : missing) {
    Result<NewKey> key = CreateKey(member_id);
    if (!key.ok()) {
      failed = key.status();
      break;
    }
    records.push_back(std::move(key->record));
    created.push_back(std::move(key).value());
  }
  std::vector<bus::Delivery> delivered;
  if (failed.ok()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    delivered = producer_.ProduceAll(records, std::max(left, std::chrono::milliseconds(1)));
  }
  store::WriteBatch batch;
  for (size_t i = 0; i < delivered.size(); ++i) {
    if (delivered[i].status.ok()) {
      Remember(missing[i], created[i], batch);
    } else if (failed.ok()) {
      failed = Status(delivered[i].status.code() == StatusCode::kDeadlineExceeded
                          ? StatusCode::kDeadlineExceeded
                          : StatusCode::kUnavailable,
                      "cannot record the members' data keys: " + delivered[i].status.message());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Status written = store_.Write(batch, store::Durability::kNoSync);  // see Remember
    if (written.ok()) {
      for (size_t i = 0; i < delivered.size(); ++i) {
        if (delivered[i].status.ok()) Cache(missing[i], std::move(created[i].key));
      }
    }
    for (const std::string& member_id : missing) creating_.erase(member_id);
    if (!written.ok()) failed = written;
  }
  created_.notify_all();
  return failed;
}

Result<mutualaid::events::v1::SealedPersonalData> KeyVault::Seal(
    const std::string& member_id, const std::string& plaintext, const std::string& context,
    std::chrono::milliseconds timeout) {
  Result<crypto::DataKey> key = KeyOf(member_id, timeout);
  if (!key.ok()) return key.status();
  Result<crypto::Sealed> sealed = crypto::Seal(*key, plaintext, context, nonces_);
  if (!sealed.ok()) return sealed.status();
  mutualaid::events::v1::SealedPersonalData out;
  out.set_key_id(sealed->key_id);
  out.set_nonce(
      std::string(reinterpret_cast<const char*>(sealed->nonce.data()), sealed->nonce.size()));
  out.set_ciphertext(sealed->ciphertext);
  out.set_tag(std::string(reinterpret_cast<const char*>(sealed->tag.data()), sealed->tag.size()));
  return out;
}

Result<std::vector<std::string>> KeyVault::Erase(const std::string& member_id,
                                                 std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!AwaitCreated(lock, {member_id}, std::chrono::steady_clock::now() + timeout)) {
    return Status(StatusCode::kDeadlineExceeded,
                  "no time left to erase the member's keys: a key of the member is being recorded");
  }
  std::vector<std::string> key_ids;
  const std::string prefix = Join(member_id, "");
  Status scanned =
      store_.ScanPrefix(kMemberKeyIdsCf, prefix, [&](std::string_view k, std::string_view) {
        key_ids.emplace_back(k.substr(prefix.size()));
        return true;
      });
  if (!scanned.ok()) return scanned;
  Result<std::optional<std::string>> cached = store_.Get(kMemberKeysCf, member_id);
  if (!cached.ok()) return cached.status();
  if (cached->has_value()) key_ids.push_back((*cached)->substr(0, (*cached)->find('\0')));
  std::sort(key_ids.begin(), key_ids.end());
  key_ids.erase(std::unique(key_ids.begin(), key_ids.end()), key_ids.end());
  if (key_ids.empty()) return key_ids;
  if (Status s = tombstones_.Write(key_topic_, key_ids, timeout); !s.ok()) {
    if (s.code() == StatusCode::kDeadlineExceeded) return s;
    return Unavailable("cannot record the erasure of the member's keys: " + s.message());
  }
  cache_.erase(member_id);
  store::WriteBatch batch;
  batch.Delete(kMemberKeysCf, member_id);
  for (const std::string& key_id : key_ids) batch.Delete(kMemberKeyIdsCf, Join(member_id, key_id));
  if (Status s = store_.Write(batch); !s.ok()) return s;
  return key_ids;
}

}  // namespace claims::intake
