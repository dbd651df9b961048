#include "libs/runtime/host_port.h"

#include <charconv>

namespace claims::runtime {

std::string HostPort::ToString() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("address \"" + std::string(text) + "\": " + std::string(why) +
                           " (want host:port, [ipv6]:port or :port)");
  };
  HostPort out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty()) return bad("empty []");
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("missing :port");
    rest.remove_prefix(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing :port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    rest = text.substr(colon + 1);
  }
  if (rest.empty()) return bad("missing port");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (ec != std::errc() || end != rest.data() + rest.size()) return bad("port is not a number");
  if (port > 65535) return bad("port above 65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace claims::runtime
