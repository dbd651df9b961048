#include "libs/crypto/keys.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "libs/crypto/random.h"

namespace claims::crypto {
namespace {

// Key files are tiny; anything longer than this is certainly not one and is not read further.
constexpr size_t kMaxKeyFileBytes = 1024;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsTrailingSpace(char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; }

// Zeroes a buffer that held key material when it goes out of scope.
template <typename Buffer>
class Cleanse {
 public:
  explicit Cleanse(Buffer& buffer) : buffer_(buffer) {}
  ~Cleanse() { OPENSSL_cleanse(buffer_.data(), buffer_.size()); }
  Cleanse(const Cleanse&) = delete;
  Cleanse& operator=(const Cleanse&) = delete;

 private:
  Buffer& buffer_;
};

}  // namespace

Result<KeyMaterial> KeyMaterial::FromBytes(std::string_view raw) {
  if (raw.size() != kKeySize) {
    return InvalidArgument("a key must be exactly 32 bytes, got " + std::to_string(raw.size()));
  }
  KeyMaterial key;
  std::memcpy(key.bytes_.data(), raw.data(), kKeySize);
  return key;
}

Result<KeyMaterial> KeyMaterial::FromFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) return NotFound("key file " + path + " does not exist");
    return FailedPrecondition("cannot read key file " + path + ": " + std::strerror(err));
  }
  std::array<char, kMaxKeyFileBytes + 1> buffer;
  Cleanse cleanse_buffer(buffer);
  const size_t size = std::fread(buffer.data(), 1, buffer.size(), file);
  const bool read_error = std::ferror(file) != 0;
  const int err = errno;
  std::fclose(file);
  if (read_error) {
    return FailedPrecondition("cannot read key file " + path + ": " + std::strerror(err));
  }
  if (size > kMaxKeyFileBytes) {
    return InvalidArgument("key file " + path +
                           " must hold 32 raw bytes or 64 hex digits; it holds more than " +
                           std::to_string(kMaxKeyFileBytes) + " bytes");
  }
  if (size == kKeySize) return FromBytes(std::string_view(buffer.data(), size));

  size_t text_size = size;
  while (text_size > 0 && IsTrailingSpace(buffer[text_size - 1])) --text_size;
  if (text_size != 2 * kKeySize) {
    return InvalidArgument("key file " + path +
                           " must hold 32 raw bytes or 64 hex digits; it holds " +
                           std::to_string(size) + " bytes");
  }
  KeyMaterial key;
  for (size_t i = 0; i < kKeySize; ++i) {
    const int hi = HexValue(buffer[2 * i]);
    const int lo = HexValue(buffer[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t position = 2 * i + (hi < 0 ? 1 : 2);
      return InvalidArgument("key file " + path +
                             " holds 64 characters, so it must be hex, but character " +
                             std::to_string(position) + " is not a hex digit");
    }
    key.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

KeyMaterial::KeyMaterial(const KeyMaterial& other) : bytes_(other.bytes_) {}

KeyMaterial& KeyMaterial::operator=(const KeyMaterial& other) {
  if (this != &other) {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = other.bytes_;
  }
  return *this;
}

KeyMaterial::~KeyMaterial() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

bool KeyMaterial::SameAs(const KeyMaterial& other) const {
  return CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), kKeySize) == 0;
}

Result<MasterKey> MasterKey::FromFile(const std::string& path) {
  Result<KeyMaterial> m = KeyMaterial::FromFile(path);
  if (!m.ok()) return m.status();
  return MasterKey(*m);
}

Result<MasterKey> MasterKey::FromBytes(std::string_view raw) {
  Result<KeyMaterial> m = KeyMaterial::FromBytes(raw);
  if (!m.ok()) return m.status();
  return MasterKey(*m);
}

Result<PseudonymKey> PseudonymKey::FromFile(const std::string& path) {
  Result<KeyMaterial> m = KeyMaterial::FromFile(path);
  if (!m.ok()) return m.status();
  return PseudonymKey(*m);
}

Result<PseudonymKey> PseudonymKey::FromBytes(std::string_view raw) {
  Result<KeyMaterial> m = KeyMaterial::FromBytes(raw);
  if (!m.ok()) return m.status();
  return PseudonymKey(*m);
}

Result<DataKey> DataKey::FromBytes(std::string key_id, std::string_view raw) {
  if (key_id.empty()) return InvalidArgument("a data key needs a non-empty key id");
  Result<KeyMaterial> m = KeyMaterial::FromBytes(raw);
  if (!m.ok()) return m.status();
  return DataKey(std::move(key_id), *m);
}

Result<DataKey> GenerateDataKey(std::string key_id) {
  if (key_id.empty()) return InvalidArgument("a data key needs a non-empty key id");
  std::array<unsigned char, kKeySize> raw;
  Cleanse cleanse_raw(raw);
  if (!RandomBytes(raw).ok()) {
    return Internal("the random number generator failed to produce a data key");
  }
  return DataKey::FromBytes(
      std::move(key_id), std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

}  // namespace claims::crypto
