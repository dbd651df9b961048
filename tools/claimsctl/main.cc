// claimsctl: the command-line tool of partners, reviewers, operators and auditors.
// Exit codes: 0 success, 1 the command ran and found failures, 2 bad usage or bad input files.

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "libs/domain/codec/plan_loader.h"
#include "tools/claimsctl/conformance.h"

namespace {

constexpr int kExitFailures = 1;
constexpr int kExitUsage = 2;

int PrintStatus(const claims::Status& status) {
  std::cerr << "claimsctl: " << status.message() << "\n";
  for (const claims::FieldViolation& v : status.violations()) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "claimsctl: the claims pipeline's tool for partners, reviewers, operators and "
      "auditors"};
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (conformance->parsed()) {
    claims::Result<claims::domain::Plan> plan = claims::codec::LoadPlanFile(plan_path);
    if (!plan.ok()) return PrintStatus(plan.status());
    const claims::conformance::Summary summary =
        claims::conformance::RunFiles(case_files, *plan, conformance_options, std::cout);
    return summary.failed == 0 ? 0 : kExitFailures;
  }
  return kExitUsage;
}
