#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libs/base/status.h"

namespace claims::runtime {

// A listen or connect address as the flags write it.
struct HostPort {
  // A name or a literal address, without brackets ("::1", not "[::1]"). Empty means every
  // interface.
  std::string host;
  uint16_t port = 0;  // 0: let the system pick a free one (for listening)

  // "host:port", with brackets around an IPv6 literal.
  std::string ToString() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "host:port", "[v6-literal]:port" or ":port". kInvalidArgument (naming `text`) for a
// missing or non-numeric port, a port above 65535, an unclosed bracket, or an IPv6 literal
// without brackets. Pure.
Result<HostPort> ParseHostPort(std::string_view text);

}  // namespace claims::runtime
