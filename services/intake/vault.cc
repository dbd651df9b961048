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

}  // namespace

std::string MemberOfKeyId(const std::string& key_id) {
  const size_t slash = key_id.find('/');
  return slash == std::string::npos ? "" : key_id.substr(0, slash);
}

std::string KeyVault::MemberId(const std::string& resident_id_number) {
  return crypto::MemberPseudonym(pseudonym_key_, resident_id_number);
}

std::string KeyVault::RequestMac(std::string_view request_bytes) {
  // The derived key: HMAC(pseudonym key, label), computed per call (cheap next to the request).
  const auto material = pseudonym_key_.material().bytes();
  const crypto::Sha256Digest key = crypto::HmacSha256(
      std::string_view(reinterpret_cast<const char*>(material.data()), material.size()),
      "mutualaid intake request mac v1");
  return std::string(crypto::AsBytes(crypto::HmacSha256(crypto::AsBytes(key), request_bytes)));
}

Result<std::optional<crypto::DataKey>> KeyVault::Find(const std::string& member_id) {
  if (auto hit = cache_.find(member_id); hit != cache_.end()) {
    return std::optional<crypto::DataKey>(hit->second);
  }
  Result<std::optional<std::string>> cached = store_.Get(kMemberKeysCf, member_id);
  if (!cached.ok()) return cached.status();
  if (!cached->has_value()) return std::optional<crypto::DataKey>();
  const std::string& value = **cached;
  const size_t sep = value.find('\0');
  if (sep == std::string::npos) return DataLoss("stored key of a member is corrupt");
  Result<crypto::DataKey> key =
      crypto::UnwrapKey(master_keys_, value.substr(0, sep), value.substr(sep + 1));
  if (!key.ok()) return key.status();
  Cache(member_id, *key);
  return std::optional<crypto::DataKey>(std::move(key).value());
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

void KeyVault::Cache(const std::string& member_id, const crypto::DataKey& key) {
  if (cache_.size() >= kMaxCachedKeys) cache_.clear();
  cache_.insert_or_assign(member_id, key);
}

Result<crypto::DataKey> KeyVault::KeyOf(const std::string& member_id,
                                        std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<crypto::DataKey>> found = Find(member_id);
  if (!found.ok()) return found.status();
  if (found->has_value()) return std::move(**found);
  if (timeout.count() <= 0) {
    return Status(StatusCode::kDeadlineExceeded, "no time left to record the member's data key");
  }
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
  if (Status s = store_.Write(batch); !s.ok()) return s;
  Cache(member_id, created->key);
  return std::move(created->key);
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
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> missing;
  for (const std::string& member_id : member_ids) {
    Result<std::optional<crypto::DataKey>> found = Find(member_id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) missing.push_back(member_id);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (missing.empty()) return Status::Ok();
  if (timeout.count() <= 0) {
    return Status(StatusCode::kDeadlineExceeded, "no time left to record the members' data keys");
  }
  std::vector<NewKey> created;
  std::vector<bus::OutgoingMessage> records;
  created.reserve(missing.size());
  records.reserve(missing.size());
  for (const std::string& member_id : missing) {
    Result<NewKey> key = CreateKey(member_id);
    if (!key.ok()) return key.status();
    records.push_back(key->record);
    created.push_back(std::move(key).value());
  }
  const std::vector<bus::Delivery> delivered = producer_.ProduceAll(records, timeout);
  store::WriteBatch batch;
  Status failed;
  for (size_t i = 0; i < created.size(); ++i) {
    if (delivered[i].status.ok()) {
      Remember(missing[i], created[i], batch);
    } else if (failed.ok()) {
      failed = Status(delivered[i].status.code() == StatusCode::kDeadlineExceeded
                          ? StatusCode::kDeadlineExceeded
                          : StatusCode::kUnavailable,
                      "cannot record the members' data keys: " + delivered[i].status.message());
    }
  }
  if (Status s = store_.Write(batch); !s.ok()) return s;
  for (size_t i = 0; i < created.size(); ++i) {
    if (delivered[i].status.ok()) Cache(missing[i], created[i].key);
  }
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
  std::lock_guard<std::mutex> lock(mu_);
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
