#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/status.h"

namespace claims::devbroker {

// The devbroker's command line. Every flag can also come from the environment variable
// CLAIMS_<FLAG> (upper case, '-' as '_', e.g. CLAIMS_BROKERS); a flag given on the command line
// wins over its variable.
struct Flags {
  int brokers = 3;
  int partitions = 12;
  std::string bootstrap_file;  // empty: not written
  std::string control_listen;  // "127.0.0.1:PORT"; empty: no control port
  std::string control_file;    // empty: not written
  bool tcp_nodelay = true;
  bool help = false;
};

// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Parses `args` (without the program name) and the environment. Accepts "--flag value" and
// "--flag=value". kInvalidArgument with a message naming the flag (or variable) and the rule it
// broke. Pure: no I/O besides calling `env`.
Result<Flags> ParseFlags(const std::vector<std::string>& args, const EnvLookup& env);

// The text printed by --help.
std::string HelpText();

}  // namespace claims::devbroker
