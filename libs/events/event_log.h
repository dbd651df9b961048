#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/bus/message.h"
#include "libs/bus/producer.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/envelope.pb.h"

// The Kafka form of an event envelope, shared by everything that publishes events.
namespace claims::events {

// The record of `envelope` on `topic`: keyed by its member id (one member's events stay in one
// partition, in order), with the headers "type", "event-id" and "trace-id" for tools that do not
// parse protobuf, and for outputs (sequence > 0) also "member" and "sequence", by which every
// consumer drops repeats.
bus::OutgoingMessage EnvelopeRecord(const std::string& topic,
                                    const mutualaid::events::v1::Envelope& envelope);

// Appends input events to the system of record.
class EventLog {
 public:
  virtual ~EventLog() = default;
  // Appends one event and returns once Kafka acknowledged it on all in-sync replicas.
  // UNAVAILABLE or DEADLINE_EXCEEDED: the outcome is unknown; appending the same bytes again is
  // safe (identical event ids). Thread-safe.
  virtual Status Append(const mutualaid::events::v1::Envelope& event,
                        std::chrono::milliseconds timeout) = 0;
  // Appends many events at once (all in flight together where the log allows it) and waits up
  // to `timeout` for all of them. Returns one status per event, in order, each as Append's.
  // This default appends them one by one. Thread-safe.
  virtual std::vector<Status> AppendAll(const std::vector<mutualaid::events::v1::Envelope>& events,
                                        std::chrono::milliseconds timeout);
};

// EventLog over Kafka (the producer is idempotent with acks=all).
class KafkaEventLog : public EventLog {
 public:
  explicit KafkaEventLog(bus::Producer& producer, std::string topic = kIntakeTopic)
      : producer_(producer), topic_(std::move(topic)) {}
  Status Append(const mutualaid::events::v1::Envelope& event,
                std::chrono::milliseconds timeout) override;
  // One Producer::ProduceAll for all of them.
  std::vector<Status> AppendAll(const std::vector<mutualaid::events::v1::Envelope>& events,
                                std::chrono::milliseconds timeout) override;

 private:
  bus::Producer& producer_;
  std::string topic_;
};

}  // namespace claims::events
