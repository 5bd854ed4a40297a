#include "auth/module.hpp"

namespace motorpool::auth {

void Module::configure(core::Settings& settings) {
    options_ = load_options(settings);
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return auth::migrations(dialect);
}

void Module::install(platform::Context& context) {
    options_.frontend_url = context.core.frontend_url;
    options_.mail_queued = [&mailer = mail_.mailer()] { mailer.notify(); };
    service_ = auth::install(context.router, context.database, options_, context.clock);
}

}  // namespace motorpool::auth
