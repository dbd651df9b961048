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

}  // namespace claims::events
