#include "core/json.hpp"

#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

namespace motorpool::core {

boost::json::value parse_json(std::string_view body) {
    boost::json::parse_options options;
    options.max_depth = 32;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(body, ec, {}, options);
    if (ec) {
        throw ApiError::bad_request("Malformed JSON: " + ec.message());
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

std::optional<std::string> FieldReader::string(std::string_view field,
                                               Presence presence,
                                               std::size_t min_length,
                                               std::size_t max_length) {
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
    if (s.size() > max_length) {
        fail(field, "must be at most " + std::to_string(max_length) + " characters");
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
        fail(field, "is out of range");
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

void FieldReader::finish(bool allow_unknown) {
    if (!allow_unknown) {
        for (const auto& kv : object_) {
            if (seen_.find(std::string_view(kv.key())) == seen_.end()) {
                fail(kv.key(), "is not a known field");
            }
        }
    }
    if (!errors_.empty()) {
        throw ApiError::validation(errors_);
    }
}

}  // namespace motorpool::core
