#include "frames.hpp"

#include <array>
#include <utility>

#include <boost/json.hpp>

#include "core/json.hpp"

namespace motorpool::charging::ocpp {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<ErrorCode, const char*>, 10> kNames{{
    {ErrorCode::NotImplemented, "NotImplemented"},
    {ErrorCode::NotSupported, "NotSupported"},
    {ErrorCode::InternalError, "InternalError"},
    {ErrorCode::ProtocolError, "ProtocolError"},
    {ErrorCode::SecurityError, "SecurityError"},
    {ErrorCode::FormationViolation, "FormationViolation"},
    {ErrorCode::PropertyConstraintViolation, "PropertyConstraintViolation"},
    {ErrorCode::OccurenceConstraintViolation, "OccurenceConstraintViolation"},
    {ErrorCode::TypeConstraintViolation, "TypeConstraintViolation"},
    {ErrorCode::GenericError, "GenericError"},
}};

constexpr std::size_t kMaxIdLength = 36;

}  // namespace

const char* error_code_name(ErrorCode code) {
    for (const auto& [c, name] : kNames) {
        if (c == code) {
            return name;
        }
    }
    return "GenericError";
}

ErrorCode error_code_from(std::string_view name) {
    for (const auto& [c, n] : kNames) {
        if (name == n) {
            return c;
        }
    }
    if (name == "FormatViolation") {
        return ErrorCode::FormationViolation;  // OCPP 2.0.1's name
    }
    if (name == "OccurrenceConstraintViolation") {
        return ErrorCode::OccurenceConstraintViolation;  // the corrected spelling ocpp-rpc sends
    }
    return ErrorCode::GenericError;
}

std::variant<Frame, FrameProblem> parse_frame(std::string_view text) {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    json::value value = json::parse(text, ec, {}, options);
    if (ec || !value.is_array()) {
        return FrameProblem{"", ErrorCode::FormationViolation, "Not a JSON array", false};
    }
    auto& a = value.as_array();
    if (a.empty() || !a[0].is_int64()) {
        return FrameProblem{"", ErrorCode::FormationViolation, "The message type is not a number", false};
    }
    const std::int64_t type = a[0].as_int64();
    if (type < 2 || type > 4) {
        return FrameProblem{"", ErrorCode::FormationViolation, "Unknown message type", true};
    }
    if (a.size() < 2 || !a[1].is_string()) {
        return FrameProblem{"", ErrorCode::FormationViolation, "The unique id is not a string", false};
    }
    std::string id(a[1].as_string());
    if (id.empty() || id.size() > kMaxIdLength) {
        // Answered with the id as sent (it is all the peer can match), the length named.
        return FrameProblem{id, ErrorCode::FormationViolation, "The unique id must be 1 to 36 characters", false};
    }
    Frame f;
    f.type = static_cast<MessageType>(type);
    f.id = std::move(id);
    switch (f.type) {
        case MessageType::Call:
            if (a.size() == 3 && a[2].is_string()) {
                // OCPP-J table 7: "payload for Action is incomplete" is a ProtocolError.
                return FrameProblem{f.id, ErrorCode::ProtocolError, "The CALL carries no payload", false};
            }
            if (a.size() != 4 || !a[2].is_string()) {
                return FrameProblem{f.id, ErrorCode::FormationViolation, "A CALL is [2, id, action, payload]", false};
            }
            if (!a[3].is_object()) {
                return FrameProblem{f.id, ErrorCode::FormationViolation, "The payload must be an object", false};
            }
            f.action = std::string(a[2].as_string());
            f.payload = std::move(a[3]);
            return f;
        case MessageType::CallResult:
            if (a.size() != 3 || !a[2].is_object()) {
                return FrameProblem{f.id, ErrorCode::FormationViolation, "A CALLRESULT is [3, id, payload]", false};
            }
            f.payload = std::move(a[2]);
            return f;
        case MessageType::CallError:
            if (a.size() != 5 || !a[2].is_string() || !a[3].is_string() || !a[4].is_object()) {
                return FrameProblem{
                    f.id, ErrorCode::FormationViolation, "A CALLERROR is [4, id, code, description, details]", false};
            }
            f.error_code = error_code_from(a[2].as_string());
            f.error_description = std::string(a[3].as_string());
            return f;
    }
    return FrameProblem{"", ErrorCode::FormationViolation, "Unknown message type", true};
}

std::string call_text(std::string_view id, std::string_view action, const json::value& payload) {
    json::array a{2, json::string(id), json::string(action), payload.is_null() ? json::value(json::object{}) : payload};
    return core::to_json_text(a);
}

std::string result_text(std::string_view id, const json::value& payload) {
    json::array a{3, json::string(id), payload.is_null() ? json::value(json::object{}) : payload};
    return core::to_json_text(a);
}

std::string error_text(std::string_view id, ErrorCode code, std::string_view description) {
    json::array a{4, json::string(id), error_code_name(code), json::string(description), json::object{}};
    return core::to_json_text(a);
}

}  // namespace motorpool::charging::ocpp
