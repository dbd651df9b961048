// intake: the partner-facing gRPC API of the claims pipeline. Wiring only; the logic is in
// intake.cc, the gRPC adapter in intake_service.cc.

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/bus/security.h"
#include "libs/crypto/key_wrap.h"
#include "libs/crypto/keys.h"
#include "libs/processor/processor_metrics.h"
#include "libs/rpc/auth.h"
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
#include "services/intake/adapters.h"
#include "services/intake/claim_follower.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"
#include "services/intake/key_claims.h"
#include "services/intake/key_tombstones.h"
#include "services/intake/vault.h"

namespace claims::intake {
namespace {

using runtime::FlagKind;

// Logs each event once Kafka acknowledged it, with its trace id: where a claim's trace starts.
class LoggedEventLog : public EventLog {
 public:
  LoggedEventLog(EventLog& inner, const runtime::Logger& log) : inner_(inner), log_(log) {}
  Status Append(const mutualaid::events::v1::Envelope& event,
                std::chrono::milliseconds timeout) override {
    Status s = inner_.Append(event, timeout);
    if (s.ok()) Published(event);
    return s;
  }
  std::vector<Status> AppendAll(const std::vector<mutualaid::events::v1::Envelope>& events,
                                std::chrono::milliseconds timeout) override {
    std::vector<Status> out = inner_.AppendAll(events, timeout);
    for (size_t i = 0; i < events.size() && i < out.size(); ++i) {
      if (out[i].ok()) Published(events[i]);
    }
    return out;
  }

 private:
  void Published(const mutualaid::events::v1::Envelope& event) const {
    log_.Info("event published", {{"trace_id", event.trace_id()},
                                  {"type", event.type()},
                                  {"event_id", event.event_id()},
                                  {"topic", kIntakeTopic}});
  }
  EventLog& inner_;
  const runtime::Logger& log_;
};

Status Declare(runtime::FlagSet& flags) {
  const runtime::FlagSpec specs[] = {
      {"pseudonym-key-file", "File with the 32-byte HMAC key of member pseudonyms (raw or hex).",
       FlagKind::kString, "", true},
      {"master-key-file", "File with the 32-byte master key that wraps members' data keys.",
       FlagKind::kString, "", true},
      {"previous-master-key-file",
       "During a master-key rotation only: file with the master key being replaced. Keys it "
       "wrapped still open; new keys are wrapped under --master-key-file.",
       FlagKind::kString, ""},
      {"plan-id", "Plan version new claims and appeals are decided under.", FlagKind::kString,
       "six-guarantees-v1"},
      {"publish-timeout", "How long a call waits for Kafka's acknowledgement.",
       FlagKind::kDurationMs, "10s"},
      {"catch-up-timeout",
       "At start, how long to read intake.events.v1 and the key topic to their end before "
       "serving; exit 1 if that takes longer (the progress is kept for the next start).",
       FlagKind::kDurationMs, "10m"},
      {"idempotency-retention-days",
       "Idempotency keys are purged this many days after their business date (at least 8, so "
       "that a key recorded late in its day is still kept 7 days).",
       FlagKind::kInt, "8"},
      {"idempotency-purge-interval", "How often expired idempotency keys are purged.",
       FlagKind::kDurationMs, "1h"},
      {"bearer-tokens-file",
       "File of lines '<sha256 hex of a token> <principal>': callers may then name themselves "
       "with 'authorization: Bearer <token>' over TLS instead of a client certificate "
       "(--tls-client-ca becomes optional).",
       FlagKind::kString, ""},
      {"max-message-bytes",
       "Largest request message accepted (each record of a BulkEnroll stream); larger ones fail "
       "with RESOURCE_EXHAUSTED.",
       FlagKind::kInt, "4194304"},
  };
  for (const runtime::FlagSpec& spec : specs) {
    if (Status s = flags.Add(spec); !s.ok()) return s;
  }
  if (Status s = runtime::AddLogLevelFlag(flags); !s.ok()) return s;
  if (Status s = bus::AddKafkaSecurityFlags(flags); !s.ok()) return s;
  if (Status s = runtime::AddBusinessDateFlag(flags, "submissions"); !s.ok()) return s;
  if (Status s = rpc::AddTlsFlags(flags, "partners' and operators'"); !s.ok()) return s;
  return flags.SetDefault(runtime::kListenFlag, "127.0.0.1:50051");
}

int Run(int argc, char** argv) {
  runtime::FlagSet flag_set = runtime::FlagSet::ForService(
      "intake", "The partner-facing API: enrollments, claims, appeals and claim status.");
  if (Status s = Declare(flag_set); !s.ok()) {
    std::fprintf(stderr, "intake: %s\n", s.ToString().c_str());
    return 1;
  }
  Result<runtime::Flags> flags = flag_set.ParseCommandLine(argc, argv);
  if (std::optional<int> code = runtime::ExitCodeBeforeRun(flag_set, flags)) return *code;
  Result<std::unique_ptr<runtime::Logger>> logger = runtime::LoggerFromFlags(*flags, "intake");
  if (!logger.ok()) {
    std::fprintf(stderr, "intake: %s\n", logger.status().message().c_str());
    return 2;
  }
  runtime::Logger& log = **logger;
  auto fail = [&](const char* what, const Status& s) {
    log.Error(what, {{"status", s}});
    return 1;
  };

  Result<crypto::PseudonymKey> pseudonym_key =
      crypto::PseudonymKey::FromFile(flags->String("pseudonym-key-file"));
  if (!pseudonym_key.ok()) return fail("cannot load the pseudonym key", pseudonym_key.status());
  Result<crypto::MasterKey> master_key =
      crypto::MasterKey::FromFile(flags->String("master-key-file"));
  if (!master_key.ok()) return fail("cannot load the master key", master_key.status());
  std::optional<crypto::MasterKey> previous_master_key;
  if (const std::string path = flags->String("previous-master-key-file"); !path.empty()) {
    Result<crypto::MasterKey> previous = crypto::MasterKey::FromFile(path);
    if (!previous.ok()) {
      std::fprintf(stderr, "intake: --previous-master-key-file: %s\n",
                   previous.status().message().c_str());
      return 2;
    }
    if (previous->material().SameAs(master_key->material())) {
      std::fprintf(stderr,
                   "intake: --previous-master-key-file: %s holds the same key as "
                   "--master-key-file\n",
                   path.c_str());
      return 2;
    }
    previous_master_key = std::move(previous).value();
  }
  const int64_t retention_days = flags->Int("idempotency-retention-days");
  if (retention_days < kMinIdempotencyRetentionDays || retention_days > 3650) {
    std::fprintf(stderr, "intake: --idempotency-retention-days must be %d-3650, got %lld\n",
                 kMinIdempotencyRetentionDays, static_cast<long long>(retention_days));
    return 2;
  }
  if (flags->Duration("idempotency-purge-interval").count() <= 0) {
    std::fprintf(stderr, "intake: --idempotency-purge-interval must be positive\n");
    return 2;
  }
  const int64_t max_message_bytes = flags->Int("max-message-bytes");
  if (max_message_bytes < 1024 || max_message_bytes > (int64_t{1} << 30)) {
    std::fprintf(stderr, "intake: --max-message-bytes must be 1024-1073741824, got %lld\n",
                 static_cast<long long>(max_message_bytes));
    return 2;
  }
  std::optional<rpc::BearerTokens> bearer_tokens;
  if (const std::string path = flags->String("bearer-tokens-file"); !path.empty()) {
    Result<rpc::BearerTokens> tokens = rpc::BearerTokens::FromFile(path);
    if (!tokens.ok()) {
      std::fprintf(stderr, "intake: --bearer-tokens-file: %s\n",
                   tokens.status().ToString().c_str());
      return 2;
    }
    bearer_tokens = std::move(tokens).value();
  }
  Result<std::unique_ptr<runtime::BusinessClock>> clock = runtime::BusinessClockFromFlags(*flags);
  if (!clock.ok()) {
    std::fprintf(stderr, "intake: %s\n", clock.status().message().c_str());
    return 2;
  }
  Result<std::map<std::string, std::string>> kafka =
      bus::KafkaSecurityProperties(bus::KafkaSecurityFromFlags(*flags));
  if (!kafka.ok()) {
    std::fprintf(stderr, "intake: %s\n", kafka.status().message().c_str());
    return 2;
  }

  store::StoreOptions store_options;
  store_options.column_families = IntakeColumnFamilies();
  Result<std::unique_ptr<store::StateStore>> store =
      store::StateStore::Open(flags->data_dir(), store_options);
  if (!store.ok()) return fail("cannot open the data dir", store.status());

  bus::ProducerOptions producer_options;
  producer_options.bootstrap_servers = flags->bootstrap_servers();
  producer_options.client_id = "intake";
  producer_options.linger_ms = 0;  // calls are batched already (committer.h)
  producer_options.message_timeout_ms =
      static_cast<int>(flags->Duration("publish-timeout").count());
  producer_options.properties = *kafka;
  producer_options.logger = &log;
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(producer_options);
  if (!producer.ok()) return fail("cannot create the Kafka producer", producer.status());
  bus::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = flags->bootstrap_servers();
  consumer_options.client_id = "intake-follower";
  // The key topic appears with the first member key; on the dev broker the follower's metadata
  // request creates it (a production cluster has it created by the deployment).
  consumer_options.properties = *kafka;
  consumer_options.properties["allow.auto.create.topics"] = "true";
  consumer_options.logger = &log;
  Result<std::unique_ptr<bus::Consumer>> consumer = bus::Consumer::Create(consumer_options);
  if (!consumer.ok()) return fail("cannot create the Kafka consumer", consumer.status());
  consumer_options.client_id = "intake-calls";
  Result<std::unique_ptr<bus::Consumer>> calls_consumer = bus::Consumer::Create(consumer_options);
  if (!calls_consumer.ok()) {
    return fail("cannot create the Kafka consumer of the calls log", calls_consumer.status());
  }

  runtime::MetricsRegistry registry;
  Result<std::unique_ptr<rpc::ServerMetrics>> grpc_metrics = rpc::ServerMetrics::Register(registry);
  if (!grpc_metrics.ok()) return fail("cannot register the gRPC metrics", grpc_metrics.status());
  Result<runtime::CounterFamily*> purged_total =
      registry.AddCounter("claims_intake_idempotency_keys_purged_total",
                          "Idempotency records deleted after the retention period.");
  if (!purged_total.ok()) return fail("cannot register the purge metric", purged_total.status());
  Result<std::unique_ptr<store::StoreMetrics>> store_metrics =
      store::StoreMetrics::Register(registry);
  if (!store_metrics.ok()) return fail("cannot register the store metrics", store_metrics.status());
  (*store_metrics)->Watch("intake", **store);

  KafkaKeyTombstoneWriter tombstones(producer_options);
  KeyVault vault(std::move(pseudonym_key).value(),
                 crypto::MasterKeys(std::move(master_key).value(), std::move(previous_master_key)),
                 **store, **producer, tombstones);
  // Before the follower runs (vault.h): the cached keys move under the current master key.
  Result<KeyVault::StoredKeys> rewrapped = vault.RewrapStoredKeys();
  if (!rewrapped.ok()) return fail("cannot re-wrap the stored member keys", rewrapped.status());
  if (rewrapped->rewrapped > 0) {
    log.Info("stored member keys re-wrapped under the current master key",
             {{"count", rewrapped->rewrapped}});
  }
  if (rewrapped->unreadable > 0) {
    log.Warn("stored member keys open under no master key given",
             {{"count", rewrapped->unreadable}});
  }
  KafkaEventLog kafka_log(**producer);
  LoggedEventLog logged_log(kafka_log, log);
  Result<std::unique_ptr<MeteredEventLog>> event_log =
      MeteredEventLog::Register(logged_log, registry);
  if (!event_log.ok()) return fail("cannot register the event metrics", event_log.status());
  Result<std::unique_ptr<CommitMetrics>> commit_metrics = CommitMetrics::Register(registry);
  if (!commit_metrics.ok()) {
    return fail("cannot register the commit metrics", commit_metrics.status());
  }
  IntakeOptions options;
  options.commit_metrics = commit_metrics->get();
  options.plan_id = flags->String("plan-id");
  options.publish_timeout = flags->Duration("publish-timeout");
  options.idempotency_retention_days = static_cast<int>(retention_days);
  KafkaKeyClaims claims(**store, **producer, std::move(calls_consumer).value());
  Intake intake(options, **store, **event_log, vault, claims, **clock);
  const rpc::AuthOptions auth{
      .insecure_dev = flags->insecure_dev(),
      .bearer_tokens = bearer_tokens.has_value() ? &*bearer_tokens : nullptr};
  IntakeService service(intake, auth);
  IntakeAdminService admin_service(intake, auth);

  ClaimFollower follower(**store, **consumer,
                         [&vault](const std::string& key_id) { vault.Forget(key_id); });
  Result<std::unique_ptr<processor::DuplicateMetrics>> duplicates =
      processor::DuplicateMetrics::Register(registry, "intake");
  if (!duplicates.ok()) return fail("cannot register the duplicate metrics", duplicates.status());
  follower.CountDuplicateDecisionsIn(&(*duplicates)->ForTopic(kDecisionsTopic));
  if (Status s = follower.Start(std::chrono::seconds(30)); !s.ok()) {
    return fail("cannot read the claim topics", s);
  }
  // Before serving: every call other replicas answered is known here, so that a retry landing
  // here is answered from the log (README, "Idempotency across replicas").
  if (Status s = follower.CatchUp(flags->Duration("catch-up-timeout")); !s.ok()) {
    return fail("cannot catch up with the log before serving", s);
  }
  // And every key another replica's call holds (key_claims.h).
  if (Status s = claims.CatchUp(flags->Duration("catch-up-timeout")); !s.ok()) {
    return fail("cannot catch up with the calls log before serving", s);
  }
  std::atomic<bool> stop_follower{false};
  std::thread follower_thread([&] {
    // Beside it, the calls log, read while this replica takes no calls.
    std::thread calls_reader([&] {
      if (Status s = claims.Follow(stop_follower); !s.ok()) {
        log.Error("calls log reader stopped", {{"status", s}});
      }
    });
    if (Status s = follower.Run(stop_follower); !s.ok())
      log.Error("follower stopped", {{"status", s}});
    calls_reader.join();  // once stop_follower is set
  });

  rpc::ServerOptions server_options = rpc::ServerOptionsFromFlags(*flags);
  server_options.metrics = grpc_metrics->get();
  server_options.max_receive_message_bytes = static_cast<int>(max_message_bytes);
  server_options.client_certificate_optional = bearer_tokens.has_value();
  Result<std::unique_ptr<rpc::Server>> server =
      rpc::Server::Start(server_options, {&service, &admin_service});
  if (!server.ok()) {
    stop_follower = true;
    follower_thread.join();
    return fail("cannot start the gRPC server", server.status());
  }

  // Expired idempotency keys are purged at start and then every interval, until shutdown.
  std::mutex purge_mu;
  std::condition_variable purge_wake;
  bool stop_purge = false;
  std::thread purge_thread([&] {
    const std::chrono::milliseconds interval = flags->Duration("idempotency-purge-interval");
    std::unique_lock<std::mutex> lock(purge_mu);
    do {
      lock.unlock();
      Result<size_t> purged = intake.PurgeIdempotencyKeys();
      if (purged.ok()) {
        (*purged_total)->WithLabels({}).Increment(static_cast<double>(*purged));
        if (*purged > 0) log.Info("purged expired idempotency keys", {{"count", *purged}});
      } else {
        log.Error("cannot purge expired idempotency keys", {{"status", purged.status()}});
      }
      lock.lock();
    } while (!purge_wake.wait_for(lock, interval, [&] { return stop_purge; }));
  });
  auto stop_purge_thread = [&] {
    {
      std::lock_guard<std::mutex> lock(purge_mu);
      stop_purge = true;
    }
    purge_wake.notify_all();
    purge_thread.join();
  };

  Result<std::unique_ptr<runtime::MetricsServer>> metrics = runtime::ServeMetrics(registry, *flags);
  if (!metrics.ok()) {
    (*server)->Shutdown(std::chrono::milliseconds(0));
    stop_purge_thread();
    stop_follower = true;
    follower_thread.join();
    return fail("cannot start the metrics server", metrics.status());
  }

  Result<std::unique_ptr<runtime::ShutdownSignal>> signal = runtime::ShutdownSignal::Install();
  if (!signal.ok()) {
    (*server)->Shutdown(std::chrono::milliseconds(0));
    stop_purge_thread();
    stop_follower = true;
    follower_thread.join();
    (*metrics)->Stop();
    return fail("cannot install the shutdown signal", signal.status());
  }
  rpc::WarnIfInsecure(log, server_options);
  log.Info("serving", {{"grpc_port", (*server)->port()},
                       {"metrics_port", (*metrics)->port()},
                       {"insecure_dev", flags->insecure_dev()},
                       {"bearer_tokens", bearer_tokens.has_value() ? bearer_tokens->size() : 0}});
  std::printf("grpc-port %d\nmetrics-port %u\n", (*server)->port(),
              static_cast<unsigned>((*metrics)->port()));
  std::fflush(stdout);

  (*signal)->Wait();
  log.Info("shutting down", {{"signal", (*signal)->signal_number()}});
  // Calls in flight finish (their events acknowledged) before the process goes.
  (*server)->Shutdown(std::chrono::seconds(10));
  stop_purge_thread();
  stop_follower = true;
  follower_thread.join();
  (*metrics)->Stop();
  log.Info("stopped");
  return 0;
}

}  // namespace
}  // namespace claims::intake

int main(int argc, char** argv) { return claims::intake::Run(argc, argv); }
