#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/processor/processor.h"
#include "libs/runtime/business_clock.h"
#include "libs/runtime/log.h"
#include "libs/store/state_store.h"
#include "mutualaid/adjudication/v1/report.grpc.pb.h"
#include "services/adjudication/report.h"
#include "services/adjudication/report_appeals.h"
#include "services/adjudication/report_partitions.h"

namespace claims::adjudication {

// The gRPC face of ReportHandler: authenticates the caller, admits operators and auditors,
// decodes the request itself (rpc::DecodingUnary, as ReviewService does), and translates the
// status. Both methods are registered in the constructor. Thread-safe.
class ReportService final : public report_api::ReportService::Service {
 public:
  ReportService(const ReportHandler& handler, bool insecure_dev);
};

// The report API with what it owns: the partitions the processor holds (Track wraps the fold
// factory), the appeals read model's follower on a thread of its own (its own consumer, outside
// any group), which first learns the partition count of intake.events.v1, the logic and its gRPC
// service. Until the follower has read the partition count, calls answer UNAVAILABLE; a failure
// to reach Kafka is retried on that thread, never fatal to the process.
class ReportComponent {
 public:
  // `consumer_options`: how to reach the cluster (its group id is ignored). The store must have
  // been opened with ReportColumnFamilies(); it and `clock` and `log` must outlive this.
  static Result<std::unique_ptr<ReportComponent>> Start(store::StateStore& store,
                                                        bus::ConsumerOptions consumer_options,
                                                        const runtime::BusinessClock& clock,
                                                        bool insecure_dev,
                                                        const runtime::Logger& log);
  // Stops and joins the follower's thread.
  ~ReportComponent();

  ReportComponent(const ReportComponent&) = delete;
  ReportComponent& operator=(const ReportComponent&) = delete;

  // `inner` with the partitions it opens tracked; give the result to the processor.
  processor::FoldFactory Track(processor::FoldFactory inner) {
    return held_.Track(std::move(inner));
  }
  grpc::Service* service() { return &service_; }

 private:
  ReportComponent(store::StateStore& store, std::unique_ptr<bus::Consumer> consumer,
                  const runtime::BusinessClock& clock, bool insecure_dev,
                  const runtime::Logger& log);
  void Follow();

  std::unique_ptr<bus::Consumer> consumer_;
  const runtime::Logger& log_;
  HeldPartitions held_;
  AppealsModel appeals_;
  AppealFollower follower_;
  std::atomic<int32_t> input_partitions_{0};
  ReportHandler handler_;
  ReportService service_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace claims::adjudication
