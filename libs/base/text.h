#pragma once

#include <cstddef>
#include <string_view>

namespace claims {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// The characters (code points) of well-formed UTF-8 text.
size_t CodePointCount(std::string_view s);

// Any C0 control character (U+0000-U+001F) or DEL.
bool HasControlCharacter(std::string_view s);

}  // namespace claims
