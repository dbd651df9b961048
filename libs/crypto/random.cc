#include "libs/crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace claims::crypto {
namespace {

class RandomBuffer {
 public:
  ~RandomBuffer() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

  Status Fill(std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      if (next_ == bytes_.size()) {
        if (RAND_bytes(bytes_.data(), static_cast<int>(bytes_.size())) != 1) {
          return Internal("the random number generator failed");
        }
        next_ = 0;
      }
      const size_t n = std::min(out.size() - done, bytes_.size() - next_);
      std::memcpy(out.data() + done, bytes_.data() + next_, n);
      OPENSSL_cleanse(bytes_.data() + next_, n);  // handed out: never handed out again
      next_ += n;
      done += n;
    }
    return Status::Ok();
  }

 private:
  std::array<uint8_t, 4096> bytes_{};
  size_t next_ = bytes_.size();
};

}  // namespace

Status RandomBytes(std::span<uint8_t> out) {
  thread_local RandomBuffer buffer;
  return buffer.Fill(out);
}

}  // namespace claims::crypto
