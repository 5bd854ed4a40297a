#pragma once
// Smartcar's HTTP API from our side (libcurl; blocking: call it on the worker pool). v2.0 with
// per-user tokens, or v3 (an application token plus sc-user-id) for signals. Bounded timeouts,
// jittered retries on network errors, 5xx and UPSTREAM; RATE_LIMIT is never retried here: it is
// thrown with its Retry-After for the caller to remember per vehicle.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace motorpool::smartcar {

struct Origins {
    std::string api;         // v2.0 vehicles, user
    std::string auth;        // /oauth/token
    std::string connect;     // /oauth/authorize
    std::string api_v3;      // /v3/vehicles
    std::string management;  // /v2.0/management/connections
    std::string iam;         // /oauth2/token (v3 application tokens)
};

struct ClientOptions {
    std::string client_id;
    std::string client_secret;
    std::string redirect_uri;
    std::string management_token;
    Origins origins;
    int api_version = 2;
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds timeout{30'000};
    int attempts = 3;                        // per call, for retryable failures
    std::chrono::milliseconds backoff{250};  // first retry after about this, then doubling, jittered
    std::chrono::milliseconds max_backoff{4'000};
};

/// A failure reported by Smartcar (its error body) or on the way to it (status 0: network).
/// Upstream text made safe to store, log and answer: anything token-shaped (16+ token characters
/// with letters and digits) becomes "[redacted]", control characters become spaces, at most
/// `max_bytes` long.
std::string scrub_upstream_text(std::string_view text, std::size_t max_bytes);

/// A failure Smartcar reported (or the network). Type, code and description are scrubbed
/// (scrub_upstream_text) when made, so what() and every stored last_error are safe to show.
class SmartcarError : public std::runtime_error {
public:
    SmartcarError(int status, std::string type, std::optional<std::string> code, std::string description);
    const char* what() const noexcept override;
    int status() const { return status_; }
    const std::string& type() const {
        return type_;
    }  // "RATE_LIMIT", "AUTHENTICATION", OAuth's "invalid_grant", "NETWORK"
    const std::optional<std::string>& code() const { return code_; }
    const std::string& description() const { return description_; }
    int retry_after_s = 0;  // RATE_LIMIT: Retry-After in seconds
    std::string request_id;

    bool is_rate_limit() const { return status_ == 429; }
    bool is_authentication() const { return status_ == 401; }
    bool is_invalid_grant() const { return type_ == "invalid_grant"; }
    /// Worth retrying: network trouble, 5xx, UPSTREAM.
    bool retryable() const;

private:
    int status_;
    std::string type_;
    std::optional<std::string> code_;
    std::string description_;
    std::string message_;
};

struct TokenPair {
    std::string access_token;
    std::string refresh_token;
    std::int64_t expires_in_s = 0;
};

struct VehicleAttributes {
    std::string id;
    std::string make;
    std::string model;
    std::optional<int> year;
};

class Client {
public:
    explicit Client(ClientOptions options);

    const ClientOptions& options() const { return options_; }

    TokenPair exchange_code(const std::string& code);
    TokenPair refresh(const std::string& refresh_token);
    std::string user_id(const std::string& access_token);
    /// Every page of /vehicles.
    std::vector<std::string> vehicle_ids(const std::string& access_token);
    VehicleAttributes attributes(const std::string& access_token, const std::string& vehicle_id);
    /// nullopt when the grant lacks read_vin (403 PERMISSION).
    std::optional<std::string> vin(const std::string& access_token, const std::string& vehicle_id);
    /// The permissions the user granted (every page).
    std::vector<std::string> permissions(const std::string& access_token, const std::string& vehicle_id);
    /// The batch answer's items, as Smartcar wrote them: {path, code, body, headers}.
    boost::json::array batch(const std::string& access_token,
                             const std::string& vehicle_id,
                             const std::vector<std::string>& paths);
    /// v3: the vehicle's signals (the "data" array). `token` is an application token with
    /// `smartcar_user_id`, or a user's v2 token (empty user id).
    boost::json::value signals(const std::string& token,
                               const std::string& smartcar_user_id,
                               const std::string& vehicle_id);
    /// An application token for v3 (client credentials), cached until shortly before it expires.
    std::string application_token();
    void disconnect(const std::string& access_token, const std::string& vehicle_id);
    void subscribe(const std::string& access_token, const std::string& vehicle_id, const std::string& webhook_id);

    struct Response {
        long status = 0;
        std::string body;
        std::map<std::string, std::string> headers;  // lower-case names
    };

private:
    /// POST /oauth/token with client authentication; OAuth answers are never retried.
    TokenPair token_request(const std::string& form);
    /// Every page of a {<key>: [strings], paging: {count, offset}} list.
    std::vector<std::string> paged_strings(const std::string& access_token,
                                           const std::string& url,
                                           std::string_view key,
                                           int page);
    Response call(const std::string& method,
                  const std::string& url,
                  const std::vector<std::string>& headers,
                  const std::string& body,
                  bool oauth);

    ClientOptions options_;
    std::mutex app_token_mutex_;
    std::string app_token_;
    std::int64_t app_token_expires_ms_ = 0;
};

}  // namespace motorpool::smartcar
