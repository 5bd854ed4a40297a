#include "core/json.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value_stack.hpp>

#include "core/text.hpp"

namespace motorpool::core {

namespace {

bool has_non_finite(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_:
            return !std::isfinite(v.get_double());
        case boost::json::kind::array:
            for (const auto& item : v.get_array()) {
                if (has_non_finite(item)) {
                    return true;
                }
            }
            return false;
        case boost::json::kind::object:
            for (const auto& entry : v.get_object()) {
                if (has_non_finite(entry.value())) {
                    return true;
                }
            }
            return false;
        default:
            return false;
    }
}

// Boost.JSON's own value builder (detail::handler), except that doubles are read from their text
// with std::from_chars: Boost.JSON 1.81 rounds some long decimals one or two units in the last
// place off (found by fuzz/json_body; Boost 1.83 added exact parsing), from_chars is exact.
struct ExactHandler {
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();
    using error_code = boost::system::error_code;
    using string_view = boost::json::string_view;

    boost::json::value_stack st;
    std::string number;  // a number's text split over several writes (not with one write)

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return true; }
    bool on_object_end(std::size_t n, error_code&) {
        st.push_object(n);
        return true;
    }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) {
        st.push_array(n);
        return true;
    }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code&) {
        st.push_key(s);
        return true;
    }
    bool on_string_part(string_view s, std::size_t, error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(string_view s, std::size_t, error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(string_view s, error_code&) {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, string_view, error_code&) {
        number.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, string_view, error_code&) {
        number.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, string_view s, error_code&) {
        number.append(s.data(), s.size());
        double exact = 0;
        const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), exact);
        // Out of range (1e400) keeps Boost's value (infinity: refused below as it was before).
        if (error == std::errc() && end == number.data() + number.size()) {
            d = exact;
        }
        number.clear();
        st.push_double(d);
        return true;
    }
    bool on_bool(bool b, error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

boost::json::value parse_json(std::string_view body) {
    boost::json::parse_options options;
    options.max_depth = 32;
    boost::json::basic_parser<ExactHandler> parser(options);
    parser.handler().st.reset();
    boost::system::error_code ec;
    // write_some stops at the first error: what it consumed is where the error is.
    const std::size_t offset = parser.write_some(false, body.data(), body.size(), ec);
    if (!ec && offset < body.size()) {
        ec = boost::json::error::extra_data;
    }
    if (ec) {
        std::size_t line = 1;
        std::size_t column = 1;
        for (std::size_t i = 0; i < offset && i < body.size(); ++i) {
            if (body[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw ApiError(400,
                       "Bad Request",
                       "Malformed JSON at byte " + std::to_string(offset) + " (line " + std::to_string(line) +
                           ", column " + std::to_string(column) + "): " + ec.message(),
                       problem_type("malformed_json"));
    }
    boost::json::value value = parser.handler().st.release();
    if (has_non_finite(value)) {
        // 1e400 parses to infinity, which no handler can store or write back as JSON (found by
        // fuzz/json_body: it came back as null).
        throw ApiError(400,
                       "Bad Request",
                       "Malformed JSON: a number is beyond the range of a double",
                       problem_type("malformed_json"));
    }
    return value;
}

boost::json::object parse_json_object(std::string_view body) {
    boost::json::value value = parse_json(body);
    if (!value.is_object()) {
        throw ApiError::validation({{"body", "must be a JSON object"}});
    }
    return std::move(value.as_object());
}

FieldReader::FieldReader(const boost::json::object& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

std::string FieldReader::path(std::string_view field) const {
    return prefix_.empty() ? std::string(field) : prefix_ + "." + std::string(field);
}

void FieldReader::fail(std::string_view field, std::string message) {
    errors_.push_back({path(field), std::move(message)});
}

const boost::json::value* FieldReader::find(std::string_view field, Presence presence) {
    seen_.emplace(field);
    const auto* v = object_.if_contains(field);
    if (v == nullptr || v->is_null()) {
        if (presence == Presence::Required) {
            fail(field, "is required");
        }
        return nullptr;
    }
    return v;
}

const boost::json::value* FieldReader::value(std::string_view field, Presence presence) {
    return find(field, presence);
}

std::optional<std::string> FieldReader::string(
    std::string_view field, Presence presence, std::size_t min_length, std::size_t max_length, TextKind kind) {
    const auto* v = find(field, presence);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_string()) {
        fail(field, "must be a string");
        return std::nullopt;
    }
    std::string s(v->get_string());
    if (s.size() < min_length) {
        fail(field,
             min_length == 1 ? "must not be empty" : "must be at least " + std::to_string(min_length) + " characters");
        return std::nullopt;
    }
    if (auto problem = text_problem(s, max_length, kind); !problem.empty()) {
        fail(field, std::move(problem));
        return std::nullopt;
    }
    return s;
}

std::optional<std::int64_t> FieldReader::integer(std::string_view field,
                                                 Presence presence,
                                                 std::int64_t min,
                                                 std::int64_t max) {
    const auto* v = find(field, presence);
    if (v == nullptr) {
        return std::nullopt;
    }
    std::optional<std::int64_t> out;
    if (v->is_int64()) {
        out = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        out = static_cast<std::int64_t>(v->get_uint64());
    } else if (v->is_double() && std::nearbyint(v->get_double()) == v->get_double() &&
               std::abs(v->get_double()) < 9e15) {
        out = static_cast<std::int64_t>(v->get_double());
    }
    if (!out) {
        fail(field, "must be an integer");
        return std::nullopt;
    }
    if (*out < min || *out > max) {
        fail(field, "must be from " + std::to_string(min) + " to " + std::to_string(max));
        return std::nullopt;
    }
    return out;
}

std::optional<double> FieldReader::number(std::string_view field, Presence presence, double min, double max) {
    const auto* v = find(field, presence);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_number()) {
        fail(field, "must be a number");
        return std::nullopt;
    }
    double d = v->to_number<double>();
    if (!std::isfinite(d) || d < min || d > max) {
        auto text = [](double x) { return to_json_text(boost::json::value(x)); };  // 10000000, not 1e+07
        fail(field, "must be from " + text(min) + " to " + text(max));
        return std::nullopt;
    }
    return d;
}

std::optional<bool> FieldReader::boolean(std::string_view field, Presence presence) {
    const auto* v = find(field, presence);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_bool()) {
        fail(field, "must be true or false");
        return std::nullopt;
    }
    return v->get_bool();
}

void FieldReader::check_unknown() {
    for (const auto& kv : object_) {
        if (seen_.find(std::string_view(kv.key())) == seen_.end()) {
            fail(kv.key(), "is not a known field");
        }
    }
}

void FieldReader::finish(bool allow_unknown) {
    if (!allow_unknown) {
        check_unknown();
    }
    if (!errors_.empty()) {
        throw ApiError::validation(errors_);
    }
}

void FieldReader::finish_into(std::vector<FieldError>& errors, std::size_t cap) {
    check_unknown();
    for (auto& e : errors_) {
        if (errors.size() >= cap) {
            break;
        }
        errors.push_back(std::move(e));
    }
    errors_.clear();
}

namespace {

void append_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the stretch copied as is
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const char* escape = nullptr;
        switch (c) {
            case '"':
                escape = "\\\"";
                break;
            case '\\':
                escape = "\\\\";
                break;
            case '\b':
                escape = "\\b";
                break;
            case '\f':
                escape = "\\f";
                break;
            case '\n':
                escape = "\\n";
                break;
            case '\r':
                escape = "\\r";
                break;
            case '\t':
                escape = "\\t";
                break;
            default:
                if (c >= 0x80) {
                    // Whatever a database row holds, the text written is valid UTF-8: a byte that
                    // starts no well-formed sequence becomes U+FFFD (as WHATWG's decoder does).
                    if (const std::size_t n = utf8_sequence_length(text.substr(i)); n != 0) {
                        i += n - 1;
                        continue;
                    }
                    escape = "\\ufffd";
                } else if (c >= 0x20) {
                    continue;
                }
        }
        out.append(text.data() + run, i - run);
        run = i + 1;
        if (escape != nullptr) {
            out += escape;
        } else {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
    out.append(text.data() + run, text.size() - run);
    out += '"';
}

void append_double(std::string& out, double d, WholeDoubles whole) {
    if (!std::isfinite(d)) {
        out += "null";  // as JSON.stringify does
        return;
    }
    if (d == 0) {
        out += whole == WholeDoubles::KeepFraction ? "0.0" : "0";  // also -0
        return;
    }
    char buf[64];
    const double magnitude = std::fabs(d);
    if (magnitude >= 1e-6 && magnitude < 1e21) {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
        out.append(buf, end);
        if (whole == WholeDoubles::KeepFraction && std::string_view(buf, end).find('.') == std::string_view::npos) {
            out += ".0";
        }
        return;
    }
    // JavaScript's exponent form: 1e+21, 1.5e-7 (no zero padding).
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view text(buf, static_cast<std::size_t>(end - buf));
    auto e = text.find('e');
    out.append(text.substr(0, e + 2));  // mantissa, 'e', sign
    std::string_view digits = text.substr(e + 2);
    while (digits.size() > 1 && digits.front() == '0') {
        digits.remove_prefix(1);
    }
    out.append(digits);
}

}  // namespace

void append_json_text(std::string& out, const boost::json::value& value, WholeDoubles whole) {
    switch (value.kind()) {
        case boost::json::kind::null:
            out += "null";
            break;
        case boost::json::kind::bool_:
            out += value.get_bool() ? "true" : "false";
            break;
        case boost::json::kind::int64: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value.get_int64());
            out.append(buf, end);
            break;
        }
        case boost::json::kind::uint64: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value.get_uint64());
            out.append(buf, end);
            break;
        }
        case boost::json::kind::double_:
            append_double(out, value.get_double(), whole);
            break;
        case boost::json::kind::string:
            append_string(out, value.get_string());
            break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& item : value.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json_text(out, item, whole);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& member : value.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_string(out, member.key());
                out += ':';
                append_json_text(out, member.value(), whole);
            }
            out += '}';
            break;
        }
    }
}

std::string to_json_text(const boost::json::value& value, WholeDoubles whole) {
    std::string out;
    out.reserve(256);
    append_json_text(out, value, whole);
    return out;
}

}  // namespace motorpool::core
