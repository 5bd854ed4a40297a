// A user's devices: register one (or update its platform, push token and app version), list them,
// and remove one, which also signs it out (its refresh tokens are revoked).

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "service.hpp"

namespace motorpool::auth {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr const char* kDeviceColumns = "device_id, platform, push_token, app_version, created_at_ms, last_seen_at_ms";

json::object device_json(const db::Row& r) {
    auto opt = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
    return {{"device_id", r.text(0)},
            {"platform", r.text(1)},
            {"push_token", opt(r.opt_text(2))},
            {"app_version", opt(r.opt_text(3))},
            {"created_at", core::format_rfc3339(r.int64(4))},
            {"last_seen_at", core::format_rfc3339(r.int64(5))}};
}

}  // namespace

void register_device_routes(http::Router& router, const std::shared_ptr<AuthService>& svc) {
    auto upsert = [svc](Request req) -> net::awaitable<Response> {
        const Actor actor = actor_of(req);
        auto body = req.json_object();
        FieldReader r(body);
        auto device = r.string("device_id", Presence::Required, 1, 200);
        auto platform = r.string("platform", Presence::Required, 1, 20);
        if (platform && *platform != "ios" && *platform != "android" && *platform != "web") {
            r.fail("platform", "must be ios, android or web");
        }
        auto push_token = r.string("push_token", Presence::Optional, 1, 4096);
        auto app_version = r.string("app_version", Presence::Optional, 1, 50);
        r.finish();
        const std::int64_t now = svc->now_ms();
        auto job = [svc, actor, device = *device, platform = *platform, push_token, app_version, now] {
            return svc->database().with_transaction([&](db::Connection& c) {
                const bool existed =
                    !c.query("SELECT 1 FROM devices WHERE user_id = $1 AND device_id = $2", {actor.user_id, device})
                         .empty();
                c.execute(
                    "INSERT INTO devices (user_id, device_id, platform, push_token, app_version, created_at_ms, "
                    "last_seen_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id, device_id) DO UPDATE "
                    "SET platform = excluded.platform, push_token = excluded.push_token, app_version = "
                    "excluded.app_version, last_seen_at_ms = excluded.last_seen_at_ms",
                    {actor.user_id, device, platform, db::nullable(push_token), db::nullable(app_version), now});
                auto row = c.query(
                    std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE user_id = $1 AND device_id = $2",
                    {actor.user_id, device});
                return std::make_pair(device_json(row.row(0)), existed);
            });
        };
        auto [device_body, existed] = co_await svc->database().workers().run(std::move(job));
        co_return Response::json(device_body, existed ? 200 : 201);
    };
    http::RouteOptions options = http::authenticated(8 * 1024);
    router.add(Method::Post, "/api/v1/me/devices", upsert, options);
    router.add(Method::Post, "/api/v1/devices", upsert, options);  // API.md's path for the same

    router.add(
        Method::Get,
        "/api/v1/me/devices",
        [svc](Request req) -> net::awaitable<Response> {
            const Actor actor = actor_of(req);
            auto job = [svc, actor] {
                return svc->database().with_reader([&](db::Connection& c) {
                    auto rows = c.query(std::string("SELECT ") + kDeviceColumns +
                                            " FROM devices WHERE user_id = $1 ORDER BY last_seen_at_ms DESC LIMIT 100",
                                        {actor.user_id});
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        items.push_back(device_json(rows.row(i)));
                    }
                    return json::object{{"items", std::move(items)}};
                });
            };
            co_return Response::json(co_await svc->database().workers().run(std::move(job)));
        },
        options);

    router.add(
        Method::Delete,
        "/api/v1/me/devices/{device_id}",
        [svc](Request req) -> net::awaitable<Response> {
            const Actor actor = actor_of(req);
            const std::int64_t now = svc->now_ms();
            auto job = [svc, actor, device = std::string(req.param("device_id")), now] {
                svc->database().with_transaction([&](db::Connection& c) {
                    if (c.execute("DELETE FROM devices WHERE user_id = $1 AND device_id = $2",
                                  {actor.user_id, device}) != 1) {
                        throw ApiError::not_found("Device");
                    }
                    // Signed out there: every refresh token it holds stops working.
                    c.execute(
                        "UPDATE refresh_tokens SET revoked_at_ms = $3 WHERE user_id = $1 AND device_id = $2 AND "
                        "revoked_at_ms IS NULL",
                        {actor.user_id, device, now});
                });
            };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::no_content();
        },
        options);
}

}  // namespace motorpool::auth
