// claimsctl: the command-line tool of partners, reviewers, operators and auditors.
// Exit codes (also in --help and README.md): 0 success (an audit found nothing), 1 the command
// ran and found failures or divergences, 2 bad usage or bad input (the message names the file,
// position and field), 3 a cluster or service could not be reached (retry later).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libs/domain/codec/plan_loader.h"
#include "tests/bench/history.h"
#include "tools/claimsctl/audit/auditor.h"
#include "tools/claimsctl/audit/cluster_export.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/generator.h"
#include "tools/claimsctl/audit/history.h"
#include "tools/claimsctl/audit/refold.h"
#include "tools/claimsctl/audit/report.h"
#include "tools/claimsctl/audit/simulate.h"
#include "tools/claimsctl/client.h"
#include "tools/claimsctl/conformance.h"
#include "tools/claimsctl/keys_command.h"
#include "tools/claimsctl/payments.h"
#include "tools/claimsctl/progress.h"
#include "tools/claimsctl/report_command.h"
#include "tools/claimsctl/table.h"

namespace {

using claims::Result;
using claims::Status;
namespace audit = claims::audit;

using claims::ctl::kExitFailures;
using claims::ctl::kExitOk;
using claims::ctl::kExitUnavailable;
using claims::ctl::kExitUsage;
constexpr const char* kExitCodes = claims::ctl::kExitCodesHelp;

int PrintStatus(const Status& status) {
  std::cerr << "claimsctl: " << status.message() << "\n";
  for (const claims::FieldViolation& v : status.violations()) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  const claims::StatusCode code = status.code();
  return code == claims::StatusCode::kUnavailable || code == claims::StatusCode::kDeadlineExceeded
             ? kExitUnavailable
             : kExitUsage;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Where the export comes from: a file, or a cluster (exported to a temporary file first).
struct Source {
  std::string file;
  std::string bootstrap_servers;
  std::string manifest;
  bool no_manifest = false;

  void AddTo(CLI::App* cmd) {
    auto* f = cmd->add_option("--file", file, "Export file written by `claimsctl export`");
    auto* b = cmd->add_option("--bootstrap-servers", bootstrap_servers,
                              "Read the topics from this cluster instead of a file");
    f->excludes(b);
    cmd->add_option("--manifest", manifest,
                    "Manifest to check the file against (default: FILE.manifest.json if present)");
    cmd->add_flag("--no-manifest", no_manifest, "Do not check a manifest");
  }
};

// Opens the source for reading; a cluster is exported to `scratch` first.
Result<std::unique_ptr<audit::ExportReader>> OpenSource(Source& source, std::string* scratch,
                                                        std::optional<audit::Manifest>* manifest) {
  if (source.file.empty() && source.bootstrap_servers.empty()) {
    return claims::InvalidArgument(
        "give --file or --bootstrap-servers",
        {{"--file", "one of --file and --bootstrap-servers is required"}});
  }
  if (!source.bootstrap_servers.empty()) {
    std::error_code ec;
    std::string name =
        (std::filesystem::temp_directory_path(ec) / "claimsctl-export-XXXXXX").string();
    const int fd = mkstemp(name.data());
    if (fd < 0) return claims::Unavailable("cannot create a temporary file " + name);
    close(fd);
    *scratch = name;
    Result<std::unique_ptr<audit::ExportWriter>> writer = audit::ExportWriter::Create(*scratch);
    if (!writer.ok()) return writer.status();
    audit::ClusterExportOptions options;
    options.bootstrap_servers = source.bootstrap_servers;
    claims::ctl::ProgressBar bar("export");
    options.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total, done); };
    if (Status s = audit::ExportFromCluster(options, **writer); !s.ok()) return s;
    Result<audit::Manifest> m = (*writer)->Finish();
    if (!m.ok()) return m.status();
    *manifest = *m;
    source.file = *scratch;
  } else if (!source.no_manifest) {
    const std::string path =
        source.manifest.empty() ? audit::ManifestPath(source.file) : source.manifest;
    if (!source.manifest.empty() || access(path.c_str(), R_OK) == 0) {
      Result<audit::Manifest> m = audit::ReadManifest(path);
      if (!m.ok()) return m.status();
      *manifest = *m;
    }
  }
  return audit::ExportReader::Open(source.file);
}

struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    if (!path.empty()) {
      std::remove(path.c_str());
      std::remove(audit::ManifestPath(path).c_str());
    }
  }
};

int RunAudit(Source& source, const std::string& plans_dir, const std::string& default_plan,
             const std::string& output, size_t max_divergences, bool allow_unpaid, int threads) {
  Result<audit::PlanSet> plans = audit::PlanSet::Load(plans_dir, default_plan);
  if (!plans.ok()) return PrintStatus(plans.status());
  ScratchFile scratch;
  std::optional<audit::Manifest> manifest;
  Result<std::unique_ptr<audit::ExportReader>> reader =
      OpenSource(source, &scratch.path, &manifest);
  if (!reader.ok()) return PrintStatus(reader.status());
  audit::AuditOptions options;
  options.manifest = manifest ? &*manifest : nullptr;
  options.max_divergences = max_divergences;
  options.allow_unpaid = allow_unpaid;
  options.threads = threads;
  claims::ctl::ProgressBar bar("audit");
  uint64_t pass1_records = 0;
  options.progress = [&](int pass, uint64_t bytes, uint64_t size, uint64_t records) {
    if (pass == 1) pass1_records = records;
    bar.SetLabel(pass == 1 ? "audit 1/2" : "audit 2/2");
    bar.Update(bytes, size, pass == 1 ? records : pass1_records + records);
  };
  const auto start = std::chrono::steady_clock::now();
  Result<audit::AuditResult> result = audit::Audit(**reader, *plans, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) return PrintStatus(result.status());
  const audit::AuditResult& r = *result;
  const audit::AuditCounts& c = r.counts;
  if (output == "json") {
    nlohmann::ordered_json j;
    j["clean"] = r.divergence_count == 0;
    j["file_sha256"] = r.file_sha256;
    j["records"] = c.records;
    j["inputs"] = c.inputs;
    j["outputs"] = c.outputs;
    j["duplicate_outputs"] = c.duplicate_outputs;
    j["payments"] = c.payments;
    j["duplicate_payments"] = c.duplicate_payments;
    j["other"] = c.other;
    j["outputs_matched"] = c.decisions_checked;
    j["approved_claims"] = c.approved_claims;
    j["unpaid_approvals"] = c.unpaid_approvals;
    j["ledger"] = {{"instructed_fen", r.ledger.instructed},
                   {"settled_fen", r.ledger.settled},
                   {"failed_fen", r.ledger.failed},
                   {"outstanding_fen", r.ledger.outstanding()},
                   {"posted_debits_fen", r.ledger.posted_debits},
                   {"posted_credits_fen", r.ledger.posted_credits},
                   {"balances_fen", r.ledger.balances},
                   {"balanced", r.ledger_balanced}};
    j["divergence_count"] = r.divergence_count;
    j["divergences"] = nlohmann::ordered_json::array();
    for (const audit::Divergence& d : r.divergences) {
      j["divergences"].push_back({{"claim_id", d.claim_id},
                                  {"member_id", d.member_id},
                                  {"event_id", d.event_id},
                                  {"topic", d.topic},
                                  {"partition", d.partition},
                                  {"offset", d.offset},
                                  {"field", d.field},
                                  {"recorded", d.recorded},
                                  {"expected", d.expected}});
    }
    std::cout << j.dump(2) << "\n";
  } else if (output == "csv") {
    std::cout << "claim_id,member_id,event_id,topic,partition,offset,field,recorded,expected\n";
    for (const audit::Divergence& d : r.divergences) {
      std::cout << CsvField(d.claim_id) << "," << CsvField(d.member_id) << ","
                << CsvField(d.event_id) << "," << CsvField(d.topic) << "," << d.partition << ","
                << d.offset << "," << CsvField(d.field) << "," << CsvField(d.recorded) << ","
                << CsvField(d.expected) << "\n";
    }
  } else {
    for (const audit::Divergence& d : r.divergences) std::cout << d.ToLine() << "\n";
    if (r.divergence_count > r.divergences.size()) {
      std::cout << "... and " << (r.divergence_count - r.divergences.size())
                << " more divergences\n";
    }
    std::printf(
        "%llu records (%llu inputs, %llu outputs of which %llu identical repeats, %llu payment "
        "events), %llu outputs re-derived identically, %llu approved claims\n"
        "ledger: instructed %lld fen, settled %lld, failed %lld, outstanding %lld: %s\n"
        "file sha256 %s\n%llu divergences\n",
        (unsigned long long)c.records, (unsigned long long)c.inputs, (unsigned long long)c.outputs,
        (unsigned long long)c.duplicate_outputs, (unsigned long long)c.payments,
        (unsigned long long)c.decisions_checked, (unsigned long long)c.approved_claims,
        (long long)r.ledger.instructed, (long long)r.ledger.settled, (long long)r.ledger.failed,
        (long long)r.ledger.outstanding(), r.ledger_balanced ? "balanced" : "NOT balanced",
        r.file_sha256.c_str(), (unsigned long long)r.divergence_count);
    if (r.ledger.posted_debits > 0) {
      std::printf("postings: debits %lld fen, credits %lld fen; balances:",
                  (long long)r.ledger.posted_debits, (long long)r.ledger.posted_credits);
      for (const auto& [account, fen] : r.ledger.balances) {
        std::printf(" %s %lld", account.c_str(), (long long)fen);
      }
      std::printf("\n");
    }
  }
  std::fprintf(stderr, "audit: %llu events in %.2f s (%.0f events/s)\n",
               (unsigned long long)c.records, seconds, seconds > 0 ? c.records / seconds : 0.0);
  return r.divergence_count == 0 ? kExitOk : kExitFailures;
}

int RunExport(const std::string& bootstrap, const std::string& out) {
  Result<std::unique_ptr<audit::ExportWriter>> writer = audit::ExportWriter::Create(out);
  if (!writer.ok()) return PrintStatus(writer.status());
  audit::ClusterExportOptions options;
  options.bootstrap_servers = bootstrap;
  claims::ctl::ProgressBar bar("export");
  options.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total, done); };
  if (Status s = audit::ExportFromCluster(options, **writer); !s.ok()) return PrintStatus(s);
  Result<audit::Manifest> m = (*writer)->Finish();
  if (!m.ok()) return PrintStatus(m.status());
  std::printf("%s: %llu records, %llu bytes, sha256 %s\nmanifest: %s\n", out.c_str(),
              (unsigned long long)m->records, (unsigned long long)m->bytes, m->sha256.c_str(),
              audit::ManifestPath(out).c_str());
  return kExitOk;
}

int RunGenerate(const claims::bench::HistoryShape& shape, const std::string& plans_dir,
                const std::string& default_plan, const std::string& out,
                audit::GenerateOptions options) {
  Result<audit::PlanSet> plans = audit::PlanSet::Load(plans_dir, default_plan);
  if (!plans.ok()) return PrintStatus(plans.status());
  Result<std::unique_ptr<audit::ExportWriter>> writer = audit::ExportWriter::Create(out);
  if (!writer.ok()) return PrintStatus(writer.status());
  const std::vector<claims::domain::Input> history = claims::bench::GenerateHistory(shape);
  claims::ctl::ProgressBar bar("generate");
  options.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total, done); };
  Result<audit::GenerateSummary> summary =
      audit::GenerateExport(history, *plans, options, **writer);
  if (!summary.ok()) return PrintStatus(summary.status());
  Result<audit::Manifest> m = (*writer)->Finish();
  if (!m.ok()) return PrintStatus(m.status());
  std::printf("%s: %llu records (%llu inputs, %llu outputs, %llu payment events), %llu bytes\n",
              out.c_str(), (unsigned long long)summary->records(),
              (unsigned long long)summary->inputs, (unsigned long long)summary->outputs,
              (unsigned long long)summary->payments, (unsigned long long)m->bytes);
  return kExitOk;
}

int RunReport(Source& source, const std::string& plans_dir, const std::string& default_plan,
              int year, const std::string& as_of, const std::string& output) {
  Result<audit::PlanSet> plans = audit::PlanSet::Load(plans_dir, default_plan);
  if (!plans.ok()) return PrintStatus(plans.status());
  audit::ReportOptions options;
  options.plan_year = year;
  if (!as_of.empty()) {
    options.as_of = claims::Date::Parse(as_of);
    if (!options.as_of) {
      return PrintStatus(claims::InvalidArgument(
          "bad --as-of", {{"--as-of", "'" + as_of + "' is not a YYYY-MM-DD date"}}));
    }
  }
  ScratchFile scratch;
  std::optional<audit::Manifest> manifest;
  Result<std::unique_ptr<audit::ExportReader>> reader =
      OpenSource(source, &scratch.path, &manifest);
  if (!reader.ok()) return PrintStatus(reader.status());
  Result<std::vector<audit::ReportRow>> rows = audit::BuildReport(**reader, *plans, options);
  if (!rows.ok()) return PrintStatus(rows.status());
  claims::ctl::PrintReport(year, *rows, output, std::cout);
  return kExitOk;
}

// report --live: the same rows from the running services.
int RunLiveReport(const std::string& adjudication, const claims::ctl::Connection& credentials,
                  const std::string& payout, int year, const std::string& as_of,
                  const std::string& output) {
  claims::ctl::LiveReportOptions options;
  options.year = year;
  if (!as_of.empty()) {
    options.as_of = claims::Date::Parse(as_of);
    if (!options.as_of) {
      return claims::ctl::Usage("--as-of", "'" + as_of + "' is not a YYYY-MM-DD date");
    }
  }
  std::string rest = adjudication;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string target = rest.substr(0, comma);
    if (target.empty()) {
      return claims::ctl::Usage("--adjudication",
                                "give every replica as HOST:PORT[,HOST:PORT...], no empty entry");
    }
    claims::ctl::Connection c = credentials;
    c.target = target;
    options.adjudication.push_back(c);
    if (comma == std::string::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (payout.empty()) return claims::ctl::Usage("--payout", "is required with --live");
  options.payout = credentials;
  options.payout.target = payout;
  return claims::ctl::RunLiveReport(options, output);
}

int RunSimulate(Source& source, const std::string& plans_dir, const std::string& default_plan,
                const std::string& candidate_path, size_t examples, const std::string& output) {
  Result<audit::PlanSet> plans = audit::PlanSet::Load(plans_dir, default_plan);
  if (!plans.ok()) return PrintStatus(plans.status());
  Result<claims::domain::Plan> candidate = claims::codec::LoadPlanFile(candidate_path);
  if (!candidate.ok()) return PrintStatus(candidate.status());
  ScratchFile scratch;
  std::optional<audit::Manifest> manifest;
  Result<std::unique_ptr<audit::ExportReader>> reader =
      OpenSource(source, &scratch.path, &manifest);
  if (!reader.ok()) return PrintStatus(reader.status());
  Result<std::vector<audit::CoverageImpact>> impacts =
      audit::Simulate(**reader, *plans, *candidate, examples);
  if (!impacts.ok()) return PrintStatus(impacts.status());
  claims::ctl::Table table;
  table.columns = {"coverage",           "claims",   "changed", "approved_fen_before",
                   "approved_fen_after", "delta_fen"};
  table.numeric = {false, true, true, true, true, true};
  claims::ctl::Table samples;
  samples.columns = {"coverage", "claim_id", "before", "after"};
  for (const audit::CoverageImpact& i : *impacts) {
    table.rows.push_back({i.coverage, std::to_string(i.claims), std::to_string(i.changed),
                          std::to_string(i.approved_before), std::to_string(i.approved_after),
                          std::to_string(i.approved_after - i.approved_before)});
    for (const audit::ChangedClaim& c : i.examples) {
      samples.rows.push_back({i.coverage, c.claim_id, c.before, c.after});
    }
  }
  if (output == "json") {
    std::cout << "{\"candidate_plan\": " << nlohmann::json(candidate->id).dump()
              << ", \"candidate_sha256\": " << nlohmann::json(candidate->sha256).dump()
              << ",\n\"coverages\": ";
    table.Print("json", std::cout);
    std::cout << ",\n\"examples\": ";
    samples.Print("json", std::cout);
    std::cout << "}\n";
    return kExitOk;
  }
  if (output == "table") {
    std::cout << "what-if under " << candidate->id << " (sha256 " << candidate->sha256
              << "); nothing is published\n";
  }
  table.Print(output, std::cout);
  if (output == "table") std::cout << "\nexamples:\n";
  if (output == "csv") std::cout << "\n";
  samples.Print(output, std::cout);
  return kExitOk;
}

int RunHistory(Source& source, const std::string& claim, const std::string& output) {
  ScratchFile scratch;
  std::optional<audit::Manifest> manifest;
  source.no_manifest = true;
  Result<std::unique_ptr<audit::ExportReader>> reader =
      OpenSource(source, &scratch.path, &manifest);
  if (!reader.ok()) return PrintStatus(reader.status());
  Result<std::vector<audit::HistoryEntry>> entries = audit::ClaimHistory(**reader, claim);
  if (!entries.ok()) {
    if (entries.status().code() == claims::StatusCode::kNotFound) {
      std::cerr << "claimsctl: " << entries.status().message() << "\n";
      return kExitFailures;
    }
    return PrintStatus(entries.status());
  }
  claims::ctl::Table table;
  table.columns = {"date", "event", "event_id", "topic", "what"};
  for (const audit::HistoryEntry& e : *entries) {
    table.rows.push_back(
        {e.business_date, e.type, e.event_id,
         e.topic + "/" + std::to_string(e.partition) + "@" + std::to_string(e.offset), e.summary});
  }
  table.Print(output, std::cout);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "claimsctl: the claims pipeline's tool for partners, reviewers, operators and "
      "auditors"};
  app.footer(kExitCodes);
  app.require_subcommand(1);

  std::string plan_path;
  std::vector<std::string> case_files;
  claims::conformance::Options conformance_options;
  CLI::App* conformance = app.add_subcommand(
      "conformance",
      "Run worked cases (PLAN.md's JSON-lines format) through the rules engine; print each "
      "failing case with expected and actual, end with 'N passed, N failed'. Exit 1 on any "
      "failure or malformed case.");
  conformance->add_option("--plan", plan_path, "Plan file (protobuf text format)")
      ->required()
      ->check(CLI::ExistingFile);
  conformance->add_option("cases", case_files, "Case files (.jsonl)")->required();
  conformance->add_flag("--print-decisions", conformance_options.print_decisions,
                        "Print every decision with its trace, not only failures");

  std::string plans_dir = "config/plans";
  std::string default_plan = audit::kDefaultPlanId;
  std::string output = "table";
  auto add_plans = [&](CLI::App* cmd) {
    cmd->add_option("--plans-dir", plans_dir, "Directory of plan files (*.textproto)")
        ->capture_default_str();
    cmd->add_option("--default-plan", default_plan,
                    "Plan of events that name none (enrollments, terminations)")
        ->capture_default_str();
  };
  auto add_output = [&](CLI::App* cmd) {
    cmd->add_option("--output,-o", output, "Output format")
        ->check(CLI::IsMember({"table", "json", "csv"}))
        ->capture_default_str();
  };

  std::string export_bootstrap;
  std::string export_out;
  CLI::App* export_cmd = app.add_subcommand(
      "export",
      "Write intake.events.v1, adjudication.decisions.v1 and payout.payments.v1 (every partition "
      "up to its high watermark, read_committed) to one file of length-delimited "
      "mutualaid.audit.v1.ExportRecord, and FILE.manifest.json with per-partition offset ranges "
      "and the file's SHA-256.");
  export_cmd->add_option("--bootstrap-servers", export_bootstrap, "Kafka bootstrap servers")
      ->required();
  export_cmd->add_option("--out", export_out, "Export file to write")->required();
  export_cmd->footer(kExitCodes);

  Source audit_source;
  size_t max_divergences = 100000;
  CLI::App* audit_cmd = app.add_subcommand(
      "audit",
      "Re-derive every decision from intake.events.v1 and the plan files, compare each published "
      "decision and rejection field by field, verify payload hashes and references, the payments "
      "of every approval and the ledger. Lists each divergence as 'claim C: field X: recorded A, "
      "expected B'. Exit 0 clean, 1 divergences, 2 bad input.");
  audit_source.AddTo(audit_cmd);
  add_plans(audit_cmd);
  add_output(audit_cmd);
  int audit_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  audit_cmd->add_option("--threads", audit_threads, "Threads, each auditing a share of members")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  bool allow_unpaid = false;
  audit_cmd->add_flag("--allow-unpaid", allow_unpaid,
                      "Approval-kinds with no payment instruction at all are counted, not "
                      "divergences (payout lagging or not deployed)");
  audit_cmd->add_option("--max-divergences", max_divergences, "List at most this many")
      ->capture_default_str();
  audit_cmd->footer(kExitCodes);

  claims::bench::HistoryShape shape;
  std::string generate_out;
  audit::GenerateOptions generate_options;
  CLI::App* generate_cmd = app.add_subcommand(
      "generate",
      "Write an export file of a generated history straight through the engine (inputs, "
      "decisions, payments), for audit benchmarks larger than the dev broker holds.");
  generate_cmd->add_option("--out", generate_out, "Export file to write")->required();
  generate_cmd->add_option("--members", shape.members, "Members")->capture_default_str();
  generate_cmd->add_option("--years", shape.years, "Plan years")->capture_default_str();
  generate_cmd->add_option("--first-year", shape.first_year, "First plan year")
      ->capture_default_str();
  generate_cmd
      ->add_option("--claims-per-thousand", shape.claims_per_thousand_member_years,
                   "Claims per 1,000 member-years")
      ->capture_default_str();
  generate_cmd->add_option("--seed", shape.seed, "Seed of the history")->capture_default_str();
  generate_cmd->add_option("--partitions", generate_options.partitions, "Partitions per topic")
      ->capture_default_str();
  add_plans(generate_cmd);

  Source report_source;
  int report_year = 0;
  std::string report_as_of;
  CLI::App* report_cmd = app.add_subcommand(
      "report",
      "Figures of one plan year from a replay (or, with --live, from the running services): "
      "members enrolled (new, renewal, by occupation), "
      "claims by coverage and outcome, amounts approved and paid, condolences, appeals received "
      "and closed, open referrals and the oldest one's age.");
  report_source.AddTo(report_cmd);
  report_cmd->add_option("--year", report_year, "Plan year")->required();
  report_cmd->add_option("--as-of", report_as_of,
                         "Date ages are measured at (default: the log's latest business date; "
                         "with --live, the replicas' business date)");
  bool report_live = false;
  std::string report_adjudication, report_payout;
  claims::ctl::Connection report_credentials;
  auto* live_flag = report_cmd->add_flag(
      "--live", report_live,
      "From the running services instead of a replay: every adjudication replica's "
      "ReportService (together they must hold every partition exactly once, else exit 3) and "
      "payout's settled payments");
  live_flag->excludes("--file")->excludes("--bootstrap-servers");
  report_cmd->add_option("--adjudication", report_adjudication,
                         "With --live: every adjudication replica, HOST:PORT[,HOST:PORT...]");
  report_cmd->add_option("--payout", report_payout, "With --live: payout's address, HOST:PORT");
  claims::ctl::AddCredentials(report_cmd, report_credentials);
  add_plans(report_cmd);
  add_output(report_cmd);
  report_cmd->footer(kExitCodes);

  Source simulate_source;
  std::string candidate_plan;
  size_t simulate_examples = 3;
  CLI::App* simulate_cmd = app.add_subcommand(
      "simulate",
      "What-if: re-fold the recorded inputs under a candidate plan and report, per coverage, how "
      "many decisions and how much money would change, with examples. Publishes nothing.");
  simulate_source.AddTo(simulate_cmd);
  simulate_cmd->add_option("--plan", candidate_plan, "Candidate plan file")
      ->required()
      ->check(CLI::ExistingFile);
  simulate_cmd->add_option("--examples", simulate_examples, "Examples per coverage")
      ->capture_default_str();
  add_plans(simulate_cmd);
  add_output(simulate_cmd);
  simulate_cmd->footer(kExitCodes);

  CLI::App* claim_cmd = app.add_subcommand("claim", "One claim");
  claim_cmd->require_subcommand(1);
  Source history_source;
  std::string history_claim;
  CLI::App* history_cmd = claim_cmd->add_subcommand(
      "history",
      "One claim's whole story in order (submission, decisions, reviews, appeal, payments, bank "
      "status), each with its event id and date, from an export or a cluster. Exit 1 when no "
      "event names the claim.");
  history_source.AddTo(history_cmd);
  history_cmd->add_option("claim_id", history_claim, "Claim id")->required();
  add_output(history_cmd);
  history_cmd->footer(kExitCodes);

  claims::ctl::ClientCommands client;
  client.Register(app, *claim_cmd, output);
  claims::ctl::PaymentCommands payments;
  payments.Register(app, output);
  claims::ctl::KeyCommands keys;
  keys.Register(app, output);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (conformance->parsed()) {
    claims::Result<claims::domain::Plan> plan = claims::codec::LoadPlanFile(plan_path);
    if (!plan.ok()) return PrintStatus(plan.status());
    const claims::conformance::Summary summary =
        claims::conformance::RunFiles(case_files, *plan, conformance_options, std::cout);
    return summary.failed == 0 ? kExitOk : kExitFailures;
  }
  if (export_cmd->parsed()) return RunExport(export_bootstrap, export_out);
  if (audit_cmd->parsed()) {
    return RunAudit(audit_source, plans_dir, default_plan, output, max_divergences, allow_unpaid,
                    audit_threads);
  }
  if (generate_cmd->parsed()) {
    generate_options.plan_id = default_plan;
    return RunGenerate(shape, plans_dir, default_plan, generate_out, generate_options);
  }
  if (report_cmd->parsed()) {
    if (report_live) {
      return RunLiveReport(report_adjudication, report_credentials, report_payout, report_year,
                           report_as_of, output);
    }
    if (!report_adjudication.empty() || !report_payout.empty()) {
      return claims::ctl::Usage("--live", "--adjudication and --payout need --live");
    }
    return RunReport(report_source, plans_dir, default_plan, report_year, report_as_of, output);
  }
  if (simulate_cmd->parsed()) {
    return RunSimulate(simulate_source, plans_dir, default_plan, candidate_plan, simulate_examples,
                       output);
  }
  if (history_cmd->parsed()) return RunHistory(history_source, history_claim, output);
  if (std::optional<int> code = client.Run()) return *code;
  if (std::optional<int> code = payments.Run()) return *code;
  if (std::optional<int> code = keys.Run()) return *code;
  return kExitUsage;
}
