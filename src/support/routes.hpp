#pragma once
// What the support module's routes share, and their installation.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/event_bus.hpp"
#include "core/rate_limit.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "live/live.hpp"
#include "notify/notify.hpp"

namespace motorpool::support {

struct Services {
    Services(db::Database& database_,
             core::EventBus& events_,
             std::shared_ptr<core::Clock> clock_,
             live::Hub& hub_,
             notify::Notifier& notifier_,
             std::int64_t messages_per_minute)
        : database(database_),
          events(events_),
          clock(std::move(clock_)),
          hub(hub_),
          notifier(notifier_),
          messages(messages_per_minute, 60'000) {}

    db::Database& database;
    core::EventBus& events;
    std::shared_ptr<core::Clock> clock;
    live::Hub& hub;              // who is connected (a reply to a member who is not is notified)
    notify::Notifier& notifier;  // how: e-mail today
    core::RateLimiter messages;  // messages and new threads per user per minute (this node's count)

    // The last TYPING relayed per (user, thread) on this node (the rate limit).
    std::mutex typing_mutex;
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> last_typing;
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// The chat's client frames on the WebSocket hub: SEND, TYPING, READ.
void install_frames(live::Hub& hub, const std::shared_ptr<Services>& services);

}  // namespace motorpool::support
