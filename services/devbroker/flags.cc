#include "services/devbroker/flags.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace claims::devbroker {
namespace {

enum class Kind { kInt, kString, kBool, kSwitch };

struct FlagSpec {
  const char* name;
  Kind kind;
  const char* value_name;
  const char* help;
};

constexpr FlagSpec kSpecs[] = {
    {"brokers", Kind::kInt, "N", "number of mock brokers, 1..32 (default 3); broker ids are 1..N"},
    {"partitions", Kind::kInt, "N",
     "partitions of each pipeline topic, 1..1000 (default 12); the topics are\n"
     "                            intake.events.v1, adjudication.decisions.v1, payout.payments.v1"},
    {"bootstrap-file", Kind::kString, "PATH",
     "write the bootstrap servers to PATH (atomically: temp file + rename)"},
    {"control-listen", Kind::kString, "ADDR",
     "serve the fault-control protocol on ADDR, which must be 127.0.0.1:PORT\n"
     "                            (port 0 picks a free one); off when empty (default)"},
    {"control-file", Kind::kString, "PATH",
     "write the control address (127.0.0.1:PORT) to PATH (atomically)"},
    {"tcp-nodelay", Kind::kBool, "true|false",
     "set TCP_NODELAY on the brokers' sockets (default true). The mock itself\n"
     "                            does not, which can stall small request/response pairs\n"
     "                            ~40 ms on delayed ACKs; false only to measure that"},
    {"help", Kind::kSwitch, "", "print this help and exit"},
};

const FlagSpec* FindSpec(std::string_view name) {
  for (const auto& spec : kSpecs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string EnvName(std::string_view flag) {
  std::string out = "CLAIMS_";
  for (char c : flag) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

// Applies one value to `flags`; `origin` names where it came from, for the message.
Status Apply(const FlagSpec& spec, const std::string& value, const std::string& origin,
             Flags& flags) {
  const std::string name = spec.name;
  if (spec.kind == Kind::kInt) {
    int parsed = 0;
    const char* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
    if (value.empty() || ec != std::errc() || ptr != end) {
      return InvalidArgument(origin + ": expected an integer, got \"" + value + "\"");
    }
    const int lo = 1;
    const int hi = name == "brokers" ? 32 : 1000;
    if (parsed < lo || parsed > hi) {
      return InvalidArgument(origin + ": must be in " + std::to_string(lo) + ".." +
                             std::to_string(hi) + ", got " + value);
    }
    (name == "brokers" ? flags.brokers : flags.partitions) = parsed;
    return Status::Ok();
  }
  if (spec.kind == Kind::kBool) {
    if (value == "true" || value == "1") {
      flags.tcp_nodelay = true;
    } else if (value == "false" || value == "0") {
      flags.tcp_nodelay = false;
    } else {
      return InvalidArgument(origin + ": expected true or false, got \"" + value + "\"");
    }
    return Status::Ok();
  }
  if (spec.kind == Kind::kSwitch) {
    flags.help = value.empty() || value == "true" || value == "1";
    return Status::Ok();
  }
  if (name == "control-listen") {
    if (!value.empty()) {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos || value.substr(0, colon) != "127.0.0.1") {
        return InvalidArgument(origin + ": must be 127.0.0.1:PORT (loopback only), got \"" + value +
                               "\"");
      }
      const std::string port = value.substr(colon + 1);
      int parsed = -1;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
      if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || parsed < 0 ||
          parsed > 65535) {
        return InvalidArgument(origin + ": port must be 0..65535, got \"" + port + "\"");
      }
    }
    flags.control_listen = value;
  } else if (name == "bootstrap-file") {
    flags.bootstrap_file = value;
  } else if (name == "control-file") {
    flags.control_file = value;
  }
  return Status::Ok();
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args, const EnvLookup& env) {
  Flags flags;
  for (const auto& spec : kSpecs) {
    if (spec.kind == Kind::kSwitch) continue;
    const std::string var = EnvName(spec.name);
    if (std::optional<std::string> value = env(var)) {
      if (Status s = Apply(spec, *value, "environment variable " + var, flags); !s.ok()) return s;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return InvalidArgument("unexpected argument \"" + arg +
                             "\" (flags start with --; see --help)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = FindSpec(name);
    if (spec == nullptr) return InvalidArgument("unknown flag --" + name + " (see --help)");
    if (spec->kind == Kind::kSwitch) {
      if (value.has_value()) return InvalidArgument("--" + name + " takes no value");
      flags.help = true;
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return InvalidArgument("--" + name + " needs a value (" + spec->value_name + ")");
      }
      value = args[++i];
    }
    if (Status s = Apply(*spec, *value, "--" + name, flags); !s.ok()) return s;
  }
  if (!flags.control_file.empty() && flags.control_listen.empty()) {
    return InvalidArgument("--control-file needs --control-listen");
  }
  return flags;
}

std::string HelpText() {
  std::string out =
      "Usage: devbroker [flags]\n"
      "\n"
      "A development Kafka cluster: librdkafka's mock cluster, speaking the real Kafka protocol\n"
      "on 127.0.0.1. Creates the pipeline topics, prints \"bootstrap.servers=HOST:PORT,...\"\n"
      "(and \"control=127.0.0.1:PORT\" when enabled) on stdout, and runs until SIGTERM or SIGINT,\n"
      "then exits 0.\n"
      "\n"
      "WARNING: the mock keeps all data in memory; it is gone when devbroker stops. Each\n"
      "partition keeps only about the last 5 MB (and at most 100000 produce batches); older\n"
      "records are dropped SILENTLY, so a consumer that falls further behind loses data without\n"
      "any error. Development and tests only.\n"
      "\n"
      "Clients should set fetch.wait.max.ms to 1-5 ms; tests should use session.timeout.ms=6000\n"
      "(a member joining a non-empty group waits about session.timeout.ms - 1 s). Topics that\n"
      "do not exist are auto-created with 4 partitions. The Admin API (CreateTopics) is not\n"
      "supported; use the control command create-topic.\n"
      "\n"
      "Flags (each also from the environment variable CLAIMS_<FLAG>, e.g. CLAIMS_BROKERS):\n";
  for (const auto& spec : kSpecs) {
    std::string left = std::string("  --") + spec.name;
    if (spec.kind != Kind::kSwitch) left += std::string(" ") + spec.value_name;
    left.resize(std::max<size_t>(left.size() + 2, 28), ' ');
    out += left + spec.help + "\n";
  }
  out +=
      "\n"
      "Control protocol (one command per line, one reply line: \"OK ...\" or \"ERR <reason>\"):\n"
      "  broker-down ID                 disconnect broker ID and refuse connections (no leader\n"
      "                                 change: its partitions are unavailable until broker-up)\n"
      "  broker-up ID                   accept connections again\n"
      "  rtt ID MS                      delay every response of broker ID by MS ms (0 clears)\n"
      "  request-errors API COUNT ERR   fail the next COUNT requests of API (e.g. Produce, Fetch,\n"
      "                                 OffsetCommit) with ERR (e.g. NOT_LEADER_FOR_PARTITION)\n"
      "  clear-request-errors API       drop pending injected errors of API\n"
      "  leader TOPIC PARTITION ID      move the partition's leadership to broker ID\n"
      "  create-topic TOPIC [N]         create a topic with N partitions (default --partitions)\n"
      "  partitions [TOPIC]             partition counts per topic, or per partition of TOPIC:\n"
      "                                 leader and high watermark\n"
      "  status                         brokers, which are down, bootstrap servers\n"
      "  help                           the command list\n"
      "\n"
      "Exit codes: 0 clean stop, 1 startup failure, 2 bad flags.\n";
  return out;
}

}  // namespace claims::devbroker
