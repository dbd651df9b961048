#pragma once

#include "libs/base/status.h"

namespace claims::bus {

// How librdkafka errors become claims::Status. The translation happens in exactly one function
// (FromKafka in libs/bus/kafka_status.cc); this table is its contract.
//
//   kAborted            FATAL, and only that. The client instance is unusable: librdkafka raised
//                       a fatal error (rd_kafka_fatal_error), e.g. the idempotent producer's
//                       sequence got out of sync with the broker (OUT_OF_ORDER_SEQUENCE_NUMBER),
//                       it could not get a producer id (authorization), or a static group member
//                       was fenced. Destroy it; a service should exit and restart from its last
//                       durable state. Every later error of that instance is kAborted too.
//   kUnavailable        Retriable: transport failure, all brokers down, no leader or coordinator
//                       yet, not enough replicas, broker request timeout, a non-fatal producer
//                       epoch error; also records purged when a producer closes (outcome
//                       unknown). librdkafka already retried what it could.
//   kDeadlineExceeded   Retriable: a message or call timed out (message.timeout.ms, a call's own
//                       timeout). The outcome is unknown: the record may or may not be in the log.
//   kResourceExhausted  Retriable: the local producer queue is full, or the broker throttled us.
//   kFailedPrecondition Not retriable as is: the group moved on (rebalance in progress, unknown
//                       member, illegal generation: the partition is no longer ours), a call made
//                       in the wrong state, or authentication/authorization failed.
//   kNotFound           Unknown topic or partition, or no such group.
//   kOutOfRange         The requested offset is not in the log (deleted by retention).
//   kInvalidArgument    Bad configuration property or value, message too large, invalid record.
//   kInternal           Anything else.
//
// Because outputs are deterministic (DESIGN.md, "Effectively once, by determinism"), publishing
// again after a retriable error is always safe: a duplicate is dropped by every consumer.

// True when the status reports that the client instance is dead (see kAborted above).
inline bool IsFatal(const Status& status) { return status.code() == StatusCode::kAborted; }

// True when trying the same operation again later may succeed.
inline bool IsRetriable(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded ||
         status.code() == StatusCode::kResourceExhausted;
}

}  // namespace claims::bus
