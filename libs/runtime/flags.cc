#include "libs/runtime/flags.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <system_error>

namespace claims::runtime {
namespace {

const char* KindName(FlagKind kind) {
  switch (kind) {
    case FlagKind::kString:
      return "string";
    case FlagKind::kInt:
      return "int";
    case FlagKind::kBool:
      return "bool";
    case FlagKind::kDurationMs:
      return "duration";
  }
  return "?";
}

// The placeholder shown in Usage: --listen=STRING.
const char* KindPlaceholder(FlagKind kind) {
  switch (kind) {
    case FlagKind::kString:
      return "STRING";
    case FlagKind::kInt:
      return "INT";
    case FlagKind::kBool:
      return "BOOL";
    case FlagKind::kDurationMs:
      return "DURATION";
  }
  return "?";
}

bool ValidFlagName(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z') return false;
  if (name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> ParseDurationMs(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  std::string_view unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (number > kMax / scale) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(number * scale));
}

// Parses `text` as `kind`; on failure, the reason ("\"abc\" is not an integer").
Result<Flags::Value> ParseValue(FlagKind kind, std::string_view text) {
  switch (kind) {
    case FlagKind::kString:
      return Flags::Value(std::string(text));
    case FlagKind::kInt:
      if (std::optional<int64_t> v = ParseInt64(text)) return Flags::Value(*v);
      return InvalidArgument(Quoted(text) + " is not an integer");
    case FlagKind::kBool:
      if (std::optional<bool> v = ParseBool(text)) return Flags::Value(*v);
      return InvalidArgument(Quoted(text) + " is not a boolean (true/false, 1/0, yes/no, on/off)");
    case FlagKind::kDurationMs:
      if (std::optional<std::chrono::milliseconds> v = ParseDurationMs(text)) {
        return Flags::Value(*v);
      }
      return InvalidArgument(Quoted(text) +
                             " is not a duration (milliseconds, or a whole number with unit "
                             "ms, s, m or h)");
  }
  return Internal("unknown flag kind");
}

Flags::Value ZeroValue(FlagKind kind) {
  switch (kind) {
    case FlagKind::kString:
      return std::string();
    case FlagKind::kInt:
      return int64_t{0};
    case FlagKind::kBool:
      return false;
    case FlagKind::kDurationMs:
      return std::chrono::milliseconds(0);
  }
  return std::string();
}

Result<Flags::Value> ParseDefault(const FlagSpec& spec, std::string_view text) {
  if (text.empty()) return ZeroValue(spec.kind);
  return ParseValue(spec.kind, text);
}

std::string_view Trim(std::string_view s) {
  const char* kSpace = " \t\r\n\v\f";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

// One value from one source, before merging.
struct RawValue {
  Flags::Value value;
  FlagSource source;
};

}  // namespace

std::string FlagEnvVar(std::string_view flag_name) {
  std::string out = "CLAIMS_";
  for (char c : flag_name) {
    if (c == '-') {
      out += '_';
    } else if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else {
      out += c;
    }
  }
  return out;
}

const Flags::Entry& Flags::Find(std::string_view name, FlagKind kind) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::fprintf(stderr, "claims::runtime::Flags: flag --%.*s was never declared\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  bool kind_matches = false;
  switch (kind) {
    case FlagKind::kString:
      kind_matches = std::holds_alternative<std::string>(it->second.value);
      break;
    case FlagKind::kInt:
      kind_matches = std::holds_alternative<int64_t>(it->second.value);
      break;
    case FlagKind::kBool:
      kind_matches = std::holds_alternative<bool>(it->second.value);
      break;
    case FlagKind::kDurationMs:
      kind_matches = std::holds_alternative<std::chrono::milliseconds>(it->second.value);
      break;
  }
  if (!kind_matches) {
    std::fprintf(stderr, "claims::runtime::Flags: flag --%.*s read as %s, declared otherwise\n",
                 static_cast<int>(name.size()), name.data(), KindName(kind));
    std::abort();
  }
  return it->second;
}

const std::string& Flags::String(std::string_view name) const {
  return std::get<std::string>(Find(name, FlagKind::kString).value);
}
int64_t Flags::Int(std::string_view name) const {
  return std::get<int64_t>(Find(name, FlagKind::kInt).value);
}
bool Flags::Bool(std::string_view name) const {
  return std::get<bool>(Find(name, FlagKind::kBool).value);
}
std::chrono::milliseconds Flags::Duration(std::string_view name) const {
  return std::get<std::chrono::milliseconds>(Find(name, FlagKind::kDurationMs).value);
}
FlagSource Flags::Source(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::fprintf(stderr, "claims::runtime::Flags: flag --%.*s was never declared\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  return it->second.source;
}

FlagSet FlagSet::ForService(std::string program, std::string description) {
  FlagSet set(std::move(program), std::move(description));
  set.specs_ = {
      {std::string(kBootstrapServersFlag), "Kafka bootstrap servers: host:port[,host:port...].",
       FlagKind::kString, "localhost:9092"},
      {std::string(kListenFlag), "Where the gRPC server listens: host:port.", FlagKind::kString,
       "127.0.0.1:50051"},
      {std::string(kMetricsListenFlag),
       "Where the HTTP server for /metrics and /healthz listens: host:port.", FlagKind::kString,
       "127.0.0.1:9464"},
      {std::string(kDataDirFlag), "Directory of the service's RocksDB state.", FlagKind::kString,
       "./data"},
      {std::string(kConfigFlag),
       "A config file of `name = value` lines; command line and environment override it.",
       FlagKind::kString, ""},
      {std::string(kInsecureDevFlag),
       "Serve plaintext without authentication. For development on one machine only.",
       FlagKind::kBool, "false"},
  };
  return set;
}

const FlagSpec* FlagSet::FindSpec(std::string_view name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status FlagSet::Add(FlagSpec spec) {
  if (!ValidFlagName(spec.name)) {
    return InvalidArgument("flag name " + Quoted(spec.name) +
                           " must be lower-case letters, digits and dashes, starting with a "
                           "letter");
  }
  if (spec.name == "help" || FindSpec(spec.name) != nullptr) {
    return InvalidArgument("flag --" + spec.name + " is declared twice");
  }
  if (!spec.required) {
    Result<Flags::Value> v = ParseDefault(spec, spec.default_value);
    if (!v.ok()) {
      return InvalidArgument("default of flag --" + spec.name + ": " + v.status().message());
    }
  }
  specs_.push_back(std::move(spec));
  return Status::Ok();
}

Status FlagSet::SetDefault(std::string_view name, std::string default_value) {
  for (FlagSpec& spec : specs_) {
    if (spec.name != name) continue;
    Result<Flags::Value> v = ParseDefault(spec, default_value);
    if (!v.ok()) {
      return InvalidArgument("default of flag --" + spec.name + ": " + v.status().message());
    }
    spec.default_value = std::move(default_value);
    return Status::Ok();
  }
  return NotFound("no flag --" + std::string(name));
}

Status FlagSet::SetRequired(std::string_view name, bool required) {
  for (FlagSpec& spec : specs_) {
    if (spec.name != name) continue;
    if (!required) {
      Result<Flags::Value> v = ParseDefault(spec, spec.default_value);
      if (!v.ok()) {
        return InvalidArgument("default of flag --" + spec.name + ": " + v.status().message());
      }
    }
    spec.required = required;
    return Status::Ok();
  }
  return NotFound("no flag --" + std::string(name));
}

Result<Flags> FlagSet::Parse(const std::vector<std::string>& args, const EnvLookup& env) const {
  Flags flags;

  // --help wins over everything else, so a broken command line can still ask for help.
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      flags.help_requested_ = true;
      for (const FlagSpec& spec : specs_) {
        Result<Flags::Value> v = ParseDefault(spec, spec.required ? "" : spec.default_value);
        flags.entries_[spec.name] = {v.ok() ? *v : ZeroValue(spec.kind), FlagSource::kDefault};
      }
      return flags;
    }
  }

  // 1. The command line.
  std::map<std::string, Flags::Value, std::less<>> from_command_line;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      std::string message = "unexpected argument " + Quoted(arg);
      if (i > 0) {
        std::string_view previous = args[i - 1];
        const FlagSpec* spec = previous.size() > 2 && previous.substr(0, 2) == "--" &&
                                       previous.find('=') == std::string_view::npos
                                   ? FindSpec(previous.substr(2))
                                   : nullptr;
        if (spec != nullptr && spec->kind == FlagKind::kBool) {
          message += "; a boolean flag takes a value only as --" + spec->name + "=" + arg;
        }
      }
      return InvalidArgument(message);
    }
    std::string_view body = std::string_view(arg).substr(2);
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    const FlagSpec* spec = FindSpec(name);
    if (spec == nullptr) return InvalidArgument("unknown flag --" + std::string(name));
    std::string text;
    if (eq != std::string_view::npos) {
      text = std::string(body.substr(eq + 1));
    } else if (spec->kind == FlagKind::kBool) {
      text = "true";
    } else if (i + 1 < args.size() && args[i + 1].compare(0, 2, "--") != 0) {
      text = args[++i];
    } else {
      return InvalidArgument("flag --" + spec->name + " needs a value");
    }
    Result<Flags::Value> v = ParseValue(spec->kind, text);
    if (!v.ok()) return InvalidArgument("flag --" + spec->name + ": " + v.status().message());
    from_command_line[spec->name] = *std::move(v);
  }

  // 2. The environment.
  std::map<std::string, Flags::Value, std::less<>> from_env;
  for (const FlagSpec& spec : specs_) {
    std::string var = FlagEnvVar(spec.name);
    std::optional<std::string> text = env ? env(var) : std::nullopt;
    if (!text.has_value() || text->empty()) continue;
    Result<Flags::Value> v = ParseValue(spec.kind, *text);
    if (!v.ok()) {
      return InvalidArgument("environment variable " + var + ": " + v.status().message());
    }
    from_env[spec.name] = *std::move(v);
  }

  // 3. The config file, named on the command line or in the environment (not in itself).
  std::string config_path;
  if (auto it = from_command_line.find(kConfigFlag); it != from_command_line.end()) {
    config_path = std::get<std::string>(it->second);
  } else if (auto it = from_env.find(kConfigFlag); it != from_env.end()) {
    config_path = std::get<std::string>(it->second);
  }
  std::map<std::string, Flags::Value, std::less<>> from_file;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) {
      int error = errno;
      std::string message = "cannot read config file " + config_path + ": " + std::strerror(error);
      if (error == ENOENT) return NotFound(message);
      return Unavailable(message);
    }
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      std::string where = config_path + ":" + std::to_string(line_number) + ": ";
      std::string_view trimmed = Trim(line);
      if (trimmed.empty() || trimmed.front() == '#') continue;
      size_t eq = trimmed.find('=');
      if (eq == std::string_view::npos) {
        return InvalidArgument(where + "expected `name = value`, got " + Quoted(trimmed));
      }
      std::string_view name = Trim(trimmed.substr(0, eq));
      std::string_view text = Trim(trimmed.substr(eq + 1));
      const FlagSpec* spec = FindSpec(name);
      if (spec == nullptr) return InvalidArgument(where + "unknown key " + Quoted(name));
      if (spec->name == kConfigFlag) {
        return InvalidArgument(where + "a config file cannot name another config file");
      }
      if (from_file.count(spec->name) > 0) {
        return InvalidArgument(where + "key " + Quoted(name) + " is set twice");
      }
      Result<Flags::Value> v = ParseValue(spec->kind, text);
      if (!v.ok()) {
        return InvalidArgument(where + "key " + Quoted(name) + ": " + v.status().message());
      }
      from_file[spec->name] = *std::move(v);
    }
    if (in.bad()) {
      return Unavailable("cannot read config file " + config_path + ": " + std::strerror(errno));
    }
  }

  // 4. Merge, highest precedence first; then the defaults and the required check.
  for (const FlagSpec& spec : specs_) {
    Flags::Entry entry;
    if (auto it = from_command_line.find(spec.name); it != from_command_line.end()) {
      entry = {it->second, FlagSource::kCommandLine};
    } else if (auto it = from_env.find(spec.name); it != from_env.end()) {
      entry = {it->second, FlagSource::kEnvironment};
    } else if (auto it = from_file.find(spec.name); it != from_file.end()) {
      entry = {it->second, FlagSource::kConfigFile};
    } else if (spec.required) {
      return InvalidArgument("missing required flag --" + spec.name + " (or " +
                             FlagEnvVar(spec.name) + ", or `" + spec.name +
                             " = ...` in the config file)");
    } else {
      Result<Flags::Value> v = ParseDefault(spec, spec.default_value);
      if (!v.ok()) return Internal("default of flag --" + spec.name + ": " + v.status().message());
      entry = {*std::move(v), FlagSource::kDefault};
    }
    flags.entries_[spec.name] = std::move(entry);
  }
  return flags;
}

Result<Flags> FlagSet::ParseCommandLine(int argc, const char* const* argv) const {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args, [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

std::string FlagSet::Usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [flags]\n";
  if (!description_.empty()) out << "\n" << description_ << "\n";
  out << "\nFlags:\n";
  for (const FlagSpec& spec : specs_) {
    out << "  --" << spec.name;
    if (spec.kind != FlagKind::kBool) out << "=" << KindPlaceholder(spec.kind);
    out << "  (env " << FlagEnvVar(spec.name) << "; ";
    if (spec.required) {
      out << "required";
    } else if (spec.default_value.empty()) {
      out << "default: "
          << (spec.kind == FlagKind::kString ? "\"\""
              : spec.kind == FlagKind::kBool ? "false"
              : spec.kind == FlagKind::kInt  ? "0"
                                             : "0ms");
    } else if (spec.kind == FlagKind::kString) {
      out << "default: \"" << spec.default_value << "\"";
    } else {
      out << "default: " << spec.default_value;
    }
    out << ")\n      " << spec.help << "\n";
  }
  out << "  --help\n      Print this help and exit.\n";
  out << "\nPrecedence: command line > environment > config file > default. A config file has\n"
         "one `name = value` per line, names as above without the leading dashes; lines\n"
         "starting with # are comments. Durations are milliseconds or take a unit: 1500ms, 2s,\n"
         "5m, 1h. A boolean flag alone means true; otherwise write --name=false.\n";
  return out.str();
}

std::optional<int> ExitCodeBeforeRun(const FlagSet& flag_set, const Result<Flags>& flags,
                                     std::ostream& out, std::ostream& err) {
  if (!flags.ok()) {
    err << flag_set.program() << ": " << flags.status().message() << "\n"
        << "Try '" << flag_set.program() << " --help' for the flags.\n";
    err.flush();
    return 2;
  }
  if (flags->help_requested()) {
    out << flag_set.Usage();
    out.flush();
    return 0;
  }
  return std::nullopt;
}

std::optional<int> ExitCodeBeforeRun(const FlagSet& flag_set, const Result<Flags>& flags) {
  return ExitCodeBeforeRun(flag_set, flags, std::cout, std::cerr);
}

}  // namespace claims::runtime
