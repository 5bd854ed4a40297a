// One scheduler thread decides what is due (by the App's clock, looked at every tick); the work runs
// on the worker pool; one_node jobs run only under their lease row.

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/threads.hpp"
#include "jobs/jobs.hpp"

namespace motorpool::jobs {

bool take_lease(
    db::Connection& c, const std::string& name, const std::string& holder, std::int64_t now_ms, std::int64_t until_ms) {
    // One statement, so two nodes racing for the row serialise on it: the loser's WHERE sees the
    // winner's unexpired lease and updates nothing.
    return !c.query(
                 "INSERT INTO job_leases (name, holder, until_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE "
                 "SET holder = excluded.holder, until_ms = excluded.until_ms WHERE job_leases.until_ms <= $4 OR "
                 "job_leases.holder = excluded.holder RETURNING holder",
                 {name, holder, until_ms, now_ms})
                .empty();
}

struct Scheduler::Impl : std::enable_shared_from_this<Scheduler::Impl> {
    struct Job {
        JobSpec spec;
        std::int64_t due_ms = 0;
        bool running = false;
        bool triggered = false;
        JobStats stats;
        core::Counter* runs = nullptr;
        core::Counter* failures = nullptr;
        core::Counter* skipped = nullptr;
        core::Gauge* duration = nullptr;
    };

    Impl(core::WorkerPool& w,
         db::Database& d,
         std::shared_ptr<core::Clock> c,
         core::MetricsRegistry* m,
         std::string n,
         std::chrono::milliseconds t)
        : workers(w),
          database(d),
          clock(c ? std::move(c) : std::make_shared<core::SystemClock>()),
          metrics(m),
          node(std::move(n)),
          tick(t) {}

    core::WorkerPool& workers;
    db::Database& database;
    std::shared_ptr<core::Clock> clock;
    core::MetricsRegistry* metrics;
    std::string node;
    std::chrono::milliseconds tick;

    mutable std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable idle;
    std::map<std::string, std::unique_ptr<Job>> jobs;
    std::atomic<bool> stopping{false};
    int running = 0;
    bool leases_released = false;
    std::atomic<std::int64_t> ticks{0};
    std::thread thread;

    bool runnable_trigger() const {
        for (const auto& [name, job] : jobs) {
            if (job->triggered && !job->running) {
                return true;
            }
        }
        return false;
    }

    void loop() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            const std::int64_t now = clock->now_ms();
            ticks.fetch_add(1);
            for (auto& [name, job] : jobs) {
                const bool periodic = job->spec.interval.count() > 0;
                if (job->running || !(job->triggered || (periodic && now >= job->due_ms))) {
                    continue;
                }
                job->triggered = false;
                if (periodic) {
                    job->due_ms = now + job->spec.interval.count();
                }
                job->running = true;
                ++running;
                workers.post([self = shared_from_this(), j = job.get(), now] { self->run(*j, now); });
            }
            wake.wait_for(lock, tick, [&] { return stopping.load() || runnable_trigger(); });
        }
    }

    void run(Job& job, std::int64_t now) {
        bool mine = true;
        if (job.spec.one_node) {
            const std::int64_t hold = job.spec.interval.count() > 0 ? job.spec.interval.count() : 60'000;
            try {
                mine = database.with_transaction(
                    [&](db::Connection& c) { return take_lease(c, job.spec.name, node, now, now + hold); });
            } catch (const std::exception& e) {
                spdlog::warn("job {}: cannot take its lease ({}); skipped", job.spec.name, e.what());
                mine = false;
            }
        }
        bool failed = false;
        std::chrono::duration<double> took{0};
        if (mine) {
            const auto started = std::chrono::steady_clock::now();
            try {
                job.spec.run(stopping);
            } catch (const std::exception& e) {
                failed = true;
                spdlog::warn("job {} failed: {}", job.spec.name, e.what());
            }
            took = std::chrono::steady_clock::now() - started;
        }
        std::lock_guard lock(mutex);
        if (!mine) {
            ++job.stats.skipped;
            inc(job.skipped);
        } else {
            ++job.stats.runs;
            inc(job.runs);
            if (failed) {
                ++job.stats.failures;
                inc(job.failures);
            } else {
                job.stats.last_success_ms = clock->now_ms();
            }
            if (job.duration != nullptr) {
                job.duration->set(took.count());
            }
        }
        job.running = false;
        --running;
        idle.notify_all();
        wake.notify_one();  // a trigger that came during the run
    }

    static void inc(core::Counter* counter) {
        if (counter != nullptr) {
            counter->inc();
        }
    }
};

Scheduler::Scheduler(core::WorkerPool& workers,
                     db::Database& database,
                     std::shared_ptr<core::Clock> clock,
                     core::MetricsRegistry* metrics,
                     std::string node_id,
                     std::chrono::milliseconds tick)
    : impl_(std::make_shared<Impl>(workers, database, std::move(clock), metrics, std::move(node_id), tick)) {}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::add(JobSpec spec) {
    auto job = std::make_unique<Impl::Job>();
    const core::Labels labels{{"job", spec.name}};
    if (impl_->metrics != nullptr) {
        job->runs = &impl_->metrics->counter("motorpool_job_runs_total", "Background job runs", labels);
        job->failures =
            &impl_->metrics->counter("motorpool_job_failures_total", "Background job runs that failed", labels);
        job->skipped = &impl_->metrics->counter(
            "motorpool_job_skipped_total", "Runs left to the node holding the job's lease", labels);
        job->duration =
            &impl_->metrics->gauge("motorpool_job_last_duration_seconds", "How long the job's last run took", labels);
    }
    job->spec = std::move(spec);
    std::lock_guard lock(impl_->mutex);
    const std::string name = job->spec.name;
    impl_->jobs[name] = std::move(job);
}

void Scheduler::trigger(const std::string& name) {
    {
        std::lock_guard lock(impl_->mutex);
        auto it = impl_->jobs.find(name);
        if (it == impl_->jobs.end()) {
            return;
        }
        it->second->triggered = true;
    }
    impl_->wake.notify_one();
}

void Scheduler::start() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->thread.joinable()) {
        return;
    }
    const std::int64_t now = impl_->clock->now_ms();
    for (auto& [name, job] : impl_->jobs) {
        job->due_ms = now + job->spec.first_after.count();
    }
    impl_->thread = std::thread([impl = impl_] {
        core::name_this_thread("mp-jobs");
        impl->loop();
    });
}

void Scheduler::stop() {
    impl_->stopping = true;
    impl_->wake.notify_all();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    bool held = false;
    {
        std::unique_lock lock(impl_->mutex);
        impl_->idle.wait(lock, [&] { return impl_->running == 0; });
        for (const auto& [name, job] : impl_->jobs) {
            held = held || job->spec.one_node;
        }
        if (!held || impl_->leases_released) {
            return;
        }
        impl_->leases_released = true;
    }
    // A node that stops gives its leases back: another node (or this one, restarted) need not
    // wait for them to expire.
    try {
        impl_->database.with_transaction(
            [&](db::Connection& c) { c.execute("DELETE FROM job_leases WHERE holder = $1", {impl_->node}); });
    } catch (const std::exception& e) {
        spdlog::warn(
            "jobs: could not give back the leases of {} ({}); they expire on their own", impl_->node, e.what());
    }
}

JobStats Scheduler::stats(const std::string& name) const {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->jobs.find(name);
    return it == impl_->jobs.end() ? JobStats{} : it->second->stats;
}

std::int64_t Scheduler::ticks() const {
    return impl_->ticks.load();
}

}  // namespace motorpool::jobs
