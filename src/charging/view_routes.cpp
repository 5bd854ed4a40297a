// Read-only views over the charging data: alerts (support and admins), the fleet view's charging
// field (each vehicle's open request and plan), and fairness analytics of a cluster over a window.

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "charging/allocator.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "http/paging.hpp"
#include "request_routes.hpp"
#include "route_helpers.hpp"
#include "routes.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::charging {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using http::Method;
using http::Request;
using http::Response;

namespace {

json::value num(const std::optional<double>& v, double scale = 1000) {
    return v ? json::value(std::round(*v * scale) / scale) : json::value(nullptr);
}

/// ?from=&to= as RFC 3339 (default: the last 7 days to now).
std::pair<std::int64_t, std::int64_t> read_window(const Request& req, std::int64_t now) {
    std::vector<core::FieldError> errors;
    std::int64_t from = now - 7LL * 24 * 3600 * 1000;
    std::int64_t to = now;
    if (auto f = req.query_param("from")) {
        if (auto at = core::parse_rfc3339(*f)) {
            from = *at;
        } else {
            errors.push_back({"from", "must be an RFC 3339 time"});
        }
    }
    if (auto t = req.query_param("to")) {
        if (auto at = core::parse_rfc3339(*t)) {
            to = *at;
        } else {
            errors.push_back({"to", "must be an RFC 3339 time"});
        }
    }
    if (errors.empty() && to <= from) {
        errors.push_back({"to", "must be after from"});
    }
    if (errors.empty() && to - from > 366LL * 24 * 3600 * 1000) {
        errors.push_back({"from", "the window is at most 366 days"});
    }
    if (!errors.empty()) {
        throw ApiError::validation(std::move(errors));
    }
    return {from, to};
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
    return v[std::min(k, v.size() - 1)];
}

}  // namespace

telemetry::FleetField fleet_charging_field() {
    telemetry::FleetField field;
    field.name = "charging";
    field.read = [](db::Connection& c, const std::vector<std::int64_t>& ids) {
        std::map<std::int64_t, json::value> out;
        std::string in;
        std::vector<db::Value> params;
        for (std::int64_t id : ids) {
            params.emplace_back(id);
            in += (in.empty() ? "$" : ", $") + std::to_string(params.size());
        }
        // The vehicle's open request (at most one) with its session and plan.
        auto rows = c.query(
            "SELECT r.vehicle_id, r.public_id, r.status, r.planned_kw, r.expected_kwh, r.delivered_kwh, r.energy_kwh, "
            "r.departure_at_ms, r.priority, s.public_id, ch.identity, g.public_id FROM charging_requests r "
            "JOIN grid_clusters g ON g.id = r.cluster_id LEFT JOIN charging_sessions s ON s.id = r.session_id "
            "LEFT JOIN chargers ch ON ch.id = s.charger_id WHERE r.status IN ('waiting', 'charging', 'paused') AND "
            "r.vehicle_id IN (" +
                in + ")",
            params);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            out[r.int64(0)] =
                json::object{{"request_id", r.text(1)},
                             {"status", r.text(2)},
                             {"power_kw", num(r.real(3))},
                             {"expected_kwh", num(r.real(4))},
                             {"delivered_kwh", num(r.real(5))},
                             {"requested_kwh", num(r.real(6))},
                             {"departure_time", core::format_rfc3339(r.int64(7))},
                             {"priority", r.text(8)},
                             {"session_id", r.is_null(9) ? json::value(nullptr) : json::value(r.text(9))},
                             {"charger_id", r.is_null(10) ? json::value(nullptr) : json::value(r.text(10))},
                             {"cluster_id", r.text(11)}};
        }
        return out;
    };
    return field;
}

void install_view_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    router.add(
        Method::Get,
        "/api/v1/charging/alerts",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Support, auth::Role::Admin});
            const http::PageQuery q = read_offset_page(req);
            std::optional<std::string> kind;
            if (auto k = req.query_param("kind")) {
                static const std::vector<std::string> kKinds{
                    "emergency_limit", "idle_occupancy", "over_request", "over_limit", "profile_rejected", "overload"};
                if (std::find(kKinds.begin(), kKinds.end(), *k) == kKinds.end()) {
                    throw ApiError::validation({{"kind",
                                                 "must be emergency_limit, idle_occupancy, over_request, over_limit, "
                                                 "profile_rejected or overload"}});
                }
                kind = *k;
            }
            auto job = [svc, q, kind] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::string where = kind ? " WHERE a.kind = $1" : "";
                    std::vector<db::Value> params;
                    if (kind) {
                        params.emplace_back(*kind);
                    }
                    const std::string from =
                        " FROM charging_alerts a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN grid_clusters g ON "
                        "g.id = a.cluster_id LEFT JOIN chargers ch ON ch.id = a.charger_id LEFT JOIN charging_sessions "
                        "s "
                        "ON s.id = a.session_id";
                    auto total = c.query("SELECT COUNT(*)" + from + where, params).row(0).int64(0);
                    params.emplace_back(q.page_size);
                    params.emplace_back(q.offset());
                    auto rows = c.query(
                        "SELECT a.public_id, a.kind, a.severity, u.public_id, g.public_id, ch.identity, s.public_id, "
                        "a.message, a.created_at_ms" +
                            from + where + " ORDER BY a.id DESC LIMIT $" + std::to_string(params.size() - 1) +
                            " OFFSET $" + std::to_string(params.size()),
                        params);
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        auto r = rows.row(i);
                        auto text = [&](std::size_t k) {
                            return r.is_null(k) ? json::value(nullptr) : json::value(r.text(k));
                        };
                        items.push_back(json::object{{"id", r.text(0)},
                                                     {"kind", r.text(1)},
                                                     {"severity", r.text(2)},
                                                     {"user_id", text(3)},
                                                     {"cluster_id", text(4)},
                                                     {"charger_id", text(5)},
                                                     {"session_id", text(6)},
                                                     {"message", r.text(7)},
                                                     {"created_at", core::format_rfc3339(r.int64(8))}});
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
        "/api/v1/analytics/fairness",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::FleetManager, auth::Role::Support, auth::Role::Admin});
            auto cluster = req.query_param("cluster_id");
            if (!cluster) {
                throw ApiError::validation({{"cluster_id", "is required"}});
            }
            const auto [from, to] = read_window(req, svc->clock->now_ms());
            auto job = [svc, id = *cluster, from = from, to = to] {
                return svc->database.with_reader([&](db::Connection& c) -> std::optional<json::object> {
                    auto g = c.query("SELECT id, capacity_kw FROM grid_clusters WHERE public_id = $1", {id});
                    if (g.empty()) {
                        return std::nullopt;
                    }
                    const std::int64_t cluster_id = g.row(0).int64(0);
                    // Requests that ended or run in the window, with what their sessions could take.
                    auto rows = c.query(
                        "SELECT r.energy_kwh, r.delivered_kwh, r.priority, u.public_id, s.started_at_ms, "
                        "r.first_energy_at_ms, COALESCE(s.stopped_at_ms, $4), r.departure_at_ms, "
                        "COALESCE(cc.max_power_kw, ch.max_power_kw), r.status FROM charging_requests r "
                        "LEFT JOIN users u ON u.id = r.user_id LEFT JOIN charging_sessions s ON s.id = r.session_id "
                        "LEFT JOIN chargers ch ON ch.id = s.charger_id LEFT JOIN charger_connectors cc ON "
                        "cc.charger_id = s.charger_id AND cc.connector_id = s.connector_id "
                        "WHERE r.cluster_id = $1 AND r.created_at_ms <= $3 AND r.updated_at_ms >= $2 "
                        "AND r.status <> 'cancelled'",
                        {cluster_id, from, to, to});
                    std::vector<double> satisfaction, waits;
                    double requested = 0, delivered = 0;
                    struct Share {
                        std::int64_t requests = 0;
                        double requested = 0, delivered = 0;
                        std::vector<double> satisfaction;
                    };
                    std::map<std::string, Share> by_priority, by_member;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        auto r = rows.row(i);
                        const double want = r.real(0);
                        const double got = r.real(1);
                        // Deliverable: the request, bounded by what the connector could give while the car
                        // stayed (a car that never plugged in could take nothing).
                        double deliverable = 0;
                        if (!r.is_null(4)) {
                            const double hours =
                                static_cast<double>(std::min(r.int64(6), r.int64(7)) - r.int64(4)) / 3'600'000.0;
                            deliverable = std::min(want, std::max(0.0, hours) * r.opt_real(8).value_or(want));
                        }
                        const double s = deliverable > 1e-9 ? std::min(1.0, got / deliverable) : 1.0;
                        satisfaction.push_back(s);
                        requested += want;
                        delivered += got;
                        if (!r.is_null(4) && !r.is_null(5)) {
                            waits.push_back(static_cast<double>(r.int64(5) - r.int64(4)) / 1000.0);
                        }
                        for (auto* share : {&by_priority[r.text(2)], &by_member[r.opt_text(3).value_or("unknown")]}) {
                            share->requests += 1;
                            share->requested += want;
                            share->delivered += got;
                            share->satisfaction.push_back(s);
                        }
                    }
                    auto share_json = [&](const Share& s) {
                        return json::object{
                            {"requests", s.requests},
                            {"requested_kwh", num(s.requested)},
                            {"delivered_kwh", num(s.delivered)},
                            {"share_of_energy", num(delivered > 0 ? s.delivered / delivered : 0.0)},
                            {"mean_satisfaction",
                             num(s.satisfaction.empty()
                                     ? 1.0
                                     : std::accumulate(s.satisfaction.begin(), s.satisfaction.end(), 0.0) /
                                           static_cast<double>(s.satisfaction.size()))}};
                    };
                    json::object priorities;
                    for (const auto& [name, s] : by_priority) {
                        priorities[name] = share_json(s);
                    }
                    json::array members;
                    for (const auto& [name, s] : by_member) {
                        json::object m = share_json(s);
                        m["user_id"] = name;
                        members.push_back(std::move(m));
                    }
                    auto load = c.query(
                        "SELECT COALESCE(MAX(CASE WHEN measured_kw > allocated_kw THEN measured_kw ELSE allocated_kw "
                        "END), "
                        "0), COALESCE(MAX(capacity_kw), 0) FROM grid_cluster_load WHERE cluster_id = $1 AND at_ms >= "
                        "$2 AND "
                        "at_ms < $3",
                        {cluster_id, from, to});
                    const double peak = load.row(0).real(0);
                    const double capacity = load.row(0).real(1) > 0 ? load.row(0).real(1) : g.row(0).real(1);
                    return json::object{
                        {"cluster_id", id},
                        {"from", core::format_rfc3339(from)},
                        {"to", core::format_rfc3339(to)},
                        {"requests", static_cast<std::int64_t>(satisfaction.size())},
                        {"jain_index", num(allocator::jain_index(satisfaction), 1e4)},
                        {"min_satisfaction",
                         num(satisfaction.empty() ? 1.0 : *std::min_element(satisfaction.begin(), satisfaction.end()),
                             1e4)},
                        {"requested_kwh", num(requested)},
                        {"delivered_kwh", num(delivered)},
                        {"delivered_ratio", num(requested > 0 ? delivered / requested : 1.0, 1e4)},
                        {"wait_to_first_energy_s",
                         json::object{{"p50", num(percentile(waits, 0.5))}, {"p95", num(percentile(waits, 0.95))}}},
                        {"by_priority", std::move(priorities)},
                        {"by_member", std::move(members)},
                        {"peak_kw", num(peak)},
                        {"capacity_kw", num(capacity)},
                        {"peak_ratio", num(capacity > 0 ? peak / capacity : 0.0, 1e4)}};
                });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Grid cluster");
            }
            co_return Response::json(*found);
        },
        authenticated());
}

}  // namespace motorpool::charging
