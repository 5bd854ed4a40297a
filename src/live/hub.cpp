// The WebSocket hub: one reader loop and one writer loop per socket on the socket's executor, a
// bounded outbound queue, bus subscriptions per topic, authorisation at subscribe time.

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "http/websocket.hpp"
#include "http/websocket_sender.hpp"
#include "live/live.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::live {

namespace net = boost::asio;
namespace json = boost::json;

class Hub : public std::enable_shared_from_this<Hub> {
public:
    Hub(db::Database& database, core::EventBus& bus, core::MetricsRegistry* metrics, HubOptions options)
        : database_(database), bus_(bus), options_(options) {
        if (metrics != nullptr) {
            sockets_ = &metrics->gauge("motorpool_ws_sockets_open", "WebSocket connections open");
            subscriptions_ = &metrics->gauge("motorpool_ws_subscriptions", "Topic subscriptions open");
            frames_in_ = &metrics->counter("motorpool_ws_frames_total", "WebSocket frames", {{"direction", "in"}});
            frames_out_ = &metrics->counter("motorpool_ws_frames_total", "WebSocket frames", {{"direction", "out"}});
            dropped_ = &metrics->counter("motorpool_ws_slow_consumers_dropped_total",
                                         "Sockets closed because their outbound queue overflowed");
        }
    }

    net::awaitable<void> serve(http::Principal who,
                               std::shared_ptr<http::WebSocket> ws,
                               std::shared_ptr<const Dialect> dialect = nullptr,
                               std::vector<std::string> topics = {});

    void set_authenticator(http::Authenticator authenticator) { authenticator_ = std::move(authenticator); }

    void add_topic(std::string prefix, TopicAuthorizer authorizer) {
        topics_.emplace_back(std::move(prefix), std::move(authorizer));
    }
    void add_stream(std::string name, std::string bus_prefix, TopicAuthorizer authorizer) {
        streams_.push_back({std::move(name), std::move(bus_prefix), std::move(authorizer)});
    }
    bool is_connected(std::int64_t user_id) {
        std::lock_guard lock(users_mutex_);
        return sockets_per_user_.contains(user_id);
    }
    void add_frame(std::string type, FrameHandler handler) {
        frames_.emplace_back(std::move(type), std::make_shared<FrameHandler>(std::move(handler)));
    }

    struct Session;

private:
    net::awaitable<void> handle_frame(std::shared_ptr<Session> session, std::string text);
    net::awaitable<void> handle_native(std::shared_ptr<Session> session, std::string text);

    db::Database& database_;
    core::EventBus& bus_;
    HubOptions options_;
    std::vector<std::pair<std::string, TopicAuthorizer>> topics_;  // registered at startup only
    struct Stream {
        std::string name;        // the topic a client subscribes to ("fleet")
        std::string bus_prefix;  // every bus event under it is relayed ("vehicle.")
        TopicAuthorizer authorizer;
    };
    std::vector<Stream> streams_;                                                // registered at startup only
    std::vector<std::pair<std::string, std::shared_ptr<FrameHandler>>> frames_;  // registered at startup only
    http::Authenticator authenticator_;
    std::mutex users_mutex_;
    std::unordered_map<std::int64_t, std::size_t> sockets_per_user_;
    core::Gauge* sockets_ = nullptr;
    core::Gauge* subscriptions_ = nullptr;
    core::Counter* frames_in_ = nullptr;
    core::Counter* frames_out_ = nullptr;
    core::Counter* dropped_ = nullptr;
};

struct Hub::Session : std::enable_shared_from_this<Session> {
    Session(Hub& h,
            std::shared_ptr<http::WebSocket> socket,
            http::Principal who,
            std::shared_ptr<const Dialect> spoken = nullptr)
        : hub(h),
          out(std::move(socket), {h.options_.max_queued_frames, h.frames_out_, h.dropped_}),
          principal(std::move(who)),
          dialect(std::move(spoken)) {
        expiry_changed();
    }

    // Kept small: a hub holds one per open socket, mostly idle.
    Hub& hub;
    http::WebSocketSender out;  // the socket, its bounded queue and its writer
    http::Principal principal;
    std::map<std::string, core::EventBus::Subscription> subscriptions;
    std::shared_ptr<const Dialect> dialect;  // null: the hub's own frames

    // All members below run on the socket's executor (its I/O thread).
    bool closing() const { return out.closing(); }
    void send(std::string frame) {
        if (dialect) {
            boost::system::error_code ec;
            json::value parsed = json::parse(frame, ec);
            if (ec || !parsed.is_object()) {
                return;
            }
            auto translated = dialect->outbound(parsed.as_object());
            if (!translated) {
                return;
            }
            frame = std::move(*translated);
        }
        out.send(std::move(frame));
    }
    void begin_close(std::uint16_t code, std::string reason) { out.close(code, std::move(reason)); }

    /// A fresh token moved the expiry: the socket closes with 1008 at the new one.
    void expiry_changed() {
        out.set_deadline(
            principal.expires_at_ms, 1008, "access token expired; send AUTH with a fresh one before it does");
    }

    void error(std::string_view code, std::string_view message, const json::value& topic = nullptr) {
        send(core::to_json_text(
            json::object{{"type", "ERROR"}, {"code", code}, {"message", message}, {"topic", topic}}));
    }

    void unsubscribe_all() {
        if (hub.subscriptions_ != nullptr) {
            hub.subscriptions_->add(-static_cast<double>(subscriptions.size()));
        }
        subscriptions.clear();
    }
};

namespace {

// Server frames carry `type` (API.md) and the `topic` they were subscribed under (a stream's name
// for a stream), so a client with many subscriptions on one socket routes each frame: a payload
// published without a type gets the event's type in front.
std::string framed(const core::Event& e, const std::string& topic) {
    std::string out = "{";
    if (e.payload.rfind("{\"type\":", 0) != 0) {
        out += "\"type\":" + json::serialize(json::string(e.type)) + ",";
    }
    out += "\"topic\":" + json::serialize(json::string(topic));
    if (e.payload.size() > 2 && e.payload.front() == '{') {
        out += ',';
        out.append(e.payload, 1);
    } else {
        out += '}';
    }
    return out;
}

std::optional<std::string> string_field(const json::object& o, std::string_view name) {
    if (const auto* v = o.if_contains(name); v != nullptr && v->is_string()) {
        return std::string(v->as_string());
    }
    return std::nullopt;
}

}  // namespace

net::awaitable<void> Hub::serve(http::Principal who,
                                std::shared_ptr<http::WebSocket> ws,
                                std::shared_ptr<const Dialect> dialect,
                                std::vector<std::string> topics) {
    ws->set_read_limit(options_.max_frame_bytes);
    ws->set_idle_timeout(options_.idle_timeout);
    bool too_many = false;
    {
        std::lock_guard lock(users_mutex_);
        if (++sockets_per_user_[who.user_id] > options_.max_sockets_per_user) {
            --sockets_per_user_[who.user_id];
            too_many = true;
        }
    }
    if (too_many) {
        co_await ws->close(1008, "too many sockets for this user");
        co_return;
    }
    const std::int64_t user_id = who.user_id;
    auto session = std::make_shared<Session>(*this, ws, std::move(who), std::move(dialect));
    if (sockets_ != nullptr) {
        sockets_->add(1);
    }
    // The writer's end is observed, not detached: a failure in it is logged with the user.
    net::co_spawn(ws->executor(), session->out.run(session), [user_id](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("live: the socket writer of user {} failed: {}", user_id, e.what());
            }
        }
    });
    for (const auto& topic : topics) {  // a dialect's subscriptions from the start
        json::object subscribe;
        subscribe["type"] = "SUBSCRIBE";
        subscribe["topic"] = topic;
        std::string frame = core::to_json_text(subscribe);
        co_await handle_native(session, std::move(frame));
    }
    // This frame lives as long as the socket: the work per message happens in handle_frame's.
    while (!session->closing()) {
        auto message = co_await ws->read();
        if (!message) {
            break;  // closed by the peer, a dead peer (idle timeout), a frame over the limit (1009)
        }
        if (frames_in_ != nullptr) {
            frames_in_->inc();
        }
        co_await handle_frame(session, std::move(message->data));
    }
    session->unsubscribe_all();
    session->begin_close(1000, "");  // (a frame over the limit: Beast already closed with 1009)
    {
        std::lock_guard lock(users_mutex_);
        if (--sockets_per_user_[user_id] == 0) {
            sockets_per_user_.erase(user_id);
        }
    }
    if (sockets_ != nullptr) {
        sockets_->add(-1);
    }
}

net::awaitable<void> Hub::handle_frame(std::shared_ptr<Session> session, std::string text) {
    if (!session->dialect) {
        co_await handle_native(std::move(session), std::move(text));
        co_return;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        co_await handle_native(std::move(session), std::move(text));  // its ERROR, translated
        co_return;
    }
    for (const auto& frame : session->dialect->inbound(parsed.as_object())) {
        co_await handle_native(session, core::to_json_text(frame));
    }
}

net::awaitable<void> Hub::handle_native(std::shared_ptr<Session> session, std::string text) {
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        session->error("bad_frame", "frames are JSON objects with a type");
        co_return;
    }
    const json::object& frame = parsed.as_object();
    auto type = string_field(frame, "type").value_or("");
    if (type == "PING") {
        json::object pong{{"type", "PONG"}};
        if (const auto* id = frame.if_contains("id")) {
            pong["id"] = *id;
        }
        session->send(core::to_json_text(pong));
    } else if (type == "SUBSCRIBE" || type == "UNSUBSCRIBE") {
        auto topic = string_field(frame, "topic");
        if (!topic || topic->empty() || topic->size() > 200) {
            session->error("bad_frame", "topic must be a string of 1 to 200 characters");
            co_return;
        }
        if (type == "UNSUBSCRIBE") {
            if (session->subscriptions.erase(*topic) > 0 && subscriptions_ != nullptr) {
                subscriptions_->add(-1);
            }
            session->send(core::to_json_text(json::object{{"type", "UNSUBSCRIBED"}, {"topic", *topic}}));
            co_return;
        }
        if (session->subscriptions.contains(*topic)) {
            session->send(core::to_json_text(json::object{{"type", "SUBSCRIBED"}, {"topic", *topic}}));
            co_return;
        }
        if (session->subscriptions.size() >= options_.max_subscriptions) {
            session->error("limit",
                           "at most " + std::to_string(options_.max_subscriptions) + " subscriptions per socket",
                           json::value(*topic));
            co_return;
        }
        const TopicAuthorizer* authorizer = nullptr;
        std::string id;
        std::string bus_prefix = *topic;  // a topic is exact; a stream relays a whole prefix
        bool stream = false;
        for (const auto& [prefix, check] : topics_) {
            if (topic->size() > prefix.size() && topic->compare(0, prefix.size(), prefix) == 0) {
                authorizer = &check;
                id = topic->substr(prefix.size());
            }
        }
        for (const auto& s : streams_) {
            if (*topic == s.name) {
                authorizer = &s.authorizer;
                bus_prefix = s.bus_prefix;
                stream = true;
            }
        }
        if (authorizer == nullptr) {
            session->error("unknown_topic", "no such topic", json::value(*topic));
            co_return;
        }
        auto check = [authorizer, principal = session->principal, id] {
            try {
                (*authorizer)(principal, id);
                return std::string();
            } catch (const core::ApiError& e) {
                return std::string(e.status() == 403 ? "forbidden" : "not_found");
            }
        };
        std::string refused = co_await database_.workers().run(std::move(check));
        if (!refused.empty()) {
            session->error(refused,
                           refused == "forbidden" ? "not allowed to watch this topic" : "no such topic",
                           json::value(*topic));
            co_return;
        }
        std::weak_ptr<Session> weak = session;
        auto handler =
            [weak, topic = *topic, stream, executor = session->out.socket().executor()](const core::Event& event) {
                if (!stream && event.topic != topic) {
                    return;  // the bus matches prefixes; a topic is exact
                }
                net::post(executor, [weak, payload = framed(event, topic)] {
                    if (auto s = weak.lock()) {
                        s->send(payload);
                    }
                });
            };
        session->subscriptions.emplace(*topic, bus_.subscribe(bus_prefix, std::move(handler)));
        if (subscriptions_ != nullptr) {
            subscriptions_->add(1);
        }
        session->send(core::to_json_text(json::object{{"type", "SUBSCRIBED"}, {"topic", *topic}}));
    } else if (type == "AUTH") {
        auto token = string_field(frame, "token");
        std::shared_ptr<const http::Principal> fresh;
        if (token) {
            try {
                auto op = authenticator_(*token);
                fresh = co_await std::move(op);
            } catch (const core::ApiError&) {
            }
        }
        if (!fresh || fresh->user_id != session->principal.user_id) {
            session->error("unauthorized", "AUTH needs a valid access token of the same user");
            co_return;
        }
        session->principal.expires_at_ms = fresh->expires_at_ms;
        session->principal.role = fresh->role;
        session->expiry_changed();
        session->send(core::to_json_text(
            json::object{{"type", "AUTHENTICATED"}, {"expires_at", core::format_rfc3339(fresh->expires_at_ms)}}));
    } else if (auto it = std::find_if(frames_.begin(), frames_.end(), [&](const auto& f) { return f.first == type; });
               it != frames_.end()) {
        // A module's frame: handled on a worker; its answer or its refusal goes back to the sender.
        auto handler = it->second;
        auto run =
            [handler, principal = session->principal, frame = parsed.as_object()]() -> std::pair<bool, std::string> {
            try {
                return {true, (*handler)(principal, frame)};
            } catch (const core::ApiError& e) {
                const int s = e.status();
                const char* code = s == 404               ? "not_found"
                                   : s == 403             ? "forbidden"
                                   : s == 422 || s == 400 ? "invalid"
                                   : s == 429             ? "rate_limited"
                                   : s == 409             ? "conflict"
                                                          : "error";
                std::string message = e.detail();
                for (const auto& fe : e.errors()) {
                    message += (message.empty() ? "" : "; ") + fe.field + " " + fe.message;
                }
                return {false, std::string(code) + "\n" + message};
            }
        };
        auto [ok, answer] = co_await database_.workers().run(std::move(run));
        if (!ok) {
            const auto newline = answer.find('\n');
            session->error(answer.substr(0, newline), answer.substr(newline + 1));
        } else if (!answer.empty()) {
            session->send(answer);
        }
    } else {
        session->error("bad_frame", "unknown frame type; expected SUBSCRIBE, UNSUBSCRIBE, PING or AUTH");
    }
}

}  // namespace motorpool::live

namespace motorpool::live {

std::shared_ptr<Hub> install(http::Router& router,
                             db::Database& database,
                             core::EventBus& bus,
                             core::MetricsRegistry* metrics,
                             HubOptions options) {
    auto hub = std::make_shared<Hub>(database, bus, metrics, options);
    hub->set_authenticator(router.authenticator());
    // vehicle.<public id>: the owner, fleet managers and admins.
    hub->add_topic("vehicle.", [&database](const http::Principal& who, std::string_view id) {
        if (!core::is_uuid(id)) {
            throw core::ApiError::not_found("Vehicle");
        }
        const auth::Actor actor{who.user_id, auth::role_from_name(who.role).value_or(auth::Role::Member)};
        database.with_reader(
            [&](db::Connection& c) { return vehicles::vehicle_for(c, actor, id, auth::Access::Read); });
    });
    // fleet: every vehicle's events, for the staff who read every vehicle (as GET /fleet/vehicles).
    hub->add_stream("fleet", "vehicle.", [](const http::Principal& who, std::string_view) {
        if (!auth::sees_all_rows(auth::role_from_name(who.role).value_or(auth::Role::Member))) {
            throw core::ApiError::forbidden("The fleet topic is for fleet managers, support and admins");
        }
    });
    http::RouteOptions route;
    route.auth = http::Auth::Required;
    route.token_in_query = true;  // browsers cannot set headers on a WebSocket
    router.add_websocket(
        "/api/v1/ws",
        // Not a coroutine: the upgrade request is dropped once the principal is copied out.
        [hub](http::Request request, std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
            return hub->serve(request.require_principal(), std::move(ws));
        },
        route);
    return hub;
}

void add_dialect_socket(Hub& hub, http::Router& router, const std::string& path, Dialect dialect) {
    http::RouteOptions route;
    route.auth = http::Auth::Required;
    route.token_in_query = true;
    auto spoken = std::make_shared<const Dialect>(std::move(dialect));
    router.add_websocket(
        path,
        [hub = hub.shared_from_this(), spoken](http::Request request,
                                               std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
            std::vector<std::string> topics;
            if (spoken->topics) {
                topics = co_await spoken->topics(request);
            }
            co_await hub->serve(request.require_principal(), std::move(ws), spoken, std::move(topics));
        },
        route);
}

void add_topic(Hub& hub, std::string prefix, TopicAuthorizer authorizer) {
    hub.add_topic(std::move(prefix), std::move(authorizer));
}

void add_stream(Hub& hub, std::string name, std::string bus_prefix, TopicAuthorizer authorizer) {
    hub.add_stream(std::move(name), std::move(bus_prefix), std::move(authorizer));
}

void add_frame(Hub& hub, std::string type, FrameHandler handler) {
    hub.add_frame(std::move(type), std::move(handler));
}

bool is_connected(Hub& hub, std::int64_t user_id) {
    return hub.is_connected(user_id);
}

}  // namespace motorpool::live
