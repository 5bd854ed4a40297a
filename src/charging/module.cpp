#include "charging/module.hpp"

#include "routes.hpp"

namespace motorpool::charging {

Module::Module() = default;
Module::~Module() = default;

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return charging::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(Services{context.database, context.events, context.metrics, context.clock});
    install_rest_routes(context.router, services_);
}

}  // namespace motorpool::charging
