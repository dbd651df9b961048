#include "services/intake/committer.h"

#include <algorithm>
#include <utility>

namespace claims::intake {

namespace {

using Clock = std::chrono::steady_clock;

// The bounds of claims_intake_commit_stage_seconds: 50 us to about 1.6 s, doubling.
std::vector<double> StageBuckets() {
  std::vector<double> bounds;
  for (double b = 50e-6; b < 2.0; b *= 2) bounds.push_back(b);
  return bounds;
}

// The bounds of claims_intake_commit_group_calls: 1 to 4096, doubling.
std::vector<double> GroupBuckets() {
  std::vector<double> bounds;
  for (double b = 1; b <= 4096; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace

Result<std::unique_ptr<CommitMetrics>> CommitMetrics::Register(runtime::MetricsRegistry& registry) {
  Result<runtime::HistogramFamily*> stages = registry.AddHistogram(
      "claims_intake_commit_stage_seconds",
      "Time a group of calls spent in each stage of its commit: claim (its keys claimed in the "
      "calls log), publish (its events acknowledged), record (the store write), answer (its "
      "calls answered).",
      StageBuckets(), {"stage"});
  if (!stages.ok()) return stages.status();
  Result<runtime::HistogramFamily*> groups =
      registry.AddHistogram("claims_intake_commit_group_calls",
                            "Calls whose events were published together.", GroupBuckets(), {});
  if (!groups.ok()) return groups.status();
  return std::unique_ptr<CommitMetrics>(
      new CommitMetrics(**stages, (*groups)->WithLabels(std::vector<std::string>{})));
}

CommitMetrics::CommitMetrics(runtime::HistogramFamily& stages, runtime::Histogram& group_calls)
    : group_calls_(group_calls) {
  stages_[static_cast<size_t>(Stage::kClaim)] = &stages.WithLabels({"claim"});
  stages_[static_cast<size_t>(Stage::kPublish)] = &stages.WithLabels({"publish"});
  stages_[static_cast<size_t>(Stage::kRecord)] = &stages.WithLabels({"record"});
  stages_[static_cast<size_t>(Stage::kAnswer)] = &stages.WithLabels({"answer"});
}

void CommitMetrics::Observe(Stage stage, Clock::duration took) {
  stages_[static_cast<size_t>(stage)]->Observe(std::chrono::duration<double>(took).count());
}

const runtime::Histogram& CommitMetrics::stage(Stage stage) const {
  return *stages_[static_cast<size_t>(stage)];
}

Committer::Committer(store::StateStore& store, events::EventLog& log, KeyClaims& claims,
                     PublishFailure publish_failure, size_t max_group, int publishers,
                     CommitMetrics* metrics)
    : store_(store),
      log_(log),
      claims_(claims),
      publish_failure_(std::move(publish_failure)),
      max_group_(std::max<size_t>(max_group, 1)),
      metrics_(metrics) {
  for (int i = 0; i < std::max(publishers, 1); ++i) {
    publishers_.emplace_back([this] { Publish(); });
  }
  awaiter_ = std::thread([this] { AwaitElsewhere(); });
}

Committer::~Committer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  publisher_wake_.notify_all();
  for (std::thread& t : publishers_) t.join();  // once everything handed over is through
  {
    std::lock_guard<std::mutex> lock(mu_);
    publishers_done_ = true;
  }
  elsewhere_wake_.notify_all();
  awaiter_.join();  // once every call left to another replica is answered
}

void Committer::CommitAsync(std::shared_ptr<Mutation> mutation,
                            std::chrono::steady_clock::time_point deadline, Done done) {
  auto ticket = std::make_shared<Ticket>();
  ticket->mutation = std::move(mutation);
  ticket->deadline = deadline;
  ticket->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(ticket));
  }
  publisher_wake_.notify_one();
}

Status Committer::Commit(std::shared_ptr<Mutation> mutation,
                         std::chrono::steady_clock::time_point deadline) {
  return AwaitCallback<Status>(deadline, kCommitTooLate, [&](Done done) {
    CommitAsync(std::move(mutation), deadline, std::move(done));
  });
}

uint64_t Committer::pending_writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_writes_;
}

uint64_t Committer::done_writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_writes_;
}

uint64_t Committer::mutations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutations_;
}

void Committer::Finish(const std::vector<std::shared_ptr<Ticket>>& tickets) {
  if (tickets.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mutations_ += tickets.size();
  }
  for (const auto& ticket : tickets) {
    ticket->mutation->held.reset();  // a retry with the key may run from now on
    ticket->done(std::move(ticket->status));
  }
}

Status KeyReused(const std::string& key, const std::string& method,
                 const mutualaid::intake::v1::storage::IdempotencyRecord& holder) {
  return AlreadyExists("idempotency key '" + key + "' was already used for a different " +
                       (holder.method() == method ? "request" : holder.method() + " call"));
}

ClaimedKeys ClaimKeys(KeyClaims& claims, const std::vector<KeyClaims::Claim>& wanted,
                      std::chrono::milliseconds budget,
                      const std::function<Status(size_t, const Status&)>& undecided) {
  ClaimedKeys out;
  out.refusals.resize(wanted.size());
  out.elsewhere.resize(wanted.size(), false);
  const auto claiming = std::chrono::steady_clock::now();
  const auto holders = claims.ClaimAll(wanted, budget);
  for (size_t k = 0; k < wanted.size(); ++k) {
    if (!holders[k].ok()) {
      out.refusals[k] = undecided(k, holders[k].status());
    } else if (!SameCall(*holders[k], wanted[k].call)) {
      const std::string& record_key = wanted[k].record_key;
      out.refusals[k] = KeyReused(record_key.substr(record_key.find('\0') + 1),
                                  wanted[k].call.method(), *holders[k]);
    } else {
      out.elsewhere[k] = holders[k]->claimed_by() != claims.replica();
    }
  }
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - claiming);
  out.left = std::max(budget - spent, std::chrono::milliseconds(1));
  return out;
}

Result<bool> DoneElsewhere(store::StateStore& store, const std::string& cf,
                           const std::string& record_key,
                           const mutualaid::intake::v1::storage::IdempotencyRecord& call) {
  Result<std::optional<std::string>> found = store.Get(cf, record_key);
  if (!found.ok()) return found.status();
  mutualaid::intake::v1::storage::IdempotencyRecord record;
  return found->has_value() && record.ParseFromString(**found) && record.done() &&
         SameCall(record, call);
}

std::string PendingRecord(mutualaid::intake::v1::storage::IdempotencyRecord record,
                          const mutualaid::events::v1::Envelope& event) {
  record.set_done(false);
  record.set_event(event.SerializeAsString());
  return record.SerializeAsString();
}

void Committer::Publish() {
  for (;;) {
    Group group;
    std::vector<std::shared_ptr<Ticket>> finished;
    {
      std::unique_lock<std::mutex> lock(mu_);
      publisher_wake_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stopping, and everything handed over is taken
      // Everything waiting: one round trip for the lot.
      const auto now = std::chrono::steady_clock::now();
      while (!queue_.empty() && group.size() < max_group_) {
        std::shared_ptr<Ticket> ticket = std::move(queue_.front());
        queue_.pop_front();
        if (now >= ticket->deadline) {
          ticket->status = Status(StatusCode::kDeadlineExceeded, kCommitTooLate);  // nothing done
          finished.push_back(std::move(ticket));
        } else {
          group.push_back(std::move(ticket));
        }
      }
    }
    Finish(finished);
    finished.clear();
    if (group.empty()) continue;

    if (const Status health = store_.WriteHealth(); !health.ok()) {
      // The store failed a write: publish nothing it could not record.
      for (const auto& ticket : group) ticket->status = health;
      Finish(group);
      continue;
    }

    // The keys first: only calls that hold their keys are published. A recorded mutation
    // claimed its key when it was first published.
    std::chrono::milliseconds budget{0};
    std::vector<KeyClaims::Claim> wanted;
    std::vector<size_t> of;  // index in `group` of each claim
    for (size_t i = 0; i < group.size(); ++i) {
      const Mutation& m = *group[i]->mutation;
      budget = std::max(budget, m.budget);
      if (m.recorded) continue;
      wanted.push_back({m.record_key, m.record});
      of.push_back(i);
    }
    const Clock::time_point claiming = Clock::now();
    const ClaimedKeys claimed =
        ClaimKeys(claims_, wanted, budget, [&](size_t k, const Status& error) {
          return publish_failure_(error, group[of[k]]->mutation->budget);
        });
    if (metrics_ != nullptr)
      metrics_->Observe(CommitMetrics::Stage::kClaim, Clock::now() - claiming);
    bool any_elsewhere = false;
    for (size_t k = 0; k < of.size(); ++k) {
      if (claimed.elsewhere[k]) {
        std::shared_ptr<Ticket>& ticket = group[of[k]];
        ticket->publish_at = std::chrono::steady_clock::now() + ticket->mutation->budget / 2;
        std::lock_guard<std::mutex> lock(mu_);
        elsewhere_.push_back(std::move(ticket));
        any_elsewhere = true;
        continue;
      }
      if (claimed.refusals[k].ok()) continue;
      group[of[k]]->status = claimed.refusals[k];
      finished.push_back(std::move(group[of[k]]));
    }
    if (any_elsewhere) elsewhere_wake_.notify_one();
    Group held;  // the calls that hold their keys
    for (auto& ticket : group) {
      if (ticket != nullptr) held.push_back(std::move(ticket));
    }
    Finish(finished);
    group = std::move(held);
    if (group.empty()) continue;

    PublishHeld(group, claimed.left);
  }
}

void Committer::PublishHeld(Group& group, std::chrono::milliseconds budget) {
  std::vector<mutualaid::events::v1::Envelope> events;
  events.reserve(group.size());
  for (const auto& ticket : group) events.push_back(std::move(ticket->mutation->event));
  Clock::time_point stage_began = Clock::now();
  // Ends the stage begun at `stage_began` and begins the next.
  auto stage_done = [&](CommitMetrics::Stage stage) {
    if (metrics_ == nullptr) return;
    const Clock::time_point now = Clock::now();
    metrics_->Observe(stage, now - stage_began);
    stage_began = now;
  };
  if (metrics_ != nullptr) metrics_->ObserveGroup(group.size());
  const std::vector<Status> outcomes = log_.AppendAll(events, budget);
  stage_done(CommitMetrics::Stage::kPublish);

  // The outcome of every event, in one write without fsync (see the class comment for why
  // that is safe): the done records and state of the acknowledged events, the pending records
  // (with the event's bytes) of the others.
  store::WriteBatch batch;
  bool any_done = false;
  bool any_pending = false;
  for (size_t i = 0; i < group.size(); ++i) {
    Mutation& m = *group[i]->mutation;
    if (!outcomes[i].ok()) {
      group[i]->status = publish_failure_(outcomes[i], m.budget);
      if (!m.recorded) {
        batch.Put(m.cf, m.record_key, PendingRecord(m.record, events[i]));
        any_pending = true;
      }
      continue;
    }
    m.record.set_done(true);
    m.record.clear_event();  // published: only the answer is needed from now on
    batch.Append(m.state);
    batch.Put(m.cf, m.record_key, m.record.SerializeAsString());
    any_done = true;
  }
  if (!batch.empty()) {
    const Status written = store_.Write(batch, store::Durability::kNoSync);
    for (size_t i = 0; i < group.size(); ++i) {
      if (outcomes[i].ok()) group[i]->status = written;  // in Kafka, but maybe not recorded
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (any_done) ++done_writes_;
    if (any_pending) ++pending_writes_;
  }
  stage_done(CommitMetrics::Stage::kRecord);
  Finish(group);
  stage_done(CommitMetrics::Stage::kAnswer);
}

void Committer::AwaitElsewhere() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    elsewhere_wake_.wait(lock, [&] { return !elsewhere_.empty() || publishers_done_; });
    if (elsewhere_.empty()) return;  // the publishers are through, and so is every call here
    const bool stopping = publishers_done_;
    std::vector<std::shared_ptr<Ticket>> waiting = std::move(elsewhere_);
    elsewhere_.clear();
    lock.unlock();

    const auto now = std::chrono::steady_clock::now();
    Group answered;  // done by the other replica, or unreadable here
    Group due;       // not done in time: published here
    std::vector<std::shared_ptr<Ticket>> still;
    std::chrono::milliseconds budget{1};
    for (auto& ticket : waiting) {
      const Mutation& m = *ticket->mutation;
      const Result<bool> done = DoneElsewhere(store_, m.cf, m.record_key, m.record);
      if (!done.ok()) {
        ticket->status = done.status();
        answered.push_back(std::move(ticket));
      } else if (*done) {
        ticket->status = Status::Ok();  // its event is in the log, published by the other replica
        answered.push_back(std::move(ticket));
      } else if (stopping || now >= ticket->publish_at) {
        budget = std::max(budget, m.budget / 2);  // the half it did not wait
        due.push_back(std::move(ticket));
      } else {
        still.push_back(std::move(ticket));
      }
    }
    Finish(answered);
    if (!due.empty()) {
      if (const Status health = store_.WriteHealth(); !health.ok()) {
        for (const auto& ticket : due) ticket->status = health;
        Finish(due);
      } else {
        PublishHeld(due, budget);
      }
    }

    lock.lock();
    for (auto& ticket : still) elsewhere_.push_back(std::move(ticket));
    if (!elsewhere_.empty() && !publishers_done_) {
      elsewhere_wake_.wait_for(lock, std::chrono::milliseconds(5));  // then reads the store again
    }
  }
}

}  // namespace claims::intake
