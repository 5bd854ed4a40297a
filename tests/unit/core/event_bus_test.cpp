#include "core/event_bus.hpp"

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(EventBus, DeliversByTopicPrefixUntilUnsubscribed) {
    EventBus bus;
    std::vector<std::string> vehicle_topics;
    int all = 0;
    auto vehicles = bus.subscribe("vehicle.", [&](const Event& e) { vehicle_topics.push_back(e.topic); });
    auto everything = bus.subscribe("", [&](const Event&) { ++all; });
    bus.publish({"vehicle.1", "SIGNALS", "{}"});
    bus.publish({"charging.session.9", "SESSION", "{}"});
    EXPECT_EQ(vehicle_topics, (std::vector<std::string>{"vehicle.1"}));
    EXPECT_EQ(all, 2);
    vehicles.reset();
    bus.publish({"vehicle.2", "SIGNALS", "{}"});
    EXPECT_EQ(vehicle_topics.size(), 1U);
    EXPECT_EQ(all, 3);
    EXPECT_EQ(bus.published(), 3U);
}

TEST(EventBus, HandlerMayUnsubscribeItselfAndSubscriptionsMayOutliveTheBus) {
    EventBus::Subscription outliving;
    {
        EventBus bus;
        EventBus::Subscription self;
        int calls = 0;
        self = bus.subscribe("x", [&](const Event&) {
            ++calls;
            self.reset();  // must not deadlock
        });
        bus.publish({"x", "T", ""});
        bus.publish({"x", "T", ""});
        EXPECT_EQ(calls, 1);
        outliving = bus.subscribe("y", [](const Event&) {});
    }
    outliving.reset();  // the bus is gone: a no-op, not a crash
}

}  // namespace
}  // namespace motorpool::core
