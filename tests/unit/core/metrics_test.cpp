#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistograms) {
    MetricsRegistry registry;
    registry.counter("mp_events_total", "Events", {{"kind", "a"}}).inc(3);
    registry.counter("mp_events_total", "Events", {{"kind", "b\"q"}}).inc();
    registry.counter("mp_events_total", "Events", {{"kind", "a"}}).inc();  // same series
    registry.gauge("mp_level", "Level").set(2.5);
    registry.gauge_callback("mp_live", "Live", [] { return 7.0; });
    auto& h = registry.histogram("mp_size", "Size", {1, 10});
    h.observe(0.5);
    h.observe(5);
    h.observe(50);
    registry.add_collector([](std::string& out) { out += "custom_metric 1\n"; });

    std::string text = registry.render();
    EXPECT_NE(text.find("# TYPE mp_events_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("mp_events_total{kind=\"a\"} 4\n"), std::string::npos);
    EXPECT_NE(text.find("mp_events_total{kind=\"b\\\"q\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("mp_level 2.5\n"), std::string::npos);
    EXPECT_NE(text.find("mp_live 7\n"), std::string::npos);
    EXPECT_NE(text.find("mp_size_bucket{le=\"1\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("mp_size_bucket{le=\"10\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("mp_size_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("mp_size_sum 55.5\n"), std::string::npos);
    EXPECT_NE(text.find("mp_size_count 3\n"), std::string::npos);
    EXPECT_NE(text.find("custom_metric 1\n"), std::string::npos);
    // HELP/TYPE once per family.
    EXPECT_EQ(text.find("# TYPE mp_events_total"), text.rfind("# TYPE mp_events_total"));
}

}  // namespace
}  // namespace motorpool::core
