#include "throttle.hpp"

#include <algorithm>

namespace motorpool::auth {

std::int64_t Throttle::retry_after_ms(const std::string& key, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return 0;
    }
    return std::max<std::int64_t>(0, it->second.locked_until_ms - now_ms);
}

void Throttle::record_failure(const std::string& key, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    prune(now_ms);
    Entry& e = entries_[key];
    if (e.failures == 0 || now_ms - e.first_failure_ms > window_ms_) {
        e = Entry{0, now_ms, 0};
    }
    ++e.failures;
    if (e.failures >= free_attempts_) {
        const int doublings = std::min(e.failures - free_attempts_, 20);
        const std::int64_t lockout = std::min<std::int64_t>(max_lockout_ms_, 1000LL << doublings);
        e.locked_until_ms = now_ms + lockout;
    }
}

void Throttle::record_success(const std::string& key) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
}

void Throttle::prune(std::int64_t now_ms) {
    // Bounded memory: forget keys whose window and lockout are over, at most once a minute.
    if (now_ms - last_prune_ms_ < 60'000) {
        return;
    }
    last_prune_ms_ = now_ms;
    std::erase_if(entries_, [&](const auto& kv) {
        return now_ms - kv.second.first_failure_ms > window_ms_ && kv.second.locked_until_ms <= now_ms;
    });
}

}  // namespace motorpool::auth
