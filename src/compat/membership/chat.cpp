// membership-auto's chat WebSocket: /chat/ws?token=, its frames (SEND {threadId, body,
// attachments?}, TYPING {threadId}; MESSAGE {type, id, threadId, body, sender, timestamp},
// TYPING {type, user, threadId}) spoken over motorpool's live hub as a dialect: the hub's own
// SEND and TYPING handlers, subscriptions and authorisation do the work.

#include <boost/json.hpp>

#include "core/json.hpp"
#include "forward.hpp"
#include "surfaces.hpp"

namespace motorpool::compat {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

std::optional<std::string> text(const json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::optional(std::string(v->as_string())) : std::nullopt;
}

/// The original's frame as the hub's: a SEND first subscribes its thread (the original delivered
/// every thread of the user's on the one socket; threads opened after the socket are joined so).
std::vector<json::object> inbound(const json::object& frame) {
    const auto type = text(frame, "type").value_or("");
    const auto thread = text(frame, "threadId");
    if (type == "SEND") {
        json::object send{{"type", "SEND"}};
        if (thread) {
            send["thread_id"] = *thread;
        }
        for (const char* name : {"body", "attachments"}) {
            if (const auto* v = frame.if_contains(name)) {
                send[name] = *v;
            }
        }
        if (!thread) {
            return {send};  // the hub's handler says what is missing
        }
        return {json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + *thread}}, send};
    }
    if (type == "TYPING") {
        json::object typing{{"type", "TYPING"}};
        if (thread) {
            typing["thread_id"] = *thread;
        }
        return {typing};
    }
    if (type == "PING") {
        return {frame};
    }
    return {};  // the original ignored other frames
}

std::optional<std::string> outbound(const json::object& frame) {
    const auto type = text(frame, "type").value_or("");
    if (type == "MESSAGE") {
        const bool member = frame.contains("sender_role") && frame.at("sender_role") == "member";
        return core::to_json_text(json::object{{"type", "MESSAGE"},
                                               {"id", frame.at("id")},
                                               {"threadId", frame.at("thread_id")},
                                               {"body", frame.at("body")},
                                               {"sender", member ? "user" : "support"},
                                               {"timestamp", frame.at("created_at")},
                                               {"attachments", frame.at("attachments")}});
    }
    if (type == "TYPING") {
        return core::to_json_text(json::object{{"type", "TYPING"},
                                               {"user", frame.contains("user_id") ? frame.at("user_id") : nullptr},
                                               {"threadId", frame.at("thread_id")}});
    }
    if (type == "ERROR") {
        // The original answered a malformed frame {"error": "Invalid JSON"}; the hub's other
        // refusals (a thread not the user's, a blank body) keep their message.
        const bool malformed = frame.contains("code") && frame.at("code") == "bad_frame";
        return core::to_json_text(
            json::object{{"error", malformed ? json::value("Invalid JSON") : frame.at("message")}});
    }
    if (type == "PONG") {
        return core::to_json_text(frame);
    }
    return std::nullopt;  // SUBSCRIBED, SENT, …: the hub's bookkeeping, not the original's
}

}  // namespace

void install_membership_chat(http::Router& router, live::Hub& hub, const std::string& prefix) {
    http::Router* r = &router;
    live::Dialect dialect;
    dialect.inbound = inbound;
    dialect.outbound = outbound;
    // Every thread the user sees (their own; support's: the newest 100) from the start.
    dialect.topics = [r](const http::Request& upgrade) -> net::awaitable<std::vector<std::string>> {
        auto answer = co_await forward(
            *r, upgrade, http::Method::Get, "/api/v1/chat/threads", "page_size=100", "", upgrade.principal);
        std::vector<std::string> topics;
        if (answer.status != 200) {
            co_return topics;
        }
        const auto body = body_of(answer);
        for (const auto& t : body.as_object().at("items").as_array()) {
            topics.push_back("chat.thread." + std::string(t.as_object().at("id").as_string()));
        }
        co_return topics;
    };
    live::add_dialect_socket(hub, router, prefix + "/chat/ws", std::move(dialect));
}

}  // namespace motorpool::compat
