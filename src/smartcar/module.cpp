#include "smartcar/module.hpp"

namespace motorpool::smartcar {

void Module::configure(core::Settings& settings) {
    options_ = load_options(settings);
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return smartcar::migrations(dialect);
}

void Module::install(platform::Context& context) {
    SmartcarOptions options = options_;
    options.frontend_url = context.core.frontend_url;
    options.box = context.secrets;
    options.clock = context.clock;
    service_ = smartcar::install(context.router,
                                 context.database,
                                 context.events,
                                 telemetry_.ingestor(),
                                 &context.metrics,
                                 context.jobs,
                                 std::move(options),
                                 &telemetry_.live_refresh());
}

void Module::start(const platform::Started& started) {
    // The port is bound and no I/O thread runs yet: nothing reads the client while it is replaced.
    set_local_origin(*service_, started.local_origin);
    start_jobs(*service_);
}

void Module::stop() {
    if (service_) {
        stop_jobs(*service_);
    }
}

}  // namespace motorpool::smartcar
