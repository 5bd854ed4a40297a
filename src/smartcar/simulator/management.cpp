// The simulator's user and vehicle-list endpoints and its management API (connections by the
// application management token).

#include "routes.hpp"

namespace motorpool::smartcar::sim::detail {

namespace {

// ---- user, vehicles, management ----

net::awaitable<Response> user_info(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, s->now());
    s->record(req, "", grant ? 200 : 401);
    if (!grant) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    co_return sc_response(json::object{{"id", grant->user_id}}, 200, request_id);
}

net::awaitable<Response> vehicle_list(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, s->now());
    s->record(req, "", grant ? 200 : 401);
    if (!grant) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    std::vector<core::FieldError> errors;
    auto limit = req.query_integer("limit", 10, 1, 50, errors);
    auto offset = req.query_integer("offset", 0, 0, 1'000'000, errors);
    if (!errors.empty()) {
        co_return sc_error_response(validation_error("\"limit\" must be 1 to 50 and \"offset\" at least 0"),
                                    request_id);
    }
    json::array ids;
    for (std::size_t i = static_cast<std::size_t>(offset);
         i < grant->vehicles.size() && ids.size() < static_cast<std::size_t>(limit);
         ++i) {
        ids.push_back(json::value(grant->vehicles[i]));
    }
    co_return sc_response(json::object{{"vehicles", std::move(ids)},
                                       {"paging", json::object{{"count", grant->vehicles.size()}, {"offset", offset}}}},
                          200,
                          request_id);
}

net::awaitable<Response> management_connections(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    auto credentials = basic_credentials(req);
    if (!credentials || credentials->first != "default" ||
        !core::constant_time_equal(credentials->second, s->options.management_token)) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    const auto user_id = req.query_param("user_id");
    const auto vehicle_id = req.query_param("vehicle_id");
    std::lock_guard lock(s->mutex);
    s->record(req, vehicle_id.value_or(""), 200);
    // Live (user, vehicle) pairs, newest grant last, each once.
    std::vector<std::tuple<std::string, std::string, std::int64_t>> pairs;
    std::set<std::shared_ptr<Grant>> seen;
    for (const auto& [t, access] : s->access_tokens) {
        if (access.grant->revoked || !seen.insert(access.grant).second) {
            continue;
        }
        for (const auto& v : access.grant->vehicles) {
            if ((!user_id || *user_id == access.grant->user_id) && (!vehicle_id || *vehicle_id == v)) {
                pairs.emplace_back(v, access.grant->user_id, access.grant->connected_at_ms);
            }
        }
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(),
                            pairs.end(),
                            [](const auto& a, const auto& b) {
                                return std::get<0>(a) == std::get<0>(b) && std::get<1>(a) == std::get<1>(b);
                            }),
                pairs.end());
    if (req.method == http::Method::Delete) {
        if (user_id.has_value() == vehicle_id.has_value()) {
            co_return sc_error_response(validation_error("Exactly one of user_id and vehicle_id is required."),
                                        request_id);
        }
        json::array removed;
        s->touch();
        for (const auto& grant : seen) {
            if (user_id && grant->user_id == *user_id) {
                grant->vehicles.clear();
            } else if (vehicle_id) {
                std::erase(grant->vehicles, *vehicle_id);
            }
        }
        for (const auto& [v, u, at] : pairs) {
            removed.push_back(json::object{{"vehicleId", v}, {"userId", u}});
        }
        co_return sc_response(json::object{{"connections", std::move(removed)}}, 200, request_id);
    }
    std::vector<core::FieldError> errors;
    auto limit = req.query_integer("limit", 10, 1, 100, errors);
    std::size_t start = 0;
    if (auto cursor = req.query_param("cursor")) {
        start = static_cast<std::size_t>(std::strtoull(cursor->c_str(), nullptr, 10));
    }
    json::array list;
    std::size_t i = start;
    for (; i < pairs.size() && list.size() < static_cast<std::size_t>(limit); ++i) {
        const auto& [v, u, at] = pairs[i];
        list.push_back(json::object{{"vehicleId", v}, {"userId", u}, {"connectedAt", core::format_rfc3339(at, true)}});
    }
    json::value next = i < pairs.size() ? json::value(std::to_string(i)) : json::value(nullptr);
    co_return sc_response(
        json::object{{"connections", std::move(list)}, {"paging", json::object{{"cursor", next}}}}, 200, request_id);
}

}  // namespace

void install_management_routes(http::Router& router, const std::string& p, const StatePtr& s) {
    add_both(router, http::Method::Get, p + "/v2.0/user", [s](Request req) { return user_info(s, std::move(req)); });
    add_both(
        router, http::Method::Get, p + "/v2.0/vehicles", [s](Request req) { return vehicle_list(s, std::move(req)); });
    for (auto method : {http::Method::Get, http::Method::Delete}) {
        add_both(router, method, p + "/v2.0/management/connections", [s](Request req) {
            return management_connections(s, std::move(req));
        });
    }
}

}  // namespace motorpool::smartcar::sim::detail
