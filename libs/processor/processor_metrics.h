#pragma once

#include <memory>
#include <string>

#include "libs/base/status.h"
#include "libs/runtime/metrics.h"

namespace claims::processor {

// The processor's figures in Prometheus form, for every processor of a process (each labels its
// series with its input topic): records folded live and silently, outputs published and those
// perhaps published again (ProcessorStats::outputs_republished says exactly which), batches
// committed and abandoned, restores, group commit failures, partitions assigned and stalled,
// consumer lag per partition, and batch durations. Register once per registry; hand the same
// object to every Processor of the process (ProcessorOptions::metrics).
class ProcessorMetrics {
 public:
  static Result<std::unique_ptr<ProcessorMetrics>> Register(runtime::MetricsRegistry& registry);

  // One processor's series.
  struct Series {
    runtime::Counter* records_live;
    runtime::Counter* records_silent;
    runtime::Counter* outputs_published;
    runtime::Counter* outputs_republished;
    runtime::Counter* batches_committed;
    runtime::Counter* batches_abandoned;
    runtime::Counter* partitions_restored;
    runtime::Counter* group_commit_failures;
    runtime::Gauge* partitions_assigned;
    runtime::Gauge* partitions_stalled;
    runtime::Histogram* batch_seconds;
  };
  Series ForTopic(const std::string& topic);
  // Records not yet folded in `partition`: the high watermark of the last fetch minus the next
  // offset to fold.
  runtime::Gauge& Lag(const std::string& topic, int32_t partition);

 private:
  ProcessorMetrics() = default;

  runtime::CounterFamily* records_ = nullptr;
  runtime::CounterFamily* outputs_ = nullptr;
  runtime::CounterFamily* republished_ = nullptr;
  runtime::CounterFamily* batches_ = nullptr;
  runtime::CounterFamily* restored_ = nullptr;
  runtime::CounterFamily* commit_failures_ = nullptr;
  runtime::GaugeFamily* assigned_ = nullptr;
  runtime::GaugeFamily* stalled_ = nullptr;
  runtime::GaugeFamily* lag_ = nullptr;
  runtime::HistogramFamily* batch_seconds_ = nullptr;
};

// What the consumers of the pipeline's topics drop because they saw it already: an output
// repeated after its producer restarted (by member and sequence, SequenceFilter), a command
// folded before (by event id), a decision no newer than the one held (by revision).
//   claims_duplicates_dropped_total{service, topic}
// Register once per registry, with the process's service name; every consumer of the process
// counts into the series of the topic it reads.
class DuplicateMetrics {
 public:
  static Result<std::unique_ptr<DuplicateMetrics>> Register(runtime::MetricsRegistry& registry,
                                                            std::string service);
  // The series of `topic`, created at zero. Thread-safe; look it up once and keep it.
  runtime::Counter& ForTopic(const std::string& topic);

 private:
  DuplicateMetrics(runtime::CounterFamily* family, std::string service)
      : family_(family), service_(std::move(service)) {}
  runtime::CounterFamily* family_;
  const std::string service_;
};

}  // namespace claims::processor
