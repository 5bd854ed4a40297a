#pragma once
// What the charging module's routes and OCPP handlers share.

#include <memory>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::telemetry {
class Ingestor;
}

namespace motorpool::charging {

namespace ocpp {
class CentralSystem;
}

struct Services {
    db::Database& database;
    core::EventBus& events;
    core::MetricsRegistry& metrics;
    std::shared_ptr<core::Clock> clock;
    ocpp::CentralSystem* central_system = nullptr;  // set once at install, before any request
    telemetry::Ingestor* ingestor = nullptr;        // meter values of a known vehicle become its signals
};

/// /api/v1/grid/sites, /api/v1/grid/clusters, /api/v1/chargers (with the commands sent to a
/// connected charger), /api/v1/charging/sessions.
void install_rest_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// /api/v1/charging/id-tags.
void install_id_tag_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::charging
