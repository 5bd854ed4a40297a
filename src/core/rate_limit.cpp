#include "core/rate_limit.hpp"

#include <algorithm>

namespace motorpool::core {

int RateLimiter::acquire(std::int64_t key, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto& times = recent_[key];
    while (!times.empty() && times.front() <= now_ms - window_ms_) {
        times.pop_front();
    }
    if (static_cast<std::int64_t>(times.size()) >= limit_) {
        const std::int64_t wait_ms = times.front() + window_ms_ - now_ms;
        return static_cast<int>(std::max<std::int64_t>(1, (wait_ms + 999) / 1000));
    }
    times.push_back(now_ms);
    // Bounded memory: keys with nothing recent are dropped once there are many. The next sweep
    // waits until the map has doubled again, so many active keys cost amortised O(1), not a sweep
    // per call.
    if (recent_.size() > sweep_at_) {
        std::erase_if(recent_, [&](const auto& entry) {
            return entry.second.empty() || entry.second.back() <= now_ms - window_ms_;
        });
        sweep_at_ = std::max(kSweepFloor, 2 * recent_.size());
    }
    return 0;
}

std::size_t RateLimiter::tracked_keys() {
    std::lock_guard lock(mutex_);
    return recent_.size();
}

}  // namespace motorpool::core
