#pragma once
// Prometheus metrics: counters, gauges, histograms and custom collectors, rendered as text
// exposition format 0.0.4. Updates are lock-free atomics; only registration and rendering lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace motorpool::core {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void set(double v) { value_.store(v, std::memory_order_relaxed); }
    void add(double d);
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    /// Cumulative counts per bound, then +Inf; and the sum.
    std::vector<std::uint64_t> cumulative() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<double> sum_{0};
    std::atomic<std::uint64_t> count_{0};
};

/// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> latency_buckets();

/// Formats a label set as {a="x",b="y"} with Prometheus escaping.
std::string format_labels(const Labels& labels);
void render_histogram(std::string& out, const std::string& name, const Labels& labels, const Histogram& h);

class MetricsRegistry {
public:
    /// Each returns a reference valid for the registry's life; the same name+labels returns the same metric.
    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& histogram(const std::string& name,
                         const std::string& help,
                         std::vector<double> bounds,
                         const Labels& labels = {});
    /// A gauge read at scrape time.
    void gauge_callback(const std::string& name,
                        const std::string& help,
                        std::function<double()> read,
                        const Labels& labels = {});
    /// Free-form text appended to the scrape (families with many dynamic label sets).
    void add_collector(std::function<void(std::string&)> collect);

    std::string render() const;

private:
    enum class Kind { Counter, Gauge, Histogram };
    struct Series {
        Labels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
        std::function<double()> read;
    };
    struct Family {
        std::string name;
        std::string help;
        Kind kind;
        std::vector<std::unique_ptr<Series>> series;
    };
    Series& series(const std::string& name, const std::string& help, Kind kind, const Labels& labels);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Family>> families_;
    std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace motorpool::core
