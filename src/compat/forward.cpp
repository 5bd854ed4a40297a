#include "forward.hpp"

#include <boost/json.hpp>

namespace motorpool::compat {

namespace json = boost::json;
using http::Response;

boost::asio::awaitable<http::Response> forward(http::Router& router,
                                               const http::Request& original,
                                               http::Method method,
                                               const std::string& path,
                                               const std::string& query,
                                               std::string body,
                                               std::shared_ptr<const http::Principal> principal,
                                               std::string profile) {
    http::Request inner;
    inner.method = method;
    inner.path = path;
    inner.query = query;
    inner.target = query.empty() ? path : path + "?" + query;
    inner.headers = original.headers;
    inner.body = std::move(body);
    inner.request_id = original.request_id;
    inner.remote_address = original.remote_address;
    inner.profile = std::move(profile);
    inner.principal = std::move(principal);  // set: the router does not authenticate again
    auto match = router.match(method, path);
    co_return co_await router.dispatch(std::move(inner), std::move(match));
}

boost::asio::awaitable<http::Response> connect_redirect(http::Router& router, const http::Request& original) {
    auto answer =
        co_await forward(router, original, http::Method::Get, "/api/v1/connect/smartcar", "", "", original.principal);
    if (answer.status != 200) {
        co_return answer;
    }
    Response out;
    out.status = 302;
    out.header("Location", std::string(body_of(answer).as_object().at("url").as_string()));
    out.header("Cache-Control", "no-store");
    co_return out;
}

std::shared_ptr<const http::Principal> staff_reader(const std::string& subject) {
    auto p = std::make_shared<http::Principal>();
    p->subject = subject;
    p->role = "support";
    return p;
}

boost::asio::awaitable<AllItems> all_items(http::Router& router,
                                           const http::Request& original,
                                           const std::string& path,
                                           const std::string& query,
                                           std::int64_t max_pages) {
    AllItems all;
    const std::string prefix = query.empty() ? "" : query + "&";
    for (std::int64_t page = 1; page <= max_pages; ++page) {
        auto answer = co_await forward(router,
                                       original,
                                       http::Method::Get,
                                       path,
                                       prefix + "page_size=100&page=" + std::to_string(page),
                                       "",
                                       original.principal);
        if (answer.status != 200) {
            all.failed = std::move(answer);
            co_return all;
        }
        json::value body = body_of(answer);
        for (auto& item : body.as_object().at("items").as_array()) {
            all.items.push_back(std::move(item));
        }
        const auto* pages = body.as_object().if_contains("total_pages");
        if (pages == nullptr || page >= pages->to_number<std::int64_t>()) {
            break;
        }
    }
    co_return all;
}

json::value body_of(const http::Response& response) {
    if (response.body.empty()) {
        return nullptr;
    }
    boost::system::error_code ec;
    auto v = json::parse(response.body, ec);
    return ec ? json::value(nullptr) : v;
}

http::Response rename_error_field(http::Response answer, const std::string& from, const std::string& to) {
    if (answer.status != 422 || answer.content_type.rfind("application/problem+json", 0) != 0) {
        return answer;
    }
    json::value body = body_of(answer);
    auto* errors = body.is_object() ? body.as_object().if_contains("errors") : nullptr;
    if (errors == nullptr || !errors->is_array()) {
        return answer;
    }
    for (auto& e : errors->as_array()) {
        if (auto* field = e.is_object() ? e.as_object().if_contains("field") : nullptr;
            field && field->is_string() && field->as_string() == from) {
            *field = to;
        }
    }
    answer.body = json::serialize(body);
    return answer;
}

std::optional<Problem> problem_of(const http::Response& response) {
    if (response.content_type.rfind("application/problem+json", 0) != 0) {
        return std::nullopt;
    }
    auto v = body_of(response);
    if (!v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.as_object();
    Problem p;
    if (auto* t = o.if_contains("title"); t && t->is_string()) {
        p.title = std::string(t->as_string());
    }
    if (auto* d = o.if_contains("detail"); d && d->is_string()) {
        p.detail = std::string(d->as_string());
    }
    if (auto* errors = o.if_contains("errors"); errors && errors->is_array()) {
        for (const auto& e : errors->as_array()) {
            if (!e.is_object()) {
                continue;
            }
            const auto* field = e.as_object().if_contains("field");
            const auto* message = e.as_object().if_contains("message");
            p.errors.emplace_back(field && field->is_string() ? std::string(field->as_string()) : "",
                                  message && message->is_string() ? std::string(message->as_string()) : "");
        }
    }
    if (p.detail.empty()) {
        p.detail = p.title;
    }
    return p;
}

Response json_keeping_headers(json::value body, int status, const Response& from) {
    Response out = Response::json(std::move(body), status);
    for (const auto& h : from.headers) {
        if (h.first == "WWW-Authenticate" || h.first == "Retry-After") {
            out.headers.push_back(h);
        }
    }
    return out;
}

Response fastapi_shape(Response answer, const char* where) {
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
    return json_keeping_headers(json::object{{"detail", std::move(detail)}}, answer.status, answer);
}

Response flask_shape(Response answer) {
    auto problem = problem_of(answer);
    if (!problem) {
        return answer;
    }
    std::string message = problem->detail;
    for (const auto& [field, text] : problem->errors) {
        message += message.empty() ? "" : "; ";
        message += field;
        message += ": ";
        message += text;
    }
    return json_keeping_headers(json::object{{"error", message}}, answer.status, answer);
}

http::RouteOptions fastapi_route(http::Auth auth, const char* where, std::size_t body_limit) {
    http::RouteOptions o;
    o.auth = auth;
    o.max_body_bytes = body_limit;
    o.shape_problems = [where](Response r) { return fastapi_shape(std::move(r), where); };
    return o;
}

http::RouteOptions flask_route(http::Auth auth, std::size_t body_limit) {
    http::RouteOptions o;
    o.auth = auth;
    o.max_body_bytes = body_limit;
    o.shape_problems = [](Response r) { return flask_shape(std::move(r)); };
    return o;
}

std::string query_without(const std::string& query, const std::string& name) {
    std::string out;
    std::size_t start = 0;
    while (start < query.size()) {
        auto amp = query.find('&', start);
        if (amp == std::string::npos) {
            amp = query.size();
        }
        const std::string item = query.substr(start, amp - start);
        if (!item.empty() && item.substr(0, item.find('=')) != name) {
            out += (out.empty() ? "" : "&") + item;
        }
        start = amp + 1;
    }
    return out;
}

std::string query_with(const std::string& query, const std::string& name, const std::string& value) {
    std::string out = query_without(query, name);
    return out + (out.empty() ? "" : "&") + name + "=" + value;
}

}  // namespace motorpool::compat
