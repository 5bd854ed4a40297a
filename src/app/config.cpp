#include "app/config.hpp"

#include <algorithm>
#include <thread>

namespace motorpool::app {

Modules::Modules() {
    mail = add<mail::Module>();
    auto* notifications = add<notify::Module>();
    auth = add<auth::Module>(*mail);
    add<vehicles::Module>();
    telemetry = add<telemetry::Module>();
    live = add<live::Module>();
    smartcar = add<smartcar::Module>(*telemetry);
    smartcar_sim = add<smartcar::sim::Module>(*smartcar);
    add<charging::Module>(*live, *telemetry);
    auto* booking = add<booking::Module>(*live);
    add<membership::Module>(*live, *booking, *auth);
    auto* file_store = add<files::Module>(*auth);
    add<support::Module>(*live, *file_store, notifications->notifier());
    add<web::Module>();          // the dashboard: answers what no route does
    add<compat::Module>(*live);  // last: its surfaces dispatch to every other module's routes
}

Config Config::load(core::EnvSource source, bool keep_secrets) {
    Config c;
    c.settings = core::Settings(std::move(source));
    core::Settings& s = c.settings;
    c.core = core::load_core_settings(s);
    c.database = db::load_settings(s);
    core::load_key_settings(s, c.core, db::default_secrets_file(c.database.options.url), keep_secrets);
    c.http = http::load_settings(s);
    c.modules = std::make_unique<Modules>();
    for (const auto& module : c.modules->all()) {
        module->configure(s);
    }
    s.finish();

    // Defaults that depend on the machine and on the database.
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    if (c.http.server.io_threads == 0) {
        c.http.server.io_threads = cores;
    }
    if (c.core.worker_threads == 0) {
        // SQLite work is CPU- and page-cache-bound: more threads than cores only add context
        // switches (measured: point reads 29k/s with 2 workers, 15k/s with 8, on 2 cores).
        // PostgreSQL calls wait on the network, so more threads hide that latency.
        const bool sqlite = c.database.options.url.rfind("sqlite:", 0) == 0;
        c.core.worker_threads = sqlite ? std::max(2, cores) : std::max(8, 4 * cores);
    }
    if (c.database.options.pool_size == 0) {
        c.database.options.pool_size = c.core.worker_threads;
    }
    s.derived("MOTORPOOL_IO_THREADS", std::to_string(c.http.server.io_threads), "default: one per core");
    s.derived("MOTORPOOL_WORKER_THREADS", std::to_string(c.core.worker_threads), "default: for the database and cores");
    s.derived("MOTORPOOL_DB_POOL_SIZE", std::to_string(c.database.options.pool_size), "default: the worker threads");
    return c;
}

}  // namespace motorpool::app
