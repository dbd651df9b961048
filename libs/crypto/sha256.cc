#include "libs/crypto/sha256.h"

#include <openssl/evp.h>

#include <cassert>
#include <memory>

namespace claims::crypto {

namespace {

// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up again on every digest,
// which cost more than hashing a typical 200-byte event.
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

struct ContextFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// One digest context per thread, initialised again for every digest: EVP_Digest allocates and
// frees a context each time, which cost as much as hashing a short event.
EVP_MD_CTX* ThreadContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, ContextFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = ThreadContext();
  int ok = 0;
  if (ctx != nullptr && EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr) == 1 &&
      EVP_DigestUpdate(ctx, data.data(), data.size()) == 1) {
    ok = EVP_DigestFinal_ex(ctx, out.data(), &len);
  } else {  // no context could be allocated: the one-shot call, which brings its own
    ok = EVP_Digest(data.data(), data.size(), out.data(), &len, FetchedSha256(), nullptr);
  }
  assert(ok == 1 && len == out.size());
  (void)ok;
  return out;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 0xf];
  }
  return hex;
}

std::string Sha256Hex(std::string_view data) { return ToHex(AsBytes(Sha256(data))); }

}  // namespace claims::crypto
