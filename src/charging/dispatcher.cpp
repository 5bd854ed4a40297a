#include "dispatcher.hpp"

#include <cmath>
#include <unordered_set>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "ocpp/central_system.hpp"
#include "routes.hpp"

namespace motorpool::charging {
namespace json = boost::json;

namespace {

double amps_of(double kw, int phases, double voltage) {
    return std::max(0.0, std::floor(kw * 1000.0 / (voltage * phases) * 10.0 + 1e-9) / 10.0);
}

/// A single-period profile in amperes per phase (what AC chargers take most widely), Relative: it
/// holds from the start of the transaction (or of each new one, for a default) until replaced.
json::object profile(std::int64_t id,
                     const char* purpose,
                     std::int64_t stack_level,
                     double amps,
                     int phases,
                     std::optional<std::int64_t> transaction) {
    json::object period{{"startPeriod", 0}, {"limit", amps}};
    if (phases > 0) {
        period["numberPhases"] = phases;
    }
    json::object p{
        {"chargingProfileId", id},
        {"stackLevel", stack_level},
        {"chargingProfilePurpose", purpose},
        {"chargingProfileKind", "Relative"},
        {"chargingSchedule",
         json::object{{"chargingRateUnit", "A"}, {"chargingSchedulePeriod", json::array{std::move(period)}}}}};
    if (transaction) {
        p["transactionId"] = *transaction;
    }
    return p;
}

/// Accepted, Rejected or NotSupported; a charger without smart charging (a CALLERROR NotSupported
/// or NotImplemented) counts as NotSupported; "" when there was no answer (sent again later).
std::string answer_status(const ocpp::CentralSystem::SendResult& r) {
    if (r.ok && r.payload.is_object() && r.payload.as_object().contains("status")) {
        return std::string(r.payload.as_object().at("status").as_string());
    }
    if (r.error.rfind("NotSupported", 0) == 0 || r.error.rfind("NotImplemented", 0) == 0) {
        return "NotSupported";
    }
    return "";
}

}  // namespace

Dispatcher::Dispatcher(Services& services, ocpp::CentralSystem& central_system, DispatchOptions options)
    : services_(services), central_system_(central_system), options_(options) {}

std::size_t Dispatcher::reconcile() {
    auto identities = central_system_.connected_identities();
    if (identities.empty()) {
        return 0;
    }
    const std::unordered_set<std::string> connected(identities.begin(), identities.end());
    const std::int64_t now = services_.clock->now_ms();
    struct Default {
        std::string identity;
        std::int64_t charger_id;
    };
    struct Limit {
        std::string identity;
        std::int64_t charger_id;
        int connector;
        double target_kw;
        std::int64_t tx;
        double previous_kw;
        int phases;
        double voltage;
    };
    std::vector<Default> defaults;
    std::vector<Limit> limits;
    services_.database.with_reader([&](db::Connection& c) {
        auto rows = c.query(
            "SELECT identity, id, default_profile_a FROM chargers WHERE online AND registration_status = 'Accepted'",
            {});
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            if (connected.count(r.text(0)) == 0) {
                continue;
            }
            auto sent = r.opt_real(2);
            if (!sent || std::abs(*sent - options_.default_limit_a) > 0.05) {
                if (!(sent && *sent < 0)) {  // -1: the charger refused it; sent again after a boot
                    defaults.push_back({r.text(0), r.int64(1)});
                }
            }
        }
        rows = c.query(
            "SELECT ch.identity, cc.charger_id, cc.connector_id, cc.target_kw, cc.target_transaction_id, "
            "cc.profile_kw, "
            "cc.profile_transaction_id, cc.profile_status, cc.profile_at_ms, cc.profile_error_at_ms, cc.phases, "
            "cc.voltage_v FROM charger_connectors cc JOIN chargers ch ON ch.id = cc.charger_id "
            "WHERE cc.target_kw IS NOT NULL AND cc.target_transaction_id IS NOT NULL AND ch.online",
            {});
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            if (connected.count(r.text(0)) == 0) {
                continue;
            }
            const double target = r.real(3);
            const std::int64_t tx = r.int64(4);
            auto profile_kw = r.opt_real(5);
            auto profile_tx = r.opt_int64(6);
            auto status = r.opt_text(7).value_or("");
            const bool same_tx = profile_tx && *profile_tx == tx;
            const bool in_force =
                same_tx && status == "Accepted" && profile_kw && std::abs(*profile_kw - target) < 0.05;
            if (in_force) {
                continue;
            }
            const bool refused = same_tx && (status == "Rejected" || status == "NotSupported") && r.opt_int64(8) &&
                                 now - *r.opt_int64(8) < options_.retry_ms;
            const bool unanswered = r.opt_int64(9) && now - *r.opt_int64(9) < options_.retry_ms / 10;
            if (refused || unanswered) {
                continue;
            }
            limits.push_back({r.text(0),
                              r.int64(1),
                              static_cast<int>(r.int64(2)),
                              target,
                              tx,
                              same_tx && profile_kw ? *profile_kw : -1.0,
                              static_cast<int>(r.int64(10)),
                              r.real(11)});
        }
    });

    std::size_t sent = 0;
    auto self = shared_from_this();
    for (const auto& d : defaults) {
        {
            std::lock_guard lock(mutex_);
            if (!in_flight_.insert({d.identity, 0}).second) {
                continue;
            }
        }
        const double amps = options_.default_limit_a;
        json::object payload{{"connectorId", 0},
                             {"csChargingProfiles", profile(1000, "TxDefaultProfile", 0, amps, 0, std::nullopt)}};
        const bool queued = central_system_.send(
            d.identity, "SetChargingProfile", payload, [self, d, amps](ocpp::CentralSystem::SendResult r) {
                std::string status = answer_status(r);
                self->services_.database.workers().post(
                    [self, d, amps, status] { self->record_default(d.identity, d.charger_id, amps, status); });
            });
        if (queued) {
            ++sent;
        } else {
            done(d.identity, 0);
        }
    }
    for (const auto& l : limits) {
        {
            std::lock_guard lock(mutex_);
            if (!in_flight_.insert({l.identity, l.connector}).second) {
                continue;
            }
        }
        const double amps = amps_of(l.target_kw, l.phases, l.voltage);
        const double kw = amps * l.voltage * l.phases / 1000.0;
        json::object payload{
            {"connectorId", l.connector},
            {"csChargingProfiles", profile(l.connector, "TxProfile", options_.stack_level, amps, l.phases, l.tx)}};
        const bool queued = central_system_.send(
            l.identity, "SetChargingProfile", payload, [self, l, kw](ocpp::CentralSystem::SendResult r) {
                std::string status = answer_status(r);
                if (!r.ok) {
                    core::log_event(
                        spdlog::level::warn,
                        "charging profile not confirmed",
                        {{"charger", l.identity}, {"connector", std::to_string(l.connector)}, {"error", r.error}});
                }
                self->services_.database.workers().post([self, l, kw, status] {
                    self->record_profile(l.identity, l.charger_id, l.connector, l.tx, kw, l.previous_kw, status);
                });
            });
        if (queued) {
            ++sent;
        } else {
            done(l.identity, l.connector);
        }
    }
    return sent;
}

void Dispatcher::done(const std::string& identity, int connector) {
    std::lock_guard lock(mutex_);
    in_flight_.erase({identity, connector});
}

void Dispatcher::record_default(std::string identity, std::int64_t charger_id, double amps, std::string status) {
    try {
        const std::int64_t now = services_.clock->now_ms();
        if (status == "Accepted") {
            services_.database.with_transaction([&](db::Connection& c) {
                c.execute("UPDATE chargers SET default_profile_a = $2 WHERE id = $1", {charger_id, amps});
            });
        } else if (status == "Rejected" || status == "NotSupported") {
            services_.database.with_transaction([&](db::Connection& c) {
                c.execute("UPDATE chargers SET default_profile_a = -1 WHERE id = $1", {charger_id});
            });
        }
        services_.events.publish({"charger." + identity,
                                  "PROFILE",
                                  core::to_json_text(json::object{{"charger_id", identity},
                                                                  {"connector_id", 0},
                                                                  {"purpose", "TxDefaultProfile"},
                                                                  {"limit_a", amps},
                                                                  {"status", status.empty() ? "Failed" : status},
                                                                  {"at", core::format_rfc3339(now)}})});
    } catch (const std::exception& e) {
        spdlog::error("charging: recording the default profile of {} failed: {}", identity, e.what());
    }
    done(identity, 0);
}

void Dispatcher::record_profile(std::string identity,
                                std::int64_t charger_id,
                                int connector,
                                std::int64_t tx,
                                double kw,
                                double previous_kw,
                                std::string status) {
    try {
        const std::int64_t now = services_.clock->now_ms();
        services_.database.with_transaction([&](db::Connection& c) {
            if (status == "Accepted") {
                c.execute(
                    "UPDATE charger_connectors SET profile_kw = $3, profile_transaction_id = $4, profile_status = "
                    "'Accepted', profile_at_ms = $5, profile_error_at_ms = NULL WHERE charger_id = $1 AND connector_id "
                    "= $2",
                    {charger_id, static_cast<std::int64_t>(connector), kw, tx, now});
            } else if (!status.empty()) {
                // Refused: the last accepted limit of this transaction (if any) stays in force.
                const std::optional<double> kept = previous_kw >= 0 ? std::optional<double>(previous_kw) : std::nullopt;
                c.execute(
                    "UPDATE charger_connectors SET profile_kw = $3, profile_transaction_id = $4, profile_status = $5, "
                    "profile_at_ms = $6 WHERE charger_id = $1 AND connector_id = $2",
                    {charger_id,
                     static_cast<std::int64_t>(connector),
                     kept ? db::Value(*kept) : db::Value(),
                     tx,
                     status,
                     now});
            } else {
                c.execute(
                    "UPDATE charger_connectors SET profile_error_at_ms = $3 WHERE charger_id = $1 AND connector_id = "
                    "$2",
                    {charger_id, static_cast<std::int64_t>(connector), now});
            }
        });
        services_.events.publish(
            {"charger." + identity,
             "PROFILE",
             core::to_json_text(json::object{{"charger_id", identity},
                                             {"connector_id", connector},
                                             {"transaction_id", tx},
                                             {"purpose", "TxProfile"},
                                             {"limit_kw", std::round(kw * 1000) / 1000},
                                             {"status", status.empty() ? "Failed" : status},
                                             {"decreased", status == "Accepted" && previous_kw > kw},
                                             {"at", core::format_rfc3339(now)}})});
    } catch (const std::exception& e) {
        spdlog::error("charging: recording the profile of {} connector {} failed: {}", identity, connector, e.what());
    }
    done(identity, connector);
}

}  // namespace motorpool::charging
