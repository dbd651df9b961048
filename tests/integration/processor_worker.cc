// A processor running the counting fold, as its own process, so that tests can SIGKILL it at
// any moment and restart it.
//   processor_worker --bootstrap-servers S --data-dir D --group G --input T --output T
//                    [--crash-at folded|published|store_written|committed --crash-batch N]
//                    [--max-batch N] [--session-timeout-ms N]
// SIGTERM stops it cleanly (exit 0); it prints its counters on stdout before exiting.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "libs/processor/processor.h"
#include "tests/integration/counting_fold.h"
#include "tests/support/ordered_produce.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap, data_dir, group, input, output, crash_at;
  long crash_batch = -1, max_batch = 200, session_timeout = 6000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--bootstrap-servers")
      bootstrap = value;
    else if (flag == "--data-dir")
      data_dir = value;
    else if (flag == "--group")
      group = value;
    else if (flag == "--input")
      input = value;
    else if (flag == "--output")
      output = value;
    else if (flag == "--crash-at")
      crash_at = value;
    else if (flag == "--crash-batch")
      crash_batch = std::atol(value.c_str());
    else if (flag == "--max-batch")
      max_batch = std::atol(value.c_str());
    else if (flag == "--session-timeout-ms")
      session_timeout = std::atol(value.c_str());
    else {
      std::fprintf(stderr, "processor_worker: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  claims::store::StoreOptions store_options;
  store_options.column_families = {claims::testing::kCountsColumnFamily};
  auto store = claims::store::StateStore::Open(data_dir, store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "processor_worker: %s\n", store.status().ToString().c_str());
    return 1;
  }
  claims::bus::ProducerOptions producer_options;
  producer_options.bootstrap_servers = bootstrap;
  producer_options.linger_ms = 1;
  claims::test_support::OneRequestInFlight(producer_options.properties);  // errors are injected
  auto producer = claims::bus::Producer::Create(producer_options);
  claims::bus::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = bootstrap;
  consumer_options.group_id = group;
  consumer_options.session_timeout_ms = static_cast<int>(session_timeout);
  auto consumer = claims::bus::Consumer::Create(consumer_options);
  if (!producer.ok() || !consumer.ok()) {
    std::fprintf(stderr, "processor_worker: cannot create clients\n");
    return 1;
  }

  claims::processor::ProcessorOptions options;
  options.input_topic = input;
  options.max_batch_records = static_cast<size_t>(max_batch);
  options.min_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(1000);
  options.publish_timeout = std::chrono::milliseconds(15000);
  if (!crash_at.empty()) {
    const claims::processor::Step step =
        crash_at == "folded"          ? claims::processor::Step::kFolded
        : crash_at == "published"     ? claims::processor::Step::kPublished
        : crash_at == "store_written" ? claims::processor::Step::kStoreWritten
                                      : claims::processor::Step::kCommitted;
    options.test_hook = [step, crash_batch](claims::processor::Step s, uint64_t batch) {
      if (s == step && static_cast<long>(batch) == crash_batch) {
        std::fprintf(stderr, "processor_worker: crashing at %d of batch %lu\n", static_cast<int>(s),
                     batch);
        std::raise(SIGKILL);
      }
    };
  }
  claims::processor::Processor processor(options, **consumer, **producer, **store,
                                         claims::testing::CountingFoldFactory(output));
  const claims::Status status = processor.Run(g_stop);
  const auto& st = processor.stats();
  std::printf("folded=%lu silent=%lu published=%lu batches=%lu abandoned=%lu restored=%lu\n",
              st.records_folded.load(), st.records_silent.load(), st.outputs_published.load(),
              st.batches_committed.load(), st.batches_abandoned.load(),
              st.partitions_restored.load());
  std::fflush(stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "processor_worker: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
