#include "services/adjudication/report_appeals.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "libs/domain/codec/event_codec.h"
#include "libs/domain/types.h"
#include "libs/events/follower.h"
#include "libs/events/topics.h"
#include "mutualaid/events/v1/decisions.pb.h"
#include "mutualaid/events/v1/envelope.pb.h"

namespace claims::adjudication {
namespace {

namespace ev = ::mutualaid::events::v1;

constexpr char kAppealPrefix[] = "a/";
constexpr char kOffsetPrefix[] = "o/";

std::string OffsetKey(int32_t partition) {
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%010d", partition);
  return std::string(kOffsetPrefix) + digits;
}

// The input event an appeal record answers: the key of its record.
std::optional<std::string> AnsweredEvent(const std::string& envelope_bytes) {
  ev::Envelope envelope;
  if (!envelope.ParseFromString(envelope_bytes) || envelope.answers_event_id().empty()) {
    return std::nullopt;
  }
  return envelope.answers_event_id();
}

}  // namespace

std::vector<std::string> ReportColumnFamilies() { return {kReportAppealsCf}; }

std::optional<AppealRecord> AppealOf(const std::string& envelope_bytes) {
  ev::Envelope envelope;
  if (!envelope.ParseFromString(envelope_bytes)) return std::nullopt;
  AppealRecord record;
  std::optional<Date> date;
  if (envelope.type() == codec::kClaimDecided) {
    ev::ClaimDecided d;
    if (!d.ParseFromString(envelope.payload()) ||
        d.cause_type() != domain::Name(domain::DecisionCause::kAppeal)) {
      return std::nullopt;
    }
    record.member_id = d.member_id();
    record.claim_id = d.claim_id();
    record.accepted = true;
    date = Date::Parse(d.decided_on());
  } else if (envelope.type() == codec::kInputRejected) {
    ev::InputRejected r;
    if (!r.ParseFromString(envelope.payload()) || r.input_type() != codec::kClaimAppealed ||
        r.code() == domain::Name(domain::Rejection::kMalformedInput)) {
      return std::nullopt;
    }
    record.member_id = r.member_id().empty() ? envelope.member_id() : r.member_id();
    record.claim_id = r.claim_id();
    date = Date::Parse(envelope.business_date());
  } else {
    return std::nullopt;
  }
  if (!date.has_value()) return std::nullopt;
  record.date = *date;
  return record;
}

Status AppealsModel::ForEach(const std::function<void(const AppealRecord&)>& visit) const {
  Status bad;
  Status scanned = store_.ScanPrefix(
      kReportAppealsCf, kAppealPrefix, [&](std::string_view key, std::string_view value) {
        std::optional<AppealRecord> record = AppealOf(std::string(value));
        if (!record.has_value()) {
          bad = DataLoss("stored appeal " + std::string(key) + " in " + kReportAppealsCf +
                         " is corrupt");
          return false;
        }
        visit(*record);
        return true;
      });
  if (!scanned.ok()) return scanned;
  return bad;
}

Result<std::map<int32_t, int64_t>> AppealsModel::Positions() const {
  std::map<int32_t, int64_t> positions;
  Status bad;
  Status scanned = store_.ScanPrefix(
      kReportAppealsCf, kOffsetPrefix, [&](std::string_view key, std::string_view value) {
        const std::string partition(key.substr(sizeof(kOffsetPrefix) - 1));
        const std::string offset(value);
        char* end = nullptr;
        const long long p = std::strtoll(partition.c_str(), &end, 10);
        const bool partition_ok = end != nullptr && *end == '\0' && !partition.empty();
        const long long o = std::strtoll(offset.c_str(), &end, 10);
        if (!partition_ok || end == nullptr || *end != '\0' || offset.empty() || p < 0 || o < 0) {
          bad = DataLoss("stored position " + std::string(key) + " in " + kReportAppealsCf +
                         " is corrupt");
          return false;
        }
        positions[static_cast<int32_t>(p)] = o;
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!bad.ok()) return bad;
  return positions;
}

Status AppealFollower::Start(std::chrono::milliseconds timeout) {
  Result<int32_t> partitions = consumer_.PartitionCount(events::kDecisionsTopic, timeout);
  if (!partitions.ok()) return partitions.status();
  Result<std::map<int32_t, int64_t>> stored = AppealsModel(store_).Positions();
  if (!stored.ok()) return stored.status();
  std::vector<bus::TopicPartitionOffset> assignment;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto it = stored->find(p);
    assignment.push_back(
        {events::kDecisionsTopic, p, it == stored->end() ? bus::Consumer::kBeginning : it->second});
  }
  return consumer_.Assign(assignment);
}

Result<size_t> AppealFollower::PollOnce(std::chrono::milliseconds timeout) {
  Result<std::vector<bus::ConsumerEvent>> events = consumer_.Poll(timeout, 2000);
  if (!events.ok()) return events.status();
  store::WriteBatch batch;
  std::map<int32_t, int64_t> next;
  size_t consumed = 0;
  for (const bus::ConsumerEvent& e : *events) {
    if (e.kind != bus::ConsumerEvent::Kind::kMessage) continue;
    if (e.message.topic != events::kDecisionsTopic) continue;
    Stage(e.message, batch);
    next[e.message.partition] = e.message.offset + 1;
    ++consumed;
  }
  if (consumed == 0) return consumed;
  for (const auto& [partition, offset] : next) {
    batch.Put(kReportAppealsCf, OffsetKey(partition), std::to_string(offset));
  }
  if (Status s = store_.Write(batch); !s.ok()) return s;
  return consumed;
}

void AppealFollower::Stage(const bus::Message& message, store::WriteBatch& batch) {
  if (!AppealOf(message.value).has_value()) return;
  if (std::optional<std::string> input = AnsweredEvent(message.value)) {
    batch.Put(kReportAppealsCf, kAppealPrefix + *input, message.value);
  }
}

Status AppealFollower::Run(const std::atomic<bool>& stop) {
  return events::RunFollower(stop, *this);
}

}  // namespace claims::adjudication
