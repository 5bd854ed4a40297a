#pragma once
// The smartcar module: Connect, tokens, polling, webhooks, and the live source of vehicle data.

#include <memory>

#include "platform/module.hpp"
#include "smartcar/smartcar.hpp"
#include "telemetry/module.hpp"

namespace motorpool::smartcar {

class Module final : public platform::Module {
public:
    /// Telemetry: what Smartcar reports is ingested there, and `?refresh=true` asks Smartcar.
    explicit Module(telemetry::Module& telemetry) : telemetry_(telemetry) {}

    std::string_view name() const override { return "smartcar"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;
    void stop() override;

    /// After configure().
    const SmartcarOptions& options() const { return options_; }
    /// After install().
    SmartcarService& service() { return *service_; }

private:
    telemetry::Module& telemetry_;
    SmartcarOptions options_;
    std::shared_ptr<SmartcarService> service_;
};

}  // namespace motorpool::smartcar
