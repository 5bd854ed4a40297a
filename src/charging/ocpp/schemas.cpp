#include "schemas.hpp"

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
        for (const auto& item : all.as_array()) {
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
