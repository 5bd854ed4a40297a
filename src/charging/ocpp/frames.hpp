#pragma once
// OCPP-J 1.6 RPC frames (OCPP-J §4): CALL [2,id,action,{}], CALLRESULT [3,id,{}], CALLERROR
// [4,id,code,description,{}], and the one mapping of CALLERROR codes (1.6 spellings sent, the 2.0.1
// and double-r spellings accepted).

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

namespace motorpool::charging::ocpp {

enum class ErrorCode {
    NotImplemented,
    NotSupported,
    InternalError,
    ProtocolError,
    SecurityError,
    FormationViolation,
    PropertyConstraintViolation,
    OccurenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
};

/// The 1.6 spelling ("FormationViolation", "OccurenceConstraintViolation").
const char* error_code_name(ErrorCode code);
/// Any spelling a peer may send (FormatViolation, OccurrenceConstraintViolation, ...); an unknown
/// one is GenericError.
ErrorCode error_code_from(std::string_view name);

enum class MessageType { Call = 2, CallResult = 3, CallError = 4 };

struct Frame {
    MessageType type = MessageType::Call;
    std::string id;
    std::string action;                              // CALL
    boost::json::value payload;                      // CALL, CALLRESULT: an object
    ErrorCode error_code = ErrorCode::GenericError;  // CALLERROR
    std::string error_description;                   // CALLERROR
};

/// Why a message is not a frame, and what to answer: a CALLERROR when its id could be read
/// (empty `id`: none could, nothing to answer), or nothing for an unknown message type (ignored,
/// OCPP-J §4.1.3).
struct FrameProblem {
    std::string id;
    ErrorCode code = ErrorCode::FormationViolation;
    std::string description;
    bool ignore = false;
};

/// Parses one WebSocket text message.
std::variant<Frame, FrameProblem> parse_frame(std::string_view text);

std::string call_text(std::string_view id, std::string_view action, const boost::json::value& payload);
std::string result_text(std::string_view id, const boost::json::value& payload);
std::string error_text(std::string_view id, ErrorCode code, std::string_view description);

}  // namespace motorpool::charging::ocpp
