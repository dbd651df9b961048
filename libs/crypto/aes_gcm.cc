#include "libs/crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "libs/crypto/random.h"

namespace claims::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Status CheckSizes(std::string_view text, std::string_view aad) {
  if (text.size() > kGcmMaxInputSize || aad.size() > kGcmMaxInputSize) {
    return InvalidArgument("AES-GCM input larger than 1 GiB");
  }
  return Status::Ok();
}

// Fetched once: EVP_aes_256_gcm() makes OpenSSL 3 look the implementation up again on every
// initialisation, which cost about a third of sealing a 200-byte value.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher != nullptr ? cipher : EVP_aes_256_gcm();
}

// Starts an AES-256-GCM context with `key` and a 96-bit `nonce` and feeds it `aad`.
Result<CipherCtx> Start(bool encrypt, const KeyMaterial& key, const GcmNonce& nonce,
                        std::string_view aad) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return Internal("EVP_CIPHER_CTX_new failed");
  if (EVP_CipherInit_ex(ctx.get(), Aes256Gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceSize, nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.bytes().data(), nonce.data(),
                        encrypt ? 1 : 0) != 1) {
    return Internal("AES-256-GCM initialisation failed");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return Internal("AES-256-GCM associated data update failed");
  }
  return ctx;
}

}  // namespace

Result<GcmNonce> RandomNonceSource::Next() {
  GcmNonce nonce{};
  if (!RandomBytes(nonce).ok()) {
    return Internal("the random number generator failed to produce a nonce");
  }
  return nonce;
}

Result<GcmSealed> Aes256GcmEncrypt(const KeyMaterial& key, const GcmNonce& nonce,
                                   std::string_view plaintext, std::string_view aad) {
  if (Status s = CheckSizes(plaintext, aad); !s.ok()) return s;
  Result<CipherCtx> ctx = Start(/*encrypt=*/true, key, nonce, aad);
  if (!ctx.ok()) return ctx.status();
  GcmSealed out;
  out.ciphertext.resize(plaintext.size());
  int len = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx->get(), reinterpret_cast<unsigned char*>(out.ciphertext.data()), &len,
                        Bytes(plaintext), static_cast<int>(plaintext.size())) != 1) {
    return Internal("AES-256-GCM encryption failed");
  }
  // GCM writes nothing at finalisation; the buffer only satisfies the interface.
  unsigned char final_block[16];
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx->get(), final_block, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize, out.tag.data()) != 1) {
    return Internal("AES-256-GCM finalisation failed");
  }
  return out;
}

Result<std::string> Aes256GcmDecrypt(const KeyMaterial& key, const GcmNonce& nonce,
                                     std::string_view ciphertext, const GcmTag& tag,
                                     std::string_view aad) {
  if (Status s = CheckSizes(ciphertext, aad); !s.ok()) return s;
  Result<CipherCtx> ctx = Start(/*encrypt=*/false, key, nonce, aad);
  if (!ctx.ok()) return ctx.status();
  std::string plaintext(ciphertext.size(), '\0');
  int len = 0;
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(ctx->get(), reinterpret_cast<unsigned char*>(plaintext.data()), &len,
                        Bytes(ciphertext), static_cast<int>(ciphertext.size())) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Internal("AES-256-GCM decryption failed");
  }
  GcmTag expected = tag;
  unsigned char final_block[16];
  int final_len = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, expected.data()) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Internal("AES-256-GCM tag setup failed");
  }
  if (EVP_DecryptFinal_ex(ctx->get(), final_block, &final_len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return DataLoss("AES-256-GCM ciphertext failed authentication");
  }
  return plaintext;
}

}  // namespace claims::crypto
