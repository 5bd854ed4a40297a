#pragma once
// `motorpool watch`: a WebSocket client for the live feed, for operators and the README walkthrough.

#include <chrono>
#include <cstdint>
#include <string>

namespace motorpool::app {

struct WatchCommand {
    std::string topic;                          // "vehicle.<id>", "fleet", ...
    std::string url = "http://127.0.0.1:8000";  // the server (http:// only)
    std::string token;                          // an access token (or MOTORPOOL_TOKEN)
    std::int64_t count = 0;                     // stop after this many event frames (0: never)
    std::chrono::seconds timeout{0};            // stop after this long (0: never)
};

/// Subscribes to `topic` and prints every frame the server sends, one JSON object per line.
/// Exit status: 0 (stopped by --count, --timeout or the server closing), 2 for a bad --url, 5 when
/// the token or the subscription is refused, 1 when the server cannot be reached.
int run_watch(const WatchCommand& command);

}  // namespace motorpool::app
