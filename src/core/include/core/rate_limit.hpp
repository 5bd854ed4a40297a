#pragma once
// A per-key sliding-window rate limit on this node: at most `limit` events per key within any
// `window`. What the API limits this way (upload URLs, chat messages) answers 429 with the
// Retry-After this returns.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace motorpool::core {

class RateLimiter {
public:
    RateLimiter(std::int64_t limit, std::int64_t window_ms) : limit_(limit), window_ms_(window_ms) {}

    /// Counts an event for `key` at `now_ms` and returns 0, or, past the limit, counts nothing and
    /// returns how many whole seconds (at least 1) until one more would be allowed.
    int acquire(std::int64_t key, std::int64_t now_ms);

    std::int64_t limit() const { return limit_; }
    /// Keys held now (memory stays bounded: idle keys are dropped once there are many).
    std::size_t tracked_keys();

private:
    std::int64_t limit_;
    std::int64_t window_ms_;
    static constexpr std::size_t kSweepFloor = 100'000;
    std::size_t sweep_at_ = kSweepFloor;  // sweep idle keys when the map grows past this
    std::mutex mutex_;
    std::unordered_map<std::int64_t, std::deque<std::int64_t>> recent_;  // event times per key, oldest first
};

}  // namespace motorpool::core
