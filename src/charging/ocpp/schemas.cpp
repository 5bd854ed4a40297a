#include "schemas.hpp"

#include <cmath>
#include <map>
#include <stdexcept>

#include <boost/json.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace motorpool::charging::generated {
const std::pair<std::string_view, std::string_view>* kOcppSchemas_data();  // NOLINT(readability-identifier-naming)
std::size_t kOcppSchemas_count();                                          // NOLINT(readability-identifier-naming)
}  // namespace motorpool::charging::generated

namespace motorpool::charging::ocpp {

namespace json = boost::json;

struct Schemas::Impl {
    std::map<std::string, valijson::Schema, std::less<>> schemas;  // "Authorize.req", "Authorize.conf"
    std::map<std::string, double, std::less<>> multiples;          // property name -> multipleOf
};

namespace {

std::string_view ocpp16_text() {
    const auto* files = generated::kOcppSchemas_data();
    for (std::size_t i = 0; i < generated::kOcppSchemas_count(); ++i) {
        if (files[i].first.find("ocpp1_6.json") != std::string_view::npos) {
            return files[i].second;
        }
    }
    throw std::runtime_error("the OCPP 1.6 schemas are not embedded");
}

// ocpp-rpc's mapping of a schema keyword to a CALLERROR code (OCPP.md §5.3), read from Valijson's
// description of the failing constraint.
ErrorCode classify(const std::string& description) {
    auto has = [&](std::string_view text) { return description.find(text) != std::string::npos; };
    if (has("Missing required property") || has("Missing dependency")) {
        return ErrorCode::OccurenceConstraintViolation;
    }
    if (has("'additionalProperties'") || has("'pattern'") || has("additional properties")) {
        return ErrorCode::PropertyConstraintViolation;
    }
    if (has("'type' constraint") || has("could not be converted")) {
        return ErrorCode::TypeConstraintViolation;
    }
    return ErrorCode::FormationViolation;  // lengths, bounds, enumerations, formats, multiples
}

// Valijson reports a failure from the leaf outwards ("Failed to validate against schema associated
// with property name ..." wraps it): the first message that is not such a wrapper is the cause.
bool is_wrapper(const std::string& description) {
    return description.rfind("Failed to validate against schema associated", 0) == 0 ||
           description.rfind("Failed to validate item #", 0) == 0 ||
           description.rfind("Failed to validate against child schema", 0) == 0 ||
           description.rfind("Cannot validate item #", 0) == 0;
}

// Valijson checks multipleOf exactly, so 16.0 is not a multiple of 0.1 in binary floating point;
// ocpp-rpc (and any sane reading of the schema) allows 1e-6. The constraint is taken out of the
// schemas as they load (it sits only on limit and minChargingRate) and checked here by name.
void take_multiples(json::value& node, std::map<std::string, double, std::less<>>& multiples) {
    if (node.is_object()) {
        auto& o = node.as_object();
        if (auto* props = o.if_contains("properties"); props != nullptr && props->is_object()) {
            for (auto& [name, schema] : props->as_object()) {
                if (schema.is_object()) {
                    if (const auto* m = schema.as_object().if_contains("multipleOf")) {
                        multiples[std::string(name)] = m->to_number<double>();
                        schema.as_object().erase("multipleOf");
                    }
                }
            }
        }
        for (auto& [key, child] : o) {
            take_multiples(child, multiples);
        }
    } else if (node.is_array()) {
        for (auto& child : node.as_array()) {
            take_multiples(child, multiples);
        }
    }
}

std::optional<std::string> check_multiples(const json::value& node,
                                           const std::map<std::string, double, std::less<>>& multiples,
                                           const std::string& path) {
    if (node.is_object()) {
        for (const auto& [key, child] : node.as_object()) {
            const std::string here = path.empty() ? std::string(key) : path + "." + std::string(key);
            if (auto it = multiples.find(std::string_view(key)); it != multiples.end() && child.is_number()) {
                const double ratio = child.to_number<double>() / it->second;
                if (std::fabs(ratio - std::round(ratio)) > 1e-6) {
                    return here + ": Value should be a multiple of " + json::serialize(json::value(it->second));
                }
            }
            if (auto inner = check_multiples(child, multiples, here)) {
                return inner;
            }
        }
    } else if (node.is_array()) {
        std::size_t i = 0;
        for (const auto& child : node.as_array()) {
            if (auto inner = check_multiples(child, multiples, path + "[" + std::to_string(i++) + "]")) {
                return inner;
            }
        }
    }
    return std::nullopt;
}

std::string path_of(const std::vector<std::string>& context) {
    std::string out;
    for (const auto& part : context) {
        if (part == "<root>") {
            continue;
        }
        std::string p = part;
        if (p.size() >= 2 && p.front() == '[' && p.back() == ']') {
            p = p.substr(1, p.size() - 2);
            if (!p.empty() && std::isdigit(static_cast<unsigned char>(p.front()))) {
                out += "[" + p + "]";
                continue;
            }
        }
        out += (out.empty() ? "" : ".") + p;
    }
    return out;
}

}  // namespace

Schemas::Schemas(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Schemas::~Schemas() = default;

const Schemas& Schemas::instance() {
    static const Schemas schemas = [] {
        auto impl = std::make_unique<Impl>();
        json::value all = json::parse(ocpp16_text());
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        for (auto& item : all.as_array()) {
            take_multiples(item, impl->multiples);
            const auto& object = item.as_object();
            std::string id(object.at("$id").as_string());
            if (id.rfind("urn:", 0) == 0) {
                id = id.substr(4);
            }
            valijson::adapters::BoostJsonAdapter adapter(item);
            parser.populateSchema(adapter, impl->schemas[id]);
        }
        return Schemas(std::move(impl));
    }();
    return schemas;
}

bool Schemas::knows(std::string_view action) const {
    return impl_->schemas.find(std::string(action) + ".req") != impl_->schemas.end();
}

std::optional<Violation> Schemas::check(std::string_view action,
                                        Direction direction,
                                        const json::value& payload) const {
    auto it = impl_->schemas.find(std::string(action) + (direction == Direction::Request ? ".req" : ".conf"));
    if (it == impl_->schemas.end()) {
        return Violation{ErrorCode::NotImplemented, "Unknown action " + std::string(action)};
    }
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    valijson::adapters::BoostJsonAdapter target(payload);
    if (validator.validate(it->second, target, &results)) {
        if (auto bad = check_multiples(payload, impl_->multiples, "")) {
            return Violation{ErrorCode::FormationViolation, *bad};
        }
        return std::nullopt;
    }
    valijson::ValidationResults::Error error;
    std::optional<valijson::ValidationResults::Error> cause;
    while (results.popError(error)) {
        if (!cause && !is_wrapper(error.description)) {
            cause = error;
        }
    }
    if (!cause) {
        return Violation{ErrorCode::FormationViolation,
                         "The payload does not match the schema of " + std::string(action)};
    }
    const std::string path = path_of(cause->context);
    return Violation{classify(cause->description), (path.empty() ? "" : path + ": ") + cause->description};
}

}  // namespace motorpool::charging::ocpp
