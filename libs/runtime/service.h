#pragma once

#include <memory>
#include <string>

#include "libs/base/status.h"
#include "libs/runtime/business_clock.h"
#include "libs/runtime/flags.h"
#include "libs/runtime/log.h"
#include "libs/runtime/metrics.h"
#include "libs/runtime/metrics_server.h"

// What every service main() sets up the same way, on top of flags.h: its log level, its
// business clock, and its /metrics server.
namespace claims::runtime {

// Declares --log-level (debug, info, warn, error; default info).
Status AddLogLevelFlag(FlagSet& flags);
// A logger for `service` at the level --log-level names; INVALID_ARGUMENT for another level.
Result<std::unique_ptr<Logger>> LoggerFromFlags(const Flags& flags, const std::string& service);

// Declares --business-date: a fixed date for development and tests; `what` says whose date it
// is ("submissions", "reviews").
Status AddBusinessDateFlag(FlagSet& flags, const std::string& what);
// The fixed clock --business-date names, or the system clock when it is empty.
// INVALID_ARGUMENT when it is not YYYY-MM-DD.
Result<std::unique_ptr<BusinessClock>> BusinessClockFromFlags(const Flags& flags);

// Registers the gauge claims_up (1 while serving) and serves `registry` on --metrics-listen.
Result<std::unique_ptr<MetricsServer>> ServeMetrics(MetricsRegistry& registry, const Flags& flags);

}  // namespace claims::runtime
