#pragma once
// Route table, middleware pipeline (request id, CORS, authentication, errors, metrics).

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/errors.hpp"
#include "core/metrics.hpp"
#include "http/body_sink.hpp"
#include "http/request.hpp"

namespace motorpool::http {

class WebSocket;

using Handler = std::function<boost::asio::awaitable<Response>(Request)>;
/// Runs for the life of an upgraded connection; the WebSocket is already accepted.
using WebSocketHandler = std::function<boost::asio::awaitable<void>(Request, std::shared_ptr<WebSocket>)>;
/// Authentication hook: turns a bearer token into a principal or throws ApiError (401).
using Authenticator = std::function<boost::asio::awaitable<std::shared_ptr<const Principal>>(std::string)>;

enum class Auth { None, Optional, Required };

/// HTTP Basic credentials checked for a route (OCPP security profile 1 on the upgrade): the
/// principal for (user, password, the request with its path parameters), or null to refuse (401).
using BasicVerifier = std::function<boost::asio::awaitable<std::shared_ptr<const Principal>>(
    std::string user, std::string password, const Request& request)>;

struct RouteOptions {
    std::size_t max_body_bytes = 0;  // 0: the server default (MOTORPOOL_MAX_BODY_BYTES)
    Auth auth = Auth::None;
    bool token_in_query = false;  // accept ?token= (WebSocket upgrades from browsers)
    /// Set: every problem+json answer of the route, the middleware's (401, 404, 405) and the
    /// handler's, passes through it: the original services' error shapes (src/compat).
    std::function<Response(Response)> shape_problems;
    /// Set: the route takes HTTP Basic credentials, not a bearer token. With auth = Optional, a
    /// request without an Authorization header reaches the verifier with an empty user and password.
    BasicVerifier basic;
    /// Non-zero: the body is streamed (uploads). It is read as it arrives, the size limit enforced
    /// while reading, kept in memory up to this many bytes and in a temporary file past them, and
    /// handed over as Request::streamed (Request::body stays empty).
    std::size_t spool_threshold = 0;
    /// Set: the body streams into the sink this opens for each request (uploads written straight
    /// to their storage), handed over as Request::sink. Takes precedence over spool_threshold.
    SinkOpener open_sink;

    // WebSocket routes.
    /// Subprotocols the route speaks. The first the client offers (Sec-WebSocket-Protocol, in its
    /// order of preference) that is here is answered and given to the handler; when the client
    /// offers none of them, the handshake completes without the header and the server closes at
    /// once (1002), as OCPP-J requires. Empty: no negotiation.
    std::vector<std::string> subprotocols;
    std::size_t ws_max_message_bytes = 64 * 1024;  // larger incoming messages close with 1009
    std::chrono::seconds ws_idle_timeout{0};       // 0: Beast's suggested server timeouts
};

/// A route for signed-in callers only, with a body limit (0: the server default).
inline RouteOptions authenticated(std::size_t body_limit) {
    RouteOptions o;
    o.max_body_bytes = body_limit;
    o.auth = Auth::Required;
    return o;
}

/// Per-route counters read by /metrics: request count by status, latency histogram.
class RouteStats {
public:
    RouteStats();
    void record(int status, double seconds);
    void render(std::string& out, const std::string& route, const char* method) const;
    void render_latency(std::string& out, const std::string& route, const char* method) const;

private:
    struct Slot {
        std::atomic<int> status{0};
        std::atomic<std::uint64_t> count{0};
    };
    std::array<Slot, 24> slots_;
    core::Histogram latency_;
};

struct Route {
    Method method;
    std::string pattern;
    Handler handler;
    WebSocketHandler websocket;
    RouteOptions options;
    mutable RouteStats stats;
};

struct Match {
    enum class Kind { Found, NotFound, MethodNotAllowed };
    Kind kind = Kind::NotFound;
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // for MethodNotAllowed and OPTIONS: "GET, HEAD, POST"
};

struct RouterOptions {
    std::vector<std::string> cors_origins;  // exact origins; "*" allows any
    std::size_t default_max_body_bytes = std::size_t{1024} * 1024;
};

/// What dispatch learnt about a request that the access log reports.
struct DispatchSeen {
    std::string_view route;  // the matched pattern ("" when none matched); routes outlive requests
    std::string user_id;     // the authenticated caller's public id, "" when anonymous
};

class Router {
public:
    explicit Router(RouterOptions options = {});
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;
    ~Router();

    /// Pattern segments are literals or {name}; a final {name...} takes the rest of the path.
    /// Literal segments win over parameters. GET routes answer HEAD too.
    void add(Method method, const std::string& pattern, Handler handler, RouteOptions options = {});
    void add_websocket(const std::string& pattern, WebSocketHandler handler, RouteOptions options = {});
    void set_authenticator(Authenticator authenticator);
    /// Answers GET and HEAD requests no route matches (the dashboard's pages: a single-page app's
    /// paths are the browser's). It may throw ApiError (404) to refuse; unset, they are 404.
    void set_fallback(Handler fallback) { fallback_ = std::move(fallback); }
    /// The authentication hook (for WebSocket frames that re-authenticate); empty before it is set.
    const Authenticator& authenticator() const { return authenticator_; }

    Match match(Method method, std::string_view path) const;
    /// Every registered route (method and pattern), in registration order: the OpenAPI test
    /// checks each one is documented.
    std::vector<std::pair<Method, std::string>> routes() const;
    std::size_t body_limit(const Match& match) const;

    /// The middleware pipeline around a matched (or unmatched) request: CORS, preflight,
    /// authentication, the handler, ApiError -> problem+json, unexpected errors -> logged 500.
    /// Also records per-route metrics. `seen`, when given, receives what the access log adds:
    /// the matched route and the caller's public id once authenticated.
    boost::asio::awaitable<Response> dispatch(Request request, Match match, DispatchSeen* seen = nullptr);
    /// Runs CORS and authentication for an upgrade request; throws ApiError when refused.
    boost::asio::awaitable<void> authorize_upgrade(Request& request, const Match& match);

    /// Problem response for an error raised outside dispatch (413, 431, ...).
    static Response problem(const core::ApiError& error, const Request& request);
    void add_cors_headers(const Request& request, Response& response) const;

    void register_metrics(core::MetricsRegistry& registry);
    std::atomic<int>& in_flight() { return in_flight_; }

private:
    struct Node;
    boost::asio::awaitable<void> authenticate(Request& request, const RouteOptions& options);
    bool origin_allowed(std::string_view origin) const;
    Response preflight(const Request& request, const Match& match) const;

    RouterOptions options_;
    std::unique_ptr<Node> root_;
    std::vector<std::unique_ptr<Route>> routes_;
    Authenticator authenticator_;
    Handler fallback_;
    RouteStats unmatched_stats_;
    std::atomic<int> in_flight_{0};
};

}  // namespace motorpool::http
