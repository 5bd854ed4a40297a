#pragma once
// What the support module's routes share, and their installation.

#include <memory>

#include "core/event_bus.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::support {

struct Services {
    db::Database& database;
    core::EventBus& events;
    std::shared_ptr<core::Clock> clock;
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::support
