// smartcar-webhooks: the original Flask webhook server (vehicles, their latest signals, the
// webhook receiver, Connect) over motorpool's /api/v1/smartcar/vehicles, /api/v1/vehicles/{id}/
// signals, /webhooks/smartcar, /api/v1/webhook-events and /api/v1/connect/smartcar. Flask's
// shapes: errors as {"error": "..."}; a signal's data as the body Smartcar sends for it.

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

/// The five signals the original stored, in its order.
constexpr const char* kSignals[] = {"Location.PreciseLocation",
                                    "Odometer.TraveledDistance",
                                    "TractionBattery.StateOfCharge",
                                    "TractionBattery.NominalCapacity",
                                    "Charge.ChargeLimits"};

Response error(int status, const std::string& text) {
    return Response::json(json::object{{"error", text}}, status);
}

/// A stored value as the body Smartcar's webhook carries for the signal (SMARTCAR.md's signal
/// table): what the original stored and answered as `data`.
json::value smartcar_body(std::string_view code, const json::value& value) {
    if (code == "Location.PreciseLocation") {
        return value;  // {latitude, longitude, heading?, direction?, locationType?}
    }
    if (code == "Odometer.TraveledDistance") {
        return json::object{{"value", value}, {"unit", "kilometers"}};
    }
    if (code == "TractionBattery.StateOfCharge") {
        return json::object{{"value", value}, {"unit", "percent"}};
    }
    if (code == "TractionBattery.NominalCapacity") {
        return json::object{{"capacity", value}, {"unit", "kWh"}};
    }
    return json::object{{"activeLimit", value}, {"unit", "percent"}};  // Charge.ChargeLimits
}

/// The latest values of `vehicle` (a Smartcar vehicle id, or motorpool's id or VIN) as the
/// caller may see them: {signal code: {timestamp, data}} for the five signals present, or a
/// Flask error answer.
struct Latest {
    std::optional<Response> failed;
    json::object signals;  // code -> {timestamp, data}
};

net::awaitable<Latest> latest_of(http::Router& router, const Request& req, const std::string& vehicle) {
    Latest out;
    std::string id = vehicle;
    auto found = co_await forward(router,
                                  req,
                                  Method::Get,
                                  "/api/v1/smartcar/vehicles",
                                  "page_size=1&smartcar_vehicle_id=" + core::percent_encode(vehicle),
                                  "",
                                  req.principal);
    if (found.status != 200) {
        out.failed = std::move(found);
        co_return out;
    }
    const auto listed = body_of(found);
    const auto& items = listed.as_object().at("items").as_array();
    if (!items.empty() && items.front().as_object().at("vehicle_id").is_string()) {
        id = std::string(items.front().as_object().at("vehicle_id").as_string());
    }
    std::string path = "/api/v1/vehicles/";
    path += core::percent_encode(id);
    path += "/signals";
    auto answer = co_await forward(router, req, Method::Get, path, "", "", req.principal);
    if (answer.status == 404) {
        out.failed = error(404, "Vehicle not found");
        co_return out;
    }
    if (answer.status != 200) {
        out.failed = std::move(answer);
        co_return out;
    }
    const auto body = body_of(answer);
    const auto& signals = body.as_object().at("signals").as_object();
    for (const char* code : kSignals) {
        if (const auto* s = signals.if_contains(code)) {
            out.signals[code] = json::object{{"timestamp", s->as_object().at("recorded_at")},
                                             {"data", smartcar_body(code, s->as_object().at("value"))}};
        }
    }
    co_return out;
}

/// The newest timestamp among `signals`' entries (RFC 3339 strings of one format sort as times).
json::value newest(const json::object& signals, std::initializer_list<const char*> codes) {
    json::value best;
    for (const char* code : codes) {
        if (const auto* s = signals.if_contains(code)) {
            const auto& t = s->as_object().at("timestamp");
            if (best.is_null() || t.as_string() > best.as_string()) {
                best = t;
            }
        }
    }
    return best;
}

}  // namespace

std::vector<RouteKey> webhooks_routes() {
    return {{Method::Get, "/api/vehicles"},
            {Method::Get, "/api/vehicle/{id}/location"},
            {Method::Get, "/api/vehicle/{id}/battery"},
            {Method::Get, "/api/vehicle/{id}/odometer"},
            {Method::Get, "/api/vehicle/{id}/charge-limits"},
            {Method::Get, "/api/vehicle/{id}/all"},
            {Method::Get, "/api/vehicle/{id}/latest-signals"},
            {Method::Post, "/webhook"},
            {Method::Post, "/clear-webhook-data"},
            {Method::Get, "/login"},
            {Method::Get, "/exchange"}};
}

void install_webhooks(http::Router& router, const std::string& prefix) {
    http::Router* r = &router;
    const auto reading = flask_route(http::Auth::Required);

    router.add(
        Method::Get,
        prefix + "/api/vehicles",
        [r](Request req) -> net::awaitable<Response> {
            // Smartcar's ids of the vehicles the caller may see (staff: all), every page.
            AllItems all = co_await all_items(*r, req, "/api/v1/smartcar/vehicles", "");
            if (all.failed) {
                co_return std::move(*all.failed);
            }
            json::array ids;
            for (const auto& v : all.items) {
                ids.push_back(v.as_object().at("smartcar_vehicle_id"));
            }
            // The delivery log's size, when motorpool lets the caller read the log (admins); else null.
            json::value entries;
            auto log = co_await forward(
                *r, req, Method::Get, "/api/v1/webhook-events", "page=1&page_size=1", "", req.principal);
            if (log.status == 200) {
                entries = body_of(log).as_object().at("total");
            }
            const auto count = static_cast<std::int64_t>(ids.size());
            co_return Response::json(
                json::object{{"vehicles", std::move(ids)}, {"total_vehicles", count}, {"total_entries", entries}});
        },
        reading);

    struct View {
        const char* name;
        const char* field;  // the answer's field for the data ("" for /all and /latest-signals)
        const char* code;
        const char* missing;
    };
    static const View kViews[] = {
        {"location", "location", "Location.PreciseLocation", "No location data found for this vehicle"},
        {"odometer", "odometer", "Odometer.TraveledDistance", "No odometer data found for this vehicle"},
        {"charge-limits", "charge_limits", "Charge.ChargeLimits", "No charge limits data found for this vehicle"},
    };
    for (const auto& view : kViews) {
        router.add(
            Method::Get,
            prefix + "/api/vehicle/{vehicle_id}/" + view.name,
            [r, &view](Request req) -> net::awaitable<Response> {
                const std::string vehicle(req.param("vehicle_id"));
                auto latest = co_await latest_of(*r, req, vehicle);
                if (latest.failed) {
                    co_return std::move(*latest.failed);
                }
                const auto* entry = latest.signals.if_contains(view.code);
                if (entry == nullptr) {
                    co_return error(404, view.missing);
                }
                co_return Response::json(json::object{{"vehicle_id", vehicle},
                                                      {"timestamp", entry->as_object().at("timestamp")},
                                                      {view.field, entry->as_object().at("data")}});
            },
            reading);
    }

    router.add(
        Method::Get,
        prefix + "/api/vehicle/{vehicle_id}/battery",
        [r](Request req) -> net::awaitable<Response> {
            const std::string vehicle(req.param("vehicle_id"));
            auto latest = co_await latest_of(*r, req, vehicle);
            if (latest.failed) {
                co_return std::move(*latest.failed);
            }
            json::object battery;
            if (const auto* soc = latest.signals.if_contains("TractionBattery.StateOfCharge")) {
                battery["state_of_charge"] = soc->as_object().at("data");
            }
            if (const auto* capacity = latest.signals.if_contains("TractionBattery.NominalCapacity")) {
                battery["nominal_capacity"] = capacity->as_object().at("data");
            }
            if (battery.empty()) {
                co_return error(404, "No battery data found for this vehicle");
            }
            co_return Response::json(json::object{
                {"vehicle_id", vehicle},
                {"timestamp",
                 newest(latest.signals, {"TractionBattery.StateOfCharge", "TractionBattery.NominalCapacity"})},
                {"battery", std::move(battery)}});
        },
        reading);

    router.add(
        Method::Get,
        prefix + "/api/vehicle/{vehicle_id}/all",
        [r](Request req) -> net::awaitable<Response> {
            const std::string vehicle(req.param("vehicle_id"));
            auto latest = co_await latest_of(*r, req, vehicle);
            if (latest.failed) {
                co_return std::move(*latest.failed);
            }
            if (latest.signals.empty()) {
                co_return error(404, "No data found for this vehicle");
            }
            // The latest entry of each signal (the original listed every stored entry; motorpool's
            // history is at /api/v1/vehicles/{id}/signals/{code}/history).
            json::object data;
            for (const auto& [code, entry] : latest.signals) {
                data[code] = json::array{entry};
            }
            co_return Response::json(json::object{
                {"vehicle_id", vehicle},
                {"last_updated",
                 newest(latest.signals, {kSignals[0], kSignals[1], kSignals[2], kSignals[3], kSignals[4]})},
                {"data", std::move(data)}});
        },
        reading);

    router.add(
        Method::Get,
        prefix + "/api/vehicle/{vehicle_id}/latest-signals",
        [r](Request req) -> net::awaitable<Response> {
            auto latest = co_await latest_of(*r, req, std::string(req.param("vehicle_id")));
            if (latest.failed) {
                co_return std::move(*latest.failed);
            }
            json::object out;
            for (const char* code : kSignals) {
                const auto* entry = latest.signals.if_contains(code);
                out[code] = entry ? *entry : json::value();
            }
            co_return Response::json(out);
        },
        reading);

    // The receiver: motorpool's own, byte for byte (signature, VERIFY, the durable log).
    const std::size_t delivery_limit = router.body_limit(router.match(Method::Post, "/webhooks/smartcar"));
    router.add(
        Method::Post,
        prefix + "/webhook",
        [r](Request req) -> net::awaitable<Response> {
            std::string body = std::move(req.body);
            auto answer = co_await forward(*r, req, Method::Post, "/webhooks/smartcar", "", std::move(body));
            if (answer.status != 200) {
                co_return answer;
            }
            auto reply = body_of(answer);
            if (reply.as_object().contains("challenge")) {
                co_return answer;  // VERIFY: {"challenge": HMAC}, as the original answered
            }
            const bool duplicate = reply.as_object().at("status") == "duplicate";
            co_return Response::json(
                json::object{{"status", "success"},
                             {"message", duplicate ? "Delivery already received" : "Delivery accepted"},
                             {"event_id", reply.as_object().at("event_id")}});
        },
        flask_route(http::Auth::None, delivery_limit));

    router.add(
        Method::Post,
        prefix + "/clear-webhook-data",
        [r](Request req) -> net::awaitable<Response> {
            // Admins only: the original had no authentication on this route.
            auto answer = co_await forward(*r, req, Method::Delete, "/api/v1/webhook-events", "", "", req.principal);
            if (answer.status != 204) {
                co_return answer;
            }
            co_return Response::json(
                json::object{{"status", "success"}, {"message", "All webhook data cleared from database"}});
        },
        flask_route(http::Auth::Required));

    // The browser's way into Connect: the token as a bearer header or ?token= (a link has no header).
    auto login_options = flask_route(http::Auth::Required);
    login_options.token_in_query = true;
    router.add(
        Method::Get,
        prefix + "/login",
        [r](Request req) -> net::awaitable<Response> { co_return co_await connect_redirect(*r, req); },
        login_options);

    // The callback at /exchange, unless SMARTCAR_REDIRECT_URI already put motorpool's there.
    if (!prefix.empty() || router.match(Method::Get, "/exchange").kind != http::Match::Kind::Found) {
        router.add(Method::Get, prefix + "/exchange", [r](Request req) -> net::awaitable<Response> {
            co_return co_await forward(*r, req, Method::Get, "/oauth/smartcar/callback", req.query, "");
        });
    }
}

}  // namespace motorpool::compat
