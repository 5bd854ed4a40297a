// charging-balancer: the original FastAPI EV charging load balancer (Smartcar connect, drivers'
// slot and emergency requests, charging status, the fleet, the grid cluster, fairness) over
// motorpool's charging module. FastAPI's error shapes; the caller is the bearer token's user
// (the original took a user_id query parameter and checked nothing).

#include <boost/json.hpp>

#include "core/text.hpp"
#include "core/time.hpp"
#include "forward.hpp"
#include "surfaces.hpp"

namespace motorpool::compat {

namespace net = boost::asio;
namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

Response detail(int status, const std::string& text) {
    return Response::json(json::object{{"detail", text}}, status);
}

Response invalid(const char* where, const char* field, const std::string& message) {
    return Response::json(
        json::object{
            {"detail",
             json::array{json::object{{"loc", json::array{where, field}}, {"msg", message}, {"type", "value_error"}}}}},
        422);
}

const json::value* field(const json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && !v->is_null() ? v : nullptr;
}

/// The cluster a request names, else GRID_CLUSTER_ID's, else the first cluster motorpool lists
/// (a single-site deployment); "" when there is none.
net::awaitable<std::string> cluster_of(http::Router& r,
                                       const Request& req,
                                       std::optional<std::string> named,
                                       const std::string& fallback) {
    if (named && !named->empty()) {
        co_return *named;
    }
    if (!fallback.empty()) {
        co_return fallback;
    }
    // Read as staff: drivers may not list clusters, but the default one's id is theirs to use.
    static const auto reader = staff_reader("charging-balancer");
    auto listed = co_await forward(r, req, Method::Get, "/api/v1/grid/clusters", "page_size=1", "", reader);
    if (listed.status != 200) {
        co_return std::string();
    }
    const auto body = body_of(listed);
    const auto* items = body.as_object().if_contains("items");
    if (items == nullptr || !items->is_array() || items->as_array().empty()) {
        co_return std::string();
    }
    co_return std::string(items->as_array().front().as_object().at("id").as_string());
}

/// A motorpool charging request as the original's slot.
json::object slot_of(const json::object& request, const json::value& requested_start, std::int64_t minutes) {
    const auto* plan = field(request, "plan");
    const json::value power = plan ? plan->as_object().at("power_kw") : json::value();
    return json::object{{"slot_id", request.at("id")},
                        {"status", request.at("status")},
                        {"vehicle_id", request.at("vehicle_id")},
                        {"grid_cluster_id", request.at("cluster_id")},
                        {"start_time", requested_start},
                        {"end_time", request.at("departure_time")},
                        {"duration_minutes", minutes},
                        {"allocated_power_kw", power},
                        {"energy_kwh", request.at("energy_kwh")},
                        {"price_estimate", plan ? plan->as_object().at("price_estimate") : json::value()},
                        {"is_emergency", request.at("kind") == "emergency"},
                        {"charger_id", request.at("charger_id")}};
}

/// A fleet vehicle with the original's `id` (motorpool's vehicle_id) first.
json::value with_id(const json::value& vehicle) {
    json::object out{{"id", vehicle.as_object().at("vehicle_id")}};
    for (const auto& [k, v] : vehicle.as_object()) {
        out[k] = v;
    }
    return out;
}

}  // namespace

std::vector<RouteKey> balancer_routes() {
    return {{Method::Get, "/auth/smartcar/connect"},
            {Method::Get, "/auth/smartcar/callback"},
            {Method::Post, "/drivers/slot/request"},
            {Method::Post, "/drivers/emergency/request"},
            {Method::Get, "/drivers/charging/status"},
            {Method::Get, "/fleet/vehicles"},
            {Method::Get, "/fleet/vehicle/{id}"},
            {Method::Get, "/fleet/vehicles/{id}"},
            {Method::Get, "/grid/cluster"},
            {Method::Get, "/analytics/fairness"}};
}

void install_balancer(http::Router& router, const std::string& prefix, const std::string& default_cluster) {
    http::Router* r = &router;
    const auto reading = fastapi_route(http::Auth::Required, "query");

    // Connect: a link a browser follows, so the token may ride in ?token=.
    auto connect_options = fastapi_route(http::Auth::Required, "query");
    connect_options.token_in_query = true;
    router.add(
        Method::Get,
        prefix + "/auth/smartcar/connect",
        [r](Request req) -> net::awaitable<Response> { co_return co_await connect_redirect(*r, req); },
        connect_options);
    if (!prefix.empty() || router.match(Method::Get, "/auth/smartcar/callback").kind != http::Match::Kind::Found) {
        router.add(Method::Get, prefix + "/auth/smartcar/callback", [r](Request req) -> net::awaitable<Response> {
            co_return co_await forward(*r, req, Method::Get, "/oauth/smartcar/callback", req.query, "");
        });
    }

    router.add(
        Method::Post,
        prefix + "/drivers/slot/request",
        [r, default_cluster](Request req) -> net::awaitable<Response> {
            // {vehicle_id, requested_start, duration_minutes, grid_cluster_id?}: the car is to be
            // charged by requested_start + duration_minutes (motorpool's departure time), to
            // target_soc_pct (default 100) or energy_kwh when given.
            const json::object body = req.json_object();
            const auto* start = field(body, "requested_start");
            const auto* minutes = field(body, "duration_minutes");
            if (field(body, "vehicle_id") == nullptr) {
                co_return invalid("body", "vehicle_id", "field required");
            }
            std::optional<std::int64_t> start_ms =
                start && start->is_string() ? core::parse_rfc3339(std::string(start->as_string())) : std::nullopt;
            if (!start_ms) {
                co_return invalid("body", "requested_start", "must be an RFC 3339 time with a zone");
            }
            if (minutes == nullptr || !minutes->is_int64() || minutes->as_int64() < 1 ||
                minutes->as_int64() > 7 * 24 * 60) {
                co_return invalid("body", "duration_minutes", "must be a whole number of minutes, 1 to 10080");
            }
            std::optional<std::string> named;
            if (const auto* c = field(body, "grid_cluster_id")) {
                named = c->is_string() ? std::string(c->as_string()) : json::serialize(*c);
            }
            const std::string cluster = co_await cluster_of(*r, req, named, default_cluster);
            if (cluster.empty()) {
                co_return invalid("body", "grid_cluster_id", "no grid cluster given and none configured");
            }
            json::object request{{"vehicle_id", *field(body, "vehicle_id")},
                                 {"cluster_id", cluster},
                                 {"departure_time", core::format_rfc3339(*start_ms + minutes->as_int64() * 60'000)}};
            if (const auto* energy = field(body, "energy_kwh")) {
                request["energy_kwh"] = *energy;
            } else {
                request["target_soc_pct"] = field(body, "target_soc_pct") ? *field(body, "target_soc_pct") : 100;
            }
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/charging/slot-requests", "", json::serialize(request), req.principal);
            if (answer.status != 201) {
                co_return rename_error_field(std::move(answer), "cluster_id", "grid_cluster_id");
            }
            const auto created = body_of(answer);
            json::object slot = slot_of(created.as_object(), *start, minutes->as_int64());
            const bool powered =
                slot.at("allocated_power_kw").is_number() && slot.at("allocated_power_kw").to_number<double>() > 0;
            co_return Response::json(
                json::object{{"slot", std::move(slot)}, {"status", powered ? "allocated" : "unavailable"}});
        },
        fastapi_route(http::Auth::Required, "body", 16 * 1024));

    router.add(
        Method::Post,
        prefix + "/drivers/emergency/request",
        [r](Request req) -> net::awaitable<Response> {
            json::object body = req.json_object();
            if (field(body, "reason") == nullptr) {
                body["reason"] = "Emergency charge requested";  // optional in the original, required here
            }
            json::object request;
            for (const char* name : {"vehicle_id", "reason", "cluster_id", "energy_kwh", "target_soc_pct"}) {
                if (const auto* v = field(body, name)) {
                    request[name] = *v;
                }
            }
            auto answer = co_await forward(*r,
                                           req,
                                           Method::Post,
                                           "/api/v1/charging/emergency-requests",
                                           "",
                                           json::serialize(request),
                                           req.principal);
            if (answer.status != 201) {
                co_return answer;
            }
            const auto created = body_of(answer);
            const auto& e = created.as_object();
            // Granted at once (within the member's allowance) or pending support's review; no
            // classifier scores it, so there is no confidence.
            co_return Response::json(json::object{{"is_emergency", e.at("status") == "approved"},
                                                  {"reason", e.at("reason")},
                                                  {"confidence", nullptr},
                                                  {"request_id", e.at("id")},
                                                  {"status", e.at("status")}});
        },
        fastapi_route(http::Auth::Required, "body", 16 * 1024));

    router.add(
        Method::Get,
        prefix + "/drivers/charging/status",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(*r, req, Method::Get, "/api/v1/charging/status", "", "", req.principal);
            if (answer.status != 200) {
                co_return answer;
            }
            const auto vehicle = req.query_param("vehicle_id");
            const auto body = body_of(answer);
            for (const auto& s : body.as_object().at("current").as_array()) {
                const auto& session = s.as_object();
                if (vehicle && session.at("vehicle_id") != json::value(*vehicle)) {
                    continue;
                }
                co_return Response::json(json::object{{"session_id", session.at("session_id")},
                                                      {"status", session.at("state")},
                                                      {"energy_delivered_kwh", session.at("energy_kwh")},
                                                      {"start_soc", nullptr},
                                                      {"current_soc", session.at("soc_pct")},
                                                      {"started_at", session.at("started_at")},
                                                      {"vehicle_id", session.at("vehicle_id")},
                                                      {"power_kw", session.at("power_kw")},
                                                      {"eta", session.at("eta")}});
            }
            co_return detail(404, "No active charging session");
        },
        reading);

    router.add(
        Method::Get,
        prefix + "/fleet/vehicles",
        [r](Request req) -> net::awaitable<Response> {
            AllItems all = co_await all_items(*r, req, "/api/v1/fleet/vehicles", "", 100);
            if (all.failed) {
                co_return std::move(*all.failed);
            }
            json::array out;
            for (const auto& v : all.items) {
                out.push_back(with_id(v));
            }
            co_return Response::json(out);
        },
        reading);

    // The README's /fleet/vehicle/{id} and the code's /fleet/vehicles/{id}: both.
    for (const char* path : {"/fleet/vehicle/{id}", "/fleet/vehicles/{id}"}) {
        router.add(
            Method::Get,
            prefix + path,
            [r](Request req) -> net::awaitable<Response> {
                std::string target = "/api/v1/fleet/vehicles/";
                target += core::percent_encode(req.param("id"));
                auto answer = co_await forward(*r, req, Method::Get, target, "", "", req.principal);
                if (answer.status == 404) {
                    co_return detail(404, "Vehicle not found");
                }
                if (answer.status != 200) {
                    co_return answer;
                }
                co_return Response::json(with_id(body_of(answer)));
            },
            reading);
    }

    router.add(
        Method::Get,
        prefix + "/grid/cluster",
        [r, default_cluster](Request req) -> net::awaitable<Response> {
            const std::string cluster = co_await cluster_of(*r, req, req.query_param("cluster_id"), default_cluster);
            if (cluster.empty()) {
                co_return detail(404, "Grid cluster not found");
            }
            auto answer = co_await forward(
                *r, req, Method::Get, "/api/v1/grid/clusters/" + core::percent_encode(cluster), "", "", req.principal);
            if (answer.status == 404) {
                co_return detail(404, "Grid cluster not found");
            }
            if (answer.status != 200) {
                co_return answer;
            }
            const auto body = body_of(answer);
            const auto& c = body.as_object();
            const double load = c.at("current_load_kw").to_number<double>();
            const double capacity = c.at("capacity_kw").to_number<double>();
            co_return Response::json(json::object{{"cluster_id", c.at("id")},
                                                  {"current_load_kw", load},
                                                  {"max_capacity_kw", capacity},
                                                  {"utilization_percent", capacity > 0 ? load / capacity * 100 : 0.0},
                                                  {"available_capacity_kw", c.at("headroom_kw")},
                                                  {"active_sessions", c.at("active_sessions")},
                                                  {"allocation", c.at("allocation")}});
        },
        reading);

    router.add(
        Method::Get,
        prefix + "/analytics/fairness",
        [r, default_cluster](Request req) -> net::awaitable<Response> {
            const std::string cluster = co_await cluster_of(*r, req, req.query_param("cluster_id"), default_cluster);
            if (cluster.empty()) {
                co_return detail(404, "Grid cluster not found");
            }
            std::string query = "cluster_id=" + core::percent_encode(cluster);
            for (const char* name : {"from", "to"}) {
                if (auto v = req.query_param(name)) {
                    query += "&";
                    query += name;
                    query += "=";
                    query += core::percent_encode(*v);
                }
            }
            auto answer =
                co_await forward(*r, req, Method::Get, "/api/v1/analytics/fairness", query, "", req.principal);
            if (answer.status != 200) {
                co_return answer;
            }
            // motorpool's report, with the original's names where motorpool measures the same
            // thing: the median wait to first energy (minutes) and each priority's figures.
            auto report = body_of(answer).as_object();
            const auto& wait = report.at("wait_to_first_energy_s").as_object();
            report["average_wait_time"] = wait.at("p50").to_number<double>() / 60.0;
            report["wait_times_by_priority"] = report.at("by_priority");
            co_return Response::json(report);
        },
        reading);
}

}  // namespace motorpool::compat
