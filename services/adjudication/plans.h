#pragma once

#include <map>
#include <string>

#include "libs/base/status.h"
#include "libs/domain/plan.h"

namespace claims::adjudication {

// The plan versions adjudication may decide under, loaded once from a directory of plan files
// (*.textproto). Immutable after Load; thread-safe to read.
class PlanRegistry {
 public:
  // Loads and validates every *.textproto in `dir`. INVALID_ARGUMENT naming the file, line and
  // field of any invalid plan, or two files with one plan id; NOT_FOUND when `default_plan_id`
  // is not among them.
  static Result<PlanRegistry> Load(const std::string& dir, const std::string& default_plan_id);

  // The plan an event names; the default plan when it names none. nullptr when unknown.
  const domain::Plan* Find(const std::string& plan_id) const;
  const domain::Plan& default_plan() const { return *Find(default_id_); }
  const std::map<std::string, domain::Plan>& plans() const { return plans_; }

 private:
  std::map<std::string, domain::Plan> plans_;
  std::string default_id_;
};

}  // namespace claims::adjudication
