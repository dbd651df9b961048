#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "libs/domain/types.h"
#include "tools/claimsctl/audit/export_file.h"
#include "tools/claimsctl/audit/refold.h"

// Writes an export file of a history straight through the engine, as the pipeline would have
// published it: each input on intake.events.v1, adjudication's output on
// adjudication.decisions.v1, and for every approval the payments payout would make on
// payout.payments.v1 (one instruction per kind due, settled; every `fail_one_in`-th fails and is
// re-issued). For exports far larger than the dev broker holds. Deterministic.
namespace claims::audit {

struct GenerateOptions {
  int partitions = 12;
  std::string plan_id = kDefaultPlanId;  // named by claims, appeals and reviews
  int fail_one_in = 40;                  // 0: no payment fails
  int duplicate_one_in = 1000;           // re-publish every N-th output identically; 0: never
  std::function<void(uint64_t inputs_done, uint64_t inputs_total)> progress;
};

struct GenerateSummary {
  uint64_t inputs = 0;
  uint64_t outputs = 0;
  uint64_t payments = 0;
  uint64_t records() const { return inputs + outputs + payments; }
};

Result<GenerateSummary> GenerateExport(const std::vector<domain::Input>& history,
                                       const PlanSet& plans, const GenerateOptions& options,
                                       ExportWriter& writer);

// The partition of a key among `partitions` (FNV-1a; the generator's stand-in for Kafka's).
int32_t PartitionOf(std::string_view key, int partitions);

}  // namespace claims::audit
