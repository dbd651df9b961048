#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/domain/plan.h"
#include "libs/domain/types.h"

// The conformance runner: the worked cases of PLAN.md's format, run through the pure fold.
namespace claims::conformance {

// One expected (or actual) final state of a claim.
struct ClaimState {
  std::string claim;
  domain::Outcome outcome = domain::Outcome::kDenied;
  Fen payable = 0;
  Fen condolence = 0;
  std::vector<domain::Reason> reasons;
  friend bool operator==(const ClaimState&, const ClaimState&) = default;
};

struct Case {
  std::string id;
  std::string description;
  std::vector<domain::Input> events;
  std::vector<ClaimState> expect;
  std::string source;  // "file:line"
};

// Parses one case line. On failure an INVALID_ARGUMENT whose violations name the field path
// ("events[2].claim.coverage") and what is wrong; `source` prefixes every message. Unknown keys
// are listed in `warnings` (they do not make a case malformed).
Result<Case> ParseCase(const std::string& line, const std::string& source,
                       std::vector<std::string>* warnings);

struct CaseRun {
  std::vector<ClaimState> actual;           // final state of every claim, in claim-event order
  std::vector<domain::Decision> decisions;  // every decision, in log order (with traces)
  std::vector<domain::InputRejection> rejections;
  std::vector<std::string> mismatches;  // empty when the case passes
};

// Runs a case through a fresh domain::Fold and compares with its expectations.
CaseRun RunCase(const Case& c, const domain::Plan& plan);

struct Options {
  bool print_decisions = false;  // print every decision with its trace, not only failures
};

struct Summary {
  int passed = 0;
  int failed = 0;  // includes malformed cases and unreadable files
};

// Runs every case of every file, printing failures (and, with print_decisions, every decision)
// to `out` and ending with the line "N passed, N failed".
Summary RunFiles(const std::vector<std::string>& files, const domain::Plan& plan,
                 const Options& options, std::ostream& out);

std::string Describe(const ClaimState& s);

}  // namespace claims::conformance
