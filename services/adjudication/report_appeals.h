#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libs/base/date.h"
#include "libs/base/status.h"
#include "libs/bus/consumer.h"
#include "libs/bus/message.h"
#include "libs/store/state_store.h"

// The appeals the plan-year report counts, read from adjudication.decisions.v1. A member's state
// keeps only that a claim was appealed once; the appeal's date, and the appeals rejected on
// arrival (which change no state), are only in the published outputs. Every replica follows
// every partition (no consumer group), like the review model, into a column family of its own
// in the fold's store; the fold never reads it.
namespace claims::adjudication {

// "a/" + input event id -> the record that answered the appeal (envelope bytes as published);
// "o/" + partition (10 digits) -> the next offset of adjudication.decisions.v1 to read.
inline constexpr char kReportAppealsCf[] = "report_appeals";

// The column families of the report; main.cc opens them with the fold's.
std::vector<std::string> ReportColumnFamilies();

// One appeal as the report counts it.
struct AppealRecord {
  std::string member_id;
  std::string claim_id;
  // The appeal's date: the accepting decision's decided_on, or for a rejection the business date
  // of its envelope, which is the appeal event's (intake stamps both with its business date).
  Date date;
  bool accepted = false;  // a ClaimDecided caused by the appeal; else rejected on arrival
  friend bool operator==(const AppealRecord&, const AppealRecord&) = default;
};

// The appeal `message` (a record of adjudication.decisions.v1) records, if it is one: a
// ClaimDecided whose cause is "appeal", or an InputRejected of a ClaimAppealed input that
// decoded (not MALFORMED_INPUT, which the report does not count as an appeal). nullopt for
// everything else, unparsable records included.
std::optional<AppealRecord> AppealOf(const std::string& envelope_bytes);

// Reads the model. Thread-safe (reads see the store as of the follower's latest batch).
class AppealsModel {
 public:
  explicit AppealsModel(const store::StateStore& store) : store_(store) {}

  // Visits every recorded appeal (one per appeal event, in event id order). DATA_LOSS when a
  // stored record does not parse.
  Status ForEach(const std::function<void(const AppealRecord&)>& visit) const;
  // How far the follower has read: partition -> next offset.
  Result<std::map<int32_t, int64_t>> Positions() const;

 private:
  const store::StateStore& store_;
};

// Follows adjudication.decisions.v1 into the model: every partition from its stored position
// (the start when none), records and positions in one store batch. Applying is idempotent: an
// output published again has the same input event id, hence the same key and bytes.
// Not thread-safe: one thread runs it; readers use AppealsModel.
class AppealFollower {
 public:
  AppealFollower(store::StateStore& store, bus::Consumer& consumer)
      : store_(store), consumer_(consumer) {}

  // Assigns every partition of the topic from the stored positions.
  Status Start(std::chrono::milliseconds timeout);
  // Applies what arrives within `timeout` as one store batch; returns how many records were
  // consumed.
  Result<size_t> PollOnce(std::chrono::milliseconds timeout);
  // Polls until `stop` (events::RunFollower: errors retried from the store, except ABORTED).
  Status Run(const std::atomic<bool>& stop);

  // Stages one record of the topic into `batch`: the appeal it records, if any (exposed for
  // tests; PollOnce adds the positions).
  static void Stage(const bus::Message& message, store::WriteBatch& batch);

 private:
  store::StateStore& store_;
  bus::Consumer& consumer_;
};

}  // namespace claims::adjudication
