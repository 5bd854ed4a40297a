#pragma once
// What the surfaces share: dispatching a rewritten request to motorpool's own route, and reading
// its answer (JSON body, problem+json).

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "http/router.hpp"

namespace motorpool::compat {

/// Dispatches `method path?query` through `router` as motorpool's own route would be reached:
/// the original request's headers (its Authorization) unless `principal` is given (a surface's
/// own reader), `body` as sent. The answer is motorpool's, problem+json included.
boost::asio::awaitable<http::Response> forward(http::Router& router,
                                               const http::Request& original,
                                               http::Method method,
                                               const std::string& path,
                                               const std::string& query,
                                               std::string body,
                                               std::shared_ptr<const http::Principal> principal = nullptr);

/// The answer's JSON body (null when it has none or it is not JSON).
boost::json::value body_of(const http::Response& response);

/// A problem+json answer's detail and, for a 422, its field errors ({field, message}).
struct Problem {
    std::string title;
    std::string detail;
    std::vector<std::pair<std::string, std::string>> errors;
};
std::optional<Problem> problem_of(const http::Response& response);

/// The query string without the parameter `name`.
std::string query_without(const std::string& query, const std::string& name);
/// The query string with `name` set to `value` (replacing it when present), names kept as given.
std::string query_with(const std::string& query, const std::string& name, const std::string& value);

}  // namespace motorpool::compat
