#include "services/intake/key_tombstones.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <utility>

namespace claims::intake {
namespace {

// What the delivery reports of one Write found.
struct Reports {
  size_t delivered = 0;
  Status first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* reports = static_cast<Reports*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++reports->delivered;
  } else if (reports->first_error.ok()) {
    reports->first_error =
        Unavailable(std::string("tombstone not acknowledged: ") + rd_kafka_err2str(m->err));
  }
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

}  // namespace

Status KafkaKeyTombstoneWriter::Write(const std::string& topic,
                                      const std::vector<std::string>& key_ids,
                                      std::chrono::milliseconds timeout) {
  if (key_ids.empty()) return Status::Ok();
  if (timeout.count() <= 0) return Status(StatusCode::kDeadlineExceeded, "no time left");
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", options_.bootstrap_servers},
      {"client.id", options_.client_id + "-tombstones"},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},
      {"linger.ms", "0"},
      {"message.timeout.ms", std::to_string(timeout.count())},
  };
  for (const auto& [k, v] : options_.properties) properties.emplace_back(k, v);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [k, v] : properties) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgument("Kafka property " + k + ": " + error);
    }
  }
  Reports reports;
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &reports);
  std::unique_ptr<rd_kafka_t, KafkaDeleter> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Internal(std::string("cannot create a Kafka producer: ") + error);
  }
  for (const std::string& key_id : key_ids) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_id.data(), key_id.size()), RD_KAFKA_V_VALUE(nullptr, 0),
        RD_KAFKA_V_HEADER("type", "tombstone", -1), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)rd_kafka_purge(rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      (void)rd_kafka_flush(rk.get(), 1000);
      return Unavailable(std::string("cannot enqueue a tombstone: ") + rd_kafka_err2str(err));
    }
  }
  // Delivery reports run inside flush, on this thread.
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(rk.get(), static_cast<int>(timeout.count()));
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (void)rd_kafka_purge(rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    (void)rd_kafka_flush(rk.get(), 1000);
    return Status(StatusCode::kDeadlineExceeded,
                  "tombstones not acknowledged within " + std::to_string(timeout.count()) + " ms");
  }
  if (!reports.first_error.ok()) return reports.first_error;
  if (reports.delivered != key_ids.size()) return Unavailable("a tombstone was not acknowledged");
  return Status::Ok();
}

}  // namespace claims::intake
