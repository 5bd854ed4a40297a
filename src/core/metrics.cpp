#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/errors.hpp"

namespace motorpool::core {
namespace {

void atomic_add(std::atomic<double>& target, double delta) {
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
    }
}

std::string format_number(double v) {
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf, static_cast<std::size_t>(n));
}

const char* kind_name(int kind) {
    switch (kind) {
        case 0:
            return "counter";
        case 1:
            return "gauge";
        default:
            return "histogram";
    }
}

}  // namespace

void Gauge::add(double d) {
    atomic_add(value_, d);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    std::sort(bounds_.begin(), bounds_.end());
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void Histogram::observe(double v) {
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    atomic_add(sum_, v);
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

std::vector<double> latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string format_labels(const Labels& labels) {
    if (labels.empty()) {
        return {};
    }
    std::string out = "{";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        out += labels[i].first;
        out += "=\"";
        for (char c : labels[i].second) {
            if (c == '\\' || c == '"') {
                out += '\\';
                out += c;
            } else if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        }
        out += '"';
    }
    out += '}';
    return out;
}

void render_histogram(std::string& out, const std::string& name, const Labels& labels, const Histogram& h) {
    auto counts = h.cumulative();
    for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
        Labels with_le = labels;
        with_le.emplace_back("le", i < h.bounds().size() ? format_number(h.bounds()[i]) : "+Inf");
        out += name + "_bucket" + format_labels(with_le) + " " + std::to_string(counts[i]) + "\n";
    }
    out += name + "_sum" + format_labels(labels) + " " + format_number(h.sum()) + "\n";
    out += name + "_count" + format_labels(labels) + " " + std::to_string(counts.back()) + "\n";
}

MetricsRegistry::Series& MetricsRegistry::series(const std::string& name,
                                                 const std::string& help,
                                                 Kind kind,
                                                 const Labels& labels) {
    std::lock_guard lock(mutex_);
    Family* family = nullptr;
    for (auto& f : families_) {
        if (f->name == name) {
            family = f.get();
        }
    }
    if (family == nullptr) {
        families_.push_back(std::make_unique<Family>(Family{name, help, kind, {}}));
        family = families_.back().get();
    }
    MP_CHECK(family->kind == kind);
    for (auto& s : family->series) {
        if (s->labels == labels) {
            return *s;
        }
    }
    family->series.push_back(std::make_unique<Series>());
    family->series.back()->labels = labels;
    return *family->series.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
    auto& s = series(name, help, Kind::Counter, labels);
    std::lock_guard lock(mutex_);
    if (!s.counter) {
        s.counter = std::make_unique<Counter>();
    }
    return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
    auto& s = series(name, help, Kind::Gauge, labels);
    std::lock_guard lock(mutex_);
    if (!s.gauge) {
        s.gauge = std::make_unique<Gauge>();
    }
    return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name,
                                      const std::string& help,
                                      std::vector<double> bounds,
                                      const Labels& labels) {
    auto& s = series(name, help, Kind::Histogram, labels);
    std::lock_guard lock(mutex_);
    if (!s.histogram) {
        s.histogram = std::make_unique<Histogram>(std::move(bounds));
    }
    return *s.histogram;
}

void MetricsRegistry::gauge_callback(const std::string& name,
                                     const std::string& help,
                                     std::function<double()> read,
                                     const Labels& labels) {
    auto& s = series(name, help, Kind::Gauge, labels);
    std::lock_guard lock(mutex_);
    s.read = std::move(read);
}

void MetricsRegistry::add_collector(std::function<void(std::string&)> collect) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::render() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
        out += "# HELP " + f->name + " " + f->help + "\n";
        out += "# TYPE " + f->name + " " + kind_name(static_cast<int>(f->kind)) + "\n";
        for (const auto& s : f->series) {
            switch (f->kind) {
                case Kind::Counter:
                    out += f->name + format_labels(s->labels) + " " +
                           std::to_string(s->counter ? s->counter->value() : 0) + "\n";
                    break;
                case Kind::Gauge: {
                    double v = s->read ? s->read() : (s->gauge ? s->gauge->value() : 0.0);
                    out += f->name + format_labels(s->labels) + " " + format_number(v) + "\n";
                    break;
                }
                case Kind::Histogram:
                    if (s->histogram) {
                        render_histogram(out, f->name, s->labels, *s->histogram);
                    }
                    break;
            }
        }
    }
    for (const auto& collect : collectors_) {
        collect(out);
    }
    return out;
}

}  // namespace motorpool::core
