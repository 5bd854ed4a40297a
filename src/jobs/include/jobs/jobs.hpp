#pragma once
// Background jobs: one scheduler for every module's periodic or triggered work, run on the worker
// pool, timed by the App's clock, counted in metrics, and, for jobs that must run on one node of a
// cluster, guarded by a lease row in the database (docs/decisions.md).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"

namespace motorpool::jobs {

/// This module's migrations (src/jobs/migrations: the lease table).
std::vector<db::Migration> migrations(db::Dialect dialect);

struct JobSpec {
    std::string name;                          // "telemetry.retention": metrics label and lease name
    std::chrono::milliseconds interval{0};     // clock time from one run's start to the next; 0: on trigger only
    std::chrono::milliseconds first_after{0};  // clock time from start() to the first run
    bool one_node = false;                     // at most one node of the cluster runs it per interval
    /// The work: blocking, on a worker thread. `stopping` turns true when the scheduler stops; a
    /// long run checks it. An exception counts as a failure and is logged; the next run is as usual.
    std::function<void(const std::atomic<bool>& stopping)> run;
};

struct JobStats {
    std::int64_t runs = 0;  // completed, with or without failure
    std::int64_t failures = 0;
    std::int64_t skipped = 0;                     // one_node jobs another node held the lease of
    std::optional<std::int64_t> last_success_ms;  // clock time
};

class Scheduler {
public:
    /// `node_id` names this process in leases. The scheduler's thread looks at the clock every
    /// `tick` of real time (and at once on trigger()).
    Scheduler(core::WorkerPool& workers,
              db::Database& database,
              std::shared_ptr<core::Clock> clock,
              core::MetricsRegistry* metrics,
              std::string node_id,
              std::chrono::milliseconds tick = std::chrono::seconds(1));
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Before start().
    void add(JobSpec spec);
    /// Runs the job as soon as it is not running (a trigger during a run queues one more run).
    void trigger(const std::string& name);
    void start();
    /// Stops scheduling, tells running jobs, waits for them, and gives back this node's leases.
    void stop();

    JobStats stats(const std::string& name) const;
    /// Times the scheduler looked at the clock (tests wait on it).
    std::int64_t ticks() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// Takes or renews the lease of `name` for `holder` until `until_ms` when it is free, expired at
/// `now_ms` or already the holder's. True when `holder` holds it now.
bool take_lease(
    db::Connection& c, const std::string& name, const std::string& holder, std::int64_t now_ms, std::int64_t until_ms);

}  // namespace motorpool::jobs
