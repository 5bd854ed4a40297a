// OCPP-J frames and OCPP 1.6 payloads as a charge point sends them: the frame parser (CALL,
// CALLRESULT, CALLERROR, and what is none of them) and the schema check of every action's request
// and confirmation (Valijson over the official schemas). What the parser accepts, written again,
// parses to the same frame; every problem it names can be answered with a CALLERROR that parses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "ocpp/frames.hpp"
#include "ocpp/schemas.hpp"
#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;
namespace ocpp = motorpool::charging::ocpp;

namespace {

const char* const kActions[] = {"BootNotification",
                                "Heartbeat",
                                "StatusNotification",
                                "MeterValues",
                                "StartTransaction",
                                "StopTransaction",
                                "Authorize",
                                "SetChargingProfile",
                                "RemoteStartTransaction",
                                "DataTransfer",
                                "ChangeConfiguration"};

}  // namespace

int motorpool::fuzz::ocpp_frame(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return -1;
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ocpp::Schemas& schemas = ocpp::Schemas::instance();
    auto parsed = ocpp::parse_frame(text);
    if (auto* problem = std::get_if<ocpp::FrameProblem>(&parsed)) {
        if (!problem->ignore && !problem->id.empty()) {
            // The answer echoes the id as sent (a charger correlates by it, even one past the 36
            // characters OCPP allows): [4, id, code, description, {}] in valid JSON.
            boost::system::error_code ec;
            const auto answer =
                boost::json::parse(ocpp::error_text(problem->id, problem->code, problem->description), ec);
            const bool shaped = !ec && answer.is_array() && answer.get_array().size() == 5 &&
                                answer.get_array()[0] == 4 && answer.get_array()[1].is_string() &&
                                answer.get_array()[1].get_string() == problem->id && answer.get_array()[4].is_object();
            if (!shaped) {
                fuzz::fail("a CALLERROR the server would send is not one", text);
            }
        }
        return 0;
    }
    const ocpp::Frame& frame = std::get<ocpp::Frame>(parsed);
    if (frame.type == ocpp::MessageType::Call) {
        if (schemas.knows(frame.action)) {
            (void)schemas.check(frame.action, ocpp::Direction::Request, frame.payload);
        }
        auto again = ocpp::parse_frame(ocpp::call_text(frame.id, frame.action, frame.payload));
        auto* same = std::get_if<ocpp::Frame>(&again);
        if (same == nullptr || same->id != frame.id || same->action != frame.action || same->payload != frame.payload) {
            fuzz::fail("a CALL written again parses differently", text);
        }
    } else if (frame.type == ocpp::MessageType::CallResult) {
        for (const char* action : kActions) {
            (void)schemas.check(action, ocpp::Direction::Confirmation, frame.payload);
        }
        auto again = ocpp::parse_frame(ocpp::result_text(frame.id, frame.payload));
        auto* same = std::get_if<ocpp::Frame>(&again);
        if (same == nullptr || same->id != frame.id || same->payload != frame.payload) {
            fuzz::fail("a CALLRESULT written again parses differently", text);
        }
    }
    return 0;
}
