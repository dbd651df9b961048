#pragma once

// Internal to libs/bus: the only headers here that see librdkafka types.

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/base/status.h"
#include "libs/runtime/log.h"

namespace claims::bus::internal {

// The one place a librdkafka error code becomes ours; the mapping is documented in
// libs/bus/errors.h. `rk` (may be null) is asked whether a fatal error was raised, which turns
// any error into kAborted. `context` says what was attempted ("produce to intake.events.v1");
// `detail` is librdkafka's own message when it gave one (else its description of `err`).
Status FromKafka(rd_kafka_t* rk, rd_kafka_resp_err_t err, std::string_view context,
                 std::string_view detail = {});

// Same for an rd_kafka_error_t, which it destroys. A null `error` is Ok.
Status FromKafkaError(rd_kafka_t* rk, rd_kafka_error_t* error, std::string_view context);

// Builds a configuration from `properties`, applied in order (a later key overrides an earlier
// one). An unknown property or a bad value is kInvalidArgument naming the property. The caller
// owns the returned object (rd_kafka_new takes it over on success).
Result<rd_kafka_conf_t*> MakeConf(
    const std::vector<std::pair<std::string, std::string>>& properties);

// Writes one librdkafka log line (as a log callback receives it) to `logger`: "kafka: <facility>"
// with the client instance's name and librdkafka's text, at the level of the syslog `severity`
// (0-3 error, 4 warning, 5-6 info, 7 debug).
void LogKafkaLine(const runtime::Logger& logger, const rd_kafka_t* rk, int severity,
                  const char* facility, const char* text);

}  // namespace claims::bus::internal
