// History retention: batched deletes through the primary key, on a thread of its own.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/threads.hpp"
#include "core/time.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {

using db::Connection;

std::int64_t prune_history(db::Database& database,
                           std::int64_t retention_days,
                           std::int64_t now_ms,
                           std::int64_t batch) {
    if (retention_days <= 0) {
        return 0;
    }
    const std::int64_t cutoff = now_ms - retention_days * 86'400'000;
    // The (vehicle, signal) pairs are exactly the latest-value rows; each pair's old history is a
    // key range of the history table, deleted a batch per transaction.
    auto pairs = database.with_reader(
        [](Connection& c) { return c.query("SELECT vehicle_id, signal_id FROM signal_latest ORDER BY 1, 2"); });
    std::int64_t deleted = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::int64_t vehicle = pairs.row(i).int64(0);
        const std::int64_t signal = pairs.row(i).int64(1);
        while (true) {
            std::int64_t n = database.with_transaction([&](Connection& c) {
                return c.execute(
                    "DELETE FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 AND t_ms IN "
                    "(SELECT t_ms FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 AND t_ms < $3 "
                    "ORDER BY t_ms LIMIT $4)",
                    {vehicle, signal, cutoff, batch});
            });
            deleted += n;
            if (n < batch) {
                break;
            }
        }
    }
    return deleted;
}

struct RetentionJob::Impl {
    db::Database& database;
    std::int64_t days;
    std::chrono::milliseconds interval;
    std::shared_ptr<core::Clock> clock;
    std::chrono::milliseconds tick;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::atomic<std::int64_t> deleted{0};
    std::atomic<std::int64_t> passes{0};
    std::atomic<std::int64_t> ticks{0};
    std::thread thread;

    // The schedule is kept in clock time (tests move the clock; a pass is due when it says so),
    // looked at every tick of real time.
    void run() {
        std::int64_t due_ms = clock->now_ms() + kFirstRunAfter.count();
        std::unique_lock lock(mutex);
        while (!stopping) {
            if (wake.wait_for(lock, tick, [&] { return stopping; })) {
                break;
            }
            const std::int64_t now = clock->now_ms();
            ticks.fetch_add(1);
            if (now < due_ms) {
                continue;
            }
            lock.unlock();
            try {
                std::int64_t n = prune_history(database, days, now);
                deleted += n;
                if (n > 0) {
                    spdlog::info("retention: deleted {} history rows older than {} days", n, days);
                }
            } catch (const std::exception& e) {
                spdlog::warn("retention: pruning failed ({}); retrying at the next interval", e.what());
            }
            passes.fetch_add(1);
            lock.lock();
            due_ms = now + interval.count();
        }
    }
};

RetentionJob::RetentionJob(db::Database& database,
                           std::int64_t retention_days,
                           std::chrono::milliseconds interval,
                           std::shared_ptr<core::Clock> clock,
                           std::chrono::milliseconds tick)
    : impl_(new Impl{database,
                     retention_days,
                     interval,
                     clock ? std::move(clock) : std::make_shared<core::SystemClock>(),
                     tick,
                     {},
                     {},
                     false,
                     {},
                     {},
                     {},
                     {}}) {}

RetentionJob::~RetentionJob() {
    stop();
}

void RetentionJob::start() {
    if (impl_->days > 0 && !impl_->thread.joinable()) {
        impl_->thread = std::thread([impl = impl_.get()] {
            core::name_this_thread("mp-retention");
            impl->run();
        });
    }
}

void RetentionJob::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::int64_t RetentionJob::deleted() const {
    return impl_->deleted.load();
}

std::int64_t RetentionJob::passes() const {
    return impl_->passes.load();
}

std::int64_t RetentionJob::ticks() const {
    return impl_->ticks.load();
}

}  // namespace motorpool::telemetry
