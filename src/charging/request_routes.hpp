#pragma once
// The drivers' routes (/api/v1/charging/slot-requests, /emergency-requests, /status) and the
// read-only views (alerts, fleet, fairness analytics).

#include <memory>

#include "http/router.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::charging {

struct Services;

void install_request_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// /api/v1/charging/alerts, /api/v1/analytics/fairness.
void install_view_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// The fleet view's "charging" field: each vehicle's open request, session and plan.
telemetry::FleetField fleet_charging_field();

}  // namespace motorpool::charging
