#pragma once
// Live updates: the WebSocket endpoint GET /api/v1/ws. Clients SUBSCRIBE to topics
// ("vehicle.<id>", later "charging.session.<id>", "grid.cluster.<id>", "chat.thread.<id>"), each
// authorised when subscribed; events from the bus reach them as frames. Contract: the "Live
// updates" section of shared/design/API.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "db/db.hpp"
#include "http/request.hpp"
#include "http/router.hpp"

namespace motorpool::live {

struct HubOptions {
    std::size_t max_frame_bytes = 64 * 1024;  // larger incoming frames close with 1009
    std::size_t max_queued_frames = 1024;     // outbound backlog before a slow client is dropped (1013)
    std::size_t max_subscriptions = 100;      // per socket
    std::size_t max_sockets_per_user = 20;    // further upgrades are refused (429)
    std::chrono::seconds idle_timeout{60};    // server pings; a peer silent this long is dropped
};

/// Decides whether a principal may subscribe to one topic; runs on a worker (may query the database).
/// Throws core::ApiError (404 / 403) to refuse.
using TopicAuthorizer = std::function<void(const http::Principal&, std::string_view id)>;

class Hub;

/// Mounts GET /api/v1/ws and subscribes to the bus. Modules register their topic prefixes with
/// add_topic (the registry's "vehicle." is registered here).
std::shared_ptr<Hub> install(http::Router& router,
                             db::Database& database,
                             core::EventBus& bus,
                             core::MetricsRegistry* metrics,
                             HubOptions options = {});

/// Registers a topic prefix ("charging.session.") and who may subscribe to its topics.
void add_topic(Hub& hub, std::string prefix, TopicAuthorizer authorizer);
/// Registers a stream: the topic `name` relays every bus event under `bus_prefix` ("fleet" relays
/// "vehicle."), to those `authorizer` lets in.
void add_stream(Hub& hub, std::string name, std::string bus_prefix, TopicAuthorizer authorizer);

/// Handles a client frame type a module adds (chat's SEND, TYPING, READ). Runs on a worker (may
/// use the database) with the sender and the frame; returns a frame for the sender (JSON object
/// text) or "" for none. Throwing core::ApiError answers an ERROR frame (`code` from its status:
/// not_found, forbidden, invalid, rate_limited, conflict, error) and the socket lives on.
using FrameHandler = std::function<std::string(const http::Principal&, const boost::json::object& frame)>;
void add_frame(Hub& hub, std::string type, FrameHandler handler);

/// Another protocol spoken over the hub (src/compat's original chat socket): each client frame
/// becomes the hub frames `inbound` returns (none: dropped), each frame for the client passes
/// `outbound` (nullopt: not sent), and the topics `topics` names for the upgrade's caller are
/// subscribed when the socket opens. Subscriptions, authorisation, limits and frame handlers
/// stay the hub's.
struct Dialect {
    std::function<std::vector<boost::json::object>(const boost::json::object& frame)> inbound;
    std::function<std::optional<std::string>(const boost::json::object& frame)> outbound;
    std::function<boost::asio::awaitable<std::vector<std::string>>(const http::Request& upgrade)> topics;
};
/// Mounts a WebSocket at `path` speaking `dialect` (the token as a bearer header or ?token=).
void add_dialect_socket(Hub& hub, http::Router& router, const std::string& path, Dialect dialect);

/// True when the user has a WebSocket open to this node.
bool is_connected(Hub& hub, std::int64_t user_id);

}  // namespace motorpool::live
