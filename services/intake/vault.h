#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "libs/bus/producer.h"
#include "libs/crypto/aes_gcm.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/events/topics.h"
#include "libs/store/state_store.h"
#include "services/intake/key_tombstones.h"
#include "services/intake/ports.h"

namespace claims::intake {

using events::kKeyTopic;
inline constexpr char kMemberKeysCf[] = "member_keys";  // member id -> key id \0 wrapped key
// Every key id of a member this replica knows of: the ones it created and the ones it read from
// the key topic (ClaimFollower). What an erasure destroys.
inline constexpr char kMemberKeyIdsCf[] = "member_key_ids";  // member id \0 key id -> ""

// The member id a key id belongs to: the part before the '/' ("" when there is none).
std::string MemberOfKeyId(const std::string& key_id);

// MemberVault over the real keys: pseudonyms from the pseudonym key; each member's data key
// generated on first use, wrapped by the master key, published to the compacted key topic (so
// that any service holding the master key can open the member's data, and deleting the member's
// key records erases it everywhere) and cached wrapped in intake's store.
//
// Key ids are "<member id>/<16 random hex>": two intake replicas that both create a key for one
// member create two distinct keys, both kept; each sealed value names the one that sealed it.
//
// Master-key rotation (key_wrap.h, MasterKeys): new keys are always wrapped under the current
// master key; a cached key opens under the current one, else under the previous one while a
// rotation lasts. The cache is not re-written by `claimsctl keys rewrap` (which re-wraps the key
// topic), so RewrapStoredKeys brings it under the current key at start.
// Thread-safe.
class KeyVault : public MemberVault {
 public:
  KeyVault(crypto::PseudonymKey pseudonym_key, crypto::MasterKeys master_keys,
           store::StateStore& store, bus::Producer& producer, KeyTombstoneWriter& tombstones,
           std::string key_topic = kKeyTopic)
      : pseudonym_key_(std::move(pseudonym_key)),
        master_keys_(std::move(master_keys)),
        store_(store),
        producer_(producer),
        tombstones_(tombstones),
        key_topic_(std::move(key_topic)),
        pseudonyms_(PseudonymHmac(pseudonym_key_)),
        request_macs_(RequestMacKey(pseudonym_key_)) {}

  std::string MemberId(const std::string& resident_id_number) override;
  // Under a key derived from the pseudonym key (which every replica has, and which never
  // changes), so that it is never the HMAC of anything else under the pseudonym key itself.
  std::string RequestMac(std::string_view request_bytes) override;
  Result<mutualaid::events::v1::SealedPersonalData> Seal(
      const std::string& member_id, const std::string& plaintext, const std::string& context,
      std::chrono::milliseconds timeout) override;
  Status PrepareKeys(const std::vector<std::string>& member_ids,
                     std::chrono::milliseconds timeout) override;
  // Tombstones every key id of the member in kMemberKeyIdsCf (and the cached key's), then
  // deletes the cached key and those index entries. Nothing local changes unless every
  // tombstone was acknowledged.
  Result<std::vector<std::string>> Erase(const std::string& member_id,
                                         std::chrono::milliseconds timeout) override;
  // Drops the cached copy of the key `key_id` (destroyed by another replica's erasure, which
  // ClaimFollower reads from the key topic).
  void Forget(const std::string& key_id);

  // What RewrapStoredKeys did.
  struct StoredKeys {
    size_t rewrapped = 0;   // opened only by the previous master key; now under the current one
    size_t unreadable = 0;  // opened by neither (left as they are: Seal reports DATA_LOSS)
  };
  // Re-wraps under the current master key every key in the store that only the previous master
  // key opens, so that the store no longer needs the previous key once the rotation ends. A no-op
  // without a previous key, and when run again. Call it at start, before the ClaimFollower runs:
  // a tombstone the follower applied while this ran could otherwise be undone by its write. Nothing
  // is written for a key that does not open. Errors: the store's.
  Result<StoredKeys> RewrapStoredKeys();

 private:
  Result<crypto::DataKey> KeyOf(const std::string& member_id, std::chrono::milliseconds timeout);
  // A new key for `member_id` and its record for the key topic. Under mu_.
  struct NewKey {
    crypto::DataKey key;
    std::string wrapped;          // by the master key
    bus::OutgoingMessage record;  // for the key topic
  };
  Result<NewKey> CreateKey(const std::string& member_id);
  // The cache entries of keys the key topic acknowledged. Written without fsync: the key topic
  // is what makes a key durable. A machine crash may lose an entry; ClaimFollower restores the
  // key id from the key topic (so erasure still finds it), and the next Seal for the member
  // creates another key, as two replicas may. Under mu_.
  static void Remember(const std::string& member_id, const NewKey& key, store::WriteBatch& batch);

  crypto::PseudonymKey pseudonym_key_;
  crypto::MasterKeys master_keys_;
  store::StateStore& store_;
  bus::Producer& producer_;
  KeyTombstoneWriter& tombstones_;
  std::string key_topic_;
  // The pseudonym key, and the request MAC's key derived from it, set up once: a bulk
  // enrollment MACs two messages per member.
  static crypto::HmacSha256Key PseudonymHmac(const crypto::PseudonymKey& key);
  static crypto::HmacSha256Key RequestMacKey(const crypto::PseudonymKey& key);
  crypto::HmacSha256Key pseudonyms_;
  crypto::HmacSha256Key request_macs_;
  // A found key from the cache, else from the store (unwrapped and cached); null when the member
  // has none. Valid under mu_ until the next Cache. Under mu_.
  Result<const crypto::DataKey*> Find(const std::string& member_id);
  // Caches `key` as the member's; returns the cached copy. Under mu_.
  const crypto::DataKey* Cache(const std::string& member_id, crypto::DataKey key);

  // Waits under `lock` (of mu_) until no member of `members` is in creating_, but not past
  // `deadline`: false then.
  bool AwaitCreated(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& members,
                    std::chrono::steady_clock::time_point deadline);

  crypto::RandomNonceSource nonces_;
  // Guards the cache and creating_, and serializes erasure and the store writes of new keys.
  std::mutex mu_;
  // Members whose new keys a PrepareKeys is recording (it waits for the key topic without mu_,
  // so that sealing under other members' keys goes on meanwhile). A member's key is created, and
  // its keys erased, by one call at a time: the others wait on created_.
  std::set<std::string> creating_;
  std::condition_variable created_;
  // Members' current keys, unwrapped: a bulk enrollment seals right after creating the keys,
  // and every claim with health data seals again. Only looked up, never iterated; emptied when
  // it reaches kMaxCachedKeys (about 100 bytes a key).
  static constexpr size_t kMaxCachedKeys = size_t{1} << 18;
  std::unordered_map<std::string, crypto::DataKey> cache_;
};

}  // namespace claims::intake
