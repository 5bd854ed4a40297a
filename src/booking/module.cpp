#include "booking/module.hpp"

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "routes.hpp"

namespace motorpool::booking {

Module::Module(live::Module& live) : live_(live) {}
Module::~Module() = default;

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return booking::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(Services{context.database, context.events, context.clock, {}});
    install_routes(context.router, services_);
    // member.<user id>: a member's appointments (and, with the membership module, memberships), for
    // the member and staff.
    live::add_topic(live_.hub(), "member.", [](const http::Principal& who, std::string_view id) {
        auto role = auth::role_from_name(who.role);
        if (who.subject != id && (!role || !auth::sees_all_rows(*role))) {
            throw core::ApiError::not_found("Member");
        }
    });
}

void Module::set_pricing(PricingHook hook) {
    services_->pricing = std::move(hook);
}

}  // namespace motorpool::booking
