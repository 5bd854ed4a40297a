#pragma once
// What the booking module's routes share, and their installation.

#include <memory>

#include "booking/module.hpp"
#include "core/event_bus.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::booking {

struct Services {
    db::Database& database;
    core::EventBus& events;
    std::shared_ptr<core::Clock> clock;
    PricingHook pricing;  // empty: list prices
    CompletedHook completed;
    RewardsHooks rewards;  // empty: rewards cannot pay
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::booking
