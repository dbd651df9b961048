#include "services/adjudication/plans.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "libs/domain/codec/plan_loader.h"

namespace claims::adjudication {

Result<PlanRegistry> PlanRegistry::Load(const std::string& dir,
                                        const std::string& default_plan_id) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".textproto") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) return NotFound("cannot read the plans directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());  // deterministic order, deterministic errors
  PlanRegistry registry;
  for (const std::string& file : files) {
    Result<domain::Plan> plan = codec::LoadPlanFile(file);
    if (!plan.ok()) return plan.status();
    const std::string id = plan->id;
    if (!registry.plans_.emplace(id, std::move(plan).value()).second) {
      return InvalidArgument("two plan files define plan " + id, {{file, "duplicate plan_id"}});
    }
  }
  if (registry.plans_.count(default_plan_id) == 0) {
    return NotFound("the default plan " + default_plan_id + " is not in " + dir);
  }
  registry.default_id_ = default_plan_id;
  return registry;
}

const domain::Plan* PlanRegistry::Find(const std::string& plan_id) const {
  auto it = plans_.find(plan_id.empty() ? default_id_ : plan_id);
  return it == plans_.end() ? nullptr : &it->second;
}

}  // namespace claims::adjudication
