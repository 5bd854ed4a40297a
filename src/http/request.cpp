#include "http/request.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace motorpool::http {

const char* method_name(Method method) {
    switch (method) {
        case Method::Get:
            return "GET";
        case Method::Head:
            return "HEAD";
        case Method::Post:
            return "POST";
        case Method::Put:
            return "PUT";
        case Method::Patch:
            return "PATCH";
        case Method::Delete:
            return "DELETE";
        case Method::Options:
            return "OPTIONS";
        case Method::Other:
            return "OTHER";
    }
    return "OTHER";
}

Method method_from_name(std::string_view name) {
    if (name == "GET") {
        return Method::Get;
    }
    if (name == "POST") {
        return Method::Post;
    }
    if (name == "HEAD") {
        return Method::Head;
    }
    if (name == "PUT") {
        return Method::Put;
    }
    if (name == "PATCH") {
        return Method::Patch;
    }
    if (name == "DELETE") {
        return Method::Delete;
    }
    if (name == "OPTIONS") {
        return Method::Options;
    }
    return Method::Other;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
    for (const auto& [key, value] : path_params) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
    std::string_view rest = query;
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        if (key && *key == name) {
            // A malformed value reads as absent rather than as a wrong value.
            return eq == std::string_view::npos ? std::optional<std::string>("")
                                                : percent_decode(pair.substr(eq + 1), true);
        }
    }
    return std::nullopt;
}

std::int64_t Request::query_integer(std::string_view name,
                                    std::int64_t fallback,
                                    std::int64_t min,
                                    std::int64_t max,
                                    std::vector<core::FieldError>& errors) const {
    auto raw = query_param(name);
    if (!raw) {
        return fallback;
    }
    const bool negative = !raw->empty() && (*raw)[0] == '-';
    const std::size_t first = negative ? 1 : 0;
    bool ok = raw->size() > first && raw->size() <= first + 18;  // 18 digits cannot overflow
    std::int64_t value = 0;
    for (std::size_t i = first; ok && i < raw->size(); ++i) {
        char c = (*raw)[i];
        ok = c >= '0' && c <= '9';
        value = value * 10 + (c - '0');
    }
    value = negative ? -value : value;
    if (!ok || value < min || value > max) {
        errors.push_back(
            {std::string(name), "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)});
        return fallback;
    }
    return value;
}

void Request::require_json_content_type() const {
    auto content_type = header("Content-Type");
    std::string_view media = content_type.value_or("");
    media = media.substr(0, media.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    constexpr std::string_view kApplication = "application/";
    const bool is_json =
        iequals(media, "application/json") ||
        (media.size() > kApplication.size() + 5 && iequals(media.substr(0, kApplication.size()), kApplication) &&
         iequals(media.substr(media.size() - 5), "+json"));
    if (!is_json) {
        throw core::ApiError::unsupported_media_type("application/json");
    }
}

boost::json::object Request::json_object() const {
    require_json_content_type();
    return core::parse_json_object(body);
}

const Principal& Request::require_principal() const {
    if (!principal) {
        throw core::ApiError::unauthorized();
    }
    return *principal;
}

Response Response::json(const boost::json::value& value, int status) {
    return json_text(core::to_json_text(value, core::WholeDoubles::KeepFraction), status);
}

Response Response::json_text(std::string body, int status) {
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

Response Response::text(std::string body, std::string content_type, int status) {
    Response r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

Response Response::no_content() {
    Response r;
    r.status = 204;
    return r;
}

Response& Response::header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
}

}  // namespace motorpool::http
