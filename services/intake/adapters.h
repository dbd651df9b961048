#pragma once

#include <memory>
#include <string>

#include "libs/bus/producer.h"
#include "libs/runtime/business_clock.h"
#include "libs/runtime/metrics.h"
#include "services/intake/ports.h"

namespace claims::intake {

using events::KafkaEventLog;
using events::kIntakeTopic;

// An EventLog that counts what `inner` appended (acknowledged), by event type, into a counter
// family with the one label "type": claims_intake_events_published_total{type}. A repeated
// answer from an idempotency record publishes nothing and counts nothing; a retried publish of
// a pending record counts again. Thread-safe.
class MeteredEventLog : public EventLog {
 public:
  // Registers claims_intake_events_published_total in `registry` (kAlreadyExists if it is there).
  static Result<std::unique_ptr<MeteredEventLog>> Register(EventLog& inner,
                                                           runtime::MetricsRegistry& registry);
  Status Append(const mutualaid::events::v1::Envelope& event,
                std::chrono::milliseconds timeout) override;
  std::vector<Status> AppendAll(const std::vector<mutualaid::events::v1::Envelope>& events,
                                std::chrono::milliseconds timeout) override;

 private:
  MeteredEventLog(EventLog& inner, runtime::CounterFamily& published)
      : inner_(inner), published_(published) {}
  EventLog& inner_;
  runtime::CounterFamily& published_;
};

using runtime::FixedBusinessClock;
using runtime::SystemBusinessClock;

}  // namespace claims::intake
