#include "tools/claimsctl/audit/generator.h"

#include <map>

#include "libs/domain/codec/event_codec.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/payments.pb.h"

namespace claims::audit {
namespace {

namespace ev = ::mutualaid::events::v1;

class Topics {
 public:
  Topics(ExportWriter& writer, int partitions) : writer_(writer), partitions_(partitions) {
    for (const char* topic :
         {events::kIntakeTopic, events::kDecisionsTopic, events::kPaymentsTopic}) {
      for (int p = 0; p < partitions; ++p) writer_.DeclarePartition(topic, p);
    }
  }
  Status Write(const std::string& topic, const ev::Envelope& e, std::string& bytes) {
    bytes.clear();
    e.SerializeToString(&bytes);
    const int32_t partition = PartitionOf(e.member_id(), partitions_);
    int64_t& next = offsets_[{topic, partition}];
    return writer_.Append(topic, partition, next++, e.member_id(), bytes);
  }

 private:
  ExportWriter& writer_;
  int partitions_;
  std::map<std::pair<std::string, int32_t>, int64_t> offsets_;
};

ev::Envelope PaymentEnvelope(const std::string& type, const google::protobuf::MessageLite& payload,
                             const std::string& event_id, const ev::Envelope& decision,
                             uint64_t sequence) {
  ev::Envelope e = codec::Wrap(type, payload);
  e.set_event_id(event_id);
  e.set_member_id(decision.member_id());
  e.set_business_date(decision.business_date());
  e.set_producer("payout");
  e.set_answers_event_id(decision.event_id());
  e.set_answers_sha256(decision.payload_sha256());
  e.set_sequence(sequence);
  e.set_trace_id(decision.trace_id());
  return e;
}

void Post(ev::LedgerPosting* p, const std::string& debit, const std::string& credit, Fen amount) {
  p->set_debit_account(debit);
  p->set_credit_account(credit);
  p->set_amount_fen(amount);
}

}  // namespace

int32_t PartitionOf(std::string_view key, int partitions) {
  uint32_t h = 2166136261u;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return static_cast<int32_t>(h % static_cast<uint32_t>(partitions));
}

Result<GenerateSummary> GenerateExport(const std::vector<domain::Input>& history,
                                       const PlanSet& plans, const GenerateOptions& options,
                                       ExportWriter& writer) {
  Topics topics(writer, options.partitions);
  Refolder refolder(plans);
  RefoldStep step;
  GenerateSummary summary;
  std::string bytes;
  std::string input_bytes;
  std::map<std::string, uint64_t> payout_sequence;
  uint64_t instructions = 0;
  auto pay = [&](const ev::Envelope& decision, const std::string& type,
                 const google::protobuf::MessageLite& payload,
                 const std::string& event_id) -> Status {
    const ev::Envelope e =
        PaymentEnvelope(type, payload, event_id, decision, ++payout_sequence[decision.member_id()]);
    ++summary.payments;
    return topics.Write(events::kPaymentsTopic, e, bytes);
  };
  for (size_t i = 0; i < history.size(); ++i) {
    if (options.progress && i % 65536 == 0) options.progress(i, history.size());
    const ev::Envelope input =
        codec::EncodeInput(history[i], "E" + std::to_string(i + 1), options.plan_id);
    if (Status s = topics.Write(events::kIntakeTopic, input, input_bytes); !s.ok()) return s;
    ++summary.inputs;
    RecordView record;
    record.topic = events::kIntakeTopic;
    record.key = input.member_id();
    record.envelope = input_bytes;
    refolder.Apply(record, step);
    if (!step.published) continue;
    const ev::Envelope& out = *step.published;
    const int copies =
        options.duplicate_one_in > 0 && (summary.outputs + 1) % options.duplicate_one_in == 0 ? 2
                                                                                              : 1;
    for (int c = 0; c < copies; ++c) {
      if (Status s = topics.Write(events::kDecisionsTopic, out, bytes); !s.ok()) return s;
      ++summary.outputs;
    }
    const auto* d = std::get_if<domain::Decision>(&step.output.body);
    if (d == nullptr || d->outcome != domain::Outcome::kApproved) continue;
    for (ev::PaymentKind kind : {ev::BENEFIT, ev::CONDOLENCE}) {
      const Fen due = kind == ev::BENEFIT ? d->payable : d->condolence;
      if (due <= 0) continue;
      const std::string base = d->claim + "/" + ev::PaymentKind_Name(kind);
      const std::string payable = "payable/" + d->member;
      std::string payment_id = base + "/1";
      ev::PaymentInstructed instructed;
      instructed.set_payment_id(payment_id);
      instructed.set_claim_id(d->claim);
      instructed.set_member_id(d->member);
      instructed.set_kind(kind);
      instructed.set_amount_fen(due);
      instructed.set_decision_event_id(out.event_id());
      instructed.set_creditor_card_last4("0000");
      instructed.set_issue(1);
      instructed.set_decision_sha256(out.payload_sha256());
      instructed.set_approving_input_event_id(out.answers_event_id());
      Post(instructed.add_postings(), "fund", payable, due);
      if (Status s = pay(out, "mutualaid.events.v1.PaymentInstructed", instructed,
                         payment_id + "/instructed");
          !s.ok()) {
        return s;
      }
      ++instructions;
      if (options.fail_one_in > 0 && instructions % options.fail_one_in == 0) {
        ev::PaymentFailed failed;
        failed.set_payment_id(payment_id);
        failed.set_claim_id(d->claim);
        failed.set_member_id(d->member);
        failed.set_kind(kind);
        failed.set_amount_fen(due);
        failed.set_batch_id("B-" + std::to_string(instructions));
        failed.set_status_report_id("R-" + std::to_string(instructions));
        failed.set_bank_status("RJCT");
        failed.set_reason_code("AC04");
        Post(failed.add_postings(), payable, "fund", due);
        if (Status s =
                pay(out, "mutualaid.events.v1.PaymentFailed", failed, payment_id + "/failed");
            !s.ok()) {
          return s;
        }
        instructed.set_replaces_payment_id(payment_id);
        payment_id = base + "/2";
        instructed.set_payment_id(payment_id);
        instructed.set_issue(2);
        if (Status s = pay(out, "mutualaid.events.v1.PaymentInstructed", instructed,
                           payment_id + "/instructed");
            !s.ok()) {
          return s;
        }
      }
      ev::PaymentSettled settled;
      settled.set_payment_id(payment_id);
      settled.set_claim_id(d->claim);
      settled.set_member_id(d->member);
      settled.set_kind(kind);
      settled.set_amount_fen(due);
      settled.set_batch_id("B-" + std::to_string(instructions));
      settled.set_status_report_id("R-" + std::to_string(instructions));
      settled.set_bank_status("ACSC");
      Post(settled.add_postings(), payable, "settled", due);
      if (Status s =
              pay(out, "mutualaid.events.v1.PaymentSettled", settled, payment_id + "/settled");
          !s.ok()) {
        return s;
      }
    }
  }
  if (options.progress) options.progress(history.size(), history.size());
  return summary;
}

}  // namespace claims::audit
