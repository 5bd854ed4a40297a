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
    std::shared_ptr<Services> services_;
    std::unique_ptr<ocpp::CentralSystem> central_system_;
};

}  // namespace motorpool::charging
