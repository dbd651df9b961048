#include "libs/runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace claims::runtime {
namespace {

void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    if (ec != std::errc()) {
      out->append("NaN");
      return;
    }
    out->append(buf, end);
  }
}

void AppendValue(std::string* out, uint64_t value) { out->append(std::to_string(value)); }

// HELP text: backslash and line feed escaped.
void AppendHelp(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// A label value: backslash, double quote and line feed escaped.
void AppendLabelValue(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// `{a="x",b="y"}`, with an optional extra label last (the histogram's "le"); nothing when
// there are no labels at all.
void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]);
    out->append("=\"");
    AppendLabelValue(out, values[i]);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    AppendLabelValue(out, extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendHeader(std::string* out, const MetricFamily& family, std::string_view type) {
  out->append("# HELP ");
  out->append(family.name());
  out->push_back(' ');
  AppendHelp(out, family.help());
  out->append("\n# TYPE ");
  out->append(family.name());
  out->push_back(' ');
  out->append(type);
  out->push_back('\n');
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!(letter || (i > 0 && digit))) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(letter || (i > 0 && digit))) return false;
  }
  return true;
}

[[noreturn]] void DieWrongLabelCount(const std::string& name, size_t want, size_t got) {
  std::fprintf(stderr, "claims::runtime metrics: %s takes %zu label values, got %zu\n",
               name.c_str(), want, got);
  std::abort();
}

}  // namespace

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;  // negative or NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

void Gauge::Increment(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t bucket = std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative_counts.reserve(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names().size()) {
    DieWrongLabelCount(name(), label_names().size(), values.size());
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Metric>& slot = series_[values];
  if (slot == nullptr) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      slot.reset(new Histogram(&bounds_));
    } else {
      slot.reset(new Metric());
    }
  }
  return *slot;
}

template <>
void Family<Counter>::AppendExposition(std::string* out) const {
  AppendHeader(out, *this, "counter");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, counter] : series_) {
    out->append(name());
    AppendLabels(out, label_names(), values);
    out->push_back(' ');
    AppendValue(out, counter->value());
    out->push_back('\n');
  }
}

template <>
void Family<Gauge>::AppendExposition(std::string* out) const {
  AppendHeader(out, *this, "gauge");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, gauge] : series_) {
    out->append(name());
    AppendLabels(out, label_names(), values);
    out->push_back(' ');
    AppendValue(out, gauge->value());
    out->push_back('\n');
  }
}

template <>
void Family<Histogram>::AppendExposition(std::string* out) const {
  AppendHeader(out, *this, "histogram");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, histogram] : series_) {
    Histogram::Snapshot s = histogram->snapshot();
    for (size_t i = 0; i < s.cumulative_counts.size(); ++i) {
      std::string le;
      if (i < bounds_.size()) {
        AppendValue(&le, bounds_[i]);
      } else {
        le = "+Inf";
      }
      out->append(name());
      out->append("_bucket");
      AppendLabels(out, label_names(), values, "le", le);
      out->push_back(' ');
      AppendValue(out, s.cumulative_counts[i]);
      out->push_back('\n');
    }
    out->append(name());
    out->append("_sum");
    AppendLabels(out, label_names(), values);
    out->push_back(' ');
    AppendValue(out, s.sum);
    out->push_back('\n');
    out->append(name());
    out->append("_count");
    AppendLabels(out, label_names(), values);
    out->push_back(' ');
    AppendValue(out, s.count);
    out->push_back('\n');
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Result<std::vector<double>> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1 || !std::isfinite(start) ||
      !std::isfinite(factor)) {
    return InvalidArgument("exponential buckets need start > 0, factor > 1 and count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(count);
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

Status MetricsRegistry::Reserve(const std::string& name,
                                const std::vector<std::string>& label_names, bool histogram) {
  if (!ValidMetricName(name)) {
    return InvalidArgument("metric name \"" + name + "\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!ValidLabelName(label)) {
      return InvalidArgument("metric " + name + ": label name \"" + label +
                             "\" does not match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (label.compare(0, 2, "__") == 0) {
      return InvalidArgument("metric " + name + ": label name \"" + label +
                             "\" starts with __, which Prometheus reserves");
    }
    if (histogram && label == "le") {
      return InvalidArgument("metric " + name + ": a histogram cannot have a label named le");
    }
    if (!seen.insert(label).second) {
      return InvalidArgument("metric " + name + ": label name \"" + label + "\" is repeated");
    }
  }
  std::vector<std::string> names = {name};
  if (histogram) {
    names.push_back(name + "_bucket");
    names.push_back(name + "_sum");
    names.push_back(name + "_count");
  }
  for (const std::string& n : names) {
    if (taken_names_.count(n) > 0) {
      return AlreadyExists("metric " + name + ": the name " + n + " is already registered");
    }
  }
  taken_names_.insert(names.begin(), names.end());
  return Status::Ok();
}

Result<CounterFamily*> MetricsRegistry::AddCounter(std::string name, std::string help,
                                                   std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Reserve(name, label_names, false); !s.ok()) return s;
  bool unlabeled = label_names.empty();
  auto* family = new CounterFamily(name, std::move(help), std::move(label_names), {});
  families_[name].reset(family);
  if (unlabeled) family->WithLabels({});
  return family;
}

Result<GaugeFamily*> MetricsRegistry::AddGauge(std::string name, std::string help,
                                               std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Reserve(name, label_names, false); !s.ok()) return s;
  bool unlabeled = label_names.empty();
  auto* family = new GaugeFamily(name, std::move(help), std::move(label_names), {});
  families_[name].reset(family);
  if (unlabeled) family->WithLabels({});
  return family;
}

Result<HistogramFamily*> MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                       std::vector<double> bucket_bounds,
                                                       std::vector<std::string> label_names) {
  if (!bucket_bounds.empty() && bucket_bounds.back() == INFINITY) bucket_bounds.pop_back();
  for (size_t i = 0; i < bucket_bounds.size(); ++i) {
    if (!std::isfinite(bucket_bounds[i])) {
      return InvalidArgument("histogram " + name + ": bucket bounds must be finite");
    }
    if (i > 0 && !(bucket_bounds[i] > bucket_bounds[i - 1])) {
      return InvalidArgument("histogram " + name + ": bucket bounds must be strictly increasing");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Reserve(name, label_names, true); !s.ok()) return s;
  bool unlabeled = label_names.empty();
  auto* family =
      new HistogramFamily(name, std::move(help), std::move(label_names), std::move(bucket_bounds));
  families_[name].reset(family);
  if (unlabeled) family->WithLabels({});
  return family;
}

void MetricsRegistry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Expose() const {
  {
    // Concurrent scrapes sample one after the other, so none sees another's half-set figures.
    std::lock_guard<std::mutex> lock(collectors_mu_);
    for (const std::function<void()>& collect : collectors_) collect();
  }
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->AppendExposition(&out);
  return out;
}

}  // namespace claims::runtime
