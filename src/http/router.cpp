#include "http/router.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "db/db.hpp"

namespace motorpool::http {

using core::ApiError;

struct Router::Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
    std::unique_ptr<Node> param;
    std::string param_name;
    std::unique_ptr<Node> tail;  // {name...}
    std::string tail_name;
    std::vector<Route*> routes;  // one per method
    std::string allow;           // "GET, HEAD, POST" for 405 and OPTIONS
};

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
    if (path.empty() || path.front() != '/') {
        return segments;
    }
    std::size_t start = 1;
    while (true) {
        auto slash = path.find('/', start);
        segments.push_back(
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    // One rule for trailing slashes: ignored ("/api/v1/vehicles/" is "/api/v1/vehicles"), in
    // patterns and in requests alike; "/" stays the root.
    if (!segments.empty() && segments.back().empty()) {
        segments.pop_back();
    }
    return segments;
}

const Route* find_method(const std::vector<Route*>& routes, Method method) {
    for (const Route* r : routes) {
        if (r->method == method) {
            return r;
        }
    }
    if (method == Method::Head) {
        return find_method(routes, Method::Get);
    }
    return nullptr;
}

}  // namespace

RouteStats::RouteStats() : latency_(core::latency_buckets()) {}

void RouteStats::record(int status, double seconds) {
    latency_.observe(seconds);
    for (auto& slot : slots_) {
        int current = slot.status.load(std::memory_order_relaxed);
        if (current == status) {
            slot.count.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (current == 0) {
            int expected = 0;
            if (slot.status.compare_exchange_strong(expected, status) || expected == status) {
                slot.count.fetch_add(1, std::memory_order_relaxed);
                return;
            }
        }
    }
    // More distinct statuses than slots: count under the last slot rather than lose the request.
    slots_.back().count.fetch_add(1, std::memory_order_relaxed);
}

void RouteStats::render(std::string& out, const std::string& route, const char* method) const {
    for (const auto& slot : slots_) {
        int status = slot.status.load(std::memory_order_relaxed);
        std::uint64_t count = slot.count.load(std::memory_order_relaxed);
        if (status == 0 || count == 0) {
            continue;
        }
        out += "motorpool_http_requests_total" +
               core::format_labels({{"route", route}, {"method", method}, {"status", std::to_string(status)}}) + " " +
               std::to_string(count) + "\n";
    }
}

void RouteStats::render_latency(std::string& out, const std::string& route, const char* method) const {
    if (latency_.count() == 0) {
        return;
    }
    core::render_histogram(
        out, "motorpool_http_request_duration_seconds", {{"route", route}, {"method", method}}, latency_);
}

Router::Router(RouterOptions options) : options_(std::move(options)), root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::add(Method method, const std::string& pattern, Handler handler, RouteOptions options) {
    MP_CHECK(!pattern.empty() && pattern.front() == '/');
    Node* node = root_.get();
    auto segments = split_path(pattern);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        std::string_view seg = segments[i];
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            std::string name(seg.substr(1, seg.size() - 2));
            if (name.size() > 3 && name.ends_with("...")) {
                MP_CHECK(i + 1 == segments.size());
                if (!node->tail) {
                    node->tail = std::make_unique<Node>();
                }
                node->tail_name = name.substr(0, name.size() - 3);
                node = node->tail.get();
            } else {
                if (!node->param) {
                    node->param = std::make_unique<Node>();
                    node->param_name = name;
                }
                MP_CHECK(node->param_name == name);  // one name per position keeps params unambiguous
                node = node->param.get();
            }
        } else {
            auto& child = node->literals[std::string(seg)];
            if (!child) {
                child = std::make_unique<Node>();
            }
            node = child.get();
        }
    }
    MP_CHECK(find_method(node->routes, method) == nullptr || (method == Method::Head));
    auto route = std::make_unique<Route>();
    route->method = method;
    route->pattern = pattern;
    route->handler = std::move(handler);
    route->options = options;
    node->routes.push_back(route.get());
    routes_.push_back(std::move(route));

    std::vector<std::string> names;
    for (const Route* r : node->routes) {
        names.emplace_back(method_name(r->method));
        if (r->method == Method::Get) {
            names.emplace_back("HEAD");
        }
    }
    names.emplace_back("OPTIONS");
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    node->allow.clear();
    for (const auto& n : names) {
        node->allow += (node->allow.empty() ? "" : ", ") + n;
    }
}

void Router::add_websocket(const std::string& pattern, WebSocketHandler handler, RouteOptions options) {
    add(
        Method::Get,
        pattern,
        [](const Request&) -> boost::asio::awaitable<Response> {
            // Not a coroutine (no co_await): throws straight into dispatch's error mapping.
            throw ApiError(426, "Upgrade Required", "This endpoint only speaks WebSocket");
        },
        options);
    routes_.back()->websocket = std::move(handler);
}

void Router::set_authenticator(Authenticator authenticator) {
    authenticator_ = std::move(authenticator);
}

std::vector<std::pair<Method, std::string>> Router::routes() const {
    std::vector<std::pair<Method, std::string>> out;
    out.reserve(routes_.size());
    for (const auto& route : routes_) {
        out.emplace_back(route->method, route->pattern);
    }
    return out;
}

Match Router::match(Method method, std::string_view path) const {
    Match result;
    auto raw_segments = split_path(path);
    if (path.empty() || path.front() != '/') {
        return result;
    }
    std::vector<std::string> segments;
    segments.reserve(raw_segments.size());
    for (auto raw : raw_segments) {
        auto decoded = percent_decode(raw);
        if (!decoded) {
            return result;
        }
        segments.push_back(std::move(*decoded));
    }

    // Depth-first: literal, then parameter, then tail, backtracking so /a/{x}/c and /a/b/d both work.
    std::vector<std::pair<std::string, std::string>> params;
    const Node* found = nullptr;
    auto walk = [&](auto&& self, const Node* node, std::size_t i) -> bool {
        if (i == segments.size()) {
            if (!node->routes.empty()) {
                found = node;
                return true;
            }
            return false;
        }
        if (auto it = node->literals.find(segments[i]); it != node->literals.end()) {
            if (self(self, it->second.get(), i + 1)) {
                return true;
            }
        }
        if (node->param && !segments[i].empty()) {
            params.emplace_back(node->param_name, segments[i]);
            if (self(self, node->param.get(), i + 1)) {
                return true;
            }
            params.pop_back();
        }
        if (node->tail && !node->tail->routes.empty()) {
            std::string rest;
            for (std::size_t j = i; j < segments.size(); ++j) {
                rest += (j == i ? "" : "/") + segments[j];
            }
            params.emplace_back(node->tail_name, std::move(rest));
            found = node->tail.get();
            return true;
        }
        return false;
    };
    if (!walk(walk, root_.get(), 0)) {
        return result;
    }
    result.params = std::move(params);
    result.allow = found->allow;
    if (const Route* route = find_method(found->routes, method)) {
        result.kind = Match::Kind::Found;
        result.route = route;
    } else {
        result.kind = Match::Kind::MethodNotAllowed;
    }
    return result;
}

std::size_t Router::body_limit(const Match& match) const {
    if (match.route != nullptr && match.route->options.max_body_bytes != 0) {
        return match.route->options.max_body_bytes;
    }
    return options_.default_max_body_bytes;
}

bool Router::origin_allowed(std::string_view origin) const {
    for (const auto& allowed : options_.cors_origins) {
        if (allowed == "*" || allowed == origin) {
            return true;
        }
    }
    return false;
}

void Router::add_cors_headers(const Request& request, Response& response) const {
    auto origin = request.header("Origin");
    if (!origin || !origin_allowed(*origin)) {
        return;
    }
    response.header("Access-Control-Allow-Origin", std::string(*origin));
    response.header("Vary", "Origin");
    response.header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Location");
}

Response Router::preflight(const Request& request, const Match& match) const {
    auto origin = request.header("Origin");
    if (!origin || !origin_allowed(*origin)) {
        throw ApiError::forbidden("Origin not allowed");
    }
    if (match.kind == Match::Kind::NotFound) {
        throw ApiError::not_found("Resource");
    }
    Response response = Response::no_content();
    response.header("Access-Control-Allow-Origin", std::string(*origin));
    response.header("Vary", "Origin");
    response.header("Access-Control-Allow-Methods", match.allow);
    auto requested = request.header("Access-Control-Request-Headers");
    response.header(
        "Access-Control-Allow-Headers",
        requested && requested->size() <= 1024 ? std::string(*requested) : "Authorization, Content-Type, X-Request-Id");
    response.header("Access-Control-Max-Age", "600");
    return response;
}

Response Router::problem(const ApiError& error, const Request& request) {
    Response response;
    response.status = error.status();
    response.content_type = "application/problem+json";
    response.body = core::problem_json(error, request.path, request.request_id);
    for (const auto& [name, value] : error.headers()) {
        response.header(name, value);
    }
    return response;
}

boost::asio::awaitable<void> Router::authenticate(Request& request, const RouteOptions& options) {
    if (options.basic) {
        auto refuse = [](std::string detail) {
            auto e = ApiError(401, "Unauthorized", std::move(detail));
            e.with_header("WWW-Authenticate", "Basic realm=\"motorpool\", charset=\"UTF-8\"");
            return e;
        };
        auto authorization = request.header("Authorization");
        constexpr std::string_view kScheme = "basic ";
        if (!authorization && options.auth == Auth::Optional) {
            // No credentials where the route allows none (OCPP security profile 0): the verifier
            // decides, seeing an empty user and password.
            request.principal = co_await options.basic(std::string(), std::string(), request);
            if (!request.principal) {
                throw refuse("Use the Basic authorization scheme");
            }
            co_return;
        }
        if (!authorization || authorization->size() <= kScheme.size() ||
            !iequals(authorization->substr(0, kScheme.size()), kScheme)) {
            throw refuse("Use the Basic authorization scheme");
        }
        auto decoded = core::base64_decode(authorization->substr(kScheme.size()));
        const auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos) {
            throw refuse("Malformed Basic credentials");
        }
        request.principal = co_await options.basic(decoded->substr(0, colon), decoded->substr(colon + 1), request);
        if (!request.principal) {
            throw refuse("Invalid credentials");
        }
        co_return;
    }
    if (options.auth == Auth::None || request.principal) {
        co_return;  // (a principal set already: an internal dispatch, compat's, that authenticated)
    }
    std::string token;
    if (auto authorization = request.header("Authorization")) {
        constexpr std::string_view kScheme = "bearer ";
        if (authorization->size() <= kScheme.size() || !iequals(authorization->substr(0, kScheme.size()), kScheme)) {
            throw ApiError::unauthorized("Use the Bearer authorization scheme");
        }
        token = std::string(authorization->substr(kScheme.size()));
    } else if (options.token_in_query) {
        token = request.query_param("token").value_or("");
    }
    if (token.empty()) {
        if (options.auth == Auth::Required) {
            throw ApiError::unauthorized();
        }
        co_return;
    }
    if (!authenticator_) {
        throw ApiError::unauthorized("Token authentication is not available");
    }
    request.principal = co_await authenticator_(std::move(token));
    if (!request.principal) {
        throw ApiError::unauthorized("Invalid token");
    }
}

boost::asio::awaitable<void> Router::authorize_upgrade(Request& request, const Match& match) {
    if (auto origin = request.header("Origin"); origin && !options_.cors_origins.empty() && !origin_allowed(*origin)) {
        throw ApiError::forbidden("Origin not allowed");
    }
    co_await authenticate(request, match.route->options);
}

boost::asio::awaitable<Response> Router::dispatch(Request request, Match match, DispatchSeen* seen) {
    const auto started = std::chrono::steady_clock::now();
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    // Kept aside because the request itself moves into the handler.
    Request context;
    context.path = request.path;
    context.request_id = request.request_id;
    context.method = request.method;
    if (auto origin = request.header("Origin")) {
        context.headers.emplace_back("Origin", std::string(*origin));
    }
    const Route* route = match.route;

    Response response;
    bool signed_in = false;
    try {
        if (request.method == Method::Options && request.header("Access-Control-Request-Method") &&
            request.header("Origin")) {
            response = preflight(request, match);
        } else if (match.kind == Match::Kind::NotFound) {
            if (fallback_ && (request.method == Method::Get || request.method == Method::Head)) {
                response = co_await fallback_(std::move(request));
            } else {
                throw ApiError(404, "Not Found", "No resource at " + request.path);
            }
        } else if (match.kind == Match::Kind::MethodNotAllowed) {
            if (request.method == Method::Options) {
                response = Response::no_content();
                response.header("Allow", match.allow);
            } else {
                throw ApiError::method_not_allowed(match.allow);
            }
        } else {
            request.route = route->pattern;
            request.path_params = std::move(match.params);
            if (seen != nullptr) {
                seen->route = route->pattern;
            }
            co_await authenticate(request, route->options);
            if (seen != nullptr && request.principal) {
                seen->user_id = request.principal->subject;
            }
            signed_in = request.principal != nullptr;
            response = co_await route->handler(std::move(request));
        }
    } catch (const ApiError& error) {
        response = problem(error, context);
    } catch (const db::Error& error) {
        switch (error.kind()) {
            case db::Error::Kind::Unavailable:
            case db::Error::Kind::Serialization:
                if (error.storage_full()) {
                    // Reads still work; writes wait for an operator to free space (docs/operations).
                    core::log_event(spdlog::level::warn,
                                    "database storage full",
                                    {{"request_id", context.request_id}, {"error", std::string_view(error.what())}});
                    response = problem(
                        ApiError::unavailable("The server's storage is full; nothing was stored, retry later", 30),
                        context);
                    break;
                }
                core::log_event(spdlog::level::warn,
                                "database unavailable",
                                {{"request_id", context.request_id}, {"error", std::string_view(error.what())}});
                response = problem(ApiError::unavailable("The database is unavailable; retry shortly", 2), context);
                break;
            case db::Error::Kind::UniqueViolation:
                response = problem(ApiError::conflict("The resource already exists"), context);
                break;
            case db::Error::Kind::ForeignKeyViolation:
            case db::Error::Kind::ConstraintViolation:
            case db::Error::Kind::Type:
            case db::Error::Kind::Other:
                core::log_event(spdlog::level::err,
                                "database error",
                                {{"request_id", context.request_id}, {"error", std::string_view(error.what())}});
                response = problem(ApiError(500, "Internal Server Error", "An unexpected error occurred"), context);
                break;
        }
    } catch (const std::exception& error) {
        core::log_event(spdlog::level::err,
                        "unhandled error",
                        {{"request_id", context.request_id}, {"error", std::string_view(error.what())}});
        response = problem(ApiError(500, "Internal Server Error", "An unexpected error occurred"), context);
    }
    if (route != nullptr && route->options.shape_problems &&
        response.content_type.rfind("application/problem+json", 0) == 0) {
        response = route->options.shape_problems(std::move(response));
    }
    add_cors_headers(context, response);
    // What a signed-in caller received is kept by no cache unless its route said otherwise (OWASP
    // API8): a shared proxy must never serve one member's data to another.
    if (signed_in && std::none_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
            return core::iequals(h.first, "Cache-Control");
        })) {
        response.header("Cache-Control", "no-store");
    }

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    (route != nullptr ? route->stats : unmatched_stats_).record(response.status, seconds);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    co_return response;
}

void Router::register_metrics(core::MetricsRegistry& registry) {
    registry.gauge_callback("motorpool_http_requests_in_flight", "Requests being handled now", [this] {
        return static_cast<double>(in_flight_.load(std::memory_order_relaxed));
    });
    registry.add_collector([this](std::string& out) {
        out += "# HELP motorpool_http_requests_total HTTP requests by route, method and status\n";
        out += "# TYPE motorpool_http_requests_total counter\n";
        for (const auto& route : routes_) {
            route->stats.render(out, route->pattern, method_name(route->method));
        }
        unmatched_stats_.render(out, "unmatched", "ANY");
        out += "# HELP motorpool_http_request_duration_seconds Time from a complete request to its response\n";
        out += "# TYPE motorpool_http_request_duration_seconds histogram\n";
        for (const auto& route : routes_) {
            route->stats.render_latency(out, route->pattern, method_name(route->method));
        }
        unmatched_stats_.render_latency(out, "unmatched", "ANY");
    });
}

}  // namespace motorpool::http
