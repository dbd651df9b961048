// Events/s of the pure fold (domain::Fold over many members) on generated histories, beside a
// baseline that only routes each event to its member's state (the fold minus the rules), so
// that the rules' own cost reads as a ratio measured in the same run.

#include <benchmark/benchmark.h>

#include <map>

#include "libs/domain/codec/plan_loader.h"
#include "libs/domain/fold.h"
#include "tests/bench/history.h"

namespace claims::bench {
namespace {

const domain::Plan& ExamplePlan() {
  static const domain::Plan plan = *codec::LoadPlanFile(CLAIMS_PLAN_FILE);
  return plan;
}

const std::vector<domain::Input>& History(int claims_per_thousand) {
  static std::map<int, std::vector<domain::Input>> cache;
  auto it = cache.find(claims_per_thousand);
  if (it == cache.end()) {
    HistoryShape shape;
    shape.members = 100000;
    shape.claims_per_thousand_member_years = claims_per_thousand;
    it = cache.emplace(claims_per_thousand, GenerateHistory(shape)).first;
  }
  return it->second;
}

// Baseline: look up (or create) each event's member state in the same ordered map, no rules.
void BM_RouteOnly(benchmark::State& state) {
  const auto& log = History(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::map<domain::MemberId, domain::MemberState> members;
    for (const domain::Input& in : log) {
      domain::MemberState& s = members[domain::MemberOf(in)];
      ++s.last_sequence;
    }
    benchmark::DoNotOptimize(members);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.size()));
}

void BM_Fold(benchmark::State& state) {
  const auto& log = History(static_cast<int>(state.range(0)));
  const domain::Plan& plan = ExamplePlan();
  int64_t decisions = 0;
  for (auto _ : state) {
    domain::Fold fold;
    for (const domain::Input& in : log) {
      const domain::Output out = fold.Apply(in, plan);
      decisions += std::holds_alternative<domain::Decision>(out.body);
    }
    benchmark::DoNotOptimize(fold);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.size()));
  state.counters["events"] = static_cast<double>(log.size());
  state.counters["decisions_per_run"] =
      static_cast<double>(decisions) / static_cast<double>(state.iterations());
}

// 100,000 members over 3 plan years. Arg: claims per 1,000 member-years (1 is the real plan's
// rate, 50 the default, 500 a claim-heavy stress).
BENCHMARK(BM_RouteOnly)->Arg(50)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Fold)->Arg(1)->Arg(50)->Arg(500)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
}  // namespace claims::bench

BENCHMARK_MAIN();
