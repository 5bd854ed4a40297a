#pragma once
// Operations endpoints: /health, /ready, /metrics, /api/openapi.json.

#include "core/metrics.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::app {

struct OpsDeps {
    db::Database& database;
    core::MetricsRegistry& metrics;
};

void register_ops_routes(http::Router& router, OpsDeps deps);

}  // namespace motorpool::app
