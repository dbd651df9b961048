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

}  // namespace claims::intake
