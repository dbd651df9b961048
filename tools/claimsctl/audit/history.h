#pragma once

#include <string>
#include <vector>

#include "libs/base/status.h"
#include "tools/claimsctl/audit/export_file.h"

// One claim's whole story from an export: submission, decisions, reviews, appeal, payments and
// bank statuses, each with its event id and business date.
namespace claims::audit {

struct HistoryEntry {
  std::string business_date;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string event_id;
  std::string type;     // short payload type, e.g. "ClaimDecided"
  std::string summary;  // the figures that matter, e.g. "APPROVED payable 1,000 fen (rev 2)"
};

// The events naming `claim_id`, in log order: inputs, then each by business date (identical
// repeats shown once). NOT_FOUND when no event names the claim.
Result<std::vector<HistoryEntry>> ClaimHistory(ExportReader& reader, const std::string& claim_id);

}  // namespace claims::audit
