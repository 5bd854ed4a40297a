#include "telemetry/module.hpp"

namespace motorpool::telemetry {

void Module::configure(core::Settings& s) {
    s.module("telemetry");
    retention_days_ = s.integer(
        "MOTORPOOL_TELEMETRY_RETENTION_DAYS", 0, 0, 36500, "Days of signal history kept (0: all); latest values stay");
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return telemetry::migrations(dialect);
}

void Module::install(platform::Context& context) {
    ingestor_ = telemetry::install(
        context.router, context.database, context.events, &context.metrics, context.clock, refresh_, fleet_fields_);
    if (retention_days_ > 0) {
        context.jobs.add(retention_job(context.database, retention_days_, context.clock));
    }
}

}  // namespace motorpool::telemetry
