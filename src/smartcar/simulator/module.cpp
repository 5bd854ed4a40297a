#include <spdlog/spdlog.h>

#include "smartcar/simulator_module.hpp"

namespace motorpool::smartcar::sim {

Settings load_settings(core::Settings& s) {
    Settings out;
    s.module("smartcar_sim");
    out.faults_json =
        s.string("SMARTCAR_SIM_FAULTS", "", "The simulator's initial faults, JSON as for POST /admin/faults");
    out.webhook_url = s.string(
        "SMARTCAR_SIM_WEBHOOK_URL", "", "Where the simulator delivers webhooks (unset: this server; off: nowhere)");
    out.webhook_interval = s.duration("SMARTCAR_SIM_WEBHOOK_INTERVAL",
                                      out.webhook_interval,
                                      "A VEHICLE_STATE delivery per subscribed car this often");
    out.webhook_retry =
        s.duration("SMARTCAR_SIM_WEBHOOK_RETRY", out.webhook_retry, "First retry of a failed delivery (then x2, x4)");
    return out;
}

SimulatorOptions simulator_options(const SmartcarOptions& smartcar, const Settings& settings) {
    SimulatorOptions sim;
    sim.client_id = smartcar.client_id;
    sim.client_secret = smartcar.client_secret;
    sim.management_token = smartcar.management_token;
    if (!smartcar.redirect_uri.empty()) {
        sim.redirect_uris.push_back(smartcar.redirect_uri);
    }
    if (!smartcar.webhook_id.empty()) {
        sim.webhook_id = smartcar.webhook_id;
    }
    sim.faults_json = settings.faults_json;
    sim.webhook_interval = settings.webhook_interval;
    sim.retry_scale = static_cast<double>(settings.webhook_retry.count()) / 25'000.0;
    return sim;
}

void Module::configure(core::Settings& settings) {
    settings_ = load_settings(settings);
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return sim::migrations(dialect);
}

void Module::install(platform::Context& context) {
    if (smartcar_.options().mode != "simulated") {
        return;
    }
    auto options = simulator_options(smartcar_.options(), settings_);
    options.clock = context.clock;
    simulator_ = std::make_unique<Simulator>(std::move(options));
    simulator_->install(context.router);
    store_ = std::make_unique<SimulatorStore>(*simulator_, context.database, context.secrets);
    if (store_->load()) {
        spdlog::info("smartcar simulator: restored its accounts, cars and tokens");
    }
}

void Module::start(const platform::Started& started) {
    if (!simulator_) {
        return;
    }
    if (settings_.webhook_url != "off") {
        simulator_->start_emitter(settings_.webhook_url.empty() ? started.local_origin + "/webhooks/smartcar"
                                                                : settings_.webhook_url);
    }
    store_->start();
}

void Module::stop() {
    if (simulator_) {
        simulator_->stop_emitter();
        store_->stop();  // after the last request that could change it
    }
}

}  // namespace motorpool::smartcar::sim
