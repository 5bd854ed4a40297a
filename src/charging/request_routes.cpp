// Drivers' charging requests: slot requests (a vehicle, a cluster, a target and a departure; the
// answer is the plan), emergency requests (a few granted at once, the rest reviewed by support),
// and the driver's own status view (current and recent sessions with power, energy, plan, cost).

#include "request_routes.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "alerts.hpp"
#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/time_zone.hpp"
#include "planner.hpp"
#include "pricing.hpp"
#include "route_helpers.hpp"
#include "routes.hpp"
#include "telemetry/telemetry.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::charging {

using db::nullable;

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr const char* kRequestColumns =
    "r.public_id, v.public_id, g.public_id, r.kind, r.status, r.reason, r.energy_kwh, r.target_soc_pct, "
    "r.departure_at_ms, r.priority, r.boost_kwh, r.id_tag, ch.identity, r.connector_id, s.public_id, r.planned_kw, "
    "r.expected_kwh, r.delivered_kwh, r.price_estimate, r.plan, r.first_energy_at_ms, r.created_at_ms, "
    "r.updated_at_ms, r.user_id, g.tariff, u.public_id";
constexpr const char* kRequestFrom =
    " FROM charging_requests r JOIN grid_clusters g ON g.id = r.cluster_id LEFT JOIN vehicles v ON v.id = r.vehicle_id "
    "LEFT JOIN chargers ch ON ch.id = r.charger_id LEFT JOIN charging_sessions s ON s.id = r.session_id "
    "LEFT JOIN users u ON u.id = r.user_id";

struct RequestRow {
    json::object body;
    std::optional<std::int64_t> user_id;
};

RequestRow request_row(const db::Row& r) {
    auto text = [&](std::size_t i) { return r.is_null(i) ? json::value(nullptr) : json::value(r.text(i)); };
    auto real = [&](std::size_t i) {
        return r.is_null(i) ? json::value(nullptr) : json::value(std::round(r.real(i) * 1000) / 1000);
    };
    boost::system::error_code ec;
    json::value schedule = json::parse(r.text(19), ec);
    std::optional<std::string> currency;
    if (auto tariff = tariff_from_text(r.opt_text(24))) {
        currency = tariff->currency;
    }
    json::object plan{{"power_kw", real(15)},
                      {"expected_kwh", real(16)},
                      {"delivered_kwh", real(17)},
                      {"price_estimate", real(18)},
                      {"currency", currency ? json::value(*currency) : json::value(nullptr)},
                      {"schedule", ec ? json::value(json::array{}) : schedule}};
    RequestRow out;
    out.user_id = r.opt_int64(23);
    out.body = json::object{
        {"id", r.text(0)},
        {"user_id", text(25)},
        {"vehicle_id", text(1)},
        {"cluster_id", r.text(2)},
        {"kind", r.text(3)},
        {"status", r.text(4)},
        {"reason", text(5)},
        {"energy_kwh", real(6)},
        {"target_soc_pct", real(7)},
        {"departure_time", core::format_rfc3339(r.int64(8))},
        {"priority", r.text(9)},
        {"boost_kwh", real(10)},
        {"id_tag", text(11)},
        {"charger_id", text(12)},
        {"connector_id", r.is_null(13) ? json::value(nullptr) : json::value(r.int64(13))},
        {"session_id", text(14)},
        {"plan", std::move(plan)},
        {"first_energy_at", r.is_null(20) ? json::value(nullptr) : json::value(core::format_rfc3339(r.int64(20)))},
        {"created_at", core::format_rfc3339(r.int64(21))},
        {"updated_at", core::format_rfc3339(r.int64(22))}};
    return out;
}

std::optional<RequestRow> find_request(db::Connection& c, const std::string& public_id) {
    auto rows =
        c.query(std::string("SELECT ") + kRequestColumns + kRequestFrom + " WHERE r.public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return request_row(rows.row(0));
}

/// The vehicle a caller charges: 404 unless they may read it, 403 unless they may act on it.

/// The vehicle a charging request is for: the caller's own, or any for a fleet manager (404/403).
std::int64_t charged_vehicle(db::Connection& c, const auth::Actor& actor, const std::string& key) {
    return vehicles::vehicle_for(
               c, actor, key, auth::Access::Write, "Only the vehicle's owner or a fleet manager charges it")
        .id;
}

/// kWh from a target state of charge: the vehicle's latest SoC and its battery's capacity.
double energy_for_soc(db::Connection& c, std::int64_t vehicle_id, double target_pct) {
    const auto* soc_signal = telemetry::find_signal("TractionBattery.StateOfCharge");
    const auto* capacity_signal = telemetry::find_signal("TractionBattery.NominalCapacity");
    auto rows = c.query(
        "SELECT signal_id, value_num FROM signal_latest WHERE vehicle_id = $1 AND signal_id IN ($2, $3) AND value_num "
        "IS "
        "NOT NULL",
        {vehicle_id, static_cast<std::int64_t>(soc_signal->id), static_cast<std::int64_t>(capacity_signal->id)});
    std::optional<double> soc, capacity;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        (rows.row(i).int64(0) == soc_signal->id ? soc : capacity) = rows.row(i).real(1);
    }
    if (!soc || !capacity || *capacity <= 0) {
        throw ApiError::validation({{"target_soc_pct",
                                     "needs the vehicle's state of charge and battery capacity, which motorpool does "
                                     "not know yet: give energy_kwh"}});
    }
    const double kwh = (target_pct - *soc) / 100.0 * *capacity;
    if (kwh < 0.1) {
        throw ApiError::validation({{"target_soc_pct",
                                     "is not above the vehicle's state of charge (" +
                                         std::to_string(static_cast<int>(std::round(*soc))) + " %)"}});
    }
    return kwh;
}

struct NewRequest {
    std::string vehicle;
    std::string cluster;
    std::optional<double> energy_kwh;
    std::optional<double> target_soc_pct;
    std::int64_t departure_ms = 0;
    std::optional<std::string> id_tag;
    std::optional<std::string> charger;
    std::optional<std::int64_t> connector;
};

/// Inserts a request and re-plans its cluster in the same transaction; the new row, read back.
std::string insert_request(db::Connection& c,
                           Services& s,
                           const auth::Actor& actor,
                           const NewRequest& in,
                           const std::string& priority,
                           std::optional<double> boost_kwh,
                           std::int64_t now,
                           ClusterPlan& plan) {
    const std::int64_t vehicle_id = charged_vehicle(c, actor, in.vehicle);
    auto cluster = c.query("SELECT id FROM grid_clusters WHERE public_id = $1", {in.cluster});
    if (cluster.empty()) {
        throw ApiError::validation({{"cluster_id", "is not a grid cluster"}});
    }
    const std::int64_t cluster_id = cluster.row(0).int64(0);
    Planner::lock_cluster(c, cluster_id);  // before any write, as a re-plan takes it (no deadlock)
    std::optional<std::int64_t> charger_key;
    if (in.charger) {
        auto rows =
            c.query("SELECT id FROM chargers WHERE identity = $1 AND cluster_id = $2", {*in.charger, cluster_id});
        if (rows.empty()) {
            throw ApiError::validation({{"charger_id", "is not a charger of this cluster"}});
        }
        charger_key = rows.row(0).int64(0);
    }
    auto open = c.query(
        "SELECT public_id FROM charging_requests WHERE vehicle_id = $1 AND status IN ('waiting', 'charging', 'paused')",
        {vehicle_id});
    if (!open.empty()) {
        throw ApiError::conflict(
            "The vehicle already has an open charging request (" + open.row(0).text(0) + "): cancel it first",
            "request_open");
    }
    const double energy = in.energy_kwh ? *in.energy_kwh : energy_for_soc(c, vehicle_id, *in.target_soc_pct);
    const std::string id = core::new_uuid_v7(now);
    c.execute(
        "INSERT INTO charging_requests (public_id, user_id, vehicle_id, cluster_id, kind, energy_kwh, target_soc_pct, "
        "departure_at_ms, priority, boost_kwh, id_tag, charger_id, connector_id, status, created_at_ms, updated_at_ms) "
        "VALUES ($1, $2, $3, $4, 'slot', $5, $6, $7, $8, $9, $10, $11, $12, 'waiting', $13, $13)",
        {id,
         actor.user_id,
         vehicle_id,
         cluster_id,
         energy,
         nullable(in.target_soc_pct),
         in.departure_ms,
         priority,
         nullable(boost_kwh),
         nullable(in.id_tag),
         nullable(charger_key),
         nullable(in.connector),
         now});
    plan = s.planner->replan(c, cluster_id, now);
    return id;
}

NewRequest read_new_request(FieldReader& r, std::int64_t now) {
    NewRequest in;
    in.vehicle = r.string("vehicle_id", Presence::Required, 1, 64).value_or("");
    in.cluster = r.string("cluster_id", Presence::Required, 1, 64).value_or("");
    in.energy_kwh = r.number("energy_kwh", Presence::Optional, 0.1, 500);
    in.target_soc_pct = r.number("target_soc_pct", Presence::Optional, 1, 100);
    if (in.energy_kwh && in.target_soc_pct) {
        r.fail("energy_kwh", "give energy_kwh or target_soc_pct, not both");
    } else if (!in.energy_kwh && !in.target_soc_pct) {
        r.fail("energy_kwh", "energy_kwh or target_soc_pct is required");
    }
    auto departure = r.string("departure_time", Presence::Required, 1, 40);
    if (departure) {
        auto at = core::parse_rfc3339(*departure);
        if (!at) {
            r.fail("departure_time", "must be an RFC 3339 time with a zone, such as 2026-12-03T18:00:00Z");
        } else if (*at <= now + 60'000) {
            r.fail("departure_time", "must be at least a minute in the future");
        } else if (*at > now + 7LL * 24 * 3600 * 1000) {
            r.fail("departure_time", "must be within 7 days");
        } else {
            in.departure_ms = *at;
        }
    }
    in.id_tag = r.string("id_tag", Presence::Optional, 1, 20);
    in.charger = r.string("charger_id", Presence::Optional, 1, 64);
    in.connector = r.integer("connector_id", Presence::Optional, 1, 64);
    return in;
}

void require_staff_review(const http::Request& req) {
    auth::require_role(req, {auth::Role::Support, auth::Role::Admin});
}

constexpr const char* kEmergencyColumns =
    "e.public_id, u.public_id, v.public_id, r.public_id, e.reason, e.status, e.automatic, e.boost_kwh, e.review_note, "
    "rv.public_id, e.reviewed_at_ms, e.created_at_ms, e.user_id";
constexpr const char* kEmergencyFrom =
    " FROM charging_emergencies e LEFT JOIN users u ON u.id = e.user_id LEFT JOIN vehicles v ON v.id = e.vehicle_id "
    "LEFT JOIN charging_requests r ON r.id = e.request_id LEFT JOIN users rv ON rv.id = e.reviewer_id";

struct EmergencyRow {
    json::object body;
    std::optional<std::int64_t> user_id;
};

EmergencyRow emergency_row(const db::Row& r) {
    auto text = [&](std::size_t i) { return r.is_null(i) ? json::value(nullptr) : json::value(r.text(i)); };
    EmergencyRow out;
    out.user_id = r.opt_int64(12);
    out.body = json::object{
        {"id", r.text(0)},
        {"user_id", text(1)},
        {"vehicle_id", text(2)},
        {"request_id", text(3)},
        {"reason", r.text(4)},
        {"status", r.text(5)},
        {"automatic", r.boolean(6)},
        {"boost_kwh", r.real(7)},
        {"review_note", text(8)},
        {"reviewed_by", text(9)},
        {"reviewed_at", r.is_null(10) ? json::value(nullptr) : json::value(core::format_rfc3339(r.int64(10)))},
        {"created_at", core::format_rfc3339(r.int64(11))}};
    return out;
}

std::optional<EmergencyRow> find_emergency(db::Connection& c, const std::string& public_id) {
    auto rows =
        c.query(std::string("SELECT ") + kEmergencyColumns + kEmergencyFrom + " WHERE e.public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return emergency_row(rows.row(0));
}

/// Grants an emergency: its request gets the emergency priority for the boosted energy; re-plans.
std::optional<ClusterPlan> grant(
    db::Connection& c, Services& s, std::int64_t request_id, double boost_kwh, std::int64_t now) {
    auto cluster = c.query("SELECT cluster_id FROM charging_requests WHERE id = $1", {request_id});
    if (cluster.empty()) {
        return std::nullopt;
    }
    Planner::lock_cluster(c, cluster.row(0).int64(0));  // before the request's row: no deadlock with a re-plan
    auto rows = c.query("SELECT cluster_id, status FROM charging_requests WHERE id = $1", {request_id});
    if (rows.empty()) {
        return std::nullopt;  // removed meanwhile (its member or cluster deleted)
    }
    const std::string& status = rows.row(0).text(1);
    if (status != "waiting" && status != "charging" && status != "paused") {
        return std::nullopt;
    }
    c.execute("UPDATE charging_requests SET priority = 'emergency', boost_kwh = $2, updated_at_ms = $3 WHERE id = $1",
              {request_id, boost_kwh, now});
    return s.planner->replan(c, rows.row(0).int64(0), now);
}

/// Support's decision on a pending emergency.
EmergencyRow review(Services& s,
                    const auth::Actor& reviewer,
                    const std::string& id,
                    bool approve,
                    const std::optional<std::string>& note,
                    std::int64_t now) {
    std::optional<ClusterPlan> plan;
    auto row = s.database.with_transaction([&](db::Connection& c) {
        auto rows =
            c.query("SELECT id, status, request_id, boost_kwh FROM charging_emergencies WHERE public_id = $1", {id});
        if (rows.empty()) {
            throw ApiError::not_found("Emergency request");
        }
        auto e = rows.row(0);
        if (e.text(1) != "pending") {
            throw ApiError::conflict("The emergency request was " + e.text(1) + " already", "emergency_reviewed");
        }
        c.execute(
            "UPDATE charging_emergencies SET status = $2, reviewer_id = $3, review_note = $4, reviewed_at_ms = $5 "
            "WHERE id = $1",
            {e.int64(0), std::string(approve ? "approved" : "rejected"), reviewer.user_id, nullable(note), now});
        if (approve && e.opt_int64(2)) {
            plan = grant(c, s, *e.opt_int64(2), e.real(3), now);
        }
        return *find_emergency(c, id);
    });
    if (plan) {
        s.planner->publish(*plan);
    }
    return row;
}

/// The cost of a session from its energy register readings at the cluster's tariff (time of use,
/// plus congestion where the cluster's recorded load passed the threshold).
std::optional<double> session_cost(db::Connection& c,
                                   std::int64_t session_id,
                                   std::int64_t meter_start_wh,
                                   std::int64_t started_ms,
                                   const Tariff& tariff,
                                   const core::TimeZone& zone,
                                   std::int64_t cluster_id) {
    auto rows = c.query(
        "SELECT at_ms, unit, value FROM charging_meter_values WHERE session_id = $1 AND measurand = "
        "'Energy.Active.Import.Register' AND phase = '' ORDER BY at_ms",
        {session_id});
    auto loads = c.query(
        "SELECT at_ms, capacity_kw, allocated_kw FROM grid_cluster_load WHERE cluster_id = $1 AND at_ms >= $2 ORDER BY "
        "at_ms",
        {cluster_id, started_ms - 3'600'000});
    double cost = 0;
    std::int64_t at = started_ms;
    double wh = static_cast<double>(meter_start_wh);
    std::size_t li = 0;
    double share = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::int64_t t = rows.row(i).int64(0);
        const double v = rows.row(i).real(2) * (rows.row(i).text(1) == "kWh" ? 1000.0 : 1.0);
        if (v < wh || t < at) {
            continue;
        }
        const std::int64_t mid = at + (t - at) / 2;
        while (li < loads.size() && loads.row(li).int64(0) <= mid) {
            const double cap = loads.row(li).real(1);
            share = cap > 0 ? loads.row(li).real(2) / cap : 0;
            ++li;
        }
        cost += (v - wh) / 1000.0 * price_at(tariff, zone, mid, share);
        wh = v;
        at = t;
    }
    return cost;
}

}  // namespace

void install_request_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    // ---- slot requests ----
    router.add(
        Method::Post,
        "/api/v1/charging/slot-requests",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            const std::int64_t now = svc->clock->now_ms();
            NewRequest in = read_new_request(r, now);
            if (auto priority = r.string("priority", Presence::Optional, 1, 20); priority && *priority != "normal") {
                r.fail("priority",
                       *priority == "emergency" ? "an emergency is asked for at /api/v1/charging/emergency-requests"
                                                : "must be normal");
            }
            r.finish();
            auto job = [svc, actor, in, now] {
                ClusterPlan plan;
                auto row = svc->database.with_transaction([&](db::Connection& c) {
                    std::string id = insert_request(c, *svc, actor, in, "normal", std::nullopt, now, plan);
                    return *find_request(c, id);
                });
                svc->planner->publish(plan);
                return row;
            };
            RequestRow created = co_await svc->database.workers().run(std::move(job));
            const std::string location =
                "/api/v1/charging/slot-requests/" + std::string(created.body.at("id").as_string());
            Response response = Response::json(created.body, 201);
            response.header("Location", location);
            co_return response;
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/charging/slot-requests",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const http::PageQuery q = read_offset_page(req);
            std::optional<std::string> status;
            if (auto s = req.query_param("status")) {
                static const std::vector<std::string> kStatuses{
                    "waiting", "charging", "paused", "completed", "cancelled", "expired"};
                if (std::find(kStatuses.begin(), kStatuses.end(), *s) == kStatuses.end()) {
                    throw ApiError::validation(
                        {{"status", "must be waiting, charging, paused, completed, cancelled or expired"}});
                }
                status = *s;
            }
            std::optional<std::string> cluster;
            if (auto cl = req.query_param("cluster_id")) {
                cluster = *cl;
            }
            auto scope = list_scope(actor);
            auto job = [svc, q, status, cluster, scope] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::string where = " WHERE 1 = 1";
                    std::vector<db::Value> params;
                    if (scope) {
                        params.emplace_back(*scope);
                        where += " AND r.user_id = $" + std::to_string(params.size());
                    }
                    if (status) {
                        params.emplace_back(*status);
                        where += " AND r.status = $" + std::to_string(params.size());
                    }
                    if (cluster) {
                        params.emplace_back(*cluster);
                        where += " AND g.public_id = $" + std::to_string(params.size());
                    }
                    auto total = c.query(std::string("SELECT COUNT(*)") + kRequestFrom + where, params).row(0).int64(0);
                    params.emplace_back(q.page_size);
                    params.emplace_back(q.offset());
                    auto rows = c.query(std::string("SELECT ") + kRequestColumns + kRequestFrom + where +
                                            " ORDER BY r.id DESC LIMIT $" + std::to_string(params.size() - 1) +
                                            " OFFSET $" + std::to_string(params.size()),
                                        params);
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        items.push_back(request_row(rows.row(i)).body);
                    }
                    return std::make_pair(std::move(items), total);
                });
            };
            auto [items, total] = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/charging/slot-requests/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            std::string id(req.param("id"));
            auto job = [svc, id] {
                return svc->database.with_reader([&](db::Connection& c) { return find_request(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Charging request");
            }
            auth::require_access(actor, found->user_id, auth::Access::Read, "Charging request", "");
            co_return Response::json(found->body);
        },
        authenticated());

    router.add(
        Method::Post,
        "/api/v1/charging/slot-requests/{id}/cancel",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            std::string id(req.param("id"));
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, id, actor, now] {
                ClusterPlan plan;
                auto row = svc->database.with_transaction([&](db::Connection& c) {
                    const std::string select =
                        "SELECT id, user_id, status, cluster_id FROM charging_requests WHERE public_id = $1";
                    auto rows = c.query(select, {id});
                    if (rows.empty()) {
                        throw ApiError::not_found("Charging request");
                    }
                    // The cluster first, then the request's row (as a re-plan does: no deadlock), and
                    // the status as it is under that lock.
                    Planner::lock_cluster(c, rows.row(0).int64(3));
                    rows = c.query(select, {id});
                    if (rows.empty()) {
                        throw ApiError::not_found("Charging request");
                    }
                    auto r = rows.row(0);
                    auth::require_access(actor,
                                         r.opt_int64(1),
                                         auth::Access::Write,
                                         "Charging request",
                                         "Only the driver or a fleet manager cancels a request");
                    const std::string& status = r.text(2);
                    if (status == "charging" || status == "paused") {
                        throw ApiError::conflict("The car is plugged in: stop the charge at the charger (or remotely)",
                                                 "request_charging");
                    }
                    if (status != "waiting") {
                        throw ApiError::conflict("The request is " + status + " already", "request_closed");
                    }
                    c.execute(
                        "UPDATE charging_requests SET status = 'cancelled', reason = 'cancelled by the driver', "
                        "planned_kw = 0, plan = '[]', updated_at_ms = $2 WHERE id = $1",
                        {r.int64(0), now});
                    plan = svc->planner->replan(c, r.int64(3), now);
                    return *find_request(c, id);
                });
                svc->planner->publish(plan);
                return row;
            };
            RequestRow cancelled = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(cancelled.body);
        },
        authenticated());

    // ---- emergency requests ----
    router.add(
        Method::Post,
        "/api/v1/charging/emergency-requests",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            const std::int64_t now = svc->clock->now_ms();
            auto vehicle = r.string("vehicle_id", Presence::Required, 1, 64).value_or("");
            auto reason = r.string("reason", Presence::Required, 3, 500).value_or("");
            // Without an open request for the vehicle, the emergency brings its own.
            std::optional<NewRequest> with;
            if (body.contains("cluster_id")) {
                body["vehicle_id"] = vehicle;
                with = read_new_request(r, now);
            }
            r.finish();
            auto job = [svc, actor, vehicle, reason, with, now] {
                std::optional<ClusterPlan> plan;
                std::optional<std::pair<std::string, Alert>> alert;
                auto row = svc->database.with_transaction([&](db::Connection& c) {
                    const std::int64_t vehicle_id = charged_vehicle(c, actor, vehicle);
                    auto open = c.query(
                        "SELECT id FROM charging_requests WHERE vehicle_id = $1 AND status IN ('waiting', 'charging', "
                        "'paused')",
                        {vehicle_id});
                    std::optional<std::int64_t> request_id;
                    if (!open.empty()) {
                        request_id = open.row(0).int64(0);
                    } else if (with) {
                        ClusterPlan created;
                        std::string id = insert_request(c, *svc, actor, *with, "normal", std::nullopt, now, created);
                        request_id =
                            c.query("SELECT id FROM charging_requests WHERE public_id = $1", {id}).row(0).int64(0);
                        plan = std::move(created);
                    } else {
                        throw ApiError::validation(
                            {{"cluster_id",
                              "the vehicle has no open charging request: give cluster_id, energy_kwh or "
                              "target_soc_pct and departure_time"}});
                    }
                    auto pending = c.query(
                        "SELECT 1 FROM charging_emergencies WHERE request_id = $1 AND status IN ('pending', "
                        "'approved')",
                        {*request_id});
                    if (!pending.empty()) {
                        throw ApiError::conflict("This charging request has an emergency already", "emergency_open");
                    }
                    // The member's emergencies in the rolling window, rejected ones included.
                    const std::int64_t used =
                        c.query("SELECT COUNT(*) FROM charging_emergencies WHERE user_id = $1 AND created_at_ms > $2",
                                {actor.user_id, now - svc->emergency.window_ms})
                            .row(0)
                            .int64(0);
                    const bool automatic = used < svc->emergency.free_per_window;
                    const std::string id = core::new_uuid_v7(now);
                    c.execute(
                        "INSERT INTO charging_emergencies (public_id, user_id, vehicle_id, request_id, reason, status, "
                        "automatic, boost_kwh, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        {id,
                         actor.user_id,
                         vehicle_id,
                         *request_id,
                         reason,
                         std::string(automatic ? "approved" : "pending"),
                         automatic,
                         svc->emergency.boost_kwh,
                         now});
                    if (automatic) {
                        if (auto replanned = grant(c, *svc, *request_id, svc->emergency.boost_kwh, now)) {
                            plan = std::move(replanned);
                        }
                    } else {
                        Alert a;
                        a.kind = "emergency_limit";
                        a.severity = "warning";
                        a.user_id = actor.user_id;
                        a.message = "A member asked for emergency charging beyond " +
                                    std::to_string(svc->emergency.free_per_window) +
                                    " in the window: it waits for review";
                        a.dedupe_key = "emergency_limit:" + id;
                        if (auto raised = raise_alert(c, a, now)) {
                            alert = std::make_pair(*raised, a);
                        }
                    }
                    return *find_emergency(c, id);
                });
                if (plan) {
                    svc->planner->publish(*plan);
                }
                if (alert) {
                    publish_alert(svc->events, alert->first, alert->second, now);
                }
                return row;
            };
            EmergencyRow created = co_await svc->database.workers().run(std::move(job));
            const std::string location =
                "/api/v1/charging/emergency-requests/" + std::string(created.body.at("id").as_string());
            Response response = Response::json(created.body, 201);
            response.header("Location", location);
            co_return response;
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/charging/emergency-requests",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const http::PageQuery q = read_offset_page(req);
            std::optional<std::string> status;
            if (auto st = req.query_param("status")) {
                if (*st != "pending" && *st != "approved" && *st != "rejected") {
                    throw ApiError::validation({{"status", "must be pending, approved or rejected"}});
                }
                status = *st;
            }
            auto scope = list_scope(actor);
            auto job = [svc, q, status, scope] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::string where = " WHERE 1 = 1";
                    std::vector<db::Value> params;
                    if (scope) {
                        params.emplace_back(*scope);
                        where += " AND e.user_id = $" + std::to_string(params.size());
                    }
                    if (status) {
                        params.emplace_back(*status);
                        where += " AND e.status = $" + std::to_string(params.size());
                    }
                    auto total =
                        c.query(std::string("SELECT COUNT(*)") + kEmergencyFrom + where, params).row(0).int64(0);
                    params.emplace_back(q.page_size);
                    params.emplace_back(q.offset());
                    auto rows = c.query(std::string("SELECT ") + kEmergencyColumns + kEmergencyFrom + where +
                                            " ORDER BY e.id DESC LIMIT $" + std::to_string(params.size() - 1) +
                                            " OFFSET $" + std::to_string(params.size()),
                                        params);
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        items.push_back(emergency_row(rows.row(i)).body);
                    }
                    return std::make_pair(std::move(items), total);
                });
            };
            auto [items, total] = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/charging/emergency-requests/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return find_emergency(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Emergency request");
            }
            auth::require_access(actor, found->user_id, auth::Access::Read, "Emergency request", "");
            co_return Response::json(found->body);
        },
        authenticated());

    for (const bool approve : {true, false}) {
        router.add(
            Method::Post,
            approve ? "/api/v1/charging/emergency-requests/{id}/approve"
                    : "/api/v1/charging/emergency-requests/{id}/reject",
            [svc, approve](Request req) -> net::awaitable<Response> {
                require_staff_review(req);
                const auth::Actor actor = auth::actor_of(req);
                std::optional<std::string> note;
                if (!req.body.empty()) {
                    auto body = req.json_object();
                    FieldReader r(body);
                    note = r.string("note", Presence::Optional, 1, 1000);
                    r.finish();
                }
                const std::int64_t now = svc->clock->now_ms();
                auto job = [svc, actor, id = std::string(req.param("id")), approve, note, now] {
                    return review(*svc, actor, id, approve, note, now);
                };
                EmergencyRow row = co_await svc->database.workers().run(std::move(job));
                co_return Response::json(row.body);
            },
            authenticated());
    }

    // ---- the driver's view ----
    router.add(
        Method::Get,
        "/api/v1/charging/status",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, now] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto rows = c.query(
                        "SELECT s.id, s.public_id, ch.identity, s.connector_id, s.started_at_ms, s.stopped_at_ms, "
                        "s.meter_start_wh, s.energy_wh, v.public_id, r.public_id, ch.cluster_id, g.tariff, "
                        "st.time_zone, "
                        "s.stop_reason "
                        "FROM charging_sessions s JOIN chargers ch ON ch.id = s.charger_id "
                        "LEFT JOIN vehicles v ON v.id = s.vehicle_id "
                        "LEFT JOIN charging_requests r ON r.session_id = s.id "
                        "LEFT JOIN grid_clusters g ON g.id = ch.cluster_id LEFT JOIN charging_sites st ON st.id = "
                        "g.site_id "
                        "WHERE s.user_id = $1 AND (s.stopped_at_ms IS NULL OR s.stopped_at_ms > $2) "
                        "ORDER BY s.id DESC LIMIT 20",
                        {actor.user_id, now - 30LL * 24 * 3600 * 1000});
                    json::array current, recent;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        auto row = rows.row(i);
                        const std::int64_t sid = row.int64(0);
                        auto meter = c.query(
                            "SELECT measurand, unit, value, at_ms FROM charging_meter_values WHERE session_id = $1 AND "
                            "phase = '' AND measurand IN ('Energy.Active.Import.Register', 'Power.Active.Import', "
                            "'SoC') "
                            "ORDER BY at_ms DESC LIMIT 9",
                            {sid});
                        std::optional<double> energy_kwh, power_kw, soc;
                        for (std::size_t k = 0; k < meter.size(); ++k) {
                            auto m = meter.row(k);
                            const double scale = (m.text(1) == "kWh" || m.text(1) == "kW") ? 1000.0 : 1.0;
                            if (m.text(0) == "Energy.Active.Import.Register" && !energy_kwh) {
                                energy_kwh =
                                    std::max(0.0, (m.real(2) * scale - static_cast<double>(row.int64(6))) / 1000.0);
                            } else if (m.text(0) == "Power.Active.Import" && !power_kw) {
                                power_kw = m.real(2) * scale / 1000.0;
                            } else if (m.text(0) == "SoC" && !soc) {
                                soc = m.real(2);
                            }
                        }
                        if (row.opt_int64(7)) {
                            energy_kwh = static_cast<double>(*row.opt_int64(7)) / 1000.0;
                        }
                        const bool open = row.is_null(5);
                        json::value plan = nullptr;
                        std::optional<std::int64_t> eta;
                        if (!row.is_null(9)) {
                            if (auto request = find_request(c, row.text(9))) {
                                plan = request->body;
                                const auto& p = request->body.at("plan").as_object();
                                const double power =
                                    p.at("power_kw").is_number() ? p.at("power_kw").to_number<double>() : 0;
                                const double want = request->body.at("energy_kwh").to_number<double>();
                                const double left = want - energy_kwh.value_or(0);
                                if (open && power > 0 && left > 0) {
                                    eta = now + static_cast<std::int64_t>(left / power * 3'600'000.0);
                                }
                            }
                        }
                        json::value cost = nullptr;
                        if (auto tariff = tariff_from_text(row.opt_text(11)); tariff && !row.is_null(10)) {
                            const auto zone =
                                core::TimeZone::load(row.opt_text(12).value_or("UTC")).value_or(core::TimeZone::utc());
                            auto amount =
                                session_cost(c, sid, row.int64(6), row.int64(4), *tariff, zone, row.int64(10));
                            cost = json::object{{"amount", std::round(amount.value_or(0) * 100) / 100},
                                                {"currency", tariff->currency}};
                        }
                        auto num = [](const std::optional<double>& v) {
                            return v ? json::value(std::round(*v * 1000) / 1000) : json::value(nullptr);
                        };
                        json::object item{
                            {"session_id", row.text(1)},
                            {"charger_id", row.text(2)},
                            {"connector_id", row.int64(3)},
                            {"vehicle_id", row.is_null(8) ? json::value(nullptr) : json::value(row.text(8))},
                            {"state", open ? "charging" : "stopped"},
                            {"started_at", core::format_rfc3339(row.int64(4))},
                            {"stopped_at",
                             open ? json::value(nullptr) : json::value(core::format_rfc3339(row.int64(5)))},
                            {"stop_reason", row.is_null(13) ? json::value(nullptr) : json::value(row.text(13))},
                            {"energy_kwh", num(energy_kwh)},
                            {"power_kw", open ? num(power_kw) : json::value(0.0)},
                            {"soc_pct", num(soc)},
                            {"eta", eta ? json::value(core::format_rfc3339(*eta)) : json::value(nullptr)},
                            {"cost", std::move(cost)},
                            {"request", std::move(plan)}};
                        (open ? current : recent).push_back(std::move(item));
                    }
                    // Requests whose car has not plugged in yet.
                    auto waiting = c.query(std::string("SELECT ") + kRequestColumns + kRequestFrom +
                                               " WHERE r.user_id = $1 AND r.status = 'waiting' ORDER BY r.id",
                                           {actor.user_id});
                    json::array queued;
                    for (std::size_t i = 0; i < waiting.size(); ++i) {
                        queued.push_back(request_row(waiting.row(i)).body);
                    }
                    return json::object{
                        {"current", std::move(current)}, {"recent", std::move(recent)}, {"waiting", std::move(queued)}};
                });
            };
            json::object status = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(status);
        },
        authenticated());
}

}  // namespace motorpool::charging
