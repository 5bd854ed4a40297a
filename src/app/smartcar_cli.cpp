#include "smartcar_cli.hpp"

#include <cstdio>

#include "app/app.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "smartcar/simulator.hpp"
#include "smartcar/simulator_module.hpp"
#include "smartcar/smartcar.hpp"

namespace motorpool::app {

int run_smartcar_simulator(Config config, int port) {
    http::Router router;
    core::MetricsRegistry metrics;
    const auto& smartcar = config.modules->smartcar->options();
    const auto& sim_settings = config.modules->smartcar_sim->settings();
    auto options = smartcar::sim::simulator_options(smartcar, sim_settings);
    options.prefix = "";
    smartcar::sim::Simulator simulator(options);
    simulator.install(router);
    http::ServerOptions server_options;
    server_options.host = config.http.server.host;
    server_options.port = static_cast<std::uint16_t>(port);
    server_options.io_threads = 1;
    http::Server server(server_options, router, metrics);
    server.start();
    if (!sim_settings.webhook_url.empty() && sim_settings.webhook_url != "off") {
        simulator.start_emitter(sim_settings.webhook_url);  // an application's webhook endpoint
    }
    std::printf(
        "\n  Smartcar simulator at http://%s:%u\n  SMARTCAR_CLIENT_ID=%s (secret and management token: %s)\n"
        "  Point an SDK at it: SMARTCAR_API_ORIGIN, SMARTCAR_AUTH_ORIGIN, SMARTCAR_MANAGEMENT_API_ORIGIN and\n"
        "  SMARTCAR_API_V3_ORIGIN set to that origin. Stop with Ctrl+C.\n\n",
        server_options.host == "0.0.0.0" ? "127.0.0.1" : server_options.host.c_str(),
        server.port(),
        smartcar.client_id.c_str(),
        config.core.secrets_file.empty() ? "from the environment" : config.core.secrets_file.c_str());
    std::fflush(stdout);
    server.run_until_signal();
    return 0;
}

int run_keys_generate() {
    std::printf("%s\n", core::SecretBox::generate_key_base64().c_str());
    return 0;
}

int run_keys_rotate(Config config) {
    auto box = core::SecretBox::from_base64(config.core.encryption_key, config.core.encryption_keys_previous);
    core::WorkerPool workers(1, 16);
    auto options = config.database.options;
    options.pool_size = 1;
    auto database = db::Database::open(options, workers, nullptr);
    std::int64_t resealed = smartcar::rotate_keys(*database, box);
    resealed += smartcar::sim::SimulatorStore::rotate_key(*database, box);  // simulated mode's saved state
    database->close();
    std::printf(
        "re-sealed %lld value(s) under key %s\n", static_cast<long long>(resealed), box.current_key_id().c_str());
    return 0;
}

}  // namespace motorpool::app
