#pragma once

#include <string>

#include "libs/base/status.h"

namespace claims::devbroker {

// Writes `content` to `path` so that a reader sees either no file or all of it: writes a
// sibling temp file, then renames it over `path`.
Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace claims::devbroker
