#pragma once
// Polls every vehicle of an active Smartcar connection at MOTORPOOL_SMARTCAR_POLL_INTERVAL (with
// jitter, so a fleet connected at once does not stay in step), a bounded number at a time: one
// batch request per vehicle on v2, /signals on v3, ingested with source `poll`. A RATE_LIMIT's
// Retry-After is remembered per vehicle and obeyed by every later call, polls and refreshes alike.
// Several nodes may run pollers: a vehicle is claimed with a compare-and-set on its next poll time.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smartcar/service.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::smartcar {

struct PollerOptions {
    std::chrono::milliseconds interval{30 * 60'000};
    int concurrency = 4;                    // vehicles polled at once
    std::chrono::milliseconds tick{1'000};  // how often due vehicles are looked for
};

class Poller {
public:
    Poller(SmartcarService& service, telemetry::Ingestor& ingestor, PollerOptions options);
    ~Poller();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;

    void start();
    void stop();

    /// Polls the vehicle now (`?refresh=true`), blocking. False when it has no active Smartcar
    /// connection. Throws core::ApiError: 429 while Smartcar's Retry-After runs, 502 on failure.
    bool poll_now(std::int64_t vehicle_id);

    std::int64_t polls() const;

    struct Due {
        std::string smartcar_vehicle_id;
        std::int64_t connection_id = 0;
        std::int64_t vehicle_id = 0;
        std::string vehicle_public_id;
        std::string smartcar_user_id;
    };

private:
    void schedule_loop();
    void work_loop();
    /// One poll; records the outcome on the vehicle's row. Rethrows Smartcar's failure.
    void poll(const Due& due);
    std::int64_t next_poll_time(std::int64_t now);

    SmartcarService& service_;
    telemetry::Ingestor& ingestor_;
    PollerOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Due> queue_;
    int busy_ = 0;
    bool stopping_ = false;
    std::thread scheduler_;
    std::vector<std::thread> workers_;
    std::atomic<std::int64_t> polls_{0};
};

}  // namespace motorpool::smartcar
