#pragma once
// What the surfaces share: dispatching a rewritten request to motorpool's own route, and reading
// its answer (JSON body, problem+json).

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "http/router.hpp"

namespace motorpool::compat {

/// Dispatches `method path?query` through `router` as motorpool's own route would be reached:
/// the original request's headers (its Authorization) unless `principal` is given (a surface's
/// own reader), `body` as sent, `profile` as Request::profile. The answer is motorpool's,
/// problem+json included.
boost::asio::awaitable<http::Response> forward(http::Router& router,
                                               const http::Request& original,
                                               http::Method method,
                                               const std::string& path,
                                               const std::string& query,
                                               std::string body,
                                               std::shared_ptr<const http::Principal> principal = nullptr,
                                               std::string profile = "");

/// Every item of one of motorpool's paged lists, read page by page (100 a page, at most
/// `max_pages`) with the caller's principal, or the first answer that was not a 200 (`failed`).
struct AllItems {
    boost::json::array items;
    std::optional<http::Response> failed;
};
boost::asio::awaitable<AllItems> all_items(http::Router& router,
                                           const http::Request& original,
                                           const std::string& path,
                                           const std::string& query,
                                           std::int64_t max_pages = 1000);

/// A 302 to the Smartcar Connect URL motorpool issues the caller (GET /api/v1/connect/smartcar),
/// or motorpool's refusal: the originals' browser entry into Connect.
boost::asio::awaitable<http::Response> connect_redirect(http::Router& router, const http::Request& original);

/// A surface's own reader, made once per `subject`: the support role's rights (every row, read
/// only), for what an original served without a user (a public catalog, a default cluster's id).
std::shared_ptr<const http::Principal> staff_reader(const std::string& subject);

/// A 422 problem whose field errors name `from` now naming `to` (motorpool's field under the
/// original's name); any other answer unchanged.
http::Response rename_error_field(http::Response answer, const std::string& from, const std::string& to);

/// The answer's JSON body (null when it has none or it is not JSON).
boost::json::value body_of(const http::Response& response);

/// A problem+json answer's detail and, for a 422, its field errors ({field, message}).
struct Problem {
    std::string title;
    std::string detail;
    std::vector<std::pair<std::string, std::string>> errors;
};
std::optional<Problem> problem_of(const http::Response& response);

/// motorpool's answer in FastAPI's shapes: problems become {"detail": "..."}, 422s with field
/// errors {"detail": [{"loc": [where, field], "msg", "type"}]} (`where`: "query", "body", "path").
/// Retry-After and WWW-Authenticate are kept; other answers pass unchanged.
http::Response fastapi_shape(http::Response answer, const char* where);
/// motorpool's problems as Flask's {"error": "..."} (same status); other answers pass unchanged.
http::Response flask_shape(http::Response answer);
/// A JSON answer whose body is `body`, keeping `from`'s Retry-After and WWW-Authenticate.
http::Response json_keeping_headers(boost::json::value body, int status, const http::Response& from);

/// Route options for a surface's route: `auth`, a body limit (0: the server default), and every
/// problem+json answer (the middleware's 401 included) reshaped as FastAPI's or Flask's.
http::RouteOptions fastapi_route(http::Auth auth, const char* where, std::size_t body_limit = 0);
http::RouteOptions flask_route(http::Auth auth, std::size_t body_limit = 0);

/// The query string without the parameter `name`.
std::string query_without(const std::string& query, const std::string& name);
/// The query string with `name` set to `value` (replacing it when present), names kept as given.
std::string query_with(const std::string& query, const std::string& name, const std::string& value);

}  // namespace motorpool::compat
