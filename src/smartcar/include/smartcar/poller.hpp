#pragma once
// Polls every vehicle of an active Smartcar connection at MOTORPOOL_SMARTCAR_POLL_INTERVAL (with
// jitter, so a fleet connected at once does not stay in step), a bounded number at a time: one
// batch request per vehicle on v2, /signals on v3, ingested with source `poll`. A RATE_LIMIT's
// Retry-After is remembered per vehicle and obeyed by every later call, polls and refreshes alike.
// Several nodes may run pollers: a vehicle is claimed with a compare-and-set on its next poll time.
// Polls run on the poller's own threads, never on the shared worker pool: a Smartcar that answers
// slowly or not at all (30 s timeouts, retries with back-off) must not hold the threads every
// request's database work needs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/worker_pool.hpp"
#include "jobs/jobs.hpp"
#include "smartcar/service.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::smartcar {

struct PollerOptions {
    std::chrono::milliseconds interval{30 * 60'000};
    int concurrency = 4;                    // vehicles polled at once (the poller's threads)
    std::chrono::milliseconds tick{1'000};  // how often (clock time) due vehicles are looked for
};

/// The scheduling runs as the job "smartcar.poll" (job()), every `tick` of clock time on every
/// node and at once after a connection (wake()); each claimed vehicle is polled on one of the
/// poller's own `concurrency` threads, so at most that many at a time per node.
class Poller {
public:
    Poller(SmartcarService& service, telemetry::Ingestor& ingestor, PollerOptions options);
    ~Poller();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;

    /// The scheduling job; `scheduler` is where wake() triggers it.
    jobs::JobSpec job(jobs::Scheduler& scheduler);
    /// Looks for due vehicles now (a connection was made).
    void wake();
    /// Lets claimed polls run again after a stop().
    void start();
    /// Claims nothing more and waits for the polls in flight (before the workers join).
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
    /// One scheduling pass: claims due vehicles (up to the room left) and hands each to a worker.
    void dispatch_due();
    /// One poll on a worker, its outcome logged.
    void run_poll(const Due& due);
    /// One poll; records the outcome on the vehicle's row. Rethrows Smartcar's failure.
    void poll(const Due& due);
    std::int64_t next_poll_time(std::int64_t now);

    SmartcarService& service_;
    telemetry::Ingestor& ingestor_;
    PollerOptions options_;
    jobs::Scheduler* scheduler_ = nullptr;
    std::mutex mutex_;
    std::condition_variable idle_;
    int in_flight_ = 0;
    bool stopping_ = false;
    std::atomic<std::int64_t> polls_{0};
    // Last: destroyed (joined) first, while everything a poll uses still exists.
    core::WorkerPool threads_;
};

}  // namespace motorpool::smartcar
