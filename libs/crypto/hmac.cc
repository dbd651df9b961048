#include "libs/crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cassert>
#include <mutex>
#include <string>
#include <vector>

namespace claims::crypto {
namespace {

// OpenSSL treats a null key or data pointer as "none given"; an empty one must still be one.
constexpr unsigned char kEmpty[1] = {0};

const unsigned char* BytesOf(std::string_view s) {
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// Fetched once (a fetch looks the implementation up in OpenSSL's provider store).
EVP_MAC* FetchedHmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// `number` with a trailing lower-case 'x' as 'X' (see MemberPseudonym), MACed by `mac`.
template <typename Mac>
std::string Pseudonym(std::string_view resident_id_number, const Mac& mac) {
  std::string number(resident_id_number);
  if (!number.empty() && number.back() == 'x') number.back() = 'X';
  std::string pseudonym = ToHex(AsBytes(mac(number)));
  OPENSSL_cleanse(number.data(), number.size());
  return pseudonym;
}

}  // namespace

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  const unsigned char* ok = HMAC(EVP_sha256(), BytesOf(key), static_cast<int>(key.size()),
                                 BytesOf(data), data.size(), out.data(), &len);
  assert(ok != nullptr && len == out.size());
  (void)ok;
  return out;
}

struct HmacSha256Key::Impl {
  ~Impl() {
    for (EVP_MAC_CTX* ctx : idle) EVP_MAC_CTX_free(ctx);
    EVP_MAC_CTX_free(keyed);
    OPENSSL_cleanse(key.data(), key.size());
  }
  // A context keyed with `key`, ready for a message: an idle one, else a copy of `keyed`. Null
  // when OpenSSL cannot give one.
  EVP_MAC_CTX* Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        EVP_MAC_CTX* ctx = idle.back();
        idle.pop_back();
        return ctx;
      }
    }
    return keyed == nullptr ? nullptr : EVP_MAC_CTX_dup(keyed);
  }
  void GiveBack(EVP_MAC_CTX* ctx) {
    std::lock_guard<std::mutex> lock(mu);
    idle.push_back(ctx);
  }

  std::string key;                 // for the one-shot HmacSha256 when OpenSSL gives no context
  EVP_MAC_CTX* keyed = nullptr;    // keyed once; never used for a message itself
  std::mutex mu;                   // guards `idle`
  std::vector<EVP_MAC_CTX*> idle;  // keyed copies of `keyed`, between calls
};

HmacSha256Key::HmacSha256Key(std::string_view key) : impl_(std::make_unique<Impl>()) {
  impl_->key.assign(key);
  EVP_MAC* mac = FetchedHmac();
  EVP_MAC_CTX* ctx = mac == nullptr ? nullptr : EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx != nullptr && EVP_MAC_init(ctx, BytesOf(key), key.size(), params) == 1) {
    impl_->keyed = ctx;
  } else {
    EVP_MAC_CTX_free(ctx);
  }
}

HmacSha256Key::~HmacSha256Key() = default;
HmacSha256Key::HmacSha256Key(HmacSha256Key&&) noexcept = default;
HmacSha256Key& HmacSha256Key::operator=(HmacSha256Key&&) noexcept = default;

Sha256Digest HmacSha256Key::Mac(std::string_view data) const {
  EVP_MAC_CTX* ctx = impl_->Take();
  if (ctx == nullptr) return HmacSha256(impl_->key, data);
  Sha256Digest out{};
  size_t len = 0;
  // Initialising without a key starts a new message under the key the context holds.
  const bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
                  EVP_MAC_update(ctx, BytesOf(data), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  if (!ok) {
    EVP_MAC_CTX_free(ctx);
    return HmacSha256(impl_->key, data);
  }
  impl_->GiveBack(ctx);
  return out;
}

std::string MemberPseudonym(const PseudonymKey& key, std::string_view resident_id_number) {
  const std::span<const uint8_t, kKeySize> k = key.material().bytes();
  const std::string_view raw(reinterpret_cast<const char*>(k.data()), k.size());
  return Pseudonym(resident_id_number, [&](std::string_view n) { return HmacSha256(raw, n); });
}

std::string MemberPseudonym(const HmacSha256Key& key, std::string_view resident_id_number) {
  return Pseudonym(resident_id_number, [&](std::string_view n) { return key.Mac(n); });
}

}  // namespace claims::crypto
