#include "libs/processor/processor_metrics.h"

namespace claims::processor {

Result<std::unique_ptr<ProcessorMetrics>> ProcessorMetrics::Register(
    runtime::MetricsRegistry& registry) {
  std::unique_ptr<ProcessorMetrics> m(new ProcessorMetrics());
  auto counter = [&](const char* name, const char* help, std::vector<std::string> labels,
                     runtime::CounterFamily*& out) -> Status {
    Result<runtime::CounterFamily*> f = registry.AddCounter(name, help, std::move(labels));
    if (!f.ok()) return f.status();
    out = *f;
    return Status::Ok();
  };
  auto gauge = [&](const char* name, const char* help, std::vector<std::string> labels,
                   runtime::GaugeFamily*& out) -> Status {
    Result<runtime::GaugeFamily*> f = registry.AddGauge(name, help, std::move(labels));
    if (!f.ok()) return f.status();
    out = *f;
    return Status::Ok();
  };
  for (const Status& s : {
           counter("claims_processor_records_total",
                   "Input records folded, live (outputs published) or silent (restore).",
                   {"topic", "mode"}, m->records_),
           counter("claims_processor_outputs_published_total",
                   "Output records published and acknowledged (acks=all).", {"topic"}, m->outputs_),
           counter("claims_processor_outputs_republished_total",
                   "Outputs published that an earlier owner may have published already: those of "
                   "the first live batch of a partition after a restore, from records that were "
                   "in the log before the restore. Consumers drop the repeats by member and "
                   "sequence. Part of claims_processor_outputs_published_total.",
                   {"topic"}, m->republished_),
           counter("claims_processor_batches_total",
                   "Batches committed, or abandoned (a failed publish or a stalled fold; "
                   "folded again from the store).",
                   {"topic", "result"}, m->batches_),
           counter("claims_processor_partitions_restored_total",
                   "Partitions opened from the store (assignment or retry after a stall).",
                   {"topic"}, m->restored_),
           counter("claims_processor_group_commit_failures_total",
                   "Group offset commits that failed (state stays safe in the store).", {"topic"},
                   m->commit_failures_),
           gauge("claims_processor_partitions_assigned", "Input partitions this replica owns.",
                 {"topic"}, m->assigned_),
           gauge("claims_processor_partitions_stalled",
                 "Owned partitions waiting to retry after an error (e.g. an unknown plan).",
                 {"topic"}, m->stalled_),
           gauge("claims_processor_consumer_lag_records",
                 "Records of an owned partition not yet folded (last fetched high watermark "
                 "minus the next offset).",
                 {"topic", "partition"}, m->lag_),
       }) {
    if (!s.ok()) return s;
  }
  Result<std::vector<double>> bounds = runtime::ExponentialBuckets(0.001, 2, 14);
  if (!bounds.ok()) return bounds.status();
  Result<runtime::HistogramFamily*> seconds = registry.AddHistogram(
      "claims_processor_batch_seconds", "Time to fold, publish, write and commit one batch.",
      *bounds, {"topic"});
  if (!seconds.ok()) return seconds.status();
  m->batch_seconds_ = *seconds;
  return m;
}

ProcessorMetrics::Series ProcessorMetrics::ForTopic(const std::string& topic) {
  Series s;
  s.records_live = &records_->WithLabels({topic, "live"});
  s.records_silent = &records_->WithLabels({topic, "silent"});
  s.outputs_published = &outputs_->WithLabels({topic});
  s.outputs_republished = &republished_->WithLabels({topic});
  s.batches_committed = &batches_->WithLabels({topic, "committed"});
  s.batches_abandoned = &batches_->WithLabels({topic, "abandoned"});
  s.partitions_restored = &restored_->WithLabels({topic});
  s.group_commit_failures = &commit_failures_->WithLabels({topic});
  s.partitions_assigned = &assigned_->WithLabels({topic});
  s.partitions_stalled = &stalled_->WithLabels({topic});
  s.batch_seconds = &batch_seconds_->WithLabels({topic});
  return s;
}

runtime::Gauge& ProcessorMetrics::Lag(const std::string& topic, int32_t partition) {
  return lag_->WithLabels({topic, std::to_string(partition)});
}

Result<std::unique_ptr<DuplicateMetrics>> DuplicateMetrics::Register(
    runtime::MetricsRegistry& registry, std::string service) {
  Result<runtime::CounterFamily*> family = registry.AddCounter(
      "claims_duplicates_dropped_total",
      "Events a consumer dropped because it had them already: repeated outputs (by member and "
      "sequence), commands folded before (by event id), decisions no newer than the one held "
      "(by revision).",
      {"service", "topic"});
  if (!family.ok()) return family.status();
  return std::unique_ptr<DuplicateMetrics>(new DuplicateMetrics(*family, std::move(service)));
}

runtime::Counter& DuplicateMetrics::ForTopic(const std::string& topic) {
  return family_->WithLabels({service_, topic});
}

}  // namespace claims::processor
