#include "services/devbroker/mock_cluster.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <set>

namespace claims::devbroker {

struct MockCluster::Handles {
  rd_kafka_t* rk = nullptr;  // owns the cluster's bookkeeping; also our metadata client
  rd_kafka_mock_cluster_t* cluster = nullptr;
  mutable std::mutex mu;
  std::set<int> down;
};

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

Status FromMock(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  const std::string message = what + ": " + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return AlreadyExists(message);
  if (err == RD_KAFKA_RESP_ERR__UNKNOWN_BROKER || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
      err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
      err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    return NotFound(message);
  }
  if (err == RD_KAFKA_RESP_ERR__INVALID_ARG) return InvalidArgument(message);
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
      err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    return Unavailable(message);
  }
  return Internal(message);
}

struct ApiKeyName {
  const char* name;
  int16_t key;
};

constexpr ApiKeyName kApiKeys[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

}  // namespace

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers, bool tcp_nodelay) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only keeps the cluster's books and answers our metadata questions: keep its
  // connection chatter (it also connects to brokers we take down) out of the log.
  rd_kafka_conf_set(conf, "log.connection.close", "false", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, sizeof(errstr));
  // Brokers taken down and the cluster's own shutdown are expected here, not errors to log.
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int, const char*, void*) {});
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("create librdkafka handle: ") + errstr);
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(rk);
    return Internal("create mock cluster with " + std::to_string(brokers) + " brokers failed");
  }
  std::unique_ptr<MockCluster> out(new MockCluster());
  out->handles_ = std::make_unique<Handles>();
  out->handles_->rk = rk;
  out->handles_->cluster = cluster;
  out->bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(cluster);
  out->broker_count_ = brokers;
  out->tcp_nodelay_ = tcp_nodelay;
  rd_kafka_brokers_add(rk, out->bootstrap_servers_.c_str());
  if (tcp_nodelay) {
    Result<int> listeners = out->ApplyTcpNoDelay();
    if (!listeners.ok()) return listeners.status();
    if (*listeners != brokers) {
      return Internal("TCP_NODELAY: found " + std::to_string(*listeners) +
                      " listening broker sockets, expected " + std::to_string(brokers));
    }
  }
  return out;
}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(handles_->cluster);
  rd_kafka_destroy(handles_->rk);
}

Status MockCluster::CreateTopic(const std::string& topic, int partitions) {
  if (topic.empty() || partitions < 1) {
    return InvalidArgument("create-topic needs a name and at least 1 partition");
  }
  Result<std::map<std::string, int>> existing = PartitionCounts(std::chrono::seconds(5));
  if (existing.ok() && existing->count(topic) > 0) {
    return AlreadyExists("topic " + topic + " exists with " + std::to_string(existing->at(topic)) +
                         " partitions");
  }
  return FromMock(rd_kafka_mock_topic_create(handles_->cluster, topic.c_str(), partitions,
                                             std::min(3, broker_count_)),
                  "create topic " + topic);
}

Result<int> MockCluster::ApplyTcpNoDelay() {
  std::set<uint16_t> ports;
  for (size_t start = 0; start < bootstrap_servers_.size();) {
    size_t end = bootstrap_servers_.find(',', start);
    if (end == std::string::npos) end = bootstrap_servers_.size();
    const std::string server = bootstrap_servers_.substr(start, end - start);
    const auto colon = server.rfind(':');
    std::optional<int> port =
        colon == std::string::npos ? std::nullopt : ParseInt(server.substr(colon + 1));
    if (!port) return Internal("cannot read a port from bootstrap server \"" + server + "\"");
    ports.insert(static_cast<uint16_t>(*port));
    start = end + 1;
  }

  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return Internal("TCP_NODELAY: cannot list /proc/self/fd");
  int listening = 0;
  while (dirent* entry = readdir(dir)) {
    std::optional<int> fd = ParseInt(entry->d_name);
    if (!fd || *fd == dirfd(dir)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    if (addr.ss_family != AF_INET) continue;
    const uint16_t port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (ports.count(port) == 0) continue;
    const int one = 1;
    if (setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) continue;
    int accepting = 0;
    socklen_t alen = sizeof(accepting);
    if (getsockopt(*fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &alen) == 0 && accepting) {
      ++listening;
    }
  }
  closedir(dir);
  return listening;
}

Status MockCluster::CheckBroker(int id) const {
  if (id < 1 || id > broker_count_) {
    return NotFound("unknown broker " + std::to_string(id) + " (brokers are 1.." +
                    std::to_string(broker_count_) + ")");
  }
  return Status::Ok();
}

Status MockCluster::SetBrokerUp(int id, bool up) {
  if (Status s = CheckBroker(id); !s.ok()) return s;
  const std::string what = "broker " + std::to_string(id) + (up ? " up" : " down");
  Status s = FromMock(up ? rd_kafka_mock_broker_set_up(handles_->cluster, id)
                         : rd_kafka_mock_broker_set_down(handles_->cluster, id),
                      what);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(handles_->mu);
    if (up) {
      handles_->down.erase(id);
    } else {
      handles_->down.insert(id);
    }
  }
  // Some librdkafka versions re-create a broker's listener when it goes down.
  if (tcp_nodelay_) {
    if (Result<int> applied = ApplyTcpNoDelay(); !applied.ok()) return applied.status();
  }
  return Status::Ok();
}

std::vector<int> MockCluster::DownBrokers() const {
  std::lock_guard<std::mutex> lock(handles_->mu);
  return std::vector<int>(handles_->down.begin(), handles_->down.end());
}

Status MockCluster::SetRtt(int id, int ms) {
  if (Status s = CheckBroker(id); !s.ok()) return s;
  if (ms < 0 || ms > 60000) return InvalidArgument("rtt must be 0..60000 ms");
  return FromMock(rd_kafka_mock_broker_set_rtt(handles_->cluster, id, ms),
                  "rtt of broker " + std::to_string(id));
}

Status MockCluster::PushRequestErrors(int16_t api_key, int count, int error_code) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(handles_->cluster, api_key, errors.size(), errors.data());
  return Status::Ok();
}

Status MockCluster::ClearRequestErrors(int16_t api_key) {
  rd_kafka_mock_clear_request_errors(handles_->cluster, api_key);
  return Status::Ok();
}

Status MockCluster::SetLeader(const std::string& topic, int32_t partition, int id) {
  if (Status s = CheckBroker(id); !s.ok()) return s;
  Result<std::map<std::string, int>> counts = PartitionCounts(std::chrono::seconds(5));
  if (!counts.ok()) return counts.status();
  auto it = counts->find(topic);
  if (it == counts->end()) return NotFound("unknown topic " + topic);
  if (partition < 0 || partition >= it->second) {
    return NotFound("topic " + topic + " has partitions 0.." + std::to_string(it->second - 1));
  }
  return FromMock(
      rd_kafka_mock_partition_set_leader(handles_->cluster, topic.c_str(), partition, id),
      "leader of " + topic + "[" + std::to_string(partition) + "]");
}

Result<std::map<std::string, int>> MockCluster::PartitionCounts(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  Status s =
      FromMock(rd_kafka_metadata(handles_->rk, 1, nullptr, &md, static_cast<int>(timeout.count())),
               "metadata");
  if (!s.ok()) return s;
  std::map<std::string, int> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<std::vector<MockCluster::PartitionInfo>> MockCluster::DescribeTopic(
    const std::string& topic, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  Status s =
      FromMock(rd_kafka_metadata(handles_->rk, 1, nullptr, &md, static_cast<int>(timeout.count())),
               "metadata");
  if (!s.ok()) return s;
  std::vector<PartitionInfo> out;
  bool found = false;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    found = true;
    for (int p = 0; p < t.partition_cnt; ++p) {
      out.push_back(PartitionInfo{t.partitions[p].id, t.partitions[p].leader, -1});
    }
  }
  rd_kafka_metadata_destroy(md);
  if (!found) return NotFound("unknown topic " + topic);
  std::sort(out.begin(), out.end(), [](const PartitionInfo& a, const PartitionInfo& b) {
    return a.partition < b.partition;
  });
  const std::vector<int> down = DownBrokers();
  for (PartitionInfo& info : out) {
    if (std::find(down.begin(), down.end(), info.leader) != down.end()) continue;
    int64_t low = -1;
    int64_t high = -1;
    if (rd_kafka_query_watermark_offsets(handles_->rk, topic.c_str(), info.partition, &low, &high,
                                         static_cast<int>(timeout.count())) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      info.high_watermark = high;
    }
  }
  return out;
}

Result<int> MockCluster::ErrorCodeByName(std::string_view name) {
  if (EqualsIgnoreCase(name, "NOT_LEADER_OR_FOLLOWER")) {
    return static_cast<int>(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  }
  const std::optional<int> number = ParseInt(name);
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name == nullptr || descs[i].code == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (number ? *number == descs[i].code : EqualsIgnoreCase(name, descs[i].name)) {
      return static_cast<int>(descs[i].code);
    }
  }
  return InvalidArgument("unknown error name \"" + std::string(name) +
                         "\" (use a librdkafka name such as NOT_LEADER_FOR_PARTITION, "
                         "REQUEST_TIMED_OUT, _TRANSPORT, or a number)");
}

Result<int16_t> MockCluster::ApiKeyByName(std::string_view name) {
  if (std::optional<int> number = ParseInt(name)) {
    if (*number < 0 || *number > 100) return InvalidArgument("API key must be 0..100");
    return static_cast<int16_t>(*number);
  }
  for (const ApiKeyName& api : kApiKeys) {
    if (EqualsIgnoreCase(name, api.name)) return api.key;
  }
  std::string known;
  for (const ApiKeyName& api : kApiKeys) known += std::string(known.empty() ? "" : ", ") + api.name;
  return InvalidArgument("unknown API \"" + std::string(name) + "\" (known: " + known + ")");
}

std::string MockCluster::ErrorName(int error_code) {
  return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(error_code));
}

}  // namespace claims::devbroker
