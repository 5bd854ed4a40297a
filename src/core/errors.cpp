#include "core/errors.hpp"

#include <cstdio>
#include <cstdlib>

#include <boost/json.hpp>

namespace motorpool::core {

std::string problem_type(std::string_view kind) {
    return "urn:motorpool:problem:" + std::string(kind);
}

std::string default_problem_type(int status) {
    switch (status) {
        case 400:
            return problem_type("bad_request");
        case 401:
            return problem_type("unauthorized");
        case 403:
            return problem_type("forbidden");
        case 404:
            return problem_type("not_found");
        case 405:
            return problem_type("method_not_allowed");
        case 409:
            return problem_type("conflict");
        case 413:
            return problem_type("payload_too_large");
        case 415:
            return problem_type("unsupported_media_type");
        case 422:
            return problem_type("validation");
        case 426:
            return problem_type("upgrade_required");
        case 429:
            return problem_type("rate_limited");
        case 431:
            return problem_type("header_too_large");
        case 500:
            return problem_type("internal");
        case 502:
            return problem_type("upstream");
        case 503:
            return problem_type("unavailable");
        default:
            return "about:blank";
    }
}

ApiError::ApiError(int status, std::string title, std::string detail, std::string type)
    : std::runtime_error(title),
      status_(status),
      title_(std::move(title)),
      detail_(std::move(detail)),
      type_(type.empty() ? default_problem_type(status) : std::move(type)) {}

ApiError& ApiError::with_errors(std::vector<FieldError> errors) {
    errors_ = std::move(errors);
    return *this;
}

ApiError& ApiError::with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
}

ApiError& ApiError::with_member(std::string name, std::string value) {
    members_.emplace_back(std::move(name), std::move(value));
    return *this;
}

ApiError ApiError::bad_request(std::string detail) {
    return {400, "Bad Request", std::move(detail)};
}
ApiError ApiError::unauthorized(std::string detail) {
    ApiError e{401, "Unauthorized", std::move(detail)};
    e.with_header("WWW-Authenticate", "Bearer");
    return e;
}
ApiError ApiError::forbidden(std::string detail) {
    return {403, "Forbidden", std::move(detail)};
}
ApiError ApiError::not_found(std::string what) {
    return {404, "Not Found", std::move(what) + " not found"};
}
ApiError ApiError::method_not_allowed(const std::string& allow) {
    ApiError e{405, "Method Not Allowed", "Allowed methods: " + allow};
    e.with_header("Allow", allow);
    return e;
}
ApiError ApiError::conflict(std::string detail, std::string_view kind) {
    return {409, "Conflict", std::move(detail), problem_type(kind)};
}
ApiError ApiError::payload_too_large(std::size_t limit_bytes) {
    return {413, "Content Too Large", "The request body exceeds " + std::to_string(limit_bytes) + " bytes"};
}
ApiError ApiError::unsupported_media_type(const std::string& expected) {
    return {415, "Unsupported Media Type", "Expected Content-Type " + expected};
}
ApiError ApiError::validation(std::vector<FieldError> errors) {
    ApiError e{422, "Unprocessable Content", "The request has invalid fields"};
    e.with_errors(std::move(errors));
    return e;
}
ApiError ApiError::too_many_requests(int retry_after_seconds) {
    ApiError e{429, "Too Many Requests", "Too many requests; retry later"};
    e.with_header("Retry-After", std::to_string(retry_after_seconds));
    return e;
}
ApiError ApiError::unavailable(std::string detail, int retry_after_seconds) {
    ApiError e{503, "Service Unavailable", std::move(detail)};
    e.with_header("Retry-After", std::to_string(retry_after_seconds));
    return e;
}

const char* status_title(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Content";
        case 426:
            return "Upgrade Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "Error";
    }
}

std::string problem_json(const ApiError& error, std::string_view instance, std::string_view request_id) {
    boost::json::object body;
    body["type"] = error.type();
    body["title"] = error.title();
    body["status"] = error.status();
    if (!error.detail().empty()) {
        body["detail"] = error.detail();
    }
    body["instance"] = instance;
    body["request_id"] = request_id;
    if (!error.errors().empty()) {
        boost::json::array errors;
        for (const auto& field_error : error.errors()) {
            errors.push_back(boost::json::object{{"field", field_error.field}, {"message", field_error.message}});
        }
        body["errors"] = std::move(errors);
    }
    for (const auto& [name, value] : error.members()) {
        body[name] = value.empty() ? boost::json::value(nullptr) : boost::json::value(value);
    }
    return boost::json::serialize(body);
}

void check_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "motorpool: check failed: %s at %s:%d\n", expr, file, line);
    std::abort();
}

}  // namespace motorpool::core
