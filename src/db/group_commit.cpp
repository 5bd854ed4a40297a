#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <spdlog/spdlog.h>

#include "core/threads.hpp"
#include "db/db.hpp"

namespace motorpool::db {

struct GroupCommitWriter::Impl {
    struct Item {
        Work work;
        std::optional<Done> done;                                      // a coroutine waiting
        std::optional<boost::asio::any_completion_executor> executor;  // where to resume it
        std::promise<void>* blocking = nullptr;                        // or a blocked thread
        int attempts = 0;                                              // runs that lost a deadlock
    };

    // A deadlock victim runs again in the next transaction (not this one: it still holds the
    // earlier submissions' locks the other transaction waits for), at most this many times in all.
    static constexpr int kMaxAttempts = 3;

    Impl(Database& d, int max) : database(d), max_batch(std::max(1, max)) {}

    Database& database;
    int max_batch;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Item> queue;
    bool stopping = false;
    std::thread thread;

    // Committed batches waiting for the sync that makes them durable (deferred sync only).
    struct Committed {
        std::vector<Item> items;
        std::vector<std::exception_ptr> errors;
    };
    std::mutex sync_mutex;
    std::condition_variable sync_wake;
    std::vector<Committed> unsynced;
    bool sync_stopping = false;
    std::thread syncer;

    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> submissions{0};
    std::atomic<std::uint64_t> failed_submissions{0};
    std::atomic<std::uint64_t> failed_commits{0};
    core::Histogram* batch_sizes = nullptr;
    core::Counter* batches_total = nullptr;
    core::Counter* failed_total = nullptr;
    core::Counter* syncs_total = nullptr;
    core::Counter* retried_total = nullptr;
    std::mutex join_mutex;  // a second stop() waits for the first to finish

    static void complete(Item& item, std::exception_ptr error) {
        if (item.blocking != nullptr) {
            if (error) {
                item.blocking->set_exception(error);
            } else {
                item.blocking->set_value();
            }
            return;
        }
        // Resume the coroutine on its own executor, never on the writer thread.
        boost::asio::dispatch(*item.executor,
                              [done = std::move(*item.done), error]() mutable { std::move(done)(error); });
    }

    // SQLite keeps these three prepared in the connection's statement cache (a script is parsed on
    // every call, and a commit of many submissions runs two of them per submission). PostgreSQL
    // cannot prepare a SAVEPOINT, so it gets the simple protocol.
    static void statement(Connection& connection, std::string_view sql) {
        if (connection.dialect() == Dialect::Sqlite) {
            connection.query(sql);
        } else {
            connection.execute_script(sql);
        }
    }

    // Runs one submission inside the open transaction. A failure of its own is returned; a failure that
    // leaves the transaction unusable (lost connection, failed savepoint rollback) propagates.
    static std::exception_ptr run_item(Connection& connection, Item& item, bool alone) {
        if (alone) {
            // Alone in the transaction: its failure rolls back the whole transaction, no savepoint needed.
            try {
                item.work(connection);
                return nullptr;
            } catch (const Error& e) {
                if (e.kind() == Error::Kind::Unavailable) {
                    throw;
                }
                return std::current_exception();
            } catch (...) {
                return std::current_exception();
            }
        }
        statement(connection, "SAVEPOINT mp_group_commit");
        std::exception_ptr error;
        try {
            item.work(connection);
        } catch (const Error& e) {
            if (e.kind() == Error::Kind::Unavailable) {
                throw;  // the connection is gone: the whole batch fails
            }
            error = std::current_exception();
        } catch (...) {
            error = std::current_exception();
        }
        if (error) {
            statement(connection, "ROLLBACK TO SAVEPOINT mp_group_commit");
        }
        statement(connection, "RELEASE SAVEPOINT mp_group_commit");
        return error;
    }

    static bool lost_a_deadlock(const std::exception_ptr& error) {
        try {
            std::rethrow_exception(error);
        } catch (const Error& e) {
            return e.kind() == Error::Kind::Serialization;
        } catch (...) {
            return false;
        }
    }

    // Takes the submissions that lost a deadlock (or a serialization check) out of the batch and
    // puts them first in the queue, for the next transaction; the other transaction has finished
    // or goes on once this one ends.
    void requeue_deadlock_victims(std::vector<Item>& batch, std::vector<std::exception_ptr>& errors) {
        std::vector<Item> again;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (errors[i] && batch[i].attempts + 1 < kMaxAttempts && lost_a_deadlock(errors[i])) {
                ++batch[i].attempts;
                again.push_back(std::move(batch[i]));
                continue;
            }
            if (kept != i) {
                batch[kept] = std::move(batch[i]);
                errors[kept] = std::move(errors[i]);
            }
            ++kept;
        }
        if (again.empty()) {
            return;
        }
        batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(kept), batch.end());
        errors.erase(errors.begin() + static_cast<std::ptrdiff_t>(kept), errors.end());
        if (retried_total != nullptr) {
            retried_total->inc(again.size());
        }
        spdlog::debug("group commit: {} submission(s) lost a deadlock; they run again", again.size());
        std::lock_guard lock(mutex);
        for (auto it = again.rbegin(); it != again.rend(); ++it) {
            queue.push_front(std::move(*it));
        }
    }

    void process(std::vector<Item>& batch) {
        std::vector<std::exception_ptr> errors(batch.size());
        std::exception_ptr batch_error;
        try {
            Lease lease = database.acquire_writer();
            lease->begin();
            try {
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    errors[i] = run_item(*lease, batch[i], batch.size() == 1);
                }
                if (batch.size() == 1 && errors[0]) {
                    // The submitter is told its own error, whatever the rollback says; the pool
                    // cleans up a connection left in a transaction.
                    try {
                        lease->rollback();
                    } catch (...) {
                    }
                } else {
                    lease->commit();
                }
            } catch (...) {
                batch_error = std::current_exception();
                try {
                    lease->rollback();
                } catch (...) {
                    // The transaction is gone with the connection; nothing to undo.
                }
            }
        } catch (...) {
            batch_error = std::current_exception();  // no connection, or BEGIN failed
        }
        batches.fetch_add(1, std::memory_order_relaxed);
        if (batches_total != nullptr) {
            batches_total->inc();
        }
        if (batch_sizes != nullptr) {
            batch_sizes->observe(static_cast<double>(batch.size()));
        }
        if (batch_error) {
            failed_commits.fetch_add(1, std::memory_order_relaxed);
            if (failed_total != nullptr) {
                failed_total->inc();
            }
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            // A submission that failed on its own keeps its own error; the rest get the batch's.
            if (!errors[i]) {
                errors[i] = batch_error;
            }
        }
        requeue_deadlock_victims(batch, errors);
        for (const auto& error : errors) {
            if (error) {
                failed_submissions.fetch_add(1, std::memory_order_relaxed);
            }
        }
        if (!batch_error && database.defers_sync()) {
            {
                std::lock_guard lock(sync_mutex);
                unsynced.push_back({std::move(batch), std::move(errors)});
            }
            sync_wake.notify_one();
            return;
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            complete(batch[i], errors[i]);
        }
    }

    // One sync covers every batch committed before it started: while it runs, the writer commits
    // the next batch, which waits for the next sync.
    void run_syncer() {
        while (true) {
            std::vector<Committed> committed;
            {
                std::unique_lock lock(sync_mutex);
                sync_wake.wait(lock, [&] { return !unsynced.empty() || sync_stopping; });
                if (unsynced.empty()) {
                    return;  // stopping and drained
                }
                committed.swap(unsynced);
            }
            std::exception_ptr sync_error;
            try {
                database.sync_committed();
                if (syncs_total != nullptr) {
                    syncs_total->inc();
                }
            } catch (const std::exception& e) {  // sync_committed throws db::Error
                // Committed but maybe not on disk: nobody is told it is stored.
                spdlog::error("group commit: syncing committed transactions failed: {}", e.what());
                sync_error = std::current_exception();
            }
            for (auto& c : committed) {
                for (std::size_t i = 0; i < c.items.size(); ++i) {
                    if (sync_error && !c.errors[i]) {
                        failed_submissions.fetch_add(1, std::memory_order_relaxed);
                    }
                    complete(c.items[i], c.errors[i] ? c.errors[i] : sync_error);
                }
            }
        }
    }

    void run() {
        while (true) {
            std::vector<Item> batch;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return !queue.empty() || stopping; });
                if (queue.empty()) {
                    return;  // stopping and drained
                }
                // Whatever queued up while the previous commit ran goes into this one.
                const std::size_t n = std::min(queue.size(), static_cast<std::size_t>(max_batch));
                batch.reserve(n);
                for (std::size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(queue.front()));
                    queue.pop_front();
                }
            }
            process(batch);
        }
    }
};

GroupCommitWriter::GroupCommitWriter(Database& database, int max_batch, core::MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(database, max_batch)) {
    if (metrics != nullptr) {
        impl_->batch_sizes = &metrics->histogram("motorpool_db_group_commit_batch_size",
                                                 "Write submissions committed per transaction",
                                                 {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
        impl_->batches_total =
            &metrics->counter("motorpool_db_group_commit_batches_total", "Group-commit transactions attempted");
        impl_->failed_total = &metrics->counter("motorpool_db_group_commit_failed_total",
                                                "Group-commit transactions that failed to commit as a whole");
        impl_->retried_total = &metrics->counter(
            "motorpool_db_group_commit_retried_total",
            "Write submissions that lost a deadlock (PostgreSQL) and ran again in the next transaction");
        impl_->syncs_total = &metrics->counter(
            "motorpool_db_group_commit_syncs_total",
            "Syncs that made committed group transactions durable, off the writer's path (SQLite, FULL)");
        Impl* impl = impl_.get();
        metrics->gauge_callback(
            "motorpool_db_group_commit_queued", "Write submissions waiting for the next commit", [impl] {
                std::lock_guard lock(impl->mutex);
                return static_cast<double>(impl->queue.size());
            });
    }
    impl_->thread = std::thread([impl = impl_.get()] {
        core::name_this_thread("mp-db-commit");
        impl->run();
    });
    impl_->syncer = std::thread([impl = impl_.get()] {
        core::name_this_thread("mp-db-sync");
        impl->run_syncer();
    });
}

GroupCommitWriter::~GroupCommitWriter() {
    stop();
}

void GroupCommitWriter::enqueue(std::unique_ptr<Work> work, Done done) {
    Impl::Item item;
    item.executor.emplace(boost::asio::prefer(boost::asio::get_associated_executor(done),
                                              boost::asio::execution::outstanding_work.tracked));
    item.work = std::move(*work);
    item.done.emplace(std::move(done));
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->stopping) {
            impl_->queue.push_back(std::move(item));
            impl_->submissions.fetch_add(1, std::memory_order_relaxed);
            impl_->wake.notify_one();
            return;
        }
    }
    Impl::complete(item, std::make_exception_ptr(Error(Error::Kind::Unavailable, "the database is closing")));
}

void GroupCommitWriter::submit_blocking(Work work) {
    std::promise<void> promise;
    auto future = promise.get_future();
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopping) {
            throw Error(Error::Kind::Unavailable, "the database is closing");
        }
        Impl::Item item;
        item.work = std::move(work);
        item.blocking = &promise;
        impl_->queue.push_back(std::move(item));
        impl_->submissions.fetch_add(1, std::memory_order_relaxed);
    }
    impl_->wake.notify_one();
    future.get();
}

void GroupCommitWriter::stop() {
    std::lock_guard join_lock(impl_->join_mutex);
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    // The writer has committed everything queued; the syncer acknowledges it, then ends.
    {
        std::lock_guard lock(impl_->sync_mutex);
        impl_->sync_stopping = true;
    }
    impl_->sync_wake.notify_all();
    if (impl_->syncer.joinable()) {
        impl_->syncer.join();
    }
}

GroupCommitWriter::Stats GroupCommitWriter::stats() const {
    Stats s;
    s.batches = impl_->batches.load();
    s.submissions = impl_->submissions.load();
    s.failed_submissions = impl_->failed_submissions.load();
    s.failed_commits = impl_->failed_commits.load();
    std::lock_guard lock(impl_->mutex);
    s.queued = static_cast<int>(impl_->queue.size());
    return s;
}

}  // namespace motorpool::db
