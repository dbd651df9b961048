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
  std::atomic<size_t> outstanding{0};
  mutable std::mutex mu;
  std::condition_variable drained;

  // Serves delivery reports (and errors, logs) from librdkafka's main queue until stopped.
  void DeliveryLoop() {
    while (!stop.load()) rd_kafka_queue_poll_callback(main_queue, 200);
  }

  void Started() { outstanding.fetch_add(1, std::memory_order_relaxed); }
  void Finished() {
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu);
      drained.notify_all();
    }
  }
};

namespace {

// The opaque of each record: whom to tell about its delivery.
struct Pending {
  virtual ~Pending() = default;
  // Hands the outcome over, and with it the end of this object's life: a Produce record deletes
  // itself, and a ProduceAll slot may go with its batch as soon as the caller wakes. Nothing may
  // touch the Pending after this call.
  virtual void Deliver(Delivery delivery) = 0;
  Producer::Impl* impl = nullptr;
};

struct CallbackPending : Pending {
  Producer::DeliveryCallback callback;
  void Deliver(Delivery delivery) override {
    const std::unique_ptr<CallbackPending> self(this);
    if (callback) callback(delivery);
  }
};

// The records of one ProduceAll. Kept alive by the call and, until the last report, by itself,
// so that reports arriving after the call timed out still land somewhere.
struct Batch {
  struct Slot : Pending {
    Batch* batch = nullptr;
    size_t index = 0;
    void Deliver(Delivery delivery) override { batch->Report(index, std::move(delivery)); }
  };

  explicit Batch(size_t n) : deliveries(n), reported(n, false), slots(n), remaining(n) {}

  void Report(size_t index, Delivery delivery) {
    std::shared_ptr<Batch> release;
    std::lock_guard<std::mutex> lock(mu);
    deliveries[index] = std::move(delivery);
    reported[index] = true;
    if (--remaining == 0) {
      release = std::move(self);  // freed after the lock is released
      done.notify_all();
    }
  }

  std::mutex mu;
  std::condition_variable done;
  std::vector<Delivery> deliveries;
  std::vector<bool> reported;
  std::vector<Slot> slots;
  size_t remaining;
  std::shared_ptr<Batch> self;
};

void OnLog(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto* impl = static_cast<const Producer::Impl*>(rd_kafka_opaque(rk));
  if (impl != nullptr && impl->options.logger != nullptr) {
    internal::LogKafkaLine(*impl->options.logger, rk, level, facility, text);
  }
}

void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* /*opaque*/) {
  auto* pending = static_cast<Pending*>(m->_private);
  Delivery delivery;
  delivery.topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
  delivery.partition = m->partition;
  delivery.offset = m->offset >= 0 ? m->offset : -1;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivery.status = internal::FromKafka(rk, m->err, "deliver to " + delivery.topic);
  }
  Producer::Impl* impl = pending->impl;
  pending->Deliver(std::move(delivery));  // `pending` may be gone from here on
  impl->Finished();
}

// Enqueues one record with `pending` as its opaque, waiting for room up to the enqueue timeout.
// On error nothing was enqueued (and `pending` will never be delivered).
rd_kafka_resp_err_t Enqueue(Producer::Impl& impl, const OutgoingMessage& message,
                            Pending* pending) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl.options.enqueue_timeout_ms);
  impl.Started();
  for (;;) {
    rd_kafka_headers_t* headers = nullptr;
    if (!message.headers.empty()) {
      headers = rd_kafka_headers_new(message.headers.size());
      for (const Header& h : message.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
    }
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        impl.rk, RD_KAFKA_V_TOPIC(message.topic.c_str()), RD_KAFKA_V_PARTITION(message.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(message.key.empty() ? nullptr : message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() >= deadline) {
      impl.Finished();
      return err;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.logger != nullptr) {
    rd_kafka_conf_set_opaque(*conf, impl.get());
    rd_kafka_conf_set_log_cb(*conf, &OnLog);
  }

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return InvalidArgument(std::string("create kafka producer: ") + errstr);
  }
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
  if (Status fatal = FatalError(); !fatal.ok()) return fatal;
  auto* pending = new CallbackPending;
  pending->impl = impl_.get();
  pending->callback = std::move(on_delivery);
  const rd_kafka_resp_err_t err = Enqueue(*impl_, message, pending);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  delete pending;
  return internal::FromKafka(impl_->rk, err, "produce to " + message.topic);
}

std::vector<Delivery> Producer::ProduceAll(const std::vector<OutgoingMessage>& messages,
                                           std::chrono::milliseconds timeout) {
  auto batch = std::make_shared<Batch>(messages.size());
  batch->self = batch;
  const Status fatal = FatalError();
  for (size_t i = 0; i < messages.size(); ++i) {
    Batch::Slot& slot = batch->slots[i];
    slot.impl = impl_.get();
    slot.batch = batch.get();
    slot.index = i;
    if (!fatal.ok()) {
      batch->Report(i, Delivery{fatal, messages[i].topic, -1, -1});
      continue;
    }
    const rd_kafka_resp_err_t err = Enqueue(*impl_, messages[i], &slot);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      batch->Report(i,
                    Delivery{internal::FromKafka(impl_->rk, err, "produce to " + messages[i].topic),
                             messages[i].topic, -1, -1});
    }
  }

  std::unique_lock<std::mutex> lock(batch->mu);
  batch->done.wait_for(lock, timeout, [&] { return batch->remaining == 0; });
  std::vector<Delivery> out;
  if (batch->remaining == 0) {
    out = std::move(batch->deliveries);  // no report can come any more
  } else {
    out = batch->deliveries;  // late reports still land in the batch, not in `out`
  }
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
  if (impl_->drained.wait_for(lock, timeout, [&] { return impl_->outstanding.load() == 0; })) {
    return Status::Ok();
  }
  return Status(StatusCode::kDeadlineExceeded, std::to_string(impl_->outstanding.load()) +
                                                   " records still outstanding after " +
                                                   std::to_string(timeout.count()) + " ms");
}

Status Producer::WarmUp(const std::vector<std::string>& topics, std::chrono::milliseconds timeout) {
  for (const std::string& topic : topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr);
    if (rkt == nullptr) return InvalidArgument("bad topic name " + topic);
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(impl_->rk, 0, rkt, &metadata, static_cast<int>(timeout.count()));
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::FromKafka(impl_->rk, err, "metadata of " + topic);
    }
  }
  return Status::Ok();
}

size_t Producer::Outstanding() const { return impl_->outstanding.load(); }

Status Producer::FatalError() const {
  char reason[512] = {0};
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(impl_->rk, reason, sizeof(reason));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return internal::FromKafka(impl_->rk, RD_KAFKA_RESP_ERR__FATAL, "producer", reason);
}

}  // namespace claims::bus
