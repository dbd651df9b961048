#include "libs/runtime/log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace claims::runtime {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendMasked(std::string* out, std::string_view run, size_t keep_front, size_t keep_back) {
  out->append(run.substr(0, keep_front));
  out->append(run.size() - keep_front - keep_back, '*');
  out->append(run.substr(run.size() - keep_back));
}

// Appends the JSON escape of one ASCII control character (or DEL).
void AppendControl(std::string* out, unsigned char c) {
  switch (c) {
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default: {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
    }
  }
}

// The length of the valid UTF-8 sequence starting at s[i] (2-4), or, when it is invalid, the
// negated length of its maximal invalid subpart (at least 1), per Unicode 15 §3.9 (U+FFFD
// substitution of maximal subparts).
int Utf8Sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = b(i);
  int length = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the valid range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= s.size()) return -k;
    unsigned char c = b(i + k);
    bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) return -k;
  }
  return length;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out->append("\\\"");
      ++i;
    } else if (c == '\\') {
      out->append("\\\\");
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      AppendControl(out, c);
      ++i;
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else {
      int n = Utf8Sequence(s, i);
      if (n > 0) {
        out->append(s.substr(i, n));
        i += n;
      } else {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        i += -n;
      }
    }
  }
  out->push_back('"');
}

void AppendTimestamp(std::string* out, std::chrono::system_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  int64_t ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  out->append(buf);
}

void WriteToStderr(std::string_view line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a failing stderr
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool IsReservedKey(std::string_view key) {
  return key == "ts" || key == "level" || key == "service" || key == "msg";
}

}  // namespace

std::string MaskPersonalData(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      out.push_back(text[i]);
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && IsDigit(text[end])) ++end;
    size_t digits = end - i;
    if (digits == 17 && end < text.size() && (text[end] == 'X' || text[end] == 'x')) {
      AppendMasked(&out, text.substr(i, 18), 4, 0);  // resident ID ending in X
      i = end + 1;
      continue;
    }
    std::string_view run = text.substr(i, digits);
    if (digits == 18) {
      AppendMasked(&out, run, 4, 0);  // resident ID
    } else if (digits >= 13) {
      AppendMasked(&out, run, 0, 4);  // bank card, or longer
    } else if (digits == 11 && run.front() == '1') {
      AppendMasked(&out, run, 3, 4);  // mobile number
    } else {
      out.append(run);
    }
    i = end;
  }
  return out;
}

bool IsTraceId(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

std::string JsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(&out, text);
  return out;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return InvalidArgument("unknown log level \"" + std::string(name) +
                         "\" (debug, info, warn, error)");
}

LogField::LogField(std::string_view key, std::string_view value)
    : key_(key), text_(value), kind_(kString) {}
LogField::LogField(std::string_view key, const char* value)
    : key_(key), text_(value == nullptr ? "" : value), kind_(kString) {}
LogField::LogField(std::string_view key, const std::string& value)
    : key_(key), text_(value), kind_(kString) {}
LogField::LogField(std::string_view key, bool value)
    : key_(key), text_(value ? "true" : "false"), kind_(kLiteral) {}
LogField::LogField(std::string_view key, const Status& value)
    : key_(key), text_(value.ToString()), kind_(kString) {}
LogField::LogField(std::string_view key, double value) : key_(key) {
  if (!std::isfinite(value)) {
    text_ = std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf");
    kind_ = kString;
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  text_.assign(buf, ec == std::errc() ? end : buf);
  kind_ = kLiteral;
}

Logger::Logger(std::string service, LoggerOptions options)
    : service_(std::move(service)),
      min_level_(options.min_level),
      sink_(std::move(options.sink)),
      clock_(std::move(options.clock)) {}

std::string Logger::Format(LogLevel level, std::string_view msg,
                           std::span<const LogField> fields) const {
  std::string line;
  line.reserve(96 + msg.size());
  line.append("{\"ts\":\"");
  AppendTimestamp(&line, clock_ ? clock_() : std::chrono::system_clock::now());
  line.append("\",\"level\":\"");
  line.append(LogLevelName(level));
  line.append("\",\"service\":");
  AppendJsonString(&line, service_);
  line.append(",\"msg\":");
  AppendJsonString(&line, MaskPersonalData(msg));
  auto append_field = [&](const LogField& field, std::string_view key_prefix) {
    line.push_back(',');
    AppendJsonString(&line, std::string(key_prefix) + field.key_);
    line.push_back(':');
    if (field.kind_ == LogField::kLiteral) {
      line.append(field.text_);
      return;
    }
    const bool trace = field.key_ == "trace_id" && IsTraceId(field.text_);
    std::string masked = trace ? field.text_ : MaskPersonalData(field.text_);
    if (field.kind_ == LogField::kInt && masked == field.text_) {
      line.append(masked);
    } else {
      AppendJsonString(&line, masked);
    }
  };
  for (const LogField& field : fields) {
    if (field.key_ == "trace_id") append_field(field, "");
  }
  for (const LogField& field : fields) {
    if (field.key_ == "trace_id") continue;
    append_field(field, IsReservedKey(field.key_) ? "field_" : "");
  }
  line.append("}\n");
  return line;
}

void Logger::Log(LogLevel level, std::string_view msg, std::span<const LogField> fields) const {
  if (!Enabled(level)) return;
  std::string line = Format(level, msg, fields);
  std::lock_guard<std::mutex> lock(write_mu_);
  if (sink_) {
    sink_(line);
  } else {
    WriteToStderr(line);
  }
}

}  // namespace claims::runtime
