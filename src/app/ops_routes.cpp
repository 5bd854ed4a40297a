#include "ops_routes.hpp"

#include <algorithm>
#include <cctype>

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

    // The document's `servers` entry names the origin the client reached (its Host header), so a
    // "try it" client calls this server whatever PORT it runs on.
    router.add(Method::Get, "/api/openapi.json", [](Request req) -> boost::asio::awaitable<Response> {
        std::string document(openapi_document());
        constexpr std::string_view kDefault = R"("url": "http://localhost:8000")";
        auto host = req.header("Host");
        const bool plain_host =
            host && !host->empty() && host->size() <= 255 && std::all_of(host->begin(), host->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
                       c == ']';
            });
        if (auto at = document.find(kDefault); plain_host && at != std::string::npos) {
            document.replace(at, kDefault.size(), R"("url": "http://)" + std::string(*host) + "\"");
        }
        co_return Response::json_text(std::move(document));
    });
}

}  // namespace motorpool::app
