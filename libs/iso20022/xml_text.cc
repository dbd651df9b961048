#include "libs/iso20022/xml_text.h"

#include <cstdint>

#include "libs/base/text.h"

namespace claims::iso20022::internal {

void AppendEscaped(std::string& out, std::string_view text) {
  size_t plain_from = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* entity = nullptr;
    switch (text[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&apos;";
        break;
      default:
        continue;
    }
    out.append(text.substr(plain_from, i - plain_from));
    out.append(entity);
    plain_from = i + 1;
  }
  out.append(text.substr(plain_from));
}

std::optional<std::string> CheckText(std::string_view text, size_t max_chars) {
  if (text.empty()) return "empty";
  if (!IsValidUtf8(text)) return "not valid UTF-8";
  if (HasControlCharacter(text)) return "contains a control character";
  bool blank = true;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = c;
    if (len > 1) {
      cp = c & (0xff >> (len + 1));
      for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    if (cp >= 0x80 && cp <= 0x9f) return "contains a control character";
    if (cp == 0xfffe || cp == 0xffff) return "contains a non-character (U+FFFE/U+FFFF)";
    if (cp != ' ') blank = false;
    ++chars;
    i += len;
  }
  if (blank) return "blank";
  if (chars > max_chars) {
    return "longer than " + std::to_string(max_chars) + " characters (" + std::to_string(chars) +
           ")";
  }
  return std::nullopt;
}

}  // namespace claims::iso20022::internal
