#include "libs/bus/producer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "libs/bus/kafka_status.h"

namespace claims::bus {

struct Producer::Impl {
  ProducerOptions options;
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* main_queue = nullptr;
  std::thread delivery_thread;
  std::atomic<bool> stop{false};

  // Records enqueued whose callback has not run yet; Flush waits on `drained`.
  mutable std::mutex mu;
  std::condition_variable drained;
  size_t outstanding = 0;

  // Serves delivery reports (and errors, logs) from librdkafka's main queue until stopped.
  void DeliveryLoop() {
    while (!stop.load()) rd_kafka_queue_poll_callback(main_queue, 200);
  }

  void Finished() {
    std::lock_guard<std::mutex> lock(mu);
    if (--outstanding == 0) drained.notify_all();
  }
};

namespace {

// The opaque of each record: who to tell, and which producer to tell about it.
struct Pending {
  Producer::Impl* impl;
  Producer::DeliveryCallback callback;
};

void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* /*opaque*/) {
  auto* pending = static_cast<Pending*>(m->_private);
  Delivery delivery;
  delivery.topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
  delivery.partition = m->partition;
  delivery.offset = m->offset >= 0 ? m->offset : -1;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivery.status = internal::FromKafka(rk, m->err, "deliver to " + delivery.topic);
  }
  if (pending->callback) pending->callback(delivery);
  Producer::Impl* impl = pending->impl;
  delete pending;
  impl->Finished();
}

}  // namespace

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},
      {"linger.ms", std::to_string(options.linger_ms)},
      {"message.timeout.ms", std::to_string(options.message_timeout_ms)},
      // Small request/response pairs must not wait for delayed ACKs.
      {"socket.nagle.disable", "true"},
  };
  for (const auto& kv : options.properties) props.push_back(kv);
  Result<rd_kafka_conf_t*> conf = internal::MakeConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &OnDelivery);

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return InvalidArgument(std::string("create kafka producer: ") + errstr);
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->rk = rk;
  impl->main_queue = rd_kafka_queue_get_main(rk);
  Impl* raw = impl.get();
  impl->delivery_thread = std::thread([raw] { raw->DeliveryLoop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::~Producer() {
  (void)Flush(std::chrono::milliseconds(impl_->options.close_timeout_ms));
  impl_->stop = true;
  rd_kafka_queue_yield(impl_->main_queue);  // ends the delivery thread's current wait
  impl_->delivery_thread.join();
  // Whatever is left is purged; serving the queue runs those callbacks here, so none is lost.
  rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int i = 0; i < 100 && Outstanding() > 0; ++i) rd_kafka_poll(impl_->rk, 50);
  rd_kafka_queue_destroy(impl_->main_queue);
  rd_kafka_destroy(impl_->rk);
}

Status Producer::Produce(const OutgoingMessage& message, DeliveryCallback on_delivery) {
  rd_kafka_t* rk = impl_->rk;
  if (Status fatal = FatalError(); !fatal.ok()) return fatal;

  auto* pending = new Pending{impl_.get(), std::move(on_delivery)};
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    ++impl_->outstanding;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(impl_->options.enqueue_timeout_ms);
  rd_kafka_resp_err_t err;
  for (;;) {
    rd_kafka_headers_t* headers = nullptr;
    if (!message.headers.empty()) {
      headers = rd_kafka_headers_new(message.headers.size());
      for (const Header& h : message.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
    }
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(message.topic.c_str()), RD_KAFKA_V_PARTITION(message.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(message.key.empty() ? nullptr : message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  delete pending;
  impl_->Finished();
  return internal::FromKafka(rk, err, "produce to " + message.topic);
}

std::vector<Delivery> Producer::ProduceAll(const std::vector<OutgoingMessage>& messages,
                                           std::chrono::milliseconds timeout) {
  // Shared with the callbacks, which may outlive this call when it times out.
  struct Batch {
    std::mutex mu;
    std::condition_variable done;
    std::vector<Delivery> deliveries;
    std::vector<bool> reported;
    size_t remaining = 0;
  };
  auto batch = std::make_shared<Batch>();
  batch->deliveries.resize(messages.size());
  batch->reported.assign(messages.size(), false);
  batch->remaining = messages.size();

  for (size_t i = 0; i < messages.size(); ++i) {
    auto report = [batch, i](const Delivery& d) {
      std::lock_guard<std::mutex> lock(batch->mu);
      batch->deliveries[i] = d;
      batch->reported[i] = true;
      if (--batch->remaining == 0) batch->done.notify_all();
    };
    Status enqueued = Produce(messages[i], report);
    if (!enqueued.ok()) report(Delivery{enqueued, messages[i].topic, -1, -1});
  }

  std::unique_lock<std::mutex> lock(batch->mu);
  batch->done.wait_for(lock, timeout, [&] { return batch->remaining == 0; });
  std::vector<Delivery> out = batch->deliveries;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!batch->reported[i]) {
      out[i] = Delivery{Status(StatusCode::kDeadlineExceeded, "no delivery report within " +
                                                                  std::to_string(timeout.count()) +
                                                                  " ms; outcome unknown"),
                        messages[i].topic, -1, -1};
    }
  }
  return out;
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->drained.wait_for(lock, timeout, [&] { return impl_->outstanding == 0; })) {
    return Status::Ok();
  }
  return Status(StatusCode::kDeadlineExceeded, std::to_string(impl_->outstanding) +
                                                   " records still outstanding after " +
                                                   std::to_string(timeout.count()) + " ms");
}

size_t Producer::Outstanding() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->outstanding;
}

Status Producer::FatalError() const {
  char reason[512] = {0};
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(impl_->rk, reason, sizeof(reason));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return internal::FromKafka(impl_->rk, RD_KAFKA_RESP_ERR__FATAL, "producer", reason);
}

}  // namespace claims::bus
