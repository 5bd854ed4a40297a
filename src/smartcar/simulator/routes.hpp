#pragma once
// Each part of the simulator registers its own routes below the prefix (Simulator::install).

#include <string>

#include "http/router.hpp"
#include "state.hpp"

namespace motorpool::smartcar::sim::detail {

/// Connect: the authorization page, the token endpoint, the v3 application-token endpoint.
void install_oauth_routes(http::Router& router, const std::string& prefix, const StatePtr& state);
/// The v2 Vehicle API: /v2.0/vehicles/{id}/... (reads, commands, webhook subscriptions).
void install_vehicle_routes(http::Router& router, const std::string& prefix, const StatePtr& state);
/// The v3 signals API: /v3/vehicles/{id}[/signals[/{code}]].
void install_signal_routes(http::Router& router, const std::string& prefix, const StatePtr& state);
/// The user, the vehicle list and the management API (connections).
void install_management_routes(http::Router& router, const std::string& prefix, const StatePtr& state);

/// Registers a route that Smartcar's SDKs call with and without a trailing slash (the router
/// ignores a trailing slash: one route serves both).
inline void add_both(http::Router& router, http::Method method, const std::string& path, http::Handler handler) {
    router.add(method, path, std::move(handler));
}

}  // namespace motorpool::smartcar::sim::detail
