// The simulator's v2 Vehicle API: reads, batch, commands and webhook subscriptions, with the faults
// and rate limits Smartcar answers with.

#include "routes.hpp"

namespace motorpool::smartcar::sim::detail {

namespace {

net::awaitable<Response> vehicle_request(StatePtr s, Request req, std::string path) {
    const std::string vehicle_id(req.param("id"));
    const std::string request_id = request_id_for(*s);
    const bool imperial = wants_imperial(req);
    const std::int64_t now = s->now();
    std::optional<Fault> fault;
    {
        std::lock_guard lock(s->mutex);
        auto grant = caller_grant(*s, req, now);
        if (!grant) {
            s->record(req, vehicle_id, 401);
            co_return sc_error_response(authentication_error(), request_id);
        }
        if (!grant->has_vehicle(vehicle_id) || !s->vehicles.contains(vehicle_id)) {
            s->record(req, vehicle_id, 403);
            co_return sc_error_response(permission_error(), request_id);
        }
        fault = s->take_fault(vehicle_id, now);
        if (fault && fault->kind != "slow") {
            ScError e = fault_error(*fault);
            s->record(req, vehicle_id, e.status);
            co_return sc_error_response(e, request_id);
        }
    }
    if (fault) {
        co_await sleep_ms(fault->delay_ms);
    }
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, now);
    if (!grant) {
        s->record(req, vehicle_id, 401);
        co_return sc_error_response(authentication_error(), request_id);
    }
    VehicleModel& v = *s->vehicles.at(vehicle_id);
    auto finish = [&](Response r) {
        s->record(req, vehicle_id, r.status);
        return r;
    };
    auto success = [&] {
        return sc_response(json::object{{"status", "success"}, {"message", kSuccessMessage}}, 200, request_id);
    };
    auto command_result = [&](const std::string& state_code) {
        if (!state_code.empty()) {
            return sc_error_response({409,
                                      "VEHICLE_STATE",
                                      state_code,
                                      "The vehicle was unable to perform your request due to its current state.",
                                      std::nullopt},
                                     request_id);
        }
        return success();
    };
    if (req.method == http::Method::Get) {
        if (path == "permissions") {
            std::vector<core::FieldError> errors;
            auto limit = req.query_integer("limit", 25, 1, 100, errors);
            auto offset = req.query_integer("offset", 0, 0, 1'000'000, errors);
            json::array list;
            for (std::size_t i = static_cast<std::size_t>(offset);
                 i < grant->scopes.size() && list.size() < static_cast<std::size_t>(limit);
                 ++i) {
                list.push_back(json::value(grant->scopes[i]));
            }
            co_return finish(
                sc_response(json::object{{"permissions", std::move(list)},
                                         {"paging", json::object{{"count", grant->scopes.size()}, {"offset", offset}}}},
                            200,
                            request_id));
        }
        PathResult result = s->read_path(v, *grant, path, imperial, now);
        if (result.error) {
            co_return finish(sc_error_response(*result.error, request_id));
        }
        Response r = sc_response(result.body, result.status, request_id);
        add_data_headers(r, v, imperial, now);
        co_return finish(std::move(r));
    }
    if (req.method == http::Method::Delete) {
        if (path == "application") {
            std::erase(grant->vehicles, vehicle_id);
            s->touch();
            co_return finish(sc_response(json::object{{"status", "success"}}, 200, request_id));
        }
        co_return finish(sc_error_response(not_found_error(), request_id));
    }
    // POST
    json::value body;
    {
        boost::system::error_code ec;
        body = json::parse(req.body, ec);
        if (ec && !(path.rfind("webhooks/", 0) == 0 && req.body.empty())) {
            co_return finish(sc_error_response(validation_error("Request invalid or malformed. Please check for "
                                                                "missing parameters, spelling and casing mistakes, "
                                                                "and other syntax issues."),
                                               request_id));
        }
    }
    const json::object empty;
    const json::object& o = body.is_object() ? body.as_object() : empty;
    auto action = [&]() -> std::string {
        const auto* a = o.if_contains("action");
        return a != nullptr && a->is_string() ? std::string(a->as_string()) : std::string();
    };
    if (path == "batch") {
        const auto* requests = o.if_contains("requests");
        if (requests == nullptr || !requests->is_array() || requests->as_array().empty()) {
            ScError e = validation_error(
                "Request invalid or malformed. Please check for missing parameters, "
                "spelling and casing mistakes, and other syntax issues.");
            e.code = std::nullopt;
            Response r = sc_error_response(e, request_id);
            co_return finish(std::move(r));
        }
        json::array responses;
        for (const auto& item : requests->as_array()) {
            const json::value* p = item.is_object() ? item.as_object().if_contains("path") : nullptr;
            std::string sub = p != nullptr && p->is_string() ? std::string(p->as_string()) : std::string();
            std::string normal = strip_slashes(sub);
            PathResult result = s->read_path(v, *grant, normal, imperial, now);
            // Each path is echoed exactly as asked: the Node SDK names its accessors after it.
            json::object entry{{"path", sub.empty() ? std::string("/") : sub},
                               {"code", result.error ? result.error->status : result.status}};
            if (result.error) {
                entry["body"] = error_body(*result.error, request_id);
                json::object headers{{"content-type", "application/json"}, {"sc-request-id", request_id}};
                if (result.error->status == 429) {
                    headers["retry-after"] = std::to_string(std::max(1, result.error->retry_after));
                }
                entry["headers"] = std::move(headers);
            } else {
                entry["body"] = result.body;
                entry["headers"] = json::object{{"sc-data-age", core::format_rfc3339(v.updated_at_ms(), true)},
                                                {"sc-fetched-at", core::format_rfc3339(now, true)},
                                                {"sc-unit-system", imperial ? "imperial" : "metric"}};
            }
            responses.push_back(std::move(entry));
        }
        co_return finish(sc_response(json::object{{"responses", std::move(responses)}}, 200, request_id));
    }
    if (path == "charge") {
        if (!grant->has_scope("control_charge")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        std::string a = action();
        if (a != "START" && a != "STOP") {
            co_return finish(
                sc_error_response(validation_error("\"action\" must be one of [START, STOP]"), request_id));
        }
        v.advance(now);
        co_return finish(command_result(a == "START" ? v.start_charge() : v.stop_charge()));
    }
    if (path == "charge/limit") {
        if (!grant->has_scope("control_charge")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        auto limit = number_of(o.if_contains("limit"));
        if (!limit || *limit < 0.5 || *limit > 1) {
            co_return finish(sc_error_response(
                validation_error("\"limit\" must be a number greater than or equal to 0.5 and less than or equal to 1"),
                request_id));
        }
        v.advance(now);
        co_return finish(command_result(v.set_charge_limit(*limit)));
    }
    if (path == "security") {
        if (!grant->has_scope("control_security")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        std::string a = action();
        if (a != "LOCK" && a != "UNLOCK") {
            co_return finish(
                sc_error_response(validation_error("\"action\" must be one of [LOCK, UNLOCK]"), request_id));
        }
        v.advance(now);
        co_return finish(command_result(v.lock(a == "LOCK")));
    }
    if (path == "navigation/destination") {
        if (!grant->has_scope("control_navigation")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        auto lat = number_of(o.if_contains("latitude"));
        auto lon = number_of(o.if_contains("longitude"));
        if (!lat || !lon || std::fabs(*lat) > 90 || std::fabs(*lon) > 180) {
            co_return finish(sc_error_response(
                validation_error("\"latitude\" and \"longitude\" must be valid coordinates"), request_id));
        }
        co_return finish(success());
    }
    if (path.rfind("webhooks/", 0) == 0 && path.size() > 9) {
        std::string webhook_id = path.substr(9);
        s->webhook_subscriptions.emplace(webhook_id, vehicle_id);
        s->touch();
        co_return finish(
            sc_response(json::object{{"webhookId", webhook_id}, {"vehicleId", vehicle_id}}, 200, request_id));
    }
    co_return finish(sc_error_response(not_found_error(), request_id));
}

net::awaitable<Response> unsubscribe_webhook(StatePtr s, Request req, std::string webhook_id) {
    const std::string request_id = request_id_for(*s);
    auto token = bearer(req);
    if (!token || !core::constant_time_equal(*token, s->options.management_token)) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    std::lock_guard lock(s->mutex);
    s->webhook_subscriptions.erase({webhook_id, std::string(req.param("id"))});
    s->touch();
    s->record(req, req.param("id"), 200);
    co_return sc_response(json::object{{"status", "success"}}, 200, request_id);
}

}  // namespace

void install_vehicle_routes(http::Router& router, const std::string& p, const StatePtr& s) {
    add_both(router, http::Method::Get, p + "/v2.0/vehicles/{id}", [s](Request req) {
        return vehicle_request(s, std::move(req), "");
    });
    for (auto method : {http::Method::Get, http::Method::Post, http::Method::Delete}) {
        router.add(method, p + "/v2.0/vehicles/{id}/{path...}", [s](Request req) -> net::awaitable<Response> {
            std::string path = strip_slashes(req.param("path"));
            if (req.method == http::Method::Delete && path.rfind("webhooks/", 0) == 0) {
                return unsubscribe_webhook(s, std::move(req), path.substr(9));
            }
            return vehicle_request(s, std::move(req), std::move(path));
        });
    }
}

}  // namespace motorpool::smartcar::sim::detail
