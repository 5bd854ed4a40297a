// The simulator's v3 API: a vehicle and its signals, with v3's error shape.

#include "routes.hpp"

namespace motorpool::smartcar::sim::detail {

namespace {

// ---- v3 ----

Response v3_error(const ScError& e, const std::string& request_id) {
    json::object item{{"status", std::to_string(e.status)},
                      {"type", e.type},
                      {"code", e.code ? json::value(*e.code) : json::value(nullptr)},
                      {"title",
                       e.status == 401   ? "Unauthorized"
                       : e.status == 404 ? "Not Found"
                                         : "Error"},
                      {"detail", e.description},
                      {"links", json::object{{"about", error_body(e, request_id).at("docURL")}}},
                      {"resolution", json::object{{"type", e.resolution ? json::value(*e.resolution) : nullptr}}},
                      {"suggestedUserMessage", "Something went wrong. Please try again."}};
    Response r = sc_response(json::object{{"errors", json::array{std::move(item)}}}, e.status, request_id);
    if (e.status == 429) {
        r.header("Retry-After", std::to_string(std::max(1, e.retry_after)));
    }
    return r;
}

net::awaitable<Response> v3_request(StatePtr s, Request req, std::string rest) {
    const std::string vehicle_id(req.param("id"));
    const std::string request_id = request_id_for(*s);
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, now);
    if (!grant) {
        s->record(req, vehicle_id, 401);
        co_return v3_error(authentication_error(), request_id);
    }
    if (!grant->has_vehicle(vehicle_id) || !s->vehicles.contains(vehicle_id)) {
        s->record(req, vehicle_id, 403);
        co_return v3_error(permission_error(), request_id);
    }
    if (auto fault = s->take_fault(vehicle_id, now); fault && fault->kind != "slow") {
        ScError e = fault_error(*fault);
        s->record(req, vehicle_id, e.status);
        co_return v3_error(e, request_id);
    }
    VehicleModel& v = *s->vehicles.at(vehicle_id);
    const auto& spec = v.spec();
    json::object vehicle{{"id", spec.id},
                         {"type", "vehicle"},
                         {"attributes", json::object{{"make", spec.make}, {"model", spec.model}, {"year", spec.year}}},
                         {"links", json::object{{"self", "/vehicles/" + spec.id}}}};
    s->record(req, vehicle_id, 200);
    if (rest.empty()) {
        co_return sc_response(vehicle, 200, request_id);
    }
    auto to_resource = [&](json::value& signal) {
        auto& o = signal.as_object();
        std::string code(o.at("code").as_string());
        json::object attributes{{"code", code},
                                {"name", o.at("name")},
                                {"group", o.at("group")},
                                {"status", o.at("status")},
                                {"body", o.at("body")}};
        return json::object{{"id", code},
                            {"type", "signal"},
                            {"attributes", std::move(attributes)},
                            {"meta", o.at("meta")},
                            {"links",
                             json::object{{"self", "/vehicles/" + spec.id + "/signals/" + code},
                                          {"values", "/vehicles/" + spec.id + "/signals/" + code + "/values"}}}};
    };
    json::array all = s->signals(v, now);
    if (rest == "signals") {
        json::array data;
        for (auto& signal : all) {
            data.push_back(to_resource(signal));
        }
        const auto count = data.size();
        co_return sc_response(
            json::object{{"data", std::move(data)},
                         {"meta", json::object{{"page", 1}, {"pageSize", count}, {"totalCount", count}}},
                         {"links", json::object{{"self", "/vehicles/" + spec.id + "/signals"}}},
                         {"included", json::object{{"vehicle", vehicle}}}},
            200,
            request_id);
    }
    if (rest.rfind("signals/", 0) == 0) {
        std::string code = core::to_lower_ascii(rest.substr(8));
        for (auto& signal : all) {
            if (signal.as_object().at("code").as_string() == code) {
                co_return sc_response(to_resource(signal), 200, request_id);
            }
        }
    }
    co_return v3_error(not_found_error(), request_id);
}

}  // namespace

void install_signal_routes(http::Router& router, const std::string& p, const StatePtr& s) {
    add_both(router, http::Method::Get, p + "/v3/vehicles/{id}", [s](Request req) {
        return v3_request(s, std::move(req), "");
    });
    router.add(http::Method::Get, p + "/v3/vehicles/{id}/{path...}", [s](Request req) {
        std::string rest = strip_slashes(req.param("path"));
        return v3_request(s, std::move(req), std::move(rest));
    });
}

}  // namespace motorpool::smartcar::sim::detail
