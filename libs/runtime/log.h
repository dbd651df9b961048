#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "libs/base/status.h"

namespace claims::runtime {

// Replaces personal data in `text` by asterisks, byte for byte (the length is kept). Looks at
// maximal runs of ASCII digits, whatever surrounds them (letters, punctuation, other digits
// after an X):
//   - a resident ID number, 17 digits followed by a digit or X/x (18 characters): keeps the
//     first 4 characters: "110101199003077777" -> "1101**************";
//   - any other run of 13 or more digits (bank cards are 13-19; longer runs are masked too,
//     because they may hide one): keeps the last 4: "6222020200001234567" ->
//     "***************4567";
//   - 11 digits starting with 1 (a mobile number): keeps the first 3 and the last 4:
//     "13800138000" -> "138****8000".
// Shorter runs are kept. Digits separated by spaces or dashes are not recognised: do not log
// personal data in any form; this is the safety net, not the policy. Not an error: text that
// is not valid UTF-8 (only ASCII digits and X/x are ever replaced). Pure; thread-safe.
std::string MaskPersonalData(std::string_view text);

// `text` as a JSON string literal, with the quotes: `"`, `\` and control characters (and DEL)
// escaped, valid UTF-8 passed through unchanged, and each maximal invalid UTF-8 subsequence
// replaced by U+FFFD. Pure; thread-safe.
std::string JsonString(std::string_view text);

// True for exactly 32 lowercase hex digits, the form of the trace ids the pipeline assigns (and
// of a W3C trace-context trace-id). Such a value cannot hold a resident ID, card or mobile
// number by design, only by chance. Pure.
bool IsTraceId(std::string_view text);

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
const char* LogLevelName(LogLevel level);
// The inverse of LogLevelName ("warning" is accepted too); kInvalidArgument otherwise.
Result<LogLevel> ParseLogLevel(std::string_view name);

// One key/value of a log line. Strings become JSON strings; integers, finite doubles and bools
// become JSON numbers / booleans (a non-finite double becomes a string); a Status becomes its
// ToString(). Every value is masked (MaskPersonalData) when the line is written; an integer
// whose digits get masked is written as a string.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value);
  LogField(std::string_view key, const char* value);
  LogField(std::string_view key, const std::string& value);
  LogField(std::string_view key, bool value);
  LogField(std::string_view key, double value);
  LogField(std::string_view key, const Status& value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), text_(std::to_string(value)), kind_(kInt) {}

  const std::string& key() const { return key_; }
  // The value as text: the string itself, or the JSON literal of a number or bool.
  const std::string& text() const { return text_; }

 private:
  friend class Logger;
  enum Kind { kString, kInt, kLiteral };  // kLiteral: a double or a bool, never masked

  std::string key_;
  std::string text_;
  Kind kind_;
};

struct LoggerOptions {
  LogLevel min_level = LogLevel::kInfo;
  // Receives each complete line, '\n' included, one call per line, under the logger's lock.
  // Empty: the line goes to stderr with a single write(2) (retried only if partial).
  std::function<void(std::string_view line)> sink;
  // The clock for "ts". Empty: std::chrono::system_clock. Only logs read it.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// Writes structured log lines, one JSON object per line:
//   {"ts":"2024-05-01T08:00:00.123Z","level":"info","service":"intake","msg":"...",
//    "trace_id":"...","claim_id":"..."}
// `ts` is UTC, RFC 3339 with milliseconds. A field named "trace_id" is written right after
// "msg"; other fields follow in the order given. A field whose key is one of ts, level,
// service or msg is written as "field_<key>" so it cannot hide those. The message and every
// field value are masked with MaskPersonalData; keys are not (they are code, not data). The
// one exception is a trace_id of exactly 32 lowercase hex digits (IsTraceId: the form intake
// assigns, half of a SHA-256): its digit runs are chance, not data, and masking them would cut
// the trace a reader greps for; a trace_id of any other form is masked like every value.
//
// Thread-safe: lines from concurrent calls never interleave. Logging never fails the caller:
// a write error is dropped.
class Logger {
 public:
  explicit Logger(std::string service, LoggerOptions options = {});

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Writes one line if `level` is at least the minimum level.
  void Log(LogLevel level, std::string_view msg, std::span<const LogField> fields = {}) const;

  void Debug(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kDebug, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }
  void Info(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kInfo, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }
  void Warn(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kWarn, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }
  void Error(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kError, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }

  bool Enabled(LogLevel level) const { return level >= min_level_.load(std::memory_order_relaxed); }
  void SetMinLevel(LogLevel level) { min_level_.store(level, std::memory_order_relaxed); }

  // The line Log would write (with its '\n'), whatever the minimum level. Thread-safe.
  std::string Format(LogLevel level, std::string_view msg, std::span<const LogField> fields) const;

  const std::string& service() const { return service_; }

 private:
  const std::string service_;
  std::atomic<LogLevel> min_level_;
  const std::function<void(std::string_view)> sink_;
  const std::function<std::chrono::system_clock::time_point()> clock_;
  mutable std::mutex write_mu_;
};

}  // namespace claims::runtime
