// devbroker: librdkafka's mock Kafka cluster as a process, with the pipeline's topics and a
// fault-control port for tests. Wiring only; see --help.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "services/devbroker/announce.h"
#include "services/devbroker/control_handler.h"
#include "services/devbroker/control_server.h"
#include "services/devbroker/flags.h"
#include "services/devbroker/mock_cluster.h"

namespace {

constexpr const char* kPipelineTopics[] = {"intake.events.v1", "adjudication.decisions.v1",
                                           "payout.payments.v1"};
// Logs read in one total order: one partition each, whatever --partitions (the payout desk's
// commands; intake's calls, whose first under a key holds it).
constexpr const char* kSinglePartitionTopics[] = {"payout.commands.v1", "intake.calls.v1"};

int Fail(const std::string& message) {
  std::fprintf(stderr, "devbroker: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace claims::devbroker;

  // Every thread started below inherits this mask; only sigwait sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::vector<std::string> args(argv + 1, argv + argc);
  claims::Result<Flags> flags = ParseFlags(args, [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  });
  if (!flags.ok()) {
    std::fprintf(stderr, "devbroker: %s\n", flags.status().message().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }

  claims::Result<std::unique_ptr<MockCluster>> cluster =
      MockCluster::Start(flags->brokers, flags->tcp_nodelay);
  if (!cluster.ok()) return Fail(cluster.status().ToString());
  for (const char* topic : kPipelineTopics) {
    if (claims::Status s = (*cluster)->CreateTopic(topic, flags->partitions); !s.ok()) {
      return Fail(s.ToString());
    }
  }
  for (const char* topic : kSinglePartitionTopics) {
    if (claims::Status s = (*cluster)->CreateTopic(topic, 1); !s.ok()) return Fail(s.ToString());
  }

  ControlHandler handler(**cluster, flags->partitions);
  std::unique_ptr<ControlServer> control;
  if (!flags->control_listen.empty()) {
    claims::Result<std::unique_ptr<ControlServer>> server = ControlServer::Start(
        flags->control_listen, [&handler](std::string_view line) { return handler.Handle(line); });
    if (!server.ok()) return Fail(server.status().ToString());
    control = std::move(*server);
  }

  const std::string bootstrap = (*cluster)->bootstrap_servers();
  if (control != nullptr && !flags->control_file.empty()) {
    if (claims::Status s = WriteFileAtomically(flags->control_file, control->address() + "\n");
        !s.ok()) {
      return Fail(s.ToString());
    }
  }
  // Written last: a launcher that sees it may rely on everything else being ready.
  if (!flags->bootstrap_file.empty()) {
    if (claims::Status s = WriteFileAtomically(flags->bootstrap_file, bootstrap + "\n"); !s.ok()) {
      return Fail(s.ToString());
    }
  }
  std::printf("bootstrap.servers=%s\n", bootstrap.c_str());
  if (control != nullptr) std::printf("control=%s\n", control->address().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "devbroker: %d brokers, topics with %d partitions, tcp_nodelay=%s, pid %d\n",
               flags->brokers, flags->partitions, flags->tcp_nodelay ? "true" : "false",
               static_cast<int>(getpid()));

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  std::fprintf(stderr, "devbroker: signal %d, stopping\n", signal_number);

  control.reset();
  // Gone with the data: a stale address must not mislead the next reader.
  if (!flags->bootstrap_file.empty()) unlink(flags->bootstrap_file.c_str());
  if (!flags->control_file.empty()) unlink(flags->control_file.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // The cluster holds nothing but memory and sockets, which the kernel reclaims. Tearing it down
  // (rd_kafka_mock_cluster_destroy) stalls for 1 s about half the time in librdkafka 2.0.2, so
  // we leave without it.
  std::_Exit(0);
}
