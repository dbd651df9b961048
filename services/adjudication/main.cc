// adjudication: decides every claim with the rules engine, partition by partition, effectively
// once, and serves reviewers their queue. Wiring only; the fold is adjudication_fold.cc, the loop
// libs/processor, the review API review.cc (logic), review_service.cc (gRPC) and review_model.cc
// (its read model, followed from adjudication.decisions.v1 on a thread of its own).

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "libs/base/date.h"
#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/bus/security.h"
#include "libs/processor/processor.h"
#include "libs/rpc/server.h"
#include "libs/rpc/server_metrics.h"
#include "libs/runtime/flags.h"
#include "libs/runtime/log.h"
#include "libs/runtime/metrics.h"
#include "libs/runtime/metrics_server.h"
#include "libs/runtime/service.h"
#include "libs/runtime/signals.h"
#include "libs/store/state_store.h"
#include "libs/store/store_metrics.h"
#include "services/adjudication/adjudication_fold.h"
#include "services/adjudication/plans.h"
#include "services/adjudication/report_service.h"
#include "services/adjudication/review.h"
#include "services/adjudication/review_model.h"
#include "services/adjudication/review_service.h"

namespace claims::adjudication {
namespace {

using runtime::FlagKind;

Status Declare(runtime::FlagSet& flags) {
  const runtime::FlagSpec specs[] = {
      {"plans-dir", "Directory of plan files (*.textproto); each is immutable once published.",
       FlagKind::kString, "", true},
      {"default-plan", "Plan of events that name none (enrollments, terminations).",
       FlagKind::kString, "six-guarantees-v1"},
      {"group-id", "Kafka consumer group of the adjudication replicas.", FlagKind::kString,
       "adjudication"},
      {"max-batch", "Records folded per batch at most.", FlagKind::kInt, "1000"},
      {"fold-threads",
       "Threads folding a batch's partitions side by side (restore and large batches); 1-64.",
       FlagKind::kInt, "2"},
      {"session-timeout", "Kafka group session timeout.", FlagKind::kDurationMs, "10s"},
      {"publish-timeout", "How long a review waits for Kafka's acknowledgement.",
       FlagKind::kDurationMs, "10s"},
      {"review-max-wait", "How long a review waits at most for its decision (and its ack).",
       FlagKind::kDurationMs, "30s"},
  };
  for (const runtime::FlagSpec& spec : specs) {
    if (Status s = flags.Add(spec); !s.ok()) return s;
  }
  if (Status s = runtime::AddLogLevelFlag(flags); !s.ok()) return s;
  if (Status s = bus::AddKafkaSecurityFlags(flags); !s.ok()) return s;
  if (Status s = runtime::AddBusinessDateFlag(flags, "reviews"); !s.ok()) return s;
  if (Status s = rpc::AddTlsFlags(flags, "reviewers' and auditors'"); !s.ok()) return s;
  if (Status s = flags.SetDefault(runtime::kListenFlag, "127.0.0.1:50052"); !s.ok()) return s;
  return flags.SetDefault(runtime::kMetricsListenFlag, "127.0.0.1:9465");
}

int Run(int argc, char** argv) {
  runtime::FlagSet flag_set = runtime::FlagSet::ForService(
      "adjudication", "Decides claims from intake.events.v1 into adjudication.decisions.v1.");
  if (Status s = Declare(flag_set); !s.ok()) {
    std::fprintf(stderr, "adjudication: %s\n", s.ToString().c_str());
    return 1;
  }
  Result<runtime::Flags> flags = flag_set.ParseCommandLine(argc, argv);
  if (std::optional<int> code = runtime::ExitCodeBeforeRun(flag_set, flags)) return *code;
  Result<std::unique_ptr<runtime::Logger>> logger =
      runtime::LoggerFromFlags(*flags, "adjudication");
  if (!logger.ok()) {
    std::fprintf(stderr, "adjudication: %s\n", logger.status().message().c_str());
    return 2;
  }
  runtime::Logger& log = **logger;
  auto fail = [&](const char* what, const Status& s) {
    log.Error(what, {{"status", s}});
    return 1;
  };

  // First, so that a SIGTERM during start-up is a clean stop too.
  Result<std::unique_ptr<runtime::ShutdownSignal>> signal = runtime::ShutdownSignal::Install();
  if (!signal.ok()) return fail("cannot install the shutdown signal", signal.status());

  Result<PlanRegistry> plans =
      PlanRegistry::Load(flags->String("plans-dir"), flags->String("default-plan"));
  if (!plans.ok()) {
    std::fprintf(stderr, "adjudication: %s\n", plans.status().ToString().c_str());
    return 2;
  }
  for (const auto& [id, plan] : plans->plans()) {
    log.Info("plan loaded", {{"plan_id", id}, {"sha256", plan.sha256}});
  }

  Result<std::unique_ptr<runtime::BusinessClock>> clock = runtime::BusinessClockFromFlags(*flags);
  if (!clock.ok()) {
    std::fprintf(stderr, "adjudication: %s\n", clock.status().message().c_str());
    return 2;
  }
  Result<std::map<std::string, std::string>> kafka =
      bus::KafkaSecurityProperties(bus::KafkaSecurityFromFlags(*flags));
  if (!kafka.ok()) {
    std::fprintf(stderr, "adjudication: %s\n", kafka.status().message().c_str());
    return 2;
  }
  ReviewOptions review_options;
  review_options.publish_timeout = flags->Duration("publish-timeout");
  review_options.max_wait = flags->Duration("review-max-wait");
  if (review_options.publish_timeout.count() <= 0 || review_options.max_wait.count() <= 0) {
    std::fprintf(stderr,
                 "adjudication: --publish-timeout and --review-max-wait must be positive\n");
    return 2;
  }

  store::StoreOptions store_options;
  store_options.column_families = AdjudicationColumnFamilies();
  for (const std::string& cf : ReviewColumnFamilies()) store_options.column_families.push_back(cf);
  for (const std::string& cf : ReportColumnFamilies()) store_options.column_families.push_back(cf);
  Result<std::unique_ptr<store::StateStore>> store =
      store::StateStore::Open(flags->data_dir(), store_options);
  if (!store.ok()) return fail("cannot open the data dir", store.status());
  bus::ProducerOptions producer_options;
  producer_options.bootstrap_servers = flags->bootstrap_servers();
  producer_options.client_id = "adjudication";
  producer_options.linger_ms = 1;
  producer_options.properties = *kafka;
  producer_options.logger = &log;
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(producer_options);
  if (!producer.ok()) return fail("cannot create the Kafka producer", producer.status());
  if (Status s = (*producer)->WarmUp({kDecisionsTopic, kInputTopic}, std::chrono::seconds(5));
      !s.ok()) {
    log.Warn("cannot fetch topic metadata yet; the first decisions may wait for it",
             {{"status", s}});
  }
  bus::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = flags->bootstrap_servers();
  consumer_options.client_id = "adjudication";
  consumer_options.read_headers = false;  // the fold reads envelopes only
  consumer_options.group_id = flags->String("group-id");
  consumer_options.session_timeout_ms =
      static_cast<int>(flags->Duration("session-timeout").count());
  consumer_options.properties = *kafka;
  consumer_options.logger = &log;
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(consumer_options);
  if (!consumer.ok()) return fail("cannot create the Kafka consumer", consumer.status());

  runtime::MetricsRegistry registry;
  Result<std::unique_ptr<processor::ProcessorMetrics>> processor_metrics =
      processor::ProcessorMetrics::Register(registry);
  if (!processor_metrics.ok()) {
    return fail("cannot register the processor metrics", processor_metrics.status());
  }
  Result<std::unique_ptr<DecisionMetrics>> decision_metrics = DecisionMetrics::Register(registry);
  if (!decision_metrics.ok()) {
    return fail("cannot register the decision metrics", decision_metrics.status());
  }
  Result<std::unique_ptr<processor::DuplicateMetrics>> duplicates =
      processor::DuplicateMetrics::Register(registry, "adjudication");
  if (!duplicates.ok()) return fail("cannot register the duplicate metrics", duplicates.status());
  Result<std::unique_ptr<store::StoreMetrics>> store_metrics =
      store::StoreMetrics::Register(registry);
  if (!store_metrics.ok()) return fail("cannot register the store metrics", store_metrics.status());
  (*store_metrics)->Watch("adjudication", **store);
  processor::ProcessorOptions options;
  options.metrics = processor_metrics->get();
  options.logger = &log;
  options.log_outputs = true;
  options.input_topic = kInputTopic;
  options.max_batch_records = static_cast<size_t>(flags->Int("max-batch"));
  const int64_t fold_threads = flags->Int("fold-threads");
  if (fold_threads < 1 || fold_threads > 64) {
    return fail("--fold-threads must be 1 to 64",
                InvalidArgument("fold-threads is " + std::to_string(fold_threads)));
  }
  options.fold_threads = static_cast<size_t>(fold_threads);
  // The auditors' plan-year report (report.proto) over the partitions the processor holds.
  Result<std::unique_ptr<ReportComponent>> report =
      ReportComponent::Start(**store, consumer_options, **clock, flags->insecure_dev(), log);
  if (!report.ok()) return fail("cannot start the report API", report.status());
  processor::Processor processor(
      options, **consumer, **producer, **store,
      (*report)->Track(AdjudicationFoldFactory(*plans, decision_metrics->get())));

  // The reviewers' read model, followed by every replica in full (no group) on its own thread.
  bus::ConsumerOptions follower_options;
  follower_options.bootstrap_servers = flags->bootstrap_servers();
  follower_options.client_id = "adjudication-review";
  follower_options.properties = *kafka;
  follower_options.logger = &log;
  Result<std::unique_ptr<bus::Consumer>> follower_consumer =
      bus::Consumer::Create(follower_options);
  if (!follower_consumer.ok()) {
    return fail("cannot create the decisions consumer", follower_consumer.status());
  }
  ReviewModel review_model(**store);
  DecisionFollower follower(**store, **follower_consumer, review_model,
                            &(*duplicates)->ForTopic(kDecisionsTopic));
  if (Status s = follower.Start(std::chrono::seconds(30)); !s.ok()) {
    return fail("cannot read the decisions topic", s);
  }
  std::atomic<bool> stop_follower{false};
  std::thread follower_thread([&] {
    if (Status s = follower.Run(stop_follower); !s.ok()) {
      log.Error("decision follower stopped", {{"status", s}});
    }
  });
  // The review queue's age for alerts: the business date of the oldest REFERRED decision, as a
  // Unix timestamp (Prometheus computes the age with time()); 0 when the queue is empty.
  Result<runtime::GaugeFamily*> oldest_referral = registry.AddGauge(
      "claims_adjudication_referral_oldest_timestamp_seconds",
      "Date (Unix seconds, midnight UTC) of the oldest REFERRED claim waiting for review; 0 when "
      "none waits.");
  if (!oldest_referral.ok()) {
    stop_follower = true;
    follower_thread.join();
    return fail("cannot register the review queue metric", oldest_referral.status());
  }
  runtime::Gauge& oldest_referral_gauge =
      (*oldest_referral)->WithLabels(std::vector<std::string>{});
  std::thread queue_age_thread([&] {
    uint64_t seen = 0;
    while (!stop_follower.load()) {
      Result<ReferredPage> oldest = review_model.ListReferred(ReferredFilter{}, 1, "");
      if (oldest.ok()) {
        double seconds = 0;
        if (!oldest->decisions.empty()) {
          if (auto d = Date::Parse(oldest->decisions.front().decision.decided_on())) {
            seconds = 86400.0 * d->days_since_epoch();
          }
        }
        oldest_referral_gauge.Set(seconds);
      }
      seen = review_model.WaitForChange(seen,
                                        std::chrono::steady_clock::now() + std::chrono::seconds(1));
    }
  });
  auto stop_following = [&] {
    review_model.Close();
    stop_follower = true;
    follower_thread.join();
    queue_age_thread.join();
  };
  KafkaReviewLog review_log(**producer);
  ReviewHandler review_handler(review_options, review_model, review_log, **clock);
  ReviewService review_service(review_handler, flags->insecure_dev());

  Result<std::unique_ptr<rpc::ServerMetrics>> grpc_metrics = rpc::ServerMetrics::Register(registry);
  if (!grpc_metrics.ok()) {
    stop_following();
    return fail("cannot register the gRPC metrics", grpc_metrics.status());
  }
  rpc::ServerOptions server_options = rpc::ServerOptionsFromFlags(*flags);
  server_options.metrics = grpc_metrics->get();
  Result<std::unique_ptr<rpc::Server>> server =
      rpc::Server::Start(server_options, {&review_service, (*report)->service()});
  if (!server.ok()) {
    stop_following();
    return fail("cannot start the gRPC server", server.status());
  }

  Result<std::unique_ptr<runtime::MetricsServer>> metrics = runtime::ServeMetrics(registry, *flags);
  if (!metrics.ok()) {
    (*server)->Shutdown(std::chrono::milliseconds(0));
    stop_following();
    return fail("cannot start the metrics server", metrics.status());
  }

  rpc::WarnIfInsecure(log, server_options);
  log.Info("serving", {{"grpc_port", (*server)->port()}, {"metrics_port", (*metrics)->port()}});
  std::printf("grpc-port %d\nmetrics-port %u\n", (*server)->port(),
              static_cast<unsigned>((*metrics)->port()));
  std::fflush(stdout);

  // The processor stops at the signal after finishing its batch (published, written, committed).
  const Status result = processor.Run((*signal)->flag());
  const processor::ProcessorStats& stats = processor.stats();
  log.Info("stopped",
           {{"records_folded", static_cast<int64_t>(stats.records_folded.load())},
            {"records_silent", static_cast<int64_t>(stats.records_silent.load())},
            {"outputs_published", static_cast<int64_t>(stats.outputs_published.load())}});
  std::printf("folded=%lu silent=%lu published=%lu\n", stats.records_folded.load(),
              stats.records_silent.load(), stats.outputs_published.load());
  std::fflush(stdout);
  // Reviews waiting for a decision answer at once (their event is recorded; the decision follows
  // from another replica or the next start), then the server drains.
  review_model.Close();
  (*server)->Shutdown(std::chrono::seconds(5));
  stop_following();
  (*metrics)->Stop();
  if (!result.ok()) return fail("processing stopped", result);
  return 0;
}

}  // namespace
}  // namespace claims::adjudication

int main(int argc, char** argv) { return claims::adjudication::Run(argc, argv); }
