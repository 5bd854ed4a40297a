#pragma once
// The telemetry module: ingest, latest values, history, retention.

#include <memory>

#include "platform/module.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {

class Module final : public platform::Module {
public:
    std::string_view name() const override { return "telemetry"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;

    /// After install(): what other modules (Smartcar) feed.
    Ingestor& ingestor() { return *ingestor_; }
    /// A live source (Smartcar) fills this while it installs, before the server starts.
    LiveRefresh& live_refresh() { return *refresh_; }
    /// Modules that install later add their fleet-view fields here.
    FleetFields& fleet_fields() { return *fleet_fields_; }

private:
    std::int64_t retention_days_ = 0;
    std::shared_ptr<LiveRefresh> refresh_ = std::make_shared<LiveRefresh>();
    std::shared_ptr<FleetFields> fleet_fields_ = std::make_shared<FleetFields>();
    std::shared_ptr<Ingestor> ingestor_;
};

}  // namespace motorpool::telemetry
