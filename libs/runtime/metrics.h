#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/base/status.h"

namespace claims::runtime {

// A value that only goes up (requests served, claims decided). Thread-safe, lock-free.
class Counter {
 public:
  // Adds `amount`. A negative or NaN amount is ignored: a counter never goes down.
  void Increment(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  template <typename>
  friend class Family;
  Counter() = default;
  std::atomic<double> value_{0};
};

// A value that goes up and down (queue depth, ready or not). Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double amount = 1);
  void Decrement(double amount = 1) { Increment(-amount); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  template <typename>
  friend class Family;
  Gauge() = default;
  std::atomic<double> value_{0};
};

// Counts observations into buckets fixed at registration (upper bounds, inclusive), plus their
// sum. Thread-safe, lock-free. Under concurrent Observe calls a scrape may see a sum that is
// one observation ahead of or behind the buckets; the buckets and the count always agree.
class Histogram {
 public:
  // Counts `value` into the first bucket whose bound is >= value (or +Inf). NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then one for +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  template <typename>
  friend class Family;
  explicit Histogram(const std::vector<double>* bounds);

  const std::vector<double>* bounds_;                // owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last: +Inf
  std::atomic<double> sum_{0};
};

// One metric name with its help text and label names, and its series: one metric per distinct
// tuple of label values. Owned by the MetricsRegistry; lives as long as it. Thread-safe.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

 private:
  friend class MetricsRegistry;
  // Appends this family in the text format 0.0.4, series in label-value order.
  virtual void AppendExposition(std::string* out) const = 0;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// A family of Counter, Gauge or Histogram series.
template <typename Metric>
class Family final : public MetricFamily {
 public:
  // The series with these label values, one per label name in order, created (at zero) at the
  // first call. The reference stays valid as long as the registry: look it up once and keep
  // it, because this call takes a lock and allocates. Label values may be any UTF-8 text;
  // they should come from a small, fixed set. A wrong number of values is a programmer error
  // and aborts.
  Metric& WithLabels(const std::vector<std::string>& values);
  Metric& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::vector<std::string>(values.begin(), values.end()));
  }

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds);
  void AppendExposition(std::string* out) const override;

  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// `count` bucket bounds: start, start*factor, start*factor^2, ... kInvalidArgument unless
// start > 0, factor > 1 and count >= 1.
Result<std::vector<double>> ExponentialBuckets(double start, double factor, int count);

// The metrics of one process, exposed in the Prometheus text format 0.0.4. Families are
// registered once, at start-up, and live as long as the registry. Thread-safe: registering,
// updating and Expose may run concurrently.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family. kInvalidArgument for a name not matching [a-zA-Z_:][a-zA-Z0-9_:]*, a
  // label name not matching [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", a repeated label
  // name, or (histograms) a label named "le" or bounds that are not finite and strictly
  // increasing (a trailing +Inf is dropped: it is always there). kAlreadyExists when a sample
  // name it would expose (name; for a histogram also name_bucket, name_sum, name_count) is
  // already taken. Nothing is registered on error. A family without labels exposes its one
  // series (at zero) from the start; one with labels exposes only its # HELP and # TYPE lines
  // until a series exists.
  Result<CounterFamily*> AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names = {});
  Result<GaugeFamily*> AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names = {});
  Result<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                        std::vector<double> bucket_bounds,
                                        std::vector<std::string> label_names = {});

  // Runs `collect` at the start of every Expose, before any family is read: for figures that
  // are sampled rather than counted as they happen (a store's size, a cache's usage). It sets
  // gauges (or raises counters) of families registered here, may run on any thread, and must
  // be quick and thread-safe; it must not call Expose. Whatever it reads must outlive the last
  // Expose. Collectors run in the order they were added.
  void AddCollector(std::function<void()> collect);

  // Every family in the text format 0.0.4, families sorted by name and series by label
  // values, so the same state always gives the same text. Values are the shortest text that
  // reads back as the same double ("3", "0.25", "1e+21", "+Inf", "NaN").
  std::string Expose() const;

 private:
  // Checks names and reserves the family's sample names; kInvalidArgument / kAlreadyExists.
  Status Reserve(const std::string& name, const std::vector<std::string>& label_names,
                 bool histogram);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_;  // guarded by mu_
  std::set<std::string> taken_names_;  // family and sample names; guarded by mu_
  mutable std::mutex collectors_mu_;
  std::vector<std::function<void()>> collectors_;  // guarded by collectors_mu_
};

}  // namespace claims::runtime
