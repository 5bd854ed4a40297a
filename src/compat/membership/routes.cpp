// membership-auto: the original Django REST framework service (accounts, vehicles and dongles,
// telematics) over motorpool's /api/v1 routes. Its shapes: camelCase fields both ways, lists as
// bare arrays, errors as {"error": "..."} (DRF's {"detail": "..."} for authentication), invalid
// fields as 400 {"field": ["message"]}. Its sessions keep their documented terms (the "legacy"
// profile: access 1 h, refresh 7 days, the refresh token good again until it expires).

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

/// Field names that are not a plain snake_case <-> camelCase change (motorpool -> original).
const std::map<std::string, std::string>& renamed() {
    static const std::map<std::string, std::string> names{
        {"license_plate", "licensePlate"},
        {"odometer_km", "odometer"},
        {"connection_type", "dongleConnectionType"},
        {"owner_id", "user"},
        {"start_timestamp_ms", "startTimestamp"},
        {"end_timestamp_ms", "endTimestamp"},
        {"t_ms", "t"},
        {"speed_kmh", "speed"},
        {"fuel_rate_lph", "fuelRate"},
    };
    return names;
}

std::string camel_case(std::string_view snake) {
    std::string out;
    out.reserve(snake.size());
    bool upper = false;
    for (char c : snake) {
        if (c == '_') {
            upper = !out.empty();
            continue;
        }
        out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        upper = false;
    }
    return out;
}

std::string snake_case(std::string_view camel) {
    std::string out;
    out.reserve(camel.size() + 4);
    for (char c : camel) {
        if (std::isupper(static_cast<unsigned char>(c)) != 0) {
            out += '_';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out;
}

using Names = std::map<std::string, std::string>;

/// `value` with every object key in the original's spelling: `names` first (a route's own), then
/// the shared renames, else camelCase.
json::value camelized(const json::value& value, const Names& names = {}) {
    if (const auto* o = value.if_object()) {
        json::object out;
        for (const auto& [key, v] : *o) {
            const std::string k(key);
            auto own = names.find(k);
            auto shared = renamed().find(k);
            out[own != names.end()          ? own->second
                : shared != renamed().end() ? shared->second
                                            : camel_case(key)] = camelized(v, names);
        }
        return out;
    }
    if (const auto* a = value.if_array()) {
        json::array out;
        out.reserve(a->size());
        for (const auto& v : *a) {
            out.push_back(camelized(v, names));
        }
        return out;
    }
    return value;
}

/// The query string with the parameters in `names` (original -> motorpool) renamed; others are
/// dropped, as the original ignored parameters it did not read.
std::string translated_query(const std::string& query, const Names& names) {
    std::string out;
    std::size_t start = 0;
    while (start < query.size()) {
        auto amp = query.find('&', start);
        if (amp == std::string::npos) {
            amp = query.size();
        }
        std::string item = query.substr(start, amp - start);
        const auto eq = item.find('=');
        auto it = names.find(item.substr(0, eq));
        if (it != names.end()) {
            item = it->second + (eq == std::string::npos ? "" : item.substr(eq));
        }
        if (!item.empty() && it != names.end()) {
            out += out.empty() ? "" : "&";
            out += item;
        }
        start = amp + 1;
    }
    return out;
}

/// The original's field name for one of motorpool's (a 422's `field`, "samples[2].t_ms" included).
std::string original_field(std::string_view field) {
    const auto dot = field.rfind('.');
    const std::string head(dot == std::string_view::npos ? "" : field.substr(0, dot + 1));
    const std::string last(dot == std::string_view::npos ? field : field.substr(dot + 1));
    auto it = renamed().find(last);
    return head + (it != renamed().end() ? it->second : camel_case(last));
}

Response drf_shape(Response answer) {
    auto problem = problem_of(answer);
    if (!problem) {
        return answer;
    }
    if (answer.status == 422 && !problem->errors.empty()) {
        // DRF's serializer errors: 400, each field with its messages.
        json::object fields;
        for (const auto& [field, message] : problem->errors) {
            auto& list = fields[original_field(field)];
            if (!list.is_array()) {
                list = json::array();
            }
            list.as_array().push_back(json::value(message));
        }
        return json_keeping_headers(std::move(fields), 400, answer);
    }
    const int status = answer.status == 422 ? 400 : answer.status;
    // Authentication and permission failures are DRF's own {"detail"}; the views' are {"error"}.
    const char* key = status == 401 || status == 403 ? "detail" : "error";
    return json_keeping_headers(json::object{{key, problem->detail}}, status, answer);
}

http::RouteOptions drf_route(http::Auth auth, std::size_t body_limit = 0) {
    http::RouteOptions o;
    o.auth = auth;
    o.max_body_bytes = body_limit;
    o.shape_problems = [](Response r) { return drf_shape(std::move(r)); };
    return o;
}

Response error(int status, const std::string& text) {
    return Response::json(json::object{{"error", text}}, status);
}

/// The request body as motorpool's: camelCase keys to snake_case, `names` renaming some (original
/// -> motorpool). A body that is not a JSON object goes as sent (motorpool's route says why).
std::string translated_body(const Request& req, const std::map<std::string, std::string>& names = {}) {
    boost::system::error_code ec;
    json::value body = json::parse(req.body, ec);
    if (ec || !body.is_object()) {
        return req.body;
    }
    json::object out;
    for (const auto& [key, v] : body.as_object()) {
        auto it = names.find(std::string(key));
        out[it != names.end() ? it->second : snake_case(key)] = v;
    }
    return json::serialize(out);
}

/// motorpool's user as the original's: {id, name, email, phone, membershipId, referralCode,
/// rewardsBalance, createdAt}.
json::object original_user(const json::object& u) {
    const auto* membership = u.if_contains("membership");
    json::value plan = membership && membership->is_object() ? membership->as_object().at("plan_code") : json::value();
    return json::object{{"id", u.at("id")},
                        {"name", u.at("name")},
                        {"email", u.at("email")},
                        {"phone", u.at("phone")},
                        {"membershipId", plan},
                        {"referralCode", u.contains("referral_code") ? u.at("referral_code") : json::value()},
                        {"rewardsBalance", u.contains("rewards_balance") ? u.at("rewards_balance") : json::value(0)},
                        {"createdAt", u.at("created_at")}};
}

/// motorpool's vehicle as the original's: {id, user, vin, make, model, trim, year, licensePlate,
/// odometer, dongleId, dongleConnectionType, fuelType, createdAt}.
json::object original_vehicle(const json::object& v) {
    json::object out;
    for (const char* field : {"id",
                              "owner_id",
                              "vin",
                              "make",
                              "model",
                              "trim",
                              "year",
                              "license_plate",
                              "odometer_km",
                              "dongle_id",
                              "connection_type",
                              "fuel_type",
                              "created_at"}) {
        out[original_field(field)] = v.contains(field) ? v.at(field) : json::value();
    }
    return out;
}

/// A session answer: the tokens and the user (register, login), as the original answered.
Response session_answer(const Response& answer) {
    const auto body = body_of(answer);
    const auto& o = body.as_object();
    return Response::json(json::object{{"accessToken", o.at("access_token")},
                                       {"refreshToken", o.at("refresh_token")},
                                       {"user", original_user(o.at("user").as_object())}},
                          answer.status);
}

}  // namespace

std::vector<RouteKey> membership_routes() {
    return {{Method::Post, "/api/auth/register/"},
            {Method::Post, "/api/auth/login/"},
            {Method::Post, "/api/auth/refresh/"},
            {Method::Get, "/api/vehicles/"},
            {Method::Post, "/api/vehicles/"},
            {Method::Post, "/api/vehicles/{id}/link-dongle/"},
            {Method::Post, "/api/telematics/{vehicleId}/"},
            {Method::Get, "/api/appointments/availability/"},
            {Method::Post, "/api/appointments/book/"},
            {Method::Get, "/api/appointments/upcoming/"},
            {Method::Get, "/api/offers/"},
            {Method::Get, "/api/referrals/me/"},
            {Method::Get, "/api/chat/threads/"},
            {Method::Post, "/api/chat/threads/"},
            {Method::Get, "/api/chat/threads/{id}/messages/"},
            {Method::Post, "/api/chat/threads/{id}/messages/"},
            {Method::Post, "/api/files/presign/"},
            {Method::Get, "/chat/ws"}};
}

void install_membership(http::Router& router, const std::string& prefix) {
    http::Router* r = &router;
    const std::string api = prefix + "/api";
    constexpr std::size_t kAuthBody = 16 * 1024;
    const std::size_t telemetry_limit =
        router.body_limit(router.match(Method::Post, "/api/v1/vehicles/{id}/telemetry"));

    router.add(
        Method::Post,
        api + "/auth/register/",
        [r](Request req) -> net::awaitable<Response> {
            // The original's name was optional: the e-mail's local part stands in (motorpool needs one).
            std::string body = translated_body(req);
            boost::system::error_code ec;
            json::value parsed = json::parse(body, ec);
            if (!ec && parsed.is_object() && !parsed.as_object().contains("name")) {
                if (const auto* email = parsed.as_object().if_contains("email"); email && email->is_string()) {
                    const std::string address(email->as_string());
                    const std::string local = address.substr(0, address.find('@'));
                    parsed.as_object()["name"] = local.empty() ? address : local;
                    body = json::serialize(parsed);
                }
            }
            auto answer = co_await forward(*r, req, Method::Post, "/api/v1/auth/register", "", body, nullptr, "legacy");
            if (answer.status == 409) {
                co_return error(400, "User with this email already exists");
            }
            if (answer.status != 201) {
                co_return answer;
            }
            co_return session_answer(answer);
        },
        drf_route(http::Auth::None, kAuthBody));

    router.add(
        Method::Post,
        api + "/auth/login/",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/auth/login", "", translated_body(req), nullptr, "legacy");
            if (answer.status == 401) {
                co_return error(401, "Invalid credentials");
            }
            if (answer.status != 200) {
                co_return answer;
            }
            co_return session_answer(answer);
        },
        drf_route(http::Auth::None, kAuthBody));

    router.add(
        Method::Post,
        api + "/auth/refresh/",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/auth/refresh", "", translated_body(req), nullptr, "legacy");
            if (answer.status == 401) {
                co_return error(401, "Invalid refresh token");
            }
            if (answer.status != 200) {
                co_return answer;
            }
            co_return Response::json(json::object{{"accessToken", body_of(answer).as_object().at("access_token")}});
        },
        drf_route(http::Auth::None, kAuthBody));

    router.add(
        Method::Get,
        api + "/vehicles/",
        [r](Request req) -> net::awaitable<Response> {
            AllItems all = co_await all_items(*r, req, "/api/v1/vehicles", "mine=true");
            if (all.failed) {
                co_return std::move(*all.failed);
            }
            json::array vehicles;
            for (const auto& v : all.items) {
                vehicles.push_back(original_vehicle(v.as_object()));
            }
            co_return Response::json(vehicles);
        },
        drf_route(http::Auth::Required));

    router.add(
        Method::Post,
        api + "/vehicles/",
        [r](Request req) -> net::awaitable<Response> {
            const std::map<std::string, std::string> names{
                {"licensePlate", "license_plate"}, {"odometer", "odometer_km"}, {"fuelType", "fuel_type"}};
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/vehicles", "", translated_body(req, names), req.principal);
            if (answer.status != 201) {
                co_return answer;
            }
            co_return Response::json(original_vehicle(body_of(answer).as_object()), 201);
        },
        drf_route(http::Auth::Required, 64 * 1024));

    router.add(
        Method::Post,
        api + "/vehicles/{id}/link-dongle/",
        [r](Request req) -> net::awaitable<Response> {
            std::string path = "/api/v1/vehicles/";
            path += core::percent_encode(req.param("id"));
            path += "/dongle";
            auto answer = co_await forward(*r, req, Method::Post, path, "", translated_body(req), req.principal);
            if (answer.status == 404) {
                co_return error(404, "Vehicle not found");
            }
            if (answer.status != 200) {
                co_return answer;
            }
            co_return Response::json(original_vehicle(body_of(answer).as_object()));
        },
        drf_route(http::Auth::Required, 4 * 1024));

    // ---- appointments, offers, referrals, chat, files: motorpool's answers, camelCased ----

    /// GET `path` with the query translated; the answer's `items` as a bare array (one page of up
    /// to 100 where the route pages), camelCased with `names`.
    auto list = [r](std::string path, Names query_names, std::string extra_query, Names names) {
        return [r,
                path = std::move(path),
                query_names = std::move(query_names),
                extra_query = std::move(extra_query),
                names = std::move(names)](Request req) -> net::awaitable<Response> {
            std::string query = translated_query(req.query, query_names);
            if (!extra_query.empty()) {
                query += query.empty() ? "" : "&";
                query += extra_query;
            }
            // The originals answered whole lists: every page of motorpool's.
            AllItems all = co_await all_items(*r, req, path, query);
            if (all.failed) {
                co_return std::move(*all.failed);
            }
            co_return Response::json(camelized(all.items, names));
        };
    };

    router.add(
        Method::Get,
        api + "/appointments/availability/",
        [r](Request req) -> net::awaitable<Response> {
            static const Names kQuery{{"locationId", "location_id"}, {"date", "date"}, {"services", "services"}};
            const std::string query = translated_query(req.query, kQuery);
            auto answer =
                co_await forward(*r, req, Method::Get, "/api/v1/appointments/availability", query, "", req.principal);
            if (answer.status != 200) {
                co_return answer;
            }
            co_return Response::json(camelized(body_of(answer)));  // {availableSlots: [{start, end}]}
        },
        drf_route(http::Auth::Required));

    router.add(
        Method::Post,
        api + "/appointments/book/",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/appointments", "", translated_body(req), req.principal);
            if (answer.status != 201) {
                co_return answer;
            }
            co_return Response::json(camelized(body_of(answer)), 201);
        },
        drf_route(http::Auth::Required, 16 * 1024));

    router.add(Method::Get,
               api + "/appointments/upcoming/",
               list("/api/v1/appointments", {}, "upcoming=true", {}),
               drf_route(http::Auth::Required));

    router.add(
        Method::Get,
        api + "/offers/",
        list("/api/v1/offers",
             {{"vehicleId", "vehicle_id"}, {"lat", "lat"}, {"lng", "lng"}, {"radiusKm", "radius_km"}},
             "",
             {{"eligible_plans", "eligibleMemberships"}, {"expires_at", "expiry"}, {"location_ids", "locations"}}),
        drf_route(http::Auth::Required));

    router.add(
        Method::Get,
        api + "/referrals/me/",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(*r, req, Method::Get, "/api/v1/referrals/me", "", "", req.principal);
            if (answer.status != 200) {
                co_return answer;
            }
            auto body = body_of(answer).as_object();
            // Each referral as the original's: the referrer (the caller), the referred user, and
            // whether its reward was applied.
            if (auto* referrals = body.if_contains("referrals"); referrals && referrals->is_array()) {
                for (auto& item : referrals->as_array()) {
                    auto& o = item.as_object();
                    o["referrer_user"] = req.principal->subject;
                    o["rewards_applied"] = o.contains("status") && o.at("status") == "credited";
                }
            }
            co_return Response::json(camelized(body, {{"referred_user_id", "referredUser"}}));
        },
        drf_route(http::Auth::Required));

    // Chat: a message's sender is "user" (the member) or "support", as the original said.
    auto chat_message = [](json::value message) {
        auto& o = message.as_object();
        o["sender"] = o.contains("sender_role") && o.at("sender_role") == "member" ? "user" : "support";
        return camelized(message);
    };
    router.add(Method::Get,
               api + "/chat/threads/",
               list("/api/v1/chat/threads", {{"status", "status"}}, "", {}),
               drf_route(http::Auth::Required));
    router.add(
        Method::Post,
        api + "/chat/threads/",
        [r](Request req) -> net::awaitable<Response> {
            auto answer = co_await forward(
                *r, req, Method::Post, "/api/v1/chat/threads", "", translated_body(req), req.principal);
            if (answer.status != 201) {
                co_return answer;
            }
            co_return Response::json(camelized(body_of(answer)), 201);
        },
        drf_route(http::Auth::Required, 16 * 1024));
    router.add(
        Method::Get,
        api + "/chat/threads/{id}/messages/",
        [r, chat_message](Request req) -> net::awaitable<Response> {
            std::string path = "/api/v1/chat/threads/";
            path += core::percent_encode(req.param("id"));
            path += "/messages";
            static const Names kQuery{{"since", "since"}};
            const std::string query = translated_query(req.query, kQuery);
            auto answer = co_await forward(*r, req, Method::Get, path, query, "", req.principal);
            if (answer.status == 404) {
                co_return error(404, "Thread not found");
            }
            if (answer.status != 200) {
                co_return answer;
            }
            json::array out;
            const auto body = body_of(answer);
            for (const auto& m : body.as_object().at("items").as_array()) {
                out.push_back(chat_message(m));
            }
            co_return Response::json(out);
        },
        drf_route(http::Auth::Required));
    router.add(
        Method::Post,
        api + "/chat/threads/{id}/messages/",
        [r, chat_message](Request req) -> net::awaitable<Response> {
            std::string path = "/api/v1/chat/threads/";
            path += core::percent_encode(req.param("id"));
            path += "/messages";
            auto answer = co_await forward(*r, req, Method::Post, path, "", translated_body(req), req.principal);
            if (answer.status == 404) {
                co_return error(404, "Thread not found");
            }
            if (answer.status != 201 && answer.status != 200) {
                co_return answer;
            }
            co_return Response::json(chat_message(body_of(answer)), answer.status);
        },
        drf_route(http::Auth::Required, 16 * 1024));

    router.add(
        Method::Post,
        api + "/files/presign/",
        [r](Request req) -> net::awaitable<Response> {
            // contentType defaults to application/octet-stream and purpose to chat_attachment, as the
            // original's one kind of upload; sizeBytes is required (the upload URL signs the length).
            std::string body = translated_body(req);
            boost::system::error_code ec;
            json::value parsed = json::parse(body, ec);
            if (!ec && parsed.is_object()) {
                auto& o = parsed.as_object();
                if (!o.contains("content_type")) {
                    o["content_type"] = "application/octet-stream";
                }
                if (!o.contains("purpose")) {
                    o["purpose"] = "chat_attachment";
                }
                body = json::serialize(parsed);
            }
            auto answer = co_await forward(*r, req, Method::Post, "/api/v1/files/presign", "", body, req.principal);
            if (answer.status != 200 && answer.status != 201) {
                co_return answer;
            }
            co_return Response::json(camelized(body_of(answer)), 200);
        },
        drf_route(http::Auth::Required, 16 * 1024));

    router.add(
        Method::Post,
        api + "/telematics/{vehicleId}/",
        [r](Request req) -> net::awaitable<Response> {
            // {vehicleId, startTimestamp, endTimestamp, samples: [{t, speed, fuelRate, odometer, …}]}
            // in milliseconds, as motorpool's batch. A sample's t defaults to startTimestamp; sample
            // fields motorpool has no signal for are dropped (the original kept them only raw).
            boost::system::error_code ec;
            json::value parsed = json::parse(req.body, ec);
            std::string body = req.body;
            if (!ec && parsed.is_object()) {
                const auto& in = parsed.as_object();
                json::object out;
                const json::value start = in.contains("startTimestamp") ? in.at("startTimestamp") : json::value();
                for (const auto& [key, v] : in) {
                    if (key == "startTimestamp") {
                        out["start_timestamp_ms"] = v;
                    } else if (key == "endTimestamp") {
                        out["end_timestamp_ms"] = v;
                    } else if (key == "samples" && v.is_array()) {
                        static const std::map<std::string, std::string> kSampleFields{
                            {"t", "t_ms"},
                            {"speed", "speed_kmh"},
                            {"fuelRate", "fuel_rate_lph"},
                            {"odometer", "odometer_km"},
                            {"rpm", "rpm"},
                            {"socPct", "soc_pct"},
                            {"fuelLevelPct", "fuel_level_pct"},
                            {"latitude", "latitude"},
                            {"longitude", "longitude"},
                            {"heading", "heading"}};
                        json::array samples;
                        for (const auto& s : v.as_array()) {
                            if (!s.is_object()) {
                                samples.push_back(s);  // motorpool's route names it
                                continue;
                            }
                            json::object sample;
                            for (const auto& [name, value] : s.as_object()) {
                                if (auto it = kSampleFields.find(std::string(name)); it != kSampleFields.end()) {
                                    sample[it->second] = value;
                                }
                            }
                            if (!sample.contains("t_ms") && !start.is_null()) {
                                sample["t_ms"] = start;
                            }
                            samples.push_back(std::move(sample));
                        }
                        out["samples"] = std::move(samples);
                    } else if (key != "vehicleId") {
                        out[snake_case(key)] = v;  // anything else: motorpool's route judges it
                    }
                }
                body = json::serialize(out);
            }
            std::string path = "/api/v1/vehicles/";
            path += core::percent_encode(req.param("vehicleId"));
            path += "/telemetry";
            auto answer = co_await forward(*r, req, Method::Post, path, "", body, req.principal);
            if (answer.status == 404) {
                co_return error(404, "Vehicle not found");
            }
            if (answer.status != 202) {
                co_return answer;
            }
            co_return Response::json(json::object{{"message", "Telemetry batch accepted"}}, 202);
        },
        drf_route(http::Auth::Required, telemetry_limit));
}

}  // namespace motorpool::compat
