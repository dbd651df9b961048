#include "libs/bus/message.h"

namespace claims::bus {

const std::string* FindHeader(const Headers& headers, const std::string& key) {
  for (const Header& h : headers) {
    if (h.key == key) return &h.value;
  }
  return nullptr;
}

}  // namespace claims::bus
