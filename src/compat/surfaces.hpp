#pragma once
// The surfaces the compat module mounts: their routes (for the collision check) and installation.

#include <string>
#include <vector>

#include "compat/module.hpp"
#include "core/time.hpp"
#include "http/router.hpp"
#include "live/live.hpp"

namespace motorpool::compat {

std::vector<RouteKey> catalog_routes();
/// vehicle-catalog at `prefix`; `public_read`: reading needs no token.
void install_catalog(http::Router& router, const std::string& prefix, bool public_read);

std::vector<RouteKey> integration_routes();
/// smartcar-integration at `prefix`; `clock` dates the history's range.
void install_integration(http::Router& router, const std::string& prefix, std::shared_ptr<core::Clock> clock);

std::vector<RouteKey> webhooks_routes();
/// smartcar-webhooks at `prefix`; after the smartcar module (its receiver's body limit).
void install_webhooks(http::Router& router, const std::string& prefix);

std::vector<RouteKey> membership_routes();
/// membership-auto at `prefix`; after the modules whose routes it forwards to (body limits).
void install_membership(http::Router& router, const std::string& prefix);
/// membership-auto's chat WebSocket ({prefix}/chat/ws) over the live hub.
void install_membership_chat(http::Router& router, live::Hub& hub, const std::string& prefix);

std::vector<RouteKey> balancer_routes();
/// charging-balancer at `prefix`; `default_cluster` (GRID_CLUSTER_ID) when a request names none.
void install_balancer(http::Router& router, const std::string& prefix, const std::string& default_cluster);

}  // namespace motorpool::compat
