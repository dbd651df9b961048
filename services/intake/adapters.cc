#include "services/intake/adapters.h"

#include <ctime>

namespace claims::intake {

Status KafkaEventLog::Append(const mutualaid::events::v1::Envelope& event,
                             std::chrono::milliseconds timeout) {
  bus::OutgoingMessage message;
  message.topic = topic_;
  message.key = event.member_id();
  message.value = event.SerializeAsString();
  message.headers = {
      {"type", event.type()}, {"event-id", event.event_id()}, {"trace-id", event.trace_id()}};
  const std::vector<bus::Delivery> deliveries = producer_.ProduceAll({message}, timeout);
  if (deliveries.size() != 1) return Internal("expected one delivery report");
  return deliveries[0].status;
}

Date SystemBusinessClock::Today() const {
  constexpr int64_t kChinaOffsetSeconds = 8 * 3600;
  const int64_t now = static_cast<int64_t>(std::time(nullptr)) + kChinaOffsetSeconds;
  return Date::FromDays(static_cast<int32_t>(now / 86400));
}

}  // namespace claims::intake
