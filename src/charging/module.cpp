#include "charging/module.hpp"

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "ocpp/central_system.hpp"
#include "routes.hpp"

namespace motorpool::charging {

Module::Module(live::Module& live, telemetry::Module& telemetry) : live_(live), telemetry_(telemetry) {}
Module::~Module() = default;

void Module::configure(core::Settings& s) {
    s.module("charging");
    call_timeout_ = s.duration("MOTORPOOL_OCPP_CALL_TIMEOUT",
                               call_timeout_,
                               "How long a charger has to answer a CALL motorpool sends (504 beyond)",
                               std::chrono::seconds(1),
                               std::chrono::minutes(10));
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return charging::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(Services{context.database, context.events, context.metrics, context.clock});
    services_->ingestor = &telemetry_.ingestor();
    ocpp::CentralSystemOptions options;
    options.call_timeout = call_timeout_;
    central_system_ = std::make_unique<ocpp::CentralSystem>(services_, options);
    services_->central_system = central_system_.get();
    central_system_->install(context.router);
    install_rest_routes(context.router, services_);
    install_id_tag_routes(context.router, services_);

    // charger.<id>: staff who read the infrastructure; charging.session.<id>: its driver and staff.
    live::add_topic(live_.hub(), "charger.", [](const http::Principal& who, std::string_view) {
        auto role = auth::role_from_name(who.role);
        if (!role || *role == auth::Role::Member) {
            throw core::ApiError::forbidden("Chargers are for staff and fleet managers");
        }
    });
    auto& database = context.database;
    live::add_topic(live_.hub(), "charging.session.", [&database](const http::Principal& who, std::string_view id) {
        auto rows = database.with_reader([&](db::Connection& c) {
            return c.query("SELECT user_id FROM charging_sessions WHERE public_id = $1", {std::string(id)});
        });
        if (rows.empty()) {
            throw core::ApiError::not_found("Charging session");
        }
        auth::Actor actor{who.user_id, auth::role_from_name(who.role).value_or(auth::Role::Member)};
        auth::require_access(actor, rows.front().opt_int64(0), auth::Access::Read, "Charging session", "");
    });
}

void Module::stop() {
    if (central_system_) {
        central_system_->close_all();
    }
}

}  // namespace motorpool::charging
