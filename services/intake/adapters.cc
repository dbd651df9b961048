#include "services/intake/adapters.h"

namespace claims::intake {

Result<std::unique_ptr<MeteredEventLog>> MeteredEventLog::Register(
    EventLog& inner, runtime::MetricsRegistry& registry) {
  Result<runtime::CounterFamily*> family = registry.AddCounter(
      "claims_intake_events_published_total",
      "Events intake appended to intake.events.v1 (acknowledged), by type.", {"type"});
  if (!family.ok()) return family.status();
  return std::unique_ptr<MeteredEventLog>(new MeteredEventLog(inner, **family));
}

Status MeteredEventLog::Append(const mutualaid::events::v1::Envelope& event,
                               std::chrono::milliseconds timeout) {
  Status s = inner_.Append(event, timeout);
  if (s.ok()) published_.WithLabels({std::string_view(event.type())}).Increment();
  return s;
}

std::vector<Status> MeteredEventLog::AppendAll(
    const std::vector<mutualaid::events::v1::Envelope>& events, std::chrono::milliseconds timeout) {
  std::vector<Status> out = inner_.AppendAll(events, timeout);
  for (size_t i = 0; i < events.size() && i < out.size(); ++i) {
    if (out[i].ok()) published_.WithLabels({std::string_view(events[i].type())}).Increment();
  }
  return out;
}

}  // namespace claims::intake
