#pragma once
// What the charging module's routes and OCPP handlers share.

#include <memory>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::charging {

struct Services {
    db::Database& database;
    core::EventBus& events;
    core::MetricsRegistry& metrics;
    std::shared_ptr<core::Clock> clock;
};

/// /api/v1/grid/sites, /api/v1/grid/clusters, /api/v1/chargers.
void install_rest_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::charging
