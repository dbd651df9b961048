#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libs/events/topics.h"
#include "mutualaid/events/v1/payments.pb.h"

// The names payout gives things: topics, event types, deterministic ids and ledger accounts.
// Pure functions: the same inputs always give the same ids, so a replay yields identical bytes.
namespace claims::payout {

using events::kDecisionsTopic;
using events::kPaymentsTopic;
using events::kPayoutCommandsTopic;

// Envelope types of payout.commands.v1 and payout.payments.v1.
inline constexpr char kPayoutCommandType[] = "mutualaid.payout.v1.PayoutCommand";
inline constexpr char kPaymentInstructedType[] = "mutualaid.events.v1.PaymentInstructed";
inline constexpr char kPaymentHeldType[] = "mutualaid.events.v1.PaymentHeld";
inline constexpr char kPaymentReleasedType[] = "mutualaid.events.v1.PaymentReleased";
inline constexpr char kPaymentBatchedType[] = "mutualaid.events.v1.PaymentBatched";
inline constexpr char kBatchCreatedType[] = "mutualaid.events.v1.BatchCreated";
inline constexpr char kPaymentSettledType[] = "mutualaid.events.v1.PaymentSettled";
inline constexpr char kPaymentFailedType[] = "mutualaid.events.v1.PaymentFailed";
inline constexpr char kStatusReportAppliedType[] = "mutualaid.events.v1.StatusReportApplied";
inline constexpr char kCommandRejectedType[] = "mutualaid.events.v1.CommandRejected";

// The envelope member id (and Kafka key) of desk events that belong to no member (batches,
// reports, refusals): one key, so they stay in one partition, in order, with one sequence space.
inline constexpr char kDeskKey[] = "payout-desk";
inline constexpr char kProducer[] = "payout";

// Ledger accounts.
inline constexpr char kFundAccount[] = "fund";
inline constexpr char kClearingAccount[] = "clearing";
inline constexpr char kSettledAccount[] = "settled";
std::string PayableAccount(const std::string& member_id);

// "BENEFIT" / "CONDOLENCE".
std::string KindName(mutualaid::events::v1::PaymentKind kind);

// The payment id of issue `issue` (1, 2, ...) of (claim id, kind): "P" + 24 hex digits of a
// SHA-256 of the three + "-" + issue; at most 35 characters, as a pain.001 EndToEndId must be.
std::string PaymentId(const std::string& claim_id, mutualaid::events::v1::PaymentKind kind,
                      uint32_t issue);

// The command id of the instructor's PaymentRequested for (decision event id, kind).
std::string RequestCommandId(const std::string& decision_event_id,
                             mutualaid::events::v1::PaymentKind kind);

// The command id of an operator call: derived from (operator id, call, idempotency key), so that
// a retry with the same key records the same command.
std::string OperatorCommandId(const std::string& operator_id, std::string_view call,
                              const std::string& idempotency_key);

// The batch id (pain.001 MsgId) created by command `command_id` on `business_date`:
// "B" + date without dashes + "-" + 16 hex digits; at most 35 characters.
std::string BatchId(const std::string& business_date, const std::string& command_id);

// The id of the `index`-th event the desk publishes for command `command_id`.
std::string OutputEventId(const std::string& command_id, uint64_t index);

}  // namespace claims::payout
