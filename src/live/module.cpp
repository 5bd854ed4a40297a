#include "live/module.hpp"

namespace motorpool::live {

void Module::configure(core::Settings& s) {
    s.module("live");
    options_.max_sockets_per_user = static_cast<std::size_t>(
        s.integer("MOTORPOOL_WS_MAX_SOCKETS_PER_USER", 20, 1, 1'000'000, "Open WebSockets per user (429 beyond)"));
    auto idle = s.duration("MOTORPOOL_WS_IDLE_TIMEOUT",
                           std::chrono::seconds(60),
                           "Whole seconds; pinged, a peer silent this long is dropped",
                           std::chrono::seconds(1),
                           std::chrono::hours(1));
    if (idle.count() % 1000 != 0) {
        s.fail("MOTORPOOL_WS_IDLE_TIMEOUT", "must be whole seconds between 1s and 1h");
    }
    options_.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(idle);
}

void Module::install(platform::Context& context) {
    hub_ = live::install(context.router, context.database, context.events, &context.metrics, options_);
}

}  // namespace motorpool::live
