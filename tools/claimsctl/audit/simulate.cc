#include "tools/claimsctl/audit/simulate.h"

#include <map>

#include "libs/events/topics.h"

namespace claims::audit {
namespace {

struct Final {
  domain::Coverage coverage = domain::Coverage::kUnspecified;
  domain::Outcome outcome = domain::Outcome::kDenied;
  Fen payable = 0;
  Fen condolence = 0;
  bool operator==(const Final&) const = default;
};

std::string Text(const Final& f) {
  return std::string(domain::Name(f.outcome)) + " " + FormatFen(f.payable) + " fen + condolence " +
         FormatFen(f.condolence);
}

Fen Approved(const Final& f) {
  return f.outcome == domain::Outcome::kApproved ? f.payable + f.condolence : 0;
}

}  // namespace

Result<std::vector<CoverageImpact>> Simulate(ExportReader& reader, const PlanSet& plans,
                                             const domain::Plan& candidate, size_t max_examples) {
  Refolder baseline(plans);
  Refolder what_if(plans, &candidate);
  RefoldStep step;
  RecordView record;
  std::map<std::string, Final> before;
  std::map<std::string, Final> after;
  auto keep = [](const RefoldStep& s, std::map<std::string, Final>& out) {
    if (const auto* d = std::get_if<domain::Decision>(&s.output.body)) {
      out[d->claim] = Final{d->coverage, d->outcome, d->payable, d->condolence};
    }
  };
  if (Status s = reader.Rewind(/*hash=*/false); !s.ok()) return s;
  while (true) {
    Result<bool> next = reader.Next(record);
    if (!next.ok()) return next.status();
    if (!*next) break;
    if (record.topic != events::kIntakeTopic) continue;
    baseline.Apply(record, step);
    keep(step, before);
    what_if.Apply(record, step);
    keep(step, after);
  }
  std::vector<CoverageImpact> impacts(6);
  for (int c = 1; c <= 6; ++c) {
    impacts[c - 1].coverage = std::string(domain::Name(static_cast<domain::Coverage>(c)));
  }
  auto impact_of = [&](domain::Coverage c) -> CoverageImpact* {
    const int i = static_cast<int>(c);
    return i >= 1 && i <= 6 ? &impacts[i - 1] : nullptr;
  };
  // Claims decided in one fold and not the other (e.g. a claim denied as a duplicate id) count
  // as changed, with "none" on the missing side.
  std::map<std::string, std::pair<const Final*, const Final*>> all;
  for (const auto& [id, f] : before) all[id].first = &f;
  for (const auto& [id, f] : after) all[id].second = &f;
  for (const auto& [id, pair] : all) {
    const Final* b = pair.first;
    const Final* a = pair.second;
    CoverageImpact* impact = impact_of((b != nullptr ? b : a)->coverage);
    if (impact == nullptr) continue;
    ++impact->claims;
    impact->approved_before += b != nullptr ? Approved(*b) : 0;
    impact->approved_after += a != nullptr ? Approved(*a) : 0;
    if (b != nullptr && a != nullptr && *a == *b) continue;
    ++impact->changed;
    if (impact->examples.size() < max_examples) {
      impact->examples.push_back(
          {id, b != nullptr ? Text(*b) : "none", a != nullptr ? Text(*a) : "none"});
    }
  }
  return impacts;
}

}  // namespace claims::audit
