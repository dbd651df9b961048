#include "libs/bus/kafka_status.h"

#include <string>

namespace claims::bus::internal {
namespace {

StatusCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return StatusCode::kOk;

    // Only _FATAL itself is fatal by code; any other error is fatal when the instance says so.
    case RD_KAFKA_RESP_ERR__FATAL:
      return StatusCode::kAborted;

    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__WAIT_CACHE:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
    // A non-fatal epoch error fails the records in flight; the producer bumps its epoch and
    // publishing them again succeeds.
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR__FENCED:
      return StatusCode::kUnavailable;

    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
      return StatusCode::kDeadlineExceeded;

    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
      return StatusCode::kResourceExhausted;

    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
      return StatusCode::kFailedPrecondition;

    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
    case RD_KAFKA_RESP_ERR__NOENT:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return StatusCode::kNotFound;

    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      return StatusCode::kOutOfRange;

    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE:
      return StatusCode::kInvalidArgument;

    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

Status FromKafka(rd_kafka_t* rk, rd_kafka_resp_err_t err, std::string_view context,
                 std::string_view detail) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  std::string message(context);
  message += ": ";
  if (err != RD_KAFKA_RESP_ERR__FATAL) {
    message += rd_kafka_err2name(err);
    message += ": ";
    message += detail.empty() ? std::string_view(rd_kafka_err2str(err)) : detail;
  }

  char reason[512] = {0};
  const rd_kafka_resp_err_t fatal =
      rk == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_fatal_error(rk, reason, sizeof(reason));
  if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err != RD_KAFKA_RESP_ERR__FATAL) message += "; ";
    message += "fatal ";
    message += rd_kafka_err2name(fatal);
    message += ": ";
    message += reason;
    return Status(StatusCode::kAborted, std::move(message));
  }
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    message += "fatal: ";
    message += detail.empty() ? std::string_view(rd_kafka_err2str(err)) : detail;
  }
  return Status(CodeFor(err), std::move(message));
}

Status FromKafkaError(rd_kafka_t* rk, rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return Status::Ok();
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  const std::string detail = rd_kafka_error_string(error);
  const bool fatal = rd_kafka_error_is_fatal(error);
  rd_kafka_error_destroy(error);
  return FromKafka(rk, fatal ? RD_KAFKA_RESP_ERR__FATAL : code, context, detail);
}

Result<rd_kafka_conf_t*> MakeConf(
    const std::vector<std::pair<std::string, std::string>>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // Secrets (sasl.password, ssl.key.password...) are never repeated in a message.
      const bool secret = key.find("password") != std::string::npos ||
                          key.find("secret") != std::string::npos ||
                          key.find(".pem") != std::string::npos;
      return InvalidArgument("kafka property " + key + "=" + (secret ? "(hidden)" : value) + ": " +
                             errstr);
    }
  }
  return conf;
}

void LogKafkaLine(const runtime::Logger& logger, const rd_kafka_t* rk, int severity,
                  const char* facility, const char* text) {
  const runtime::LogLevel level = severity <= 3   ? runtime::LogLevel::kError
                                  : severity == 4 ? runtime::LogLevel::kWarn
                                  : severity <= 6 ? runtime::LogLevel::kInfo
                                                  : runtime::LogLevel::kDebug;
  if (!logger.Enabled(level)) return;
  const runtime::LogField fields[] = {
      {"client", rk == nullptr ? "" : rd_kafka_name(rk)},
      {"text", text == nullptr ? "" : text},
  };
  logger.Log(level, std::string("kafka: ") + (facility == nullptr ? "" : facility), fields);
}

}  // namespace claims::bus::internal
