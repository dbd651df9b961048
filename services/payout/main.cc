// payout: pays approved claims exactly once. Wiring only. Two folds run on libs/processor: the
// instructor (adjudication.decisions.v1 -> payment requests on payout.commands.v1, partitioned)
// and the desk (payout.commands.v1, one partition -> payments, batches, the ledger, and every
// event of payout.payments.v1). Every replica follows payout.payments.v1 into a read model that
// the operators' and auditors' API (payout_handler.cc, payout_service.cc) serves from.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "libs/bus/consumer.h"
#include "libs/bus/producer.h"
#include "libs/bus/security.h"
#include "libs/events/event_log.h"
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
#include "services/payout/desk.h"
#include "services/payout/instructor.h"
#include "services/payout/payee_directory.h"
#include "services/payout/payments_model.h"
#include "services/payout/payout_handler.h"
#include "services/payout/payout_ids.h"
#include "services/payout/payout_service.h"

namespace claims::payout {
namespace {

using runtime::FlagKind;

Status Declare(runtime::FlagSet& flags) {
  const runtime::FlagSpec specs[] = {
      {"instructor-group-id", "Kafka consumer group of the instructors (decisions).",
       FlagKind::kString, "payout-instructor"},
      {"desk-group-id", "Kafka consumer group of the desk (one active owner).", FlagKind::kString,
       "payout-desk"},
      {"max-batch", "Records folded per batch at most.", FlagKind::kInt, "1000"},
      {"session-timeout", "Kafka group session timeout.", FlagKind::kDurationMs, "10s"},
      {"publish-timeout", "How long an operator call waits for Kafka's acknowledgement.",
       FlagKind::kDurationMs, "10s"},
      {"max-wait", "How long an operator call waits at most for the desk's answer.",
       FlagKind::kDurationMs, "30s"},
      {"report-part-size",
       "Transactions per record when a pain.002 is passed to the desk in parts.", FlagKind::kInt,
       "5000"},
      {"master-key-file",
       "The master key that unwraps members' data keys (32 bytes, raw or hex), to open payees "
       "for bank files; without it GetBatch cannot render files.",
       FlagKind::kString, ""},
      {"previous-master-key-file",
       "During a master-key rotation only: the master key being replaced. Data keys it wrapped "
       "still open; needs --master-key-file.",
       FlagKind::kString, ""},
      {"initiating-party", "InitgPty/Nm of the bank files.", FlagKind::kString,
       "Mutual-Aid Center"},
      {"fund-name", "The fund's account holder (Dbtr/Nm).", FlagKind::kString,
       "Six Guarantees Mutual-Aid Fund"},
      {"fund-account", "The fund's account number (DbtrAcct).", FlagKind::kString,
       "6222000000000000001"},
      {"fund-bic", "The fund's bank (DbtrAgt BICFI).", FlagKind::kString, "ICBKCNBJXXX"},
      {"test-crash-at",
       "TEST ONLY: FOLD:STEP:COMMAND kills the process (SIGKILL) at STEP (folded, published, "
       "written) of the first batch of FOLD (desk, instructor) that folded COMMAND (a desk "
       "command type such as BatchRequested, ClaimDecided for the instructor, or the event id "
       "of one record).",
       FlagKind::kString, ""},
  };
  for (const runtime::FlagSpec& spec : specs) {
    if (Status s = flags.Add(spec); !s.ok()) return s;
  }
  if (Status s = runtime::AddLogLevelFlag(flags); !s.ok()) return s;
  if (Status s = bus::AddKafkaSecurityFlags(flags); !s.ok()) return s;
  if (Status s = runtime::AddBusinessDateFlag(flags, "operator actions"); !s.ok()) return s;
  if (Status s = rpc::AddTlsFlags(flags, "operators' and auditors'"); !s.ok()) return s;
  if (Status s = flags.SetDefault(runtime::kListenFlag, "127.0.0.1:50053"); !s.ok()) return s;
  return flags.SetDefault(runtime::kMetricsListenFlag, "127.0.0.1:9466");
}

// The TEST-ONLY crash point of --test-crash-at.
struct CrashPoint {
  std::string fold;
  processor::Step step = processor::Step::kFolded;
  std::string command;
};

Result<std::optional<CrashPoint>> ParseCrashPoint(const std::string& text) {
  if (text.empty()) return std::optional<CrashPoint>();
  const size_t a = text.find(':');
  const size_t b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return InvalidArgument("--test-crash-at: FOLD:STEP:COMMAND");
  CrashPoint p;
  p.fold = text.substr(0, a);
  const std::string step = text.substr(a + 1, b - a - 1);
  p.command = text.substr(b + 1);
  if (step == "folded") {
    p.step = processor::Step::kFolded;
  } else if (step == "published") {
    p.step = processor::Step::kPublished;
  } else if (step == "written") {
    p.step = processor::Step::kStoreWritten;
  } else {
    return InvalidArgument("--test-crash-at: STEP is folded, published or written");
  }
  if (p.fold != "desk" && p.fold != "instructor") {
    return InvalidArgument("--test-crash-at: FOLD is desk or instructor");
  }
  return std::optional<CrashPoint>(p);
}

// The short type of a record: the command's body type ("BatchRequested") on the commands topic,
// the envelope's payload type ("ClaimDecided") elsewhere.
std::string TypeOf(const bus::Message& input) {
  mutualaid::events::v1::Envelope e;
  if (!e.ParseFromString(input.value)) return "";
  if (e.type() == kPayoutCommandType) {
    api::PayoutCommand c;
    if (!c.ParseFromString(e.payload()) || c.body_case() == api::PayoutCommand::BODY_NOT_SET) {
      return "";
    }
    return c.GetDescriptor()->FindFieldByNumber(c.body_case())->message_type()->name();
  }
  return e.type().substr(e.type().rfind('.') + 1);
}

std::string IdOf(const bus::Message& input) {
  mutualaid::events::v1::Envelope e;
  return e.ParseFromString(input.value) ? e.event_id() : std::string();
}

// A fold wrapper that notes which commands a batch folded, for the crash hook.
class WatchedFold : public processor::PartitionFold {
 public:
  WatchedFold(std::unique_ptr<processor::PartitionFold> inner, std::string type,
              std::atomic<bool>& armed)
      : inner_(std::move(inner)), type_(std::move(type)), armed_(armed) {}
  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override {
    if (TypeOf(input) == type_ || IdOf(input) == type_) armed_ = true;
    return inner_->Apply(input, batch, outputs);
  }
  Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) override {
    if (TypeOf(input) == type_ || IdOf(input) == type_) armed_ = true;
    return inner_->ApplySilently(input, batch);
  }
  Status Finish(store::WriteBatch& batch) override { return inner_->Finish(batch); }

 private:
  std::unique_ptr<processor::PartitionFold> inner_;
  std::string type_;
  std::atomic<bool>& armed_;
};

Result<std::unique_ptr<store::StateStore>> OpenStore(const std::string& dir,
                                                     std::vector<std::string> families) {
  store::StoreOptions options;
  options.column_families = std::move(families);
  return store::StateStore::Open(dir, options);
}

int Run(int argc, char** argv) {
  runtime::FlagSet flag_set = runtime::FlagSet::ForService(
      "payout", "Pays approved claims from adjudication.decisions.v1 into payout.payments.v1.");
  if (Status s = Declare(flag_set); !s.ok()) {
    std::fprintf(stderr, "payout: %s\n", s.ToString().c_str());
    return 1;
  }
  Result<runtime::Flags> flags = flag_set.ParseCommandLine(argc, argv);
  if (std::optional<int> code = runtime::ExitCodeBeforeRun(flag_set, flags)) return *code;
  Result<std::unique_ptr<runtime::Logger>> logger = runtime::LoggerFromFlags(*flags, "payout");
  if (!logger.ok()) {
    std::fprintf(stderr, "payout: %s\n", logger.status().message().c_str());
    return 2;
  }
  runtime::Logger& log = **logger;
  auto fail = [&](const char* what, const Status& s) {
    log.Error(what, {{"status", s}});
    return 1;
  };
  Result<std::unique_ptr<runtime::ShutdownSignal>> signal = runtime::ShutdownSignal::Install();
  if (!signal.ok()) return fail("cannot install the shutdown signal", signal.status());

  Result<std::unique_ptr<runtime::BusinessClock>> clock = runtime::BusinessClockFromFlags(*flags);
  Result<std::optional<CrashPoint>> crash = ParseCrashPoint(flags->String("test-crash-at"));
  Result<std::map<std::string, std::string>> kafka =
      bus::KafkaSecurityProperties(bus::KafkaSecurityFromFlags(*flags));
  HandlerOptions handler_options;
  handler_options.publish_timeout = flags->Duration("publish-timeout");
  handler_options.max_wait = flags->Duration("max-wait");
  if (flags->Int("report-part-size") < 1 || flags->Int("report-part-size") > 20000) {
    std::fprintf(stderr, "payout: --report-part-size must be 1-20000\n");
    return 2;
  }
  handler_options.report_part_transactions = static_cast<size_t>(flags->Int("report-part-size"));
  for (const Status& s : {clock.status(), crash.status(), kafka.status()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "payout: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (handler_options.publish_timeout.count() <= 0 || handler_options.max_wait.count() <= 0) {
    std::fprintf(stderr, "payout: --publish-timeout and --max-wait must be positive\n");
    return 2;
  }
  if (!flags->String("previous-master-key-file").empty() &&
      flags->String("master-key-file").empty()) {
    std::fprintf(stderr, "payout: --previous-master-key-file: needs --master-key-file\n");
    return 2;
  }

  const std::filesystem::path data_dir(flags->data_dir());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail("cannot create the data dir", Unavailable(ec.message()));
  Result<std::unique_ptr<store::StateStore>> instructor_store =
      OpenStore(data_dir / "instructor", InstructorColumnFamilies());
  if (!instructor_store.ok()) return fail("cannot open the data dir", instructor_store.status());
  Result<std::unique_ptr<store::StateStore>> desk_store =
      OpenStore(data_dir / "desk", DeskColumnFamilies());
  if (!desk_store.ok()) return fail("cannot open the data dir", desk_store.status());
  Result<std::unique_ptr<store::StateStore>> model_store = OpenStore(data_dir / "model", [] {
    std::vector<std::string> families = ModelColumnFamilies();
    for (const std::string& cf : PayeeColumnFamilies()) families.push_back(cf);
    return families;
  }());
  if (!model_store.ok()) return fail("cannot open the data dir", model_store.status());

  bus::ProducerOptions producer_options;
  producer_options.bootstrap_servers = flags->bootstrap_servers();
  producer_options.client_id = "payout";
  producer_options.linger_ms = 1;
  producer_options.properties = *kafka;
  producer_options.logger = &log;
  Result<std::unique_ptr<bus::Producer>> producer = bus::Producer::Create(producer_options);
  if (!producer.ok()) return fail("cannot create the Kafka producer", producer.status());
  if (Status s =
          (*producer)->WarmUp({kPayoutCommandsTopic, kPaymentsTopic}, std::chrono::seconds(5));
      !s.ok()) {
    log.Warn("cannot fetch topic metadata yet", {{"status", s}});
  }
  auto consumer_for = [&](const std::string& client, const std::string& group) {
    bus::ConsumerOptions o;
    o.bootstrap_servers = flags->bootstrap_servers();
    o.client_id = client;
    o.group_id = group;
    o.session_timeout_ms = static_cast<int>(flags->Duration("session-timeout").count());
    o.properties = *kafka;
    o.logger = &log;
    return bus::Consumer::Create(o);
  };
  Result<std::unique_ptr<bus::Consumer>> instructor_consumer =
      consumer_for("payout-instructor", flags->String("instructor-group-id"));
  Result<std::unique_ptr<bus::Consumer>> desk_consumer =
      consumer_for("payout-desk", flags->String("desk-group-id"));
  Result<std::unique_ptr<bus::Consumer>> model_consumer = consumer_for("payout-model", "");
  for (const Status& s :
       {instructor_consumer.status(), desk_consumer.status(), model_consumer.status()}) {
    if (!s.ok()) return fail("cannot create a Kafka consumer", s);
  }

  // TEST ONLY: the crash point.
  std::atomic<bool> armed{false};
  auto hook_for = [&](const std::string& fold) -> std::function<void(processor::Step, uint64_t)> {
    if (!crash->has_value() || (*crash)->fold != fold) return {};
    const processor::Step step = (*crash)->step;
    return [&armed, step](processor::Step at, uint64_t) {
      if (at == step && armed.load()) std::raise(SIGKILL);
    };
  };
  auto watched = [&](const std::string& fold, processor::FoldFactory factory) {
    if (!crash->has_value() || (*crash)->fold != fold) return factory;
    const std::string type = (*crash)->command;
    return processor::FoldFactory(
        [factory, type, &armed](
            int32_t partition,
            store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
          Result<std::unique_ptr<processor::PartitionFold>> inner = factory(partition, store);
          if (!inner.ok()) return inner.status();
          return std::unique_ptr<processor::PartitionFold>(
              new WatchedFold(std::move(inner).value(), type, armed));
        });
  };

  runtime::MetricsRegistry registry;
  Result<std::unique_ptr<processor::ProcessorMetrics>> processor_metrics =
      processor::ProcessorMetrics::Register(registry);
  if (!processor_metrics.ok()) {
    return fail("cannot register the processor metrics", processor_metrics.status());
  }
  Result<std::unique_ptr<processor::DuplicateMetrics>> duplicates =
      processor::DuplicateMetrics::Register(registry, "payout");
  if (!duplicates.ok()) return fail("cannot register the duplicate metrics", duplicates.status());
  Result<std::unique_ptr<store::StoreMetrics>> store_metrics =
      store::StoreMetrics::Register(registry);
  if (!store_metrics.ok()) return fail("cannot register the store metrics", store_metrics.status());
  (*store_metrics)->Watch("payout-instructor", **instructor_store);
  (*store_metrics)->Watch("payout-desk", **desk_store);
  (*store_metrics)->Watch("payout-model", **model_store);
  processor::ProcessorOptions instructor_options;
  instructor_options.metrics = processor_metrics->get();
  instructor_options.logger = &log;
  instructor_options.log_outputs = true;
  instructor_options.input_topic = kDecisionsTopic;
  instructor_options.max_batch_records = static_cast<size_t>(flags->Int("max-batch"));
  instructor_options.test_hook = hook_for("instructor");
  processor::Processor instructor(
      instructor_options, **instructor_consumer, **producer, **instructor_store,
      watched("instructor", InstructorFoldFactory(&(*duplicates)->ForTopic(kDecisionsTopic))));
  processor::ProcessorOptions desk_options;
  desk_options.metrics = processor_metrics->get();
  desk_options.logger = &log;
  desk_options.log_outputs = true;
  desk_options.input_topic = kPayoutCommandsTopic;
  desk_options.max_batch_records = static_cast<size_t>(flags->Int("max-batch"));
  desk_options.test_hook = hook_for("desk");
  processor::Processor desk(
      desk_options, **desk_consumer, **producer, **desk_store,
      watched("desk", DeskFoldFactory(&(*duplicates)->ForTopic(kPayoutCommandsTopic))));

  PaymentsModel model(**model_store);
  PaymentsFollower follower(**model_store, **model_consumer, model,
                            &(*duplicates)->ForTopic(kPaymentsTopic));
  if (Status s = follower.Start(std::chrono::seconds(30)); !s.ok()) {
    return fail("cannot read the payments topic", s);
  }
  std::atomic<bool> stop_follower{false};
  std::thread follower_thread([&] {
    if (Status s = follower.Run(stop_follower); !s.ok()) {
      log.Error("payments follower stopped", {{"status", s}});
    }
  });
  auto stop_following = [&] {
    model.Close();
    stop_follower = true;
    follower_thread.join();
  };

  // The payee directory (only with the master key): intake.events.v1 and keys.members.v1.
  std::unique_ptr<PayeeDirectory> payees;
  std::unique_ptr<PayeeFollower> payee_follower;
  std::unique_ptr<bus::Consumer> payee_consumer;
  std::atomic<bool> stop_payees{false};
  std::thread payee_thread;
  if (!flags->String("master-key-file").empty()) {
    Result<crypto::MasterKey> master =
        crypto::MasterKey::FromFile(flags->String("master-key-file"));
    if (!master.ok()) {
      stop_following();
      std::fprintf(stderr, "payout: --master-key-file: %s\n", master.status().message().c_str());
      return 2;
    }
    std::optional<crypto::MasterKey> previous_master;
    if (const std::string path = flags->String("previous-master-key-file"); !path.empty()) {
      Result<crypto::MasterKey> previous = crypto::MasterKey::FromFile(path);
      if (!previous.ok() || previous->material().SameAs(master->material())) {
        stop_following();
        std::fprintf(stderr, "payout: --previous-master-key-file: %s\n",
                     previous.ok() ? (path + " holds the same key as --master-key-file").c_str()
                                   : previous.status().message().c_str());
        return 2;
      }
      previous_master = std::move(previous).value();
    }
    Result<std::unique_ptr<bus::Consumer>> c = consumer_for("payout-payees", "");
    if (!c.ok()) {
      stop_following();
      return fail("cannot create a Kafka consumer", c.status());
    }
    payee_consumer = std::move(c).value();
    payees = std::make_unique<PayeeDirectory>(
        **model_store, crypto::MasterKeys(std::move(master).value(), std::move(previous_master)));
    payee_follower = std::make_unique<PayeeFollower>(**model_store, *payee_consumer);
    if (Status s = payee_follower->Start(std::chrono::seconds(30)); !s.ok()) {
      stop_following();
      return fail("cannot read the intake and key topics", s);
    }
    payee_thread = std::thread([&] {
      if (Status s = payee_follower->Run(stop_payees); !s.ok()) {
        log.Error("payee follower stopped", {{"status", s}});
      }
    });
  }
  auto stop_payee_follower = [&] {
    stop_payees = true;
    if (payee_thread.joinable()) payee_thread.join();
  };
  BankFileOptions bank;
  bank.initiating_party_name = flags->String("initiating-party");
  bank.debtor_name = flags->String("fund-name");
  bank.debtor_account = flags->String("fund-account");
  bank.debtor_agent_bic = flags->String("fund-bic");

  events::KafkaEventLog command_log(**producer, kPayoutCommandsTopic);
  PayoutHandler handler(handler_options, model, command_log, **clock, payees.get(), bank);
  PayoutService service(handler, flags->insecure_dev());

  Result<std::unique_ptr<rpc::ServerMetrics>> grpc_metrics = rpc::ServerMetrics::Register(registry);
  Result<runtime::GaugeFamily*> by_status = registry.AddGauge(
      "claims_payout_payments", "Payments in the read model, by status.", {"status"});
  Result<runtime::GaugeFamily*> balances =
      registry.AddGauge("claims_payout_ledger_balance_fen",
                        "Ledger balance (debit - credit) by account; the members' payable "
                        "accounts summed as \"payable\".",
                        {"account"});
  Result<runtime::GaugeFamily*> imbalance = registry.AddGauge(
      "claims_payout_ledger_imbalance_fen",
      "Sum of every ledger account's balance (debits - credits): 0 unless the ledger is broken.");
  for (const Status& s :
       {grpc_metrics.status(), by_status.status(), balances.status(), imbalance.status()}) {
    if (!s.ok()) {
      stop_following();
      stop_payee_follower();
      return fail("cannot register the metrics", s);
    }
  }
  rpc::ServerOptions server_options = rpc::ServerOptionsFromFlags(*flags);
  server_options.metrics = grpc_metrics->get();
  Result<std::unique_ptr<rpc::Server>> server = rpc::Server::Start(server_options, {&service});
  if (!server.ok()) {
    stop_following();
    stop_payee_follower();
    return fail("cannot start the gRPC server", server.status());
  }
  Result<std::unique_ptr<runtime::MetricsServer>> metrics = runtime::ServeMetrics(registry, *flags);
  if (!metrics.ok()) {
    (*server)->Shutdown(std::chrono::milliseconds(0));
    stop_following();
    stop_payee_follower();
    return fail("cannot start the metrics server", metrics.status());
  }

  rpc::WarnIfInsecure(log, server_options);
  log.Info("serving", {{"grpc_port", (*server)->port()}, {"metrics_port", (*metrics)->port()}});
  std::printf("grpc-port %d\nmetrics-port %u\n", (*server)->port(),
              static_cast<unsigned>((*metrics)->port()));
  std::fflush(stdout);

  // Metrics refresh: gauges from the read model (the processors count for themselves).
  std::atomic<bool> stop_metrics{false};
  runtime::Gauge& imbalance_gauge = (*imbalance)->WithLabels(std::vector<std::string>{});
  std::thread metrics_thread([&] {
    for (int tick = 0; !stop_metrics.load(); ++tick) {
      if (tick % 20 == 0) {
        if (Result<api::LedgerBalance> ledger = model.Ledger(); ledger.ok()) {
          // Per-member payable accounts would be unbounded label values: summed instead.
          std::map<std::string, int64_t> sums;
          int64_t total = 0;
          for (const api::AccountBalance& b : ledger->accounts()) {
            sums[b.account().rfind("payable/", 0) == 0 ? "payable" : b.account()] +=
                b.balance_fen();
            total += b.balance_fen();
          }
          imbalance_gauge.Set(static_cast<double>(total));
          for (const auto& [account, fen] : sums) {
            (*balances)->WithLabels({account}).Set(static_cast<double>(fen));
          }
        }
        if (Result<std::map<api::PaymentStatus, int64_t>> counts = model.CountByStatus();
            counts.ok()) {
          for (int s = api::INSTRUCTED; s <= api::FAILED; ++s) {
            const auto status = static_cast<api::PaymentStatus>(s);
            (*by_status)
                ->WithLabels({api::PaymentStatus_Name(status)})
                .Set(static_cast<double>((*counts)[status]));
          }
        }
      }
      for (int i = 0; i < 5 && !stop_metrics.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });

  // Both folds stop at the signal after finishing their batch (published, written, committed).
  Status instructor_result;
  std::thread instructor_thread([&] { instructor_result = instructor.Run((*signal)->flag()); });
  const Status desk_result = desk.Run((*signal)->flag());
  if (!desk_result.ok()) {
    // The desk cannot go on: stop the rest too, so that a restart handles it.
    log.Error("desk stopped", {{"status", desk_result}});
    (*signal)->Trigger();
  }
  instructor_thread.join();
  log.Info("stopped",
           {{"instructor_folded", static_cast<int64_t>(instructor.stats().records_folded.load())},
            {"desk_folded", static_cast<int64_t>(desk.stats().records_folded.load())},
            {"desk_published", static_cast<int64_t>(desk.stats().outputs_published.load())}});
  std::printf("instructor-folded=%lu desk-folded=%lu desk-published=%lu\n",
              instructor.stats().records_folded.load(), desk.stats().records_folded.load(),
              desk.stats().outputs_published.load());
  std::fflush(stdout);
  stop_metrics = true;
  metrics_thread.join();
  model.Close();
  (*server)->Shutdown(std::chrono::seconds(5));
  stop_following();
  stop_payee_follower();
  (*metrics)->Stop();
  if (!instructor_result.ok()) return fail("the instructor stopped", instructor_result);
  if (!desk_result.ok()) return fail("the desk stopped", desk_result);
  return 0;
}

}  // namespace
}  // namespace claims::payout

int main(int argc, char** argv) { return claims::payout::Run(argc, argv); }
