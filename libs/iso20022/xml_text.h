#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// Internal to claims::iso20022: text as XML and the schema's text types see it.
namespace claims::iso20022::internal {

// Appends `text` with & < > " ' escaped.
void AppendEscaped(std::string& out, std::string_view text);

// Why `text` is not a valid Max<max_chars>Text value we are willing to send, or nullopt.
// Refuses empty or blank text, invalid UTF-8, control characters (C0, DEL, C1), the
// non-characters U+FFFE/U+FFFF (not XML characters) and more than `max_chars` code points.
std::optional<std::string> CheckText(std::string_view text, size_t max_chars);

}  // namespace claims::iso20022::internal
