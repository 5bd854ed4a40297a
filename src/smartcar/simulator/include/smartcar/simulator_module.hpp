#pragma once
// The Smartcar simulator as a module: mounted at /sim/smartcar when SMARTCAR_MODE=simulated, its
// state kept in the database, its webhook emitter delivering to this server.

#include <memory>

#include "platform/module.hpp"
#include "smartcar/module.hpp"
#include "smartcar/simulator.hpp"

namespace motorpool::smartcar::sim {

/// The simulator's own variables (SMARTCAR_SIM_*); the credentials it plays Smartcar with are the
/// smartcar module's.
struct Settings {
    std::string faults_json;
    std::string webhook_url;  // empty: this server's /webhooks/smartcar; "off": no emitter
    std::chrono::milliseconds webhook_interval{std::chrono::minutes(5)};
    std::chrono::milliseconds webhook_retry{25'000};
};
Settings load_settings(core::Settings& settings);

/// The simulator's options for Smartcar's credentials and its own settings.
SimulatorOptions simulator_options(const SmartcarOptions& smartcar, const Settings& settings);

class Module final : public platform::Module {
public:
    /// Smartcar: the credentials, redirect URI and webhook the simulator plays.
    explicit Module(const smartcar::Module& smartcar) : smartcar_(smartcar) {}

    std::string_view name() const override { return "smartcar_sim"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    /// Does nothing unless SMARTCAR_MODE=simulated.
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;
    void stop() override;

    /// After configure().
    const Settings& settings() const { return settings_; }
    /// After install(); null unless simulated.
    Simulator* simulator() { return simulator_.get(); }

private:
    const smartcar::Module& smartcar_;
    Settings settings_;
    std::unique_ptr<Simulator> simulator_;
    std::unique_ptr<SimulatorStore> store_;  // survives restarts
};

}  // namespace motorpool::smartcar::sim
