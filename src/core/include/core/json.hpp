#pragma once
// Request-body parsing: strict JSON, and a field reader that names every invalid field.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace motorpool::core {

/// Parses a request body; throws ApiError 400 naming the position of the syntax error.
/// Depth is limited to 32 so a hostile body cannot exhaust the stack.
boost::json::value parse_json(std::string_view body);

/// Parses a body that must be a JSON object (400 when not JSON, 422 when not an object).
boost::json::object parse_json_object(std::string_view body);

/// How to_json_text writes a double with no fraction.
enum class WholeDoubles {
    AsJavaScript,  // 80: exactly JSON.stringify's text (bodies a client re-serialises to verify)
    KeepFraction,  // 80.0: a reader still sees a real number (our API's answers)
};

/// Compact JSON text as JavaScript's JSON.stringify writes it: numbers in their shortest
/// round-trip form without exponent between 1e-6 and 1e21 (55.5, not Boost's 5.55E1), only the
/// required escapes, keys in insertion order. Signatures over a body stay verifiable by clients
/// that re-serialise what they parsed (Smartcar's Node SDK does).
std::string to_json_text(const boost::json::value& value, WholeDoubles whole = WholeDoubles::AsJavaScript);
void append_json_text(std::string& out, const boost::json::value& value, WholeDoubles whole);

enum class Presence { Required, Optional };

/// Reads fields of one JSON object, gathering every problem, then finish() throws one 422
/// listing them all (including fields the endpoint does not know, unless allowed).
/// Boost.JSON's described-struct conversion cannot name the failing field (CONVENTIONS §2.5).
class FieldReader {
public:
    explicit FieldReader(const boost::json::object& object, std::string prefix = {});

    /// A string held to core::text_problem()'s rule: valid UTF-8, no control characters (but line
    /// breaks and tabs in MultiLine), `min_length` bytes to `max_length` characters.
    std::optional<std::string> string(std::string_view field,
                                      Presence presence,
                                      std::size_t min_length = 0,
                                      std::size_t max_length = 1024,
                                      TextKind kind = TextKind::SingleLine);
    std::optional<std::int64_t> integer(std::string_view field,
                                        Presence presence,
                                        std::int64_t min = INT64_MIN,
                                        std::int64_t max = INT64_MAX);
    std::optional<double> number(std::string_view field, Presence presence, double min = -1e300, double max = 1e300);
    std::optional<bool> boolean(std::string_view field, Presence presence);
    /// Any JSON value; null counts as absent.
    const boost::json::value* value(std::string_view field, Presence presence);

    /// Records a problem with a field (for checks the typed readers cannot express).
    void fail(std::string_view field, std::string message);
    bool ok() const { return errors_.empty(); }
    const std::vector<FieldError>& errors() const { return errors_; }

    /// Throws ApiError::validation when any field failed or an unknown field is present.
    void finish(bool allow_unknown = false);
    /// For an object in a list: moves its problems, unknown fields included, into `errors` (at most
    /// `cap` in all), so one 422 can name the problems of every item.
    void finish_into(std::vector<FieldError>& errors, std::size_t cap);

private:
    const boost::json::value* find(std::string_view field, Presence presence);
    void check_unknown();
    std::string path(std::string_view field) const;

    const boost::json::object& object_;
    std::string prefix_;
    std::set<std::string, std::less<>> seen_;
    std::vector<FieldError> errors_;
};

}  // namespace motorpool::core
