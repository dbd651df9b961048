#include "services/intake/committer.h"

#include <algorithm>
#include <utility>

namespace claims::intake {

Committer::Committer(store::StateStore& store, events::EventLog& log,
                     PublishFailure publish_failure, size_t max_group, int publishers)
    : store_(store),
      log_(log),
      publish_failure_(std::move(publish_failure)),
      max_group_(std::max<size_t>(max_group, 1)) {
  writer_ = std::thread([this] { Write(); });
  for (int i = 0; i < std::max(publishers, 1); ++i) {
    publishers_.emplace_back([this] { Publish(); });
  }
}

Committer::~Committer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  writer_wake_.notify_one();
  writer_.join();  // once everything handed over is recorded (or refused)
  for (std::thread& t : publishers_) t.join();  // once everything recorded is through
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
  writer_wake_.notify_one();
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

void Committer::Write() {
  for (;;) {
    Group fresh;
    std::vector<std::shared_ptr<Ticket>> finished;
    {
      std::unique_lock<std::mutex> lock(mu_);
      writer_wake_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) {
        writer_done_ = true;  // stopping, and nothing is left to record
        publisher_wake_.notify_all();
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      while (!queue_.empty() && fresh.size() < max_group_) {
        std::shared_ptr<Ticket> ticket = std::move(queue_.front());
        queue_.pop_front();
        if (now >= ticket->deadline) {
          ticket->status = Status(StatusCode::kDeadlineExceeded, kCommitTooLate);  // nothing done
          finished.push_back(std::move(ticket));
        } else {
          fresh.push_back(std::move(ticket));
        }
      }
    }

    // One write (without fsync: see the class comment) for the new group's pending records.
    store::WriteBatch batch;
    for (const auto& ticket : fresh) {
      const Mutation& m = *ticket->mutation;
      if (!m.recorded) batch.Put(m.cf, m.record_key, m.record.SerializeAsString());
    }
    const Status written =
        batch.empty() ? Status::Ok() : store_.Write(batch, store::Durability::kNoSync);

    Group to_publish;
    for (auto& ticket : fresh) {
      if (written.ok() || ticket->mutation->recorded) {
        to_publish.push_back(std::move(ticket));
      } else {
        ticket->status = written;  // nothing recorded, nothing published
        finished.push_back(std::move(ticket));
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!batch.empty()) ++pending_writes_;
      if (!to_publish.empty()) to_publish_.push_back(std::move(to_publish));
    }
    publisher_wake_.notify_one();
    Finish(finished);
  }
}

void Committer::Publish() {
  for (;;) {
    Group group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      publisher_wake_.wait(lock, [&] { return !to_publish_.empty() || writer_done_; });
      if (to_publish_.empty()) return;
      // Everything the writer has recorded since: one round trip for the lot.
      while (!to_publish_.empty() && group.size() < max_group_) {
        for (auto& ticket : to_publish_.front()) group.push_back(std::move(ticket));
        to_publish_.pop_front();
      }
    }
    std::vector<mutualaid::events::v1::Envelope> events;
    events.reserve(group.size());
    std::chrono::milliseconds budget{0};
    for (const auto& ticket : group) {
      events.push_back(std::move(ticket->mutation->event));
      budget = std::max(budget, ticket->mutation->budget);
    }
    const std::vector<Status> outcomes = log_.AppendAll(events, budget);

    // The done records and state of the acknowledged events, in one write without fsync (see
    // the class comment for why that is safe).
    store::WriteBatch batch;
    std::vector<std::shared_ptr<Ticket>> acknowledged;
    for (size_t i = 0; i < group.size(); ++i) {
      Mutation& m = *group[i]->mutation;
      if (!outcomes[i].ok()) {
        group[i]->status = publish_failure_(outcomes[i], m.budget);
        continue;
      }
      m.record.set_done(true);
      m.record.clear_event();  // published: only the answer is needed from now on
      batch.Append(m.state);
      batch.Put(m.cf, m.record_key, m.record.SerializeAsString());
      acknowledged.push_back(group[i]);
    }
    const Status written =
        batch.empty() ? Status::Ok() : store_.Write(batch, store::Durability::kNoSync);
    for (const auto& ticket : acknowledged) ticket->status = written;
    if (!batch.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++done_writes_;
    }
    Finish(group);
  }
}

}  // namespace claims::intake
