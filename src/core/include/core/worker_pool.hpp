#pragma once
// The bounded pool for blocking work (database calls, libcurl, Argon2) that coroutines co_await.

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/errors.hpp"

namespace motorpool::core {

/// Runs blocking functions off the I/O threads. `co_await pool.run(fn)` posts `fn` to a worker,
/// suspends the coroutine, and resumes it on its own executor with fn's result (or exception).
/// The queue is bounded: when `queue_limit` jobs are pending, run() throws a 503 ApiError
/// instead of letting latency grow without bound.
class WorkerPool {
public:
    WorkerPool(int threads, int queue_limit)
        : pool_(static_cast<std::size_t>(threads)), threads_(threads), limit_(queue_limit) {}
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool() { join(); }

    // Not a coroutine itself: GCC 12 copies closures passed by value into a coroutine frame bitwise
    // (captured std::strings then dangle; caught by ASan). The closure is moved onto the heap here,
    // and only a raw pointer reaches the coroutine.
    // The closure is taken by reference: passed by value from inside a co_await expression, GCC 12
    // bitwise-copies the temporary out of the caller's frame.
    template <typename F, typename G = std::decay_t<F>>
    boost::asio::awaitable<std::invoke_result_t<G&>> run(F&& fn) {
        using R = std::invoke_result_t<G&>;
        if constexpr (std::is_void_v<R>) {
            return run_job(new JobImpl<G>(std::forward<F>(fn)));
        } else {
            return run_result<R>(new ResultJob<R, G>(std::forward<F>(fn)));
        }
    }

    /// Posts without waiting (fire-and-forget background work); not bounded by the gate.
    template <typename F>
    void post(F fn) {
        boost::asio::post(pool_, std::move(fn));
    }

    int threads() const { return threads_; }
    int pending() const { return pending_.load(std::memory_order_relaxed); }
    std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

    void join() {
        if (!joined_.exchange(true)) {
            pool_.join();
        }
    }

private:
    struct Job {
        virtual ~Job() = default;
        virtual void run() = 0;
    };
    template <typename G>
    struct JobImpl final : Job {
        explicit JobImpl(G g) : fn(std::move(g)) {}
        void run() override { fn(); }
        G fn;
    };
    template <typename R>
    struct ResultJobBase : Job {
        std::optional<R> result;
    };
    template <typename R, typename G>
    struct ResultJob final : ResultJobBase<R> {
        explicit ResultJob(G g) : fn(std::move(g)) {}
        void run() override { this->result.emplace(fn()); }
        G fn;
    };

    // Takes ownership of `job`; throws 503 when the queue is full.
    void admit(Job* job) {
        if (pending_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
            pending_.fetch_sub(1, std::memory_order_relaxed);
            rejected_.fetch_add(1, std::memory_order_relaxed);
            delete job;
            throw ApiError::unavailable("The server is busy; retry shortly", 1);
        }
    }

    boost::asio::awaitable<void> run_job(Job* job) {
        admit(job);
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
            [this, job](auto handler) { this->start(std::move(handler), job); }, boost::asio::use_awaitable);
    }

    template <typename R>
    boost::asio::awaitable<R> run_result(ResultJobBase<R>* job) {
        admit(job);
        std::unique_ptr<ResultJobBase<R>> owned(job);
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
            [this, job](auto handler) { this->start(std::move(handler), job, false); }, boost::asio::use_awaitable);
        co_return std::move(*owned->result);
    }

    // Runs `job` on a worker, then completes `handler` on its own executor. Deletes the job when `owns`.
    template <typename Handler>
    void start(Handler handler, Job* job, bool owns = true) {
        // Keep the caller's io_context alive while the job runs, then resume the coroutine there.
        auto io = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                      boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(pool_, [this, io = std::move(io), handler = std::move(handler), job, owns]() mutable {
            std::exception_ptr error;
            try {
                job->run();
            } catch (...) {
                error = std::current_exception();
            }
            if (owns) {
                delete job;
            }
            pending_.fetch_sub(1, std::memory_order_relaxed);
            boost::asio::dispatch(io, [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
        });
    }

    boost::asio::thread_pool pool_;
    int threads_;
    int limit_;
    std::atomic<int> pending_{0};
    std::atomic<std::uint64_t> rejected_{0};
    std::atomic<bool> joined_{false};
};

}  // namespace motorpool::core
