#pragma once

// The pipeline's topics (DESIGN.md), one place for every service and tool.
namespace claims::events {

inline constexpr char kIntakeTopic[] = "intake.events.v1";              // the system of record
inline constexpr char kDecisionsTopic[] = "adjudication.decisions.v1";  // decisions, rejections
inline constexpr char kPaymentsTopic[] = "payout.payments.v1";          // payments
inline constexpr char kPayoutCommandsTopic[] = "payout.commands.v1";    // the payout desk's log
inline constexpr char kKeyTopic[] = "keys.members.v1";  // compacted; key id -> wrapped data key
// Intake's calls in the order replicas made them: the first under an idempotency key holds it.
inline constexpr char kCallsTopic[] = "intake.calls.v1";

}  // namespace claims::events
