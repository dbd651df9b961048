#include "services/payout/payout_ids.h"

#include "libs/crypto/sha256.h"

namespace claims::payout {
namespace {

namespace ev = ::mutualaid::events::v1;

std::string Joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out.append(p);
    out.push_back('\0');
  }
  return out;
}

}  // namespace

std::string PayableAccount(const std::string& member_id) { return "payable/" + member_id; }

std::string KindName(ev::PaymentKind kind) { return ev::PaymentKind_Name(kind); }

std::string PaymentId(const std::string& claim_id, ev::PaymentKind kind, uint32_t issue) {
  const std::string hash =
      crypto::Sha256Hex(Joined({"payment", claim_id, KindName(kind), std::to_string(issue)}));
  return "P" + hash.substr(0, 24) + "-" + std::to_string(issue);
}

std::string RequestCommandId(const std::string& decision_event_id, ev::PaymentKind kind) {
  return "pay-" + decision_event_id + "-" + KindName(kind);
}

std::string OperatorCommandId(const std::string& operator_id, std::string_view call,
                              const std::string& idempotency_key) {
  return "op-" + std::string(call) + "-" +
         crypto::Sha256Hex(Joined({operator_id, call, idempotency_key})).substr(0, 32);
}

std::string BatchId(const std::string& business_date, const std::string& command_id) {
  std::string date;
  for (char c : business_date) {
    if (c != '-') date.push_back(c);
  }
  return "B" + date + "-" + crypto::Sha256Hex(Joined({"batch", command_id})).substr(0, 16);
}

std::string OutputEventId(const std::string& command_id, uint64_t index) {
  return command_id + "/" + std::to_string(index);
}

}  // namespace claims::payout
