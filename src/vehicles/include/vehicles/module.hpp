#pragma once
// The vehicles module: the registry (VINs, owners, CSV import).

#include <memory>

#include "platform/module.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::vehicles {

class Module final : public platform::Module {
public:
    std::string_view name() const override { return "vehicles"; }
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;

private:
    std::shared_ptr<VehicleService> service_;
};

}  // namespace motorpool::vehicles
