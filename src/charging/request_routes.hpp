#pragma once
// The drivers' routes: /api/v1/charging/slot-requests, /emergency-requests, /status.

#include <memory>

#include "http/router.hpp"

namespace motorpool::charging {

struct Services;

void install_request_routes(http::Router& router, const std::shared_ptr<Services>& services);

}  // namespace motorpool::charging
