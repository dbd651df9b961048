#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libs/base/status.h"
#include "tools/claimsctl/audit/export_file.h"

// `claimsctl export` from a cluster: every partition of the pipeline's topics, from its first
// offset to the high watermark seen when the export starts, read outside any consumer group
// (assign) with isolation.level=read_committed.
namespace claims::audit {

struct ClusterExportOptions {
  std::string bootstrap_servers;
  std::vector<std::string> topics;                      // empty: the three pipeline topics
  std::map<std::string, std::string> kafka_properties;  // e.g. TLS settings
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  std::function<void(uint64_t records_done, uint64_t records_expected)> progress;
};

// Writes the records to `writer` (not finished: the caller calls Finish). DEADLINE_EXCEEDED
// naming the partitions not read to their watermark when the timeout ends first; UNAVAILABLE
// when the cluster cannot be reached.
Status ExportFromCluster(const ClusterExportOptions& options, ExportWriter& writer);

}  // namespace claims::audit
