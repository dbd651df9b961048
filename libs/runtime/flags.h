#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "libs/base/status.h"

namespace claims::runtime {

// The flags every service binary takes (docs/DESIGN.md, "Running"). Ops and tests rely on them.
inline constexpr std::string_view kBootstrapServersFlag = "bootstrap-servers";
inline constexpr std::string_view kListenFlag = "listen";
inline constexpr std::string_view kMetricsListenFlag = "metrics-listen";
inline constexpr std::string_view kDataDirFlag = "data-dir";
inline constexpr std::string_view kConfigFlag = "config";
inline constexpr std::string_view kInsecureDevFlag = "insecure-dev";

enum class FlagKind {
  kString,
  kInt,         // a signed 64-bit decimal integer
  kBool,        // true/false, 1/0, yes/no, on/off (any case); a bare --flag means true
  kDurationMs,  // milliseconds: "1500", or a whole number with a unit: "1500ms", "2s", "5m", "1h"
};

// One flag a binary declares.
struct FlagSpec {
  // Without the leading dashes: "plans-dir". Lower-case letters, digits and dashes, starting
  // with a letter. The environment variable is derived from it: CLAIMS_PLANS_DIR.
  std::string name;
  std::string help;
  FlagKind kind = FlagKind::kString;
  // Written as on the command line ("9090", "30s", "true"). Empty means the zero value of the
  // kind ("", 0, false, 0ms). Ignored for a required flag.
  std::string default_value;
  // A required flag has no default: it must come from the command line, the environment or the
  // config file.
  bool required = false;
};

// Where a flag's value came from. Later enumerators take precedence over earlier ones.
enum class FlagSource { kDefault, kConfigFile, kEnvironment, kCommandLine };

// "CLAIMS_" + the name upper-cased with dashes as underscores: CLAIMS_BOOTSTRAP_SERVERS.
std::string FlagEnvVar(std::string_view flag_name);

// The parsed values of a FlagSet: every declared flag has exactly one value. Immutable; safe to
// share between threads. Asking for an undeclared flag, or with the wrong kind, is a programmer
// error and aborts.
class Flags {
 public:
  using Value = std::variant<std::string, int64_t, bool, std::chrono::milliseconds>;

  // True when --help (or -h) was given: print FlagSet::Usage() and exit 0; no other value was
  // parsed or checked.
  bool help_requested() const { return help_requested_; }

  const std::string& String(std::string_view name) const;
  int64_t Int(std::string_view name) const;
  bool Bool(std::string_view name) const;
  std::chrono::milliseconds Duration(std::string_view name) const;
  FlagSource Source(std::string_view name) const;

  const std::string& bootstrap_servers() const { return String(kBootstrapServersFlag); }
  const std::string& listen() const { return String(kListenFlag); }
  const std::string& metrics_listen() const { return String(kMetricsListenFlag); }
  const std::string& data_dir() const { return String(kDataDirFlag); }
  // The config file that was read, or "" when none was given.
  const std::string& config_file() const { return String(kConfigFlag); }
  bool insecure_dev() const { return Bool(kInsecureDevFlag); }

 private:
  friend class FlagSet;
  struct Entry {
    Value value;
    FlagSource source = FlagSource::kDefault;
  };
  const Entry& Find(std::string_view name, FlagKind kind) const;

  bool help_requested_ = false;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Looks up an environment variable; nullopt when it is unset. Parse treats a variable set to
// the empty string as unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The flags one binary accepts: the common ones (see ForService) plus its own. Not thread-safe
// to modify; Parse and Usage are const and may run concurrently.
//
// Values come from, highest precedence first: the command line (`--name value` or
// `--name=value`; a bool flag takes a value only as `--name=value`), the environment
// (CLAIMS_NAME), the config file named by --config / CLAIMS_CONFIG (one `name = value` per
// line, names without the leading dashes; lines whose first non-blank character is '#' and
// blank lines are ignored; the value is the rest of the line, trimmed), then the default.
class FlagSet {
 public:
  // A set holding the common flags with these defaults:
  //   --bootstrap-servers=localhost:9092  --listen=127.0.0.1:50051
  //   --metrics-listen=127.0.0.1:9464     --data-dir=./data  --config=  --insecure-dev=false
  // Loopback by default, so nothing is exposed by accident; a deployment sets
  // CLAIMS_LISTEN=0.0.0.0:50051. A service changes a default with SetDefault.
  // `program` names the binary in Usage and errors; `description` is one paragraph.
  static FlagSet ForService(std::string program, std::string description);

  // Declares a service-specific flag. kInvalidArgument for a malformed name, a name already
  // declared (or "help"), or a default that does not parse as its kind; nothing changes then.
  Status Add(FlagSpec spec);

  // Changes the default of a declared flag (e.g. a service's own port). kNotFound for an
  // undeclared flag, kInvalidArgument for a value that does not parse; nothing changes then.
  Status SetDefault(std::string_view name, std::string default_value);

  // Makes a declared flag required (or not). kNotFound for an undeclared flag.
  Status SetRequired(std::string_view name, bool required);

  // Parses `args` (without the program name) and the environment, reading the config file if
  // one is named. Changes nothing and has no other effect. kInvalidArgument for an unknown
  // flag, a missing value, an unparsable value (naming the flag, variable or FILE:LINE), an
  // unknown or repeated key in the config file, or a required flag given nowhere; kNotFound /
  // kUnavailable for a config file that cannot be read. A value that is overridden by a source
  // of higher precedence must still parse. A repeated command-line flag: the last one wins.
  Result<Flags> Parse(const std::vector<std::string>& args, const EnvLookup& env) const;

  // Parse(argv[1..argc), the process environment).
  Result<Flags> ParseCommandLine(int argc, const char* const* argv) const;

  // The --help text: every flag with its help, default (or "required") and variable.
  std::string Usage() const;

  const std::string& program() const { return program_; }

 private:
  FlagSet(std::string program, std::string description)
      : program_(std::move(program)), description_(std::move(description)) {}
  const FlagSpec* FindSpec(std::string_view name) const;

  std::string program_;
  std::string description_;
  std::vector<FlagSpec> specs_;  // in declaration order, common flags first
};

// What a main() does with a parse result:
//
//   Result<Flags> flags = flag_set.ParseCommandLine(argc, argv);
//   if (std::optional<int> code = ExitCodeBeforeRun(flag_set, flags)) return *code;
//
// For --help: prints Usage() to `out` and returns 0. For an error: prints
// "<program>: <message>" and a hint to try --help to `err` and returns 2. Otherwise returns
// nullopt (the service should run) and prints nothing.
std::optional<int> ExitCodeBeforeRun(const FlagSet& flag_set, const Result<Flags>& flags);
std::optional<int> ExitCodeBeforeRun(const FlagSet& flag_set, const Result<Flags>& flags,
                                     std::ostream& out, std::ostream& err);

}  // namespace claims::runtime
