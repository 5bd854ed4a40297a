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

/// motorpool's answer in FastAPI's shapes: problems become {"detail"}, 422s name each field's
/// location (`where`: "query" or "body").
Response fastapi(Response answer, const char* where) {
    auto problem = problem_of(answer);
    if (!problem) {
        return answer;
    }
    json::value detail(problem->detail);
    if (answer.status == 422 && !problem->errors.empty()) {
        json::array items;
        for (const auto& [field, message] : problem->errors) {
            items.push_back(json::object{
                {"loc", json::array{where, json::value(field)}}, {"msg", message}, {"type", "value_error"}});
        }
        detail = std::move(items);
    }
    Response out = Response::json(json::object{{"detail", std::move(detail)}}, answer.status);
    for (auto& h : answer.headers) {
        if (h.first == "WWW-Authenticate" || h.first == "Retry-After") {
            out.headers.push_back(std::move(h));
        }
    }
    return out;
}

/// The reader a public catalog reads as: every vehicle, read only (the support role's rights).
std::shared_ptr<const http::Principal> catalog_reader() {
    static const auto reader = [] {
        auto p = std::make_shared<http::Principal>();
        p->subject = "catalog";
        p->role = "support";
        return std::shared_ptr<const http::Principal>(std::move(p));
    }();
    return reader;
}

http::RouteOptions reading(bool needs_token) {
    http::RouteOptions o;
    o.auth = needs_token ? http::Auth::Required : http::Auth::None;
    return o;
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
                co_return fastapi(std::move(answer), "query");
            }
            auto body = body_of(answer).as_object();
            co_return Response::json(json::object{{"items", body.at("items")},
                                                  {"total", body.at("total")},
                                                  {"page", body.at("page")},
                                                  {"page_size", body.at("page_size")},
                                                  {"total_pages", body.at("total_pages")}});
        },
        reading(!public_read));

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
            co_return fastapi(std::move(answer), "path");
        },
        reading(!public_read));

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
            co_return fastapi(std::move(answer), "body");
        },
        http::authenticated(64 * 1024));

    if (!prefix.empty()) {
        // At the root, motorpool's own /health answers.
        router.add(Method::Get, prefix + "/health", [r](Request req) -> net::awaitable<Response> {
            co_return co_await forward(*r, req, Method::Get, "/health", "", "");
        });
    }
}

}  // namespace motorpool::compat
