// vehicle-catalog: the original FastAPI catalog (a public, read-only list of the registry, writes
// for staff) over motorpool's /api/v1/vehicles routes. FastAPI's shapes: errors as
// {"detail": "..."}, validation as {"detail": [{"loc", "msg", "type"}]}; the list as
// {items, total, page, page_size, total_pages}.

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "core/errors.hpp"
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

/// The reader a public catalog reads as: every vehicle, read only (the support role's rights).
std::shared_ptr<const http::Principal> catalog_reader() {
    static const auto reader = staff_reader("catalog");
    return reader;
}

http::RouteOptions reading(bool needs_token, const char* where) {
    return fastapi_route(needs_token ? http::Auth::Required : http::Auth::None, where);
}

}  // namespace

std::vector<RouteKey> catalog_routes() {
    return {{Method::Get, "/api/vehicles"}, {Method::Get, "/api/vehicles/{vin}"}, {Method::Post, "/api/vehicles"}};
}

void install_catalog(http::Router& router, const std::string& prefix, bool public_read) {
    http::Router* r = &router;
    router.add(
        Method::Get,
        prefix + "/api/vehicles",
        [r](Request req) -> net::awaitable<Response> {
            // Page mode, as the original: the totals always come back (motorpool's keyset cursor,
            // which has none, is not the catalog's: dropped as FastAPI drops unknown parameters).
            std::string query = query_without(req.query, "cursor");
            if (!req.query_param("page")) {
                query = query_with(query, "page", "1");
            }
            auto answer = co_await forward(*r, req, Method::Get, "/api/v1/vehicles", query, "", catalog_reader());
            if (answer.status != 200) {
                co_return fastapi_shape(std::move(answer), "query");
            }
            auto body = body_of(answer).as_object();
            co_return Response::json(json::object{{"items", body.at("items")},
                                                  {"total", body.at("total")},
                                                  {"page", body.at("page")},
                                                  {"page_size", body.at("page_size")},
                                                  {"total_pages", body.at("total_pages")}});
        },
        reading(!public_read, "query"));

    router.add(
        Method::Get,
        prefix + "/api/vehicles/{vin}",
        [r](Request req) -> net::awaitable<Response> {
            const std::string vin(req.param("vin"));
            auto answer = co_await forward(
                *r, req, Method::Get, "/api/v1/vehicles/" + core::percent_encode(vin), "", "", catalog_reader());
            if (answer.status == 404) {
                co_return Response::json(json::object{{"detail", "Vehicle not found"}}, 404);
            }
            co_return fastapi_shape(std::move(answer), "path");
        },
        reading(!public_read, "path"));

    // Writing needs staff who may write every vehicle (fleet managers, admins); the vehicle is
    // created by motorpool's own route with the caller's rights.
    router.add(
        Method::Post,
        prefix + "/api/vehicles",
        [r](Request req) -> net::awaitable<Response> {
            if (!auth::may_write_all(auth::actor_of(req).role)) {
                co_return Response::json(
                    json::object{{"detail", "Adding to the catalog needs a fleet manager or an admin"}}, 403);
            }
            auto answer =
                co_await forward(*r, req, Method::Post, "/api/v1/vehicles", "", std::string(req.body), req.principal);
            co_return fastapi_shape(std::move(answer), "body");
        },
        fastapi_route(http::Auth::Required, "body", 64 * 1024));

    if (!prefix.empty()) {
        // At the root, motorpool's own /health answers.
        router.add(Method::Get, prefix + "/health", [r](Request req) -> net::awaitable<Response> {
            co_return co_await forward(*r, req, Method::Get, "/health", "", "");
        });
    }
}

}  // namespace motorpool::compat
