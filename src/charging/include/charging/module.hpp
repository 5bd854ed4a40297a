#pragma once
// The charging module: sites, grid clusters, chargers, id tags, charging sessions and the OCPP 1.6J
// central system at /ocpp/{chargePointId}.

#include <memory>

#include "charging/charging.hpp"
#include "live/module.hpp"
#include "platform/module.hpp"
#include "telemetry/module.hpp"

namespace motorpool::charging {

struct Services;
class Planner;
class Dispatcher;
namespace ocpp {
class CentralSystem;
}

class Module final : public platform::Module {
public:
    /// Live: the topics charger.<id> and charging.session.<id>; telemetry: a known vehicle's
    /// charging signals from the meter values.
    Module(live::Module& live, telemetry::Module& telemetry);
    ~Module() override;

    std::string_view name() const override { return "charging"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void stop() override;

    /// After install().
    ocpp::CentralSystem& central_system() { return *central_system_; }

private:
    live::Module& live_;
    telemetry::Module& telemetry_;
    std::chrono::milliseconds call_timeout_{30'000};
    std::chrono::milliseconds replan_interval_{60'000};
    std::int64_t default_energy_kwh_ = 20;
    std::chrono::milliseconds default_dwell_{4LL * 3600 * 1000};
    std::int64_t default_limit_a_ = 0;
    std::int64_t threshold_w_ = 500;
    std::int64_t emergency_weight_ = 4;
    std::int64_t emergency_free_ = 2;
    std::chrono::milliseconds emergency_window_{30LL * 24 * 3600 * 1000};
    std::int64_t emergency_boost_kwh_ = 20;
    std::chrono::milliseconds idle_alert_{30LL * 60 * 1000};
    std::shared_ptr<Services> services_;
    std::unique_ptr<ocpp::CentralSystem> central_system_;
    std::unique_ptr<Planner> planner_;
    std::shared_ptr<Dispatcher> dispatcher_;
    core::EventBus::Subscription charger_events_;
};

}  // namespace motorpool::charging
