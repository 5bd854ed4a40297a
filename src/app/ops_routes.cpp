#include "ops_routes.hpp"

#include <boost/json/object.hpp>

#include "app/app.hpp"
#include "core/errors.hpp"

namespace motorpool::app {

using http::Method;
using http::Request;
using http::Response;

void register_ops_routes(http::Router& router, OpsDeps deps) {
    // Liveness: no database touch, so a slow database never gets the process restarted.
    router.add(Method::Get, "/health", [](Request) -> boost::asio::awaitable<Response> {
        co_return Response::json_text(R"({"status":"ok"})");
    });

    // Readiness: the database answers a trivial query.
    router.add(Method::Get, "/ready", [&db = deps.database](Request) -> boost::asio::awaitable<Response> {
        bool ok = co_await db.workers().run([&db] { return db.ping(); });
        if (!ok) {
            throw core::ApiError::unavailable("The database does not answer", 5);
        }
        co_return Response::json(boost::json::object{{"status", "ready"}, {"database", "ok"}});
    });

    router.add(Method::Get, "/metrics", [&metrics = deps.metrics](Request) -> boost::asio::awaitable<Response> {
        co_return Response::text(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    });

    router.add(Method::Get, "/api/openapi.json", [](Request) -> boost::asio::awaitable<Response> {
        co_return Response::json_text(std::string(openapi_document()));
    });
}

}  // namespace motorpool::app
