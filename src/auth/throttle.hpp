#pragma once
// Failed-attempt throttling per key (an e-mail address, a client address): after `free_attempts`
// failures within the window, each further failure doubles a lockout, up to `max_lockout_ms`.
// In-process (per node); a success clears the key.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace motorpool::auth {

class Throttle {
public:
    Throttle(int free_attempts, std::int64_t window_ms, std::int64_t max_lockout_ms)
        : free_attempts_(free_attempts), window_ms_(window_ms), max_lockout_ms_(max_lockout_ms) {}

    /// Milliseconds until `key` may try again (0: now).
    std::int64_t retry_after_ms(const std::string& key, std::int64_t now_ms);
    void record_failure(const std::string& key, std::int64_t now_ms);
    void record_success(const std::string& key);

private:
    struct Entry {
        int failures = 0;
        std::int64_t first_failure_ms = 0;
        std::int64_t locked_until_ms = 0;
    };
    void prune(std::int64_t now_ms);

    int free_attempts_;
    std::int64_t window_ms_;
    std::int64_t max_lockout_ms_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::int64_t last_prune_ms_ = 0;
};

}  // namespace motorpool::auth
