#include "libs/runtime/service.h"

namespace claims::runtime {

Status AddLogLevelFlag(FlagSet& flags) {
  return flags.Add({"log-level", "debug, info, warn or error.", FlagKind::kString, "info"});
}

Result<std::unique_ptr<Logger>> LoggerFromFlags(const Flags& flags, const std::string& service) {
  Result<LogLevel> level = ParseLogLevel(flags.String("log-level"));
  if (!level.ok()) return InvalidArgument("--log-level: " + level.status().message());
  LoggerOptions options;
  options.min_level = *level;
  return std::make_unique<Logger>(service, options);
}

Status AddBusinessDateFlag(FlagSet& flags, const std::string& what) {
  return flags.Add({"business-date",
                    "Fixed business date YYYY-MM-DD of " + what +
                        " (development and tests); default: today in China Standard Time.",
                    FlagKind::kString, ""});
}

Result<std::unique_ptr<BusinessClock>> BusinessClockFromFlags(const Flags& flags) {
  const std::string& fixed = flags.String("business-date");
  if (fixed.empty()) return std::unique_ptr<BusinessClock>(new SystemBusinessClock);
  std::optional<Date> date = Date::Parse(fixed);
  if (!date.has_value()) {
    return InvalidArgument("--business-date: '" + fixed + "' is not YYYY-MM-DD");
  }
  return std::unique_ptr<BusinessClock>(new FixedBusinessClock(*date));
}

Result<std::unique_ptr<MetricsServer>> ServeMetrics(MetricsRegistry& registry, const Flags& flags) {
  Result<GaugeFamily*> up = registry.AddGauge("claims_up", "1 while serving.");
  if (!up.ok()) return up.status();
  (*up)->WithLabels({}).Set(1);
  MetricsServerOptions options;
  options.listen = flags.metrics_listen();
  return MetricsServer::Start(&registry, options);
}

}  // namespace claims::runtime
