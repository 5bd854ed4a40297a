// Id tags (RFID cards or app tokens) that authorise charging: admins manage them; a member sees
// their own; another member's is 404.

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "http/paging.hpp"
#include "route_helpers.hpp"
#include "routes.hpp"
#include "store.hpp"

namespace motorpool::charging {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

json::object id_tag_json(const store::IdTag& t) {
    return {
        {"id", t.public_id},
        {"id_tag", t.id_tag},
        {"user_id", opt_json(t.user_public_id)},
        {"vehicle_id", opt_json(t.vehicle_public_id)},
        {"parent_id_tag", opt_json(t.parent_id_tag)},
        {"expires_at", t.expires_at_ms ? json::value(core::format_rfc3339(*t.expires_at_ms)) : json::value(nullptr)},
        {"blocked", t.blocked},
        {"created_at", core::format_rfc3339(t.created_at_ms)},
        {"updated_at", core::format_rfc3339(t.updated_at_ms)}};
}

bool valid_tag(const std::string& tag) {
    if (tag.empty() || tag.size() > 20) {
        return false;
    }
    for (char c : tag) {
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

/// A nullable string field: absent (unchanged), null (cleared) or a value.
std::optional<std::optional<std::string>> nullable(FieldReader& r,
                                                   const json::object& body,
                                                   std::string_view field,
                                                   std::size_t max) {
    const auto* v = body.if_contains(field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_null()) {
        (void)r.value(field, Presence::Optional);  // known, and null: cleared
        return std::optional<std::string>();
    }
    auto text = r.string(field, Presence::Required, 1, max);
    return text ? std::optional<std::optional<std::string>>(*text) : std::nullopt;
}

store::IdTagInput read_input(const json::object& body, bool create) {
    FieldReader r(body);
    store::IdTagInput in;
    if (create) {
        in.id_tag = r.string("id_tag", Presence::Required, 1, 20);
        if (in.id_tag && !valid_tag(*in.id_tag)) {
            r.fail("id_tag", "must be 1 to 20 printable ASCII characters without spaces");
        }
    } else if (body.contains("id_tag")) {
        r.fail("id_tag", "cannot change: delete the tag and create another");
    }
    in.user_public_id = nullable(r, body, "user_id", 64);
    in.vehicle_public_id = nullable(r, body, "vehicle_id", 64);
    in.parent_id_tag = nullable(r, body, "parent_id_tag", 20);
    if (const auto* v = body.if_contains("expires_at")) {
        if (v->is_null()) {
            (void)r.value("expires_at", Presence::Optional);
            in.expires_at_ms = std::optional<std::int64_t>();
        } else if (auto text = r.string("expires_at", Presence::Required, 1, 64)) {
            auto ms = core::parse_rfc3339(*text);
            if (!ms) {
                r.fail("expires_at", "must be an RFC 3339 time with an offset");
            } else {
                in.expires_at_ms = ms;
            }
        }
    }
    if (body.contains("blocked")) {
        in.blocked = r.boolean("blocked", Presence::Required);
    }
    r.finish();
    return in;
}

}  // namespace

void install_id_tag_routes(http::Router& router, const std::shared_ptr<Services>& svc) {
    router.add(
        Method::Post,
        "/api/v1/charging/id-tags",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            store::IdTagInput in = read_input(req.json_object(), true);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, in, now] {
                return svc->database.with_transaction(
                    [&](db::Connection& c) { return store::insert_id_tag(c, in, now); });
            };
            store::IdTag created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(id_tag_json(created), 201);
            response.header("Location", "/api/v1/charging/id-tags/" + created.public_id);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/charging/id-tags",
        [svc](Request req) -> net::awaitable<Response> {
            const http::PageQuery q = read_offset_page(req);
            const std::optional<std::int64_t> only = list_scope(auth::actor_of(req));
            auto job = [svc, q, only] {
                return svc->database.with_reader([&](db::Connection& c) {
                    return std::make_pair(store::list_id_tags(c, only, q.offset(), q.page_size),
                                          store::count_id_tags(c, only));
                });
            };
            auto [tags, total] = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& t : tags) {
                items.push_back(id_tag_json(t));
            }
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/charging/id-tags/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auto actor = auth::actor_of(req);
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return store::find_id_tag(c, id); });
            };
            auto tag = co_await svc->database.workers().run(std::move(job));
            if (!tag) {
                throw ApiError::not_found("Id tag");
            }
            auth::require_access(actor, tag->user_id, auth::Access::Read, "Id tag", "");
            co_return Response::json(id_tag_json(*tag));
        },
        authenticated());
    router.add(
        Method::Patch,
        "/api/v1/charging/id-tags/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            store::IdTagInput in = read_input(req.json_object(), false);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, in, now, id = std::string(req.param("id"))] {
                return svc->database.with_transaction(
                    [&](db::Connection& c) { return store::update_id_tag(c, id, in, now); });
            };
            auto tag = co_await svc->database.workers().run(std::move(job));
            if (!tag) {
                throw ApiError::not_found("Id tag");
            }
            co_return Response::json(id_tag_json(*tag));
        },
        authenticated());
    router.add(
        Method::Delete,
        "/api/v1/charging/id-tags/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) { return store::delete_id_tag(c, id); });
            };
            if (!co_await svc->database.workers().run(std::move(job))) {
                throw ApiError::not_found("Id tag");
            }
            co_return Response::no_content();
        },
        authenticated());
}

}  // namespace motorpool::charging
