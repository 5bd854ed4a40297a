#include "charging/module.hpp"

#include <boost/json.hpp>

#include "abuse.hpp"
#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "dispatcher.hpp"
#include "ocpp/central_system.hpp"
#include "planner.hpp"
#include "request_routes.hpp"
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
    replan_interval_ = s.duration("MOTORPOOL_CHARGING_REPLAN_INTERVAL",
                                  replan_interval_,
                                  "How often every cluster is re-planned at the latest (events re-plan at once)",
                                  std::chrono::seconds(5),
                                  std::chrono::minutes(5));
    default_energy_kwh_ = s.integer("MOTORPOOL_CHARGING_DEFAULT_ENERGY_KWH",
                                    default_energy_kwh_,
                                    1,
                                    200,
                                    "Energy assumed for a car that plugs in without a slot request (kWh)");
    default_dwell_ = s.duration("MOTORPOOL_CHARGING_DEFAULT_DWELL",
                                default_dwell_,
                                "Stay assumed for a car that plugs in without a slot request",
                                std::chrono::minutes(15),
                                std::chrono::hours(48));
    default_limit_a_ = s.integer("MOTORPOOL_CHARGING_DEFAULT_LIMIT_A",
                                 default_limit_a_,
                                 0,
                                 80,
                                 "TxDefaultProfile limit per phase (A): what a new transaction draws before its plan "
                                 "arrives, and without motorpool; reserved on every idle connector (0: none)");
    threshold_w_ = s.integer("MOTORPOOL_CHARGING_THRESHOLD_W",
                             threshold_w_,
                             0,
                             22'000,
                             "A connector's limit is re-sent only when it changes by more than this (W)");
    emergency_weight_ = s.integer("MOTORPOOL_CHARGING_EMERGENCY_WEIGHT",
                                  emergency_weight_,
                                  1,
                                  100,
                                  "An emergency's share of scarce power against a normal request's");
    emergency_free_ = s.integer("MOTORPOOL_CHARGING_EMERGENCY_FREE",
                                emergency_free_,
                                0,
                                100,
                                "Emergencies a member gets without review per window");
    emergency_window_ = s.duration("MOTORPOOL_CHARGING_EMERGENCY_WINDOW",
                                   emergency_window_,
                                   "The rolling window of MOTORPOOL_CHARGING_EMERGENCY_FREE",
                                   std::chrono::hours(1),
                                   std::chrono::hours(24 * 365));
    idle_alert_ = s.duration("MOTORPOOL_CHARGING_IDLE_ALERT",
                             idle_alert_,
                             "A connector occupied this long after its car stopped charging is flagged",
                             std::chrono::minutes(1),
                             std::chrono::hours(24));
    emergency_boost_kwh_ = s.integer("MOTORPOOL_CHARGING_EMERGENCY_BOOST_KWH",
                                     emergency_boost_kwh_,
                                     1,
                                     200,
                                     "Energy an emergency's priority applies to (kWh); the rest is normal");
}

void Services::replan_soon() const {
    // Every node hears it (the relay); the one holding the lease re-plans.
    events.publish({"charging.replan", "REPLAN", "{}"});
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return charging::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(Services{
        context.database, context.events, context.metrics, context.clock, nullptr, nullptr, nullptr, nullptr, {}});
    services_->ingestor = &telemetry_.ingestor();
    ocpp::CentralSystemOptions options;
    options.call_timeout = call_timeout_;
    central_system_ = std::make_unique<ocpp::CentralSystem>(services_, options);
    services_->central_system = central_system_.get();
    central_system_->install(context.router);
    services_->jobs = &context.jobs;
    services_->emergency =
        EmergencyRules{emergency_free_, emergency_window_.count(), static_cast<double>(emergency_boost_kwh_)};
    PlannerOptions planning;
    planning.default_energy_kwh = static_cast<double>(default_energy_kwh_);
    planning.default_dwell_ms = default_dwell_.count();
    planning.threshold_kw = static_cast<double>(threshold_w_) / 1000.0;
    planning.emergency_weight = static_cast<double>(emergency_weight_);
    planning.interval_ms = replan_interval_.count();
    planner_ = std::make_unique<Planner>(*services_, planning);
    services_->planner = planner_.get();
    DispatchOptions dispatching;
    dispatching.default_limit_a = static_cast<double>(default_limit_a_);
    dispatcher_ = std::make_shared<Dispatcher>(*services_, *central_system_, dispatching);

    Planner* planner = planner_.get();
    context.jobs.add({"charging.rebalance",
                      replan_interval_,
                      std::chrono::milliseconds(0),
                      true,
                      [planner](const std::atomic<bool>&) { planner->replan_all(); }});
    auto dispatcher = dispatcher_;
    auto services = services_;
    AbuseRules abuse;
    abuse.idle_ms = idle_alert_.count();
    context.jobs.add({"charging.abuse",
                      std::chrono::minutes(5),
                      std::chrono::minutes(1),
                      true,
                      [services, abuse](const std::atomic<bool>&) { detect_abuse(*services, abuse); }});
    context.jobs.add({"charging.dispatch",
                      std::chrono::seconds(15),
                      std::chrono::milliseconds(0),
                      false,
                      [dispatcher](const std::atomic<bool>&) { dispatcher->reconcile(); }});
    // Events that change a plan re-plan at once; a plan or a (re)connected charger is dispatched.
    auto& jobs = context.jobs;
    auto& database = context.database;
    // grid.cluster.<id>: the cluster's plans, for staff and fleet managers.
    live::add_topic(live_.hub(), "grid.cluster.", [](const http::Principal& who, std::string_view) {
        auto role = auth::role_from_name(who.role);
        if (!role || *role == auth::Role::Member) {
            throw core::ApiError::forbidden("Grid clusters are for staff and fleet managers");
        }
    });
    // charging.alerts: abuse and grid alerts, for support and admins.
    live::add_stream(
        live_.hub(), "charging.alerts", "charging.alerts", [](const http::Principal& who, std::string_view) {
            auto role = auth::role_from_name(who.role);
            if (!role || (*role != auth::Role::Support && *role != auth::Role::Admin)) {
                throw core::ApiError::forbidden("Charging alerts are for support and admins");
            }
        });
    charger_events_ = context.events.subscribe("", [&jobs, &database](const core::Event& e) {
        if (e.topic == "charging.replan") {
            jobs.trigger("charging.rebalance");
        } else if (e.topic.rfind("grid.cluster.", 0) == 0 && e.type == "GRID") {
            jobs.trigger("charging.dispatch");
        } else if (e.topic.rfind("charger.", 0) == 0) {
            if (e.type == "SESSION" || e.type == "STATUS" || e.type == "PROFILE" || e.type == "BOOT") {
                jobs.trigger("charging.rebalance");
            }
            if (e.type == "ONLINE") {
                jobs.trigger("charging.dispatch");
            }
            if (e.type == "BOOT") {
                // A rebooted charger may have lost its default profile: send it again.
                std::string identity = e.topic.substr(8);
                database.workers().post([&database, &jobs, identity] {
                    try {
                        database.with_transaction([&](db::Connection& c) {
                            c.execute("UPDATE chargers SET default_profile_a = NULL WHERE identity = $1", {identity});
                        });
                    } catch (const std::exception&) {
                        // the periodic dispatch tries again
                    }
                    jobs.trigger("charging.dispatch");
                });
            }
        }
    });
    install_rest_routes(context.router, services_);
    install_id_tag_routes(context.router, services_);
    install_request_routes(context.router, services_);
    install_view_routes(context.router, services_);
    telemetry_.fleet_fields().push_back(fleet_charging_field());

    // charger.<id>: staff who read the infrastructure; charging.session.<id>: its driver and staff.
    live::add_topic(live_.hub(), "charger.", [](const http::Principal& who, std::string_view) {
        auto role = auth::role_from_name(who.role);
        if (!role || *role == auth::Role::Member) {
            throw core::ApiError::forbidden("Chargers are for staff and fleet managers");
        }
    });
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
    charger_events_.reset();
    if (central_system_) {
        central_system_->close_all();
    }
}

}  // namespace motorpool::charging
