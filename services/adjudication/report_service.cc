#include "services/adjudication/report_service.h"

#include <chrono>
#include <utility>

#include "libs/events/topics.h"
#include "libs/rpc/call.h"
#include "libs/rpc/decode.h"

namespace claims::adjudication {
ReportService::ReportService(const ReportHandler& handler, bool insecure_dev) {
  const std::string name = report_api::ReportService::service_full_name();
  const auto read = rpc::Allow(rpc::Role::kOperator, /*auditor_too=*/true, insecure_dev);
  MarkMethodStreamed(rpc::MethodIndex(name, "GetPlanYearFigures"),
                     rpc::DecodingRead(read, handler, &ReportHandler::Figures));
  MarkMethodStreamed(rpc::MethodIndex(name, "SumPaidClaims"),
                     rpc::DecodingRead(read, handler, &ReportHandler::SumPaid));
}

Result<std::unique_ptr<ReportComponent>> ReportComponent::Start(
    store::StateStore& store, bus::ConsumerOptions consumer_options,
    const runtime::BusinessClock& clock, bool insecure_dev, const runtime::Logger& log) {
  consumer_options.group_id.clear();
  consumer_options.client_id = "adjudication-report";
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(consumer_options);
  if (!consumer.ok()) return consumer.status();
  std::unique_ptr<ReportComponent> component(
      new ReportComponent(store, std::move(consumer).value(), clock, insecure_dev, log));
  component->thread_ = std::thread([c = component.get()] { c->Follow(); });
  return component;
}

ReportComponent::ReportComponent(store::StateStore& store, std::unique_ptr<bus::Consumer> consumer,
                                 const runtime::BusinessClock& clock, bool insecure_dev,
                                 const runtime::Logger& log)
    : consumer_(std::move(consumer)),
      log_(log),
      appeals_(store),
      follower_(store, *consumer_),
      handler_(ReportSources{store, held_, appeals_, input_partitions_, clock}),
      service_(handler_, insecure_dev) {}

ReportComponent::~ReportComponent() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ReportComponent::Follow() {
  // The partition count, then the assignment; each retried until it succeeds or we stop.
  for (int failures = 0; !stop_.load();) {
    Status s = Status::Ok();
    if (input_partitions_.load() == 0) {
      Result<int32_t> count =
          consumer_->PartitionCount(events::kIntakeTopic, std::chrono::seconds(5));
      if (count.ok() && *count > 0) input_partitions_ = *count;
      s = count.status();
    }
    if (s.ok()) s = follower_.Start(std::chrono::seconds(5));
    if (s.ok()) break;
    if (++failures == 1 || failures % 20 == 0) {
      log_.Warn("report: cannot read the topics yet; retrying", {{"status", s}});
    }
    for (int i = 0; i < 5 && !stop_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (stop_.load()) return;
  if (Status s = follower_.Run(stop_); !s.ok()) {
    log_.Error("report: the appeals follower stopped", {{"status", s}});
  }
}

}  // namespace claims::adjudication
