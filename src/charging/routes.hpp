#pragma once
// What the charging module's routes and OCPP handlers share.

#include <memory>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "jobs/jobs.hpp"

namespace motorpool::telemetry {
class Ingestor;
}

namespace motorpool::charging {

namespace ocpp {
class CentralSystem;
}
class Planner;

/// The rules of emergency requests (MOTORPOOL_CHARGING_EMERGENCY_*).
struct EmergencyRules {
    std::int64_t free_per_window = 2;                  // granted without review
    std::int64_t window_ms = 30LL * 24 * 3600 * 1000;  // rolling
    double boost_kwh = 20;                             // energy the priority applies to
};

struct Services {
    db::Database& database;
    core::EventBus& events;
    core::MetricsRegistry& metrics;
    std::shared_ptr<core::Clock> clock;
    ocpp::CentralSystem* central_system = nullptr;  // set once at install, before any request
    telemetry::Ingestor* ingestor = nullptr;        // meter values of a known vehicle become its signals
    Planner* planner = nullptr;                     // set at install
    jobs::Scheduler* jobs = nullptr;                // re-plans on request (charging.rebalance)
    EmergencyRules emergency;

    /// Asks for a re-plan soon (the node holding the lease runs it; others hear the event).
    void replan_soon() const;
};

/// /api/v1/grid/sites, /api/v1/grid/clusters, /api/v1/chargers (with the commands sent to a
/// connected charger), /api/v1/charging/sessions.
void install_rest_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// /api/v1/charging/id-tags.
void install_id_tag_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::charging
