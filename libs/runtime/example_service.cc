// A stand-in for a service's main(): the wiring every service binary does with
// claims::runtime, and nothing else. The integration test runs it to check the binary
// contract: --help exits 0, a bad flag exits 2, and SIGTERM leads to a clean exit 0.
//
// Once serving, it prints "metrics-port <port>" on stdout.

#include <cstdio>
#include <memory>
#include <optional>
#include <utility>

#include "libs/runtime/flags.h"
#include "libs/runtime/log.h"
#include "libs/runtime/metrics.h"
#include "libs/runtime/metrics_server.h"
#include "libs/runtime/signals.h"

namespace claims::runtime {
namespace {

int Run(int argc, char** argv) {
  FlagSet flag_set =
      FlagSet::ForService("runtime_example_service", "Serves metrics until told to stop.");
  if (!flag_set.Add({"log-level", "debug, info, warn or error.", FlagKind::kString, "info"}).ok()) {
    return 1;
  }
  Result<Flags> flags = flag_set.ParseCommandLine(argc, argv);
  if (std::optional<int> code = ExitCodeBeforeRun(flag_set, flags)) return *code;
  Result<LogLevel> level = ParseLogLevel(flags->String("log-level"));
  if (!level.ok()) {
    std::fprintf(stderr, "runtime_example_service: %s\n", level.status().message().c_str());
    return 2;
  }

  LoggerOptions log_options;
  log_options.min_level = *level;
  Logger log("example", std::move(log_options));
  MetricsRegistry registry;
  Result<GaugeFamily*> up = registry.AddGauge("up", "1 while serving.");
  if (!up.ok()) return 1;
  (*up)->WithLabels({}).Set(1);

  MetricsServerOptions options;
  options.listen = flags->metrics_listen();
  Result<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(&registry, std::move(options));
  if (!server.ok()) {
    log.Error("cannot start the metrics server", {{"status", server.status()}});
    return 1;
  }
  Result<std::unique_ptr<ShutdownSignal>> signal = ShutdownSignal::Install([&](int number) {
    log.Info("shutting down", {{"signal", number}});
    (*server)->Stop();
  });
  if (!signal.ok()) {
    log.Error("cannot install the shutdown signal", {{"status", signal.status()}});
    return 1;
  }
  log.Info("serving", {{"metrics_port", (*server)->port()}});
  std::printf("metrics-port %u\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);

  (*signal)->Wait();
  log.Info("stopped");
  return 0;
}

}  // namespace
}  // namespace claims::runtime

int main(int argc, char** argv) { return claims::runtime::Run(argc, argv); }
