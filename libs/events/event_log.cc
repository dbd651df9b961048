#include "libs/events/event_log.h"

namespace claims::events {

bus::OutgoingMessage EnvelopeRecord(const std::string& topic,
                                    const mutualaid::events::v1::Envelope& envelope) {
  bus::OutgoingMessage record;
  record.topic = topic;
  record.key = envelope.member_id();
  record.value = envelope.SerializeAsString();
  record.headers = {{"type", envelope.type()},
                    {"event-id", envelope.event_id()},
                    {"trace-id", envelope.trace_id()}};
  if (envelope.sequence() > 0) {
    record.headers.push_back({"member", envelope.member_id()});
    record.headers.push_back({"sequence", std::to_string(envelope.sequence())});
  }
  return record;
}

Status KafkaEventLog::Append(const mutualaid::events::v1::Envelope& event,
                             std::chrono::milliseconds timeout) {
  const std::vector<bus::Delivery> deliveries =
      producer_.ProduceAll({EnvelopeRecord(topic_, event)}, timeout);
  if (deliveries.size() != 1) return Internal("expected one delivery report");
  return deliveries[0].status;
}

std::vector<Status> EventLog::AppendAll(const std::vector<mutualaid::events::v1::Envelope>& events,
                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Status> out;
  out.reserve(events.size());
  for (const mutualaid::events::v1::Envelope& event : events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    out.push_back(left.count() > 0
                      ? Append(event, left)
                      : Status(StatusCode::kDeadlineExceeded, "no time left to append the event"));
  }
  return out;
}

std::vector<Status> KafkaEventLog::AppendAll(
    const std::vector<mutualaid::events::v1::Envelope>& events, std::chrono::milliseconds timeout) {
  std::vector<bus::OutgoingMessage> records;
  records.reserve(events.size());
  for (const mutualaid::events::v1::Envelope& event : events) {
    records.push_back(EnvelopeRecord(topic_, event));
  }
  std::vector<Status> out;
  out.reserve(events.size());
  for (bus::Delivery& delivery : producer_.ProduceAll(records, timeout)) {
    out.push_back(std::move(delivery.status));
  }
  return out;
}

}  // namespace claims::events
