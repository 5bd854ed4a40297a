#pragma once
// Transport-neutral request/response types that handlers see (no Beast here, CONVENTIONS §3.2).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace motorpool::http {

class SpooledBody;
class BodySink;

enum class Method { Get, Head, Post, Put, Patch, Delete, Options, Other };

const char* method_name(Method method);
Method method_from_name(std::string_view name);

/// Who is calling, as established by the authentication hook.
struct Principal {
    std::int64_t user_id = 0;
    std::string subject;  // public user id
    std::string role;     // member | fleet_manager | support | admin
    std::int64_t expires_at_ms = 0;
    /// Set by a route's verifier before the upgrade is answered (OCPP): the order connections were
    /// admitted in, so the newest of two wins whatever order their handlers run in.
    std::int64_t admission = 0;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    Method method = Method::Get;
    std::string target;  // as received: path plus query
    std::string path;    // percent-decoded path
    std::string query;   // raw query string without '?'
    Headers headers;
    std::string body;  // empty on a route that streams its body: see `streamed`
    /// The body of a route with RouteOptions::spool_threshold, read while it arrived (limit enforced
    /// then), in memory or a temporary file; null on other routes.
    std::shared_ptr<const SpooledBody> streamed;
    /// The sink a route's RouteOptions::open_sink opened for this request, the body in it.
    std::shared_ptr<BodySink> sink;
    std::vector<std::pair<std::string, std::string>> path_params;
    std::string request_id;
    std::string remote_address;
    std::string route;  // the matched pattern, e.g. /api/v1/vehicles/{id}
    std::shared_ptr<const Principal> principal;
    /// Set by an internal dispatch only (src/compat), never from the network: the client profile a
    /// request came through. "legacy": an original service's client, whose sessions keep that
    /// service's documented terms (auth: non-rotating refresh tokens, 1 h / 7 days).
    std::string profile;

    /// Case-insensitive header lookup.
    std::optional<std::string_view> header(std::string_view name) const;
    /// A path parameter by name ("" when the route has none of that name).
    std::string_view param(std::string_view name) const;
    /// A decoded query parameter (first occurrence).
    std::optional<std::string> query_param(std::string_view name) const;
    /// An integer query parameter from min to max: `fallback` when absent; when malformed or out of
    /// range, `fallback` too, with an entry added to `errors` (for one 422 naming every parameter).
    std::int64_t query_integer(std::string_view name,
                               std::int64_t fallback,
                               std::int64_t min,
                               std::int64_t max,
                               std::vector<core::FieldError>& errors) const;
    /// The one Content-Type rule of every JSON route: 415 unless the media type is
    /// application/json or application/<subtype>+json, parameters allowed ("; charset=utf-8").
    void require_json_content_type() const;
    /// The body as a JSON object: require_json_content_type(), then 400 for malformed JSON, 422
    /// when it is not an object.
    boost::json::object json_object() const;
    /// The principal, or 401 when the request is anonymous.
    const Principal& require_principal() const;
};

/// A response body sent in pieces as it is read (a stored file), so it is never held whole.
class BodySource {
public:
    virtual ~BodySource() = default;
    /// The body's length (the Content-Length sent).
    virtual std::uint64_t size() const = 0;
    /// Blocking (called on a worker): fills `out` with the bytes from `offset`; how many (0 only
    /// past the end).
    virtual std::size_t read(std::uint64_t offset, std::span<char> out) = 0;
};

struct Response {
    int status = 200;
    std::string content_type;
    std::string body;
    Headers headers;
    /// When set, the body is streamed from it (and `body` is ignored).
    std::shared_ptr<BodySource> source;

    static Response json(const boost::json::value& value, int status = 200);
    static Response json_text(std::string body, int status = 200);
    static Response text(std::string body, std::string content_type = "text/plain; charset=utf-8", int status = 200);
    static Response no_content();
    Response& header(std::string name, std::string value);
};

using core::iequals;
using core::percent_decode;

}  // namespace motorpool::http
