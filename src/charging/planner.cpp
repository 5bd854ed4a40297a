#include "planner.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "charging/allocator.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/time_zone.hpp"
#include "pricing.hpp"
#include "routes.hpp"

namespace motorpool::charging {

using db::nullable;
namespace json = boost::json;

namespace {

constexpr double kEpsilon = 1e-6;

int minutes_of(std::string_view hhmm) {
    if (hhmm.size() != 5 || hhmm[2] != ':') {
        return -1;
    }
    return ((hhmm[0] - '0') * 10 + (hhmm[1] - '0')) * 60 + (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
}

/// The capacity in force at `now`: a schedule window's, else the cluster's; never above the
/// peak-shaving target.
double capacity_in_force(double capacity,
                         std::optional<double> peak_target,
                         const std::string& schedule,
                         const core::TimeZone& zone,
                         std::int64_t now) {
    double c = capacity;
    boost::system::error_code ec;
    json::value windows = json::parse(schedule, ec);
    if (!ec && windows.is_array()) {
        const core::LocalTime t = zone.local(now);
        const int minute = t.hour * 60 + t.minute;
        for (const auto& w : windows.as_array()) {
            const auto& o = w.as_object();
            const int from = minutes_of(o.at("from").as_string());
            const int to = minutes_of(o.at("to").as_string());
            if (minute >= from && minute < to) {
                c = o.at("capacity_kw").to_number<double>();
            }
        }
    }
    if (peak_target) {
        c = std::min(c, *peak_target);
    }
    return c;
}

/// The kW a limit of `kw` becomes once sent in amperes per phase with one decimal (rounded down).
double sendable_kw(double kw, int phases, double voltage) {
    const double amps = std::floor(kw * 1000.0 / (voltage * phases) * 10.0 + 1e-9) / 10.0;
    return std::max(0.0, amps * voltage * phases / 1000.0);
}

struct OpenSession {
    std::int64_t id = 0;
    std::string public_id;
    std::optional<std::int64_t> user_id, vehicle_id;
    std::optional<std::string> vehicle_public_id;
    std::string id_tag;
    std::int64_t charger_id = 0;
    std::string identity;
    int connector_id = 0;
    double max_kw = 0;
    int phases = 3;
    double voltage = 230;
    std::int64_t meter_start_wh = 0;
    std::int64_t started_at_ms = 0;
    std::string connector_status;
    std::optional<double> profile_kw;
    std::optional<std::int64_t> profile_tx;
    std::optional<std::string> profile_status;
    std::optional<std::int64_t> profile_at_ms;
    std::optional<double> target_kw;
    std::optional<std::int64_t> target_tx;
    std::optional<double> default_a;
    bool has_connector_row = false;
    // meter
    double delivered_kwh = 0;
    std::optional<double> measured_kw;
    std::optional<std::int64_t> measured_at_ms;
};

struct Request {
    std::int64_t id = 0;
    std::string public_id;
    std::optional<std::int64_t> user_id, vehicle_id;
    std::string kind;
    double energy_kwh = 0;
    std::int64_t departure_ms = 0;
    std::string priority;
    std::optional<double> boost_kwh;
    std::optional<std::string> id_tag;
    std::optional<std::int64_t> charger_id;
    std::optional<std::int64_t> connector_id;
    std::optional<std::int64_t> session_id;
    std::optional<std::int64_t> first_energy_at_ms;
    std::optional<std::string> vehicle_public_id;
};

constexpr const char* kRequestColumns =
    "r.id, r.public_id, r.user_id, r.vehicle_id, r.kind, r.energy_kwh, r.departure_at_ms, r.priority, r.boost_kwh, "
    "r.id_tag, r.charger_id, r.connector_id, r.session_id, r.first_energy_at_ms, v.public_id";

Request request_from(const db::Row& r) {
    Request q;
    q.id = r.int64(0);
    q.public_id = r.text(1);
    q.user_id = r.opt_int64(2);
    q.vehicle_id = r.opt_int64(3);
    q.kind = r.text(4);
    q.energy_kwh = r.real(5);
    q.departure_ms = r.int64(6);
    q.priority = r.text(7);
    q.boost_kwh = r.opt_real(8);
    q.id_tag = r.opt_text(9);
    q.charger_id = r.opt_int64(10);
    q.connector_id = r.opt_int64(11);
    q.session_id = r.opt_int64(12);
    q.first_energy_at_ms = r.opt_int64(13);
    q.vehicle_public_id = r.opt_text(14);
    return q;
}

std::vector<OpenSession> open_sessions(db::Connection& c, std::int64_t cluster_id) {
    auto rows = c.query(
        "SELECT s.id, s.public_id, s.user_id, s.vehicle_id, v.public_id, s.id_tag, s.charger_id, ch.identity, "
        "s.connector_id, cc.max_power_kw, COALESCE(cc.phases, 3), COALESCE(cc.voltage_v, 230), "
        "s.meter_start_wh, s.started_at_ms, COALESCE(cc.status, 'Charging'), cc.profile_kw, cc.profile_transaction_id, "
        "cc.profile_status, cc.profile_at_ms, cc.target_kw, cc.target_transaction_id, ch.default_profile_a, "
        "cc.charger_id, ch.max_power_kw "
        "FROM charging_sessions s JOIN chargers ch ON ch.id = s.charger_id "
        "LEFT JOIN charger_connectors cc ON cc.charger_id = s.charger_id AND cc.connector_id = s.connector_id "
        "LEFT JOIN vehicles v ON v.id = s.vehicle_id "
        "WHERE ch.cluster_id = $1 AND s.stopped_at_ms IS NULL ORDER BY s.id",
        {cluster_id});
    std::vector<OpenSession> out;
    out.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto r = rows.row(i);
        OpenSession s;
        s.id = r.int64(0);
        s.public_id = r.text(1);
        s.user_id = r.opt_int64(2);
        s.vehicle_id = r.opt_int64(3);
        s.vehicle_public_id = r.opt_text(4);
        s.id_tag = r.text(5);
        s.charger_id = r.int64(6);
        s.identity = r.text(7);
        s.connector_id = static_cast<int>(r.int64(8));
        s.max_kw = r.opt_real(9) ? std::min(*r.opt_real(9), r.real(23)) : r.real(23);
        s.phases = static_cast<int>(r.int64(10));
        s.voltage = r.real(11);
        s.meter_start_wh = r.int64(12);
        s.started_at_ms = r.int64(13);
        s.connector_status = r.text(14);
        s.profile_kw = r.opt_real(15);
        s.profile_tx = r.opt_int64(16);
        s.profile_status = r.opt_text(17);
        s.profile_at_ms = r.opt_int64(18);
        s.target_kw = r.opt_real(19);
        s.target_tx = r.opt_int64(20);
        s.default_a = r.opt_real(21);
        s.has_connector_row = !r.is_null(22);
        out.push_back(std::move(s));
    }
    for (auto& s : out) {
        auto meter = c.query(
            "SELECT measurand, unit, value, at_ms FROM charging_meter_values WHERE session_id = $1 AND phase = '' "
            "AND measurand IN ('Energy.Active.Import.Register', 'Power.Active.Import') ORDER BY at_ms DESC LIMIT 6",
            {s.id});
        bool energy = false;
        for (std::size_t i = 0; i < meter.size(); ++i) {
            auto r = meter.row(i);
            const std::string& unit = r.text(1);
            const double scale = (unit == "kWh" || unit == "kW") ? 1000.0 : 1.0;
            if (r.text(0) == "Energy.Active.Import.Register" && !energy) {
                energy = true;
                s.delivered_kwh = std::max(0.0, (r.real(2) * scale - static_cast<double>(s.meter_start_wh)) / 1000.0);
            } else if (r.text(0) == "Power.Active.Import" && !s.measured_kw) {
                s.measured_kw = r.real(2) * scale / 1000.0;
                s.measured_at_ms = r.int64(3);
            }
        }
    }
    return out;
}

std::vector<Request> requests_where(db::Connection& c, const std::string& where, std::int64_t cluster_id) {
    auto rows = c.query(
        std::string("SELECT ") + kRequestColumns +
            " FROM charging_requests r LEFT JOIN vehicles v ON v.id = r.vehicle_id WHERE r.cluster_id = $1 AND " +
            where + " ORDER BY r.id",
        {cluster_id});
    std::vector<Request> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(request_from(rows.row(i)));
    }
    return out;
}

json::array plan_json(std::int64_t now, double kw, double remaining_kwh, std::int64_t departure_ms) {
    json::array plan;
    if (kw > kEpsilon && remaining_kwh > kEpsilon) {
        const auto finish = now + static_cast<std::int64_t>(remaining_kwh / kw * 3'600'000.0);
        const std::int64_t to = std::max(now, std::min(departure_ms, finish));
        plan.push_back(json::object{{"from", core::format_rfc3339(now)},
                                    {"to", core::format_rfc3339(to)},
                                    {"power_kw", std::round(kw * 1000) / 1000}});
    }
    return plan;
}

json::value opt(const std::optional<double>& v) {
    return v ? json::value(std::round(*v * 1000) / 1000) : json::value(nullptr);
}

double r3(double v) {
    return std::round(v * 1000) / 1000;
}

json::object car_json(const PlannedCar& p) {
    json::object o{{"request_id", p.request_id},
                   {"session_id", p.session_id ? json::value(*p.session_id) : json::value(nullptr)},
                   {"vehicle_id", p.vehicle_id ? json::value(*p.vehicle_id) : json::value(nullptr)},
                   {"charger_id", p.charger_id.empty() ? json::value(nullptr) : json::value(p.charger_id)},
                   {"connector_id", p.connector_id},
                   {"transaction_id", p.transaction_id},
                   {"kind", p.kind},
                   {"priority", p.priority},
                   {"status", p.status},
                   {"reason", p.reason ? json::value(*p.reason) : json::value(nullptr)},
                   {"power_kw", r3(p.power_kw)},
                   {"target_kw", r3(p.target_kw)},
                   {"need_kw", r3(p.need_kw)},
                   {"max_kw", r3(p.max_kw)},
                   {"measured_kw", opt(p.measured_kw)},
                   {"requested_kwh", r3(p.requested_kwh)},
                   {"delivered_kwh", r3(p.delivered_kwh)},
                   {"expected_kwh", r3(p.expected_kwh)},
                   {"departure_time", core::format_rfc3339(p.departure_ms)},
                   {"price_estimate", opt(p.price_estimate)},
                   {"controlled", p.controlled}};
    return o;
}

}  // namespace

json::object ClusterPlan::to_json() const {
    json::array c;
    for (const auto& p : cars) {
        c.push_back(car_json(p));
    }
    json::array w;
    for (const auto& p : waiting) {
        w.push_back(car_json(p));
    }
    return json::object{{"cluster_id", cluster_public_id},
                        {"at", core::format_rfc3339(at_ms)},
                        {"capacity_kw", r3(capacity_kw)},
                        {"base_load_kw", r3(base_load_kw)},
                        {"reserved_kw", r3(reserved_kw)},
                        {"allocated_kw", r3(allocated_kw)},
                        {"measured_kw", r3(measured_kw)},
                        {"headroom_kw", r3(std::max(0.0, capacity_kw - base_load_kw - allocated_kw))},
                        {"price_now", opt(price_now)},
                        {"currency", currency ? json::value(*currency) : json::value(nullptr)},
                        {"cars", std::move(c)},
                        {"waiting", std::move(w)}};
}

PlannedCar planned_car_from_json(const json::object& o) {
    PlannedCar p;
    p.request_id = std::string(o.at("request_id").as_string());
    if (o.at("session_id").is_string()) {
        p.session_id = std::string(o.at("session_id").as_string());
    }
    if (o.at("vehicle_id").is_string()) {
        p.vehicle_id = std::string(o.at("vehicle_id").as_string());
    }
    if (o.at("charger_id").is_string()) {
        p.charger_id = std::string(o.at("charger_id").as_string());
    }
    p.connector_id = static_cast<int>(o.at("connector_id").to_number<std::int64_t>());
    p.transaction_id = o.at("transaction_id").to_number<std::int64_t>();
    p.kind = std::string(o.at("kind").as_string());
    p.priority = std::string(o.at("priority").as_string());
    p.status = std::string(o.at("status").as_string());
    if (o.at("reason").is_string()) {
        p.reason = std::string(o.at("reason").as_string());
    }
    p.power_kw = o.at("power_kw").to_number<double>();
    p.target_kw = o.at("target_kw").to_number<double>();
    p.need_kw = o.at("need_kw").to_number<double>();
    p.max_kw = o.at("max_kw").to_number<double>();
    if (o.at("measured_kw").is_number()) {
        p.measured_kw = o.at("measured_kw").to_number<double>();
    }
    p.requested_kwh = o.at("requested_kwh").to_number<double>();
    p.delivered_kwh = o.at("delivered_kwh").to_number<double>();
    p.expected_kwh = o.at("expected_kwh").to_number<double>();
    p.departure_ms = core::parse_rfc3339(o.at("departure_time").as_string()).value_or(0);
    if (o.at("price_estimate").is_number()) {
        p.price_estimate = o.at("price_estimate").to_number<double>();
    }
    p.controlled = o.at("controlled").as_bool();
    return p;
}

Planner::Planner(Services& services, PlannerOptions options) : services_(services), options_(options) {}

void Planner::lock_cluster(db::Connection& c, std::int64_t cluster_id) {
    if (c.dialect() == db::Dialect::Postgres) {
        c.query("SELECT 1 FROM grid_clusters WHERE id = $1 FOR NO KEY UPDATE", {cluster_id});
    }
}

ClusterPlan Planner::replan(db::Connection& c, std::int64_t cluster_id, std::int64_t now) {
    const bool pg = c.dialect() == db::Dialect::Postgres;
    auto crow = c.query(std::string("SELECT g.public_id, g.capacity_kw, g.peak_shaving_target_kw, g.base_load_kw, "
                                    "g.capacity_schedule, s.time_zone, g.tariff FROM grid_clusters g "
                                    "LEFT JOIN charging_sites s ON s.id = g.site_id WHERE g.id = $1") +
                            // NO KEY UPDATE: a transaction's own foreign-key check on the cluster
                            // (FOR KEY SHARE, when it inserted a request) does not conflict with it.
                            (pg ? " FOR NO KEY UPDATE OF g" : ""),
                        {cluster_id});
    ClusterPlan plan;
    plan.cluster_id = cluster_id;
    plan.at_ms = now;
    if (crow.empty()) {
        return plan;
    }
    auto g = crow.row(0);
    plan.cluster_public_id = g.text(0);
    const auto zone = core::TimeZone::load(g.opt_text(5).value_or("UTC")).value_or(core::TimeZone::utc());
    plan.capacity_kw = capacity_in_force(g.real(1), g.opt_real(2), g.text(4), zone, now);
    plan.base_load_kw = g.real(3);
    const auto tariff = tariff_from_text(g.opt_text(6));

    // Requests that ended: a car that never came, a session that stopped.
    c.execute(
        "UPDATE charging_requests SET status = 'expired', reason = 'departed without plugging in', planned_kw = 0, "
        "plan = '[]', updated_at_ms = $2 WHERE cluster_id = $1 AND session_id IS NULL AND status = 'waiting' "
        "AND departure_at_ms < $2",
        {cluster_id, now});
    c.execute(
        "UPDATE charging_requests SET status = 'completed', reason = NULL, planned_kw = 0, plan = '[]', "
        "delivered_kwh = COALESCE((SELECT s.energy_wh FROM charging_sessions s WHERE s.id = "
        "charging_requests.session_id) "
        "/ 1000.0, delivered_kwh), updated_at_ms = $2 "
        "WHERE cluster_id = $1 AND status IN ('charging', 'paused') AND session_id IN "
        "(SELECT id FROM charging_sessions WHERE stopped_at_ms IS NOT NULL)",
        {cluster_id, now});

    std::vector<OpenSession> sessions = open_sessions(c, cluster_id);
    std::unordered_map<std::int64_t, Request> by_session;
    for (auto& r : requests_where(c, "r.session_id IS NOT NULL AND r.status IN ('charging', 'paused')", cluster_id)) {
        by_session.emplace(*r.session_id, std::move(r));
    }
    std::vector<Request> waiting = requests_where(c, "r.session_id IS NULL AND r.status = 'waiting'", cluster_id);

    // Match each new session to a waiting request: by id tag, then vehicle, then connector.
    for (const auto& s : sessions) {
        if (by_session.count(s.id) != 0) {
            continue;
        }
        auto pick = [&](auto matches) -> std::optional<std::size_t> {
            for (std::size_t i = 0; i < waiting.size(); ++i) {
                if (matches(waiting[i])) {
                    return i;
                }
            }
            return std::nullopt;
        };
        auto found = pick([&](const Request& r) { return r.id_tag && *r.id_tag == s.id_tag; });
        if (!found && s.vehicle_id) {
            found = pick([&](const Request& r) { return r.vehicle_id && *r.vehicle_id == *s.vehicle_id; });
        }
        if (!found) {
            found = pick([&](const Request& r) {
                return r.charger_id && *r.charger_id == s.charger_id && r.connector_id &&
                       *r.connector_id == s.connector_id;
            });
        }
        Request r;
        if (found) {
            r = std::move(waiting[*found]);
            waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(*found));
            c.execute(
                "UPDATE charging_requests SET session_id = $2, charger_id = $3, connector_id = $4, status = "
                "'charging', "
                "updated_at_ms = $5 WHERE id = $1",
                {r.id, s.id, s.charger_id, static_cast<std::int64_t>(s.connector_id), now});
        } else {
            r.public_id = core::new_uuid_v7(now);
            r.user_id = s.user_id;
            r.vehicle_id = s.vehicle_id;
            r.vehicle_public_id = s.vehicle_public_id;
            r.kind = "default";
            r.energy_kwh = options_.default_energy_kwh;
            r.departure_ms = std::max(s.started_at_ms + options_.default_dwell_ms, now + 15 * 60'000);
            r.priority = "normal";
            auto ins = c.query(
                "INSERT INTO charging_requests (public_id, user_id, vehicle_id, cluster_id, kind, energy_kwh, "
                "departure_at_ms, priority, id_tag, charger_id, connector_id, status, session_id, created_at_ms, "
                "updated_at_ms) VALUES ($1, $2, $3, $4, 'default', $5, $6, 'normal', $7, $8, $9, 'charging', $10, $11, "
                "$11) "
                "RETURNING id",
                {r.public_id,
                 nullable(s.user_id),
                 nullable(s.vehicle_id),
                 cluster_id,
                 r.energy_kwh,
                 r.departure_ms,
                 s.id_tag,
                 s.charger_id,
                 static_cast<std::int64_t>(s.connector_id),
                 s.id,
                 now});
            r.id = ins.row(0).int64(0);
        }
        r.session_id = s.id;
        by_session.emplace(s.id, std::move(r));
    }

    // The cars the allocator plans, and those it plans around.
    const double period_h = static_cast<double>(options_.interval_ms) / 3'600'000.0;
    std::vector<allocator::Car> cars;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const OpenSession& s = sessions[i];
        const Request& r = by_session.at(s.id);
        PlannedCar p;
        p.request_id = r.public_id;
        p.session_id = s.public_id;
        p.user_id = r.user_id;
        p.vehicle_id = s.vehicle_public_id ? s.vehicle_public_id : r.vehicle_public_id;
        p.charger_id = s.identity;
        p.connector_id = s.connector_id;
        p.transaction_id = s.id;
        p.kind = r.kind;
        p.priority = r.priority;
        p.max_kw = s.max_kw;
        p.measured_kw = s.measured_kw;
        p.requested_kwh = r.energy_kwh;
        p.delivered_kwh = s.delivered_kwh;
        p.departure_ms = r.departure_ms;
        // Refused every profile of this transaction: nothing we send holds it.
        const bool refuses = s.profile_status &&
                             (*s.profile_status == "Rejected" || *s.profile_status == "NotSupported") && s.profile_tx &&
                             *s.profile_tx == s.id && !s.profile_kw;
        const bool fresh = s.measured_at_ms && now - *s.measured_at_ms <= 2 * options_.interval_ms + 60'000;
        const bool over_limit = s.profile_status && *s.profile_status == "Accepted" && s.profile_tx &&
                                *s.profile_tx == s.id && s.profile_kw && fresh && s.measured_kw && s.profile_at_ms &&
                                now - *s.profile_at_ms > options_.over_limit_grace_ms &&
                                *s.measured_kw > *s.profile_kw * 1.1 + 0.5;
        if (refuses || over_limit) {
            p.controlled = false;
            p.power_kw = (fresh && s.measured_kw) ? std::max(*s.measured_kw, 0.0) : s.max_kw;
            if (over_limit) {
                p.power_kw = std::max(p.power_kw, *s.profile_kw);
            }
            p.target_kw = p.power_kw;
            p.status = "charging";
            p.reason = refuses ? "the charger refuses charging profiles: planned around its measured draw"
                               : "the charger draws more than its limit: planned around its measured draw";
            plan.reserved_kw += p.power_kw;
            Alert a;
            a.kind = refuses ? "profile_rejected" : "over_limit";
            a.severity = "warning";
            a.user_id = s.user_id;
            a.cluster_id = cluster_id;
            a.charger_id = s.charger_id;
            a.session_id = s.id;
            a.message = refuses ? "Charger " + s.identity + " refuses charging profiles: its draw is planned around"
                                : "Charger " + s.identity + " draws more than its limit on connector " +
                                      std::to_string(s.connector_id);
            a.dedupe_key = a.kind + ":" + std::to_string(s.id);
            if (auto raised = raise_alert(c, a, now)) {
                plan.alerts.emplace_back(*raised, std::move(a));
            }
        } else {
            allocator::Car car;
            car.id = s.public_id;
            car.max_kw = s.max_kw;
            car.min_kw = std::min(s.max_kw, options_.min_current_a * s.phases * s.voltage / 1000.0);
            car.remaining_kwh = std::max(0.0, r.energy_kwh - s.delivered_kwh);
            car.requested_kwh = r.energy_kwh;
            car.hours_left = static_cast<double>(r.departure_ms - now) / 3'600'000.0;
            const bool boosted = r.priority == "emergency" && (!r.boost_kwh || s.delivered_kwh < *r.boost_kwh);
            car.weight = boosted ? options_.emergency_weight : 1.0;
            if (s.connector_status == "Finishing") {
                car.remaining_kwh = 0;  // the car is done
            } else if (s.connector_status == "SuspendedEV") {
                car.max_kw = car.min_kw;  // the car takes nothing now: keep it at the minimum so it can resume
            }
            cars.push_back(car);
        }
        plan.cars.push_back(std::move(p));
    }
    // The index in plan.cars (and sessions) of each allocator car.
    std::vector<std::size_t> session_of;
    for (std::size_t i = 0; i < plan.cars.size(); ++i) {
        if (plan.cars[i].controlled) {
            session_of.push_back(i);
        }
    }
    // An idle connector of a charger holding a non-zero default profile may start a transaction at
    // that limit before motorpool hears of it: its draw is reserved.
    auto idle = c.query(
        "SELECT cc.phases, cc.voltage_v, cc.max_power_kw, ch.default_profile_a FROM charger_connectors cc "
        "JOIN chargers ch ON ch.id = cc.charger_id WHERE ch.cluster_id = $1 AND ch.online AND cc.connector_id > 0 "
        "AND ch.default_profile_a > 0 AND NOT EXISTS (SELECT 1 FROM charging_sessions s WHERE s.charger_id = "
        "cc.charger_id AND s.connector_id = cc.connector_id AND s.stopped_at_ms IS NULL)",
        {cluster_id});
    for (std::size_t i = 0; i < idle.size(); ++i) {
        auto r = idle.row(i);
        plan.reserved_kw += std::min(r.real(2), r.real(3) * static_cast<double>(r.int64(0)) * r.real(1) / 1000.0);
    }
    const double budget = std::max(0.0, plan.capacity_kw - plan.base_load_kw - plan.reserved_kw);
    auto wanted = allocator::allocate(cars, budget, period_h);

    // What may be in force now: the worse of the accepted limit and any limit sent but not yet
    // confirmed; a new transaction runs on the charger's default profile (or unlimited without one).
    std::vector<double> worst(cars.size(), 0.0);
    std::vector<double> target(cars.size(), 0.0);
    double worst_sum = 0;
    for (std::size_t k = 0; k < cars.size(); ++k) {
        const OpenSession& s = sessions[session_of[k]];
        const bool has_default = s.default_a && *s.default_a >= 0;  // -1: the charger refused it
        double w = has_default ? std::min(s.max_kw, *s.default_a * s.phases * s.voltage / 1000.0) : s.max_kw;
        if (s.profile_tx && *s.profile_tx == s.id && s.profile_kw) {
            w = *s.profile_kw;  // the last limit it accepted for this transaction
        }
        if (s.target_tx && *s.target_tx == s.id && s.target_kw) {
            w = std::max(w, *s.target_kw);  // sent or about to be: may be in force
        }
        worst[k] = w;
        worst_sum += w;
        target[k] = sendable_kw(wanted[k].kw, s.phases, s.voltage);
        if (target[k] > kEpsilon && target[k] + kEpsilon < cars[k].min_kw) {
            target[k] = 0;  // rounding took it below the minimum
        }
    }
    // Decreases at once; increases from the room the worst case leaves, most urgent first, each
    // whole or (when it stays above the car's minimum) in part. Changes below the threshold wait.
    std::vector<double> granted(cars.size(), 0.0);
    double room = budget - worst_sum;
    std::vector<std::size_t> rising;
    for (std::size_t k = 0; k < cars.size(); ++k) {
        const OpenSession& s = sessions[session_of[k]];
        const bool confirmed = s.profile_tx && *s.profile_tx == s.id && s.profile_kw;
        const double base = confirmed ? worst[k] : 0.0;  // a new session's limit is always sent
        if (confirmed && std::abs(target[k] - base) < options_.threshold_kw &&
            !(target[k] <= kEpsilon && base > kEpsilon) && !(base <= kEpsilon && target[k] > kEpsilon)) {
            granted[k] = base;  // not worth a message
        } else if (target[k] <= worst[k] + kEpsilon && (confirmed || s.default_a.has_value())) {
            granted[k] = target[k];  // at most what it may draw now: sent at once
        } else {
            // An increase, or a new transaction whose limit in force is not known yet (its default
            // profile not recorded): only into the room the others' worst case leaves.
            granted[k] = confirmed ? base : 0.0;
            rising.push_back(k);
        }
    }
    std::sort(rising.begin(), rising.end(), [&](std::size_t a, std::size_t b) {
        if (cars[a].weight != cars[b].weight) {
            return cars[a].weight > cars[b].weight;
        }
        return wanted[a].need_kw - granted[a] > wanted[b].need_kw - granted[b];
    });
    for (std::size_t k : rising) {
        const OpenSession& s = sessions[session_of[k]];
        // Room already counts worst[k]; what this car may reach is worst[k] plus the room.
        const double reach = sendable_kw(std::min(target[k], worst[k] + std::max(0.0, room)), s.phases, s.voltage);
        double give = std::max(granted[k], reach);
        if (give > kEpsilon && give + kEpsilon < cars[k].min_kw) {
            give = granted[k];
        }
        room -= std::max(0.0, give - worst[k]);
        granted[k] = give;
    }

    // The plan per car.
    const double hours_per_ms = 1.0 / 3'600'000.0;
    for (std::size_t k = 0; k < cars.size(); ++k) {
        PlannedCar& p = plan.cars[session_of[k]];
        p.target_kw = target[k];
        p.power_kw = granted[k];
        p.need_kw = wanted[k].need_kw;
        const double remaining = cars[k].remaining_kwh;
        if (remaining <= kEpsilon) {
            p.status = "charging";
            p.reason = "the requested energy is delivered";
        } else if (granted[k] > kEpsilon) {
            p.status = "charging";
            if (granted[k] + kEpsilon < target[k]) {
                p.reason = "the rest of its share follows once other chargers confirm lower limits";
            }
        } else {
            p.status = "paused";
            p.reason = target[k] > kEpsilon ? "waiting for other chargers to confirm lower limits"
                                            : "the cluster is at capacity: others are more urgent";
        }
    }
    for (auto& p : plan.cars) {
        const double remaining = std::max(0.0, p.requested_kwh - p.delivered_kwh);
        const double hours = std::max(0.0, static_cast<double>(p.departure_ms - now) * hours_per_ms);
        p.expected_kwh = std::min(p.requested_kwh, p.delivered_kwh + std::min(remaining, p.power_kw * hours));
        plan.allocated_kw += p.power_kw;
        if (p.measured_kw) {
            plan.measured_kw += *p.measured_kw;
        }
        if (tariff && p.power_kw > kEpsilon && remaining > kEpsilon) {
            const auto to =
                std::min(p.departure_ms, now + static_cast<std::int64_t>(remaining / p.power_kw * 3'600'000.0));
            p.price_estimate = energy_cost(*tariff, zone, now, std::max(now, to), p.power_kw);
        } else if (tariff) {
            p.price_estimate = 0.0;
        }
    }

    // A request whose car has not plugged in: the plan it would get if it plugged in now (the
    // first 50; beyond them the answer is only `waiting`).
    std::size_t previews = 0;
    auto fastest = c.query(
        "SELECT MAX(CASE WHEN cc.max_power_kw < ch.max_power_kw THEN cc.max_power_kw ELSE ch.max_power_kw END) "
        "FROM chargers ch LEFT JOIN charger_connectors cc ON cc.charger_id = ch.id AND cc.connector_id > 0 "
        "WHERE ch.cluster_id = $1",
        {cluster_id});
    // Until the car meets its connector: the cluster's fastest (7.4 kW, a common AC wallbox, without chargers).
    const double preview_max_kw = fastest.empty() || fastest.row(0).is_null(0) ? 7.4 : fastest.row(0).real(0);
    for (const auto& r : waiting) {
        PlannedCar p;
        p.request_id = r.public_id;
        p.user_id = r.user_id;
        p.vehicle_id = r.vehicle_public_id;
        p.kind = r.kind;
        p.priority = r.priority;
        p.status = "waiting";
        p.reason = "the car has not plugged in yet";
        p.requested_kwh = r.energy_kwh;
        p.departure_ms = r.departure_ms;
        if (previews++ < 50) {
            auto with = cars;
            allocator::Car car;
            car.id = r.public_id;
            car.max_kw = preview_max_kw;
            car.min_kw = std::min(car.max_kw, options_.min_current_a * 3 * 230 / 1000.0);
            car.remaining_kwh = r.energy_kwh;
            car.requested_kwh = r.energy_kwh;
            car.hours_left = static_cast<double>(r.departure_ms - now) * hours_per_ms;
            car.weight = r.priority == "emergency" ? options_.emergency_weight : 1.0;
            with.push_back(car);
            auto preview = allocator::allocate(with, budget, period_h);
            p.max_kw = car.max_kw;
            p.target_kw = preview.back().kw;
            p.need_kw = preview.back().need_kw;
            const double hours = std::max(0.0, car.hours_left);
            p.expected_kwh = std::min(r.energy_kwh, p.target_kw * hours);
            if (tariff && p.target_kw > kEpsilon) {
                const auto to =
                    std::min(r.departure_ms, now + static_cast<std::int64_t>(r.energy_kwh / p.target_kw * 3'600'000.0));
                p.price_estimate = energy_cost(*tariff, zone, now, std::max(now, to), p.target_kw);
            }
        }
        plan.waiting.push_back(std::move(p));
    }
    if (plan.base_load_kw + plan.measured_kw > plan.capacity_kw * 1.05 + 0.5) {
        Alert a;
        a.kind = "overload";
        a.severity = "critical";
        a.cluster_id = cluster_id;
        a.message = "Cluster " + plan.cluster_public_id + " draws " +
                    std::to_string(static_cast<int>(std::round(plan.base_load_kw + plan.measured_kw))) + " kW of " +
                    std::to_string(static_cast<int>(std::round(plan.capacity_kw))) + " kW";
        a.dedupe_key =
            "overload:" + std::to_string(cluster_id) + ":" + std::to_string(now / 3'600'000);  // one per hour
        if (auto raised = raise_alert(c, a, now)) {
            plan.alerts.emplace_back(*raised, std::move(a));
        }
    }
    if (tariff) {
        const double share = plan.capacity_kw > 0 ? (plan.base_load_kw + plan.allocated_kw) / plan.capacity_kw : 1.0;
        plan.price_now = price_at(*tariff, zone, now, share);
        plan.currency = tariff->currency;
    }

    // Write it: connector targets, requests, the cluster's plan and load.
    c.execute(
        "UPDATE charger_connectors SET target_kw = NULL, target_transaction_id = NULL WHERE target_kw IS NOT NULL AND "
        "charger_id IN (SELECT id FROM chargers WHERE cluster_id = $1)",
        {cluster_id});
    for (std::size_t k = 0; k < cars.size(); ++k) {
        const OpenSession& s = sessions[session_of[k]];
        if (!s.has_connector_row) {
            c.execute(
                "INSERT INTO charger_connectors (charger_id, connector_id, max_power_kw, status) VALUES ($1, $2, $3, "
                "'Charging')",
                {s.charger_id, static_cast<std::int64_t>(s.connector_id), s.max_kw});
        }
        c.execute(
            "UPDATE charger_connectors SET target_kw = $3, target_transaction_id = $4 WHERE charger_id = $1 AND "
            "connector_id = $2",
            {s.charger_id, static_cast<std::int64_t>(s.connector_id), granted[k], s.id});
    }
    auto write_request = [&](const PlannedCar& p, const std::optional<std::int64_t>& first_energy) {
        const double shown = p.session_id ? p.power_kw : p.target_kw;
        c.execute(
            "UPDATE charging_requests SET status = $2, reason = $3, planned_kw = $4, expected_kwh = $5, "
            "delivered_kwh = $6, price_estimate = $7, plan = $8, first_energy_at_ms = COALESCE(first_energy_at_ms, "
            "$9), "
            "updated_at_ms = $10 WHERE public_id = $1",
            {p.request_id,
             p.status,
             nullable(p.reason),
             shown,
             p.expected_kwh,
             p.delivered_kwh,
             nullable(p.price_estimate),
             json::serialize(plan_json(now, shown, std::max(0.0, p.requested_kwh - p.delivered_kwh), p.departure_ms)),
             nullable(first_energy),
             now});
    };
    for (std::size_t i = 0; i < plan.cars.size(); ++i) {
        const OpenSession& s = sessions[i];
        std::optional<std::int64_t> first;
        if (s.delivered_kwh > 0.001 || (s.measured_kw && *s.measured_kw > 0.05)) {
            first = s.measured_at_ms.value_or(now);
        }
        write_request(plan.cars[i], first);
    }
    for (const auto& p : plan.waiting) {
        write_request(p, std::nullopt);
    }
    c.execute("UPDATE grid_clusters SET plan = $2, planned_at_ms = $3 WHERE id = $1",
              {cluster_id, json::serialize(plan.to_json()), now});
    c.execute(
        "INSERT INTO grid_cluster_load (cluster_id, at_ms, capacity_kw, allocated_kw, measured_kw, cars) VALUES ($1, "
        "$2, "
        "$3, $4, $5, $6) ON CONFLICT (cluster_id, at_ms) DO NOTHING",
        {cluster_id,
         now,
         plan.capacity_kw,
         plan.allocated_kw,
         plan.measured_kw,
         static_cast<std::int64_t>(plan.cars.size())});
    return plan;
}

std::size_t Planner::replan_all() {
    const std::int64_t now = services_.clock->now_ms();
    auto clusters = services_.database.with_reader([&](db::Connection& c) {
        auto rows = c.query(
            "SELECT DISTINCT g.id FROM grid_clusters g WHERE EXISTS (SELECT 1 FROM chargers ch JOIN charging_sessions "
            "s "
            "ON s.charger_id = ch.id WHERE ch.cluster_id = g.id AND s.stopped_at_ms IS NULL) OR EXISTS (SELECT 1 FROM "
            "charging_requests r WHERE r.cluster_id = g.id AND r.status IN ('waiting', 'charging', 'paused')) OR "
            "EXISTS (SELECT 1 FROM charger_connectors cc JOIN chargers ch ON ch.id = cc.charger_id WHERE "
            "ch.cluster_id = g.id AND cc.target_kw IS NOT NULL) ORDER BY g.id",
            {});
        std::vector<std::int64_t> ids;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            ids.push_back(rows.row(i).int64(0));
        }
        return ids;
    });
    for (std::int64_t id : clusters) {
        try {
            ClusterPlan plan =
                services_.database.with_transaction([&](db::Connection& c) { return replan(c, id, now); });
            publish(plan);
        } catch (const std::exception& e) {
            spdlog::error("charging: re-planning cluster {} failed: {}", id, e.what());
        }
    }
    return clusters.size();
}

void Planner::publish(const ClusterPlan& plan) {
    if (plan.cluster_public_id.empty()) {
        return;
    }
    services_.events.publish({"grid.cluster." + plan.cluster_public_id, "GRID", core::to_json_text(plan.to_json())});
    for (const auto& [id, alert] : plan.alerts) {
        publish_alert(services_.events, id, alert, plan.at_ms);
    }
    for (const auto& p : plan.cars) {
        if (p.session_id) {
            services_.events.publish({"charging.session." + *p.session_id, "PLAN", core::to_json_text(car_json(p))});
        }
    }
}

}  // namespace motorpool::charging
