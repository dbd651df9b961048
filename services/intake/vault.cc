#include "services/intake/vault.h"

#include <openssl/rand.h>

#include "libs/crypto/hmac.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/seal.h"
#include "libs/crypto/sha256.h"

namespace claims::intake {

std::string KeyVault::MemberId(const std::string& resident_id_number) {
  return crypto::MemberPseudonym(pseudonym_key_, resident_id_number);
}

Result<crypto::DataKey> KeyVault::KeyOf(const std::string& member_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<std::string>> cached = store_.Get(kMemberKeysCf, member_id);
  if (!cached.ok()) return cached.status();
  if (cached->has_value()) {
    const std::string& value = **cached;
    const size_t sep = value.find('\0');
    if (sep == std::string::npos) return DataLoss("stored key of a member is corrupt");
    return crypto::UnwrapKey(master_key_, value.substr(0, sep), value.substr(sep + 1));
  }
  unsigned char suffix[8];
  if (RAND_bytes(suffix, sizeof suffix) != 1) return Internal("no randomness for a key id");
  const std::string key_id =
      member_id + "/" + crypto::ToHex(std::string_view(reinterpret_cast<char*>(suffix), 8));
  Result<crypto::DataKey> key = crypto::GenerateDataKey(key_id);
  if (!key.ok()) return key.status();
  Result<std::string> wrapped = crypto::WrapKey(master_key_, *key, nonces_);
  if (!wrapped.ok()) return wrapped.status();
  // Durable in the key topic before anything is sealed with it: a sealed value whose key is
  // lost would be erased by accident.
  bus::OutgoingMessage record;
  record.topic = key_topic_;
  record.key = key_id;
  record.value = *wrapped;
  record.headers = {{"type", "mutualaid.keys.v1.WrappedDataKey"}, {"member-id", member_id}};
  const std::vector<bus::Delivery> delivered =
      producer_.ProduceAll({record}, std::chrono::seconds(10));
  if (!delivered[0].status.ok()) {
    return Unavailable("cannot record the member's data key: " + delivered[0].status.message());
  }
  std::string value = key_id;
  value += '\0';
  value += *wrapped;
  store::WriteBatch batch;
  batch.Put(kMemberKeysCf, member_id, value);
  if (Status s = store_.Write(batch); !s.ok()) return s;
  return key;
}

Result<mutualaid::events::v1::SealedPersonalData> KeyVault::Seal(const std::string& member_id,
                                                                 const std::string& plaintext,
                                                                 const std::string& context) {
  Result<crypto::DataKey> key = KeyOf(member_id);
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

}  // namespace claims::intake
