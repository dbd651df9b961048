#pragma once

#include <optional>
#include <string>

namespace claims::test_support {

// GET over HTTP/1.0 on loopback (127.0.0.1:`port`), each socket operation bounded by 5 s. Returns
// the body of a 200 response, nullopt for anything else (no connection, another status).
std::optional<std::string> HttpGet(int port, const std::string& path_and_query);

// The first executable `name` on PATH, or nullopt.
std::optional<std::string> FindOnPath(const std::string& name);

}  // namespace claims::test_support
