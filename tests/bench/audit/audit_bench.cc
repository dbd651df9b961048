// The audit's throughput and memory over a generated export of at least 1,000,000 events.
//
//   audit_bench [--events N] [--file PATH]
//
// Writes the export (through the engine, claims::audit::GenerateExport) into a temporary
// directory, or reuses PATH when it exists, then runs each measurement in a fresh child process
// (this binary again) so that its peak memory (ru_maxrss, from wait4) is its own:
//   read   a baseline: stream and hash the file, parse every envelope, SHA-256 every payload
//   fold   the bare fold baseline: re-fold intake.events.v1 with the engine through the codec
//          (Refolder, as adjudication decodes and encodes), nothing compared
//   lean   the audit's own fold (AuditFold: the wire fast path, members in a hash table),
//          nothing compared
//   audit  the full audit (claims::audit::Audit) on one thread
//   audit2 the same on two threads (members split between them; a third reads the file once
//          per pass for both, hashing it in the first)
// and prints events/s, CPU seconds (the machine may be shared), peak RSS, and each mode's events/s
// and events per CPU-second as a ratio to the bare fold's.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libs/crypto/sha256.h"
#include "mutualaid/events/v1/envelope.pb.h"
#include "tests/bench/history.h"
#include "tests/support/temp_dir.h"
#include "tools/claimsctl/audit/audit_fold.h"
#include "tools/claimsctl/audit/auditor.h"
#include "tools/claimsctl/audit/generator.h"
#include "tools/claimsctl/audit/refold.h"

namespace {

using claims::Result;
namespace audit = claims::audit;

audit::PlanSet LoadPlans() {
  Result<audit::PlanSet> plans = audit::PlanSet::Load(CLAIMS_PLANS_DIR, audit::kDefaultPlanId);
  if (!plans.ok()) {
    std::fprintf(stderr, "%s\n", plans.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(plans).value();
}

// Runs one measurement; prints "<events> <divergences>" on stdout.
int Child(const std::string& mode, const std::string& file) {
  const audit::PlanSet plans = LoadPlans();
  Result<std::unique_ptr<audit::ExportReader>> reader = audit::ExportReader::Open(file);
  if (!reader.ok()) return 2;
  uint64_t events = 0;
  uint64_t divergences = 0;
  if (mode == "read") {
    audit::RecordView record;
    mutualaid::events::v1::Envelope e;
    while (*(*reader)->Next(record)) {
      ++events;
      e.ParseFromArray(record.envelope.data(), static_cast<int>(record.envelope.size()));
      if (std::string(claims::crypto::AsBytes(claims::crypto::Sha256(e.payload()))) !=
          e.payload_sha256()) {
        ++divergences;
      }
    }
  } else if (mode == "fold") {
    if (!(*reader)->Rewind(/*hash=*/false).ok()) return 2;
    audit::Refolder refolder(plans);
    audit::RefoldStep step;
    audit::RecordView record;
    while (*(*reader)->Next(record)) {
      ++events;
      if (record.topic == "intake.events.v1") refolder.Apply(record, step);
    }
  } else if (mode == "lean") {
    struct Entry {
      claims::domain::MemberState state;
    };
    audit::KeyedTable<Entry> members;
    const std::function<claims::domain::MemberState&(std::string_view)> state_of =
        [&](std::string_view member) -> claims::domain::MemberState& {
      bool created = false;
      Entry& e = members.At(member, &created);
      if (created) e.state.id = std::string(member);
      return e.state;
    };
    if (!(*reader)->Rewind(/*hash=*/false).ok()) return 2;
    audit::AuditFold fold(plans);
    audit::FoldInput in;
    audit::FoldStep step;
    audit::RecordView record;
    while (*(*reader)->Next(record)) {
      ++events;
      if (record.topic != "intake.events.v1") continue;
      fold.Read(record, in);
      fold.Apply(in, step, state_of);
    }
  } else {
    audit::AuditOptions options;
    options.threads = mode == "audit2" ? 2 : 1;
    Result<audit::AuditResult> r = audit::Audit(**reader, plans, options);
    if (!r.ok()) return 2;
    events = r->counts.records;
    divergences = r->divergence_count;
  }
  std::printf("%llu %llu\n", static_cast<unsigned long long>(events),
              static_cast<unsigned long long>(divergences));
  return 0;
}

struct Measured {
  uint64_t events = 0;
  uint64_t divergences = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // user + system of the child: the machine may be shared
  long max_rss_kb = 0;
};

bool Measure(const char* self, const std::string& mode, const std::string& file, Measured* out) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execl(self, self, "--child", mode.c_str(), file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return false;
  }
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out->max_rss_kb = usage.ru_maxrss;
  out->cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  unsigned long long events = 0, divergences = 0;
  if (std::sscanf(text.c_str(), "%llu %llu", &events, &divergences) != 2) return false;
  out->events = events;
  out->divergences = divergences;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--child") == 0) return Child(argv[2], argv[3]);
  uint64_t target = 1000000;
  std::string file;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) target = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--file") == 0) file = argv[i + 1];
  }
  std::optional<claims::test_support::TempDir> dir;
  if (file.empty() || access(file.c_str(), R_OK) != 0) {
    if (file.empty()) {
      Result<claims::test_support::TempDir> d =
          claims::test_support::TempDir::Create("audit-bench");
      if (!d.ok()) return 2;
      dir.emplace(std::move(d).value());
      file = dir->File("export.bin");
    }
    const audit::PlanSet plans = LoadPlans();
    claims::bench::HistoryShape shape;
    shape.years = 3;
    shape.claims_per_thousand_member_years = 300;
    // About 2.26 events per member-year with this shape (6.77 per member over three years).
    shape.members = static_cast<int>(target * 2 / 13 + 1000);
    const auto start = std::chrono::steady_clock::now();
    Result<std::unique_ptr<audit::ExportWriter>> writer = audit::ExportWriter::Create(file);
    if (!writer.ok()) return 2;
    Result<audit::GenerateSummary> summary = audit::GenerateExport(
        claims::bench::GenerateHistory(shape), plans, audit::GenerateOptions{}, **writer);
    if (!summary.ok() || !(*writer)->Finish().ok()) return 2;
    std::printf("generated %llu events (%llu inputs, %llu outputs, %llu payments) in %.1f s\n",
                static_cast<unsigned long long>(summary->records()),
                static_cast<unsigned long long>(summary->inputs),
                static_cast<unsigned long long>(summary->outputs),
                static_cast<unsigned long long>(summary->payments),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (summary->records() < target) {
      std::printf("WARNING: fewer events than the %llu asked for\n",
                  static_cast<unsigned long long>(target));
    }
  }
  std::printf("%-6s %10s %8s %10s %7s %12s %8s %8s %10s %s\n", "mode", "events", "wall s",
              "events/s", "cpu s", "events/cpu-s", "peak MB", "x fold", "cpu x fold",
              "divergences");
  std::optional<Measured> fold;
  for (const char* mode : {"read", "fold", "lean", "audit", "audit2"}) {
    Measured m;
    if (!Measure(argv[0], mode, file, &m)) {
      std::printf("%s: the child failed\n", mode);
      return 1;
    }
    if (std::strcmp(mode, "fold") == 0) fold = m;
    const double rate = static_cast<double>(m.events) / m.seconds;
    const double cpu_rate = static_cast<double>(m.events) / m.cpu_seconds;
    std::printf("%-6s %10llu %8.2f %10.0f %7.2f %12.0f %8.1f", mode,
                static_cast<unsigned long long>(m.events), m.seconds, rate, m.cpu_seconds, cpu_rate,
                static_cast<double>(m.max_rss_kb) / 1024.0);
    if (fold) {
      std::printf(" %8.2f %10.2f", rate / (static_cast<double>(fold->events) / fold->seconds),
                  cpu_rate / (static_cast<double>(fold->events) / fold->cpu_seconds));
    } else {
      std::printf(" %8s %10s", "", "");
    }
    std::printf(" %llu\n", static_cast<unsigned long long>(m.divergences));
    std::fflush(stdout);
  }
  return 0;
}
