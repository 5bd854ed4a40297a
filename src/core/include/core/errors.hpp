#pragma once
// Client-visible failures (ApiError -> RFC 9457 problem+json) and invariant checks.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace motorpool::core {

/// One invalid request field, as listed in a 422 problem's `errors` array.
struct FieldError {
    std::string field;
    std::string message;
};

/// Input a command was given and refused: a file that cannot be read, a CSV without a vin column,
/// an unknown --owner, an e-mail address already taken. The command line exits 5 for it.
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "urn:motorpool:problem:<kind>": the stable problem type a client branches on (RFC 9457 §3.1.1),
/// listed in the OpenAPI document's ProblemType schema.
std::string problem_type(std::string_view kind);
/// The type of a problem that has nothing more specific: one per status ("validation" for 422,
/// "not_found" for 404, ...), "about:blank" for a status without one.
std::string default_problem_type(int status);

/// A failure the client is told about. Thrown by handlers and services; turned into
/// application/problem+json in one place (http::Router's dispatch).
class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string title, std::string detail = {}, std::string type = {});

    int status() const { return status_; }
    const std::string& title() const { return title_; }
    const std::string& detail() const { return detail_; }
    /// Problem type URI: the one given, else default_problem_type(status).
    const std::string& type() const { return type_; }
    const std::vector<FieldError>& errors() const { return errors_; }
    /// Extra response headers (Retry-After, Allow, WWW-Authenticate).
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

    ApiError& with_errors(std::vector<FieldError> errors);
    ApiError& with_header(std::string name, std::string value);
    /// An extension member of the problem body (RFC 9457 §3.2), e.g. an upstream's error code;
    /// a null value when `value` is empty.
    ApiError& with_member(std::string name, std::string value);
    const std::vector<std::pair<std::string, std::string>>& members() const { return members_; }

    static ApiError bad_request(std::string detail);
    static ApiError unauthorized(std::string detail = "Authentication required");
    static ApiError forbidden(std::string detail = "Not allowed");
    static ApiError not_found(std::string what);
    static ApiError method_not_allowed(const std::string& allow);
    /// `kind` names what conflicts: "vin_taken", "email_taken", "dongle_taken"; "conflict" otherwise.
    static ApiError conflict(std::string detail, std::string_view kind = "conflict");
    static ApiError payload_too_large(std::size_t limit_bytes);
    static ApiError unsupported_media_type(const std::string& expected);
    static ApiError validation(std::vector<FieldError> errors);
    static ApiError too_many_requests(int retry_after_seconds);
    static ApiError unavailable(std::string detail, int retry_after_seconds = 1);

private:
    int status_;
    std::string title_;
    std::string detail_;
    std::string type_;
    std::vector<FieldError> errors_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::vector<std::pair<std::string, std::string>> members_;
};

/// Standard reason phrase for an HTTP status ("Not Found").
const char* status_title(int status);

/// RFC 9457 body: {"type","title","status","detail","instance","request_id"[,"errors"]}.
std::string problem_json(const ApiError& error, std::string_view instance, std::string_view request_id);

[[noreturn]] void check_failed(const char* expr, const char* file, int line);

}  // namespace motorpool::core

/// Always-on invariant: logs and aborts when false ("cannot continue").
#define MP_CHECK(expr) ((expr) ? static_cast<void>(0) : ::motorpool::core::check_failed(#expr, __FILE__, __LINE__))
