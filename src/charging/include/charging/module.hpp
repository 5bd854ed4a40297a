#pragma once
// The charging module: sites, grid clusters, chargers, id tags, charging sessions and the OCPP 1.6J
// central system.

#include <memory>

#include "charging/charging.hpp"
#include "platform/module.hpp"

namespace motorpool::charging {

struct Services;

class Module final : public platform::Module {
public:
    Module();
    ~Module() override;

    std::string_view name() const override { return "charging"; }
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;

private:
    std::shared_ptr<Services> services_;
};

}  // namespace motorpool::charging
