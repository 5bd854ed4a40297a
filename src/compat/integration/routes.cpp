// smartcar-integration: the original FastAPI Smartcar integration (Connect, the OAuth callback,
// the user's latest telemetry, vehicles and history) over motorpool's /api/v1/connect/smartcar,
// /api/v1/me/telemetry/latest, /api/v1/vehicles and signal history. FastAPI's error shapes.

#include <map>

#include <boost/json.hpp>

#include "core/text.hpp"
#include "forward.hpp"
#include "surfaces.hpp"

namespace motorpool::compat {

namespace net = boost::asio;
namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

/// The latest-telemetry fields the original returned (its response model), in its order.
constexpr const char* kTelemetryFields[] = {"recorded_at", "soc_pct", "charging_state", "latitude", "longitude"};

Response detail(int status, const std::string& text) {
    return Response::json(json::object{{"detail", text}}, status);
}

/// ?days=: a whole number of days, 1 to 90 (default 7); nullopt when invalid.
std::optional<std::int64_t> days_of(const Request& req) {
    auto text = req.query_param("days");
    if (!text) {
        return 7;
    }
    if (text->empty() || text->size() > 3 || text->find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    const std::int64_t days = std::stoll(*text);
    return days >= 1 && days <= 90 ? std::optional(days) : std::nullopt;
}

}  // namespace

std::vector<RouteKey> integration_routes() {
    return {{Method::Get, "/v1/ev/connect"},
            {Method::Get, "/v1/ev/me/telemetry/latest"},
            {Method::Get, "/v1/ev/me/telemetry/history"},
            {Method::Get, "/v1/ev/me/vehicles"}};
}

void install_integration(http::Router& router, const std::string& prefix, std::shared_ptr<core::Clock> clock) {
    http::Router* r = &router;

    router.add(
        Method::Get,
        prefix + "/v1/ev/connect",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(*r, req, Method::Get, "/api/v1/connect/smartcar", "", "", req.principal);
            co_return fastapi_shape(std::move(answer), "query");
        },
        fastapi_route(http::Auth::Required, "query"));

    if (!prefix.empty()) {
        // At the root motorpool's own callback answers (Smartcar sends the browser to
        // SMARTCAR_REDIRECT_URI, which motorpool serves whatever its path).
        router.add(Method::Get, prefix + "/oauth/smartcar/callback", [r](Request req) -> net::awaitable<Response> {
            co_return co_await forward(*r, req, Method::Get, "/oauth/smartcar/callback", req.query, "");
        });
    }

    router.add(
        Method::Get,
        prefix + "/v1/ev/me/telemetry/latest",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(*r, req, Method::Get, "/api/v1/me/telemetry/latest", "", "", req.principal);
            if (answer.status == 404) {
                co_return detail(404, "No connected vehicle with telemetry");
            }
            if (answer.status != 200) {
                co_return fastapi_shape(std::move(answer), "query");
            }
            const auto body = body_of(answer);
            json::object out;
            for (const char* field : kTelemetryFields) {
                out[field] = body.as_object().at(field);
            }
            co_return Response::json(out);
        },
        fastapi_route(http::Auth::Required, "query"));

    router.add(
        Method::Get,
        prefix + "/v1/ev/me/vehicles",
        [r](Request req) -> net::awaitable<Response> {
            // The caller's own vehicles (mine=true: staff too see only theirs here), every page.
            AllItems all = co_await all_items(*r, req, "/api/v1/vehicles", "mine=true");
            if (all.failed) {
                co_return fastapi_shape(std::move(*all.failed), "query");
            }
            co_return Response::json(std::move(all.items));
        },
        fastapi_route(http::Auth::Required, "query"));

    router.add(
        Method::Get,
        prefix + "/v1/ev/me/telemetry/history",
        [r, clock](Request req) -> net::awaitable<Response> {
            const auto days = days_of(req);
            if (!days) {
                co_return Response::json(
                    json::object{{"detail",
                                  json::array{json::object{{"loc", json::array{"query", "days"}},
                                                           {"msg", "must be a whole number of days from 1 to 90"},
                                                           {"type", "value_error"}}}}},
                    422);
            }
            // The vehicle the latest telemetry is for (stored values only: history never asks Smartcar).
            auto latest = co_await forward(
                *r, req, Method::Get, "/api/v1/me/telemetry/latest", "refresh=false", "", req.principal);
            if (latest.status == 404) {
                co_return detail(404, "No connected vehicle with telemetry");
            }
            if (latest.status != 200) {
                co_return fastapi_shape(std::move(latest), "query");
            }
            const std::string vehicle(body_of(latest).as_object().at("vehicle_id").as_string());
            const std::int64_t to = clock->now_ms();
            const std::int64_t from = to - *days * 86'400'000;
            std::string range = "from=" + std::to_string(from);
            range += "&to=" + std::to_string(to);
            range += "&limit=10000";
            // One row per recorded time, as the original's snapshots: the three series joined on
            // their timestamps, a field null when its signal has no sample at that time.
            std::map<std::string, json::object> rows;
            auto row_at = [&rows](const std::string& time) -> json::object& {
                auto [it, fresh] = rows.try_emplace(time);
                if (fresh) {
                    it->second = json::object{{"recorded_at", time},
                                              {"soc_pct", nullptr},
                                              {"charging_state", nullptr},
                                              {"latitude", nullptr},
                                              {"longitude", nullptr}};
                }
                return it->second;
            };
            for (const char* code :
                 {"TractionBattery.StateOfCharge", "Charge.DetailedChargingStatus", "Location.PreciseLocation"}) {
                std::string path = "/api/v1/vehicles/" + core::percent_encode(vehicle);
                path += "/signals/";
                path += code;
                path += "/history";
                auto answer = co_await forward(*r, req, Method::Get, path, range, "", req.principal);
                if (answer.status != 200) {
                    co_return fastapi_shape(std::move(answer), "query");
                }
                const json::value series = body_of(answer);
                for (const auto& p : series.as_object().at("points").as_array()) {
                    const auto& point = p.as_object();
                    json::object& row = row_at(std::string(point.at("time").as_string()));
                    const json::value& value = point.at("value");
                    if (std::string_view(code) == "Location.PreciseLocation") {
                        if (const auto* o = value.if_object()) {
                            row["latitude"] = o->contains("latitude") ? o->at("latitude") : json::value();
                            row["longitude"] = o->contains("longitude") ? o->at("longitude") : json::value();
                        }
                    } else if (std::string_view(code) == "TractionBattery.StateOfCharge") {
                        row["soc_pct"] = value;
                    } else {
                        row["charging_state"] = value;
                    }
                }
            }
            json::array out;
            out.reserve(rows.size());
            for (auto& [time, row] : rows) {
                out.push_back(std::move(row));
            }
            co_return Response::json(out);
        },
        fastapi_route(http::Auth::Required, "query"));
}

}  // namespace motorpool::compat
