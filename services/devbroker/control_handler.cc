#include "services/devbroker/control_handler.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

namespace claims::devbroker {
namespace {

constexpr auto kQueryTimeout = std::chrono::milliseconds(2000);

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Err(const std::string& reason) { return "ERR " + reason; }
std::string Err(const Status& status) { return "ERR " + status.message(); }

std::string Usage(std::string_view command, std::string_view args) {
  return Err("usage: " + std::string(command) + (args.empty() ? "" : " ") + std::string(args));
}

constexpr const char* kCommands =
    "broker-down ID, broker-up ID, rtt ID MS, request-errors API COUNT ERROR, "
    "clear-request-errors API, leader TOPIC PARTITION ID, create-topic TOPIC [N], "
    "partitions [TOPIC], status, help";

}  // namespace

std::string ControlHandler::Handle(std::string_view line) {
  const std::vector<std::string_view> words = Split(line);
  if (words.empty()) return Err("empty command (try help)");
  const std::string_view cmd = words[0];
  const size_t argc = words.size() - 1;

  if (cmd == "help") return std::string("OK commands: ") + kCommands;

  if (cmd == "broker-down" || cmd == "broker-up") {
    if (argc != 1) return Usage(cmd, "ID");
    const std::optional<int> id = ParseInt(words[1]);
    if (!id) return Err("broker id must be an integer, got \"" + std::string(words[1]) + "\"");
    const bool up = cmd == "broker-up";
    if (Status s = cluster_.SetBrokerUp(*id, up); !s.ok()) return Err(s);
    return "OK broker " + std::to_string(*id) + (up ? " up" : " down");
  }

  if (cmd == "rtt") {
    if (argc != 2) return Usage(cmd, "ID MS");
    const std::optional<int> id = ParseInt(words[1]);
    const std::optional<int> ms = ParseInt(words[2]);
    if (!id || !ms) return Err("rtt needs integers: rtt ID MS");
    if (Status s = cluster_.SetRtt(*id, *ms); !s.ok()) return Err(s);
    return "OK broker " + std::to_string(*id) + " rtt " + std::to_string(*ms) + " ms";
  }

  if (cmd == "request-errors") {
    if (argc != 3) return Usage(cmd, "API COUNT ERROR");
    Result<int16_t> api = MockCluster::ApiKeyByName(words[1]);
    if (!api.ok()) return Err(api.status());
    const std::optional<int> count = ParseInt(words[2]);
    if (!count || *count < 1 || *count > 100000) {
      return Err("COUNT must be 1..100000, got \"" + std::string(words[2]) + "\"");
    }
    Result<int> error = MockCluster::ErrorCodeByName(words[3]);
    if (!error.ok()) return Err(error.status());
    if (Status s = cluster_.PushRequestErrors(*api, *count, *error); !s.ok()) return Err(s);
    return "OK next " + std::to_string(*count) + " " + std::string(words[1]) +
           " requests fail with " + MockCluster::ErrorName(*error);
  }

  if (cmd == "clear-request-errors") {
    if (argc != 1) return Usage(cmd, "API");
    Result<int16_t> api = MockCluster::ApiKeyByName(words[1]);
    if (!api.ok()) return Err(api.status());
    if (Status s = cluster_.ClearRequestErrors(*api); !s.ok()) return Err(s);
    return "OK cleared " + std::string(words[1]);
  }

  if (cmd == "leader") {
    if (argc != 3) return Usage(cmd, "TOPIC PARTITION ID");
    const std::optional<int> partition = ParseInt(words[2]);
    const std::optional<int> id = ParseInt(words[3]);
    if (!partition || !id) return Err("PARTITION and ID must be integers");
    if (Status s = cluster_.SetLeader(std::string(words[1]), *partition, *id); !s.ok()) {
      return Err(s);
    }
    return "OK " + std::string(words[1]) + "[" + std::to_string(*partition) + "] leader " +
           std::to_string(*id);
  }

  if (cmd == "create-topic") {
    if (argc != 1 && argc != 2) return Usage(cmd, "TOPIC [PARTITIONS]");
    int partitions = default_partitions_;
    if (argc == 2) {
      const std::optional<int> n = ParseInt(words[2]);
      if (!n || *n < 1 || *n > 1000) {
        return Err("PARTITIONS must be 1..1000, got \"" + std::string(words[2]) + "\"");
      }
      partitions = *n;
    }
    if (Status s = cluster_.CreateTopic(std::string(words[1]), partitions); !s.ok()) {
      return Err(s);
    }
    return "OK created " + std::string(words[1]) + " with " + std::to_string(partitions) +
           " partitions";
  }

  if (cmd == "partitions") {
    if (argc > 1) return Usage(cmd, "[TOPIC]");
    if (argc == 0) {
      Result<std::map<std::string, int>> counts = cluster_.PartitionCounts(kQueryTimeout);
      if (!counts.ok()) return Err(counts.status());
      std::string out = "OK";
      for (const auto& [topic, n] : *counts) out += " " + topic + "=" + std::to_string(n);
      return out;
    }
    Result<std::vector<MockCluster::PartitionInfo>> parts =
        cluster_.DescribeTopic(std::string(words[1]), kQueryTimeout);
    if (!parts.ok()) return Err(parts.status());
    std::string out = "OK " + std::string(words[1]);
    for (const auto& p : *parts) {
      out += " " + std::to_string(p.partition) + ":leader=" + std::to_string(p.leader) +
             ":hw=" + (p.high_watermark < 0 ? "?" : std::to_string(p.high_watermark));
    }
    return out;
  }

  if (cmd == "status") {
    if (argc != 0) return Usage(cmd, "");
    std::string down;
    for (int id : cluster_.DownBrokers()) down += (down.empty() ? "" : ",") + std::to_string(id);
    return "OK brokers=" + std::to_string(cluster_.broker_count()) +
           " down=" + (down.empty() ? "none" : down) +
           " partitions=" + std::to_string(default_partitions_) +
           " tcp_nodelay=" + (cluster_.tcp_nodelay() ? "true" : "false") +
           " bootstrap=" + cluster_.bootstrap_servers();
  }

  return Err("unknown command \"" + std::string(cmd) + "\" (try help)");
}

}  // namespace claims::devbroker
