#include "smartcar/client.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "http/outbound.hpp"

namespace motorpool::smartcar {

namespace json = boost::json;
using http::HttpRequest;
using http::HttpResponse;
using http::perform;

std::string scrub_upstream_text(std::string_view text, std::size_t max_bytes) {
    // Token-shaped: a run of 16 or more token characters holding both a letter and a digit (UUIDs,
    // JWTs, opaque tokens; an OAuth server may echo the refresh token it refused).
    auto token_char = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
    };
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    std::size_t i = 0;
    while (i < text.size() && out.size() < max_bytes) {
        if (!token_char(text[i])) {
            const auto c = static_cast<unsigned char>(text[i]);
            out += c < 0x20 || c == 0x7F ? ' ' : text[i];
            ++i;
            continue;
        }
        std::size_t end = i;
        bool letter = false;
        bool digit = false;
        while (end < text.size() && token_char(text[end])) {
            const char c = text[end];
            digit = digit || (c >= '0' && c <= '9');
            letter = letter || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            ++end;
        }
        if (end - i >= 16 && letter && digit) {
            out += "[redacted]";
        } else {
            out.append(text.substr(i, end - i));
        }
        i = end;
    }
    if (out.size() > max_bytes) {
        out.resize(max_bytes);
    }
    return out;
}

SmartcarError::SmartcarError(int status, std::string type, std::optional<std::string> code, std::string description)
    : std::runtime_error("Smartcar error"),
      status_(status),
      type_(scrub_upstream_text(type, 64)),
      code_(code ? std::optional(scrub_upstream_text(*code, 64)) : std::nullopt),
      description_(scrub_upstream_text(description, 300)),
      message_("Smartcar " + std::to_string(status) + " " + type_ + (code_ ? ":" + *code_ : "") + " - " +
               description_) {}

const char* SmartcarError::what() const noexcept {
    return message_.c_str();
}

bool SmartcarError::retryable() const {
    return status_ == 0 || (status_ >= 500 && status_ != 501) || type_ == "UPSTREAM";
}

namespace {

SmartcarError error_from(const Client::Response& r) {
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    std::string type = "HTTP_" + std::to_string(r.status);
    std::optional<std::string> code;
    std::string description = "HTTP " + std::to_string(r.status);
    auto text = [](const json::object& o, std::string_view key) -> std::optional<std::string> {
        if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
            return std::string(v->as_string());
        }
        return std::nullopt;
    };
    if (!ec && body.is_object()) {
        const auto& o = body.as_object();
        if (auto oauth = text(o, "error")) {  // OAuth: {error, error_description}
            type = *oauth;
            description = text(o, "error_description").value_or(*oauth);
        } else if (auto t = text(o, "type")) {  // v2: {type, code, description, ...}
            type = *t;
            code = text(o, "code");
            description = text(o, "description").value_or(description);
        } else if (const auto* errors = o.if_contains("errors");
                   errors != nullptr && errors->is_array() && !errors->as_array().empty() &&
                   errors->as_array()[0].is_object()) {  // v3: {errors: [{type, code, detail}]}
            const auto& first = errors->as_array()[0].as_object();
            type = text(first, "type").value_or(type);
            code = text(first, "code");
            description = text(first, "detail").value_or(description);
        }
    }
    SmartcarError error(static_cast<int>(r.status), type, code, description);
    if (auto it = r.headers.find("retry-after"); it != r.headers.end()) {
        error.retry_after_s = std::clamp(std::atoi(it->second.c_str()), 0, 86'400);
    }
    if (auto it = r.headers.find("sc-request-id"); it != r.headers.end() && it->second.size() <= 64 &&
                                                   std::all_of(it->second.begin(), it->second.end(), [](char c) {
                                                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                                              c == '_';
                                                   })) {
        error.request_id = it->second;  // kept as is: support needs it, and it identifies a request, not a grant
    }
    return error;
}

json::value parse_body(const Client::Response& r) {
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    if (ec) {
        throw SmartcarError(static_cast<int>(r.status), "SDK_ERROR", std::nullopt, "Smartcar answered malformed JSON");
    }
    return body;
}

std::string string_at(const json::value& body, std::string_view key) {
    if (body.is_object()) {
        if (const auto* v = body.as_object().if_contains(key); v != nullptr && v->is_string()) {
            return std::string(v->as_string());
        }
    }
    throw SmartcarError(200, "SDK_ERROR", std::nullopt, "Smartcar's answer lacks " + std::string(key));
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Client::Response Client::call(const std::string& method,
                              const std::string& url,
                              const std::vector<std::string>& headers,
                              const std::string& body,
                              bool oauth) {
    thread_local std::mt19937_64 jitter(core::random_u64());
    std::chrono::milliseconds backoff = options_.backoff;
    HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = headers;
    request.headers.emplace_back("Accept: application/json");
    request.headers.emplace_back("User-Agent: motorpool/1.0 (+https://github.com/motorpool)");
    request.body = body;
    request.connect_timeout = options_.connect_timeout;
    request.timeout = options_.timeout;
    for (int attempt = 1;; ++attempt) {
        HttpResponse answer = perform(request);
        Response response{answer.status, std::move(answer.body), std::move(answer.headers)};
        std::optional<SmartcarError> failure;
        if (answer.status == 0) {
            failure.emplace(0, "NETWORK", std::nullopt, answer.error);
        } else {
            if (response.status >= 200 && response.status < 300) {
                return response;
            }
            failure.emplace(error_from(response));
        }
        // OAuth answers are final (a refresh must not be replayed); so are 4xx and rate limits.
        if (oauth && failure->status() != 0 && failure->status() < 500) {
            throw *failure;
        }
        if (!failure->retryable() || attempt >= options_.attempts) {
            throw *failure;
        }
        auto wait = std::chrono::milliseconds(
            std::uniform_int_distribution<std::int64_t>(backoff.count() / 2, backoff.count())(jitter));
        const std::string endpoint = url.substr(0, url.find('?'));
        core::log_event(spdlog::level::warn,
                        "smartcar call failed, retrying",
                        {{"method", method},
                         {"url", endpoint},
                         {"error", std::string_view(failure->what())},
                         {"smartcar_request_id", core::optional_field(failure->request_id)},
                         {"attempt", std::int64_t{attempt}},
                         {"attempts", std::int64_t{options_.attempts}},
                         {"retry_in_ms", static_cast<std::int64_t>(wait.count())}});
        std::this_thread::sleep_for(wait);
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
}

namespace {
std::string basic_header(const std::string& user, const std::string& password) {
    return "Authorization: Basic " + core::base64_encode(user + ":" + password);
}
TokenPair token_pair(const Client::Response& r) {
    json::value body = parse_body(r);
    TokenPair pair;
    pair.access_token = string_at(body, "access_token");
    pair.refresh_token = string_at(body, "refresh_token");
    if (const auto* e = body.as_object().if_contains("expires_in"); e != nullptr && e->is_number()) {
        pair.expires_in_s = e->to_number<std::int64_t>();
    } else {
        pair.expires_in_s = 7200;  // documented as always two hours
    }
    return pair;
}
}  // namespace

TokenPair Client::token_request(const std::string& form) {
    auto r = call(
        "POST",
        options_.origins.auth + "/oauth/token",
        {basic_header(options_.client_id, options_.client_secret), "Content-Type: application/x-www-form-urlencoded"},
        form,
        true);
    return token_pair(r);
}

TokenPair Client::exchange_code(const std::string& code) {
    return token_request("grant_type=authorization_code&code=" + core::percent_encode(code) +
                         "&redirect_uri=" + core::percent_encode(options_.redirect_uri));
}

TokenPair Client::refresh(const std::string& refresh_token) {
    return token_request("grant_type=refresh_token&refresh_token=" + core::percent_encode(refresh_token));
}

std::string Client::user_id(const std::string& access_token) {
    auto r = call("GET", options_.origins.api + "/v2.0/user", {"Authorization: Bearer " + access_token}, {}, false);
    return string_at(parse_body(r), "id");
}

std::vector<std::string> Client::paged_strings(const std::string& access_token,
                                               const std::string& url,
                                               std::string_view key,
                                               int page) {
    std::vector<std::string> out;
    for (int offset = 0; out.size() < 10'000; offset += page) {
        auto r = call("GET",
                      url + "?limit=" + std::to_string(page) + "&offset=" + std::to_string(offset),
                      {"Authorization: Bearer " + access_token},
                      {},
                      false);
        json::value body = parse_body(r);
        const auto* list = body.is_object() ? body.as_object().if_contains(key) : nullptr;
        if (list == nullptr || !list->is_array()) {
            throw SmartcarError(
                200, "SDK_ERROR", std::nullopt, "Smartcar's " + std::string(key) + " list is malformed");
        }
        for (const auto& item : list->as_array()) {
            if (item.is_string()) {
                out.emplace_back(item.as_string());
            }
        }
        std::int64_t count = static_cast<std::int64_t>(out.size());
        if (const auto* paging = body.as_object().if_contains("paging"); paging != nullptr && paging->is_object()) {
            if (const auto* c = paging->as_object().if_contains("count"); c != nullptr && c->is_number()) {
                count = c->to_number<std::int64_t>();
            }
        }
        if (list->as_array().empty() || static_cast<std::int64_t>(out.size()) >= count) {
            break;
        }
    }
    return out;
}

std::vector<std::string> Client::vehicle_ids(const std::string& access_token) {
    return paged_strings(access_token, options_.origins.api + "/v2.0/vehicles", "vehicles", 50);  // 50: the maximum
}

VehicleAttributes Client::attributes(const std::string& access_token, const std::string& vehicle_id) {
    auto r = call("GET",
                  options_.origins.api + "/v2.0/vehicles/" + vehicle_id,
                  {"Authorization: Bearer " + access_token, "SC-Unit-System: metric"},
                  {},
                  false);
    json::value body = parse_body(r);
    VehicleAttributes a;
    a.id = vehicle_id;
    if (body.is_object()) {
        const auto& o = body.as_object();
        if (const auto* v = o.if_contains("make"); v != nullptr && v->is_string()) {
            a.make = std::string(v->as_string());
        }
        if (const auto* v = o.if_contains("model"); v != nullptr && v->is_string()) {
            a.model = std::string(v->as_string());
        }
        if (const auto* v = o.if_contains("year"); v != nullptr && v->is_number()) {
            a.year = v->to_number<int>();
        }
    }
    return a;
}

std::optional<std::string> Client::vin(const std::string& access_token, const std::string& vehicle_id) {
    try {
        auto r = call("GET",
                      options_.origins.api + "/v2.0/vehicles/" + vehicle_id + "/vin",
                      {"Authorization: Bearer " + access_token},
                      {},
                      false);
        return string_at(parse_body(r), "vin");
    } catch (const SmartcarError& e) {
        if (e.status() == 403) {
            return std::nullopt;  // read_vin not granted
        }
        throw;
    }
}

std::vector<std::string> Client::permissions(const std::string& access_token, const std::string& vehicle_id) {
    return paged_strings(
        access_token, options_.origins.api + "/v2.0/vehicles/" + vehicle_id + "/permissions", "permissions", 25);
}

json::array Client::batch(const std::string& access_token,
                          const std::string& vehicle_id,
                          const std::vector<std::string>& paths) {
    json::array requests;
    for (const auto& p : paths) {
        requests.push_back(json::object{{"path", p}});
    }
    auto r = call("POST",
                  options_.origins.api + "/v2.0/vehicles/" + vehicle_id + "/batch",
                  {"Authorization: Bearer " + access_token, "Content-Type: application/json", "SC-Unit-System: metric"},
                  core::to_json_text(json::object{{"requests", std::move(requests)}}),
                  false);
    json::value body = parse_body(r);
    auto* responses = body.is_object() ? body.as_object().if_contains("responses") : nullptr;
    if (responses == nullptr || !responses->is_array()) {
        throw SmartcarError(200, "SDK_ERROR", std::nullopt, "Smartcar's batch answer is malformed");
    }
    return std::move(responses->as_array());
}

std::string Client::application_token() {
    std::lock_guard lock(app_token_mutex_);
    const std::int64_t now = core::now_ms();
    if (!app_token_.empty() && app_token_expires_ms_ > now + 60'000) {
        return app_token_;
    }
    std::string form = "grant_type=client_credentials&client_id=" + core::percent_encode(options_.client_id) +
                       "&client_secret=" + core::percent_encode(options_.client_secret);
    auto r = call("POST",
                  options_.origins.iam + "/oauth2/token",
                  {"Content-Type: application/x-www-form-urlencoded"},
                  form,
                  true);
    json::value body = parse_body(r);
    app_token_ = string_at(body, "access_token");
    std::int64_t expires_in = 3600;
    if (const auto* e = body.as_object().if_contains("expires_in"); e != nullptr && e->is_number()) {
        expires_in = e->to_number<std::int64_t>();
    }
    app_token_expires_ms_ = now + expires_in * 1000;
    return app_token_;
}

json::value Client::signals(const std::string& token,
                            const std::string& smartcar_user_id,
                            const std::string& vehicle_id) {
    std::vector<std::string> headers{"Authorization: Bearer " + token};
    if (!smartcar_user_id.empty()) {
        headers.push_back("sc-user-id: " + smartcar_user_id);
    }
    auto r = call("GET", options_.origins.api_v3 + "/v3/vehicles/" + vehicle_id + "/signals", headers, {}, false);
    json::value body = parse_body(r);
    const auto* data = body.is_object() ? body.as_object().if_contains("data") : nullptr;
    if (data == nullptr || !data->is_array()) {
        throw SmartcarError(200, "SDK_ERROR", std::nullopt, "Smartcar's signals answer is malformed");
    }
    return *data;
}

void Client::disconnect(const std::string& access_token, const std::string& vehicle_id) {
    call("DELETE",
         options_.origins.api + "/v2.0/vehicles/" + vehicle_id + "/application",
         {"Authorization: Bearer " + access_token},
         {},
         false);
}

void Client::subscribe(const std::string& access_token, const std::string& vehicle_id, const std::string& webhook_id) {
    call("POST",
         options_.origins.api + "/v2.0/vehicles/" + vehicle_id + "/webhooks/" + webhook_id,
         {"Authorization: Bearer " + access_token, "Content-Type: application/json"},
         {},
         false);
}

}  // namespace motorpool::smartcar
