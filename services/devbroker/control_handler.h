#pragma once

#include <string>
#include <string_view>

#include "services/devbroker/mock_cluster.h"

namespace claims::devbroker {

// Executes one line of the fault-control protocol against the cluster and returns the reply:
// "OK ..." or "ERR <reason>". Never fails otherwise: a bad command only gets ERR. The
// commands are listed by `help` and in HelpText() (services/devbroker/flags.h).
//
// Thread-safe as MockCluster is; holds a reference, so the cluster must outlive it.
class ControlHandler {
 public:
  ControlHandler(MockCluster& cluster, int default_partitions)
      : cluster_(cluster), default_partitions_(default_partitions) {}

  std::string Handle(std::string_view line);

 private:
  MockCluster& cluster_;
  int default_partitions_;
};

}  // namespace claims::devbroker
