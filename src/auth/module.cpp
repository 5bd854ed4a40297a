#include "auth/module.hpp"

#include "service.hpp"

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

void Module::start(const platform::Started& started) {
    // No I/O thread runs yet: the links' base is set before any request reads it.
    options_.public_url = platform::with_bound_port(options_.public_url, started);
    service_->set_public_url(options_.public_url);
}

void Module::on_user_details(UserDetailsHook hook) {
    service_->set_details_hook(std::move(hook));
}

void Module::on_registered(RegisteredHook hook) {
    service_->set_registered_hook(std::move(hook));
}

}  // namespace motorpool::auth
