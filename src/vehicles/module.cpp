#include "vehicles/module.hpp"

namespace motorpool::vehicles {

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return vehicles::migrations(dialect);
}

void Module::install(platform::Context& context) {
    service_ = vehicles::install(context.router, context.database, context.clock);
}

}  // namespace motorpool::vehicles
